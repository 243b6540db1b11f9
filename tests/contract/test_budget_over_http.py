"""50 chats in flight over HTTP against a tenant budget that admits about 10: spend never passes the limit.

The server runs with DAILY_COST_LIMIT_CENTS set to ten chats' worth (measured first on the shared server), on
DynamoDB Local in memory; the requests start together behind a barrier.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from counters import day_counters

from aichat.core.pricing import MICROS_PER_CENT
from contract.local_api import Client, Reply, local_server, table_client
from localdev import process

pytestmark = pytest.mark.dynamodb_local

IN_FLIGHT = 50
TENANT = "budget-tenant"
TABLE = "ai-chat-budget"


def chat_micros(reply: Reply) -> int:
    return round(reply.body["metadata"]["cost_cents"] * MICROS_PER_CENT)


@pytest.fixture(scope="module")
def one_chat_micros(client: Client) -> int:
    """What one chat of the kind this test sends costs, on the shared server (a tenant of its own)."""
    reply = client.as_user("probe", "budget-probe").post("/api/v1/ai/chat", {"message": "question 00"})
    assert reply.status == 200, reply.raw
    return chat_micros(reply)


@pytest.fixture(scope="module")
def limited(one_chat_micros: int, dynamodb_local_url: str) -> Iterator[tuple[Client, int]]:
    limit_micros = 10 * one_chat_micros
    cents = Decimal(limit_micros) / MICROS_PER_CENT
    # MAX_TOKENS near a real reply's length, so that a reservation (the worst case) is near a chat's real cost.
    env = {"DAILY_COST_LIMIT_CENTS": str(cents), "MAX_TOKENS": "60", "MAX_SESSIONS_PER_USER_PER_DAY": "1000"}
    with local_server(dynamodb_local_url, "--quiet", table=TABLE, env=env) as running:
        yield Client(running), limit_micros


def tenant_spend(server: process.RunningServer, days: set[str]) -> int:
    """The tenant's day counter, read straight from the server's DynamoDB."""
    db = table_client(server)
    total = 0
    for day in days:
        total += day_counters(db, TENANT, day, table=TABLE).get("cost_micros", 0)
    return total


def test_fifty_parallel_chats_over_http_never_spend_past_the_tenants_daily_limit(
        limited: tuple[Client, int], monkeypatch: pytest.MonkeyPatch) -> None:
    client, limit_micros = limited
    users = [client.as_user(f"user-{i:02d}", TENANT) for i in range(IN_FLIGHT)]
    start = threading.Barrier(IN_FLIGHT)

    def chat(i: int) -> Reply:
        start.wait()
        return users[i].post("/api/v1/ai/chat", {"message": f"question {i:02d}", "session_id": None})

    days = {datetime.now(UTC).strftime("%Y-%m-%d")}
    with ThreadPoolExecutor(max_workers=IN_FLIGHT) as pool:
        replies = list(pool.map(chat, range(IN_FLIGHT)))
    days.add(datetime.now(UTC).strftime("%Y-%m-%d"))

    ok = [r for r in replies if r.status == 200]
    refused = [r for r in replies if r.status != 200]
    assert 1 <= len(ok) <= 10, f"{len(ok)} chats were admitted against a budget of ten"
    assert {(r.status, r.body["code"]) for r in refused} == {(400, "daily_cost_limit_exceeded")}
    for r in refused:
        assert r.body["limit"] == limit_micros / MICROS_PER_CENT and 0 <= r.body["used"] <= r.body["limit"]

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "local")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "local")
    spent = tenant_spend(client.server, days)
    assert spent <= limit_micros
    assert spent == sum(chat_micros(r) for r in ok), "the counter is the sum of the answered chats' costs"
    listed = [s for u in users for s in u.get("/api/v1/ai/sessions/my").body]
    assert len(listed) == len(ok), "a refused chat leaves no session behind"
    assert sum(round(s["total_cost"] * MICROS_PER_CENT) for s in listed) == spent
