"""A container keeps the newest messages of the sessions its turns settled (aichat/turn/context_cache.py), so that a
session's next turn there reserves with no read: the model is sent what a read would have given it, whoever wrote
to the session meanwhile (another container's turn, a person, a turn that failed), and nothing is charged twice.
Two containers are two sets of services on one table; moto in-process."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import replace
from typing import Any

import pytest
from conftest import FakeClock, ScriptedProvider
from counters import counting
from ledger_invariant import assert_invariant

from aichat import wiring
from aichat.core.errors import ProviderError, SessionNotFound
from aichat.core.identity import Identity
from aichat.core.models import AgentMessageRequest, ChatRequest, EscalateRequest, ReleaseRequest, WithdrawRequest
from aichat.core.records import MessageRecord, SessionRecord
from aichat.core.settings import Settings
from aichat.providers.interface import Turn
from aichat.table import context_stamps, items
from aichat.turn.context_cache import PROBE_EVERY, WINDOW, ContextCache
from aichat.turn.model_context import context_turns

ALICE = Identity(user_id="alice", tenant_id="acme", roles=frozenset())
BOB = Identity(user_id="bob", tenant_id="acme", roles=frozenset())
SAM = Identity(user_id="sam", tenant_id="acme", roles=frozenset({"support"}), is_staff=True, display_name="Sam")
DAY = "2026-11-24"  # the clock fixture's


def container(settings: Settings, dynamodb: Any, provider: ScriptedProvider, clock: FakeClock,
              **changes: Any) -> wiring.Services:
    """One container's services (its own copies of sessions), on the shared table."""
    # The tenant's configuration is read once a minute, as deployed: every call counted below is the turn's.
    return wiring.build(settings.model_copy(update={"TENANT_CONFIG_TTL_SECONDS": 60, **changes}), dynamodb=dynamodb,
                        providers={"offline": provider}, clock=clock)


def as_read(services: wiring.Services, session_id: str, message: str) -> tuple[Turn, ...]:
    """What a container that keeps no copy would send the model for `message` now: the turns of a read, each with
    its text, tool calls and tool results."""
    read = services.store.conversation(session_id, ALICE, services.settings.MAX_CONTEXT_MESSAGES)
    return context_turns(read.messages, message)


def users(provider: ScriptedProvider) -> list[str]:
    """The user's messages in the last request the model was sent."""
    return [t.content for t in provider.history[-1].messages if t.role == "user"]


def test_the_next_turn_here_reads_nothing_and_sends_the_model_what_a_read_would(
        settings: Settings, dynamodb: Any, provider: ScriptedProvider, clock: FakeClock) -> None:
    here = container(settings, dynamodb, provider, clock)
    session_id = here.chat.send(ALICE, ChatRequest(message="first")).session_id
    here.chat.send(ALICE, ChatRequest(message="second", session_id=session_id))
    expected = as_read(here, session_id, "third")
    with counting(dynamodb, "dynamodb") as calls:
        here.chat.send(ALICE, ChatRequest(message="third", session_id=session_id))
    assert calls == Counter({"TransactWriteItems": 2}), "reserve and settle, no Query"
    assert provider.history[-1].messages == expected
    assert users(provider) == ["first", "second", "third"]


def test_a_reply_with_tool_calls_is_replayed_from_the_copy_as_from_a_read(
        settings: Settings, dynamodb: Any, provider: ScriptedProvider, clock: FakeClock) -> None:
    here = container(settings, dynamodb, provider, clock)
    session_id = here.chat.send(ALICE, ChatRequest(message="Please create a ticket: Router keeps rebooting, "
                                                           "urgent")).session_id
    expected = as_read(here, session_id, "Is it open?")
    assert any(turn.tool_results for turn in expected), "the first turn called a tool"
    with counting(dynamodb, "dynamodb") as calls:
        here.chat.send(ALICE, ChatRequest(message="Is it open?", session_id=session_id))
    assert calls["Query"] == 0 and provider.history[-1].messages == expected


def test_another_containers_turn_in_between_reaches_the_model(
        settings: Settings, dynamodb: Any, provider: ScriptedProvider, clock: FakeClock) -> None:
    here = container(settings, dynamodb, provider, clock)
    there = container(settings, dynamodb, provider, clock)
    session_id = here.chat.send(ALICE, ChatRequest(message="asked here")).session_id
    there.chat.send(ALICE, ChatRequest(message="asked there", session_id=session_id))
    with counting(dynamodb, "dynamodb") as calls:
        here.chat.send(ALICE, ChatRequest(message="asked here again", session_id=session_id))
    # The kept copy was refused at the reserve (nothing written), then the session was read beside a reserve.
    assert calls == Counter({"TransactWriteItems": 3, "Query": 1})
    assert users(provider) == ["asked here", "asked there", "asked here again"]
    assert_invariant(dynamodb, "ai-chat")


def test_a_message_written_while_the_turn_ran_reaches_the_next_turn(
        settings: Settings, dynamodb: Any, provider: ScriptedProvider, clock: FakeClock) -> None:
    """Another container's turn settles while this one waits on its model: this one's copy would lack it, so the
    version its settle leaves is not the one it keeps, and the next turn here reads."""
    here = container(settings, dynamodb, provider, clock)
    there = container(settings, dynamodb, ScriptedProvider(), clock)
    session_id = here.chat.send(ALICE, ChatRequest(message="one")).session_id
    once = threading.Event()

    def meanwhile() -> None:
        if not once.is_set():
            once.set()
            there.chat.send(ALICE, ChatRequest(message="written meanwhile", session_id=session_id))

    provider.before_reply = meanwhile
    here.chat.send(ALICE, ChatRequest(message="two", session_id=session_id))
    provider.before_reply = None
    expected = as_read(here, session_id, "three")
    here.chat.send(ALICE, ChatRequest(message="three", session_id=session_id))
    assert provider.history[-1].messages == expected
    assert sorted(users(provider)) == sorted(["one", "two", "written meanwhile", "three"])


def test_a_persons_messages_reach_the_model_once_the_session_is_handed_back(
        settings: Settings, dynamodb: Any, provider: ScriptedProvider, clock: FakeClock) -> None:
    here = container(settings, dynamodb, provider, clock)
    session_id = here.chat.send(ALICE, ChatRequest(message="I need a refund")).session_id
    here.sessions.escalate(ALICE, session_id, EscalateRequest(reason="a person, please"))
    here.handoff.reply(SAM, session_id, AgentMessageRequest(content="Refund issued."))
    here.handoff.release(SAM, session_id, ReleaseRequest(to="ai"))
    here.chat.send(ALICE, ChatRequest(message="Thanks, and my invoice?", session_id=session_id))
    sent = provider.history[-1].messages
    assert any(t.role == "agent" and t.content == "Refund issued." for t in sent)
    assert_invariant(dynamodb, "ai-chat")


def test_a_message_kept_for_a_person_reaches_the_model_once_the_escalation_is_withdrawn(
        settings: Settings, dynamodb: Any, provider: ScriptedProvider, clock: FakeClock) -> None:
    here = container(settings, dynamodb, provider, clock)
    there = container(settings, dynamodb, provider, clock)
    session_id = here.chat.send(ALICE, ChatRequest(message="I need a refund")).session_id
    here.sessions.escalate(ALICE, session_id, EscalateRequest(reason="a person, please"))
    kept = there.chat.send(ALICE, ChatRequest(message="Order 4411, by the way", session_id=session_id))
    assert kept.status == "waiting_for_person"
    here.sessions.withdraw(ALICE, session_id, WithdrawRequest())
    here.chat.send(ALICE, ChatRequest(message="Never mind, you do it", session_id=session_id))
    assert users(provider) == ["I need a refund", "Order 4411, by the way", "Never mind, you do it"]


def test_a_turn_that_got_no_answer_keeps_no_copy(
        settings: Settings, dynamodb: Any, provider: ScriptedProvider, clock: FakeClock) -> None:
    here = container(settings, dynamodb, provider, clock, LLM_MAX_RETRIES=0)
    session_id = here.chat.send(ALICE, ChatRequest(message="one")).session_id
    provider.fail_next(ProviderError("down"))
    with pytest.raises(ProviderError):
        here.chat.send(ALICE, ChatRequest(message="two", session_id=session_id))
    expected = as_read(here, session_id, "three")
    with counting(dynamodb, "dynamodb") as calls:
        here.chat.send(ALICE, ChatRequest(message="three", session_id=session_id))
    assert calls["Query"] == 1
    # The failed message is in the session's window, as a read shows it, and is not sent to the model.
    assert provider.history[-1].messages == expected and users(provider) == ["one", "three"]
    assert_invariant(dynamodb, "ai-chat")


def test_a_read_right_after_a_write_keeps_no_copy_and_one_made_later_does(
        settings: Settings, dynamodb: Any, provider: ScriptedProvider, clock: FakeClock) -> None:
    """A Query is not isolated from a transaction committing meanwhile: only a read made QUIET_SECONDS after the
    session's last write vouches for what it saw. (Read first, then reserve: a read beside the reserve that sees the
    turn's own reserve is not quiet either.)"""
    there = container(settings, dynamodb, provider, clock)
    session_id = there.chat.send(ALICE, ChatRequest(message="one")).session_id
    here = container(settings, dynamodb, provider, clock, OVERLAP_RESERVE_INPUT_TOKENS=0)
    here.chat.send(ALICE, ChatRequest(message="two", session_id=session_id))  # read at once: not kept
    with counting(dynamodb, "dynamodb") as calls:
        clock.advance(seconds=context_stamps.QUIET_SECONDS + 1)
        here.chat.send(ALICE, ChatRequest(message="three", session_id=session_id))  # read, quiet: kept
        expected = as_read(here, session_id, "four")
        here.chat.send(ALICE, ChatRequest(message="four", session_id=session_id))
    assert calls["Query"] == 1 + 1  # the turn "three"'s, and this test's own read
    assert provider.history[-1].messages == expected


def test_a_session_written_before_versions_were_kept_is_read_then_kept(
        settings: Settings, dynamodb: Any, provider: ScriptedProvider, clock: FakeClock) -> None:
    there = container(settings, dynamodb, provider, clock)
    session_id = there.chat.send(ALICE, ChatRequest(message="one")).session_id
    dynamodb.update_item(TableName="ai-chat", Key=items.session_key(session_id),
                         UpdateExpression=f"REMOVE {context_stamps.VERSION}, {context_stamps.CHANGED_AT}")
    here = container(settings, dynamodb, provider, clock, OVERLAP_RESERVE_INPUT_TOKENS=0)
    with counting(dynamodb, "dynamodb") as calls:
        here.chat.send(ALICE, ChatRequest(message="two", session_id=session_id))
        here.chat.send(ALICE, ChatRequest(message="three", session_id=session_id))
    assert calls["Query"] == 1
    assert users(provider) == ["one", "two", "three"]


def test_someone_elses_session_id_gets_not_found_as_without_a_copy(
        settings: Settings, dynamodb: Any, provider: ScriptedProvider, clock: FakeClock) -> None:
    here = container(settings, dynamodb, provider, clock)
    session_id = here.chat.send(ALICE, ChatRequest(message="mine")).session_id
    with pytest.raises(SessionNotFound):
        here.chat.send(BOB, ChatRequest(message="let me in", session_id=session_id))
    here.chat.send(ALICE, ChatRequest(message="still mine", session_id=session_id))
    assert users(provider) == ["mine", "still mine"]


# --- the cache itself ------------------------------------------------------------------------------------------


def _session(session_id: str, user: str = "alice") -> SessionRecord:
    return SessionRecord(id=session_id, tenant_id="acme", user_id=user, session_type="customer_support",
                         status="active", provider="offline", model="offline-1", created_at="", updated_at="")


def _message(message_id: str) -> MessageRecord:
    return MessageRecord(id=message_id, role="user", content=message_id, created_at="")


def test_a_copy_holds_the_newest_messages_by_id_and_is_taken_once() -> None:
    cache = ContextCache(max_sessions=4, max_messages=2)
    cache.keep(_session("s1"), [_message("03"), _message("01"), _message("02")], version=6)
    kept = cache.take("s1", ALICE)
    assert kept is not None and [m.id for m in kept.messages] == ["02", "03"] and kept.version == 6
    assert cache.take("s1", ALICE) is None, "a second turn of the session meanwhile reads"


def test_a_copy_is_given_to_its_owner_only_and_not_past_its_age() -> None:
    now = [0.0]
    cache = ContextCache(max_sessions=4, max_messages=10, max_age=300, clock=lambda: now[0])
    cache.keep(_session("s1"), [], version=2)
    assert cache.take("s1", BOB) is None
    cache.keep(_session("s2"), [], version=2)
    now[0] = 301
    assert cache.take("s2", ALICE) is None


def test_the_session_kept_longest_ago_makes_way_and_none_are_kept_at_zero() -> None:
    cache = ContextCache(max_sessions=2, max_messages=10)
    for session_id in ("s1", "s2", "s3"):
        cache.keep(_session(session_id), [], version=2)
    assert len(cache) == 2 and cache.take("s1", ALICE) is None and cache.take("s3", ALICE) is not None
    off = ContextCache(max_sessions=0, max_messages=10)
    off.keep(_session("s1"), [], version=2)
    assert len(off) == 0


def test_while_most_copies_are_refused_a_container_tries_one_in_probe_every() -> None:
    """Many containers: a session's next turn seldom lands where its copy is, and each refused copy costs a round
    trip, so a container that sees its copies refused reads instead, trying a copy now and then."""
    cache = ContextCache(max_sessions=100, max_messages=10)
    for _ in range(WINDOW):
        cache.tried(refused=True)
    for i in range(PROBE_EVERY * 2):
        cache.keep(_session(f"s{i}"), [], version=2)
    used = sum(cache.take(f"s{i}", ALICE) is not None for i in range(PROBE_EVERY * 2))
    assert used == 2
    for _ in range(WINDOW):
        cache.tried(refused=False)
    cache.keep(_session("again"), [], version=2)
    assert cache.take("again", ALICE) is not None, "copies that pay again are used again"


def test_copies_hold_at_most_max_bytes_between_them_the_oldest_making_way() -> None:
    cache = ContextCache(max_sessions=100, max_messages=10, max_bytes=1_000)
    big = MessageRecord(id="01", role="assistant", content="x" * 400, created_at="")
    for session_id in ("s1", "s2", "s3"):
        cache.keep(_session(session_id), [big], version=2)
    assert len(cache) == 2 and cache.take("s1", ALICE) is None, "1,200 bytes do not fit in 1,000"
    cache.keep(_session("huge"), [replace(big, content="x" * 1_001)], version=2)
    assert cache.take("huge", ALICE) is None, "a copy larger than the whole budget is not kept"
    assert cache.take("s2", ALICE) is not None and cache.take("s3", ALICE) is not None
    for session_id in ("s4", "s5"):  # taking gave their bytes back
        cache.keep(_session(session_id), [big], version=2)
    assert len(cache) == 2
