"""Issue 27, R14 in-process: a person takes the session while the turn's tool runs, between two model calls.

The contract tests (tests/contract/test_taken_mid_turn_over_http.py) take it while the model answers; here the take
lands inside `create_ticket`, so the check before tools has passed and only the ledger's `advance` can see it.
"""

from __future__ import annotations

from typing import Any

from conftest import FakeClock, ScriptedProvider
from ledger_invariant import assert_invariant
from test_chat_tools import ALICE, TICKET, build, tickets

from aichat.core.identity import Identity
from aichat.core.models import TAKEN_BY_PERSON, ChatRequest, EscalateRequest
from aichat.core.settings import Settings

DANA = Identity(user_id="dana", tenant_id="acme", roles=frozenset({"support"}), is_staff=True,
                display_name="Dana Reyes")


def test_a_take_while_a_tool_runs_keeps_the_tool_but_calls_no_model_again_and_stores_no_text(
        settings: Settings, dynamodb: Any, provider: ScriptedProvider, clock: FakeClock) -> None:
    services = build(settings, dynamodb, provider, clock)
    session_id = services.chat.send(ALICE, ChatRequest(message="hello")).session_id
    store = services.chat._deps.people.tickets
    create = store.create

    def taken_meanwhile(*args: Any, **kwargs: Any) -> Any:
        services.sessions.escalate(ALICE, session_id, EscalateRequest(reason="a person please"))
        handoffs = services.sessions.handoffs
        handoffs.reply(handoffs.session(session_id, DANA), DANA, "Dana here, I have this.")
        return create(*args, **kwargs)

    store.create = taken_meanwhile  # type: ignore[method-assign]
    asked = len(provider.history)
    answer = services.chat.send(ALICE, ChatRequest(message=TICKET, session_id=session_id))

    assert len(provider.history) == asked + 1, "no model call after the take"
    assert (answer.message, answer.metadata.stopped) == ("", TAKEN_BY_PERSON)
    assert [c.name for c in answer.function_calls] == ["create_ticket"] and len(tickets(dynamodb)) == 1, (
        "the tool that ran before the take is kept")
    assert answer.metadata.cost_cents > 0, "charged for what the provider answered"
    history = services.store.history(session_id, ALICE, 20, None)[1]
    assert [(m.role, m.content) for m in history[-3:]] == [
        ("assistant", ""), ("agent", "Dana Reyes joined the conversation."), ("agent", "Dana here, I have this.")], (
        "the reply began before the person joined, so it reads before them")
    assert_invariant(dynamodb, "ai-chat")


def test_a_turn_taken_while_the_model_answers_without_tools_settles_charged_with_no_text(
        settings: Settings, dynamodb: Any, provider: ScriptedProvider, clock: FakeClock) -> None:
    services = build(settings, dynamodb, provider, clock)
    session_id = services.chat.send(ALICE, ChatRequest(message="hello")).session_id

    def take() -> None:
        services.sessions.escalate(ALICE, session_id, EscalateRequest(reason="a person please"))
        handoffs = services.sessions.handoffs
        handoffs.reply(handoffs.session(session_id, DANA), DANA, "Dana here.")

    provider.before_reply = take
    answer = services.chat.send(ALICE, ChatRequest(message="tell me more", session_id=session_id))
    assert (answer.message, answer.metadata.stopped, answer.function_calls) == ("", TAKEN_BY_PERSON, [])
    assert answer.metadata.cost_cents > 0
    assert_invariant(dynamodb, "ai-chat")
