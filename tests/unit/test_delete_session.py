"""DELETE /sessions/{id}: the owner deletes a session and everything stored under it; nobody else can, a turn in
flight holds it off, the money spent stays counted, and a delete cut short is finished by a retry or the sweeper."""

from __future__ import annotations

from typing import Any

from conftest import Api, FakeClock, ScriptedProvider, error_code
from counters import day_counters

from aichat import wiring
from aichat.core.identity import Identity
from aichat.core.models import ChatRequest
from aichat.table import keys
from aichat.table.deletions import SWEEP_AFTER_SECONDS, SessionDeletions

DAY = "2026-11-24"
TABLE = "ai-chat"
OWNER = Identity(user_id="user-1", tenant_id="acme", roles=frozenset())
STAFF = "[support]"


def session_items(dynamodb: Any, session_id: str) -> list[dict[str, Any]]:
    """Every item in the session's partition, read consistently."""
    return dynamodb.query(TableName=TABLE, ConsistentRead=True, KeyConditionExpression="PK = :pk",
                          ExpressionAttributeValues={":pk": {"S": keys.session_pk(session_id)}})["Items"]


def talked(api: Api, turns: int = 2, **kw: Any) -> str:
    session_id = str(api.chat("My router blinks red", **kw).body["session_id"])
    for i in range(turns - 1):
        assert api.chat(f"still red {i}", session_id, **kw).status == 200
    return session_id


def test_the_owner_deletes_a_session_and_every_route_then_answers_404(api: Api, dynamodb: Any) -> None:
    session_id = talked(api)
    reply_id = api.invoke("get_history", session_id=session_id).body["messages"][-1]["id"]

    deleted = api.invoke("delete_session", session_id=session_id)

    assert (deleted.status, deleted.body) == (204, None)
    assert session_items(dynamodb, session_id) == [], "the session and its messages are gone"
    assert error_code(api.invoke("get_history", session_id=session_id)) == "session_not_found"
    assert error_code(api.invoke("submit_feedback", {"rating": 5}, session_id=session_id)) == "session_not_found"
    assert error_code(api.invoke("rate_message", {"rating": "up"}, session_id=session_id,
                                 message_id=reply_id)) == "message_not_found"
    assert error_code(api.invoke("escalate", {"reason": "help"}, session_id=session_id)) == "session_not_found"
    assert error_code(api.invoke("withdraw_escalation", {}, session_id=session_id)) == "session_not_found"
    assert error_code(api.invoke("stop_reply", {}, session_id=session_id)) == "session_not_found"
    assert error_code(api.chat("and now?", session_id)) == "session_not_found"
    assert error_code(api.invoke("delete_session", session_id=session_id)) == "session_not_found"
    assert session_id not in [s["id"] for s in api.invoke("list_sessions").body]
    assert session_items(dynamodb, session_id) == [], "no refused write left a stray item behind"


def test_someone_elses_session_is_not_found_and_stays_whole(api: Api, dynamodb: Any) -> None:
    session_id = talked(api)
    before = session_items(dynamodb, session_id)
    for who in ({"user": "mallory"}, {"tenant": "globex"}, {"user": "user-1", "tenant": "globex"}):
        assert error_code(api.invoke("delete_session", session_id=session_id, **who)) == "session_not_found", who
    assert error_code(api.invoke("delete_session", session_id="01JD0000000000000000000009")) == "session_not_found"
    assert session_items(dynamodb, session_id) == before
    assert api.invoke("get_history", session_id=session_id).status == 200


def test_money_spent_stays_counted_in_the_days_figures(api: Api, dynamodb: Any) -> None:
    session_id = talked(api, turns=3)
    tenant, user = day_counters(dynamodb, "acme", DAY), day_counters(dynamodb, "acme", DAY, user="user-1")
    assert tenant["cost_micros"] > 0
    assert api.invoke("delete_session", session_id=session_id).status == 204
    assert day_counters(dynamodb, "acme", DAY) == tenant
    assert day_counters(dynamodb, "acme", DAY, user="user-1") == user


def test_an_escalated_session_leaves_the_staff_waiting_list(api: Api) -> None:
    session_id = talked(api, turns=1)
    assert api.invoke("escalate", {"reason": "Billing"}, session_id=session_id).status == 200
    waiting = api.invoke("agent_list_sessions", user="sam", roles=STAFF).body
    assert session_id in [s["session_id"] for s in waiting]

    assert api.invoke("delete_session", session_id=session_id).status == 204

    assert session_id not in [s["session_id"] for s in api.invoke("agent_list_sessions", user="sam",
                                                                   roles=STAFF).body]
    assert error_code(api.invoke("agent_get_history", session_id=session_id, user="sam",
                                 roles=STAFF)) == "session_not_found"
    assert error_code(api.invoke("agent_reply", {"content": "Hi"}, session_id=session_id, user="sam",
                                 roles=STAFF)) == "session_not_found"


def test_while_a_reply_is_being_written_the_delete_answers_409_and_changes_nothing(
        api: Api, provider: ScriptedProvider, dynamodb: Any) -> None:
    session_id = talked(api, turns=1)
    during: list[Any] = []
    provider.before_reply = lambda: during.append(api.invoke("delete_session", session_id=session_id))

    answered = api.chat("one more", session_id)

    assert answered.status == 200, "the turn went on and settled"
    assert [(r.status, r.body["code"]) for r in during] == [(409, "turn_in_progress")]
    assert len(api.invoke("get_history", session_id=session_id).body["messages"]) == 4
    provider.before_reply = None
    assert api.invoke("delete_session", session_id=session_id).status == 204, "once the turn ended it deletes"
    assert session_items(dynamodb, session_id) == []


def test_a_deleted_turns_idempotency_key_claim_goes_with_it(services: wiring.Services, api: Api,
                                                             dynamodb: Any) -> None:
    first = services.chat.send(OWNER, ChatRequest(message="keyed question"), None, idempotency_key="key-1")
    claim = {"PK": {"S": keys.turn_key_pk("acme", "user-1", "key-1")}, "SK": {"S": keys.TURN_KEY_SK}}
    assert "Item" in dynamodb.get_item(TableName=TABLE, Key=claim)

    assert api.invoke("delete_session", session_id=first.session_id).status == 204

    assert "Item" not in dynamodb.get_item(TableName=TABLE, Key=claim), "the key no longer names a deleted turn"


def test_a_delete_cut_short_reads_as_gone_and_a_retry_or_the_sweeper_finishes_it(
        services: wiring.Services, api: Api, dynamodb: Any, clock: FakeClock) -> None:
    by_retry, by_sweeper = talked(api), talked(api)
    deletions = SessionDeletions(dynamodb, TABLE)
    for session_id in (by_retry, by_sweeper):
        deletions._tombstone(session_id, OWNER, clock().timestamp())  # the function killed right after its first write

    for session_id in (by_retry, by_sweeper):
        assert error_code(api.invoke("get_history", session_id=session_id)) == "session_not_found"
        assert error_code(api.chat("hello?", session_id)) == "session_not_found"
        assert error_code(api.invoke("delete_session", session_id=session_id, user="mallory")) == "session_not_found"
    assert {by_retry, by_sweeper}.isdisjoint(s["id"] for s in api.invoke("list_sessions").body)

    assert api.invoke("delete_session", session_id=by_retry).status == 204
    assert session_items(dynamodb, by_retry) == []

    assert services.sweep_turns().deletions_finished == 0, "a delete may still be under way in its request"
    clock.advance(seconds=SWEEP_AFTER_SECONDS + 1)
    assert services.sweep_turns().deletions_finished == 1
    assert session_items(dynamodb, by_sweeper) == []
