"""Budgets in the layer (moto in-process; the concurrent proofs run on DynamoDB Local in tests/integration)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from conftest import FakeClock, ScriptedProvider
from counters import day_counters

from aichat import wiring
from aichat.core.errors import (
    DailyCostLimitExceeded,
    DailySessionLimitExceeded,
    ProviderError,
    SessionCostLimitExceeded,
    SessionMessageLimitExceeded,
    UserDailyCostLimitExceeded,
)
from aichat.core.identity import Identity
from aichat.core.models import ChatRequest, CreateSessionRequest
from aichat.core.pricing import PriceTable, Usage
from aichat.core.settings import Settings
from aichat.table import keys

ALICE = Identity(user_id="alice", tenant_id="acme", roles=frozenset())
BOB = Identity(user_id="bob", tenant_id="acme", roles=frozenset())


def build(settings: Settings, dynamodb: Any, provider: ScriptedProvider, clock: FakeClock, **limits: Any
          ) -> wiring.Services:
    return wiring.build(settings.model_copy(update=limits), dynamodb=dynamodb, providers={"offline": provider},
                        clock=clock)


def counter(dynamodb: Any, tenant: str, day: str, user: str | None = None) -> dict[str, int]:
    return day_counters(dynamodb, tenant, day, user)


def test_a_ten_token_call_costs_what_the_price_table_says_not_zero() -> None:
    prices = PriceTable()
    cost = prices.cost_micros("gpt-4o-mini", Usage(input_tokens=5, output_tokens=5))
    # 5 x $0.15/M + 5 x $0.60/M = $0.00000375 = 3.75 micro-USD, rounded up.
    assert cost == 4
    assert prices.cost_micros("offline-1", Usage(input_tokens=5, output_tokens=5)) == 15


def test_a_model_without_a_price_is_a_configuration_error_naming_the_setting(settings: Settings,
                                                                           dynamodb: Any) -> None:
    from aichat.core.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="PRICES"):
        wiring.build(settings.model_copy(update={"LLM_MODEL": "mystery-model"}), dynamodb=dynamodb)


def test_the_tenant_counter_equals_the_sum_of_settled_message_costs(services: wiring.Services, dynamodb: Any) -> None:
    replies = [services.chat.send(ALICE, ChatRequest(message=f"question {i}")) for i in range(3)]
    replies.append(services.chat.send(BOB, ChatRequest(message="another")))
    micros = sum(round(r.metadata.cost_cents * 10_000) for r in replies)
    totals = counter(dynamodb, "acme", "2026-11-24")
    assert totals["cost_micros"] == micros > 0
    assert totals["messages"] == 8 and totals["sessions"] == 4
    assert totals["tokens"] == sum(r.metadata.tokens for r in replies)
    assert counter(dynamodb, "acme", "2026-11-24", "bob")["cost_micros"] == round(
        replies[-1].metadata.cost_cents * 10_000)


def test_a_tenant_over_its_daily_limit_is_refused_with_limit_and_used(settings: Settings, dynamodb: Any,
                                                                      provider: ScriptedProvider,
                                                                      clock: FakeClock) -> None:
    services = build(settings, dynamodb, provider, clock, DAILY_COST_LIMIT_CENTS=Decimal("0.5"))
    sent = 0
    with pytest.raises(DailyCostLimitExceeded) as refused:
        for _ in range(100):
            services.chat.send(ALICE, ChatRequest(message="hello there"))
            sent += 1
    assert 0 < sent < 100
    body = refused.value.body()
    assert body["code"] == "daily_cost_limit_exceeded" and body["limit"] == 0.5
    assert 0 < body["used"] <= 0.5
    assert counter(dynamodb, "acme", "2026-11-24")["cost_micros"] <= 5000
    assert len(provider.history) == sent, "a refused request never reaches the model"


def test_a_user_over_their_daily_limit_is_refused_while_others_go_on(settings: Settings, dynamodb: Any,
                                                                     provider: ScriptedProvider,
                                                                     clock: FakeClock) -> None:
    services = build(settings, dynamodb, provider, clock, USER_DAILY_COST_LIMIT_CENTS=Decimal("0.5"))
    with pytest.raises(UserDailyCostLimitExceeded):
        for _ in range(50):
            services.chat.send(ALICE, ChatRequest(message="hello"))
    assert services.chat.send(BOB, ChatRequest(message="hello")).metadata.cost_cents > 0


def test_a_session_over_its_cost_limit_is_refused_and_a_new_session_goes_on(settings: Settings, dynamodb: Any,
                                                                            provider: ScriptedProvider,
                                                                            clock: FakeClock) -> None:
    services = build(settings, dynamodb, provider, clock, SESSION_COST_LIMIT_CENTS=Decimal("0.6"))
    session_id = services.chat.send(ALICE, ChatRequest(message="hi")).session_id
    with pytest.raises(SessionCostLimitExceeded) as refused:
        for _ in range(50):
            services.chat.send(ALICE, ChatRequest(message="hi", session_id=session_id))
    assert refused.value.body()["limit"] == 0.6
    assert services.store.session(session_id, ALICE).total_cost_micros <= 6000
    services.chat.send(ALICE, ChatRequest(message="fresh start"))


def test_a_session_at_its_message_limit_is_refused(settings: Settings, dynamodb: Any, provider: ScriptedProvider,
                                                   clock: FakeClock) -> None:
    services = build(settings, dynamodb, provider, clock, MAX_MESSAGES_PER_SESSION=6)
    session_id = services.chat.send(ALICE, ChatRequest(message="1")).session_id
    services.chat.send(ALICE, ChatRequest(message="2", session_id=session_id))
    services.chat.send(ALICE, ChatRequest(message="3", session_id=session_id))
    with pytest.raises(SessionMessageLimitExceeded) as refused:
        services.chat.send(ALICE, ChatRequest(message="4", session_id=session_id))
    assert refused.value.body() | {"limit": 6, "used": 6} == refused.value.body()
    assert services.store.session(session_id, ALICE).message_count == 6


def test_the_sessions_per_user_per_day_limit_counts_new_sessions(settings: Settings, dynamodb: Any,
                                                                 provider: ScriptedProvider, clock: FakeClock) -> None:
    services = build(settings, dynamodb, provider, clock, MAX_SESSIONS_PER_USER_PER_DAY=2)
    services.sessions.create(ALICE, CreateSessionRequest())
    services.chat.send(ALICE, ChatRequest(message="starts the second"))
    with pytest.raises(DailySessionLimitExceeded):
        services.sessions.create(ALICE, CreateSessionRequest())
    with pytest.raises(DailySessionLimitExceeded):
        services.chat.send(ALICE, ChatRequest(message="a third"))
    assert len(services.store.sessions_of(ALICE, 10, None)[0]) == 2
    clock.advance(days=1)
    services.sessions.create(ALICE, CreateSessionRequest())


def test_a_provider_failure_releases_the_reservation_and_keeps_the_message_marked_failed(
        services: wiring.Services, dynamodb: Any, provider: ScriptedProvider) -> None:
    session_id = services.chat.send(ALICE, ChatRequest(message="works")).session_id
    before = counter(dynamodb, "acme", "2026-11-24")
    session_before = services.store.session(session_id, ALICE)
    provider.fail_next(ProviderError("The model provider failed; try again."))
    with pytest.raises(ProviderError):
        services.chat.send(ALICE, ChatRequest(message="this one fails", session_id=session_id))
    assert counter(dynamodb, "acme", "2026-11-24")["cost_micros"] == before["cost_micros"]
    after = services.store.session(session_id, ALICE)
    # The failed message keeps its slot (a session limited to N messages stores at most N); the reply's is given back.
    assert (after.total_cost_micros, after.message_count) == (session_before.total_cost_micros, 3)
    history = services.sessions.history(ALICE, session_id, 50, None).messages
    assert [(m.content, m.status) for m in history if m.role == "user"] == [("works", "ok"),
                                                                            ("this one fails", "failed")]
    services.chat.send(ALICE, ChatRequest(message="this one fails", session_id=session_id))
    assert [m.content for m in provider.history[-1].messages if m.role == "user"] == ["works", "this one fails"]


def test_counters_move_to_a_new_key_at_utc_midnight(services: wiring.Services, dynamodb: Any,
                                                    clock: FakeClock) -> None:
    from datetime import UTC, datetime

    clock.now = datetime(2026, 11, 24, 23, 59, 59, 500_000, tzinfo=UTC)
    session_id = services.chat.send(ALICE, ChatRequest(message="late")).session_id
    clock.now = datetime(2026, 11, 25, 0, 0, 0, 100_000, tzinfo=UTC)
    services.chat.send(ALICE, ChatRequest(message="early", session_id=session_id))
    day1, day2 = counter(dynamodb, "acme", "2026-11-24"), counter(dynamodb, "acme", "2026-11-25")
    assert day1["messages"] == 2 and day2["messages"] == 2
    assert day1["cost_micros"] > 0 and day2["cost_micros"] > 0
    assert day1["sessions"] == 1 and "sessions" not in day2


def test_a_tenant_config_item_overrides_the_daily_limit(services: wiring.Services, dynamodb: Any) -> None:
    dynamodb.put_item(TableName="ai-chat", Item={"PK": {"S": keys.tenant_pk("acme")}, "SK": {"S": keys.CONFIG_SK},
                                                 "daily_cost_limit_cents": {"N": "0.1"}})
    with pytest.raises(DailyCostLimitExceeded) as refused:
        for _ in range(20):
            services.chat.send(ALICE, ChatRequest(message="hi"))
    assert refused.value.body()["limit"] == 0.1
    other = Identity(user_id="carol", tenant_id="globex", roles=frozenset())
    for _ in range(3):
        services.chat.send(other, ChatRequest(message="hi"))


def test_a_request_whose_worst_case_exceeds_the_whole_limit_is_refused_before_any_write(
        settings: Settings, dynamodb: Any, provider: ScriptedProvider, clock: FakeClock) -> None:
    services = build(settings, dynamodb, provider, clock, SESSION_COST_LIMIT_CENTS=Decimal("0.01"))
    with pytest.raises(SessionCostLimitExceeded) as refused:
        services.chat.send(ALICE, ChatRequest(message="hi"))
    assert refused.value.body()["used"] == 0
    assert services.store.sessions_of(ALICE, 10, None)[0] == []
    assert counter(dynamodb, "acme", "2026-11-24") == {}
