"""The streaming function's ASGI app (functions/chat_stream/app.py), called as the Lambda Web Adapter calls it.

The adapter hands API Gateway's request context over in `x-amzn-request-context`; the app reads the caller from it
exactly as the other functions read theirs, answers refusals as JSON and a started turn as the UI message stream,
and reads the turn to its end whatever the client does.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from conftest import ROOT, FakeClock, ScriptedProvider, load_function
from counters import day_counters
from fake_providers import FakeProviders, Scripted, Usage

from aichat import wiring
from aichat.api.stream_app import AFTER_RESTORE_PATH, STREAM_PATH, StreamApp
from aichat.core.identity import Identity
from aichat.core.models import EscalateRequest
from aichat.core.pricing import PriceTable
from aichat.core.pricing import Usage as Counted
from aichat.core.settings import Settings

DAY = "2026-11-24"
CLAIMS = {"sub": "alice", "tenant_id": "acme", "roles": "[]", "token_use": "id"}


@dataclass
class Exchange:
    """What the app sent: the status, headers and body chunks, and when the client 'left'."""

    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    chunks: list[bytes] = field(default_factory=list)

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    def parts(self) -> list[dict[str, Any]]:
        events = [e for e in self.body.decode().split("\n\n") if e]
        return [json.loads(e.removeprefix("data: ")) for e in events if e != "data: [DONE]"]


def call(app: StreamApp, body: Any, *, method: str = "POST", path: str = STREAM_PATH,
         context: dict[str, Any] | None = None, leave_after: Callable[[Exchange], bool] | None = None,
         headers: dict[str, str] | None = None) -> Exchange:
    """One request through the app; `leave_after` says when the client disconnects (it reads nothing more)."""
    sent = Exchange()
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    request_headers = [(b"content-type", b"application/json")]
    if context is not None:
        request_headers.append((b"x-amzn-request-context", json.dumps(context).encode()))
    request_headers += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    scope = {"type": "http", "method": method, "path": path, "headers": request_headers, "query_string": b""}

    async def run() -> None:
        delivered = False
        left = asyncio.Event()

        async def receive() -> dict[str, Any]:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": raw, "more_body": False}
            await left.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if left.is_set():
                raise OSError("the client has gone")  # as a server's send does once the connection is closed
            if message["type"] == "http.response.start":
                sent.status = message["status"]
                sent.headers = {k.decode(): v.decode() for k, v in message["headers"]}
            elif message.get("body"):
                sent.chunks.append(message["body"])
            if leave_after is not None and leave_after(sent):
                left.set()

        await asyncio.wait_for(app(scope, receive, send), timeout=20)

    asyncio.run(run())
    return sent


def rest_context(**claims: str) -> dict[str, Any]:
    return {"requestId": "r-1", "authorizer": {"claims": {**CLAIMS, **claims}}}


@pytest.fixture
def app(services: wiring.Services) -> StreamApp:
    return StreamApp(services)


def test_the_function_exposes_its_asgi_app_built_on_the_containers_services(
        monkeypatch: pytest.MonkeyPatch, dynamodb: Any) -> None:
    monkeypatch.setenv("TABLE_NAME", "ai-chat")
    from aichat.core import settings as settings_module

    settings_module.load_settings.cache_clear()
    wiring.services.cache_clear()
    module = load_function("chat_stream")
    assert isinstance(module.app, StreamApp)


def test_a_caller_from_the_adapters_request_context_gets_the_ui_message_stream(app: StreamApp) -> None:
    reply = call(app, {"message": "Hello", "session_id": None}, context=rest_context())
    assert reply.status == 200
    assert reply.headers["content-type"].startswith("text/event-stream")
    assert reply.headers["x-vercel-ai-ui-message-stream"] == "v1"
    assert reply.body.endswith(b"data: [DONE]\n\n")
    parts = reply.parts()
    assert parts[0]["type"] == "start" and parts[-1]["type"] == "finish"


def test_an_http_api_shaped_context_is_read_the_same_way(app: StreamApp) -> None:
    context = {"authorizer": {"jwt": {"claims": CLAIMS, "scopes": None}}}
    assert call(app, {"message": "Hello"}, context=context).status == 200


@pytest.mark.parametrize(("context", "body", "status", "code"), [
    (None, {"message": "Hello"}, 401, "unauthorized"),
    (rest_context(sub=""), {"message": "Hello"}, 401, "unauthorized"),
    (rest_context(tenant_id=""), {"message": "Hello"}, 400, "tenant_missing"),
    (rest_context(), {"message": ""}, 422, "invalid_input"),
    (rest_context(), b"{not json", 422, "invalid_input"),
    (rest_context(), {"message": "Hi", "session_id": "01JD0000000000000000000000"}, 404, "session_not_found"),
])
def test_a_request_refused_before_the_stream_is_answered_as_the_usual_json_error(
        app: StreamApp, context: dict[str, Any] | None, body: Any, status: int, code: str, dynamodb: Any) -> None:
    reply = call(app, body, context=context)
    assert (reply.status, json.loads(reply.body)["code"]) == (status, code)
    assert reply.headers["content-type"] == "application/json"
    assert day_counters(dynamodb, "acme", DAY) == {}


def test_the_health_check_answers_and_any_other_route_is_not_found(app: StreamApp) -> None:
    assert call(app, b"", method="GET", path="/healthz").status == 200
    missing = call(app, b"", method="GET", path="/api/v1/ai/chat")
    assert (missing.status, json.loads(missing.body)["code"]) == (404, "not_found")


def test_the_adapters_after_restore_hook_builds_provider_clients_afresh_and_reseeds_randomness(
        dynamodb: Any, clock: FakeClock) -> None:
    services = wiring.build(Settings(TABLE_NAME="ai-chat", OPENAI_API_KEY="sk-x"), dynamodb=dynamodb, clock=clock)
    before = services._providers.get("openai")  # the registry is what a restore must reset
    random.seed(7)
    snapshot_draw = random.random()
    random.seed(7)
    reply = call(StreamApp(services), b"", path=AFTER_RESTORE_PATH)
    assert (reply.status, json.loads(reply.body)) == (200, {"status": "restored"})
    assert random.random() != snapshot_draw, "copies restored from one snapshot draw different jitter"
    assert services._providers.get("openai") is not before, "no connection from the snapshot is reused"


def test_a_client_that_leaves_mid_reply_changes_nothing_the_turn_is_read_to_its_end_and_settled(
        settings: Settings, fake: FakeProviders, dynamodb: Any, sns: Any, eventbridge: Any,
        clock: FakeClock) -> None:
    services = wiring.build(settings.model_copy(update={
        "LLM_PROVIDER": "openai", "OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": fake.openai_url}),
        dynamodb=dynamodb, sns=sns, events=eventbridge, clock=clock)
    pieces = [f"piece{i} " for i in range(20)]
    fake.enqueue("openai", Scripted(deltas=pieces, pause=0.02, usage=Usage(input=50, output=20)))
    started = time.monotonic()
    reply = call(StreamApp(services), {"message": "Hello"}, context=rest_context(),
                 leave_after=lambda sent: sum(b'"text-delta"' in c for c in sent.chunks) == 3)
    assert sum(b'"text-delta"' in c for c in reply.chunks) == 3, "nothing more was sent after the client left"
    assert time.monotonic() - started >= 0.02 * 17, "the app returned only once the provider had finished"
    log = fake.wait_stream_done(0, timeout=5)
    assert log.final_sent and not log.closed_early
    session_id = reply.parts()[0]["messageMetadata"]["session_id"]
    messages = services.store.conversation(session_id, Identity(user_id="alice", tenant_id="acme",
                                                                       roles=frozenset()), 10).messages
    assert [m.content for m in messages][-1] == "".join(pieces)
    cost = PriceTable().cost_micros("gpt-4o-mini", Counted(input_tokens=50, output_tokens=20))
    assert day_counters(dynamodb, "acme", DAY)["cost_micros"] == cost


def test_a_streams_log_lines_carry_the_invocations_and_the_requests_ids_as_every_functions_do(
        app: StreamApp, capsys: pytest.CaptureFixture[str]) -> None:
    lambda_context = {"request_id": "lambda-request-1", "deadline": int(time.time() * 1000) + 60_000,
                      "invoked_function_arn": "arn:aws:lambda:us-east-1:123456789012:function:ChatStream",
                      "env_config": {"function_name": "ChatStream", "memory": 1024}}
    reply = call(app, {"message": "Hello"}, context=rest_context(),
                 headers={"x-amzn-lambda-context": json.dumps(lambda_context)})
    session_id = reply.parts()[0]["messageMetadata"]["session_id"]
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"level"')]
    (settled,) = [line for line in lines if line["message"] == "turn settled"]
    assert (settled["correlation_id"], settled["function_request_id"]) == ("r-1", "lambda-request-1")
    assert (settled["function_name"], settled["function_memory_size"]) == ("ChatStream", 1024)
    assert (settled["tenant_id"], settled["session_id"], settled["route"]) == (
        "acme", session_id, "POST /api/v1/ai/chat/stream")


def test_the_rest_apis_event_as_the_adapter_forwards_it_reaches_the_caller_its_lambda_authorizer_verified(
        app: StreamApp) -> None:
    # events/chat_stream.json is what API Gateway's REST API sends the function; the adapter forwards it as an HTTP
    # request with the request context (the token authorizer's claims beside its principalId) in a header.
    event = json.loads((ROOT / "events" / "chat_stream.json").read_text())
    assert event["requestContext"]["authorizer"]["principalId"] == "user-123"
    reply = call(app, event["body"].encode(), path=event["path"], context=event["requestContext"])
    assert reply.status == 200, reply.body
    session_id = reply.parts()[0]["messageMetadata"]["session_id"]
    caller = Identity(user_id="user-123", tenant_id="acme-isp", roles=frozenset({"admin", "support"}))
    assert app._services.sessions.history(caller, session_id, 10, None).messages[0].content == json.loads(
        event["body"])["message"]


@pytest.mark.parametrize(("allowed", "origin", "header"), [
    ("https://app.example", "https://app.example", "https://app.example"),
    ("https://app.example", "https://evil.example", None),
    ("*", "https://anywhere.example", "*"),
    (None, "https://app.example", None),
])
def test_the_app_answers_the_widgets_origin_itself_since_a_rest_proxy_adds_no_cors_header(
        settings: Settings, dynamodb: Any, sns: Any, eventbridge: Any, clock: FakeClock, allowed: str | None,
        origin: str, header: str | None) -> None:
    services = wiring.build(settings.model_copy(update={"STREAM_ALLOWED_ORIGIN": allowed}), dynamodb=dynamodb,
                            sns=sns, events=eventbridge, providers={"offline": ScriptedProvider()}, clock=clock)
    for body, status in (({"message": "Hello"}, 200), ({"message": ""}, 422)):
        reply = call(StreamApp(services), body, context=rest_context(), headers={"origin": origin})
        assert reply.status == status
        assert reply.headers.get("access-control-allow-origin") == header, (body, reply.headers)


def keyed(app: StreamApp, body: Any, key: str) -> Exchange:
    return call(app, body, context=rest_context(), headers={"idempotency-key": key})


def streamed(reply: Exchange) -> tuple[str, list[str], dict[str, Any]]:
    """What a reader of the stream is shown: the text, the tools called, and the closing metadata."""
    parts = reply.parts()
    text = "".join(p["delta"] for p in parts if p["type"] == "text-delta")
    tools = [p["toolName"] for p in parts if p["type"] == "tool-input-available"]
    meta = next(p["messageMetadata"] for p in parts if p["type"] == "message-metadata")
    return text, tools, meta


def test_a_repeat_with_the_same_idempotency_key_streams_the_first_answer_again_and_is_charged_once(
        app: StreamApp, provider: ScriptedProvider, dynamodb: Any) -> None:
    body = {"message": "Please create a ticket: router keeps rebooting", "session_id": None}
    first = keyed(app, body, "stream-key-1")
    cost = day_counters(dynamodb, "acme", DAY)["cost_micros"]
    again = keyed(app, body, "stream-key-1")
    assert first.status == again.status == 200 and again.parts()[-1] == {"type": "finish", "finishReason": "stop"}
    assert streamed(again) == streamed(first) and streamed(first)[1] == ["create_ticket"]
    assert again.parts()[0] == first.parts()[0], "the same session and user message"
    assert len(provider.history) == 2, "the first turn's two model calls (the tool, then the answer), none after"
    assert day_counters(dynamodb, "acme", DAY)["cost_micros"] == cost
    tickets = dynamodb.scan(TableName="ai-chat", FilterExpression="begins_with(PK, :t)",
                            ExpressionAttributeValues={":t": {"S": "TICKET#"}})["Items"]
    assert len(tickets) == 1, "the tool ran once"


def test_the_stream_and_post_chat_share_keys_a_key_reused_for_another_message_is_refused(
        app: StreamApp, dynamodb: Any) -> None:
    assert keyed(app, {"message": "Hello"}, "stream-key-2").status == 200
    cost = day_counters(dynamodb, "acme", DAY)["cost_micros"]
    other = keyed(app, {"message": "Something else"}, "stream-key-2")
    assert (other.status, json.loads(other.body)["code"]) == (422, "idempotency_key_reused")
    assert day_counters(dynamodb, "acme", DAY)["cost_micros"] == cost


def test_a_repeat_while_the_first_stream_is_still_answering_gets_409_before_any_stream(
        app: StreamApp, provider: ScriptedProvider) -> None:
    during: list[Exchange] = []
    provider.before_reply = lambda: during.append(keyed(app, {"message": "slow"}, "stream-key-3")) if not during \
        else None
    assert keyed(app, {"message": "slow"}, "stream-key-3").status == 200
    (duplicate,) = during
    assert (duplicate.status, json.loads(duplicate.body)["code"]) == (409, "request_in_progress")
    assert duplicate.headers["content-type"] == "application/json"


@pytest.mark.parametrize("key", ["x" * 256, "has space"])
def test_an_unusable_key_on_the_stream_is_422_naming_the_header_and_nothing_is_spent(
        app: StreamApp, dynamodb: Any, key: str) -> None:
    reply = keyed(app, {"message": "Hello"}, key)
    assert (reply.status, json.loads(reply.body)["field"]) == (422, "Idempotency-Key")
    assert day_counters(dynamodb, "acme", DAY) == {}


def test_a_keyed_message_to_a_person_streamed_twice_is_kept_once(app: StreamApp, dynamodb: Any) -> None:
    session_id = keyed(app, {"message": "Hello"}, "stream-key-4").parts()[0]["messageMetadata"]["session_id"]
    caller = Identity(user_id="alice", tenant_id="acme", roles=frozenset())
    app._services.sessions.escalate(caller, session_id, EscalateRequest(reason="Billing"))
    body = {"message": "Anyone there?", "session_id": session_id}
    first, again = keyed(app, body, "stream-key-5"), keyed(app, body, "stream-key-5")
    assert streamed(again) == streamed(first) and streamed(first)[2]["stopped"] == "escalated"
    kept = [m.content for m in app._services.sessions.history(caller, session_id, 10, None).messages]
    assert kept.count("Anyone there?") == 1
