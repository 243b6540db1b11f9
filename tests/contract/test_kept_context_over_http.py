"""Kept contexts over HTTP (aichat/turn/context_cache.py), on a server of this module's own (its chat function has
tried no copy before), DynamoDB Local behind it: the calls each chat makes, from the server's Server-Timing header."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from ledger_invariant import assert_invariant

from contract.local_api import Client, Reply, User, local_server, table_client
from localdev import process
from localdev.timing import parse_header

API = "/api/v1/ai"


TABLE = f"ai-chat-kept-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def server(dynamodb_local_url: str) -> Iterator[process.RunningServer]:
    with local_server(dynamodb_local_url, "--timing", "--quiet", table=TABLE) as running:
        yield running


def calls_of(reply: Reply) -> tuple[int, int]:
    """The DynamoDB calls the chat made, and how many of them were one after another."""
    figures = parse_header(reply.headers["server-timing"])
    return int(figures["dynamodb_calls"]), int(figures["dynamodb_round_trips"])


def test_a_chat_after_a_turn_of_its_session_on_this_server_reserves_and_settles_with_no_read(
        server: process.RunningServer) -> None:
    caller = Client(server).as_user(f"user-{uuid.uuid4().hex[:8]}", f"tenant-{uuid.uuid4().hex[:8]}")
    session_id = caller.post(f"{API}/chat", {"message": "first", "session_id": None}).body["session_id"]
    reply = caller.post(f"{API}/chat", {"message": "again", "session_id": session_id})
    assert reply.status == 200, reply.raw
    assert calls_of(reply) == (2, 2)


def test_a_chat_after_a_person_wrote_reads_its_history_beside_its_reserve_once_its_copy_is_refused(
        server: process.RunningServer) -> None:
    client = Client(server)
    tenant = f"tenant-{uuid.uuid4().hex[:8]}"
    caller = client.as_user("carol", tenant)
    session_id = caller.post(f"{API}/chat", {"message": "first", "session_id": None}).body["session_id"]
    assert caller.post(f"{API}/sessions/{session_id}/escalate", {"reason": "a person"}).status == 200
    staff = User(client, client.token("dana", tenant, roles=["support"], name="Dana"))
    assert staff.post(f"{API}/agent/sessions/{session_id}/release", {"to": "ai"}).status == 200
    reply = caller.post(f"{API}/chat", {"message": "again", "session_id": session_id})
    assert reply.status == 200, reply.raw
    # The copy's reserve, refused (the "left" marker moved the messages on); then the Query beside a reserve; the
    # settle.
    assert calls_of(reply) == (4, 3)
    history = caller.get(f"{API}/sessions/{session_id}/history").body["messages"]
    assert [m["content"] for m in history if m["role"] == "user"] == ["first", "again"]
    assert_invariant(table_client(server), TABLE)
