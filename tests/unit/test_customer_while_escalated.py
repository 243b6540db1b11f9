"""The customer's side of a handoff: while a person has the session, a message is kept for them, no model is called
and nothing is charged; the answer says a person will reply, and the customer can wait for it with ?after=."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import Api, FakeClock, ScriptedProvider, error_code
from counters import day_counters
from ledger_invariant import assert_invariant
from test_events import Published, of_type, published  # noqa: F401 - published is a fixture

from aichat import wiring
from aichat.api import ui_stream
from aichat.core.identity import Identity
from aichat.core.models import ChatRequest
from aichat.core.settings import Settings
from aichat.notify.domain_events import EventName
from aichat.turn.stream_events import TurnStarted

DAY = "2026-11-24"
CUSTOMER = Identity(user_id="user-1", tenant_id="acme", roles=frozenset())


def escalated(api: Api) -> str:
    """A session with one answered turn, then escalated by its customer."""
    reply = api.chat("My router blinks red")
    session_id = str(reply.body["session_id"])
    assert api.invoke("escalate", {"reason": "Billing question"}, session_id=session_id).status == 200
    return session_id


def test_a_message_to_an_escalated_session_is_kept_for_a_person_without_a_model_call_or_a_charge(
        api: Api, provider: ScriptedProvider, dynamodb: Any, published: Published) -> None:  # noqa: F811
    session_id = escalated(api)
    calls, before = len(provider.history), day_counters(dynamodb, "acme", DAY)
    reply = api.chat("Are you there? My bill doubled", session_id)
    assert reply.status == 200, reply.body
    assert (reply.body["status"], reply.body["role"], reply.body["metadata"]["cost_cents"]) == (
        "waiting_for_person", "assistant", 0.0)
    assert isinstance(reply.body["message"], str) and "person" in reply.body["message"]
    assert len(provider.history) == calls, "no model was called"
    assert day_counters(dynamodb, "acme", DAY) == before, "no counter moved: nothing reserved, nothing charged"
    history = api.invoke("get_history", session_id=session_id).body
    kept = history["messages"][-1]
    assert (kept["id"], kept["role"], kept["content"], kept["status"]) == (
        reply.body["metadata"]["message_id"], "user", "Are you there? My bill doubled", "ok")
    assert history["metadata"]["status"] == "escalated" and history["metadata"]["message_count"] == 3
    (event,) = of_type(published(), EventName.CUSTOMER_MESSAGED)
    assert event["detail"]["message_id"] == kept["id"] and "message_text" not in event["detail"]
    assert_invariant(dynamodb, "ai-chat")


def test_the_customer_waits_for_the_reply_with_after_from_the_message_it_sent(api: Api) -> None:
    session_id = escalated(api)
    sent = api.chat("Still waiting", session_id).body["metadata"]["message_id"]
    waiting = api.invoke("get_history", session_id=session_id, query={"after": sent})
    assert (waiting.status, waiting.body["messages"]) == (200, [])


def test_each_kept_message_counts_against_the_sessions_message_limit_and_the_limit_refuses_the_next(
        settings: Settings, dynamodb: Any, sns: Any, eventbridge: Any, clock: FakeClock,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TABLE_NAME", "ai-chat")
    api = Api(wiring.build(settings.model_copy(update={"MAX_MESSAGES_PER_SESSION": 4}), dynamodb=dynamodb, sns=sns,
                           events=eventbridge, providers={"offline": ScriptedProvider()}, clock=clock))
    session_id = escalated(api)  # 2 messages
    assert api.chat("one", session_id).status == 200
    assert api.chat("two", session_id).status == 200
    refused = api.chat("three", session_id)
    assert (refused.status, error_code(refused), refused.body["limit"], refused.body["used"]) == (
        400, "session_message_limit_exceeded", 4, 4)
    assert len(api.invoke("get_history", session_id=session_id).body["messages"]) == 4


def test_someone_else_cannot_write_into_an_escalated_session_and_a_closed_one_still_refuses(
        api: Api, dynamodb: Any) -> None:
    session_id = escalated(api)
    assert error_code(api.chat("hello", session_id, user="mallory")) == "session_not_found"
    dynamodb.update_item(TableName="ai-chat", Key={"PK": {"S": f"SESSION#{session_id}"}, "SK": {"S": "SESSION"}},
                         UpdateExpression="SET #s = :c", ExpressionAttributeNames={"#s": "status"},
                         ExpressionAttributeValues={":c": {"S": "completed"}})
    closed = api.chat("hello?", session_id)
    assert (closed.status, error_code(closed)) == (400, "session_not_active")


def test_the_stream_keeps_the_message_for_the_person_too_and_says_so_in_its_parts(
        api: Api, provider: ScriptedProvider, dynamodb: Any) -> None:
    session_id = escalated(api)
    calls, before = len(provider.history), day_counters(dynamodb, "acme", DAY)
    turn = api.services.chat.stream(CUSTOMER, ChatRequest(message="Hello?", session_id=session_id))
    first = next(turn)
    assert isinstance(first, TurnStarted)
    parts = [json.loads(e.removeprefix("data: ")) for e in b"".join(ui_stream.chunks(first, turn)).decode()
             .split("\n\n") if e.startswith("data: {")]
    text = "".join(p["delta"] for p in parts if p["type"] == "text-delta")
    meta = next(p["messageMetadata"] for p in parts if p["type"] == "message-metadata")
    assert "person" in text and (meta["cost_cents"], meta["stopped"]) == (0.0, "escalated")
    assert meta["message_id"] == first.user_message_id and len(provider.history) == calls
    assert day_counters(dynamodb, "acme", DAY) == before, "nothing reserved, nothing charged"
    assert_invariant(dynamodb, "ai-chat")
