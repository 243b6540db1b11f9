"""A stop over HTTP, on the local server, while the model (the loopback fake, in OpenAI's and in Anthropic's wire
format) has gone silent: the server hangs up the model's connection at the stop, and charges an output token per
byte that arrived, text and tool-call arguments alike.

The fake holds its last events far longer than the server's read timeout and records when the server closed its
connection; a hang-up is a wait for that with a limit of STOP_CHECK_SECONDS + 2 s from the stop, never an
elapsed-time assert. After each test the ledger's invariant is checked on the server's whole table.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from counters import day_counters
from fake_providers import HOLD_SECONDS, Api, FakeProviders, Scripted, StreamLog, stream_events
from ledger_invariant import assert_invariant
from sse import DONE, SseCall, deltas, metadata_of, of_type, start_of, types

from aichat.core.pricing import PriceTable
from aichat.providers.registry import DEFAULT_MODELS
from aichat.table import keys
from contract.local_api import Client, User, fake_provider_env, local_server, table_client
from localdev import process

pytestmark = pytest.mark.dynamodb_local

API = "/api/v1/ai"
STREAM = f"{API}/chat/stream"
APIS: list[Api] = ["openai", "anthropic"]
STOP_CHECK_SECONDS = 0.05
HUNG_UP_WITHIN = STOP_CHECK_SECONDS + 2.0  # from the stop to the fake seeing its connection closed
READ_TIMEOUT = 20.0  # the server's LLM_TIMEOUT_SECONDS: a hang-up is never this timeout
WAIT = 10.0  # the longest any other wait here takes
assert HOLD_SECONDS > READ_TIMEOUT > HUNG_UP_WITHIN, "the fake stays silent past anything but a hang-up"
ARGUMENTS = '{"title": "Line drops every night", "priority": "urgent", "description": "since Monday, at 2 am"}'


class Served:
    """A server of its own whose model is the fake in one API's format, and what a test needs of it."""

    def __init__(self, api: Api, running: process.RunningServer) -> None:
        self.api = api
        self.client = Client(running)
        self.db = table_client(running)
        self.table = table_of(api)


def table_of(api: str) -> str:
    return f"ai-chat-hang-up-{api}"


def model_env(api: str, model: FakeProviders) -> dict[str, str]:
    """The server's settings: the fake in `api`'s format, never retried, a stop noticed within 0.05 s."""
    return fake_provider_env(model, api, STOP_CHECK_SECONDS=str(STOP_CHECK_SECONDS),
                             LLM_TIMEOUT_SECONDS=str(READ_TIMEOUT))


@pytest.fixture(scope="module", params=APIS)
def served(request: pytest.FixtureRequest, model: FakeProviders, dynamodb_local_url: str) -> Iterator[Served]:
    api: Api = request.param
    with local_server(dynamodb_local_url, "--quiet", table=table_of(api), env=model_env(api, model)) as running:
        yield Served(api, running)


@pytest.fixture(autouse=True)
def nothing_left_queued(model: FakeProviders) -> Iterator[None]:
    yield
    assert not any(model._queues.values()), "a test left a scripted reply unused"


@pytest.fixture
def held() -> Iterator[threading.Event]:
    """What the fake waits for before its last events: set only after a test, so the fake stays silent in it."""
    event = threading.Event()
    yield event
    event.set()


# --- helpers -------------------------------------------------------------------------------------------------


def someone(served: Served) -> tuple[User, str, str]:
    """A user of a tenant of their own: (user, user id, tenant id)."""
    user_id, tenant = f"user-{uuid.uuid4().hex[:8]}", f"hang-up-{uuid.uuid4().hex[:8]}"
    return served.client.as_user(user_id, tenant), user_id, tenant


def open_stream(served: Served, user: User, message: str) -> SseCall:
    return SseCall(served.client.server.url, STREAM, {"message": message, "session_id": None}, token=user.token,
                   timeout=WAIT)


def until(condition: Any, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"gave up after {WAIT}s waiting until {what}"
        time.sleep(0.01)


def silent(model: FakeProviders, index: int, reply: Scripted) -> StreamLog:
    """The fake's `index`th stream once it has written every event before those it holds: it sends nothing more."""
    until(lambda: len(model.streams) > index, "the model's stream began")
    log = model.streams[index]
    head, _ = stream_events(log.api, model.sent(log.api)[-1], reply)
    until(lambda: log.events >= len(head), f"the model wrote its first {len(head)} events")
    return log


def stop(user: User, parts: list[Any]) -> str:
    """Ask for the turn's stop; the session's id."""
    session_id = start_of(parts)["messageMetadata"]["session_id"]
    stopped = user.post(f"{API}/sessions/{session_id}/stop", {})
    assert stopped.status == 200, stopped.raw
    return str(session_id)


def hung_up(model: FakeProviders, index: int) -> None:
    """The fake saw its connection closed while it was silent, within HUNG_UP_WITHIN seconds of now (the stop)."""
    log = model.wait_stream_done(index, timeout=HUNG_UP_WITHIN)
    assert log.closed_early and log.closed_while_waiting and not log.final_sent, log


def stored_reply(served: Served, user: User, session_id: str) -> dict[str, Any]:
    """The raw item of the session's one reply, once its turn has settled."""
    found: list[dict[str, Any]] = []

    def settled() -> bool:
        reply = user.get(f"{API}/sessions/{session_id}/history")
        assert reply.status == 200, reply.raw
        found[:] = reply.body["messages"]
        return [(m["role"], m["status"]) for m in found] == [("user", "ok"), ("assistant", "ok")]

    until(settled, f"the turn of session {session_id} settled")
    key = {"PK": {"S": keys.session_pk(session_id)}, "SK": {"S": keys.message_sk(found[1]["id"])}}
    item: dict[str, Any] = served.db.get_item(TableName=served.table, Key=key, ConsistentRead=True)["Item"]
    return item


def charged_day(served: Served, parts: list[Any]) -> str:
    """The UTC day the turn a stream's `start` part names was charged to (its user message's `day`)."""
    ids = start_of(parts)["messageMetadata"]
    key = {"PK": {"S": keys.session_pk(ids["session_id"])}, "SK": {"S": keys.message_sk(ids["user_message_id"])}}
    return str(served.db.get_item(TableName=served.table, Key=key, ConsistentRead=True)["Item"]["day"]["S"])


def number(item: dict[str, Any], name: str) -> int:
    return int(item[name]["N"])


# --- R6: the model's connection is closed at the stop -----------------------------------------------------------


def test_a_stop_while_the_model_is_silent_closes_the_models_connection_at_once_not_at_the_read_timeout(
        served: Served, model: FakeProviders, held: threading.Event) -> None:
    user, _, _ = someone(served)
    reply = Scripted(deltas=["Let me", " look", " into it"], hold_last=held)
    model.enqueue(served.api, reply)
    index = len(model.streams)
    with open_stream(served, user, "Why is my line slow?") as call:
        assert call.status == 200
        parts = call.read_until(lambda parts: len(of_type(parts, "text-delta")) == 3)
        silent(model, index, reply)
        session_id = stop(user, parts)
        hung_up(model, index)
        parts = call.read_to_end()

    assert types(parts)[-2:] == ["finish", DONE] and not of_type(parts, "error")
    assert deltas(parts) == "Let me look into it"
    meta = metadata_of(parts)
    assert (meta["stopped"], meta["estimated"]) == ("stopped", True)
    stored = stored_reply(served, user, session_id)
    assert stored["content"] == {"S": "Let me look into it"}
    assert number(stored, "output_tokens") == len(b"Let me look into it"), "an output token per byte that arrived"
    assert_invariant(served.db, served.table)


# --- R7: tool-call argument bytes that arrived are charged --------------------------------------------------------


def test_a_stop_while_tool_arguments_stream_charges_an_output_token_per_argument_byte_that_arrived(
        served: Served, model: FakeProviders, held: threading.Event) -> None:
    user, user_id, tenant = someone(served)
    reply = Scripted(tool_calls=[("call_1", "create_ticket", ARGUMENTS)], hold_last=held)
    model.enqueue(served.api, reply)
    index = len(model.streams)
    with open_stream(served, user, "My line drops, open a ticket") as call:
        assert call.status == 200
        parts = call.read_until(lambda parts: bool(of_type(parts, "start-step")))
        silent(model, index, reply)  # every argument byte sent; what the model holds back is only its usage
        session_id = stop(user, parts)
        hung_up(model, index)
        parts = call.read_to_end()

    assert types(parts)[-2:] == ["finish", DONE] and not of_type(parts, "error")
    assert deltas(parts) == "" and not of_type(parts, "tool-input-available"), "an unfinished call is never run"
    meta = metadata_of(parts)
    assert (meta["stopped"], meta["estimated"]) == ("stopped", True)
    assert meta["output_tokens"] == len(ARGUMENTS.encode()), "an output token per argument byte that arrived"

    stored = stored_reply(served, user, session_id)
    assert number(stored, "output_tokens") == len(ARGUMENTS.encode())
    # An estimate is priced as the worst case of what arrived: every input token it can hold, at the dearest rate.
    cost = PriceTable().worst_case_micros(DEFAULT_MODELS[served.api], number(stored, "input_tokens"),
                                          len(ARGUMENTS.encode()))
    assert number(stored, "cost_micros") == cost
    assert cost > PriceTable().worst_case_micros(DEFAULT_MODELS[served.api], number(stored, "input_tokens"), 0)
    day = charged_day(served, parts)
    assert day_counters(served.db, tenant, day, table=served.table)["cost_micros"] == cost
    assert day_counters(served.db, tenant, day, user=user_id, table=served.table)["cost_micros"] == cost
    assert_invariant(served.db, served.table)
