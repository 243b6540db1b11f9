"""A custom tool's Python target that calls sys.exit() or raises KeyboardInterrupt: a failed call the model is told
about, like any other exception in a tool, and the turn goes on and settles (it once ended the invocation, a bare
500 with the turn left pending)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any, TypeVar

import custom_tool_targets
import pytest
from conftest import Api, ScriptedProvider
from ledger_invariant import assert_invariant

from aichat.core.identity import Identity
from aichat.core.records import SessionRecord
from aichat.core.settings import Settings
from aichat.providers.interface import Completion, ToolCall
from aichat.tools.custom import CustomTool
from aichat.tools.registry import ToolRegistry
from aichat.tools.tool import ToolContext

T = TypeVar("T")
EXITS = [("exits", "SystemExit"), ("interrupted", "KeyboardInterrupt")]
SUBSCRIBER = {"type": "object", "properties": {"subscriber_id": {"type": "string"}}, "required": ["subscriber_id"],
              "additionalProperties": False}
CUSTOM = [{"name": name, "description": f"{name}, for tests.", "parameters": SUBSCRIBER,
           "target": f"custom_tool_targets:{name}"} for name, _ in EXITS]
TOOLS = {"CUSTOM_TOOLS": json.dumps(CUSTOM),
         "TOOLS_BY_SESSION_TYPE": json.dumps({"network_diagnostics": [name for name, _ in EXITS]})}
CALLER = Identity(user_id="user-1", tenant_id="acme", roles=frozenset())
SESSION = SessionRecord(id="01SESSION", tenant_id="acme", user_id="user-1", session_type="network_diagnostics",
                        status="active", provider="offline", model="offline-1", created_at="2026-11-24T12:00:00.000Z",
                        updated_at="2026-11-24T12:00:00.000Z")


@pytest.fixture
def settings(topic_arn: str) -> Settings:
    """The chat tests' settings (conftest's), with the exiting tools offered to network_diagnostics."""
    return Settings.from_environ(TOOLS).model_copy(update={
        "TABLE_NAME": "ai-chat", "ESCALATION_TOPIC_ARN": topic_arn, "TENANT_CONFIG_TTL_SECONDS": 0})


@pytest.fixture
def registry() -> ToolRegistry:
    return ToolRegistry(Settings.from_environ(TOOLS))


@pytest.fixture
def context() -> ToolContext:
    return ToolContext(caller=CALLER, session=SESSION, turn_id="01TURN", now="2026-11-24T12:00:00.000Z",
                       tickets=None, escalate=lambda reason: None)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def no_recorded_calls() -> None:
    custom_tool_targets.CALLS.clear()


def contained(action: Callable[[], T]) -> T:
    """action(); a SystemExit or KeyboardInterrupt it lets out fails this test instead of ending the whole run."""
    try:
        return action()
    except (SystemExit, KeyboardInterrupt) as escaped:
        pytest.fail(f"{type(escaped).__name__} escaped the tool call")


def asks_for(name: str) -> Callable[[Completion], Completion]:
    """The scripted model's next answer calls this tool instead of answering."""
    def change(answer: Completion) -> Completion:
        call = ToolCall(id="call_0", name=name, arguments='{"subscriber_id": "4411"}')
        return dataclasses.replace(answer, text="", stop_reason="tool_calls", tool_calls=(call,))
    return change


@pytest.mark.parametrize(("name", "kind"), EXITS)
def test_a_target_that_exits_is_an_error_for_the_model_naming_the_exits_type_only(
        registry: ToolRegistry, context: ToolContext, name: str, kind: str) -> None:
    offered = registry.for_session_type("network_diagnostics")
    outcome = contained(lambda: registry.run(ToolCall("call-1", name, '{"subscriber_id": "4411"}'), offered, context,
                                             20))
    message = outcome.record["result"]["error"]
    assert outcome.record["status"] == "error" and outcome.result.is_error
    assert message.startswith(f"{name} failed ({kind}); whether it did anything is unknown"), message
    assert len(custom_tool_targets.CALLS) == 1


@pytest.mark.parametrize(("name", "kind"), EXITS)
def test_a_target_that_exits_in_a_chat_turn_is_an_error_call_and_the_turn_is_answered_and_settles(
        api: Api, provider: ScriptedProvider, dynamodb: Any, name: str, kind: str) -> None:
    provider.answer_next(asks_for(name))
    reply = contained(lambda: api.invoke("chat", {"message": "is my line down?", "session_id": None,
                                                  "session_type": "network_diagnostics"}))
    assert reply.status == 200, reply.body
    (call,) = reply.body["function_calls"]
    assert call["status"] == "error" and f"{name} failed ({kind})" in call["result"]["error"]
    (result,) = provider.history[1].messages[-1].tool_results
    assert result.is_error, "the model was told the tool failed, and answered"
    state = assert_invariant(dynamodb, "ai-chat")
    assert [(m.role, m.status) for m in state.messages] == [("user", "ok"), ("assistant", "ok")]


def test_a_keyboardinterrupt_on_the_main_thread_is_let_through_as_it_may_be_a_persons_ctrl_c(
        registry: ToolRegistry, context: ToolContext) -> None:
    # The registry runs every target on a thread of its own, where a signal never lands; on the main thread one can.
    (tool,) = [t for t in registry.for_session_type("network_diagnostics") if t.name == "interrupted"]
    assert isinstance(tool, CustomTool)
    with pytest.raises(KeyboardInterrupt):
        tool.run({"subscriber_id": "4411"}, context)


def test_a_target_that_exits_on_the_main_thread_is_still_a_failed_call(registry: ToolRegistry,
                                                                     context: ToolContext) -> None:
    (tool,) = [t for t in registry.for_session_type("network_diagnostics") if t.name == "exits"]
    assert isinstance(tool, CustomTool)
    with pytest.raises(Exception, match="SystemExit"):
        contained(lambda: tool.run({"subscriber_id": "4411"}, context))
