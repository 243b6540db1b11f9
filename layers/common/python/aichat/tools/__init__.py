"""Function calling: the tools a chat turn's model may call, their strict schemas, and running a call safely.

The chat loop offers `registry.specs(registry.for_session_type(...))` with the request, and runs each call the model
makes with `registry.run(call, offered, context, time_left)`; identity, tenant and session come from the
ToolContext it builds, never from the model's arguments.
"""

from aichat.tools.registry import BUILT_IN_TOOLS, MAX_RESULT_BYTES, ToolOutcome, ToolRegistry
from aichat.tools.schema import spec, strict_schema
from aichat.tools.tool import Tool, ToolArguments, ToolContext

__all__ = ["BUILT_IN_TOOLS", "MAX_RESULT_BYTES", "Tool", "ToolArguments", "ToolContext", "ToolOutcome",
           "ToolRegistry", "spec", "strict_schema"]
