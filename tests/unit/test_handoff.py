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

from aichat.core.identity import Identity
from aichat.notify.domain_events import EventName
from aichat.table.escalations import Handoffs

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
    assert [(m["role"], m["handoff"], m["content"]) for m in seen.body["messages"]] == [
        ("agent", "joined", "Sam Support joined the conversation."),
        ("agent", None, "Hi, Sam here: I refunded the double charge.")]
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
    assert [(t.role, t.name, t.content) for t in provider.history[-1].messages if t.role == "agent"] == [
        ("agent", "Sam Support", "Hi, Sam here: I refunded the double charge.")], "a person's turn, not the model's"
    assert not [text for text in sent if "joined the conversation" in text or "back to the assistant" in text], \
        "the markers are for people, not the model"
    events = published()
    assert len(of_type(events, EventName.AGENT_JOINED)) == 1
    assert [e["detail"]["agent_id"] for e in of_type(events, EventName.AGENT_REPLIED)] == ["sam"]
    assert [(e["detail"]["to"], e["detail"]["note"]) for e in of_type(events, EventName.SESSION_RELEASED)] == [
        ("ai", "Refund issued")]
    assert_invariant(dynamodb, "ai-chat")


def test_a_second_staff_reply_is_stored_after_the_first_and_the_session_stays_taken_by_the_first(
        api: Api, published: Published) -> None:  # noqa: F811
    session_id = escalated(api)
    assert staff(api, "agent_reply", session_id, {"content": "first"}).status == 201
    assert staff(api, "agent_reply", session_id, {"content": "second"}, user="alex").status == 201
    messages = api.invoke("get_history", session_id=session_id).body["messages"]
    assert [m["content"] for m in messages if m["role"] == "agent"] == [
        "Sam Support joined the conversation.", "first", "second"], "one joined marker, by the one who took it"
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


def test_a_release_leaves_a_marker_saying_who_handed_it_back_and_a_persons_messages_take_no_customer_slot(
        api: Api, dynamodb: Any) -> None:
    session_id = escalated(api)
    before = api.invoke("get_history", session_id=session_id).body["metadata"]["message_count"]
    staff(api, "agent_reply", session_id, {"content": "Refunded."})
    staff(api, "agent_release", session_id, {"to": "ai"})
    history = api.invoke("get_history", session_id=session_id).body
    assert [(m["handoff"], m["content"]) for m in history["messages"] if m["role"] == "agent"] == [
        ("joined", "Sam Support joined the conversation."), (None, "Refunded."),
        ("left", "Sam Support handed the conversation back to the assistant.")]
    assert history["metadata"]["message_count"] == before, "neither the reply nor its markers hold a customer slot"
    session = dynamodb.get_item(TableName="ai-chat", Key={"PK": {"S": f"SESSION#{session_id}"},
                                                          "SK": {"S": "SESSION"}})["Item"]
    assert session["agent_message_count"] == {"N": "3"}, "they are counted apart: the reply and both markers"
    assert_invariant(dynamodb, "ai-chat")


def test_closing_leaves_a_marker_saying_the_person_closed_it(api: Api) -> None:
    session_id = escalated(api)
    staff(api, "agent_release", session_id, {"to": "closed"})
    last = api.invoke("get_history", session_id=session_id).body["messages"][-1]
    assert (last["role"], last["handoff"], last["content"]) == ("agent", "left", "Sam Support closed the conversation.")


def test_the_customer_withdraws_an_escalation_nobody_took_and_the_model_answers_again(
        api: Api, provider: ScriptedProvider, published: Published) -> None:  # noqa: F811
    session_id = escalated(api)
    withdrawn = api.invoke("withdraw_escalation", {}, session_id=session_id)
    assert (withdrawn.status, withdrawn.body["status"]) == (200, "active"), withdrawn.body
    assert staff(api, "agent_list_sessions").body == [], "it leaves the waiting list"
    calls = len(provider.history)
    assert api.chat("Never mind, one more question", session_id).body["status"] == "answered"
    assert len(provider.history) == calls + 1
    (event,) = of_type(published(), EventName.ESCALATION_WITHDRAWN)
    assert (event["detail"]["session_id"], event["detail"]["user_id"]) == (session_id, "user-1")


def test_an_escalation_a_person_took_cannot_be_withdrawn(api: Api) -> None:
    session_id = escalated(api)
    staff(api, "agent_reply", session_id, {"content": "Sam here."})
    refused = api.invoke("withdraw_escalation", {}, session_id=session_id)
    assert (refused.status, error_code(refused), refused.body["taken_by_name"]) == (409, "escalation_taken",
                                                                                     "Sam Support")
    assert "Sam Support" in refused.body["detail"]
    assert api.invoke("get_history", session_id=session_id).body["metadata"]["status"] == "escalated"


def test_only_an_escalated_session_of_the_callers_own_can_be_withdrawn(api: Api) -> None:
    active = str(api.chat("hello").body["session_id"])
    assert error_code(api.invoke("withdraw_escalation", {}, session_id=active)) == "session_not_active"
    session_id = escalated(api)
    assert error_code(api.invoke("withdraw_escalation", {}, session_id=session_id, user="user-2")) == \
        "session_not_found"
    assert error_code(api.invoke("withdraw_escalation", {}, session_id=session_id, tenant="globex")) == \
        "session_not_found"
    assert staff(api, "agent_list_sessions").body[0]["session_id"] == session_id, "still waiting"


def test_escalating_again_while_escalated_is_refused_and_lists_the_session_once(api: Api) -> None:
    session_id = escalated(api)
    again = api.invoke("escalate", {"reason": "still here"}, session_id=session_id)
    assert error_code(again) == "session_not_active"
    assert [e["reason"] for e in staff(api, "agent_list_sessions").body] == ["Billing dispute"]


def test_a_session_escalated_again_after_a_release_is_listed_again_and_taken_anew(api: Api) -> None:
    session_id = escalated(api)
    staff(api, "agent_reply", session_id, {"content": "Sam here."})
    staff(api, "agent_release", session_id, {"to": "ai"})
    assert api.invoke("escalate", {"reason": "Back again"}, session_id=session_id).status == 200
    (entry,) = staff(api, "agent_list_sessions").body
    assert (entry["reason"], entry["taken_by"]) == ("Back again", None)
    staff(api, "agent_reply", session_id, {"content": "Alex here."}, user="alex")
    assert staff(api, "agent_list_sessions").body[0]["taken_by"] == "alex"


def test_a_reply_that_loses_the_race_to_take_the_session_is_stored_after_the_winners_marker_without_taking(
        api: Api, dynamodb: Any) -> None:
    session_id = escalated(api)
    handoffs = api.services.sessions.handoffs
    sam, alex = (Identity(user_id=user, tenant_id="acme", roles=frozenset({"support"}), is_staff=True,
                          display_name=name) for user, name in (("sam", "Sam Support"), ("alex", "Alex")))
    read_by_alex = handoffs.session(session_id, alex)  # both read it untaken
    assert handoffs.reply(handoffs.session(session_id, sam), sam, "Sam first")[1] is True
    written, took = handoffs.reply(read_by_alex, alex, "Alex second")
    assert (took, [m.handoff for m in written]) == (False, [None]), "no second marker, no second take"
    messages = api.invoke("get_history", session_id=session_id).body["messages"]
    assert [(m["agent_name"], m["content"]) for m in messages if m["role"] == "agent"] == [
        ("Sam Support", "Sam Support joined the conversation."), ("Sam Support", "Sam first"), ("Alex", "Alex second")]
    assert handoffs.session(session_id, alex).taken_by == "sam"
    assert_invariant(dynamodb, "ai-chat")


def limit_messages(dynamodb: Any, tenant: str, limit: int) -> None:
    """The tenant's own MAX_MESSAGES_PER_SESSION (its config item; the tests' settings cache it for no time)."""
    dynamodb.put_item(TableName="ai-chat", Item={"PK": {"S": f"TENANT#{tenant}"}, "SK": {"S": "CONFIG"},
                                                 "max_messages_per_session": {"N": str(limit)}})


def test_staff_replies_never_lock_the_customer_out_they_chat_on_until_their_own_messages_reach_the_limit(
        api: Api, dynamodb: Any) -> None:
    """Issue 26, R9: twelve counted against a limit of six once refused the customer at once after the hand-back."""
    limit_messages(dynamodb, "acme", 6)
    session_id = escalated(api)  # a chat: 2 of the customer's 6
    assert api.chat("Hello? Anyone?", session_id).body["status"] == "waiting_for_person"  # 3
    for i in range(10):
        assert staff(api, "agent_reply", session_id, {"content": f"reply {i}"}).status == 201
    assert staff(api, "agent_release", session_id, {"to": "ai"}).body["status"] == "active"

    answered = api.chat("Thanks, one more question", session_id)
    assert answered.status == 200, answered.body
    assert answered.body["status"] == "answered"  # 5
    refused = api.chat("And another", session_id)
    assert (refused.status, error_code(refused), refused.body["limit"], refused.body["used"]) == (
        400, "session_message_limit_exceeded", 6, 5), "refused only when the customer's own messages reach it"
    assert_invariant(dynamodb, "ai-chat")


def test_a_persons_messages_have_a_bound_of_their_own_past_it_a_reply_is_refused_and_a_release_still_hands_back(
        api: Api, dynamodb: Any, clock: Any) -> None:
    api.services.sessions.handoffs = Handoffs(dynamodb, "ai-chat", 90, clock, max_agent_messages=4)
    session_id = escalated(api)
    for text in ("one", "two", "three"):  # the first brings the joined marker: four of four
        assert staff(api, "agent_reply", session_id, {"content": text}).status == 201
    refused = staff(api, "agent_reply", session_id, {"content": "four"})
    assert (refused.status, error_code(refused), refused.body["limit"], refused.body["used"]) == (
        400, "agent_message_limit_exceeded", 4, 4)
    assert "Hand it back to the assistant or close it" in refused.body["detail"]
    assert [m["content"] for m in api.invoke("get_history", session_id=session_id).body["messages"]][-1] == "three"

    released = staff(api, "agent_release", session_id, {"to": "ai"})
    assert (released.status, released.body["status"]) == (200, "active"), "a release is never refused for it"
    assert api.chat("Thanks!", session_id).body["status"] == "answered", "the customer is never locked out"
    assert_invariant(dynamodb, "ai-chat")  # five of role agent: the left marker passes the bound, counted


def test_the_waiting_list_pages_to_its_end_with_the_cursor_it_hands_out(api: Api, clock: Any) -> None:
    """Issue 26, R3: its cursor carries `<time>#<id>`, once refused (422) on page 2."""
    waiting = []
    for customer in ("user-1", "user-2", "user-3"):
        waiting.append(escalated(api, customer))
        clock.advance(seconds=1)
    seen: list[str] = []
    query = {"status": "escalated", "limit": "1"}
    for _ in range(len(waiting) + 1):
        page = staff(api, "agent_list_sessions", query=query)
        assert page.status == 200, page.body
        seen += [entry["session_id"] for entry in page.body]
        if "x-next-cursor" not in page.headers:
            break
        query = {**query, "cursor": page.headers["x-next-cursor"]}
    assert seen == waiting, "each once, oldest escalation first"


def test_a_waiting_list_cursor_is_a_position_not_a_key_to_another_tenants_list_or_another_route(api: Api) -> None:
    escalated(api, "user-1")
    escalated(api, "user-2")
    cursor = staff(api, "agent_list_sessions", query={"limit": "1"}).headers["x-next-cursor"]
    other = staff(api, "agent_list_sessions", query={"limit": "1", "cursor": cursor}, tenant="globex")
    assert (other.status, other.body) == (200, []), "another tenant's staff read only their own list"
    elsewhere = api.invoke("list_sessions", query={"cursor": cursor})
    assert (elsewhere.status, elsewhere.body["field"]) == (422, "cursor")
    assert "another list (waiting)" in elsewhere.body["detail"]


def test_a_person_takes_a_session_without_replying_once_and_the_customer_sees_them_join(
        api: Api, published: Published) -> None:  # noqa: F811
    session_id = escalated(api)
    took = staff(api, "agent_take", session_id, {})
    assert (took.status, took.body["taken_by_name"], took.body["status"]) == (200, "Sam Support", "escalated")
    again = staff(api, "agent_take", session_id, {})
    assert again.status == 200 and again.body["taken_at"] == took.body["taken_at"], "the same person again: unchanged"
    other = staff(api, "agent_take", session_id, {}, user="alex")
    assert (other.status, error_code(other), other.body["taken_by_name"]) == (409, "escalation_taken", "Sam Support")
    messages = api.invoke("get_history", session_id=session_id).body["messages"]
    assert [(m["role"], m["handoff"]) for m in messages if m["role"] == "agent"] == [("agent", "joined")]
    assert len(of_type(published(), EventName.AGENT_JOINED)) == 1, "AgentJoined once"
    reply = staff(api, "agent_reply", session_id, {"content": "Sam here."})
    assert reply.status == 201
    agents = [m["handoff"] for m in api.invoke("get_history", session_id=session_id).body["messages"]
              if m["role"] == "agent"]
    assert agents == ["joined", None], "a reply after Take adds no second marker"
    assert len(of_type(published(), EventName.AGENT_JOINED)) == 1


def test_take_is_for_staff_of_the_sessions_tenant_only(api: Api) -> None:
    session_id = escalated(api)
    assert error_code(staff(api, "agent_take", session_id, {}, roles="[]")) == "forbidden"
    assert error_code(staff(api, "agent_take", session_id, {}, tenant="globex")) == "session_not_found"
