"""The deployment's own tools (CUSTOM_TOOLS): arguments described by a JSON Schema, run by a Lambda function or a
Python callable; offered, checked and run by the registry like the built-ins.

jsonschema and the targets are imported only when CUSTOM_TOOLS names a tool, so a deployment without any (and
every function but chat) loads none of them.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aichat.core.settings import Settings
from aichat.providers.interface import ToolSpec
from aichat.tools.results import TargetFailed
from aichat.tools.tool import ToolContext

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

    from aichat.tools.lambda_target import LambdaClients

# A target: called with the checked arguments and {tenant_id, user_id, session_id}; gives back the result.
Target = Callable[[dict[str, Any], dict[str, str]], Any]


@dataclass(frozen=True)
class CustomTool:
    """One custom tool: what the model is offered, the schema its arguments must satisfy, and where it runs."""

    name: str
    description: str
    parameters: Mapping[str, Any]
    strict: bool  # whether OpenAI's strict mode takes `parameters` as given
    schema: Validator
    target: Target
    timeout_seconds: float
    ends_turn: bool = False

    def spec(self) -> ToolSpec:
        """The tool as a model is offered it: the schema as configured."""
        return ToolSpec(name=self.name, description=self.description, parameters=self.parameters, strict=self.strict)

    def checked(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """The arguments, when they satisfy the schema; CallRefused naming the problems otherwise."""
        from aichat.tools import custom_schema

        custom_schema.check(self.schema, arguments)
        return arguments

    def run(self, arguments: dict[str, Any], context: ToolContext) -> Any:
        """Run the target with the verified caller and session, never the model's say-so; a copy of the arguments,
        so the call's record keeps what the model sent."""
        caller = {"tenant_id": context.caller.tenant_id, "user_id": context.caller.user_id,
                  "session_id": context.session.id}
        try:
            return self.target(copy.deepcopy(arguments), caller)
        except (SystemExit, KeyboardInterrupt) as e:
            # The target's own sys.exit() (argparse's, click's) or interrupt: a failed call, told to the model like
            # any other failure; the turn goes on and settles.
            if _may_be_a_persons_interrupt(e):
                raise
            raise TargetFailed(type(e).__name__) from e


def _may_be_a_persons_interrupt(error: SystemExit | KeyboardInterrupt) -> bool:
    """A KeyboardInterrupt on the main thread: maybe Ctrl-C, not the target's to turn into a failed call."""
    # Nothing outside a target raises SystemExit into it. A KeyboardInterrupt from outside is a signal (Ctrl-C under
    # `make dev`; Lambda sends none), which Python raises on the main thread only; the registry runs targets on a
    # thread of their own, where one is always the target's own doing. GeneratorExit and asyncio's CancelledError
    # are left alone: a plain call cannot receive either from the turn, and they mean closing, not failing.
    return isinstance(error, KeyboardInterrupt) and threading.current_thread() is threading.main_thread()


def custom_tools(settings: Settings, lambda_clients: LambdaClients | None = None) -> tuple[CustomTool, ...]:
    """CUSTOM_TOOLS as tools; ConfigurationError naming `CUSTOM_TOOLS[i].parameters` for a schema that is not valid."""
    if not settings.CUSTOM_TOOLS:
        return ()
    from aichat.tools import custom_schema, lambda_target
    from aichat.tools.python_target import PythonTarget

    clients = lambda_clients or lambda_target.lambda_clients(settings)
    tools = []
    for i, configured in enumerate(settings.CUSTOM_TOOLS):
        schema = custom_schema.validator(configured.parameters, f"CUSTOM_TOOLS[{i}].parameters")
        target: Target = PythonTarget(configured.target)
        if configured.is_lambda:
            target = lambda_target.LambdaTarget(configured.target, configured.timeout_seconds, clients)
        tools.append(CustomTool(name=configured.name, description=configured.description,
                                parameters=configured.parameters, strict=custom_schema.is_strict(configured.parameters),
                                schema=schema, target=target, timeout_seconds=configured.timeout_seconds))
    return tuple(tools)
