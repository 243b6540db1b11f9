"""Shared fixtures: settings, a clock, a scripted provider, moto DynamoDB, handlers loaded as Lambda loads them."""

from __future__ import annotations

import copy
import importlib.util
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import aws_clients
import pytest
from bedrock_provider import CLAUDE as BEDROCK_MODEL
from fake_bedrock import FakeBedrock
from fake_providers import FakeProviders
from moto import mock_aws
from moto.core.botocore_stubber import BotocoreStubber

from aichat import wiring
from aichat.core import settings as settings_module
from aichat.core.errors import ChatError
from aichat.core.settings import Settings
from aichat.providers.interface import Completion, CompletionRequest, StreamPart
from aichat.providers.offline import OfflineProvider
from localdev.table import create_table

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach real AWS: fake credentials and a fixed region."""
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION}.items():
        monkeypatch.setenv(name, value)


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 24, 12, 0, 0, tzinfo=UTC))


@dataclass
class ScriptedProvider:
    """The offline model, plus whatever failures a test enqueues; records every request it was sent."""

    name: str = "offline"
    history: list[CompletionRequest] = field(default_factory=list)
    failures: list[Exception] = field(default_factory=list)
    before_reply: Callable[[], None] | None = None
    answers: list[Callable[[Completion], Completion]] = field(default_factory=list)

    def fail_next(self, error: Exception) -> None:
        self.failures.append(error)

    def answer_next(self, change: Callable[[Completion], Completion]) -> None:
        """The next answer is the offline model's, changed by `change` (other text, other usage)."""
        self.answers.append(change)

    def complete(self, request: CompletionRequest) -> Completion:
        self.history.append(request)
        if self.before_reply:
            self.before_reply()
        if self.failures:
            raise self.failures.pop(0)
        answer = OfflineProvider().complete(request)
        return self.answers.pop(0)(answer) if self.answers else answer

    def stream(self, request: CompletionRequest) -> Iterator[StreamPart]:
        """The same answer as `complete`, streamed word by word as the offline model streams it."""
        answer = self.complete(request)
        yield from OfflineProvider().stream_completion(answer)


@pytest.fixture
def provider() -> ScriptedProvider:
    return ScriptedProvider()


@pytest.fixture
def fake() -> Iterator[FakeProviders]:
    """A loopback server answering in OpenAI's and Anthropic's wire formats, for the real SDKs."""
    server = FakeProviders()
    yield server
    server.close()


@pytest.fixture
def fake_bedrock() -> Iterator[FakeBedrock]:
    """A loopback server answering in Bedrock Runtime's wire protocol, for botocore's own client."""
    server = FakeBedrock()
    yield server
    server.close()


def dynamodb_client(endpoint_url: str | None = None) -> Any:
    return aws_clients.client("dynamodb", region_name=REGION, endpoint_url=endpoint_url)


@pytest.fixture(scope="session")
def dynamodb_local_url() -> Iterator[str]:
    """One Amazon DynamoDB Local for the tests that need real concurrency; each makes a table of its own."""
    from localdev import dynamodb_local

    with dynamodb_local.running() as url:
        yield url


@pytest.fixture
def table(dynamodb_local_url: str) -> tuple[Any, str]:
    """A table of its own on the shared DynamoDB Local, as the template defines it: (client, table name)."""
    client = dynamodb_client(dynamodb_local_url)
    name = f"ai-chat-{uuid.uuid4().hex[:8]}"
    create_table(client, name)
    return client, name


# moto answers in-process and is not thread-safe (a Query iterating a partition while a transaction adds to it can
# fail), and a turn reads its history on another thread while it reserves (aichat/turn/overlap.py): one request at a
# time, as a server would order them.
_moto_lock = threading.RLock()
_moto_process = BotocoreStubber.process_request


def _one_at_a_time(self: BotocoreStubber, request: Any) -> Any:
    with _moto_lock:
        return _moto_process(self, request)


BotocoreStubber.process_request = _one_at_a_time  # type: ignore[method-assign]


@pytest.fixture
def moto_aws() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def dynamodb(moto_aws: None) -> Any:
    client = dynamodb_client()
    create_table(client, "ai-chat")
    return client


@pytest.fixture
def sns(moto_aws: None) -> Any:
    return aws_clients.client("sns", region_name=REGION)


@pytest.fixture
def eventbridge(moto_aws: None) -> Any:
    """moto's EventBridge, where the domain events go (its default bus exists already)."""
    return aws_clients.client("events", region_name=REGION)


@pytest.fixture
def topic_arn(sns: Any) -> str:
    return str(sns.create_topic(Name="escalations")["TopicArn"])


@pytest.fixture
def settings(topic_arn: str) -> Settings:
    return Settings(TABLE_NAME="ai-chat", ESCALATION_TOPIC_ARN=topic_arn, TENANT_CONFIG_TTL_SECONDS=0)


@pytest.fixture
def services(settings: Settings, dynamodb: Any, sns: Any, eventbridge: Any, provider: ScriptedProvider,
             clock: FakeClock) -> wiring.Services:
    return wiring.build(settings, dynamodb=dynamodb, sns=sns, events=eventbridge, providers={"offline": provider},
                        clock=clock)


# --- handlers, loaded the way Lambda loads them ----------------------------------------------------------


def load_event(name: str) -> dict[str, Any]:
    """A copy of events/<name>.json, the event `sam local invoke -e` uses too."""
    return copy.deepcopy(json.loads((ROOT / "events" / f"{name}.json").read_text()))


def load_function(name: str) -> ModuleType:
    """functions/<name>/app.py as its own module, as Lambda imports a handler."""
    path = ROOT / "functions" / name / "app.py"
    spec = importlib.util.spec_from_file_location(f"function_{name}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str]


class Api:
    """Invokes the six functions with their events, as the given user of the given tenant."""

    def __init__(self, services: wiring.Services) -> None:
        self.services = services
        self._modules: dict[str, ModuleType] = {}

    def _module(self, name: str) -> ModuleType:
        if name not in self._modules:
            module = load_function(name)
            module.services = self.services
            self._modules[name] = module
        return self._modules[name]

    def invoke(self, name: str, body: Any = None, *, session_id: str | None = None, query: dict[str, str] | None = None,
               user: str = "user-1", tenant: str | None = "acme", roles: str = "[]", raw_body: str | None = None,
               message_id: str | None = None, path: dict[str, str] | None = None,
               headers: dict[str, str | None] | None = None) -> Reply:
        event = load_event(name)
        for header, value in (headers or {}).items():  # None: leave the event's header out
            event["headers"].pop(header.lower(), None)
            if value is not None:
                event["headers"][header.lower()] = value
        claims = event["requestContext"]["authorizer"]["jwt"]["claims"]
        claims.update(sub=user, roles=roles)
        claims.pop("tenant_id", None)
        if tenant is not None:
            claims["tenant_id"] = tenant
        if session_id is not None:
            event.setdefault("pathParameters", {})["session_id"] = session_id
            event["rawPath"] = event["rawPath"].replace("01JD0000000000000000000000", session_id)
        if message_id is not None:
            event.setdefault("pathParameters", {})["message_id"] = message_id
            event["rawPath"] = event["rawPath"].replace("01JD0000000000000000000001", message_id)
        for parameter, value in (path or {}).items():  # any other path parameter, as its event names it
            event["rawPath"] = event["rawPath"].replace(event["pathParameters"][parameter], value)
            event["pathParameters"][parameter] = value
        event["requestContext"]["http"]["path"] = event["rawPath"]
        if query is not None:
            event["queryStringParameters"] = query
            event["rawQueryString"] = "&".join(f"{k}={v}" for k, v in query.items())
        if raw_body is not None:
            event["body"] = raw_body
        elif body is not None:
            event["body"] = json.dumps(body)
        result = self._module(name).lambda_handler(event, None)
        headers = {k.lower(): v for k, v in (result.get("headers") or {}).items()}
        return Reply(result["statusCode"], json.loads(result["body"]) if result.get("body") else None, headers)

    def chat(self, message: str = "Hello", session_id: str | None = None, **kw: Any) -> Reply:
        return self.invoke("chat", {"message": message, "session_id": session_id}, **kw)

    def new_session(self, **kw: Any) -> str:
        reply = self.invoke("create_session", {"session_type": "customer_support"}, **kw)
        assert reply.status == 201, reply.body
        return str(reply.body["id"])


@pytest.fixture
def api(services: wiring.Services, monkeypatch: pytest.MonkeyPatch) -> Api:
    monkeypatch.setenv("TABLE_NAME", "ai-chat")
    settings_module.load_settings.cache_clear()
    wiring.services.cache_clear()
    return Api(services)


@pytest.fixture
def bedrock_settings(settings: Settings, fake_bedrock: FakeBedrock) -> Settings:
    """Bedrock chosen on purpose (LLM_PROVIDER), its endpoint the fake; short timeouts keep the tests fast."""
    return settings.model_copy(update={
        "LLM_PROVIDER": "bedrock", "LLM_MODEL": BEDROCK_MODEL,
        "PROVIDER_SETTINGS": {"BEDROCK_ENDPOINT_URL": fake_bedrock.url},
        "LLM_TIMEOUT_SECONDS": 2, "LLM_DEADLINE_SECONDS": 8, "LLM_MAX_RETRIES": 1, "STOP_CHECK_SECONDS": 0.05})


@pytest.fixture
def bedrock_services(bedrock_settings: Settings, dynamodb: Any, sns: Any, eventbridge: Any,
                     clock: FakeClock) -> wiring.Services:
    """Every service with Bedrock (at the fake) as the default provider, moto behind."""
    return wiring.build(bedrock_settings, dynamodb=dynamodb, sns=sns, events=eventbridge, clock=clock)


@pytest.fixture
def bedrock_api(bedrock_services: wiring.Services) -> Api:
    return Api(bedrock_services)


def error_code(reply: Reply) -> str:
    assert isinstance(reply.body, dict), reply.body
    return str(reply.body.get("code"))


__all__ = ["Api", "ChatError", "FakeClock", "ScriptedProvider", "error_code", "load_event"]
