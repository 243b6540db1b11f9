"""POST /api/v1/ai/chat/stream over real HTTP on the local server, its model the loopback fake (OpenAI's format).

The answer is read part by part from a plain socket (tests/sse.py), so a test can act mid-stream: check what the
model has sent so far, ask for a stop, or close the connection. What the stream said is checked against what the
table keeps (history, the raw items, the day counters) and against what the fake saw; after every test that moves
money, the ledger's invariant is checked on the server's whole table.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from counters import day_counters
from fake_providers import FakeProviders, Scripted, Usage
from ledger_invariant import assert_invariant
from sse import DONE, SseCall, deltas, metadata_of, of_type, start_of, types

from aichat.core.pricing import MICROS_PER_CENT, PriceTable
from aichat.core.pricing import Usage as Tokens
from aichat.providers.registry import DEFAULT_MODELS
from aichat.table import keys
from contract.local_api import Client, User, fake_model_env, local_server, table_client
from localdev import process

pytestmark = pytest.mark.dynamodb_local

API = "/api/v1/ai"
STREAM = f"{API}/chat/stream"
TABLE = "ai-chat-stream"
MODEL = DEFAULT_MODELS["openai"]  # what the server answers with, and is priced at, with LLM_PROVIDER=openai
WAIT = 10.0  # the longest any one wait here takes


@pytest.fixture(scope="module")
def stream_server(model: FakeProviders, dynamodb_local_url: str) -> Iterator[process.RunningServer]:
    """A server of its own whose model calls go to the fake; a stop is noticed within 0.05 s."""
    env = fake_model_env(model.openai_url, STOP_CHECK_SECONDS="0.05")
    with local_server(dynamodb_local_url, "--quiet", table=TABLE, env=env) as running:
        yield running


@pytest.fixture(scope="module")
def api(stream_server: process.RunningServer) -> Client:
    return Client(stream_server)


@pytest.fixture(scope="module")
def db(stream_server: process.RunningServer) -> Any:
    """The server's DynamoDB Local, with the credentials the server uses (its in-memory data is per access key)."""
    return table_client(stream_server)


@pytest.fixture(autouse=True)
def nothing_left_queued(model: FakeProviders) -> Iterator[None]:
    yield
    assert not model._queues["openai"], "a test left a scripted reply unused"


# --- helpers -------------------------------------------------------------------------------------------------


def someone(api: Client) -> tuple[User, str, str]:
    """A user of a tenant of their own: (user, user id, tenant id)."""
    user_id, tenant = f"user-{uuid.uuid4().hex[:8]}", f"stream-{uuid.uuid4().hex[:8]}"
    return api.as_user(user_id, tenant), user_id, tenant


def open_stream(api: Client, user: User | None, body: dict[str, Any], key: str | None = None) -> SseCall:
    return SseCall(api.server.url, STREAM, body, token=user.token if user else None, timeout=WAIT,
                   extra_headers={"Idempotency-Key": key} if key else None)


def words(n: int) -> list[str]:
    return [f"{'' if i == 0 else ' '}word{i:02d}" for i in range(n)]


def until(condition: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"gave up after {timeout}s waiting until {what}"
        time.sleep(0.02)


def history(user: User, session_id: str) -> list[dict[str, Any]]:
    reply = user.get(f"{API}/sessions/{session_id}/history")
    assert reply.status == 200, reply.raw
    messages: list[dict[str, Any]] = reply.body["messages"]
    return messages


def settled_reply(user: User, session_id: str) -> dict[str, Any]:
    """The session's one reply once its turn has settled (user message ok, the reply stored)."""
    found: list[dict[str, Any]] = []

    def settled() -> bool:
        found[:] = history(user, session_id)
        return [(m["role"], m["status"]) for m in found] == [("user", "ok"), ("assistant", "ok")]

    until(settled, f"the turn of session {session_id} settled")
    return found[1]


def item(db: Any, pk: str, sk: str) -> dict[str, Any]:
    found: dict[str, Any] = db.get_item(TableName=TABLE, Key={"PK": {"S": pk}, "SK": {"S": sk}},
                                        ConsistentRead=True).get("Item", {})
    assert found, f"no item {pk} / {sk}"
    return found


def user_message(db: Any, start: dict[str, Any]) -> dict[str, Any]:
    """The raw user message of the turn a stream's `start` part names."""
    ids = start["messageMetadata"]
    return item(db, keys.session_pk(ids["session_id"]), keys.message_sk(ids["user_message_id"]))


def charged(db: Any, tenant: str, user_id: str, start: dict[str, Any]) -> tuple[dict[str, int], dict[str, int]]:
    """The tenant's and the user's counters for the day the turn was charged to."""
    day = user_message(db, start)["day"]["S"]
    return day_counters(db, tenant, day, table=TABLE), day_counters(db, tenant, day, user=user_id, table=TABLE)


def price(usage: Usage) -> int:
    return PriceTable().cost_micros(MODEL, Tokens(input_tokens=usage.input, output_tokens=usage.output))


# --- the stream as it should be -----------------------------------------------------------------------------


def test_the_parts_arrive_in_protocol_order_and_the_text_metadata_and_charge_match_what_is_stored(
        api: Client, model: FakeProviders, db: Any) -> None:
    user, user_id, tenant = someone(api)
    pieces, usage = ["Your", " line", " is", " up", " again."], Usage(input=57, output=9)
    model.enqueue("openai", Scripted(deltas=pieces, usage=usage))
    with open_stream(api, user, {"message": "Is my line up?", "session_id": None}) as call:
        assert call.status == 200
        assert call.headers["content-type"].startswith("text/event-stream")
        assert call.headers["x-vercel-ai-ui-message-stream"] == "v1"
        parts = call.read_to_end()

    assert types(parts) == ["start", "start-step", "text-start", *["text-delta"] * len(pieces), "text-end",
                            "finish-step", "message-metadata", "finish", DONE]
    start, (text_start,), (text_end,) = start_of(parts), of_type(parts, "text-start"), of_type(parts, "text-end")
    assert [p["delta"] for p in of_type(parts, "text-delta")] == pieces, "each piece the model sent, as it sent it"
    assert {p["id"] for p in of_type(parts, "text-delta")} == {text_start["id"]} == {text_end["id"]}
    assert of_type(parts, "finish") == [{"type": "finish", "finishReason": "stop"}]

    session_id = start["messageMetadata"]["session_id"]
    stored = settled_reply(user, session_id)
    assert stored["content"] == deltas(parts) == "".join(pieces)
    assert stored["id"] != start["messageMetadata"]["user_message_id"]
    assert history(user, session_id)[0]["id"] == start["messageMetadata"]["user_message_id"]

    cost = price(usage)
    meta = metadata_of(parts)
    assert meta == {"session_id": session_id, "tokens": usage.input + usage.output, "input_tokens": usage.input,
                    "output_tokens": usage.output, "cost_cents": cost / MICROS_PER_CENT, "model": meta["model"],
                    "provider": "openai", "message_id": stored["id"], "truncated": False, "stopped": None,
                    "estimated": False}
    assert meta["model"].startswith(MODEL)
    assert stored["stopped"] is None and stored["estimated"] is False

    tenant_day, user_day = charged(db, tenant, user_id, start)
    assert tenant_day["cost_micros"] == user_day["cost_micros"] == cost, "charged the fake's usage at the price"
    assert tenant_day["tokens"] == usage.input + usage.output
    assert_invariant(db, TABLE)


def test_the_first_text_delta_reaches_the_client_before_the_model_has_sent_its_last_event(
        api: Client, model: FakeProviders) -> None:
    user, _, _ = someone(api)
    release = threading.Event()
    model.enqueue("openai", Scripted(deltas=["Held", " back", " reply."], hold_last=release))
    index = len(model.streams)
    try:
        with open_stream(api, user, {"message": "hello", "session_id": None}) as call:
            assert call.status == 200
            call.read_until(lambda parts: bool(of_type(parts, "text-delta")))
            log = model.streams[index]
            assert not log.final_sent and not log.done.is_set(), "the model is still holding its last event"
            release.set()
            parts = call.read_to_end()
    finally:
        release.set()
    assert types(parts)[-2:] == ["finish", DONE]
    assert deltas(parts) == "Held back reply."
    log = model.wait_stream_done(index, WAIT)
    assert log.final_sent and not log.closed_early


def test_a_client_that_leaves_mid_stream_changes_nothing_the_turn_reads_the_model_to_the_end_and_settles(
        api: Client, model: FakeProviders, db: Any) -> None:
    user, user_id, tenant = someone(api)
    pieces, usage = words(20), Usage(input=61, output=20)
    model.enqueue("openai", Scripted(deltas=pieces, usage=usage, pause=0.02))
    index = len(model.streams)
    call = open_stream(api, user, {"message": "tell me a long story", "session_id": None})
    try:
        assert call.status == 200
        parts = call.read_until(lambda parts: len(of_type(parts, "text-delta")) == 3)
        assert not model.streams[index].final_sent, "the client leaves while the model is still writing"
    finally:
        call.close()
    start = start_of(parts)
    assert deltas(parts) == "".join(pieces[:3]), "the client left after three pieces"

    stored = settled_reply(user, start["messageMetadata"]["session_id"])
    assert stored["content"] == "".join(pieces), "the whole reply is stored, not what the client heard"
    assert stored["stopped"] is None and stored["estimated"] is False
    log = model.wait_stream_done(index, WAIT)
    assert log.final_sent and not log.closed_early, "the turn read the model's stream to its end"
    tenant_day, user_day = charged(db, tenant, user_id, start)
    assert tenant_day["cost_micros"] == user_day["cost_micros"] == price(usage), "charged the model's final usage"
    assert_invariant(db, TABLE)


def test_a_client_that_dropped_and_sends_again_under_its_key_waits_then_gets_the_whole_reply_charged_once(
        api: Client, model: FakeProviders, db: Any) -> None:
    user, user_id, tenant = someone(api)
    pieces, usage = words(20), Usage(input=58, output=20)
    model.enqueue("openai", Scripted(deltas=pieces, usage=usage, pause=0.03))
    index, key, body = len(model.streams), str(uuid.uuid4()), {"message": "tell me a long story", "session_id": None}
    call = open_stream(api, user, body, key)
    try:
        first = call.read_until(lambda parts: len(of_type(parts, "text-delta")) == 2)
    finally:
        call.close()  # the connection drops mid-reply; the turn goes on on the server
    with open_stream(api, user, body, key) as during:
        assert refused_as_json(during, 409)["code"] == "request_in_progress"
    model.wait_stream_done(index, WAIT)
    session_id = start_of(first)["messageMetadata"]["session_id"]
    settled_reply(user, session_id)
    with open_stream(api, user, body, key) as again:
        assert again.status == 200
        parts = again.read_to_end()
    assert start_of(parts) == start_of(first), "the first turn's session and user message"
    assert deltas(parts) == "".join(pieces) and types(parts)[-2:] == ["finish", DONE]
    assert metadata_of(parts)["cost_cents"] * MICROS_PER_CENT == pytest.approx(price(usage))
    assert len(model.streams) == index + 1, "the model was asked once"
    tenant_day, user_day = charged(db, tenant, user_id, start_of(first))
    assert tenant_day["cost_micros"] == user_day["cost_micros"] == price(usage), "charged once"
    assert len(history(user, session_id)) == 2
    assert_invariant(db, TABLE)


def test_a_stop_ends_the_stream_with_finish_keeps_the_prefix_closes_the_models_stream_and_charges_within_the_reservation(  # noqa: E501
        api: Client, model: FakeProviders, db: Any) -> None:
    user, user_id, tenant = someone(api)
    pieces = words(40)
    model.enqueue("openai", Scripted(deltas=pieces, usage=Usage(input=70, output=40), pause=0.05))
    index = len(model.streams)
    with open_stream(api, user, {"message": "write a lot", "session_id": None}) as call:
        assert call.status == 200
        call.read_until(lambda parts: len(of_type(parts, "text-delta")) == 3)
        start = start_of(call.parts)
        session_id, turn_id = start["messageMetadata"]["session_id"], start["messageMetadata"]["user_message_id"]
        stop = user.post(f"{API}/sessions/{session_id}/stop", {})
        assert stop.status == 200, stop.raw
        assert stop.body == {"session_id": session_id, "message_id": turn_id, "ended": False}
        parts = call.read_to_end()

    assert types(parts)[-6:] == ["text-end", "finish-step", "data-ending", "message-metadata", "finish", DONE]
    assert of_type(parts, "finish") == [{"type": "finish", "finishReason": "other"}]
    assert not of_type(parts, "error")
    full, streamed = "".join(pieces), deltas(parts)
    assert streamed and full.startswith(streamed) and len(streamed) < len(full), "a strict prefix of the reply"
    meta = metadata_of(parts)
    assert (meta["stopped"], meta["estimated"]) == ("stopped", True)

    stored = settled_reply(user, session_id)
    assert stored["content"] == streamed and (stored["stopped"], stored["estimated"]) == ("stopped", True)
    log = model.wait_stream_done(index, WAIT)
    assert log.closed_early and not log.final_sent, "the model's stream was closed before its last event"

    reserved = int(user_message(db, start)["reserved_micros"]["N"])
    tenant_day, _ = charged(db, tenant, user_id, start)
    assert 0 < tenant_day["cost_micros"] <= reserved
    assert tenant_day["cost_micros"] == round(meta["cost_cents"] * MICROS_PER_CENT)
    session = item(db, keys.session_pk(session_id), keys.SESSION_SK)
    assert session["stop_turn"] == {"S": turn_id}, "the stop went through the session's item"
    assert_invariant(db, TABLE)


def test_the_stop_route_is_404_for_another_users_session_and_names_no_turn_for_a_session_without_one(
        api: Client, model: FakeProviders) -> None:
    owner, _, tenant = someone(api)
    created = owner.post(f"{API}/sessions", {"session_type": "customer_support"})
    assert created.status == 201, created.raw
    session_id = created.body["id"]

    stop = owner.post(f"{API}/sessions/{session_id}/stop", {})
    assert stop.status == 200, stop.raw
    assert stop.body == {"session_id": session_id, "message_id": None, "ended": True}
    for intruder in (api.as_user("someone-else", tenant), someone(api)[0]):
        refused = intruder.post(f"{API}/sessions/{session_id}/stop", {})
        assert (refused.status, refused.body["code"]) == (404, "session_not_found")

    calls = len(model.requests)
    model.enqueue("openai", Scripted(deltas=["Done."]))
    with open_stream(api, owner, {"message": "hi", "session_id": session_id}) as call:
        assert types(call.read_to_end())[-2:] == ["finish", DONE]
    refused = api.as_user("someone-else", tenant).post(f"{API}/sessions/{session_id}/stop", {})
    assert (refused.status, refused.body["code"]) == (404, "session_not_found"), "a live turn changes nothing"
    assert len(model.requests) == calls + 1


# --- refused before the stream starts ---------------------------------------------------------------------------


def refused_as_json(call: SseCall, status: int) -> dict[str, Any]:
    assert call.status == status
    assert call.headers["content-type"].startswith("application/json"), call.headers
    assert "x-vercel-ai-ui-message-stream" not in call.headers
    body: dict[str, Any] = call.json()
    return body


def test_refusals_before_the_stream_are_json_errors_with_their_status_and_charge_nothing(
        api: Client, model: FakeProviders, db: Any) -> None:
    calls = len(model.requests)
    with open_stream(api, None, {"message": "hi", "session_id": None}) as call:
        refused_as_json(call, 401)

    user, user_id, tenant = someone(api)
    with open_stream(api, user, {"message": "", "session_id": None}) as call:
        body = refused_as_json(call, 422)
    assert body["code"] == "invalid_input" and body["field"] == "message", body

    created = user.post(f"{API}/sessions", {"session_type": "customer_support"})
    assert created.status == 201, created.raw
    with open_stream(api, api.as_user("someone-else", tenant), {"message": "hi", "session_id": created.body["id"]}
                     ) as call:
        assert refused_as_json(call, 404)["code"] == "session_not_found"

    broke = f"broke-{uuid.uuid4().hex[:8]}"  # a tenant whose config item allows it nothing
    db.put_item(TableName=TABLE, Item={"PK": {"S": keys.tenant_pk(broke)}, "SK": {"S": keys.CONFIG_SK},
                                       "daily_cost_limit_cents": {"N": "0"}})
    with open_stream(api, api.as_user("spender", broke), {"message": "hi", "session_id": None}) as call:
        body = refused_as_json(call, 400)
    assert body["code"] == "daily_cost_limit_exceeded" and body["limit"] == 0, body

    assert len(model.requests) == calls, "no refused request reached the model"
    today = time.strftime("%Y-%m-%d", time.gmtime())
    for counters in (day_counters(db, tenant, today, table=TABLE), day_counters(db, broke, today, table=TABLE),
                     day_counters(db, tenant, today, user="someone-else", table=TABLE),
                     day_counters(db, tenant, today, user=user_id, table=TABLE)):
        assert counters.get("cost_micros", 0) == 0, counters
    assert_invariant(db, TABLE)


# --- a model that fails mid-stream --------------------------------------------------------------------------------


def test_a_model_stream_cut_before_its_usage_ends_with_an_error_part_and_keeps_the_text_estimated(
        api: Client, model: FakeProviders, db: Any) -> None:
    user, user_id, tenant = someone(api)
    pieces = ["Half", " of", " an", " answer"]
    model.enqueue("openai", Scripted(deltas=pieces, cut_before_usage=True))
    with open_stream(api, user, {"message": "answer me", "session_id": None}) as call:
        assert call.status == 200
        parts = call.read_to_end()

    assert deltas(parts) == "".join(pieces)
    kinds = types(parts)
    # useChat stops at `error`: the code and the stored reply's metadata come before it (docs/streaming.md).
    assert kinds[-5:] == ["data-error", "message-metadata", "error", "finish", DONE], kinds
    assert kinds.index("text-end") < kinds.index("data-error")
    (data_error,) = of_type(parts, "data-error")
    assert data_error["data"]["code"] == "provider_error" and data_error["transient"] is True
    assert of_type(parts, "finish") == [{"type": "finish", "finishReason": "error"}]
    meta = metadata_of(parts)
    assert (meta["stopped"], meta["estimated"]) == ("provider_error", True)

    start = start_of(parts)
    stored = settled_reply(user, start["messageMetadata"]["session_id"])
    assert stored["content"] == "".join(pieces)
    assert (stored["stopped"], stored["estimated"]) == ("provider_error", True)
    reserved = int(user_message(db, start)["reserved_micros"]["N"])
    tenant_day, _ = charged(db, tenant, user_id, start)
    assert 0 < tenant_day["cost_micros"] <= reserved
    assert_invariant(db, TABLE)
