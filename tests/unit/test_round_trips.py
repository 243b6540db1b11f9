"""DynamoDB round trips per request, counted with botocore's event hooks on the very client the store uses."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from conftest import Api
from counters import counting

from aichat.core.settings import Settings


@pytest.fixture
def settings(topic_arn: str) -> Settings:
    """As deployed: the tenant's config item is cached for a minute per container."""
    return Settings(TABLE_NAME="ai-chat", ESCALATION_TOPIC_ARN=topic_arn, TENANT_CONFIG_TTL_SECONDS=60)


def warm(api: Api) -> str:
    """A session to work on, with the tenant's config already read (it is cached per container)."""
    return str(api.chat("warm up").body["session_id"])


def test_chat_in_a_session_whose_last_turn_ran_here_takes_two_round_trips_and_reads_nothing(api: Api,
                                                                                          dynamodb: Any) -> None:
    session_id = warm(api)
    with counting(dynamodb, "dynamodb") as calls:
        assert api.chat("again", session_id).status == 200
    assert calls == Counter({"TransactWriteItems": 2})


def test_chat_in_a_session_this_container_kept_nothing_of_reads_its_history_beside_the_reserve(
        api: Api, dynamodb: Any) -> None:
    session_id = warm(api)
    assert api.invoke("escalate", {"reason": "a person"}, session_id=session_id).status == 200
    assert api.invoke("agent_release", {"to": "ai"}, session_id=session_id, user="sam",
                      roles="[support]").status == 200
    with counting(dynamodb, "dynamodb") as calls:
        assert api.chat("again", session_id).status == 200
    # A person's marker moved the session's messages on: the kept copy is refused, then the session is read.
    assert calls == Counter({"Query": 1, "TransactWriteItems": 3})


def test_chat_that_starts_a_session_takes_two_round_trips(api: Api, dynamodb: Any) -> None:
    warm(api)
    with counting(dynamodb, "dynamodb") as calls:
        assert api.chat("new").status == 200
    assert calls == Counter({"TransactWriteItems": 2})


def test_the_tenant_config_is_read_once_per_container_not_per_request(api: Api, dynamodb: Any) -> None:
    with counting(dynamodb, "dynamodb") as calls:
        api.chat("first")
        api.chat("second")
    assert calls["GetItem"] == 1


def test_each_session_route_takes_one_round_trip(api: Api, dynamodb: Any) -> None:
    session_id = warm(api)
    routes = {
        "create_session": dict(body={"session_type": "analytics"}),
        "get_history": dict(session_id=session_id),
        "list_sessions": dict(),
        "submit_feedback": dict(body={"rating": 4}, session_id=session_id),
    }
    for name, kwargs in routes.items():
        with counting(dynamodb, "dynamodb") as calls:
            reply = api.invoke(name, **kwargs)  # type: ignore[arg-type]
        assert reply.status in (200, 201), (name, reply.body)
        assert sum(calls.values()) == 1, (name, calls)


def test_a_later_history_page_takes_two_round_trips(api: Api, dynamodb: Any) -> None:
    session_id = warm(api)
    api.chat("again", session_id)
    first = api.invoke("get_history", session_id=session_id, query={"limit": "2"}).body
    assert first["next_cursor"]
    with counting(dynamodb, "dynamodb") as calls:
        reply = api.invoke("get_history", session_id=session_id, query={"limit": "2", "cursor": first["next_cursor"]})
    assert reply.status == 200, reply.body
    # The page's Query starts before the cursor, so it no longer reaches the session item: a GetItem reads it.
    assert calls == Counter({"Query": 1, "GetItem": 1})


def test_usage_takes_two_round_trips_today_one_for_a_rolled_up_day_three_without_a_rollup(
        api: Api, dynamodb: Any, clock: Any) -> None:
    warm(api)
    day = clock().date().isoformat()
    with counting(dynamodb, "dynamodb") as today:
        assert api.invoke("get_usage", query={}, roles="[admin]").status == 200
    clock.advance(days=1)
    with counting(dynamodb, "dynamodb") as without_rollup:
        assert api.invoke("get_usage", query={"date": day}, roles="[admin]").body["source"] == "live"
    api.services.usage.roll_up(day)
    with counting(dynamodb, "dynamodb") as rolled_up:
        assert api.invoke("get_usage", query={"date": day}, roles="[admin]").body["source"] == "rollup"
    assert today == Counter({"GetItem": 1, "Query": 1})
    assert without_rollup == Counter({"GetItem": 2, "Query": 1})
    assert rolled_up == Counter({"GetItem": 1})


def test_escalate_takes_two_round_trips_one_sns_publish_and_one_put_events(
        api: Api, dynamodb: Any, sns: Any, eventbridge: Any) -> None:
    session_id = warm(api)
    with (counting(dynamodb, "dynamodb") as db_calls, counting(sns, "sns") as sns_calls,
          counting(eventbridge, "events") as event_calls):
        assert api.invoke("escalate", {"reason": "a person, please"}, session_id=session_id).status == 200
    # The session read, then its status and its entry in the tenant's waiting list in one transaction.
    assert db_calls == Counter({"GetItem": 1, "TransactWriteItems": 1})
    assert sns_calls == Counter({"Publish": 1})
    assert event_calls == Counter({"PutEvents": 1}), "the SessionEscalated event"


def test_the_handoff_routes_take_two_round_trips_each(api: Api, dynamodb: Any) -> None:
    session_id = warm(api)
    assert api.invoke("escalate", {"reason": "a person, please"}, session_id=session_id).status == 200
    with counting(dynamodb, "dynamodb") as withdraw_calls:
        assert api.invoke("withdraw_escalation", {}, session_id=session_id).status == 200
    assert api.invoke("escalate", {"reason": "again"}, session_id=session_id).status == 200
    support = {"user": "sam", "roles": "[support]"}
    with counting(dynamodb, "dynamodb") as reply_calls:
        assert api.invoke("agent_reply", {"content": "Sam here."}, session_id=session_id, **support).status == 201
    with counting(dynamodb, "dynamodb") as release_calls:
        assert api.invoke("agent_release", {"to": "ai"}, session_id=session_id, **support).status == 200
    # The session read, then one transaction: its status, its waiting-list entry and any message or marker.
    for calls in (withdraw_calls, reply_calls, release_calls):
        assert calls == Counter({"GetItem": 1, "TransactWriteItems": 1})
