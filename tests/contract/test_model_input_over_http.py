"""What a model sends, over real HTTP on the local server, its model the loopback fake speaking OpenAI's and then
Anthropic's streaming wire format (a server each): halves of characters (R2), numbers that are not finite in tool
arguments (R12), a step asking for 50 tool calls (R13), and a stream's tools after POST /chat's deadline (R5).

Each stream is read to its end as a client reads it, then checked against what the table keeps and what the fake was
sent back; the ledger's invariant is checked on the server's whole table after every test.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from counters import day_counters
from fake_providers import Api, FakeProviders, Scripted, Usage
from sse import DONE, Part, SseCall, deltas, metadata_of, of_type, start_of, types

from aichat.core.pricing import PriceTable
from aichat.core.pricing import Usage as Tokens
from aichat.providers.registry import DEFAULT_MODELS
from aichat.table import keys
from contract.local_api import User, fake_provider_env
from contract.served import Served, check_after_test, served_by

pytestmark = pytest.mark.dynamodb_local

API = "/api/v1/ai"
STREAM = f"{API}/chat/stream"
TABLE = "ai-chat-model-input"
GRIN = "\U0001f600"
HIGH, LOW, LONE = "\ud83d", "\ude00", "\ud800"  # GRIN's halves, and a half of nothing
# POST /chat's deadline on these servers; a streamed step the fake holds longer than this still runs its tools.
CHAT_DEADLINE = 4.0
WAIT = 20.0
LINE_STATUS = {
    "name": "line_status", "description": "Look up the live status of a subscriber's line.",
    "parameters": {"type": "object", "properties": {"subscriber_id": {"type": "string"}, "days": {"type": "number"}},
                   "required": ["subscriber_id", "days"], "additionalProperties": False},
    "target": "aichat.tools.samples:line_status", "timeout_seconds": 5,
}


def model_env(api: Api, fake: FakeProviders) -> dict[str, str]:
    return {**fake_provider_env(fake, api), "LLM_DEADLINE_SECONDS": str(CHAT_DEADLINE),
            "CUSTOM_TOOLS": json.dumps([LINE_STATUS]),
            "TOOLS_BY_SESSION_TYPE": json.dumps({"customer_support": ["create_ticket", "line_status"]})}


@pytest.fixture(scope="module", params=["openai", "anthropic"])
def served(request: pytest.FixtureRequest, model: FakeProviders, dynamodb_local_url: str) -> Iterator[Served]:
    with served_by(request.param, dynamodb_local_url, TABLE, model_env(request.param, model)) as server:
        yield server


@pytest.fixture(autouse=True)
def invariant_after(served: Served, model: FakeProviders) -> Iterator[None]:
    yield
    check_after_test(served, model)


# --- helpers -------------------------------------------------------------------------------------------------


def someone(served: Served) -> tuple[User, str, str]:
    user_id, tenant = f"user-{uuid.uuid4().hex[:8]}", f"input-{uuid.uuid4().hex[:8]}"
    return served.client.as_user(user_id, tenant), user_id, tenant


def streamed(served: Served, user: User, message: str) -> list[Part]:
    """A stream read to its end; every part is strict JSON (no NaN or Infinity) and it ends with finish, [DONE]."""
    with SseCall(served.client.server.url, STREAM, {"message": message, "session_id": None}, token=user.token,
                 timeout=WAIT) as call:
        assert call.status == 200
        parts = call.read_to_end()
    for part in parts:
        json.dumps(part, allow_nan=False)
    assert types(parts)[-2:] == ["finish", DONE], types(parts)
    return parts


def history(user: User, session_id: str) -> list[dict[str, Any]]:
    reply = user.get(f"{API}/sessions/{session_id}/history")
    assert reply.status == 200, reply.raw
    messages: list[dict[str, Any]] = reply.body["messages"]
    return messages


def tickets(served: Served, tenant: str) -> list[dict[str, Any]]:
    items = served.db.scan(TableName=served.table, ConsistentRead=True)["Items"]
    return [i for i in items if i["PK"]["S"].startswith("TICKET#") and i["tenant_id"]["S"] == tenant]


def charged(served: Served, tenant: str, parts: list[Part]) -> int:
    ids = start_of(parts)["messageMetadata"]
    user_message = served.db.get_item(TableName=served.table, ConsistentRead=True, Key={
        "PK": {"S": keys.session_pk(ids["session_id"])}, "SK": {"S": keys.message_sk(ids["user_message_id"])}})
    assert user_message["Item"]["status"]["S"] == "ok", "settled, not left pending for the sweeper"
    return day_counters(served.db, tenant, user_message["Item"]["day"]["S"], table=served.table)[
        "cost_micros"]


def price(served: Served, *usages: Usage) -> int:
    return sum(PriceTable().cost_micros(DEFAULT_MODELS[served.api], Tokens(u.input, u.output)) for u in usages)


def sent_back(model: FakeProviders, served: Served) -> str:
    """What the model was sent in the turn's last request, as JSON text."""
    return json.dumps(model.sent(served.api)[-1]["messages"])


def tool_results(model: FakeProviders, served: Served) -> list[tuple[bool, str]]:
    """The last request's tool results as (is_error, content), in either API's form."""
    messages = model.sent(served.api)[-1]["messages"]
    if served.api == "openai":
        return [(json.loads(m["content"]).keys() == {"error"}, m["content"]) for m in messages if m["role"] == "tool"]
    blocks = [b for m in messages if isinstance(m["content"], list) for b in m["content"]]
    return [(bool(b["is_error"]), b["content"]) for b in blocks if b["type"] == "tool_result"]


# --- R2: halves of characters -------------------------------------------------------------------------------------


def test_a_character_split_between_two_pieces_and_a_lone_half_stream_whole_and_the_turn_settles_at_its_usage(
        served: Served, model: FakeProviders) -> None:
    user, _, tenant = someone(served)
    usage = Usage(input=48, output=11)
    model.enqueue(served.api, Scripted(deltas=["Smile ", HIGH, LOW, f" or {LONE} not."], usage=usage))
    parts = streamed(served, user, "Say something")
    assert not of_type(parts, "error") and of_type(parts, "finish") == [{"type": "finish", "finishReason": "stop"}]
    assert deltas(parts) == f"Smile {GRIN} or \ufffd not."
    session_id = start_of(parts)["messageMetadata"]["session_id"]
    assert [(m["role"], m["status"]) for m in history(user, session_id)] == [("user", "ok"), ("assistant", "ok")]
    assert history(user, session_id)[1]["content"] == deltas(parts)
    assert charged(served, tenant, parts) == price(served, usage), "the answered call is charged, not swept to 0"


def test_lone_halves_in_a_streamed_tool_calls_id_and_arguments_are_made_whole_and_the_tool_runs(
        served: Served, model: FakeProviders) -> None:
    user, _, tenant = someone(served)
    arguments = f'{{"title": "Line {HIGH}{LOW} {LONE}", "priority": "low", "description": "a\\ud800"}}'
    first, second = Usage(input=52, output=21), Usage(input=95, output=5)
    model.enqueue(served.api, Scripted(tool_calls=[(f"{served.call_id(1)}{LONE}", "create_ticket", arguments)],
                                       usage=first), Scripted(deltas=["Ticket ", "opened."], usage=second))
    parts = streamed(served, user, "My line drops, open a ticket")
    (called,) = of_type(parts, "tool-input-available")
    assert called["toolCallId"] == f"{served.call_id(1)}\ufffd"
    assert called["input"] == {"title": f"Line {GRIN} \ufffd", "priority": "low", "description": "a\ufffd"}
    assert of_type(parts, "tool-output-available")[0]["output"]["title"] == f"Line {GRIN} \ufffd"
    assert deltas(parts) == "Ticket opened." and not of_type(parts, "error")
    assert "\\ud800" not in sent_back(model, served).lower(), "the model is never sent back half a character"
    (ticket,) = tickets(served, tenant)
    assert ticket["title"]["S"] == f"Line {GRIN} \ufffd"
    assert charged(served, tenant, parts) == price(served, first, second)


def test_post_chat_makes_a_tool_calls_id_arguments_and_reply_whole_too(served: Served, model: FakeProviders) -> None:
    user, _, tenant = someone(served)
    call = (f"{served.call_id(2)}{LONE}", "create_ticket",
            {"title": f"Line {LONE}", "priority": "low", "description": None})
    model.enqueue(served.api, Scripted(tool_calls=[call]), Scripted(text=f"Done {LONE}."))
    reply = user.post(f"{API}/chat", {"message": "My line drops, open a ticket", "session_id": None})
    assert reply.status == 200, reply.raw
    assert (reply.body["message"], reply.body["metadata"]["stopped"]) == ("Done \ufffd.", None)
    (made,) = reply.body["function_calls"]
    assert (made["id"], made["status"], made["arguments"]["title"]) == (f"{served.call_id(2)}\ufffd", "ok",
                                                                        "Line \ufffd")
    assert len(tickets(served, tenant)) == 1 and "\\ud800" not in sent_back(model, served).lower()


# --- R12: numbers that are not finite -----------------------------------------------------------------------------


def test_a_tool_argument_of_1e400_is_refused_as_not_finite_by_built_in_and_custom_tools_alike_and_nothing_runs(
        served: Served, model: FakeProviders) -> None:
    user, _, tenant = someone(served)
    calls = [(served.call_id(3), "create_ticket", '{"title": 1e400, "priority": "low", "description": null}'),
             (served.call_id(4), "line_status", '{"subscriber_id": "4411", "days": -1e400}')]
    model.enqueue(served.api, Scripted(tool_calls=calls), Scripted(deltas=["Sorry."]))
    parts = streamed(served, user, "Open a ticket and check my line")
    # Shown as the arguments' text had it: Anthropic's SDK parses a tool's input itself (1e400 becomes inf), so
    # its adapter's text says Infinity.
    big, small = ("1e400", "-1e400") if served.api == "openai" else ("Infinity", "-Infinity")
    assert [p["input"] for p in of_type(parts, "tool-input-available")] == [
        {"title": big, "priority": "low", "description": None}, {"subscriber_id": "4411", "days": small}]
    errors = [p["errorText"] for p in of_type(parts, "tool-output-error")]
    assert len(errors) == 2 and all("not a finite number" in e for e in errors), errors
    assert "title: not a finite number" in errors[0] and "days: not a finite number" in errors[1]
    assert not of_type(parts, "tool-output-available") and tickets(served, tenant) == [], "nothing ran"
    assert [is_error for is_error, _ in tool_results(model, served)] == [True, True]
    json.dumps(model.sent(served.api)[-1], allow_nan=False)  # no number the model is sent back is infinite
    session_id = start_of(parts)["messageMetadata"]["session_id"]
    stored = history(user, session_id)[1]["function_calls"]
    assert [c["arguments"] for c in stored] == [p["input"] for p in of_type(parts, "tool-input-available")]
    assert metadata_of(parts)["stopped"] is None


# --- R13: one step asking for 50 tool calls -------------------------------------------------------------------


def test_one_streamed_step_asking_for_50_tickets_makes_8_and_answers_the_other_42_as_refused(
        served: Served, model: FakeProviders) -> None:
    user, _, tenant = someone(served)
    calls = [(served.call_id(100 + i), "create_ticket", {"title": f"t{i}", "priority": "low", "description": None})
             for i in range(50)]
    model.enqueue(served.api, Scripted(tool_calls=calls, usage=Usage(input=60, output=400)),
                  Scripted(deltas=["Eight ", "tickets."]))
    parts = streamed(served, user, "Open fifty tickets")
    assert len(of_type(parts, "tool-output-available")) == 8
    refused = of_type(parts, "tool-output-error")
    assert len(refused) == 42 and all("at most 8 tool calls" in p["errorText"] for p in refused)
    assert len(tickets(served, tenant)) == 8
    results = tool_results(model, served)
    assert len(results) == 50 and sum(is_error for is_error, _ in results) == 42, "every call answered to the model"
    assert deltas(parts) == "Eight tickets." and metadata_of(parts)["stopped"] is None


# --- R5: a stream's tools get the stream's deadline -----------------------------------------------------------


def test_a_streams_tool_runs_after_post_chats_deadline_has_passed_within_the_streams(
        served: Served, model: FakeProviders) -> None:
    user, _, tenant = someone(served)
    call = (served.call_id(5), "create_ticket", {"title": "Slow line", "priority": "low", "description": None})
    # The model takes longer than POST /chat's whole deadline to ask for the tool; the stream's is 120 s.
    model.enqueue(served.api, Scripted(tool_calls=[call], delay=CHAT_DEADLINE + 0.5),
                  Scripted(deltas=["Opened."]))
    parts = streamed(served, user, "My line is slow, open a ticket")
    (done,) = of_type(parts, "tool-output-available")
    assert done["output"]["title"] == "Slow line" and not of_type(parts, "tool-output-error")
    assert len(tickets(served, tenant)) == 1 and deltas(parts) == "Opened."

