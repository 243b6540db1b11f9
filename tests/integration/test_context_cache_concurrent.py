"""Kept contexts under real concurrency, on Amazon's DynamoDB Local: three containers (each its own copies of
sessions, aichat/turn/context_cache.py) answer turns of four sessions from eight threads at once, so copies go out of
date while their turns run. No turn's model is sent less than the session held when the turn began, and the ledger's
invariant holds after. Each session's messages, failed ones included, stay within MAX_CONTEXT_MESSAGES, so a turn is
sent all of them."""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from conftest import FakeClock, ScriptedProvider
from ledger_invariant import assert_invariant

from aichat import wiring
from aichat.core.errors import ChatError
from aichat.core.identity import Identity
from aichat.core.models import ChatRequest
from aichat.core.settings import Settings

pytestmark = pytest.mark.dynamodb_local

ALICE = Identity(user_id="alice", tenant_id="acme", roles=frozenset())
SESSIONS = 8
TURNS = 64  # 8 a session, in turn: at most 18 answered messages and 2 in flight, well within MAX_CONTEXT_MESSAGES


def test_no_turn_is_sent_less_than_its_session_held_when_it_began(table: tuple[Any, str], clock: FakeClock) -> None:
    client, name = table
    provider = ScriptedProvider()
    settings = Settings(TABLE_NAME=name, MAX_CONTEXT_MESSAGES=40, MAX_MESSAGES_PER_SESSION=1000,
                        SESSION_COST_LIMIT_CENTS=100_000, DAILY_COST_LIMIT_CENTS=100_000)
    containers = [wiring.build(settings, dynamodb=client, providers={"offline": provider}, clock=clock)
                  for _ in range(3)]
    sessions = [containers[0].chat.send(ALICE, ChatRequest(message=f"s{i} opens")).session_id
                for i in range(SESSIONS)]
    answered: dict[str, list[str]] = {s: [f"s{i} opens"] for i, s in enumerate(sessions)}
    began_with: dict[str, list[str]] = {}  # a turn's message -> the messages its session had answered before it
    lock = threading.Lock()
    picks = random.Random(7)
    plan = [(n % SESSIONS, picks.randrange(len(containers))) for n in range(TURNS)]

    def turn(n: int) -> None:
        session, where = plan[n]
        session_id = sessions[session]
        message = f"s{session} turn {n}"
        with lock:
            began_with[message] = list(answered[session_id])
        try:
            containers[where].chat.send(ALICE, ChatRequest(message=message, session_id=session_id))
        except ChatError:
            return  # a turn refused or failed under the load stores no answer; the rest still must hold
        with lock:
            answered[session_id].append(message)

    queries = []  # list.append is atomic: no count lost between threads

    def count(**_: Any) -> None:
        queries.append(1)

    client.meta.events.register("before-call.dynamodb.Query", count)
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(turn, range(TURNS)))
    finally:
        client.meta.events.unregister("before-call.dynamodb.Query", count)

    sent = {request.messages[-1].content: [t.content for t in request.messages if t.role == "user"]
            for request in list(provider.history)}
    missed = {message: sorted(set(before) - set(sent[message])) for message, before in began_with.items()
              if message in sent and not set(before) <= set(sent[message])}
    assert missed == {}, "turns sent without messages answered before they began"
    assert sum(len(a) for a in answered.values()) > SESSIONS + TURNS // 2, "most turns were answered"
    assert len(queries) < TURNS, "some turns reserved from a kept copy, without a read"
    assert_invariant(client, name)
