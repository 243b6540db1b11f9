"""Tool calls as the two Claude-shaped APIs hold them, Anthropic's Messages and Bedrock's Converse: the ids they
accept, and a call read from an answer's block (an id, a name and an input object)."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from aichat.providers.faults import malformed
from aichat.providers.interface import ToolCall

# The ids both accept for a tool call and its result; an id from another provider that does not fit is mapped.
_FITTING = re.compile(r"[a-zA-Z0-9_-]{1,64}")


def fitting_id(call_id: str, prefix: str) -> str:
    """The id as the API accepts it: as it is when it fits, else one derived from it (the same for the call and its
    result, so they stay paired), starting with the API's own `prefix`."""
    if _FITTING.fullmatch(call_id):
        return call_id
    return prefix + hashlib.sha256(call_id.encode()).hexdigest()[:32]


def tool_call(call_id: Any, name: Any, arguments: Any) -> ToolCall:
    """A tool call, if the answer holds one: an id, a name and the input object; else the answer is malformed."""
    if not (isinstance(call_id, str) and call_id and isinstance(name, str) and name and isinstance(arguments, dict)):
        raise malformed()
    return ToolCall(id=call_id, name=name, arguments=json.dumps(arguments))
