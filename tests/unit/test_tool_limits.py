"""What a turn's tools may do: MAX_TOOL_CALLS_PER_STEP and MAX_TOOL_CALLS_PER_TURN (the rest refused to the model,
nothing run), each route's own deadline (POST /chat's for its tools, the stream's for the stream's)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from conftest import FakeClock, ScriptedProvider
from ledger_invariant import assert_invariant

from aichat import wiring
from aichat.api import ui_stream
from aichat.core.errors import ConfigurationError
from aichat.core.identity import Identity
from aichat.core.models import ChatRequest
from aichat.core.settings import Settings
from aichat.providers.interface import Completion, ToolCall
from aichat.tools.registry import ToolRegistry
from aichat.turn.stream_events import TurnStarted

ALICE = Identity(user_id="alice", tenant_id="acme", roles=frozenset())
PER_STEP = "one reply may run at most"
PER_TURN = "this turn has already run"


def build(settings: Settings, dynamodb: Any, provider: ScriptedProvider, clock: FakeClock,
          **changes: Any) -> wiring.Services:
    return wiring.build(settings.model_copy(update=changes), dynamodb=dynamodb, providers={"offline": provider},
                        clock=clock)


def tickets_asked(count: int, step: int = 1) -> Any:
    """The next answer asks for `count` tickets at once."""
    def change(answer: Completion) -> Completion:
        return dataclasses.replace(answer, text="", stop_reason="tool_calls", tool_calls=tuple(
            ToolCall(id=f"call_{step}_{i}", name="create_ticket",
                     arguments=json.dumps({"title": f"ticket {step}.{i}", "priority": "low", "description": None}))
            for i in range(count)))
    return change


def tickets(dynamodb: Any) -> list[dict[str, Any]]:
    return [i for i in dynamodb.scan(TableName="ai-chat", ConsistentRead=True)["Items"]
            if i["PK"]["S"].startswith("TICKET#")]


def refusals(calls: list[Any], says: str) -> int:
    return sum(c.status == "error" and says in c.result["error"] for c in calls)


def test_the_caps_default_to_8_calls_a_step_and_20_a_turn() -> None:
    settings = Settings.from_environ({})
    assert (settings.MAX_TOOL_CALLS_PER_STEP, settings.MAX_TOOL_CALLS_PER_TURN) == (8, 20)


@pytest.mark.parametrize(("environ", "named"), [
    ({"MAX_TOOL_CALLS_PER_STEP": "0"}, "MAX_TOOL_CALLS_PER_STEP"),
    ({"MAX_TOOL_CALLS_PER_STEP": "33", "MAX_TOOL_CALLS_PER_TURN": "40"}, "MAX_TOOL_CALLS_PER_STEP"),
    ({"MAX_TOOL_CALLS_PER_TURN": "101"}, "MAX_TOOL_CALLS_PER_TURN"),
    ({"MAX_TOOL_CALLS_PER_STEP": "10", "MAX_TOOL_CALLS_PER_TURN": "9"}, "at least MAX_TOOL_CALLS_PER_STEP (10)"),
])
def test_a_cap_out_of_bounds_stops_the_function_at_start_naming_it(environ: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigurationError, match=named.replace("(", r"\(").replace(")", r"\)")):
        Settings.from_environ(environ)


def test_one_model_call_asking_for_50_tickets_makes_8_and_the_model_hears_the_other_42_were_refused(
        settings: Settings, dynamodb: Any, provider: ScriptedProvider, clock: FakeClock) -> None:
    services = build(settings, dynamodb, provider, clock)
    provider.answer_next(tickets_asked(50))
    answer = services.chat.send(ALICE, ChatRequest(message="open fifty tickets"))
    assert len(tickets(dynamodb)) == 8
    assert [c.status for c in answer.function_calls] == ["ok"] * 8 + ["error"] * 42
    assert refusals(answer.function_calls, f"{PER_STEP} 8 tool calls") == 42
    results = provider.history[1].messages[-1].tool_results
    assert len(results) == 50 and sum(r.is_error for r in results) == 42, "every call is answered to the model"
    assert answer.metadata.stopped is None
    assert_invariant(dynamodb, "ai-chat")


def test_a_turn_runs_at_most_20_calls_across_its_steps_and_refuses_the_rest(
        settings: Settings, dynamodb: Any, provider: ScriptedProvider, clock: FakeClock) -> None:
    services = build(settings, dynamodb, provider, clock)
    for step in (1, 2, 3):
        provider.answer_next(tickets_asked(8, step))
    answer = services.chat.send(ALICE, ChatRequest(message="open many tickets"))
    assert len(tickets(dynamodb)) == 20
    statuses = [c.status for c in answer.function_calls]
    assert statuses == ["ok"] * 20 + ["error"] * 4, "8, 8, then 4 of the third step's 8"
    assert refusals(answer.function_calls, f"{PER_TURN} 20 tool calls") == 4
    assert len(provider.history) == 4, "the model still answers after its refused calls"
    assert_invariant(dynamodb, "ai-chat")


def test_the_caps_follow_the_settings_and_a_refused_call_does_not_count_toward_the_turns(
        settings: Settings, dynamodb: Any, provider: ScriptedProvider, clock: FakeClock) -> None:
    services = build(settings, dynamodb, provider, clock, MAX_TOOL_CALLS_PER_STEP=2, MAX_TOOL_CALLS_PER_TURN=3)
    provider.answer_next(tickets_asked(5, 1))
    provider.answer_next(tickets_asked(2, 2))
    answer = services.chat.send(ALICE, ChatRequest(message="open some tickets"))
    assert [(c.id, c.status) for c in answer.function_calls] == [
        ("call_1_0", "ok"), ("call_1_1", "ok"), ("call_1_2", "error"), ("call_1_3", "error"), ("call_1_4", "error"),
        ("call_2_0", "ok"), ("call_2_1", "error")]
    assert refusals(answer.function_calls, f"{PER_STEP} 2 tool calls") == 3
    assert refusals(answer.function_calls, f"{PER_TURN} 3 tool calls") == 1
    assert len(tickets(dynamodb)) == 3
    assert_invariant(dynamodb, "ai-chat")


# --- R5: each route's deadline governs its own tools ------------------------------------------------------------


@pytest.mark.parametrize("streamed", [False, True])
def test_each_routes_tools_get_what_is_left_of_that_routes_own_deadline(
        streamed: bool, settings: Settings, dynamodb: Any, provider: ScriptedProvider, clock: FakeClock,
        monkeypatch: pytest.MonkeyPatch) -> None:
    services = build(settings, dynamodb, provider, clock, LLM_DEADLINE_SECONDS=5, STREAM_DEADLINE_SECONDS=600)
    given: list[float] = []
    run = ToolRegistry.run

    def spy(self: ToolRegistry, call: ToolCall, offered: Any, context: Any, time_left: float) -> Any:
        given.append(time_left)
        return run(self, call, offered, context, time_left)

    monkeypatch.setattr(ToolRegistry, "run", spy)
    request = ChatRequest(message="Please create a ticket: Router keeps rebooting, urgent")
    if streamed:
        turn = services.chat.stream(ALICE, request)
        first = next(turn)
        assert isinstance(first, TurnStarted)
        b"".join(ui_stream.chunks(first, turn))
    else:
        services.chat.send(ALICE, request)
    (time_left,) = given
    if streamed:
        assert 5 < time_left <= 600, "the stream's deadline, not POST /chat's"
    else:
        assert 0 < time_left <= 5
    assert len(tickets(dynamodb)) == 1
