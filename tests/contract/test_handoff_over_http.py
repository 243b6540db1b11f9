"""A person takes over a conversation and hands it back, over real HTTP on the local server.

The model is the loopback fake (OpenAI's format), so a test can read what each model request held. Customers and
staff are tokens minted with the server's secret: staff carry the `support` role and a display name (`name`), as the
Cognito pool's group and attribute give them in AWS. After each test that moves money the ledger's invariant is
checked on the server's whole table.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial
from typing import Any

import pytest
from counters import day_counters
from fake_providers import FakeProviders
from ledger_invariant import assert_invariant

from contract.local_api import Client, User, at_once, fake_model_env, local_server, table_client
from localdev import process

pytestmark = pytest.mark.dynamodb_local

API = "/api/v1/ai"
TABLE = "ai-chat-handoff"


@pytest.fixture(scope="module")
def handoff_server(model: FakeProviders, dynamodb_local_url: str) -> Iterator[process.RunningServer]:
    env = fake_model_env(model.openai_url)
    with local_server(dynamodb_local_url, "--quiet", table=TABLE, env=env) as running:
        yield running


@pytest.fixture(scope="module")
def api(handoff_server: process.RunningServer) -> Client:
    return Client(handoff_server)


@pytest.fixture(scope="module")
def db(handoff_server: process.RunningServer) -> Any:
    return table_client(handoff_server)


@pytest.fixture
def tenant() -> str:
    return f"tenant-{uuid.uuid4().hex[:8]}"


def customer(api: Client, tenant: str, user: str = "carol") -> User:
    return api.as_user(user, tenant)


def staff(api: Client, tenant: str, user: str = "dana", name: str = "Dana Reyes") -> User:
    return User(api, api.token(user, tenant, roles=["support"], name=name))


def today() -> str:
    return datetime.now(UTC).date().isoformat()


def escalated_session(api: Client, tenant: str, user: str = "carol") -> tuple[User, str]:
    person = customer(api, tenant, user)
    first = person.post(f"{API}/chat", {"message": "My bill doubled this month", "session_id": None})
    assert first.status == 200, first.raw
    session_id = first.body["session_id"]
    escalation = person.post(f"{API}/sessions/{session_id}/escalate", {"reason": "Billing dispute"})
    assert (escalation.status, escalation.body["status"]) == (200, "escalated"), escalation.raw
    return person, session_id


def test_the_whole_handoff_a_person_answers_inside_the_session_and_hands_it_back_to_the_model(
        api: Client, model: FakeProviders, db: Any, tenant: str) -> None:
    person, session_id = escalated_session(api, tenant)
    requests = len(model.sent("openai"))
    cost = day_counters(db, tenant, today(), table=TABLE)

    kept = person.post(f"{API}/chat", {"message": "Hello? Is anyone there?", "session_id": session_id})
    assert (kept.status, kept.body["status"]) == (200, "waiting_for_person"), kept.raw
    assert "will reply here" in kept.body["message"], "message stays a string: a sentence saying who has it"
    assert len(model.sent("openai")) == requests, "no model call while a person has the session"
    assert day_counters(db, tenant, today(), table=TABLE) == cost, "nothing charged: every cost counter unchanged"
    mine = kept.body["metadata"]["message_id"]

    dana = staff(api, tenant)
    listed = dana.get(f"{API}/agent/sessions?status=escalated")
    assert listed.status == 200, listed.raw
    (entry,) = listed.body
    assert (entry["session_id"], entry["reason"], entry["last_customer_message"], entry["taken_by"]) == (
        session_id, "Billing dispute", "Hello? Is anyone there?", None)
    read = dana.get(f"{API}/agent/sessions/{session_id}/history")
    assert [(m["role"], m["content"]) for m in read.body["messages"]][-1] == ("user", "Hello? Is anyone there?")
    assert [m["role"] for m in read.body["messages"]][:2] == ["user", "assistant"], "the AI's part too"

    reply = dana.post(f"{API}/agent/sessions/{session_id}/messages", {"content": "Hi, Dana here: refunded."})
    assert (reply.status, reply.body["role"], reply.body["agent_name"]) == (201, "agent", "Dana Reyes"), reply.raw

    newer = person.get(f"{API}/sessions/{session_id}/history?after={mine}")
    assert newer.status == 200, newer.raw
    assert [(m["role"], m["handoff"], m["content"]) for m in newer.body["messages"]] == [
        ("agent", "joined", "Dana Reyes joined the conversation."), ("agent", None, "Hi, Dana here: refunded.")]
    assert newer.body["metadata"]["taken_by_name"] == "Dana Reyes"
    assert person.get(f"{API}/sessions/{session_id}/history?after={reply.body['id']}").body["messages"] == []

    released = dana.post(f"{API}/agent/sessions/{session_id}/release", {"to": "ai", "note": "refund issued"})
    assert (released.status, released.body["status"]) == (200, "active"), released.raw
    assert dana.get(f"{API}/agent/sessions?status=escalated").body == []

    answer = person.post(f"{API}/chat", {"message": "Thanks! When will I see it?", "session_id": session_id})
    assert (answer.status, answer.body["status"]) == (200, "answered"), answer.raw
    (request,) = model.sent("openai")[requests:]
    contents = [m.get("content") for m in request["messages"]]
    assert {"role": "system", "content": f'<support_person_reply id="{reply.body["id"]}" name="Dana Reyes">\n'
            "Hi, Dana here: refunded.\n</support_person_reply>"} in request["messages"], "framed where only we write"
    assert "Hello? Is anyone there?" in contents, "the message kept for the person is context too"
    assert not [c for c in contents if isinstance(c, str) and "joined the conversation" in c]
    charged = day_counters(db, tenant, today(), table=TABLE)["cost_micros"]
    assert charged > cost["cost_micros"], "the model's answer is charged"
    assert_invariant(db, TABLE)


def test_a_customer_calling_any_staff_route_is_forbidden(api: Client, tenant: str) -> None:
    person, session_id = escalated_session(api, tenant)
    for method, path, body in (("GET", "/agent/sessions?status=escalated", None),
                               ("GET", f"/agent/sessions/{session_id}/history", None),
                               ("POST", f"/agent/sessions/{session_id}/take", {}),
                               ("POST", f"/agent/sessions/{session_id}/messages", {"content": "hi"}),
                               ("POST", f"/agent/sessions/{session_id}/release", {"to": "ai"})):
        refused = api.call(method, API + path, body, token=person.token)
        assert (refused.status, refused.body["code"]) == (403, "forbidden"), path


def test_staff_of_another_tenant_never_see_the_session_and_get_not_found_for_it(api: Client, tenant: str) -> None:
    person, session_id = escalated_session(api, tenant)
    other = staff(api, f"{tenant}-other", user="eve", name="Eve")
    assert other.get(f"{API}/agent/sessions?status=escalated").body == []
    for method, path, body in (("GET", f"/agent/sessions/{session_id}/history", None),
                               ("POST", f"/agent/sessions/{session_id}/take", {}),
                               ("POST", f"/agent/sessions/{session_id}/messages", {"content": "hi"}),
                               ("POST", f"/agent/sessions/{session_id}/release", {"to": "closed"})):
        refused = api.call(method, API + path, body, token=other.token)
        assert (refused.status, refused.body["code"]) == (404, "session_not_found"), path
    history = person.get(f"{API}/sessions/{session_id}/history").body
    assert history["metadata"]["status"] == "escalated" and all(m["role"] != "agent" for m in history["messages"])


def test_staff_cannot_read_a_session_that_was_never_escalated(api: Client, tenant: str) -> None:
    private = customer(api, tenant).post(f"{API}/chat", {"message": "a private question", "session_id": None})
    refused = staff(api, tenant).get(f"{API}/agent/sessions/{private.body['session_id']}/history")
    assert (refused.status, refused.body["code"]) == (404, "session_not_found")


def test_the_customer_withdraws_an_untaken_escalation_but_not_a_taken_one(api: Client, tenant: str) -> None:
    person, session_id = escalated_session(api, tenant)
    withdrawn = person.post(f"{API}/sessions/{session_id}/withdraw", {})
    assert (withdrawn.status, withdrawn.body["status"]) == (200, "active"), withdrawn.raw
    assert staff(api, tenant).get(f"{API}/agent/sessions?status=escalated").body == []

    again = person.post(f"{API}/sessions/{session_id}/escalate", {"reason": "Still need a person"})
    assert again.status == 200, again.raw
    staff(api, tenant).post(f"{API}/agent/sessions/{session_id}/messages", {"content": "Dana here."})
    refused = person.post(f"{API}/sessions/{session_id}/withdraw", {})
    assert (refused.status, refused.body["code"], refused.body["taken_by_name"]) == (
        409, "escalation_taken", "Dana Reyes"), refused.raw


@pytest.mark.parametrize("round_", range(3))
def test_people_taking_at_once_one_takes_the_others_are_told_who_and_the_customer_sees_one_marker(
        api: Client, db: Any, tenant: str, round_: int) -> None:
    person, session_id = escalated_session(api, tenant)
    people = [staff(api, tenant, user=f"agent-{i}", name=f"Agent {i}") for i in range(3)]
    answers = at_once([partial(who.post, f"{API}/agent/sessions/{session_id}/take", {}) for who in people])
    took = [i for i in range(len(people)) if answers[i].status == 200]
    assert len(took) == 1, [a.raw for a in answers]
    taker = f"Agent {took[0]}"
    assert answers[took[0]].body["taken_by_name"] == taker and answers[took[0]].body["status"] == "escalated"
    for i in set(range(len(people))) - set(took):
        assert (answers[i].status, answers[i].body["code"], answers[i].body["taken_by_name"]) == (
            409, "escalation_taken", taker), answers[i].raw
    again = people[took[0]].post(f"{API}/agent/sessions/{session_id}/take", {})
    assert (again.status, again.body["taken_by_name"]) == (200, taker), "taking it again changes nothing"

    history = person.get(f"{API}/sessions/{session_id}/history").body
    markers = [(m["handoff"], m["agent_name"]) for m in history["messages"] if m["role"] == "agent"]
    assert markers == [("joined", taker)], "one marker, and no reply: the person has not written yet"
    (entry,) = staff(api, tenant).get(f"{API}/agent/sessions?status=escalated").body
    assert entry["taken_by_name"] == taker
    withdraw = person.post(f"{API}/sessions/{session_id}/withdraw", {})
    assert (withdraw.status, withdraw.body["code"]) == (409, "escalation_taken"), "taken is taken, reply or not"
    assert_invariant(db, TABLE)


def test_take_answers_not_active_for_a_session_handed_back_and_the_waiting_list_shows_the_apps_context(
        api: Client, tenant: str) -> None:
    person = customer(api, tenant)
    created = person.post(f"{API}/sessions", {"session_type": "customer_support",
                                              "context": {"page": "/billing", "plan": "pro"}})
    session_id = created.body["id"]
    assert person.post(f"{API}/sessions/{session_id}/escalate", {"reason": "Billing"}).status == 200
    dana = staff(api, tenant)
    (entry,) = dana.get(f"{API}/agent/sessions?status=escalated").body
    assert entry["context"] == {"page": "/billing", "plan": "pro"}
    assert dana.post(f"{API}/agent/sessions/{session_id}/release", {"to": "ai"}).status == 200
    refused = dana.post(f"{API}/agent/sessions/{session_id}/take", {})
    assert (refused.status, refused.body["code"]) == (400, "session_not_active"), refused.raw


@pytest.mark.parametrize("round_", range(3))
def test_people_replying_at_once_all_replies_are_kept_in_order_and_the_session_is_taken_once(
        api: Client, db: Any, tenant: str, round_: int) -> None:
    person, session_id = escalated_session(api, tenant)
    people = [staff(api, tenant, user=f"agent-{i}", name=f"Agent {i}") for i in range(3)]
    answers = at_once([partial(who.post, f"{API}/agent/sessions/{session_id}/messages", {"content": f"reply {i}"})
                       for i, who in enumerate(people)])
    assert [a.status for a in answers] == [201] * len(people), [a.raw for a in answers]

    history = person.get(f"{API}/sessions/{session_id}/history").body
    agents = [m for m in history["messages"] if m["role"] == "agent"]
    joined = [m for m in agents if m["handoff"] == "joined"]
    taker = history["metadata"]["taken_by_name"]
    assert len(joined) == 1 and joined[0]["agent_name"] == taker, "taken once, by whoever got there first"
    assert agents[0] is joined[0], "the marker comes before any reply"
    assert sorted(m["content"] for m in agents[1:]) == [f"reply {i}" for i in range(len(people))]
    ids = [m["id"] for m in history["messages"]]
    assert ids == sorted(ids), "history is in the order the messages were written"
    assert history["metadata"]["message_count"] == 2, "a person's replies and markers take none of the customer's"
    session = db.get_item(TableName=TABLE, Key={"PK": {"S": f"SESSION#{session_id}"}, "SK": {"S": "SESSION"}})
    assert session["Item"]["agent_message_count"] == {"N": str(1 + len(people))}, "counted apart, marker too"
    (entry,) = staff(api, tenant).get(f"{API}/agent/sessions?status=escalated").body
    assert entry["taken_by_name"] == taker
    assert_invariant(db, TABLE)


def test_staff_replies_never_lock_the_customer_out_after_the_hand_back_only_their_own_messages_reach_the_limit(
        api: Client, db: Any, tenant: str) -> None:
    """Issue 26, R9: a limit of 6 once stood at 12 after a person's replies, refusing the customer at once."""
    db.put_item(TableName=TABLE, Item={"PK": {"S": f"TENANT#{tenant}"}, "SK": {"S": "CONFIG"},
                                       "max_messages_per_session": {"N": "6"}})
    person, session_id = escalated_session(api, tenant)  # a chat: 2 of the customer's 6
    kept = person.post(f"{API}/chat", {"message": "Hello?", "session_id": session_id})
    assert kept.body["status"] == "waiting_for_person", kept.raw  # 3
    dana = staff(api, tenant)
    for i in range(10):
        assert dana.post(f"{API}/agent/sessions/{session_id}/messages", {"content": f"reply {i}"}).status == 201
    assert dana.post(f"{API}/agent/sessions/{session_id}/release", {"to": "ai"}).body["status"] == "active"

    answer = person.post(f"{API}/chat", {"message": "Thanks! One more question", "session_id": session_id})
    assert answer.status == 200, answer.raw
    assert answer.body["status"] == "answered"  # 5
    refused = person.post(f"{API}/chat", {"message": "And another", "session_id": session_id})
    assert (refused.status, refused.body["code"], refused.body["limit"], refused.body["used"]) == (
        400, "session_message_limit_exceeded", 6, 5), refused.raw
    assert_invariant(db, TABLE)
