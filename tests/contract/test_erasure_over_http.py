"""An admin erases a user's data over real HTTP on the local server (DynamoDB Local): the erasure runs in the
background on the server's own schedule, survives the server being killed mid-way, and touches no one else."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fake_providers import FakeProviders

from contract.local_api import Client, Reply, User, fake_model_env, local_server, table_client
from localdev import process

pytestmark = pytest.mark.dynamodb_local

API = "/api/v1/ai"
SCHEDULE = "0.5"  # seconds between scheduled runs (EraseUsersFunction runs every minute in AWS)


def server_env(model: FakeProviders, **extra: str) -> dict[str, str]:
    return fake_model_env(model.openai_url, MAX_SESSIONS_PER_USER_PER_DAY="1000", **extra)


@pytest.fixture
def table() -> str:
    return f"ai-chat-erasure-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def erasing(model: FakeProviders, dynamodb_local_url: str) -> Iterator[tuple[process.RunningServer, str]]:
    """A server running its schedules every SCHEDULE seconds, and its table."""
    table = f"ai-chat-erasure-{uuid.uuid4().hex[:8]}"
    env = server_env(model, ERASURE_SESSIONS_PER_STEP="5")
    with local_server(dynamodb_local_url, "--quiet", "--schedules-every", SCHEDULE, table=table, env=env) as server:
        yield server, table


def erase(admin: User, user_id: str) -> Reply:
    return admin.client.call("DELETE", f"{API}/admin/users/{user_id}", token=admin.token)


def sessions_of(user: User) -> list[str]:
    return [s["id"] for s in user.get(f"{API}/sessions/my?limit=100").body]


def wait_done(admin: User, erasure_id: str, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = admin.get(f"{API}/admin/erasures/{erasure_id}").body
        if status["status"] == "done":
            return dict(status)
        time.sleep(0.1)
    raise AssertionError(f"the erasure did not finish within {timeout} s: {status}")


def owned_items(db: Any, table: str, tenant: str, user: str) -> int:
    """How many items of the table carry this owner (a test's Scan; the product never scans)."""
    pages = db.get_paginator("scan").paginate(
        TableName=table, ConsistentRead=True,
        FilterExpression="tenant_id = :t AND user_id = :u AND NOT begins_with(PK, :e)",
        ExpressionAttributeValues={":t": {"S": tenant}, ":u": {"S": user}, ":e": {"S": "ERASURE#"}})
    return sum(page["Count"] for page in pages)


def test_an_erasure_of_many_sessions_runs_in_the_background_and_leaves_others_intact(
        erasing: tuple[process.RunningServer, str]) -> None:
    server, table = erasing
    api, db = Client(server), table_client(server)
    tenant = f"tenant-{uuid.uuid4().hex[:8]}"
    carol, dave = api.as_user("carol", tenant), api.as_user("dave", tenant)
    other_carol = api.as_user("carol", f"{tenant}-other")
    admin = api.as_user("ana", tenant, admin=True)
    for user in (carol, dave, other_carol):
        user.post(f"{API}/chat", {"message": "hello", "session_id": None})
    for _ in range(24):
        assert carol.post(f"{API}/sessions", {}).status == 201
    keep = (sessions_of(dave), sessions_of(other_carol))
    kept_items = (owned_items(db, table, tenant, "dave"), owned_items(db, table, f"{tenant}-other", "carol"))
    assert all(kept_items)

    started = erase(admin, "carol")

    assert started.status == 202 and started.body["status"] == "running"
    done = wait_done(admin, started.body["erasure_id"])
    assert (done["sessions"], done["messages"], done["day_counters"]) == (25, 2, 1)
    assert sessions_of(carol) == [] and owned_items(db, table, tenant, "carol") == 0
    assert (sessions_of(dave), sessions_of(other_carol)) == keep
    assert kept_items == (owned_items(db, table, tenant, "dave"),
                          owned_items(db, table, f"{tenant}-other", "carol"))


def test_an_erasure_cut_short_by_the_server_dying_is_finished_by_the_next_server(
        model: FakeProviders, dynamodb_local_url: str, table: str) -> None:
    env = server_env(model, ERASURE_SESSIONS_PER_STEP="1")
    tenant = f"tenant-{uuid.uuid4().hex[:8]}"
    total = 60
    with local_server(dynamodb_local_url, "--quiet", "--schedules-every", SCHEDULE, table=table, env=env) as server:
        api = Client(server)
        erin, admin = api.as_user("erin", tenant), api.as_user("ana", tenant, admin=True)
        for _ in range(total):
            assert erin.post(f"{API}/sessions", {}).status == 201
        erasure_id = erase(admin, "erin").body["erasure_id"]
        deadline = time.monotonic() + 60
        while (seen := admin.get(f"{API}/admin/erasures/{erasure_id}").body)["sessions"] < 5:
            assert time.monotonic() < deadline, seen
            time.sleep(0.02)
        server.kill()  # SIGKILL mid-erasure: no handler runs, the step under way is cut where it is
    assert seen["status"] == "running" and seen["sessions"] < total, "it was cut short mid-way"
    with local_server(dynamodb_local_url, "--quiet", "--schedules-every", SCHEDULE, table=table, env=env) as server:
        api, db = Client(server), table_client(server)
        admin = api.as_user("ana", tenant, admin=True)
        done = wait_done(admin, erasure_id)
        assert done["sessions"] >= total - 1, "every session counted (one cut mid-delete may be finished unseen)"
        assert sessions_of(api.as_user("erin", tenant)) == []
        assert owned_items(db, table, tenant, "erin") == 0, "nothing of erin's is left"


def test_only_an_admin_of_the_tenant_erases_there(erasing: tuple[process.RunningServer, str]) -> None:
    server, _ = erasing
    api = Client(server)
    tenant = f"tenant-{uuid.uuid4().hex[:8]}"
    gus = api.as_user("gus", tenant)
    gus.post(f"{API}/chat", {"message": "mine", "session_id": None})
    assert erase(gus, "gus").status == 403
    assert erase(User(api, api.token("sam", tenant, roles=["support"])), "gus").status == 403
    stranger = api.as_user("ana", f"{tenant}-other", admin=True)
    theirs = erase(stranger, "gus")
    assert theirs.status == 202
    assert wait_done(stranger, theirs.body["erasure_id"])["sessions"] == 0
    assert len(sessions_of(gus)) == 1, "another tenant's admin erased nothing here"
    own_admin = api.as_user("ana", tenant, admin=True)
    assert own_admin.get(f"{API}/admin/erasures/{theirs.body['erasure_id']}").status == 404
