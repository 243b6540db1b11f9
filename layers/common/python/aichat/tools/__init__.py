"""Function calling: the tools a chat turn's model may call, their strict schemas, and running a call safely.

The chat loop offers `registry.specs(registry.for_session_type(...))` with the request, and runs each call the model
makes with `registry.run(call, offered, context, time_left)`; identity, tenant and session come from the
ToolContext it builds, never from the model's arguments. Besides the built-ins, a deployment adds its own
(CUSTOM_TOOLS, tools/custom.py): a JSON Schema and a Lambda function or Python callable that runs them.
"""
