"""Budgets under 50 requests in flight, on Amazon's DynamoDB Local (moto is not thread-safe, so never here)."""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest
from conftest import FakeClock, ScriptedProvider
from counters import day_counters

from aichat import wiring
from aichat.core.errors import ChatError, ProviderError
from aichat.core.identity import Identity
from aichat.core.models import ChatRequest, ChatResponse
from aichat.core.pricing import MICROS_PER_CENT
from aichat.core.settings import Settings
from aichat.table import keys

pytestmark = pytest.mark.dynamodb_local

IN_FLIGHT = 50
DAY = "2026-11-24"


def services_for(table: tuple[Any, str], provider: ScriptedProvider, clock: FakeClock, **settings: Any
                 ) -> wiring.Services:
    client, name = table
    base = Settings(TABLE_NAME=name, MAX_TOKENS=60, MAX_SESSIONS_PER_USER_PER_DAY=1000, **settings)
    return wiring.build(base, dynamodb=client, providers={"offline": provider}, clock=clock)


def slow_provider(seconds: float = 0.02) -> ScriptedProvider:
    """The offline model taking a moment, so that many requests hold reservations at once."""
    return ScriptedProvider(before_reply=lambda: time.sleep(seconds))


def run_concurrently(calls: list[Callable[[], ChatResponse]]) -> tuple[list[ChatResponse], list[ChatError]]:
    start = threading.Barrier(len(calls))

    def one(call: Callable[[], ChatResponse]) -> ChatResponse | ChatError:
        start.wait()
        try:
            return call()
        except ChatError as e:
            return e

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        results = list(pool.map(one, calls))
    return ([r for r in results if isinstance(r, ChatResponse)], [r for r in results if isinstance(r, ChatError)])


def tenant_counter(table: tuple[Any, str], tenant: str) -> dict[str, int]:
    client, name = table
    return day_counters(client, tenant, DAY, table=name)


def micros(reply: ChatResponse) -> int:
    return round(reply.metadata.cost_cents * MICROS_PER_CENT)


def one_chat_cost(table: tuple[Any, str], clock: FakeClock) -> int:
    """What one chat of the kind these tests send costs, measured on a throwaway tenant."""
    services = services_for(table, ScriptedProvider(), clock)
    probe = Identity(user_id="probe", tenant_id=f"probe-{uuid.uuid4().hex[:6]}", roles=frozenset())
    return micros(services.chat.send(probe, ChatRequest(message="question 00")))


def test_fifty_concurrent_chats_never_spend_past_the_tenants_daily_limit(table: tuple[Any, str],
                                                                         clock: FakeClock) -> None:
    limit_micros = 10 * one_chat_cost(table, clock)
    provider = slow_provider()
    services = services_for(table, provider, clock, DAILY_COST_LIMIT_CENTS=Decimal(limit_micros) / MICROS_PER_CENT)
    users = [Identity(user_id=f"user-{i:02d}", tenant_id="acme", roles=frozenset()) for i in range(IN_FLIGHT)]
    calls = [lambda u=u, i=i: services.chat.send(u, ChatRequest(message=f"question {i:02d}"))
             for i, u in enumerate(users)]

    ok, refused = run_concurrently(calls)

    spent = tenant_counter(table, "acme")["cost_micros"]
    assert 1 <= len(ok) <= 10 and len(ok) + len(refused) == IN_FLIGHT
    assert spent <= limit_micros
    assert spent == sum(micros(r) for r in ok), "the counter is the sum of the settled messages' costs"
    assert len(provider.history) == len(ok), "a refused request never reaches the model"
    for error in refused:
        body = error.body()
        assert (error.status, body["code"]) == (400, "daily_cost_limit_exceeded")
        assert body["limit"] == limit_micros / MICROS_PER_CENT and 0 <= body["used"] <= body["limit"]
    stored = [services.store.sessions_of(u, 10, None)[0] for u in users]
    assert sum(len(s) for s in stored) == len(ok), "a refused chat leaves no session behind"
    for reply in ok:
        owner = next(u for u, s in zip(users, stored, strict=True) if s and s[0].id == reply.session_id)
        history = services.sessions.history(owner, reply.session_id, 10, None).messages
        assert [m.role for m in history] == ["user", "assistant"], "no message lost"
        assert history[1].content == reply.message


def test_fifty_concurrent_chats_in_one_session_never_pass_its_cost_limit(table: tuple[Any, str],
                                                                         clock: FakeClock) -> None:
    limit_micros = 10 * one_chat_cost(table, clock) * 2
    services = services_for(table, slow_provider(), clock,
                            SESSION_COST_LIMIT_CENTS=Decimal(limit_micros) / MICROS_PER_CENT, MAX_CONTEXT_MESSAGES=0)
    alice = Identity(user_id="alice", tenant_id="acme", roles=frozenset())
    session_id = services.chat.send(alice, ChatRequest(message="question 00")).session_id
    calls = [lambda i=i: services.chat.send(alice, ChatRequest(message=f"question {i:02d}", session_id=session_id))
             for i in range(IN_FLIGHT)]

    ok, refused = run_concurrently(calls)

    session = services.store.session(session_id, alice)
    history = services.sessions.history(alice, session_id, 100, None).messages
    assert ok and refused and len(ok) + len(refused) == IN_FLIGHT
    assert session.total_cost_micros <= limit_micros
    assert session.total_cost_micros == sum(m.cost_micros for m in _stored(table, session_id))
    assert session.message_count == len(history) == 2 * (len(ok) + 1)
    assert {e.body()["code"] for e in refused} == {"session_cost_limit_exceeded"}
    assert tenant_counter(table, "acme")["cost_micros"] == session.total_cost_micros


def test_fifty_concurrent_chats_in_one_session_stop_exactly_at_its_message_limit(table: tuple[Any, str],
                                                                                 clock: FakeClock) -> None:
    services = services_for(table, slow_provider(), clock, MAX_MESSAGES_PER_SESSION=20)
    alice = Identity(user_id="alice", tenant_id="acme", roles=frozenset())
    session_id = services.sessions.create(alice, _create()).id
    calls = [lambda i=i: services.chat.send(alice, ChatRequest(message=f"m{i}", session_id=session_id))
             for i in range(IN_FLIGHT)]

    ok, refused = run_concurrently(calls)

    assert len(ok) == 10 and len(refused) == 40
    assert {(e.body()["code"], e.body()["limit"]) for e in refused} == {("session_message_limit_exceeded", 20)}
    assert services.store.session(session_id, alice).message_count == 20
    assert len(services.sessions.history(alice, session_id, 100, None).messages) == 20


def test_concurrent_provider_failures_release_their_reservations(table: tuple[Any, str], clock: FakeClock) -> None:
    provider = slow_provider()
    failures = itertools.cycle([False, False, True])
    lock = threading.Lock()

    def flaky() -> None:
        time.sleep(0.02)
        with lock:
            fail = next(failures)
        if fail:
            raise ProviderError("The model provider failed; try again.")

    provider.before_reply = flaky
    services = services_for(table, provider, clock)
    users = [Identity(user_id=f"u{i}", tenant_id="acme", roles=frozenset()) for i in range(30)]
    ok, failed = run_concurrently([lambda u=u: services.chat.send(u, ChatRequest(message="hi")) for u in users])

    assert len(failed) == 10 and {e.code for e in failed} == {"provider_error"}
    assert tenant_counter(table, "acme")["cost_micros"] == sum(micros(r) for r in ok)
    failed_messages = [m for u in users for s in services.store.sessions_of(u, 5, None)[0]
                       for m in services.sessions.history(u, s.id, 10, None).messages if m.status == "failed"]
    assert len(failed_messages) == 10, "each failed request keeps its user message, marked failed"


def _create() -> Any:
    from aichat.core.models import CreateSessionRequest

    return CreateSessionRequest()


def _stored(table: tuple[Any, str], session_id: str) -> list[Any]:
    from aichat.table.items import message_record

    client, name = table
    items = client.query(TableName=name, KeyConditionExpression="PK = :pk AND begins_with(SK, :m)",
                         ExpressionAttributeValues={":pk": {"S": keys.session_pk(session_id)},
                                                    ":m": {"S": keys.MESSAGE_PREFIX}}, ConsistentRead=True)["Items"]
    return [message_record(i) for i in items]
