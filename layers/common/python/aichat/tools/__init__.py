"""Function calling: the tools a chat turn's model may call, their strict schemas, and running a call safely.

The chat loop offers `registry.specs(registry.for_session_type(...))` with the request, and runs each call the model
makes with `registry.run(call, offered, context, time_left)`; identity, tenant and session come from the
ToolContext it builds, never from the model's arguments. Besides the built-ins, a deployment adds its own
(CUSTOM_TOOLS, aichat.tools.custom): a JSON Schema and a Lambda function or Python callable that runs them.
"""

from aichat.tools.custom import CustomTool
from aichat.tools.registry import BUILT_IN_TOOLS, AnyTool, ToolOutcome, ToolRegistry
from aichat.tools.results import MAX_RESULT_BYTES
from aichat.tools.schema import spec, strict_schema
from aichat.tools.tool import Tool, ToolArguments, ToolContext

__all__ = ["BUILT_IN_TOOLS", "MAX_RESULT_BYTES", "AnyTool", "CustomTool", "Tool", "ToolArguments", "ToolContext",
           "ToolOutcome", "ToolRegistry", "spec", "strict_schema"]
