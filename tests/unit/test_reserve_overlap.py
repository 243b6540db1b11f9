"""A turn of an existing session reads its history while it reserves (aichat/turn/overlap.py): one round trip before
the model; topped up to the exact worst case when the overlap's amount is less; reserved again at the exact amount
when the overlap's is refused; and a refusal leaves nothing behind. moto in-process; DynamoDB Local runs the same
path under real concurrency (tests/integration, the contract tests)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
from conftest import FakeClock, ScriptedProvider
from counters import day_counters

from aichat import wiring
from aichat.core.errors import SessionCostLimitExceeded
from aichat.core.identity import Identity
from aichat.core.models import ChatRequest, CreateSessionRequest
from aichat.core.pricing import PriceTable
from aichat.core.settings import Settings
from aichat.table import keys

ALICE = Identity(user_id="alice", tenant_id="acme", roles=frozenset())
DAY = "2026-11-24"  # the clock fixture's


def build(settings: Settings, dynamodb: Any, provider: ScriptedProvider, clock: FakeClock,
          **changes: Any) -> wiring.Services:
    """The services of a container that keeps no session's context, so each turn of an existing session reads it
    (as any turn does in a container other than the one its session's last turn ran in)."""
    return wiring.build(settings.model_copy(update={"CONTEXT_CACHE_SESSIONS": 0, **changes}), dynamodb=dynamodb,
                        providers={"offline": provider}, clock=clock)


def exact_worst_case(provider: ScriptedProvider, settings: Settings) -> int:
    """The worst case of the last request the model was sent, as the exact reserve prices it."""
    return PriceTable().worst_case_micros("offline-1", provider.history[-1].input_token_bound(), settings.MAX_TOKENS)


@contextmanager
def hooked(client: Any, hooks: dict[str, Any]) -> Iterator[Counter[str]]:
    """botocore's event hooks on the store's client (`before-call.dynamodb.Query`: fn), and every call counted."""
    calls: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    registered = [("before-call.dynamodb", count), *hooks.items()]
    for event, hook in registered:
        client.meta.events.register(event, hook)
    try:
        yield calls
    finally:
        for event, hook in registered:
            client.meta.events.unregister(event, hook)


def pending_reservations(dynamodb: Any, session_id: str) -> list[int]:
    rows = dynamodb.query(TableName="ai-chat", KeyConditionExpression="PK = :pk",
                          ExpressionAttributeValues={":pk": {"S": keys.session_pk(session_id)}},
                          ConsistentRead=True)["Items"]
    return [int(r["reserved_micros"]["N"]) for r in rows if r.get("status", {}).get("S") == "pending"]


def test_the_history_query_and_the_reserve_are_in_flight_at_once(
        settings: Settings, dynamodb: Any, provider: ScriptedProvider, clock: FakeClock) -> None:
    services = build(settings, dynamodb, provider, clock)
    session_id = services.chat.send(ALICE, ChatRequest(message="first")).session_id
    started = {"Query": threading.Event(), "TransactWriteItems": threading.Event()}
    met: list[str] = []

    def meet(mine: str, other: str) -> Any:
        def hook(**_: Any) -> None:
            started[mine].set()
            # Sequential calls would wait here for the whole timeout: the other starts only after this one ends.
            if started[other].wait(timeout=5):
                met.append(mine)
        return hook

    with hooked(dynamodb, {"before-call.dynamodb.Query": meet("Query", "TransactWriteItems"),
                           "before-call.dynamodb.TransactWriteItems": meet("TransactWriteItems", "Query")}) as calls:
        services.chat.send(ALICE, ChatRequest(message="second", session_id=session_id))
    assert sorted(met[:2]) == ["Query", "TransactWriteItems"]
    assert (calls["Query"], calls["TransactWriteItems"]) == (1, 2)  # the history; the reserve, then the settle


def test_a_query_that_reads_after_the_reserve_sends_the_model_the_history_without_the_turns_own_message(
        settings: Settings, dynamodb: Any, provider: ScriptedProvider, clock: FakeClock) -> None:
    services = build(settings, dynamodb, provider, clock, MAX_CONTEXT_MESSAGES=2)
    session_id = services.chat.send(ALICE, ChatRequest(message="one")).session_id
    services.chat.send(ALICE, ChatRequest(message="two", session_id=session_id))
    reserved = threading.Event()

    def after_reserve(**_: Any) -> None:
        reserved.set()

    def query_after_the_reserve(**_: Any) -> None:
        assert reserved.wait(timeout=5), "the reserve did not run while the history was read"

    with hooked(dynamodb, {"after-call.dynamodb.TransactWriteItems": after_reserve,
                           "before-call.dynamodb.Query": query_after_the_reserve}):
        services.chat.send(ALICE, ChatRequest(message="three", session_id=session_id))
    sent = [(turn.role, turn.content) for turn in provider.history[-1].messages]
    assert [content for role, content in sent if role == "user"] == ["two", "three"]
    assert len(sent) == 3  # the newest two stored messages (the question "two" and its reply), then "three"


def test_a_history_larger_than_the_overlaps_amount_is_topped_up_to_the_exact_worst_case_before_the_model(
        settings: Settings, dynamodb: Any, provider: ScriptedProvider, clock: FakeClock) -> None:
    services = build(settings, dynamodb, provider, clock, OVERLAP_RESERVE_INPUT_TOKENS=10)
    session_id = services.chat.send(ALICE, ChatRequest(message="first")).session_id
    held: list[list[int]] = []
    provider.before_reply = lambda: held.append(pending_reservations(dynamodb, session_id))
    with hooked(dynamodb, {}) as calls:
        reply = services.chat.send(ALICE, ChatRequest(message="second", session_id=session_id))
    exact = exact_worst_case(provider, settings)
    assert exact > PriceTable().worst_case_micros("offline-1", 10, settings.MAX_TOKENS)
    assert held == [[exact]]  # while the model answered, the reservation held the exact worst case
    assert calls["TransactWriteItems"] == 3  # reserve, top-up, settle
    tenant = day_counters(dynamodb, "acme", DAY)
    assert tenant["cost_micros"] == services.store.session(session_id, ALICE).total_cost_micros
    assert reply.metadata.cost_cents > 0


def test_a_turn_the_overlaps_amount_does_not_fit_is_reserved_again_at_its_exact_amount_and_answered(
        settings: Settings, dynamodb: Any, provider: ScriptedProvider, clock: FakeClock) -> None:
    # The overlap reserves 20,000 micro-USD (19,000 input tokens and 500 output at offline-1's prices), the whole
    # session limit, so after the first turn's cost it cannot fit; the exact worst case, far less, does.
    services = build(settings, dynamodb, provider, clock, OVERLAP_RESERVE_INPUT_TOKENS=19_000,
                     SESSION_COST_LIMIT_CENTS=Decimal(2))
    session_id = services.chat.send(ALICE, ChatRequest(message="first")).session_id
    with hooked(dynamodb, {}) as calls:
        reply = services.chat.send(ALICE, ChatRequest(message="second", session_id=session_id))
    assert reply.message.startswith("(offline model)")
    assert calls["TransactWriteItems"] == 3  # the refused overlap, the exact reserve, the settle
    session = services.store.session(session_id, ALICE)
    assert session.message_count == 4
    assert day_counters(dynamodb, "acme", DAY)["cost_micros"] == session.total_cost_micros


def test_a_top_up_the_budget_refuses_is_refused_and_leaves_no_message_no_charge_and_no_slot(
        settings: Settings, dynamodb: Any, provider: ScriptedProvider, clock: FakeClock) -> None:
    probe = build(settings, dynamodb, provider, clock)
    probe.chat.send(ALICE, ChatRequest(message="hello"))
    exact = exact_worst_case(provider, settings)  # a first message "hello": the same system prompt and tools
    # A session limit just under the exact worst case, and an overlap amount well under that.
    services = build(settings, dynamodb, provider, clock, OVERLAP_RESERVE_INPUT_TOKENS=10,
                     SESSION_COST_LIMIT_CENTS=Decimal(exact - 1) / 10_000)
    session_id = services.sessions.create(ALICE, CreateSessionRequest()).id
    before = day_counters(dynamodb, "acme", DAY)
    with pytest.raises(SessionCostLimitExceeded):
        services.chat.send(ALICE, ChatRequest(message="hello", session_id=session_id), idempotency_key="k-1")
    claim = {"PK": {"S": keys.turn_key_pk("acme", "alice", "k-1")}, "SK": {"S": keys.TURN_KEY_SK}}
    assert "Item" not in dynamodb.get_item(TableName="ai-chat", Key=claim, ConsistentRead=True)  # retried afresh
    session = services.store.session(session_id, ALICE)
    assert (session.message_count, session.total_cost_micros) == (0, 0)
    assert services.store.history(session_id, ALICE, 50, None)[1] == []
    assert day_counters(dynamodb, "acme", DAY) == before
    assert pending_reservations(dynamodb, session_id) == []


def test_an_escalated_session_keeps_the_message_for_a_person_and_charges_nothing(
        services: wiring.Services, dynamodb: Any, provider: ScriptedProvider) -> None:
    from aichat.core.models import EscalateRequest

    session_id = services.chat.send(ALICE, ChatRequest(message="first")).session_id
    services.sessions.escalate(ALICE, session_id, EscalateRequest(reason="a person, please"))
    asked = len(provider.history)
    cost = day_counters(dynamodb, "acme", DAY)["cost_micros"]
    reply = services.chat.send(ALICE, ChatRequest(message="are you there?", session_id=session_id))
    assert len(provider.history) == asked  # no model call
    assert reply.metadata.cost_cents == 0
    assert day_counters(dynamodb, "acme", DAY)["cost_micros"] == cost
    assert [m.content for m in services.store.history(session_id, ALICE, 50, None)[1]][-1] == "are you there?"
