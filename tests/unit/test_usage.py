"""Monitoring: the scheduled rollup, GET /usage for admins, per-message feedback, and the rollup's metrics."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from conftest import Api, FakeClock, load_event
from test_round_trips import counting

from aichat.core.pricing import MICROS_PER_CENT

ADMIN = "[admin]"


def cents(micros: int) -> float:
    return micros / MICROS_PER_CENT


def seed_day(api: Api) -> dict[str, Any]:
    """A day of acme: three sessions by two users, ratings 5 and 2, one escalation; and one globex session."""
    a = api.chat("How do I reset a password?").body
    api.chat("And the admin one?", a["session_id"])
    api.chat("Thanks!", a["session_id"])
    b = api.chat("My invoice is wrong", user="user-2").body
    c = api.chat("Is the network down?", user="user-2").body
    api.invoke("submit_feedback", {"rating": 5}, session_id=a["session_id"])
    api.invoke("submit_feedback", {"rating": 2}, session_id=b["session_id"], user="user-2")
    api.invoke("escalate", {"reason": "billing dispute"}, session_id=b["session_id"], user="user-2")
    api.chat("Hello from globex", tenant="globex")
    return {"a": a["session_id"], "b": b["session_id"], "c": c["session_id"]}


def settled_cost_micros(api: Api, tenant: str, day: str) -> int:
    """The sum of the day's settled assistant messages, read message by message from the table."""
    total = 0
    client, table = api.services.store._db, api.services.settings.TABLE_NAME
    for session in api.services.usage_records.sessions_started_on(tenant, day):
        items = client.query(TableName=table, KeyConditionExpression="PK = :pk AND begins_with(SK, :m)",
                             ExpressionAttributeValues={":pk": {"S": f"SESSION#{session.id}"}, ":m": {"S": "MSG#"}},
                             )["Items"]
        total += sum(int(i["cost_micros"]["N"]) for i in items if "cost_micros" in i)
    return total


def test_the_rollup_equals_the_sum_of_the_days_settled_messages(api: Api) -> None:
    ids = seed_day(api)
    results = api.services.usage.roll_up("2026-11-24")
    acme = results["acme"]
    assert set(results) == {"acme", "globex"}
    assert acme["total_cost_micros"] == settled_cost_micros(api, "acme", "2026-11-24") > 0
    assert (acme["session_count"], acme["total_messages"]) == (3, 10)
    assert acme["ratings"] == {"1": 0, "2": 1, "3": 0, "4": 0, "5": 1}
    assert acme["escalations"] == 1
    top = acme["most_expensive_sessions"]
    assert top[0]["id"] == ids["a"], "the three-message session cost the most"
    assert [s["total_cost_micros"] for s in top] == sorted((s["total_cost_micros"] for s in top), reverse=True)
    assert results["globex"]["session_count"] == 1


def test_running_the_rollup_twice_gives_the_same_result(api: Api) -> None:
    seed_day(api)
    first = api.services.usage.roll_up("2026-11-24")
    stored_first = api.services.usage_records.rollup("acme", "2026-11-24")
    second = api.services.usage.roll_up("2026-11-24")
    assert first == second
    assert api.services.usage_records.rollup("acme", "2026-11-24") == stored_first == first["acme"]


def test_the_rollup_reads_through_keys_and_indexes_never_a_scan(api: Api, dynamodb: Any) -> None:
    seed_day(api)
    with counting(dynamodb, "dynamodb") as calls:
        api.services.usage.roll_up("2026-11-24")
    assert "Scan" not in calls
    # One Query for the active tenants; per tenant: its counters, its sessions of the day, its rollup item.
    assert calls == Counter({"Query": 3, "GetItem": 2, "PutItem": 2})


def test_each_side_of_midnight_rolls_up_into_its_own_day(api: Api, clock: FakeClock) -> None:
    clock.now = datetime(2026, 11, 24, 23, 59, 30, tzinfo=UTC)
    late = api.chat("late question").body
    clock.now = datetime(2026, 11, 25, 0, 0, 30, tzinfo=UTC)
    early = api.chat("early question").body
    day1, day2 = api.services.usage.roll_up("2026-11-24"), api.services.usage.roll_up("2026-11-25")
    assert day1["acme"]["total_cost_micros"] == round(late["metadata"]["cost_cents"] * MICROS_PER_CENT)
    assert day2["acme"]["total_cost_micros"] == round(early["metadata"]["cost_cents"] * MICROS_PER_CENT)
    assert [s["id"] for s in day2["acme"]["most_expensive_sessions"]] == [early["session_id"]]


def test_the_final_pass_after_midnight_rolls_up_yesterday(api: Api, clock: FakeClock, capsys: Any) -> None:
    api.chat("yesterday's question")
    clock.advance(days=1)
    result = api._module("cost_rollup").lambda_handler(load_event("cost_rollup_final"), None)
    assert result == {"day": "2026-11-24", "tenants": 1}
    hourly = api._module("cost_rollup").lambda_handler(load_event("cost_rollup"), None)
    assert hourly == {"day": "2026-11-25", "tenants": 0}
    capsys.readouterr()


def test_the_rollup_publishes_daily_totals_per_tenant_as_emf_without_user_ids(api: Api, capsys: Any) -> None:
    seed_day(api)
    capsys.readouterr()
    api._module("cost_rollup").lambda_handler({"day": "2026-11-24"}, None)
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    by_tenant = {r["tenant"]: r for r in records}
    assert set(by_tenant) == {"acme", "globex"}
    acme = by_tenant["acme"]
    assert (acme["DailySessions"], acme["DailyMessages"], acme["DailyEscalations"]) == ([3.0], [10.0], [1.0])
    assert acme["DailyCostCents"] == [cents(settled_cost_micros(api, "acme", "2026-11-24"))]
    dimensions = acme["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0]
    assert set(dimensions) == {"tenant", "service"}
    assert "user-1" not in json.dumps(records) and "user-2" not in json.dumps(records)


# --- GET /usage -----------------------------------------------------------------------------------------------------


def test_usage_answers_the_guides_three_questions_live_for_today(api: Api) -> None:
    ids = seed_day(api)
    reply = api.invoke("get_usage", query={}, roles=ADMIN)
    assert reply.status == 200, reply.body
    u = reply.body
    assert (u["date"], u["tenant_id"], u["source"]) == ("2026-11-24", "acme", "live")
    # 1. Total AI usage cost today, with session and message counts.
    assert u["total_cost_cents"] == cents(settled_cost_micros(api, "acme", "2026-11-24"))
    assert (u["session_count"], u["total_messages"]) == (3, 10)
    # 2. User satisfaction ratings.
    assert u["ratings"] == {"1": 0, "2": 1, "3": 0, "4": 0, "5": 1}
    # 3. Most expensive sessions.
    top = u["most_expensive_sessions"]
    assert top[0]["id"] == ids["a"] and len(top) == 3
    assert set(top[0]) == {"id", "session_type", "status", "total_cost", "message_count", "user_rating", "created_at"}
    assert top[0]["message_count"] == 6 and top[0]["user_rating"] == 5
    assert u["escalations"] == 1


def test_usage_for_a_past_day_comes_from_the_rollup(api: Api, clock: FakeClock) -> None:
    seed_day(api)
    api.services.usage.roll_up("2026-11-24")
    clock.advance(days=2)
    reply = api.invoke("get_usage", query={"date": "2026-11-24"}, roles=ADMIN)
    assert reply.body["source"] == "rollup" and reply.body["session_count"] == 3


def test_usage_is_refused_to_a_user_without_the_admin_role(api: Api) -> None:
    reply = api.invoke("get_usage", query={}, roles="[support]")
    assert reply.status == 403 and reply.body["code"] == "forbidden"


def test_usage_shows_only_the_callers_tenant(api: Api) -> None:
    seed_day(api)
    globex = api.invoke("get_usage", query={}, roles=ADMIN, tenant="globex").body
    assert globex["tenant_id"] == "globex" and globex["session_count"] == 1
    assert globex["ratings"] == {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0} and globex["escalations"] == 0


@pytest.mark.parametrize("day", ["yesterday", "2026-13-01", "2026-11-30", "24/11/2026"])
def test_usage_for_a_bad_or_future_date_is_422_naming_date(api: Api, day: str) -> None:
    reply = api.invoke("get_usage", query={"date": day}, roles=ADMIN)
    assert reply.status == 422 and reply.body["field"] == "date"


# --- per-message feedback -----------------------------------------------------------------------------------------


def test_a_reply_rated_up_shows_in_history_and_in_the_days_figures(api: Api) -> None:
    chat = api.chat("hi").body
    sid, mid = chat["session_id"], chat["metadata"]["message_id"]
    reply = api.invoke("rate_message", {"rating": "up", "feedback": "Spot on"}, session_id=sid, message_id=mid)
    assert reply.status == 200, reply.body
    assert (reply.body["id"], reply.body["feedback"], reply.body["feedback_text"]) == (mid, "up", "Spot on")
    history = api.invoke("get_history", session_id=sid).body["messages"]
    assert [(m["role"], m["feedback"]) for m in history] == [("user", None), ("assistant", "up")]
    assert api.services.usage.roll_up("2026-11-24")["acme"]["message_feedback"] == {"up": 1, "down": 0}


def test_changing_a_rating_moves_the_count_and_rating_again_the_same_counts_once(api: Api) -> None:
    chat = api.chat("hi").body
    sid, mid = chat["session_id"], chat["metadata"]["message_id"]
    for rating in ("up", "down", "down"):
        assert api.invoke("rate_message", {"rating": rating}, session_id=sid, message_id=mid).status == 200
    assert api.services.usage.roll_up("2026-11-24")["acme"]["message_feedback"] == {"up": 0, "down": 1}


def test_rating_a_message_changes_no_other_item(api: Api, dynamodb: Any) -> None:
    chat = api.chat("hi").body
    with counting(dynamodb, "dynamodb") as calls:
        api.invoke("rate_message", {"rating": "down"}, session_id=chat["session_id"],
                   message_id=chat["metadata"]["message_id"])
    session = api.invoke("get_history", session_id=chat["session_id"]).body["metadata"]
    assert session["user_rating"] is None and session["message_count"] == 2
    assert calls["TransactWriteItems"] == 1 and calls["PutItem"] == 0


@pytest.mark.parametrize("who", [{"user": "mallory"}, {"tenant": "globex"}])
def test_someone_elses_message_or_a_user_message_cannot_be_rated(api: Api, who: dict[str, str]) -> None:
    chat = api.chat("hi").body
    sid, mid = chat["session_id"], chat["metadata"]["message_id"]
    user_message = api.invoke("get_history", session_id=sid).body["messages"][0]["id"]
    other = api.invoke("rate_message", {"rating": "up"}, session_id=sid, message_id=mid, **who)
    own_question = api.invoke("rate_message", {"rating": "up"}, session_id=sid, message_id=user_message)
    assert (other.status, other.body["code"]) == (404, "message_not_found")
    assert (own_question.status, own_question.body["code"]) == (404, "message_not_found")


def test_a_rating_other_than_up_or_down_is_422(api: Api) -> None:
    chat = api.chat("hi").body
    reply = api.invoke("rate_message", {"rating": 5}, session_id=chat["session_id"],
                       message_id=chat["metadata"]["message_id"])
    assert reply.status == 422 and reply.body["field"] == "rating"


# --- chat metrics -------------------------------------------------------------------------------------------------


def emf_records(capsys: Any) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]


def test_a_chat_turn_publishes_tokens_cost_and_latency_by_provider_and_model(api: Api, capsys: Any) -> None:
    capsys.readouterr()
    reply = api.chat("hello").body
    (record,) = emf_records(capsys)
    assert (record["provider"], record["model"]) == ("offline", "offline-1")
    assert record["ChatTokens"] == [float(reply["metadata"]["tokens"])]
    assert record["ChatCostCents"] == [reply["metadata"]["cost_cents"]]
    assert record["ModelLatency"][0] >= 0
    assert "user-1" not in json.dumps(record) and reply["session_id"] not in json.dumps(record)


def test_a_refused_chat_publishes_the_limit_that_refused_it(api: Api, capsys: Any) -> None:
    api.services.store._db.put_item(TableName="ai-chat", Item={
        "PK": {"S": "TENANT#acme"}, "SK": {"S": "CONFIG"}, "daily_cost_limit_cents": {"N": "0"}})
    capsys.readouterr()
    assert api.chat("hello").status == 400
    (record,) = emf_records(capsys)
    assert record["limit"] == "daily_cost_limit_exceeded" and record["ChatRefused"] == [1.0]


def test_a_failed_model_call_publishes_a_provider_error(api: Api, provider: Any, capsys: Any) -> None:
    from aichat.core.errors import ProviderTimeout

    provider.fail_next(ProviderTimeout("The model did not answer in time."))
    capsys.readouterr()
    assert api.chat("hello").status == 504
    (record,) = emf_records(capsys)
    assert (record["provider"], record["error"], record["ProviderErrors"]) == ("offline", "provider_timeout", [1.0])


def test_an_invalid_request_publishes_nothing(api: Api, capsys: Any) -> None:
    capsys.readouterr()
    assert api.invoke("chat", {"message": ""}).status == 422
    assert emf_records(capsys) == []
