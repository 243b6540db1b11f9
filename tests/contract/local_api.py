"""A small HTTP client for the local server: replies, tokens minted with its secret, calls as a user."""

from __future__ import annotations

import contextlib
import json
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aws_clients

from localdev import process
from localdev.token import mint


def fake_model_env(openai_url: str, **extra: str) -> dict[str, str]:
    """A server's settings to send its model calls to the loopback fake (OpenAI's format), never retried."""
    return {"LLM_PROVIDER": "openai", "OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": openai_url,
            "LLM_MAX_RETRIES": "0", **extra}


def fake_provider_env(model: Any, api: str, **extra: str) -> dict[str, str]:
    """A server's settings to send its model calls to the loopback fake (a FakeProviders) in `api`'s wire format,
    `openai` or `anthropic`, never retried."""
    if api == "openai":
        return fake_model_env(model.openai_url, **extra)
    return {"LLM_PROVIDER": "anthropic", "ANTHROPIC_API_KEY": "sk-ant-test", "ANTHROPIC_BASE_URL": model.anthropic_url,
            "LLM_MAX_RETRIES": "0", **extra}


@contextlib.contextmanager
def local_server(dynamodb_url: str, *args: str, table: str | None = None,
                 env: Mapping[str, str] | None = None) -> Iterator[process.RunningServer]:
    """`python -m localdev` on the run's one DynamoDB Local (the `dynamodb_local_url` fixture), with tables of its own
    named after `table`: each server started this way saves a JVM start of several seconds."""
    table = table or f"ai-chat-{uuid.uuid4().hex[:8]}"
    tables = {"DYNAMODB_ENDPOINT_URL": dynamodb_url, "TABLE_NAME": table}
    with process.started("--create-table", *args, env={**tables, **(env or {})}) as running:
        yield running


def table_client(server: process.RunningServer) -> Any:
    """The server's DynamoDB Local, with the credentials the server uses (its in-memory data is per access key)."""
    return aws_clients.client(
        "dynamodb", region_name="us-east-1", endpoint_url=server.dynamodb_endpoint,
        aws_access_key_id="local", aws_secret_access_key="local")


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    raw: bytes

    @property
    def body(self) -> Any:
        return json.loads(self.raw) if self.raw else None

    @property
    def text(self) -> str:
        return self.raw.decode()


@dataclass
class Client:
    """HTTP to the running server; a token per user and tenant, minted with the server's secret."""

    server: process.RunningServer

    def token(self, user: str = "alice", tenant: str = "acme", *, admin: bool = False, roles: Sequence[str] = (),
              **kw: Any) -> str:
        return mint(user, tenant, roles=[*(["admin"] if admin else []), *roles], secret=self.server.secret, **kw)

    def call(self, method: str, path: str, body: Any = None, *, token: str | None = None,
             headers: Mapping[str, str] | None = None, raw: bytes | None = None) -> Reply:
        sent = {"Content-Type": "application/json"} if body is not None else {}
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        sent.update(headers or {})
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(self.server.url + path, data=data, method=method, headers=sent)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return Reply(response.status, {k.lower(): v for k, v in response.headers.items()}, response.read())
        except urllib.error.HTTPError as error:
            return Reply(error.code, {k.lower(): v for k, v in error.headers.items()}, error.read())

    def as_user(self, user: str = "alice", tenant: str = "acme", *, admin: bool = False) -> User:
        return User(self, self.token(user, tenant, admin=admin))


@dataclass
class User:
    client: Client
    token: str

    def get(self, path: str, **kw: Any) -> Reply:
        return self.client.call("GET", path, token=self.token, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return self.client.call("POST", path, body, token=self.token, **kw)


def at_once(calls: list[Callable[[], Reply]]) -> list[Reply]:
    """Each call in a thread of its own, all let go at the same moment; their answers, in the calls' order."""
    start = threading.Barrier(len(calls))
    answers: dict[int, Reply] = {}

    def run(i: int) -> None:
        start.wait()
        answers[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [answers[i] for i in range(len(calls))]
