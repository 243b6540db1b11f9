"""Faults around a chat turn, end to end: the ledger's invariant holds after each, and the user's message is kept.

The real local server (`python -m localdev`) runs as its own process against Amazon DynamoDB Local, itself a
process of its own keeping its data on disk (-dbPath), so either can be stopped or killed mid-turn and started again
on the same data. The model is a loopback fake speaking OpenAI's wire format to the real SDK, misbehaving on command:
a 500 KB reply, a usage of 1e40 tokens, 50,000 output tokens against a max_tokens of 500, a reply slow enough to
pull DynamoDB or the server out from under it. A turn left pending is released by the sweeper, run in this process
with its clock an hour ahead (a local turn may be swept 60 s past its 60 s deadline; nothing here waits that long).
After every fault the whole table is read and the invariant checked for every tenant, user and session.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from contract.local_api import Client, Reply, User
from fake_providers import FakeProviders, Scripted, Usage
from ledger_invariant import (
    RestartableDynamoDBLocal,
    Snapshot,
    assert_invariant,
    assert_sent_messages_stored,
    client,
    snapshot_of,
    violations,
)

from aichat import wiring
from aichat.core.pricing import PriceTable, cents_to_micros
from aichat.core.pricing import Usage as Tokens
from aichat.core.settings import Settings
from aichat.providers.registry import DEFAULT_MODELS
from aichat.table.ledger.reservations import MAX_RECORDED_TOKENS, MAX_REPLY_BYTES
from aichat.table.ledger.turn_ledger import TurnLedger
from localdev import process

pytestmark = pytest.mark.dynamodb_local

TABLE = "ai-chat"
CHAT = "/api/v1/ai/chat"
MAX_TOKENS = 500
SWEEP_CLOCK_AHEAD = 3600  # the test-only sweep age: every pending turn's sweep_after is under an hour away
SLOW = 4.0  # seconds the model "thinks" while a test pulls something out from under the turn
WAIT = 30.0  # the longest any single wait here may take

T = TypeVar("T")


# --- fixtures: one DynamoDB Local, one model, one server for the module ----------------------------------------


@pytest.fixture(scope="module")
def dynamodb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RestartableDynamoDBLocal]:
    with RestartableDynamoDBLocal(tmp_path_factory.mktemp("dynamodb")).started() as db:
        yield db


@pytest.fixture(scope="module")
def model() -> Iterator[FakeProviders]:
    server = FakeProviders()
    yield server
    server.close()


def server_env(dynamodb: RestartableDynamoDBLocal, model: FakeProviders, **extra: str) -> dict[str, str]:
    return {"DYNAMODB_ENDPOINT_URL": dynamodb.endpoint, "TABLE_NAME": TABLE, "LLM_PROVIDER": "openai",
            "OPENAI_API_KEY": "test-key", "OPENAI_BASE_URL": model.openai_url, "MAX_TOKENS": str(MAX_TOKENS),
            "LLM_TIMEOUT_SECONDS": "10", "LLM_DEADLINE_SECONDS": "15", "LLM_MAX_RETRIES": "0", **extra}


def start_server(dynamodb: RestartableDynamoDBLocal, model: FakeProviders,
                 **extra: str) -> contextlib.AbstractContextManager[process.RunningServer]:
    return process.started("--create-table", "--quiet", env=server_env(dynamodb, model, **extra))


@pytest.fixture(scope="module")
def server(dynamodb: RestartableDynamoDBLocal, model: FakeProviders) -> Iterator[process.RunningServer]:
    with start_server(dynamodb, model) as running:
        yield running


@pytest.fixture(scope="module")
def db(dynamodb: RestartableDynamoDBLocal, server: process.RunningServer) -> Any:
    """The tests' own DynamoDB client (the table exists once the server is up)."""
    return client(dynamodb.endpoint)


@pytest.fixture(scope="module")
def sweeper(dynamodb: RestartableDynamoDBLocal, db: Any) -> TurnLedger:
    """The product's ledger, built as a function builds it, in this process: what the sweeper runs."""
    return wiring.build(Settings(TABLE_NAME=TABLE, DYNAMODB_ENDPOINT_URL=dynamodb.endpoint), dynamodb=db).ledger


@pytest.fixture
def tenant() -> str:
    return f"faults-{uuid.uuid4().hex[:8]}"


# --- helpers -------------------------------------------------------------------------------------------------


def chat(user: User, message: str, session_id: str | None = None) -> Reply:
    return user.post(CHAT, {"message": message, "session_id": session_id})


def in_background(call: Callable[[], T]) -> Future[T]:
    pool = ThreadPoolExecutor(max_workers=1)
    future = pool.submit(call)
    pool.shutdown(wait=False)
    return future


def until(condition: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"gave up after {timeout}s waiting until {what}"
        time.sleep(0.02)


def model_called(model: FakeProviders, calls_before: int) -> Callable[[], bool]:
    """True once the model got the turn's call, i.e. once the turn's reserve has been written."""
    return lambda: len(model.sent("openai")) > calls_before


def sweep_releases_exactly_the_pending_turns(sweeper: TurnLedger, db: Any) -> Snapshot:
    """Sweep with the clock an hour ahead: every pending turn is released once, a second sweep finds none."""
    pending = {(m.session_id, m.message_id) for m in assert_invariant(db, TABLE).pending()}
    early = sweeper.sweep(time.time())
    assert (early.found, early.released) == (0, 0), "a turn is never swept before its invocation's deadline has passed"
    report = sweeper.sweep(time.time() + SWEEP_CLOCK_AHEAD)
    assert (report.found, report.released) == (len(pending), len(pending)), report
    after = assert_invariant(db, TABLE)
    assert not after.pending(), "no turn is pending after the sweep"
    released = {(m.session_id, m.message_id): m.status for m in after.messages if m.role == "user"}
    assert all(released[turn] == "failed" for turn in pending), "each swept turn's user message is kept, failed"
    again = sweeper.sweep(time.time() + SWEEP_CLOCK_AHEAD)
    assert (again.found, again.released) == (0, 0), "a second sweep releases nothing"
    return after


# --- a model that answers too much -------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["x" * 500_000, "語" * 200_000], ids=["ascii", "three-byte-utf8"])
def test_a_500_kb_reply_is_answered_and_stored_cut_to_fit_its_item_and_flagged_truncated(
        server: process.RunningServer, model: FakeProviders, db: Any, tenant: str, text: str) -> None:
    model.enqueue("openai", Scripted(text=text))
    user = Client(server).as_user("alice", tenant)

    reply = chat(user, "Tell me everything.")

    assert reply.status == 200, reply.raw[:500]
    assert reply.body["metadata"]["truncated"] is True
    state = assert_invariant(db, TABLE)
    assert state.sent_message(tenant, "Tell me everything.").status == "ok"
    [stored] = state.replies(tenant)
    assert stored.truncated and stored.status == "ok"
    assert MAX_REPLY_BYTES - 4 < len(stored.content.encode()) <= MAX_REPLY_BYTES, "cut at the item's limit"
    assert text.startswith(stored.content), "cut on a character boundary, nothing else changed"
    assert reply.body["message"] == stored.content, "the caller gets what is stored"


def test_a_usage_of_1e40_tokens_is_recorded_clamped_flagged_and_refuses_the_tenants_later_chats(
        server: process.RunningServer, model: FakeProviders, db: Any, tenant: str) -> None:
    model.enqueue("openai", Scripted(usage=Usage(output=10**40)))
    api = Client(server)
    alice, bob = api.as_user("alice", tenant), api.as_user("bob", tenant)

    reply = chat(alice, "How many tokens is that?")

    assert reply.status == 200, reply.raw[:500]
    assert reply.body["metadata"]["output_tokens"] == MAX_RECORDED_TOKENS
    state = assert_invariant(db, TABLE)
    [stored] = state.replies(tenant)
    assert stored.output_tokens == MAX_RECORDED_TOKENS and stored.over_reservation
    assert stored.content == Scripted().text and not stored.truncated, "an inflated usage does not empty the reply"
    assert stored.cost_micros == PriceTable().cost_micros(DEFAULT_MODELS["openai"], Tokens(
        input_tokens=Usage().input, output_tokens=MAX_RECORDED_TOKENS)), "priced at the clamped count"
    assert stored.cost_micros > state.sent_message(tenant, "How many tokens is that?").reserved_micros
    assert state.tenant_cost(tenant) == stored.cost_micros, "the overrun is recorded on the tenant's day"

    later = [chat(alice, "And now?"), chat(bob, "Me too?")]

    assert {(r.status, r.body["code"]) for r in later} == {(400, "daily_cost_limit_exceeded")}
    assert chat(api.as_user("carol", f"{tenant}-other"), "Unaffected?").status == 200, "other tenants still chat"
    assert_invariant(db, TABLE)


def test_a_reply_reporting_50000_output_tokens_is_charged_in_full_and_flagged_over_its_reservation(
        server: process.RunningServer, model: FakeProviders, db: Any, tenant: str) -> None:
    novel = "word " * 50_000  # what 50,000 tokens of output look like, where max_tokens allowed 500
    model.enqueue("openai", Scripted(text=novel, usage=Usage(output=50_000)))

    reply = chat(Client(server).as_user("alice", tenant), "Write me a novel.")

    assert reply.status == 200, reply.raw[:500]
    state = assert_invariant(db, TABLE)
    [stored] = state.replies(tenant)
    asked = state.sent_message(tenant, "Write me a novel.")
    assert stored.output_tokens == 50_000 and stored.over_reservation and stored.truncated
    assert stored.content == novel[:len(novel) * 500 // 50_000] == reply.body["message"], "cut to max_tokens' share"
    assert stored.cost_micros > asked.reserved_micros > 0 and asked.status == "ok"
    assert state.tenant_cost(tenant) == stored.cost_micros


def test_a_keyed_chat_with_a_100000_character_reply_is_answered_and_its_retry_gets_it_back_charged_once(
        server: process.RunningServer, model: FakeProviders, db: Any, tenant: str) -> None:
    model.enqueue("openai", Scripted(text="語" * 100_000))  # 300 KB of UTF-8, about 600 KB as escaped JSON
    user, key = Client(server).as_user("alice", tenant), {"Idempotency-Key": f"retry-{tenant}"}
    calls = len(model.sent("openai"))

    first = user.post(CHAT, {"message": "Answer at length.", "session_id": None}, headers=key)
    again = user.post(CHAT, {"message": "Answer at length.", "session_id": None}, headers=key)

    assert first.status == again.status == 200, first.raw[:300]
    assert again.body == first.body and len(first.body["message"]) == 100_000, "the same answer, whole"
    assert len(model.sent("openai")) == calls + 1, "the model was called once"
    state = assert_invariant(db, TABLE)
    [stored] = state.replies(tenant)
    assert state.tenant_cost(tenant) == stored.cost_micros, "charged once"


# --- the store or the server gone mid-turn -----------------------------------------------------------------------


def test_dynamodb_stopped_during_the_model_call_answers_503_and_the_sweeper_releases_the_turn_after_restart(
        server: process.RunningServer, dynamodb: RestartableDynamoDBLocal, model: FakeProviders, db: Any,
        sweeper: TurnLedger, tenant: str) -> None:
    user = Client(server).as_user("alice", tenant)
    first = chat(user, "Before the outage.")
    assert first.status == 200, first.raw[:500]
    calls = len(model.sent("openai"))
    model.enqueue("openai", Scripted(delay=SLOW))

    turn = in_background(lambda: chat(user, "During the outage.", first.body["session_id"]))
    until(model_called(model, calls), "the model got the call")
    stopping = time.monotonic()
    dynamodb.stop()
    try:
        assert time.monotonic() - stopping < SLOW, "DynamoDB Local took longer to stop than the model to answer"
        reply = turn.result(timeout=WAIT)
        # A turn that cannot even reserve is refused with an error: the caller knows its message was not taken.
        refused = chat(user, "While it is down.", first.body["session_id"])
    finally:
        dynamodb.start()

    assert (reply.status, reply.body["code"]) == (503, "storage_unavailable"), reply.raw[:500]
    assert (refused.status, refused.body["code"]) == (503, "storage_unavailable"), refused.raw[:500]
    state = assert_invariant(db, TABLE)
    assert not [m for m in state.user_messages(tenant) if m.content == "While it is down."]
    assert state.sent_message(tenant, "During the outage.").status == "pending", "kept, its reservation held"
    after = sweep_releases_exactly_the_pending_turns(sweeper, db)
    assert after.sent_message(tenant, "During the outage.").status == "failed"
    assert_sent_messages_stored(after, tenant, ["Before the outage.", "During the outage."])
    assert after.tenant_cost(tenant) == sum(m.cost_micros for m in after.replies(tenant)), "only answers are charged"
    again = chat(user, "After the outage.", first.body["session_id"])
    assert again.status == 200, "the server works on once DynamoDB is back"
    assert_invariant(db, TABLE)


def test_a_server_killed_with_sigkill_mid_turn_leaves_the_turn_pending_until_the_sweeper_releases_it(
        dynamodb: RestartableDynamoDBLocal, model: FakeProviders, db: Any, sweeper: TurnLedger,
        tenant: str) -> None:
    calls = len(model.sent("openai"))
    model.enqueue("openai", Scripted(delay=SLOW))
    with start_server(dynamodb, model) as doomed:
        user = Client(doomed).as_user("alice", tenant)
        turn = in_background(lambda: _outcome(lambda: chat(user, "Are you still there?")))
        until(model_called(model, calls), "the model got the call")
        doomed.kill()
        outcome = turn.result(timeout=WAIT)
    assert not isinstance(outcome, Reply), f"a killed server answers nothing, got {outcome}"

    with start_server(dynamodb, model) as restarted:
        user = Client(restarted).as_user("alice", tenant)
        [session] = user.get("/api/v1/ai/sessions/my").body
        history = f"/api/v1/ai/sessions/{session['id']}/history"
        assert [(m["role"], m["content"], m["status"]) for m in user.get(history).body["messages"]] == [
            ("user", "Are you still there?", "pending")]
        assert_invariant(db, TABLE)

        sweep_releases_exactly_the_pending_turns(sweeper, db)

        assert [m["status"] for m in user.get(history).body["messages"]] == ["failed"]
        assert chat(user, "Hello again.", session["id"]).status == 200
    state = assert_invariant(db, TABLE)
    assert_sent_messages_stored(state, tenant, ["Are you still there?", "Hello again."])
    assert state.sessions[session["id"]]["message_count"] == {"N": "3"}, "the failed message keeps its slot"


def _outcome(call: Callable[[], Reply]) -> Reply | Exception:
    try:
        return call()
    except Exception as e:  # the connection dies with the server
        return e


# --- many turns over a tiny budget ---------------------------------------------------------------------------


def test_fifty_parallel_chats_reporting_50000_output_tokens_overrun_a_one_cent_limit_only_by_what_was_admitted(
        dynamodb: RestartableDynamoDBLocal, db: Any, fake: FakeProviders, tenant: str) -> None:
    in_flight, limit_micros = 50, cents_to_micros(Decimal(1))
    with start_server(dynamodb, fake, DAILY_COST_LIMIT_CENTS="1") as limited:
        fake.enqueue("openai", *[Scripted(usage=Usage(output=50_000), delay=0.3)] * in_flight)
        api = Client(limited)
        users = [api.as_user(f"user-{i:02d}", tenant) for i in range(in_flight)]
        start = threading.Barrier(in_flight)

        def one(i: int) -> Reply:
            start.wait(timeout=WAIT)
            return chat(users[i], f"question {i:02d}")

        with ThreadPoolExecutor(max_workers=in_flight) as pool:
            replies = list(pool.map(one, range(in_flight)))
        later = [chat(users[0], "one more?"), chat(api.as_user("newcomer", tenant), "my first?")]

    ok = [i for i, r in enumerate(replies) if r.status == 200]
    refused = [r for r in replies if r.status != 200]
    assert ok and refused, f"{len(ok)} of {in_flight} chats admitted"
    assert {(r.status, r.body["code"]) for r in refused} <= {(400, "daily_cost_limit_exceeded")}
    state = assert_invariant(db, TABLE)
    assert_sent_messages_stored(state, tenant, [f"question {i:02d}" for i in ok])
    reserved = [m.reserved_micros for m in state.user_messages(tenant)]
    assert len(reserved) == len(ok), "a refused chat stores nothing"
    assert len(ok) <= limit_micros // min(reserved), (
        f"{len(ok)} turns admitted, but only {limit_micros // min(reserved)} reservations of {min(reserved)} "
        f"micro-USD fit under the {limit_micros} limit")
    settled = state.replies(tenant)
    assert len(settled) == len(ok) and all(m.over_reservation and m.output_tokens == 50_000 for m in settled)
    spent = state.tenant_cost(tenant)
    assert spent == sum(m.cost_micros for m in settled) > limit_micros, "the overrun is recorded, and only it"
    assert {(r.status, r.body["code"]) for r in later} == {(400, "daily_cost_limit_exceeded")}
    print(f"\n{len(ok)} of {in_flight} admitted (bound {limit_micros // min(reserved)} = {limit_micros} // "
          f"{min(reserved)}); spent {spent} micro-USD against a {limit_micros} limit; each reply "
          f"{max(m.cost_micros for m in settled)} micro-USD")  # the figures README quotes (pytest -s)


# --- the checker itself ------------------------------------------------------------------------------------------


def test_the_invariant_checker_names_every_counter_a_stray_micro_dollar_or_slot_breaks() -> None:
    def item(pk: str, sk: str, **attrs: Any) -> dict[str, Any]:
        values = {k: {"N": str(v)} if isinstance(v, int) else {"S": v} for k, v in attrs.items()}
        return {"PK": {"S": pk}, "SK": {"S": sk}, **values}

    owner = {"tenant_id": "t1", "user_id": "u1"}
    day = "2026-11-24"
    consistent = [
        item("SESSION#s1", "SESSION", **owner, message_count=4, total_cost_micros=130),
        item("SESSION#s1", "MSG#1", **owner, role="user", status="ok", day=day, reserved_micros=100),
        item("SESSION#s1", "MSG#2", **owner, role="assistant", status="ok", day=day, cost_micros=30),
        item("SESSION#s1", "MSG#3", **owner, role="user", status="pending", day=day, reserved_micros=100,
             sweep_after=1, GSI2PK="PENDING#01"),
        item(f"USAGE#t1#{day}", "TENANT", cost_micros=130),
        item(f"USAGE#t1#{day}", "USER#u1", cost_micros=130),
    ]
    assert violations(snapshot_of(consistent)) == []

    broken = [*consistent[:4], item(f"USAGE#t1#{day}", "TENANT", cost_micros=131),
              item(f"USAGE#t1#{day}", "USER#u1", cost_micros=130),
              item("SESSION#s1", "MSG#4", **owner, role="user", status="failed", day=day, reserved_micros=100)]
    found = violations(snapshot_of(broken))

    assert len(found) == 2, found
    assert found[0].startswith(f"tenant t1 on {day}: cost counter is 131, but its messages add up to 130")
    assert found[1].startswith("session s1 (tenant t1, user u1): message_count is 4, but its messages hold 5")
