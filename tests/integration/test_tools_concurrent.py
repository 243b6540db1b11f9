"""Turns in which the model calls tools, 50 in flight against one tenant's budget, on Amazon's DynamoDB Local."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import pytest
from conftest import FakeClock, ScriptedProvider
from counters import day_counters, sampled_cost
from ledger_invariant import assert_invariant, scan
from test_budgets_concurrent import IN_FLIGHT, micros, run_concurrently, services_for

from aichat.core.identity import Identity
from aichat.core.models import ChatRequest
from aichat.core.pricing import MICROS_PER_CENT

pytestmark = pytest.mark.dynamodb_local

DAY = "2026-11-24"
TICKET = "Please create a ticket: the line drops every evening"


def test_fifty_concurrent_turns_with_tools_never_spend_past_the_budget_and_keep_every_ticket_with_its_turn(
        table: tuple[Any, str], clock: FakeClock) -> None:
    client, name = table
    # One turn here is two model calls (the call, then the answer with the ticket): its cost on a throwaway tenant.
    probe = services_for(table, ScriptedProvider(), clock)
    two_calls = micros(probe.chat.send(Identity(user_id="p", tenant_id="probe", roles=frozenset()),
                                       ChatRequest(message=TICKET)))
    limit_micros = 5 * two_calls  # about ten model calls' cost
    provider = ScriptedProvider(before_reply=lambda: time.sleep(0.02))
    services = services_for(table, provider, clock, DAILY_COST_LIMIT_CENTS=Decimal(limit_micros) / MICROS_PER_CENT)
    users = [Identity(user_id=f"user-{i:02d}", tenant_id="acme", roles=frozenset()) for i in range(IN_FLIGHT)]

    with sampled_cost(client, "acme", DAY, name) as seen:
        ok, refused = run_concurrently([lambda u=u: services.chat.send(u, ChatRequest(message=TICKET))
                                        for u in users])

    spent = day_counters(client, "acme", DAY, table=name)["cost_micros"]
    assert max(seen) <= limit_micros and spent <= limit_micros
    assert len(ok) >= 1 and len(ok) + len(refused) == IN_FLIGHT
    assert spent == sum(micros(r) for r in ok), "the counter is the sum of the settled turns' costs"
    assert {e.body()["code"] for e in refused} <= {"daily_cost_limit_exceeded"}
    stopped = [r for r in ok if r.metadata.stopped]
    assert {r.metadata.stopped for r in stopped} <= {"daily_cost_limit_exceeded"}
    assert all(r.function_calls and r.function_calls[0].status == "ok" for r in stopped), (
        "a turn whose next model call is refused answers 200 with what its tools did")

    items = scan(client, name)
    tickets = [i for i in items if i["PK"]["S"].startswith("TICKET#")]
    turns = {(i["PK"]["S"].removeprefix("SESSION#"), i["SK"]["S"].removeprefix("MSG#")): i["status"]["S"]
             for i in items if i["PK"]["S"].startswith("SESSION#") and i.get("role", {}).get("S") == "user"}
    acme = [t for t in tickets if t["tenant_id"]["S"] == "acme"]
    assert len(acme) == sum(1 for r in ok for c in r.function_calls if c.status == "ok")
    for ticket in acme:
        assert turns.get((ticket["session_id"]["S"], ticket["turn_id"]["S"])) == "ok", "every ticket has its turn"
    assert_invariant(client, name)
