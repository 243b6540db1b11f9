"""The turn ledger on moto: once the provider answers the turn is charged, a dead turn is swept once, and every
counter equals the settled costs plus the reservations still pending."""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError
from conftest import Api, FakeClock, ScriptedProvider
from fake_providers import FakeProviders, Scripted
from ledger_invariant import assert_invariant

from aichat import wiring
from aichat.core.budgets import BudgetRefused, Limits, chat_charges
from aichat.core.errors import ChatError, ProviderError
from aichat.core.identity import Identity
from aichat.core.ids import new_id
from aichat.core.models import ChatRequest
from aichat.core.pricing import MICROS_PER_CENT, Usage
from aichat.core.records import MessageRecord
from aichat.core.settings import Settings
from aichat.table import keys
from aichat.table.ledger import reservations

ALICE = Identity(user_id="alice", tenant_id="acme", roles=frozenset())
DAY = "2026-11-24"


def build(settings: Settings, dynamodb: Any, provider: ScriptedProvider, clock: FakeClock, **changes: Any
          ) -> wiring.Services:
    return wiring.build(settings.model_copy(update=changes), dynamodb=dynamodb, providers={"offline": provider},
                        clock=clock)


def table(dynamodb: Any) -> list[dict[str, Any]]:
    return list(dynamodb.scan(TableName="ai-chat", ConsistentRead=True)["Items"])


def num(item: dict[str, Any], name: str) -> int:
    return int(item[name]["N"]) if name in item else 0


def assert_ledger_balances(dynamodb: Any) -> None:
    """The ledger's invariant over the whole table (tests/ledger_invariant.py: the same check as the fault tests)."""
    assert_invariant(dynamodb, "ai-chat")


def statuses(services: wiring.Services, session_id: str) -> list[tuple[str, str]]:
    return [(m.role, m.status) for m in services.sessions.history(ALICE, session_id, 100, None).messages]


# --- once the provider answered, the turn is charged -------------------------------------------------------------


def test_a_reply_longer_than_max_tokens_allows_is_cut_in_proportion_flagged_and_charged_as_reported(
        settings: Settings, dynamodb: Any, provider: ScriptedProvider, clock: FakeClock) -> None:
    services = build(settings, dynamodb, provider, clock, MAX_TOKENS=100)
    provider.answer_next(lambda a: dataclasses.replace(a, text="word " * 1000,
                                                       usage=Usage(input_tokens=50, output_tokens=1000)))
    reply = services.chat.send(ALICE, ChatRequest(message="tell me everything"))
    assert reply.metadata.truncated and len(reply.message) == len("word " * 1000) // 10
    assert reply.metadata.output_tokens == 1000, "recorded as the provider reported it: that is the bill"
    stored = services.sessions.history(ALICE, reply.session_id, 10, None).messages[-1]
    assert stored.content == reply.message and stored.truncated
    assert_ledger_balances(dynamodb)


@pytest.mark.parametrize("stop_reason", ["length", "max_tokens"])  # OpenAI's word, Anthropic's
def test_a_reply_the_model_stopped_at_max_tokens_is_flagged_cut_short_and_one_it_finished_is_not(
        services: wiring.Services, provider: ScriptedProvider, stop_reason: str) -> None:
    provider.answer_next(lambda a: dataclasses.replace(a, stop_reason=stop_reason))
    cut = services.chat.send(ALICE, ChatRequest(message="a long story, please"))
    provider.answer_next(lambda a: dataclasses.replace(a, stop_reason="end_turn"))
    whole = services.chat.send(ALICE, ChatRequest(message="and a short one", session_id=cut.session_id))
    assert (cut.metadata.truncated, whole.metadata.truncated) == (True, False)
    stored = services.sessions.history(ALICE, cut.session_id, 10, None).messages
    assert [m.truncated for m in stored if m.role == "assistant"] == [True, False]


def test_a_reply_too_large_for_an_item_is_stored_cut_to_fit_not_refused(
        services: wiring.Services, dynamodb: Any, provider: ScriptedProvider) -> None:
    provider.answer_next(lambda a: dataclasses.replace(a, text="語" * 200_000))  # 600 KB of UTF-8
    reply = services.chat.send(ALICE, ChatRequest(message="a long one"))
    assert reply.metadata.truncated and len(reply.message.encode()) <= reservations.MAX_REPLY_BYTES
    assert statuses(services, reply.session_id) == [("user", "ok"), ("assistant", "ok")]
    assert_ledger_balances(dynamodb)


def test_a_reply_with_a_lone_surrogate_is_stored_with_a_replacement_character(
        services: wiring.Services, dynamodb: Any, provider: ScriptedProvider) -> None:
    provider.answer_next(lambda a: dataclasses.replace(a, text="broken \ud800 text"))
    reply = services.chat.send(ALICE, ChatRequest(message="hi"))
    assert reply.message == "broken \ufffd text"
    assert services.sessions.history(ALICE, reply.session_id, 10, None).messages[-1].content == reply.message


def test_usage_beyond_what_dynamodb_holds_is_clamped_flagged_and_refuses_every_later_turn(
        settings: Settings, dynamodb: Any, provider: ScriptedProvider, clock: FakeClock) -> None:
    services = build(settings, dynamodb, provider, clock)
    provider.answer_next(lambda a: dataclasses.replace(a, usage=Usage(input_tokens=10**40, output_tokens=10**40)))
    reply = services.chat.send(ALICE, ChatRequest(message="hi"))
    assert reply.metadata.output_tokens == reservations.MAX_RECORDED_TOKENS
    (answer,) = [i for i in table(dynamodb) if i.get("role", {}).get("S") == "assistant"]
    assert answer["over_reservation"] == {"BOOL": True}
    assert_ledger_balances(dynamodb)
    with pytest.raises(ChatError) as refused:
        services.chat.send(Identity(user_id="bob", tenant_id="acme", roles=frozenset()), ChatRequest(message="hi"))
    assert refused.value.code == "daily_cost_limit_exceeded"


def test_a_provider_that_ignores_max_tokens_is_charged_its_bill_flagged_logged_and_counted(
        services: wiring.Services, dynamodb: Any, provider: ScriptedProvider,
        capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    provider.answer_next(lambda a: dataclasses.replace(a, usage=Usage(input_tokens=40, output_tokens=50_000)))
    reply = services.chat.send(ALICE, ChatRequest(message="hi"))
    assert reply.metadata.cost_cents == (40 * 1 + 50_000 * 2) / MICROS_PER_CENT  # offline-1: $1 in, $2 out per M
    out = capsys.readouterr().out
    assert '"OverReservationCents"' in out and '"OverReservations"' in out
    assert any(r.levelname == "ERROR" and getattr(r, "model", None) == "offline-1"
               and getattr(r, "provider", None) == "offline" for r in caplog.records)
    assert_ledger_balances(dynamodb)


def test_a_settle_that_cannot_be_written_answers_503_and_leaves_the_turn_pending_for_the_sweeper(
        services: wiring.Services, dynamodb: Any, clock: FakeClock) -> None:
    session_id = services.chat.send(ALICE, ChatRequest(message="first")).session_id
    calls = {"n": 0}

    def database_gone_at_settle(model: Any, **_: Any) -> None:
        if model.name == "TransactWriteItems":
            calls["n"] += 1
            if calls["n"] == 2:  # the reserve went through; the settle finds DynamoDB gone
                raise EndpointConnectionError(endpoint_url="http://dynamodb")

    dynamodb.meta.events.register("before-call.dynamodb", database_gone_at_settle)
    try:
        with pytest.raises(ChatError) as failed:
            services.chat.send(ALICE, ChatRequest(message="second", session_id=session_id))
    finally:
        dynamodb.meta.events.unregister("before-call.dynamodb", database_gone_at_settle)
    assert (failed.value.status, failed.value.code) == (503, "storage_unavailable")
    assert statuses(services, session_id)[-1] == ("user", "pending"), "the message is kept from the first write"
    assert_ledger_balances(dynamodb)
    clock.advance(minutes=20)
    assert services.sweep_turns().released == 1
    assert statuses(services, session_id)[-1] == ("user", "failed")
    assert_ledger_balances(dynamodb)


# --- failures, deadlines and midnight ----------------------------------------------------------------------------


def test_failed_messages_count_so_a_session_never_stores_more_than_its_limit(
        settings: Settings, dynamodb: Any, provider: ScriptedProvider, clock: FakeClock) -> None:
    services = build(settings, dynamodb, provider, clock, MAX_MESSAGES_PER_SESSION=4)
    session_id = services.chat.send(ALICE, ChatRequest(message="ok")).session_id
    codes = []
    for i in range(10):
        provider.fail_next(ProviderError("The model provider failed; try again."))
        try:
            services.chat.send(ALICE, ChatRequest(message=f"fails {i}", session_id=session_id))
        except ChatError as e:
            codes.append(e.code)
    assert codes[:1] == ["provider_error"] and set(codes[1:]) == {"session_message_limit_exceeded"}
    assert len(statuses(services, session_id)) == 3 <= 4
    assert_ledger_balances(dynamodb)


def test_a_trickling_provider_is_cut_off_at_the_deadline_with_504_and_the_turn_released(
        topic_arn: str, dynamodb: Any, clock: FakeClock, fake: FakeProviders) -> None:
    settings = Settings(TABLE_NAME="ai-chat", ESCALATION_TOPIC_ARN=topic_arn, LLM_PROVIDER="openai",
                        OPENAI_API_KEY="sk-test", OPENAI_BASE_URL=fake.openai_url, LLM_TIMEOUT_SECONDS=1,
                        LLM_DEADLINE_SECONDS=1.5, LLM_MAX_RETRIES=0)
    services = wiring.build(settings, dynamodb=dynamodb, clock=clock)
    fake.enqueue("openai", Scripted(trickle=0.1))  # ~600 bytes, a byte every 100 ms: about a minute in all
    started = time.monotonic()
    with pytest.raises(ChatError) as timed_out:
        services.chat.send(ALICE, ChatRequest(message="hello"))
    elapsed = time.monotonic() - started
    assert (timed_out.value.status, timed_out.value.code) == (504, "provider_timeout")
    assert elapsed < 20, f"the turn ran {elapsed:.1f} s: the deadline (1.5 s) did not hold"
    (session,) = services.store.sessions_of(ALICE, 5, None)[0]
    assert statuses(services, session.id) == [("user", "failed")]
    assert_ledger_balances(dynamodb)


def test_a_turn_that_crosses_midnight_is_charged_to_the_day_it_reserved_on(
        settings: Settings, dynamodb: Any, provider: ScriptedProvider) -> None:
    clock = FakeClock(datetime(2026, 11, 24, 23, 59, 59, 500_000, tzinfo=UTC))
    services = build(settings, dynamodb, provider, clock)
    provider.before_reply = lambda: clock.advance(seconds=1)
    reply = services.chat.send(ALICE, ChatRequest(message="just before midnight"))
    day1 = services.usage_records.day_counters("acme", "2026-11-24")
    assert services.usage_records.day_counters("acme", "2026-11-25") == {}
    assert day1["cost_micros"] == round(reply.metadata.cost_cents * MICROS_PER_CENT) and day1["messages"] == 2
    services.sessions.rate_message(ALICE, reply.session_id, reply.metadata.message_id, _thumbs_up())
    assert services.usage_records.day_counters("acme", "2026-11-24")["feedback_up"] == 1, "the reply's feedback too"
    assert_ledger_balances(dynamodb)


# --- the sweeper -------------------------------------------------------------------------------------------------


def reserve_and_die(services: wiring.Services, clock: FakeClock, remaining_seconds: float) -> tuple[str, str]:
    """Reserve a turn as the chat does, then never settle it: the invocation died."""
    session_id = services.chat.send(ALICE, ChatRequest(message="alive")).session_id
    session = services.store.session(session_id, ALICE)
    now = clock()
    message = MessageRecord(id=new_id(now), role="user", content="dies mid-turn", created_at=now.isoformat())
    charges = chat_charges(Limits.from_settings(services.settings), 5_000)
    services.ledger.reserve(session, False, DAY, charges, message,
                            reservations.sweep_after(now.timestamp(), remaining_seconds))
    return session_id, message.id


def test_a_dead_turn_is_swept_only_after_its_invocation_could_have_ended_and_exactly_once(
        services: wiring.Services, dynamodb: Any, clock: FakeClock) -> None:
    session_id, _ = reserve_and_die(services, clock, remaining_seconds=60)
    assert_ledger_balances(dynamodb)
    clock.advance(seconds=60 + reservations.SWEEP_GRACE_SECONDS - 1)
    assert services.sweep_turns().released == 0, "a turn whose invocation may still be running is never swept"
    clock.advance(seconds=2)
    report = services.sweep_turns()
    assert (report.found, report.released, report.queries) == (1, 1, keys.SWEEP_SHARDS)
    assert statuses(services, session_id)[-1] == ("user", "failed")
    assert services.sweep_turns().released == 0
    assert_ledger_balances(dynamodb)


def test_a_sweep_that_races_a_late_settle_changes_nothing(services: wiring.Services, dynamodb: Any,
                                                          clock: FakeClock) -> None:
    session_id, message_id = reserve_and_die(services, clock, remaining_seconds=0)
    reservation = services.ledger.pending(session_id, message_id)
    assert reservation is not None
    reply = MessageRecord(id=new_id(clock()), role="assistant", content="late", created_at=clock().isoformat(),
                          cost_micros=100, day=DAY)
    user = MessageRecord(id=message_id, role="user", content="dies mid-turn", created_at=clock().isoformat())
    assert services.ledger.settle(reservation, user, reply, 10, clock().isoformat())
    assert not services.ledger.release(reservation, clock().isoformat(), by="sweep"), "settled: nothing to release"
    assert not services.ledger.settle(reservation, user, dataclasses.replace(reply, id=new_id(clock())), 10,
                                      clock().isoformat()), "and nothing to settle twice"
    assert_ledger_balances(dynamodb)


def test_pending_turns_spread_over_sharded_keys_not_one_partition(services: wiring.Services, dynamodb: Any) -> None:
    for i in range(40):
        services.chat.send(Identity(user_id=f"u{i}", tenant_id=f"t{i}", roles=frozenset()),
                           ChatRequest(message="hi"))
    shards = {keys.sweep_shard(s.id) for i in range(40)
              for s in services.store.sessions_of(Identity(user_id=f"u{i}", tenant_id=f"t{i}", roles=frozenset()),
                                                  1, None)[0]}
    assert len(shards) >= 8 and shards <= set(keys.sweep_shards())


# --- no partition written by every tenant's turns ----------------------------------------------------------------


def test_the_day_index_learns_of_a_tenants_day_once_not_on_every_turn(
        services: wiring.Services, dynamodb: Any) -> None:
    writes: list[list[dict[str, Any]]] = []
    dynamodb.meta.events.register("provide-client-params.dynamodb.TransactWriteItems",
                                  lambda params, **_: writes.append(params["TransactItems"]))
    session_id = services.chat.send(ALICE, ChatRequest(message="one")).session_id
    for i in range(3):
        services.chat.send(ALICE, ChatRequest(message=f"more {i}", session_id=session_id))
    day_key = {"S": keys.day_key(DAY)}
    day_keyed = [entry for transaction in writes for entry in transaction
                 if day_key in entry.get("Put", {}).get("Item", {}).values()
                 or day_key in entry.get("Update", {}).get("ExpressionAttributeValues", {}).values()]
    assert len(day_keyed) == 1, "one marker write for the tenant's day, then none"
    counters = [i for i in table(dynamodb) if i["PK"]["S"].startswith("USAGE#")]
    assert all("GSI2PK" not in i for i in counters if i["SK"]["S"] != keys.ACTIVE_SK), "counters are not indexed"
    assert services.usage_records.tenants_active_on(DAY) == ["acme"]


def test_a_release_failure_after_a_provider_error_still_reports_the_error_and_leaves_the_sweeper_a_turn(
        services: wiring.Services, dynamodb: Any, provider: ScriptedProvider, clock: FakeClock) -> None:
    session_id = services.chat.send(ALICE, ChatRequest(message="first")).session_id
    provider.before_reply = lambda: dynamodb.meta.events.register("before-call.dynamodb.TransactWriteItems",
                                                                  _unreachable)
    provider.fail_next(ProviderError("The model provider failed; try again."))
    try:
        with pytest.raises(ProviderError):
            services.chat.send(ALICE, ChatRequest(message="second", session_id=session_id))
    finally:
        dynamodb.meta.events.unregister("before-call.dynamodb.TransactWriteItems", _unreachable)
    assert statuses(services, session_id)[-1] == ("user", "pending")
    clock.advance(minutes=20)
    assert services.sweep_turns().released == 1
    assert_ledger_balances(dynamodb)


def _unreachable(**_: Any) -> None:
    raise EndpointConnectionError(endpoint_url="http://dynamodb")


def _thumbs_up() -> Any:
    from aichat.core.models import MessageRatingRequest

    return MessageRatingRequest(rating="up")


def test_an_inflated_usage_never_cuts_a_reply_below_what_max_tokens_could_hold() -> None:
    short = reservations.fit_reply("A short, honest answer.", Usage(input_tokens=10, output_tokens=10**6),
                                   max_tokens=500)
    assert (short.text, short.truncated) == ("A short, honest answer.", False)
    long = reservations.fit_reply("x" * 100_000, Usage(input_tokens=10, output_tokens=1000), max_tokens=500)
    assert (len(long.text), long.truncated) == (50_000, True)


def test_dynamodb_out_of_reach_at_the_start_of_a_turn_answers_503_and_writes_nothing(
        services: wiring.Services, dynamodb: Any) -> None:
    api = Api(services)
    dynamodb.meta.events.register("before-call.dynamodb", _unreachable)
    try:
        reply = api.chat("hello")
    finally:
        dynamodb.meta.events.unregister("before-call.dynamodb", _unreachable)
    assert (reply.status, reply.body["code"]) == (503, "storage_unavailable")
    assert "try again" in reply.body["detail"] and "dynamodb" not in str(reply.body).lower()
    assert table(dynamodb) == []


# --- a turn of several model calls (tools): advance -----------------------------------------------------------------


def tenant_cost(dynamodb: Any) -> int:
    item = dynamodb.get_item(TableName="ai-chat", Key={"PK": {"S": keys.usage_pk("acme", DAY)},
                                                         "SK": {"S": keys.TENANT_COUNTER_SK}})["Item"]
    return num(item, "cost_micros")


def reserve_turn(services: wiring.Services, clock: FakeClock, amount: int) -> tuple[reservations.Reservation, Any]:
    session_id = services.chat.send(ALICE, ChatRequest(message="alive")).session_id
    session = services.store.session(session_id, ALICE)
    message = MessageRecord(id=new_id(clock()), role="user", content="use a tool", created_at=clock().isoformat())
    reservation = services.ledger.reserve(session, False, DAY, chat_charges(
        Limits.from_settings(services.settings), amount), message, reservations.sweep_after(clock().timestamp(), 30))
    return reservation, session


def test_advance_charges_a_finished_call_its_cost_and_reserves_the_next_in_one_transaction(
        services: wiring.Services, dynamodb: Any, clock: FakeClock) -> None:
    reservation, session = reserve_turn(services, clock, 5_000)
    before = tenant_cost(dynamodb) - 5_000
    writes: list[str] = []
    dynamodb.meta.events.register("before-call.dynamodb", lambda model, **_: writes.append(model.name))
    following = services.ledger.advance(reservation, session, 1_200, 300, chat_charges(
        Limits.from_settings(services.settings), 7_000)[:3])
    assert writes == ["TransactWriteItems"]
    assert (following.charged_micros, following.amount_micros, following.step) == (1_200, 7_000, 2)
    assert tenant_cost(dynamodb) == before + 1_200 + 7_000
    assert_ledger_balances(dynamodb)  # pending: its reservation plus what its finished calls cost


def test_an_advance_whose_next_call_does_not_fit_is_refused_and_changes_nothing(
        settings: Settings, dynamodb: Any, provider: ScriptedProvider, clock: FakeClock) -> None:
    services = build(settings, dynamodb, provider, clock, SESSION_COST_LIMIT_CENTS=5)  # 50,000 micro-USD
    reservation, session = reserve_turn(services, clock, 10_000)
    held = tenant_cost(dynamodb)
    with pytest.raises(BudgetRefused) as refused:
        services.ledger.advance(reservation, session, 9_000, 300, chat_charges(
            Limits.from_settings(services.settings), 49_000)[:3])
    assert refused.value.charge.counter.value == "session_cost"
    assert tenant_cost(dynamodb) == held
    assert services.ledger.pending(reservation.session_id, reservation.message_id) == reservation
    assert_ledger_balances(dynamodb)


def test_an_advance_repeated_after_it_committed_changes_nothing(
        services: wiring.Services, dynamodb: Any, clock: FakeClock) -> None:
    reservation, session = reserve_turn(services, clock, 5_000)
    charges = chat_charges(Limits.from_settings(services.settings), 6_000)[:3]
    services.ledger.advance(reservation, session, 1_000, 100, charges)
    held = tenant_cost(dynamodb)
    with pytest.raises(RuntimeError):
        services.ledger.advance(reservation, session, 1_000, 100, charges)
    assert tenant_cost(dynamodb) == held
    assert_ledger_balances(dynamodb)


def test_a_turn_that_dies_after_a_tool_step_keeps_that_steps_cost_and_gives_back_the_rest(
        services: wiring.Services, dynamodb: Any, clock: FakeClock) -> None:
    reservation, session = reserve_turn(services, clock, 5_000)
    before = tenant_cost(dynamodb) - 5_000
    following = services.ledger.advance(reservation, session, 1_500, 100, chat_charges(
        Limits.from_settings(services.settings), 6_000)[:3])
    clock.advance(seconds=30 + reservations.SWEEP_GRACE_SECONDS + 1)
    assert services.sweep_turns().released == 1
    assert tenant_cost(dynamodb) == before + 1_500, "the model call that answered was billed: it stays charged"
    stored = services.ledger.pending(following.session_id, following.message_id)
    assert stored is None
    assert_ledger_balances(dynamodb)
