"""Issue 27, R14: a person takes the session while a turn runs, over real HTTP on the local server.

The model (the loopback fake, in OpenAI's and in Anthropic's wire format, streamed and not) is held mid-turn, asking
for `create_ticket`, while the customer escalates and a person's first reply takes the session. Released after the
take, the turn runs no tool, stores no model text after the person's reply, is charged for what the provider
answered and ends `stopped: taken_by_person`; the ledger's invariant holds on the whole table.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fake_providers import Api, FakeProviders, Scripted
from ledger_invariant import assert_invariant, scan
from sse import DONE, SseCall, deltas, metadata_of, of_type, start_of, types

from aichat.core.pricing import MICROS_PER_CENT
from contract.local_api import Client, Reply, User, fake_provider_env, local_server, table_client
from localdev import process

pytestmark = pytest.mark.dynamodb_local

API = "/api/v1/ai"
WAIT = 10.0  # the longest any one wait here takes
TICKET_CALL = ("call_ticket_1", "create_ticket", {"title": "Bill doubled", "priority": "high", "description": None})
MODEL_TEXT = "Let me file a ticket for that."


@pytest.fixture(scope="module", params=["openai", "anthropic"])
def provider(request: pytest.FixtureRequest) -> Api:
    api: Api = request.param
    return api


@pytest.fixture(scope="module")
def taken_server(model: FakeProviders, dynamodb_local_url: str, provider: Api) -> Iterator[process.RunningServer]:
    """A server of its own per provider, its model calls going to the fake; a stop is noticed within 0.05 s."""
    env = fake_provider_env(model, provider, STOP_CHECK_SECONDS="0.05")
    with local_server(dynamodb_local_url, "--quiet", table=f"ai-chat-taken-{provider}", env=env) as running:
        yield running


@pytest.fixture(scope="module")
def api(taken_server: process.RunningServer) -> Client:
    return Client(taken_server)


@pytest.fixture(scope="module")
def db(taken_server: process.RunningServer) -> Any:
    return table_client(taken_server)


@pytest.fixture
def table(provider: Api) -> str:
    return f"ai-chat-taken-{provider}"


@pytest.fixture(autouse=True)
def nothing_left_queued(model: FakeProviders, provider: Api) -> Iterator[None]:
    yield
    assert not model._queues[provider], "a test left a scripted reply unused"


def until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"gave up after {WAIT}s waiting until {what}"
        time.sleep(0.02)


def new_session(api: Client) -> tuple[User, str, str]:
    """A customer of a tenant of their own and a new session of theirs: (customer, tenant, session id)."""
    tenant = f"taken-{uuid.uuid4().hex[:8]}"
    person = api.as_user("carol", tenant)
    created = person.post(f"{API}/sessions", {"session_type": "customer_support"})
    assert created.status == 201, created.raw
    return person, tenant, created.body["id"]


def take(api: Client, person: User, tenant: str, session_id: str) -> dict[str, Any]:
    """The customer escalates mid-turn and a person's first reply takes the session; that reply."""
    escalated = person.post(f"{API}/sessions/{session_id}/escalate", {"reason": "I want a person"})
    assert (escalated.status, escalated.body["status"]) == (200, "escalated"), escalated.raw
    dana = User(api, api.token("dana", tenant, roles=["support"], name="Dana Reyes"))
    reply = dana.post(f"{API}/agent/sessions/{session_id}/messages", {"content": "Dana here, I have this."})
    assert reply.status == 201, reply.raw
    body: dict[str, Any] = reply.body
    return body


def settled_history(person: User, session_id: str) -> list[dict[str, Any]]:
    """The session's messages once no turn is pending in it."""
    found: list[dict[str, Any]] = []

    def settled() -> bool:
        page = person.get(f"{API}/sessions/{session_id}/history")
        assert page.status == 200, page.raw
        found[:] = page.body["messages"]
        return bool(found) and all(m["status"] != "pending" for m in found)

    until(settled, f"the turn of session {session_id} settled")
    return found


def assert_overtaken(api: Client, db: Any, table: str, person: User, session_id: str, agent_reply: dict[str, Any],
                     stopped: str | None, message_id: str | None) -> dict[str, Any]:
    """What every overtaken turn leaves: no ticket, no text after the person, charged, marked; the stored reply."""
    assert stopped == "taken_by_person"
    messages = settled_history(person, session_id)
    ids = [m["id"] for m in messages]
    assert [m["role"] for m in messages[ids.index(agent_reply["id"]) + 1:]] == [], "nothing after the person's reply"
    (stored,) = [m for m in messages if m["role"] == "assistant" and m["stopped"] == "taken_by_person"]
    assert (stored["id"], stored["content"]) == (message_id, ""), "the overtaken turn's reply: empty, marked"
    joined = next(i for i, m in enumerate(messages) if m.get("handoff") == "joined")
    assert ids.index(stored["id"]) < joined, "it began before the person joined, so it reads before them"
    assert stored["function_calls"] == [], "no tool ran"

    tickets = [i for i in scan(db, table) if i["PK"]["S"].startswith("TICKET#")
               and i.get("session_id", {}).get("S") == session_id]
    assert tickets == [], "create_ticket did not run: no ticket stored"
    events = [line for line in api.server.output().splitlines() if "TicketCreated" in line and session_id in line]
    assert events == [], "no TicketCreated event"

    session = person.get(f"{API}/sessions/{session_id}/history").body["metadata"]
    assert session["status"] == "escalated" and session["taken_by_name"] == "Dana Reyes"
    counter = db.get_item(TableName=table, Key={"PK": {"S": f"SESSION#{session_id}"}, "SK": {"S": "SESSION"}},
                          ConsistentRead=True)["Item"]
    charged = int(counter["total_cost_micros"]["N"])
    assert charged > 0, "charged for what the provider answered"
    assert charged == round(session["total_cost"] * MICROS_PER_CENT)
    assert_invariant(db, table)
    return stored


def test_a_chat_a_person_takes_mid_turn_runs_no_tool_and_stores_no_text_after_the_person(
        api: Client, model: FakeProviders, db: Any, table: str, provider: Api) -> None:
    person, tenant, session_id = new_session(api)
    release = threading.Event()
    model.enqueue(provider, Scripted(text=MODEL_TEXT, tool_calls=[TICKET_CALL], hold_last=release))
    asked = len(model.sent(provider))
    answer: list[Reply] = []
    chat = threading.Thread(target=lambda: answer.append(
        person.post(f"{API}/chat", {"message": "My bill doubled, file a ticket", "session_id": session_id})))
    chat.start()
    try:
        until(lambda: len(model.sent(provider)) == asked + 1, "the model was asked")
        agent_reply = take(api, person, tenant, session_id)
    finally:
        release.set()
        chat.join(WAIT)
    (reply,) = answer
    assert reply.status == 200, reply.raw
    assert (reply.body["message"], reply.body["function_calls"]) == ("", [])
    assert len(model.sent(provider)) == asked + 1, "no model call after the take"

    stored = assert_overtaken(api, db, table, person, session_id, agent_reply, reply.body["metadata"]["stopped"],
                              reply.body["metadata"]["message_id"])
    assert stored["estimated"] is False, "charged the provider's own usage"
    assert reply.body["metadata"]["cost_cents"] > 0


def test_a_stream_a_person_takes_mid_turn_stops_runs_no_tool_and_stores_no_text_after_the_person(
        api: Client, model: FakeProviders, db: Any, table: str, provider: Api) -> None:
    person, tenant, session_id = new_session(api)
    release = threading.Event()
    model.enqueue(provider, Scripted(text=MODEL_TEXT, tool_calls=[TICKET_CALL], hold_last=release))
    asked = len(model.sent(provider))
    try:
        with SseCall(api.server.url, f"{API}/chat/stream", {"message": "My bill doubled, file a ticket",
                                                            "session_id": session_id},
                     token=person.token, timeout=WAIT) as call:
            assert call.status == 200
            call.read_until(lambda parts: deltas(parts) == MODEL_TEXT)  # the model is held after its tool call
            agent_reply = take(api, person, tenant, session_id)
            parts = call.read_to_end()  # the take stops it while the model still holds its last events
    finally:
        release.set()
    assert deltas(parts) == MODEL_TEXT, "no text after the take (what streamed before it cannot be unshown)"
    assert not of_type(parts, "tool-input-available") and not of_type(parts, "error")
    assert of_type(parts, "finish") == [{"type": "finish", "finishReason": "other"}]
    assert types(parts)[-1] == DONE
    assert len(model.sent(provider)) == asked + 1, "no model call after the take"

    meta = metadata_of(parts)
    stored = assert_overtaken(api, db, table, person, session_id, agent_reply, meta["stopped"], meta["message_id"])
    assert start_of(parts)["messageMetadata"]["session_id"] == session_id
    assert meta["cost_cents"] > 0 and stored["estimated"] is True, "stopped mid-reply: charged an upper bound"
