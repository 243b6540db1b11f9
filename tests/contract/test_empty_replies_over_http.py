"""A reply with no text (an empty answer, or a stop before the first token) over HTTP on the local server, its model
the loopback fake in Anthropic's format refusing what Anthropic refuses: the session's next turn is still answered,
and the model is never sent an empty assistant message."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fake_providers import FakeProviders, Scripted, anthropic_refusal
from ledger_invariant import assert_invariant
from sse import SseCall, of_type, start_of, types

from contract.local_api import Client, User, fake_provider_env, local_server, table_client
from localdev import process

pytestmark = pytest.mark.dynamodb_local

API = "/api/v1/ai"
TABLE = "ai-chat-empty-replies"
WAIT = 10.0  # the longest any one read of a stream waits


@pytest.fixture(scope="module")
def model() -> Iterator[FakeProviders]:
    fake = FakeProviders(anthropic_rules=True)
    yield fake
    fake.close()


@pytest.fixture(scope="module")
def anthropic_server(model: FakeProviders, dynamodb_local_url: str) -> Iterator[process.RunningServer]:
    """A server of its own whose model is Anthropic at the fake, never retried; a stop is noticed within 0.05 s."""
    env = fake_provider_env(model, "anthropic", STOP_CHECK_SECONDS="0.05")
    with local_server(dynamodb_local_url, "--quiet", table=TABLE, env=env) as running:
        yield running


@pytest.fixture(scope="module")
def api(anthropic_server: process.RunningServer) -> Client:
    return Client(anthropic_server)


@pytest.fixture(autouse=True)
def nothing_left_queued(model: FakeProviders) -> Iterator[None]:
    yield
    assert not model._queues["anthropic"], "a test left a scripted reply unused"


def someone(api: Client) -> User:
    return api.as_user(f"user-{uuid.uuid4().hex[:8]}", f"empty-{uuid.uuid4().hex[:8]}")


def chat(user: User, message: str, session_id: str | None) -> dict[str, Any]:
    reply = user.post(f"{API}/chat", {"message": message, "session_id": session_id})
    assert reply.status == 200, reply.raw
    body: dict[str, Any] = reply.body
    return body


def settled_history(user: User, session_id: str) -> list[dict[str, Any]]:
    """The session's messages once its first turn has settled (the stream settles it after the client has read)."""
    deadline = time.monotonic() + WAIT
    while True:
        messages: list[dict[str, Any]] = user.get(f"{API}/sessions/{session_id}/history").body["messages"]
        if [(m["role"], m["status"]) for m in messages] == [("user", "ok"), ("assistant", "ok")]:
            return messages
        assert time.monotonic() < deadline, f"gave up after {WAIT}s waiting for the turn to settle: {messages}"
        time.sleep(0.02)


def assert_sent_without_the_empty_reply(model: FakeProviders, first: str, second: str) -> None:
    """The last request to the model: the user's two messages as one, no assistant message, nothing refused."""
    sent = model.sent("anthropic")[-1]
    assert sent["messages"] == [{"role": "user", "content": [{"type": "text", "text": first},
                                                            {"type": "text", "text": second}]}]
    assert anthropic_refusal(sent) is None


def test_after_an_empty_answer_the_next_turn_is_answered_and_sends_no_empty_assistant_message(
        api: Client, model: FakeProviders) -> None:
    user = someone(api)
    model.enqueue("anthropic", Scripted(text=""), Scripted(text="Try restarting the router."))
    first = chat(user, "My router blinks red.", None)
    assert first["message"] == ""
    second = chat(user, "Hello? Are you there?", first["session_id"])
    assert second["message"] == "Try restarting the router."
    assert_sent_without_the_empty_reply(model, "My router blinks red.", "Hello? Are you there?")
    history = user.get(f"{API}/sessions/{first['session_id']}/history").body["messages"]
    assert [(m["role"], m["content"]) for m in history] == [
        ("user", "My router blinks red."), ("assistant", ""), ("user", "Hello? Are you there?"),
        ("assistant", "Try restarting the router.")], "the empty reply is kept; it is only not sent"
    assert_invariant(table_client(api.server), TABLE)


def test_after_a_stop_before_the_first_token_the_next_turn_is_answered(api: Client, model: FakeProviders) -> None:
    user = someone(api)
    release = threading.Event()
    # No text at all: the model holds its stream open, its text block begun but empty, until released.
    model.enqueue("anthropic", Scripted(deltas=[], hold_last=release), Scripted(text="Try restarting the router."))
    index = len(model.streams)
    try:
        with SseCall(api.server.url, f"{API}/chat/stream", {"message": "My router blinks red.", "session_id": None},
                     token=user.token, timeout=WAIT) as call:
            assert call.status == 200
            call.read_until(lambda parts: "start" in types(parts))
            session_id = start_of(call.parts)["messageMetadata"]["session_id"]
            stop = user.post(f"{API}/sessions/{session_id}/stop", {})
            assert stop.status == 200, stop.raw
            parts = call.read_to_end()
    finally:
        release.set()
    assert not of_type(parts, "text-delta") and not of_type(parts, "error")
    model.wait_stream_done(index, WAIT)
    stored = settled_history(user, session_id)[1]
    assert (stored["content"], stored["stopped"]) == ("", "stopped")

    second = chat(user, "Hello? Are you there?", session_id)
    assert second["message"] == "Try restarting the router."
    assert_sent_without_the_empty_reply(model, "My router blinks red.", "Hello? Are you there?")
    assert_invariant(table_client(api.server), TABLE)
