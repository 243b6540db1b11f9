"""POST /api/v1/ai/chat/stream as the AI SDK itself reads it: each body is captured from the local server in this run
(its model the loopback fake, OpenAI's format) and fed to the SDK's own reader (tests/sdk_reader.py, which runs
widget/scripts/read-ui-stream.mjs on the `ai` package the widget pins).

`useChat` (AbstractChat) stops reading at the first `error` chunk, so on a failure everything a client needs, the
API's code (`data-error`) and the stored reply's metadata, must come before `error`; these tests check what the
SDK's chat ends with, not only what the server wrote.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_providers import FakeProviders, Scripted, Usage
from sdk_reader import SCRIPT, Captured, SdkView, capture, read_captured, read_with_sdk

from aichat.api import ui_stream
from aichat.core.models import ChatMetadata, ChatResponse
from aichat.table import keys
from aichat.turn.stream_events import StepFinished, StepStarted, ToolRan, TurnEvent, TurnStarted
from contract.local_api import Client, User, fake_model_env, local_server, table_client
from localdev import process

pytestmark = pytest.mark.dynamodb_local

API = "/api/v1/ai"
STREAM = f"{API}/chat/stream"
TABLE = "ai-chat-sdk-reader"
WAIT = 20.0  # the longest any one read of the stream waits
TICKET = {"title": "Line drops every evening", "priority": "urgent", "description": None}


@pytest.fixture(scope="module")
def sdk_server(model: FakeProviders, dynamodb_local_url: str) -> Iterator[process.RunningServer]:
    """A server of its own whose model calls go to the fake; a stop is noticed within 0.05 s."""
    env = fake_model_env(model.openai_url, STOP_CHECK_SECONDS="0.05")
    with local_server(dynamodb_local_url, "--quiet", table=TABLE, env=env) as running:
        yield running


@pytest.fixture(scope="module")
def api(sdk_server: process.RunningServer) -> Client:
    return Client(sdk_server)


@pytest.fixture(autouse=True)
def nothing_left_queued(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "model" in request.fixturenames:
        assert not request.getfixturevalue("model")._queues["openai"], "a test left a scripted reply unused"


# --- helpers -------------------------------------------------------------------------------------------------


def someone(api: Client) -> User:
    """A user of a tenant of their own."""
    return api.as_user(f"user-{uuid.uuid4().hex[:8]}", f"sdk-{uuid.uuid4().hex[:8]}")


def streamed(api: Client, user: User, message: str, key: str | None = None,
             until: Callable[[bytes], bool] | None = None,
             then: Callable[[bytes], None] | None = None) -> tuple[Captured, SdkView]:
    """One turn's response, captured, and what the SDK made of it."""
    captured = capture(api.server.url, STREAM, {"message": message, "session_id": None}, user.token,
                       {"Idempotency-Key": key} if key else None, until=until, then=then, timeout=WAIT)
    return captured, read_captured(captured)


def chunk(view: SdkView, kind: str) -> dict[str, Any]:
    (found,) = [c for c in view.chunks if c["type"] == kind]
    return found


def tool_parts(view: SdkView) -> list[dict[str, Any]]:
    """The chat message's tool parts (dynamic: the client declares no tools), as the SDK built them."""
    parts = (view.chat_message or {}).get("parts") or []
    return [{k: p.get(k) for k in ("toolName", "state", "input", "output", "errorText")}
            for p in parts if p["type"] == "dynamic-tool"]


def shown_parts(view: SdkView) -> list[dict[str, Any]]:
    """The chat message's parts as a person sees them, in order: steps, text, tool calls (no client-made ids)."""
    parts = (view.chat_message or {}).get("parts") or []
    return [{k: v for k, v in part.items() if k not in ("id", "providerMetadata")} for part in parts]


def ending(view: SdkView) -> str | None:
    """The code of the chat message's `data-ending` part (why the turn ended short of the model's own last word)."""
    parts = [p for p in (view.chat_message or {}).get("parts") or [] if p["type"] == "data-ending"]
    assert len(parts) <= 1, parts
    return str(parts[0]["data"]["code"]) if parts else None


def history(user: User, session_id: str) -> list[dict[str, Any]]:
    """The session's messages as its history shows them (the turn is settled before its stream ends)."""
    page = user.get(f"{API}/sessions/{session_id}/history")
    assert page.status == 200, page.raw
    messages: list[dict[str, Any]] = page.body["messages"]
    return messages


def stop_route(user: User, deltas_shown: Callable[[bytes], int | None]) -> Callable[[bytes], None]:
    """What a client's Stop does mid-stream: POST …/stop for the session `start` named, saying what was shown."""
    def stop(raw: bytes) -> None:
        start = json.loads(raw.split(b"\n", 1)[0].removeprefix(b"data: "))
        shown = deltas_shown(raw)
        reply = user.post(f"{API}/sessions/{start['messageMetadata']['session_id']}/stop",
                          {} if shown is None else {"deltas_shown": shown})
        assert reply.status == 200 and reply.body["ended"] is False, reply.raw
    return stop


def text_deltas(raw: bytes) -> int:
    return raw.count(b'"type":"text-delta"')


def finished(view: SdkView) -> dict[str, Any]:
    """What the chat's onFinish heard."""
    (event,) = [e for e in view.chat_events if e["on"] == "finish"]
    return event


def assert_read_whole(captured: Captured, view: SdkView) -> None:
    """A stream the SDK read to its end without an error: every part strict JSON and a valid chunk."""
    assert captured.status == 200 and captured.content_type.startswith("text/event-stream"), captured
    assert captured.body.endswith(b"data: [DONE]\n\n")
    assert view.invalid == []
    assert (view.chat_status, view.chat_error) == ("ready", None)
    # onData hears a `data-ending` (why the turn ended short of the model's last word) before onFinish.
    heard = ["data", "finish"] if ending(view) is not None else ["finish"]
    assert [e["on"] for e in view.chat_events] == heard and finished(view)["isError"] is False


def assert_failure_reached_the_chat(view: SdkView, code: str) -> dict[str, Any]:
    """A failure the chat surfaced with the API's code: `data-error` then `error`, then `finish` (which the chat
    drops). The data part's payload is returned."""
    assert view.invalid == []
    assert view.chunk_types[-2:] == ["error", "finish"], view.chunk_types
    data_error = chunk(view, "data-error")
    assert data_error["data"]["code"] == code and data_error["transient"] is True
    assert (view.chat_status, view.chat_error) == ("error", data_error["data"]["detail"])
    assert [e["on"] for e in view.chat_events] == ["data", "error", "finish"], view.chat_events
    assert view.chat_data == [data_error], "the chat handed the code to onData before it stopped"
    assert finished(view)["isError"] is True
    assert finished(view)["finishReason"] is None, "useChat still stops at `error`: it never reads `finish`"
    return dict(data_error["data"])


# --- turns that end as they should ----------------------------------------------------------------------------


def test_the_sdk_reads_a_plain_reply_as_its_text_with_the_stored_replys_metadata(
        api: Client, model: FakeProviders) -> None:
    pieces = ["Your ", "line ", "is ", "up ", "again."]
    model.enqueue("openai", Scripted(deltas=pieces, usage=Usage(input=50, output=9)))
    captured, view = streamed(api, someone(api), "Is my line up?")

    assert_read_whole(captured, view)
    assert view.ai_version.startswith("6."), "the SDK the widget pins read it"
    assert view.chunk_types[-3:] == ["finish-step", "message-metadata", "finish"]
    assert view.chat_text == "".join(pieces)
    meta = view.chat_metadata
    assert meta["message_id"] and meta["user_message_id"] and meta["session_id"]
    assert meta["cost_cents"] > 0 and meta["stopped"] is None and meta["estimated"] is False
    assert ending(view) is None and finished(view)["finishReason"] == "stop"


def test_the_sdk_reads_a_tool_call_as_a_dynamic_tool_part_with_its_input_and_output_then_the_answer(
        api: Client, model: FakeProviders) -> None:
    model.enqueue("openai", Scripted(tool_calls=[("call_1", "create_ticket", TICKET)]),
                  Scripted(deltas=["Ticket ", "opened."]))
    captured, view = streamed(api, someone(api), "My line drops, open a ticket")

    assert_read_whole(captured, view)
    (call,) = tool_parts(view)
    assert (call["toolName"], call["state"], call["input"]) == ("create_ticket", "output-available", TICKET)
    assert call["output"]["priority"] == "urgent" and call["output"]["id"]
    assert view.chat_text == "Ticket opened."
    assert view.chat_metadata["stopped"] is None and finished(view)["finishReason"] == "stop"


def test_the_sdk_reads_a_hand_over_as_the_escalation_call_and_the_turns_own_text_stopped_escalated(
        api: Client, model: FakeProviders) -> None:
    model.enqueue("openai", Scripted(tool_calls=[("call_1", "escalate_to_human",
                                                  {"reason": "The customer asked for a person"})]))
    captured, view = streamed(api, someone(api), "Let me talk to a person")

    assert_read_whole(captured, view)
    (call,) = tool_parts(view)
    assert (call["toolName"], call["state"]) == ("escalate_to_human", "output-available")
    assert view.chat_text, "the turn says a person will take over"
    assert view.chat_metadata["stopped"] == "escalated" and view.chat_metadata["message_id"]
    assert ending(view) == "escalated" and finished(view)["finishReason"] == "tool-calls"


def test_the_sdk_reads_a_budget_refusal_after_a_tool_step_as_the_turns_text_and_the_limit_in_the_metadata(
        api: Client, model: FakeProviders) -> None:
    # The first call reports far more than the session's $1 allows (recorded as reported), so the second is refused.
    model.enqueue("openai", Scripted(tool_calls=[("call_1", "create_ticket", TICKET)],
                                     usage=Usage(input=10_000_000, output=20)))
    captured, view = streamed(api, someone(api), "My line drops, open a ticket")

    assert_read_whole(captured, view)
    assert [c["state"] for c in tool_parts(view)] == ["output-available"], "what the tool did is shown"
    assert view.chat_text.startswith("I did the actions listed, but had to stop there:")
    meta = view.chat_metadata
    assert meta["stopped"] == "session_cost_limit_exceeded" and meta["message_id"] and meta["cost_cents"] > 100
    assert ending(view) == "session_cost_limit_exceeded" and finished(view)["finishReason"] == "tool-calls"


def test_the_sdk_reads_a_stopped_reply_as_the_kept_prefix_with_stopped_in_the_metadata(
        api: Client, model: FakeProviders) -> None:
    user = someone(api)
    pieces = [f"{'' if i == 0 else ' '}word{i:02d}" for i in range(40)]
    model.enqueue("openai", Scripted(deltas=pieces, usage=Usage(input=70, output=40), pause=0.05))

    captured, view = streamed(api, user, "write a lot", until=lambda raw: text_deltas(raw) >= 3,
                              then=stop_route(user, lambda raw: None))
    assert_read_whole(captured, view)
    full = "".join(pieces)
    assert view.chat_text and full.startswith(view.chat_text) and view.chat_text != full, "a strict prefix"
    meta = view.chat_metadata
    assert (meta["stopped"], meta["estimated"]) == ("stopped", True) and meta["message_id"]
    assert ending(view) == "stopped" and finished(view)["finishReason"] == "other"


def test_a_stop_after_n_deltas_stores_exactly_the_text_of_those_n_counted_across_the_turns_steps(
        api: Client, model: FakeProviders) -> None:
    user = someone(api)
    pieces = [f"{'' if i == 0 else ' '}word{i:02d}" for i in range(40)]
    model.enqueue("openai", Scripted(deltas=["Let me open one. "], tool_calls=[("call_1", "create_ticket", TICKET)]),
                  Scripted(deltas=pieces, usage=Usage(input=70, output=40), pause=0.05))
    shown: list[int] = []

    def one_less_than_received(raw: bytes) -> int:
        shown.append(text_deltas(raw) - 1)  # the client had drawn all but the newest delta when Stop was pressed
        return shown[0]

    captured, view = streamed(api, user, "open a ticket and explain", until=lambda raw: text_deltas(raw) >= 5,
                              then=stop_route(user, one_less_than_received))
    assert_read_whole(captured, view)
    by_part: dict[str, list[str]] = {}
    for c in view.chunks:
        if c["type"] == "text-delta":
            by_part.setdefault(c["id"], []).append(c["delta"])
    (first_step, second_step) = by_part.values()
    assert first_step == ["Let me open one. "] and len(second_step) > shown[0] - 1, "more arrived than was shown"
    stored = history(user, view.chat_metadata["session_id"])[-1]
    assert stored["content"] == "".join(second_step[:shown[0] - len(first_step)]), "the text of exactly those deltas"
    assert stored["stopped"] == "stopped" and [c["name"] for c in stored["function_calls"]] == ["create_ticket"]
    assert stored["id"] == chunk(view, "start")["messageId"] == view.chat_message["id"]
    assert view.chat_metadata["output_tokens"] >= len(first_step) + len(second_step), (
        "charged for every piece the provider produced, not only those shown")


STARTED_TURNS = {
    "plain": [Scripted(deltas=["Hello ", "there."])],
    "tool": [Scripted(tool_calls=[("call_1", "create_ticket", TICKET)]), Scripted(deltas=["Ticket ", "opened."])],
    "hand-over": [Scripted(tool_calls=[("call_1", "escalate_to_human", {"reason": "The customer asked"})])],
}


@pytest.mark.parametrize("kind", sorted(STARTED_TURNS))
def test_start_names_the_reply_by_the_id_the_history_stores_it_under(
        api: Client, model: FakeProviders, kind: str) -> None:
    user = someone(api)
    model.enqueue("openai", *STARTED_TURNS[kind])
    captured, view = streamed(api, user, "My line drops, open a ticket")

    assert_read_whole(captured, view)
    messages = history(user, view.chat_metadata["session_id"])
    assert [m["role"] for m in messages] == ["user", "assistant"]
    reply_id = chunk(view, "start")["messageId"]
    assert view.chat_message is not None and view.chat_message["id"] == reply_id, "useChat's message is the stored one"
    assert messages[1]["id"] == reply_id == view.chat_metadata["message_id"]
    assert messages[0]["id"] < reply_id, "the reply sorts right after what it answers"


def test_the_sdk_reads_a_turn_at_its_step_limit_as_its_tool_calls_finished_for_tool_calls(
        api: Client, model: FakeProviders) -> None:
    steps = 4  # MAX_TOOL_STEPS's default: the model asks for tools every time
    model.enqueue("openai", *[Scripted(tool_calls=[(f"call_{i}", "create_ticket", TICKET)]) for i in range(steps)])
    captured, view = streamed(api, someone(api), "open tickets until I say stop")

    assert_read_whole(captured, view)
    assert [c["state"] for c in tool_parts(view)] == ["output-available"] * (steps - 1), "the last step's not run"
    assert view.chat_text == f"I stopped after {steps} steps; the actions listed are what was done."
    assert view.chat_metadata["stopped"] == "max_tool_steps" and view.chat_message is not None
    assert ending(view) == "max_tool_steps" and finished(view)["finishReason"] == "tool-calls"


def test_the_sdk_reads_a_turn_a_person_took_as_what_was_shown_ended_taken_by_person(
        api: Client, model: FakeProviders) -> None:
    tenant = f"sdk-{uuid.uuid4().hex[:8]}"
    user = api.as_user("carol", tenant)
    model.enqueue("openai", Scripted(deltas=[f"word{i} " for i in range(40)], pause=0.05))

    def take(raw: bytes) -> None:
        start = json.loads(raw.split(b"\n", 1)[0].removeprefix(b"data: "))
        session_id = start["messageMetadata"]["session_id"]
        assert user.post(f"{API}/sessions/{session_id}/escalate", {"reason": "a person please"}).status == 200
        dana = User(api, api.token("dana", tenant, roles=["support"], name="Dana Reyes"))
        assert dana.post(f"{API}/agent/sessions/{session_id}/messages", {"content": "Dana here."}).status == 201

    captured, view = streamed(api, user, "write a lot", until=lambda raw: text_deltas(raw) >= 3, then=take)
    assert_read_whole(captured, view)
    assert view.chat_metadata["stopped"] == "taken_by_person"
    assert ending(view) == "taken_by_person" and finished(view)["finishReason"] == "other"
    messages = history(user, view.chat_metadata["session_id"])
    assert [(m["role"], m["content"]) for m in messages[1:]] == [
        ("assistant", ""), ("agent", "Dana Reyes joined the conversation."), ("agent", "Dana here.")], (
        "the reply (stored without text: the person has the conversation) began before the person joined")
    assert messages[1]["id"] == chunk(view, "start")["messageId"]


def test_the_sdk_reads_a_message_kept_for_a_person_as_no_stored_reply_ended_waiting_for_person(
        api: Client) -> None:
    user = someone(api)
    created = user.post(f"{API}/sessions", {"session_type": "customer_support"})
    session_id = created.body["id"]
    assert user.post(f"{API}/sessions/{session_id}/escalate", {"reason": "a person please"}).status == 200
    captured = capture(api.server.url, STREAM, {"message": "Are you there?", "session_id": session_id}, user.token,
                       timeout=WAIT)
    view = read_captured(captured)

    assert_read_whole(captured, view)
    assert "messageId" not in chunk(view, "start"), "nothing of the assistant's is stored, so nothing to rate"
    assert view.chat_text.startswith("A person from our support team has this conversation")
    assert ending(view) == "waiting_for_person" and finished(view)["finishReason"] == "other"
    assert [m["role"] for m in history(user, session_id)] == ["user"]


def test_a_stream_past_its_deadline_reaches_the_sdks_chat_as_provider_timeout_with_what_arrived_kept(
        model: FakeProviders, dynamodb_local_url: str) -> None:
    env = fake_model_env(model.openai_url, STREAM_DEADLINE_SECONDS="1", STOP_CHECK_SECONDS="0.05")
    with local_server(dynamodb_local_url, "--quiet", table=f"{TABLE}-deadline", env=env) as running:
        slow = Client(running)
        model.enqueue("openai", Scripted(deltas=[f"word{i} " for i in range(40)], pause=0.1))
        captured, view = streamed(slow, someone(slow), "write slowly")

    assert captured.status == 200
    data = assert_failure_reached_the_chat(view, "provider_timeout")
    assert view.chat_text.startswith("word0 word1"), "what arrived is kept"
    assert view.chat_metadata["stopped"] == "provider_timeout" and view.chat_metadata["message_id"]
    assert chunk(view, "finish")["finishReason"] == "error" and data["session_id"]


REPLAYED_TURNS = {
    "plain": [Scripted(deltas=["Hello ", "there."])],
    "tool": [Scripted(tool_calls=[("call_1", "create_ticket", TICKET)]), Scripted(deltas=["Ticket ", "opened."])],
    "text-and-tool": [Scripted(deltas=["Let me open one. "], tool_calls=[("call_1", "create_ticket", TICKET)]),
                      Scripted(deltas=["Ticket ", "opened."])],
    "hand-over": [Scripted(tool_calls=[("call_1", "escalate_to_human", {"reason": "The customer asked"})])],
    "limit-after-tools": [Scripted(tool_calls=[("call_1", "create_ticket", TICKET)],
                                   usage=Usage(input=10_000_000, output=20))],
}


@pytest.mark.parametrize("kind", sorted(REPLAYED_TURNS))
def test_the_sdk_reads_an_idempotent_replay_as_the_same_parts_under_the_same_ids(
        api: Client, model: FakeProviders, kind: str) -> None:
    user, key = someone(api), str(uuid.uuid4())
    model.enqueue("openai", *REPLAYED_TURNS[kind])
    asked = len(model.requests)
    first_capture, first = streamed(api, user, "My line drops, open a ticket", key=key)
    again_capture, again = streamed(api, user, "My line drops, open a ticket", key=key)

    assert_read_whole(first_capture, first)
    assert_read_whole(again_capture, again)
    assert len(model.requests) == asked + len(REPLAYED_TURNS[kind]), "the model was asked for the first turn only"
    assert "step-start" in [p["type"] for p in shown_parts(first)]
    assert shown_parts(again) == shown_parts(first), "the same steps, text and tool calls, in the same order"
    assert again.chat_metadata == first.chat_metadata, "the same session, user message, reply and cost"
    assert first.chat_message is not None and again.chat_message is not None
    assert again.chat_message["id"] == first.chat_message["id"] == first.chat_metadata["message_id"]
    assert finished(again)["finishReason"] == finished(first)["finishReason"]


# --- turns that fail ------------------------------------------------------------------------------------------


def test_a_cut_stream_reaches_the_sdks_chat_with_the_code_and_the_stored_replys_metadata_before_the_error(
        api: Client, model: FakeProviders) -> None:
    pieces = ["Half ", "of ", "an ", "answer"]
    model.enqueue("openai", Scripted(deltas=pieces, cut_before_usage=True))
    captured, view = streamed(api, someone(api), "answer me")

    assert captured.status == 200 and captured.body.endswith(b"data: [DONE]\n\n")
    assert view.chunk_types[-4:] == ["data-error", "message-metadata", "error", "finish"], view.chunk_types
    assert chunk(view, "finish")["finishReason"] == "error"
    data = assert_failure_reached_the_chat(view, "provider_error")
    assert view.chat_text == "".join(pieces), "what arrived is kept"
    meta = view.chat_metadata
    assert meta["message_id"] and meta["cost_cents"] > 0, "the stored reply and its charge reached the chat"
    assert (meta["stopped"], meta["estimated"]) == ("provider_error", True)
    assert data["session_id"] == meta["session_id"]


def test_a_failure_before_any_text_reaches_the_sdks_chat_with_the_code_before_the_error(
        api: Client, model: FakeProviders) -> None:
    model.enqueue("openai", Scripted(status=500, raw=b'{"error": {"message": "overloaded", "type": "server_error"}}'))
    captured, view = streamed(api, someone(api), "hello")

    assert captured.status == 200, "the turn was reserved, so the stream had begun"
    assert view.chunk_types == ["start", "start-step", "finish-step", "data-error", "error", "finish"]
    data = assert_failure_reached_the_chat(view, "provider_error")
    meta = view.chat_metadata
    assert set(meta) == {"session_id", "user_message_id"}, "no reply was stored: only `start`'s ids"
    assert meta["session_id"] == data["session_id"]


def test_a_refusal_before_the_stream_reaches_the_sdks_chat_as_the_json_error_it_threw(api: Client) -> None:
    broke = f"broke-{uuid.uuid4().hex[:8]}"  # a tenant whose config item allows it nothing
    table_client(api.server).put_item(TableName=TABLE, Item={
        "PK": {"S": keys.tenant_pk(broke)}, "SK": {"S": keys.CONFIG_SK}, "daily_cost_limit_cents": {"N": "0"}})
    captured, view = streamed(api, api.as_user("spender", broke), "hi")

    assert captured.status == 400 and captured.content_type.startswith("application/json")
    assert view.chunks == [] and view.chat_message is None
    assert view.chat_status == "error" and view.chat_error is not None
    assert json.loads(view.chat_error)["code"] == "daily_cost_limit_exceeded", "DefaultChatTransport throws the body"


# --- the reader itself -----------------------------------------------------------------------------------------


def old_order_cut() -> bytes:
    """A cut turn as the server wrote it before issue 26: `error` first, then the code, the metadata and finish."""
    parts: list[dict[str, Any]] = [
        {"type": "start", "messageMetadata": {"session_id": "S1", "user_message_id": "U1"}},
        {"type": "start-step"}, {"type": "text-start", "id": "text-1"},
        {"type": "text-delta", "id": "text-1", "delta": "Half of an answer"},
        {"type": "text-end", "id": "text-1"}, {"type": "finish-step"},
        {"type": "error", "errorText": "The model provider's reply was cut short; what arrived is kept."},
        {"type": "data-error", "data": {"code": "provider_error", "detail": "The model provider's reply was cut "
                                        "short; what arrived is kept.", "session_id": "S1"}, "transient": True},
        {"type": "message-metadata", "messageMetadata": {"session_id": "S1", "message_id": "M1", "cost_cents": 0.02,
                                                         "stopped": "provider_error", "estimated": True}},
        {"type": "finish", "finishReason": "error"}]
    return b"".join(map(ui_stream.sse, parts)) + ui_stream.DONE


def test_the_sdks_chat_drops_the_code_and_the_metadata_sent_after_an_error_part_so_the_old_order_lost_them() -> None:
    view = read_with_sdk(old_order_cut())
    assert view.invalid == [] and view.chunk_types[-4:] == ["error", "data-error", "message-metadata", "finish"]
    assert view.chat_status == "error" and view.chat_data == [], "the code never reached onData"
    assert "message_id" not in view.chat_metadata and "cost_cents" not in view.chat_metadata
    assert view.reader_message is not None and view.reader_message["metadata"]["message_id"] == "M1", \
        "readUIMessageStream reads past the error: the parts were there"
    with pytest.raises(AssertionError):
        assert_failure_reached_the_chat(view, "provider_error")


def test_a_tool_call_holding_non_finite_numbers_streams_as_strict_json_the_sdk_accepts_with_them_as_null() -> None:
    record = {"id": "call_1", "name": "lookup", "arguments": '{"limit": 1e999, "ratio": NaN}', "status": "ok",
              "result": {"score": float("inf"), "rows": [float("-inf"), 1.5]}}
    answer = ChatResponse(session_id="S1", message="Done.", function_calls=[], metadata=ChatMetadata(
        tokens=3, input_tokens=2, output_tokens=1, cost_cents=0.01, model="m", provider="p", message_id="M1"))

    def turn() -> Generator[TurnEvent, None, ChatResponse]:
        yield StepStarted(1)
        yield ToolRan(record)
        yield StepFinished(1)
        return answer

    body = b"".join(ui_stream.chunks(TurnStarted(session_id="S1", user_message_id="U1"), turn()))
    view = read_with_sdk(body)
    assert view.invalid == [] and (view.chat_status, view.chat_error) == ("ready", None)
    assert view.chunk_types[-2:] == ["message-metadata", "finish"], "the turn ended as it should"
    (call,) = tool_parts(view)
    assert call["input"] == {"limit": None, "ratio": None}
    assert call["output"] == {"score": None, "rows": [None, 1.5]}


def test_the_reader_fails_naming_the_fix_when_the_widgets_node_modules_are_missing(tmp_path: Path) -> None:
    alone = tmp_path / "widget" / "scripts" / SCRIPT.name  # no node_modules beside it or above it
    alone.parent.mkdir(parents=True)
    alone.write_bytes(SCRIPT.read_bytes())
    with pytest.raises(RuntimeError, match=r"exit 2\).*npm ci"):
        read_with_sdk(old_order_cut(), script=alone)
