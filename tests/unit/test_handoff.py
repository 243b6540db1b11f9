"""A person takes over a conversation and hands it back: the staff routes, in-process on moto.

The customer chats and escalates; staff of the same tenant list the waiting sessions, read one, reply (role agent,
their display name), and release it to the AI, whose next answer is given the person's reply; other tenants' staff
and customers never reach any of it.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import Api, ScriptedProvider, error_code
from counters import day_counters
from ledger_invariant import assert_invariant
from test_events import Published, of_type, published  # noqa: F401 - published is a fixture

from aichat.chat import AGENT_TURN
from aichat.events import EventName

DAY = "2026-11-24"
STAFF = {"user": "sam", "roles": "[support]"}


def staff(api: Api, name: str, session_id: str | None = None, body: Any = None, *, user: str = "sam",
          tenant: str = "acme", roles: str = "[support]", query: dict[str, str] | None = None) -> Any:
    return api.invoke(name, body, session_id=session_id, user=user, tenant=tenant, roles=roles, query=query)


def escalated(api: Api, customer: str = "user-1") -> str:
    session_id = str(api.chat("My bill doubled this month", user=customer).body["session_id"])
    assert api.invoke("escalate", {"reason": "Billing dispute"}, session_id=session_id, user=customer).status == 200
    return session_id


def test_a_person_answers_inside_the_session_and_hands_it_back_to_the_ai_which_then_sees_the_reply(
        api: Api, provider: ScriptedProvider, dynamodb: Any, published: Published) -> None:  # noqa: F811
    session_id = escalated(api)
    cost = day_counters(dynamodb, "acme", DAY)["cost_micros"]
    waiting = api.chat("Hello? Anyone?", session_id)
    assert waiting.body["status"] == "waiting_for_person"

    (entry,) = staff(api, "agent_list_sessions", query={"status": "escalated"}).body
    assert (entry["session_id"], entry["user_id"], entry["reason"]) == (session_id, "user-1", "Billing dispute")
    assert entry["last_customer_message"] == "Hello? Anyone?" and entry["taken_by"] is None
    assert entry["waiting_seconds"] >= 0
    read = staff(api, "agent_get_history", session_id)
    assert [m["content"] for m in read.body["messages"]][-1] == "Hello? Anyone?"

    reply = staff(api, "agent_reply", session_id, {"content": "Hi, Sam here: I refunded the double charge."})
    assert reply.status == 201, reply.body
    assert (reply.body["role"], reply.body["agent_name"]) == ("agent", "Sam Support")
    seen = api.invoke("get_history", session_id=session_id, query={"after": waiting.body["metadata"]["message_id"]})
    assert [(m["role"], m["content"]) for m in seen.body["messages"]] == [
        ("agent", "Hi, Sam here: I refunded the double charge.")]
    assert seen.body["metadata"]["taken_by_name"] == "Sam Support"
    (taken,) = staff(api, "agent_list_sessions", user="alex").body
    assert taken["taken_by"] == "sam", "a second staff member sees it taken"
    assert day_counters(dynamodb, "acme", DAY)["cost_micros"] == cost, "a person's part costs nothing"

    released = staff(api, "agent_release", session_id, {"to": "ai", "note": "Refund issued"})
    assert (released.status, released.body["status"], released.body["taken_by_name"]) == (200, "active", None)
    assert staff(api, "agent_list_sessions").body == []
    calls = len(provider.history)
    answer = api.chat("Thanks! Will it show on next month's bill?", session_id)
    assert (answer.status, answer.body["status"]) == (200, "answered")
    assert len(provider.history) == calls + 1
    sent = [t.content for t in provider.history[-1].messages]
    assert AGENT_TURN.format(name="Sam Support", content="Hi, Sam here: I refunded the double charge.") in sent
    events = published()
    assert len(of_type(events, EventName.AGENT_JOINED)) == 1
    assert [e["detail"]["agent_id"] for e in of_type(events, EventName.AGENT_REPLIED)] == ["sam"]
    assert [e["detail"]["to"] for e in of_type(events, EventName.SESSION_RELEASED)] == ["ai"]
    assert_invariant(dynamodb, "ai-chat")


def test_a_second_staff_reply_is_stored_after_the_first_and_the_session_stays_taken_by_the_first(
        api: Api, published: Published) -> None:  # noqa: F811
    session_id = escalated(api)
    assert staff(api, "agent_reply", session_id, {"content": "first"}).status == 201
    assert staff(api, "agent_reply", session_id, {"content": "second"}, user="alex").status == 201
    messages = api.invoke("get_history", session_id=session_id).body["messages"]
    assert [m["content"] for m in messages if m["role"] == "agent"] == ["first", "second"]
    assert api.invoke("get_history", session_id=session_id).body["metadata"]["taken_by_name"] == "Sam Support"
    assert len(of_type(published(), EventName.AGENT_JOINED)) == 1


def test_a_customer_calling_a_staff_route_is_forbidden(api: Api) -> None:
    session_id = escalated(api)
    for name, body in (("agent_list_sessions", None), ("agent_get_history", None),
                       ("agent_reply", {"content": "hi"}), ("agent_release", {"to": "ai"})):
        refused = staff(api, name, session_id if name != "agent_list_sessions" else None, body, roles="[]",
                        user="user-1")
        assert (refused.status, error_code(refused)) == (403, "forbidden"), name


def test_staff_of_another_tenant_never_see_the_session_and_get_not_found_for_it(api: Api) -> None:
    session_id = escalated(api)
    assert staff(api, "agent_list_sessions", tenant="globex").body == []
    for name, body in (("agent_get_history", None), ("agent_reply", {"content": "hi"}),
                       ("agent_release", {"to": "closed"})):
        assert error_code(staff(api, name, session_id, body, tenant="globex")) == "session_not_found", name
    assert api.invoke("get_history", session_id=session_id).body["messages"][-1]["role"] != "agent"


def test_staff_cannot_read_a_session_that_was_never_escalated(api: Api) -> None:
    session_id = str(api.chat("a private question").body["session_id"])
    assert error_code(staff(api, "agent_get_history", session_id)) == "session_not_found"
    assert error_code(staff(api, "agent_reply", session_id, {"content": "hi"})) == "session_not_found"


def test_a_closed_session_takes_no_more_messages_from_anyone(api: Api) -> None:
    session_id = escalated(api)
    closed = staff(api, "agent_release", session_id, {"to": "closed"})
    assert closed.body["status"] == "completed"
    assert error_code(api.chat("one more thing", session_id)) == "session_not_active"
    assert error_code(staff(api, "agent_reply", session_id, {"content": "hi"})) == "session_not_active"
    assert error_code(staff(api, "agent_release", session_id, {"to": "ai"})) == "session_not_active"
    assert staff(api, "agent_get_history", session_id).status == 200, "staff may still read what was escalated"


@pytest.mark.parametrize(("body", "field"), [({}, "content"), ({"content": ""}, "content"),
                                             ({"content": "x" * 10_001}, "content")])
def test_a_bad_reply_is_refused_naming_the_field_and_changes_nothing(api: Api, body: Any, field: str) -> None:
    session_id = escalated(api)
    refused = staff(api, "agent_reply", session_id, body)
    assert (refused.status, refused.body["field"]) == (422, field)
    assert staff(api, "agent_list_sessions").body[0]["taken_by"] is None
