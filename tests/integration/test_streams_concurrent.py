"""Streamed turns, 50 in flight against one tenant's budget, on Amazon's DynamoDB Local: the stream's budgets are
the chat's. Each stream is drained in-process as the ASGI app drains it (`ui_stream.chunks`)."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from conftest import FakeClock, ScriptedProvider
from counters import day_counters, sampled_cost
from ledger_invariant import assert_invariant
from sse import DONE, Part, deltas, metadata_of, parse, types
from test_budgets_concurrent import DAY, IN_FLIGHT, services_for

from aichat import wiring
from aichat.api import ui_stream
from aichat.core.errors import LimitExceeded
from aichat.core.identity import Identity
from aichat.core.models import ChatRequest
from aichat.core.pricing import MICROS_PER_CENT
from aichat.table import keys
from aichat.turn.stream_events import TurnStarted

pytestmark = pytest.mark.dynamodb_local


@dataclass(frozen=True)
class Streamed:
    """A stream that started: who sent it, and every part it wrote."""

    caller: Identity
    parts: list[Part]

    @property
    def metadata(self) -> dict[str, Any]:
        return metadata_of(self.parts)


def stream(services: wiring.Services, caller: Identity, message: str) -> Streamed | LimitExceeded:
    """One streamed turn: its refusal if its first event is refused, else the whole stream as the app sends it."""
    turn = services.chat.stream(caller, ChatRequest(message=message))
    try:
        first = next(turn)
    except LimitExceeded as refused:
        return refused
    assert isinstance(first, TurnStarted)
    return Streamed(caller, parse(b"".join(ui_stream.chunks(first, turn))))


def one_stream(table: tuple[Any, str], clock: FakeClock) -> tuple[int, int]:
    """What one streamed turn of the kind this test sends reserves and costs, measured on a throwaway tenant."""
    client, name = table
    probe = Identity(user_id="probe", tenant_id=f"probe-{uuid.uuid4().hex[:6]}", roles=frozenset())
    answered = stream(services_for(table, ScriptedProvider(), clock), probe, "question 00")
    assert isinstance(answered, Streamed), answered
    start = answered.parts[0]["messageMetadata"]
    item = client.get_item(TableName=name, Key={"PK": {"S": keys.session_pk(start["session_id"])},
                                                "SK": {"S": keys.message_sk(start["user_message_id"])}})["Item"]
    return int(item["reserved_micros"]["N"]), micros(answered.metadata)


def micros(metadata: dict[str, Any]) -> int:
    """A stream's cost, from its message-metadata part (in cents there)."""
    return round(float(metadata["cost_cents"]) * MICROS_PER_CENT)


def test_fifty_concurrent_streams_never_spend_past_the_tenants_daily_limit_and_store_what_they_streamed(
        table: tuple[Any, str], clock: FakeClock) -> None:
    client, name = table
    reservation, cost = one_stream(table, clock)
    limit_micros = 10 * reservation  # ten streams' worst cases fit at once
    provider = ScriptedProvider(before_reply=lambda: time.sleep(0.02))  # so that many turns hold reservations
    services = services_for(table, provider, clock, DAILY_COST_LIMIT_CENTS=Decimal(limit_micros) / MICROS_PER_CENT)
    users = [Identity(user_id=f"user-{i:02d}", tenant_id="acme", roles=frozenset()) for i in range(IN_FLIGHT)]

    start = threading.Barrier(IN_FLIGHT)
    results: list[Streamed | LimitExceeded | BaseException] = [RuntimeError("never ran")] * IN_FLIGHT

    def run(i: int) -> None:
        start.wait()
        try:
            results[i] = stream(services, users[i], f"question {i:02d}")
        except BaseException as e:  # anything else is a failure the assertions below name
            results[i] = e

    threads = [threading.Thread(target=run, args=(i,)) for i in range(IN_FLIGHT)]
    with sampled_cost(client, "acme", DAY, name) as seen:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a stream still runs after 60 s"

    ok = [r for r in results if isinstance(r, Streamed)]
    refused = [r for r in results if isinstance(r, LimitExceeded)]
    assert len(ok) + len(refused) == IN_FLIGHT, [r for r in results if not isinstance(r, Streamed | LimitExceeded)]
    # Ten reservations fit at once; a stream that settled early (at its real cost) makes room for more, but every
    # admitted stream leaves at least its cost charged.
    assert 10 <= len(ok) <= limit_micros // cost, f"{len(ok)} streams were admitted against room for ten"
    assert {e.code for e in refused} == {"daily_cost_limit_exceeded"}
    for error in refused:
        assert error.body()["limit"] == limit_micros / MICROS_PER_CENT and 0 <= error.body()["used"] <= limit_micros
    assert len(provider.history) == len(ok), "a refused stream never reaches the model"

    spent = day_counters(client, "acme", DAY, table=name)["cost_micros"]
    assert seen and max(seen) <= limit_micros and spent <= limit_micros
    replies = []
    for answered in ok:
        kinds = types(answered.parts)
        assert kinds[0] == "start" and kinds[-2:] == ["finish", DONE] and "error" not in kinds, kinds
        meta = answered.metadata
        assert meta["stopped"] is None and meta["estimated"] is False
        reply = services.store.message(meta["session_id"], meta["message_id"], answered.caller)
        assert reply.content == deltas(answered.parts), "the stored reply is the text that was streamed"
        assert reply.cost_micros == micros(meta)
        replies.append(reply)
    assert spent == sum(r.cost_micros for r in replies), "the counter is the sum of the settled replies' costs"
    assert_invariant(client, name)
