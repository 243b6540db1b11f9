"""A person's own data over real HTTP on the local server (DynamoDB Local): deleting a session, also while a turn
of it is in flight, and exporting everything of theirs.

The model is the loopback fake (OpenAI's format), so a turn can be made to take as long as a race needs.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from counters import day_counters
from fake_providers import FakeProviders, Scripted

from aichat.table import keys
from contract.local_api import Client, Reply, User, at_once, fake_model_env, local_server, table_client
from localdev import process

pytestmark = pytest.mark.dynamodb_local

API = "/api/v1/ai"
TABLE = "ai-chat-my-data"


@pytest.fixture(scope="module")
def my_data_server(model: FakeProviders, dynamodb_local_url: str) -> Iterator[process.RunningServer]:
    with local_server(dynamodb_local_url, "--quiet", table=TABLE, env=fake_model_env(model.openai_url)) as running:
        yield running


@pytest.fixture(scope="module")
def api(my_data_server: process.RunningServer) -> Client:
    return Client(my_data_server)


@pytest.fixture(scope="module")
def db(my_data_server: process.RunningServer) -> Any:
    return table_client(my_data_server)


@pytest.fixture
def tenant() -> str:
    return f"tenant-{uuid.uuid4().hex[:8]}"


def delete(user: User, session_id: str) -> Reply:
    return user.client.call("DELETE", f"{API}/sessions/{session_id}", token=user.token)


def chat(user: User, message: str, session_id: str | None = None) -> Reply:
    return user.post(f"{API}/chat", {"message": message, "session_id": session_id})


def partition(db: Any, session_id: str) -> list[dict[str, Any]]:
    return db.query(TableName=TABLE, ConsistentRead=True, KeyConditionExpression="PK = :pk",
                     ExpressionAttributeValues={":pk": {"S": keys.session_pk(session_id)}})["Items"]


def today() -> str:
    return time.strftime("%Y-%m-%d", time.gmtime())


def test_a_deleted_session_answers_404_on_every_route_and_leaves_the_list(api: Client, db: Any,
                                                                          tenant: str) -> None:
    alice = api.as_user("alice", tenant)
    session_id = chat(alice, "My router blinks red").body["session_id"]
    reply_id = alice.get(f"{API}/sessions/{session_id}/history").body["messages"][-1]["id"]

    deleted = delete(alice, session_id)

    assert (deleted.status, deleted.raw) == (204, b"")
    assert partition(db, session_id) == []
    path = f"{API}/sessions/{session_id}"
    for reply in (alice.get(f"{path}/history"), alice.post(f"{path}/feedback", {"rating": 4}),
                  alice.post(f"{path}/escalate", {"reason": "help"}), alice.post(f"{path}/withdraw", {}),
                  alice.post(f"{path}/stop", {}), alice.post(f"{path}/messages/{reply_id}/feedback", {"rating": "up"}),
                  chat(alice, "hello again", session_id), delete(alice, session_id)):
        assert reply.status == 404, reply.body
    assert session_id not in [s["id"] for s in alice.get(f"{API}/sessions/my").body]


def test_another_users_or_tenants_delete_is_404_and_the_session_stays_whole(api: Client, db: Any,
                                                                           tenant: str) -> None:
    alice = api.as_user("alice", tenant)
    session_id = chat(alice, "Keep this").body["session_id"]
    before = partition(db, session_id)
    for other in (api.as_user("mallory", tenant), api.as_user("alice", f"{tenant}-other")):
        assert delete(other, session_id).status == 404
    assert partition(db, session_id) == before
    assert len(alice.get(f"{API}/sessions/{session_id}/history").body["messages"]) == 2


def test_deleting_an_escalated_session_takes_it_off_the_staff_waiting_list(api: Client, tenant: str) -> None:
    alice = api.as_user("alice", tenant)
    dana = User(api, api.token("dana", tenant, roles=["support"], name="Dana"))
    session_id = chat(alice, "I want a person").body["session_id"]
    assert alice.post(f"{API}/sessions/{session_id}/escalate", {"reason": "billing"}).status == 200
    assert [s["session_id"] for s in dana.get(f"{API}/agent/sessions").body] == [session_id]

    assert delete(alice, session_id).status == 204

    assert dana.get(f"{API}/agent/sessions").body == []
    assert dana.get(f"{API}/agent/sessions/{session_id}/history").status == 404


def test_a_delete_racing_a_turn_lets_exactly_one_win_and_leaves_nothing_behind(
        api: Client, db: Any, model: FakeProviders, tenant: str) -> None:
    alice = api.as_user("alice", tenant)
    rounds = 16
    sessions = [chat(alice, f"start {i}").body["session_id"] for i in range(rounds)]
    spent_before = day_counters(db, tenant, today(), table=TABLE).get("cost_micros", 0)
    rng = random.Random(7)
    model.enqueue("openai", *(Scripted(delay=rng.uniform(0, 0.08)) for _ in range(rounds)))
    waits = [rng.uniform(0, 0.1) for _ in range(rounds)]

    def race(i: int) -> tuple[Reply, Reply]:
        def remove() -> Reply:
            time.sleep(waits[i])
            return delete(alice, sessions[i])

        turn, removal = at_once([lambda: chat(alice, f"race {i}", sessions[i]), remove])
        return turn, removal

    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(race, range(rounds)))
    # A turn the delete beat (404) never reached the model: its reply stays queued, where the next test's turns would
    # take it instead of their own.
    left = model.discard_queued("openai")
    assert left <= sum(turn.status == 404 for turn, _ in outcomes), "only a refused turn leaves its reply unused"

    charged = 0
    seen: set[tuple[int, int]] = set()
    for session_id, (turn, removal) in zip(sessions, outcomes, strict=True):
        seen.add((turn.status, removal.status))
        assert (turn.status, removal.status) in {(200, 204), (404, 204), (200, 409)}, (turn.body, removal.body)
        if turn.status == 200:
            charged += round(turn.body["metadata"]["cost_cents"] * 10_000)
        if removal.status == 409:
            assert removal.body["code"] == "turn_in_progress"
            assert len(alice.get(f"{API}/sessions/{session_id}/history").body["messages"]) == 4, "nothing changed"
            assert delete(alice, session_id).status == 204, "once the turn ended, the delete goes through"
        assert partition(db, session_id) == [], f"nothing of {session_id} is left behind"
    spent = day_counters(db, tenant, today(), table=TABLE).get("cost_micros", 0) - spent_before
    assert spent == charged, "the answered turns are charged exactly; a refused one nothing"
    assert alice.get(f"{API}/sessions/my").body == []
    assert len(seen) >= 2, f"the race went only one way: {seen}"


def test_the_export_pages_hold_exactly_the_callers_data(api: Client, model: FakeProviders, tenant: str) -> None:
    alice, bob = api.as_user("alice", tenant), api.as_user("bob", tenant)
    mine = [chat(alice, f"alice question {i}").body["session_id"] for i in range(3)]
    model.enqueue("openai", Scripted(tool_calls=[("call_1", "create_ticket", {"title": "No internet since noon",
                                                                             "priority": "high"})]), Scripted())
    ticket_session = chat(alice, "Please create a ticket: no internet since noon").body["session_id"]
    chat(bob, "bob's secret")
    chat(api.as_user("alice", f"{tenant}-other"), "the other tenant's alice")

    pages, cursor = [], None
    while True:
        page = alice.get(f"{API}/me/export?limit=2" + (f"&cursor={cursor}" if cursor else ""))
        assert page.status == 200, page.body
        pages.append(page.body)
        cursor = page.body.get("next_cursor")
        if not cursor:
            break

    exported = [s for page in pages for s in page["sessions"]]
    assert sorted(s["id"] for s in exported) == sorted([*mine, ticket_session])
    texts = [m["content"] for s in exported for m in s["messages"]]
    assert {f"alice question {i}" for i in range(3)} <= set(texts)
    assert not any("bob" in t or "other tenant" in t for t in texts)
    (ticket,) = [t for page in pages for t in page["tickets"]]
    assert (ticket["session_id"], ticket["title"], ticket["priority"]) == (ticket_session, "No internet since noon",
                                                                          "high")
    assert bob.get(f"{API}/me/export").body["tickets"] == []
