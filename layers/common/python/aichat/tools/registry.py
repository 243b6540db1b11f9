"""Which tools each session type offers, their schemas, and running one call: whatever the model or the handler does,
the call ends in a ToolOutcome, never an exception."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aichat.core.errors import ChatError, ConfigurationError
from aichat.core.logs import logger
from aichat.core.models import SessionType
from aichat.core.records import SessionRecord
from aichat.core.settings import Settings
from aichat.providers.interface import ToolCall, ToolResult, ToolSpec
from aichat.table import call_records
from aichat.tools import arguments
from aichat.tools.arguments import CallRefused, NotFinite
from aichat.tools.caps import ToolCallCaps
from aichat.tools.create_ticket import CREATE_TICKET
from aichat.tools.custom import CustomTool, custom_tools
from aichat.tools.deadline import TookTooLong, run_within
from aichat.tools.escalate_to_human import ESCALATE_TO_HUMAN
from aichat.tools.results import MAX_RESULT_BYTES, ResultTooDeep, ResultTooLarge, ResultUnreadable, TargetFailed
from aichat.tools.schema import spec
from aichat.tools.tool import Tool, ToolContext

if TYPE_CHECKING:
    from aichat.tools.lambda_target import LambdaClients

BUILT_IN_TOOLS: tuple[Tool[Any], ...] = (CREATE_TICKET, ESCALATE_TO_HUMAN)
# A built-in (its arguments a pydantic model) or one of CUSTOM_TOOLS (a JSON Schema and a target).
AnyTool = Tool[Any] | CustomTool


@dataclass(frozen=True)
class ToolOutcome:
    """One call's end: `result` for the model (JSON text), `record` for the client and the history, and whether
    the turn ends with it."""

    result: ToolResult
    # {"id", "name", "arguments", "status": "ok"|"error", "result"[, "truncated": true]}, each field bounded
    # (aichat.table.call_records); the result's call_id is the record's id, so the two stay paired.
    record: dict[str, Any]
    ends_turn: bool = False


class ToolRegistry:
    """The tools a deployment has (the built-ins and CUSTOM_TOOLS), the ones each session type offers
    (TOOLS_BY_SESSION_TYPE), and their runs."""

    def __init__(self, settings: Settings, tools: Sequence[Tool[Any]] = BUILT_IN_TOOLS,
                 lambda_clients: LambdaClients | None = None) -> None:
        self._tools: dict[str, AnyTool] = {}
        every: tuple[AnyTool, ...] = (*tools, *custom_tools(settings, lambda_clients))
        for tool in every:
            if tool.name in self._tools:
                raise ConfigurationError(f"two tools are named {tool.name!r}")
            self._tools[tool.name] = tool
        by_type = settings.TOOLS_BY_SESSION_TYPE
        for session_type, names in by_type.items():
            unknown = [name for name in names if name not in self._tools]
            if unknown:
                raise ConfigurationError(f"TOOLS_BY_SESSION_TYPE gives {session_type} unknown tools {unknown}; use "
                                         f"{sorted(self._tools)}")
        self._by_type = {session_type: tuple(self._tools[n] for n in names) for session_type, names in by_type.items()}
        # Made once, at start: a tool whose schema strict mode cannot express stops the function here, named.
        self._specs = {name: _spec(tool) for name, tool in self._tools.items()}
        self.max_steps = settings.MAX_TOOL_STEPS
        self.caps = ToolCallCaps.from_settings(settings)

    def for_session_type(self, session_type: SessionType) -> tuple[AnyTool, ...]:
        """The tools a session of this type offers its model, in the configured order."""
        return self._by_type.get(session_type, ())

    def for_session(self, session: SessionRecord) -> tuple[AnyTool, ...]:
        """The tools a session offers its model: its tenant's choice when it started, else its type's."""
        if session.tools is None:
            return self.for_session_type(session.session_type)
        # A tool the deployment has dropped since the session started is no longer offered.
        return tuple(self._tools[name] for name in session.tools if name in self._tools)

    @property
    def names(self) -> tuple[str, ...]:
        """Every tool the deployment has: the built-ins, then CUSTOM_TOOLS."""
        return tuple(self._tools)

    def specs(self, tools: Sequence[AnyTool]) -> tuple[ToolSpec, ...]:
        """The tools as the model is offered them (CompletionRequest.tools)."""
        return tuple(self._specs[tool.name] if self._tools.get(tool.name) is tool else _spec(tool) for tool in tools)

    def run(self, call: ToolCall, offered: Sequence[AnyTool], context: ToolContext,
            time_left: float) -> ToolOutcome:
        """Run one call the model made, within min(the tool's timeout, time_left) seconds; never raises."""
        # The record keeps the arguments parsed when they parse, else as written; but a call of a tool that is not
        # offered is refused as that first, so the model does not retry it with better arguments.
        parsed, recorded = _parsed(call)
        try:
            tool = self._offered(call.name, offered)
            if isinstance(parsed, CallRefused):
                raise parsed
            result = _run(tool, _checked(tool, parsed), context, time_left)
        except CallRefused as refused:
            return _error(call, recorded, refused.message)
        return ToolOutcome(ToolResult(call_records.call_id(call.id), result),
                           _record(call, recorded, "ok", json.loads(result)), ends_turn=tool.ends_turn)

    def refuse(self, call: ToolCall, message: str) -> ToolOutcome:
        """An error outcome for a call the turn will not run (the turn ended, its tool output is full)."""
        return _error(call, _parsed(call)[1], message)

    def _offered(self, name: str, offered: Sequence[AnyTool]) -> AnyTool:
        tool = next((t for t in offered if t.name == name), None)
        if tool is not None:
            return tool
        available = ", ".join(t.name for t in offered) or "none"
        if name in self._tools:
            raise CallRefused(f"the tool {name} is not available in this conversation; available: {available}")
        raise CallRefused(f"there is no tool named {arguments.preview(name)!r}; available: {available}")


def _spec(tool: AnyTool) -> ToolSpec:
    return tool.spec() if isinstance(tool, CustomTool) else spec(tool)


def _checked(tool: AnyTool, parsed: dict[str, Any]) -> Any:
    """The arguments as the tool takes them, validated before anything runs; CallRefused naming the problems."""
    return tool.checked(parsed) if isinstance(tool, CustomTool) else arguments.validate(tool.Arguments, parsed)


def _run(tool: AnyTool, valid: Any, context: ToolContext, time_left: float) -> str:
    """The handler's result as JSON text; CallRefused when it fails, runs too long or gives back too much."""
    seconds = min(tool.timeout_seconds, time_left)
    if seconds <= 0:
        raise CallRefused(f"no time is left in this turn to run {tool.name}; nothing was done")
    try:
        return _json_object(run_within(seconds, lambda: tool.run(valid, context)))
    except TookTooLong:
        logger().warning("tool took too long", extra={"tool": tool.name, "seconds": seconds})
        raise CallRefused(f"{tool.name} took too long (over {seconds:g} s) and was not waited for; whether it "
                       "finished is unknown, so do not tell the user it was done") from None
    except ResultUnreadable:
        logger().error("tool result unusable", extra={"tool": tool.name})
        raise CallRefused(f"{tool.name} gave back a result that could not be read; whether it finished is "
                       "unknown") from None
    except ResultTooDeep:
        logger().warning("tool result too deep", extra={"tool": tool.name})
        raise CallRefused(f"{tool.name} gave back a result nested more than {call_records.MAX_DEPTH} levels deep, "
                          "which cannot be used; whether it finished is unknown") from None
    except ResultTooLarge as e:
        logger().warning("tool result too large", extra={"tool": tool.name, "bytes": e.size})
        raise CallRefused(f"{tool.name} gave back a result too large to use (over {MAX_RESULT_BYTES} bytes); "
                          "whether it finished is unknown") from None
    except Exception as e:
        # The exception's text may hold internals (table names, ids, SDK messages): logged, never shown. A custom
        # tool's target that reports a failure shows its error's type only (never its message or stack).
        logger().error("tool failed", extra={"tool": tool.name, "error": type(e).__name__}, exc_info=e)
        if isinstance(e, TargetFailed):
            raise CallRefused(f"{tool.name} failed ({e.kind}); whether it did anything is unknown. Tell the user "
                              "it could not be done now.") from None
        code = f" ({e.code})" if isinstance(e, ChatError) else ""
        raise CallRefused(f"{tool.name} failed{code}; nothing was done. Tell the user it could not be done "
                       "now.") from None


def _json_object(result: Any) -> str:
    """The result as the JSON text the model gets; ResultUnreadable or ResultTooLarge when it cannot be that."""
    if not isinstance(result, dict):
        raise ResultUnreadable()
    if call_records.too_deep(result):  # before serializing it: the encoder fails past a thousand levels
        raise ResultTooDeep()
    try:
        content = json.dumps(result, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        size = len(content.encode())
    except (TypeError, ValueError):  # not JSON-able; or a lone surrogate, which has no UTF-8 form
        raise ResultUnreadable() from None
    if size > MAX_RESULT_BYTES:
        raise ResultTooLarge(size)
    return content


def _parsed(call: ToolCall) -> tuple[dict[str, Any] | CallRefused, dict[str, Any] | str]:
    """The call's arguments parsed (or why they do not parse), and as its record keeps them: parsed, else as
    written (bounded by the record)."""
    try:
        parsed = arguments.parse(call.arguments)
    except NotFinite as refused:
        return refused, refused.shown
    except CallRefused as refused:
        return refused, call.arguments
    return parsed, parsed


def _error(call: ToolCall, args: dict[str, Any] | str, message: str) -> ToolOutcome:
    body = {"error": message}
    return ToolOutcome(ToolResult(call_records.call_id(call.id), json.dumps(body, ensure_ascii=False), is_error=True),
                       _record(call, args, "error", body))


def _record(call: ToolCall, args: dict[str, Any] | str, status: str, result: dict[str, Any]) -> dict[str, Any]:
    return call_records.record(call.id, call.name, args, call.arguments, status, result)
