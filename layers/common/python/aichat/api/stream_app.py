"""POST /api/v1/ai/chat/stream as an ASGI application: the chat turn streamed as the AI SDK's UI message stream.

Python's Lambda runtime cannot stream a response, so in AWS this app runs under the Lambda Web Adapter (response
stream mode) behind an API Gateway route that streams; `make dev` serves the same app. API Gateway's authorizer
verifies the token: the adapter hands its request context over in the `x-amzn-request-context` header (and the
invocation's deadline in `x-amzn-lambda-context`), and the caller is read from it exactly as the other functions
read theirs. Whatever the client does, the turn is read to its end and settled before the response ends: a client
that leaves changes nothing but who hears the rest.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from types import SimpleNamespace
from typing import Any

from aichat.api import ui_stream
from aichat.api.http_edge import Reply, Request, error_reply, request_keys_of
from aichat.api.idempotency_key import HEADER, checked_key
from aichat.api.routes import API_PREFIX
from aichat.core import logs
from aichat.core.models import ChatRequest
from aichat.turn.stream_events import TurnStarted
from aichat.wiring import Services

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

STREAM_PATH = f"{API_PREFIX}/chat/stream"
# What the Lambda Web Adapter's readiness check asks for (AWS_LWA_READINESS_CHECK_PATH) before it sends requests.
HEALTH_PATH = "/healthz"
# What the adapter POSTs after a SnapStart restore, before any traffic (AWS_LWA_SNAPSTART_AFTER_RESTORE_PATH): the
# adapter answers 403 to any request from outside for this path, and the local front routes only STREAM_PATH here.
AFTER_RESTORE_PATH = "/snapstart/after-restore"
REQUEST_CONTEXT_HEADER = "x-amzn-request-context"
LAMBDA_CONTEXT_HEADER = "x-amzn-lambda-context"
_NOT_FOUND = {"detail": "No such route; the stream is POST /api/v1/ai/chat/stream.", "code": "not_found"}


class StreamApp:
    """The ASGI app of the streaming function: one route, and a health check for the adapter."""

    def __init__(self, services: Services) -> None:
        self._services = services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        cors = _cors(self._services.settings.STREAM_ALLOWED_ORIGIN, scope)
        if scope["method"] == "GET" and scope["path"] == HEALTH_PATH:
            await _send_reply(send, Reply({"status": "ok"}))
            return
        if scope["method"] == "POST" and scope["path"] == AFTER_RESTORE_PATH:
            # Every copy restored from one snapshot would share its randomness and its SDK clients' connections.
            self._services.after_restore()
            await _send_reply(send, Reply({"status": "restored"}))
            return
        if (scope["method"], scope["path"]) != ("POST", STREAM_PATH):
            await _send_reply(send, Reply(_NOT_FOUND, 404, cors))
            return
        body = await _read_body(receive)
        if body is not None:
            await self._stream(_event(scope, body), receive, send, cors)

    async def _stream(self, event: dict[str, Any], receive: Receive, send: Send, cors: dict[str, str]) -> None:
        loop = asyncio.get_running_loop()
        out: asyncio.Queue[Reply | bytes | None] = asyncio.Queue()

        def put(item: Reply | bytes | None) -> None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: the server stopped
                loop.call_soon_threadsafe(out.put_nowait, item)

        # The turn's log lines carry the invocation's ids, as every function's do (logs.api_handler).
        turn = logs.api_handler(lambda e, _: self._turn(e, put))
        threading.Thread(target=turn, args=(event, _lambda_context(event)), name="chat-stream", daemon=True).start()
        first = await out.get()
        if isinstance(first, Reply):  # refused or invalid before anything was streamed: the usual JSON error
            await _send_reply(send, Reply(first.body, first.status, {**first.headers, **cors}))
            return
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(k.encode(), v.encode()) for k, v in {**ui_stream.HEADERS, **cors}.items()]})
        left = asyncio.ensure_future(_client_left(receive))
        gone = False  # the client left: the rest of the turn is still read, and settled, but sent nowhere
        try:
            while (chunk := await out.get()) is not None:
                gone = gone or left.done()
                if gone or not isinstance(chunk, bytes):
                    continue
                try:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                except OSError:  # a server that raises once the connection is closed (uvicorn: ClientDisconnected)
                    gone = True
            if not (gone or left.done()):
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            left.cancel()

    def _turn(self, event: dict[str, Any], put: Callable[[Reply | bytes | None], None]) -> None:
        """In a thread of its own: start the turn (a Reply if it is refused), then every chunk to the end."""
        settings = self._services.settings
        logs.request_keys(**request_keys_of(event, settings))
        request = Request(event, settings)
        try:
            caller, body = request.caller(), request.body(ChatRequest)
            key = checked_key(request.header(HEADER))
            turn = self._services.chat.stream(caller, body, _remaining_seconds(event), key)
            first = next(turn)
            if not isinstance(first, TurnStarted):
                raise RuntimeError(f"a turn begins with TurnStarted, not {first!r}")
        except Exception as e:
            put(error_reply(e))
            return
        put(b"")  # started: the response begins
        try:
            for chunk in ui_stream.chunks(first, turn):
                put(chunk)
        finally:
            put(None)


def _event(scope: Scope, body: bytes) -> dict[str, Any]:
    """The request as the layer reads every API request: headers, body, and API Gateway's request context."""
    headers: dict[str, str] = {}
    for name, value in scope["headers"]:
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        headers[key] = f"{headers[key]},{text}" if key in headers else text
    try:
        context = json.loads(headers.pop(REQUEST_CONTEXT_HEADER, "") or "{}")
    except ValueError:
        context = {}
    try:
        text, encoded = body.decode("utf-8"), False
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(body).decode(), True
    return {"routeKey": f"POST {STREAM_PATH}", "rawPath": scope["path"], "headers": headers, "body": text,
            "isBase64Encoded": encoded, "requestContext": context if isinstance(context, dict) else {}}


def _adapter_context(event: dict[str, Any]) -> dict[str, Any]:
    """The invocation's Lambda context as the adapter hands it over (request_id, deadline, env_config, …)."""
    try:
        context = json.loads(event["headers"].get(LAMBDA_CONTEXT_HEADER) or "{}")
    except ValueError:
        return {}
    return context if isinstance(context, dict) else {}


def _remaining_seconds(event: dict[str, Any]) -> float | None:
    """How long this invocation may still run, from the adapter's Lambda context header; None where unknown."""
    try:
        deadline = float(_adapter_context(event)["deadline"])
    except (KeyError, TypeError, ValueError):
        return None
    return max(deadline / 1000 - time.time(), 0.0)


def _lambda_context(event: dict[str, Any]) -> SimpleNamespace:
    """What the log lines read of a Lambda context, from the adapter's header (nothing where there is none)."""
    context = _adapter_context(event)
    found = context.get("env_config")
    config: dict[str, Any] = found if isinstance(found, dict) else {}
    return SimpleNamespace(aws_request_id=context.get("request_id"), function_name=config.get("function_name"),
                           memory_limit_in_mb=config.get("memory"),
                           invoked_function_arn=context.get("invoked_function_arn"))


def _cors(allowed: str | None, scope: Scope) -> dict[str, str]:
    """The CORS header API Gateway's CorsConfiguration would add, for the one allowed origin (or any, with *)."""
    if not allowed:
        return {}
    if allowed == "*":
        return {"access-control-allow-origin": "*"}
    origin = next((v.decode("latin-1") for k, v in scope["headers"] if k.lower() == b"origin"), None)
    return {"access-control-allow-origin": allowed, "vary": "origin"} if origin == allowed else {"vary": "origin"}


async def _send_reply(send: Send, reply: Reply) -> None:
    response = reply.to_lambda()
    await send({"type": "http.response.start", "status": response["statusCode"],
                "headers": [(k.lower().encode(), str(v).encode()) for k, v in response["headers"].items()]})
    await send({"type": "http.response.body", "body": response["body"].encode()})


async def _read_body(receive: Receive) -> bytes | None:
    parts: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(parts)


async def _client_left(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
