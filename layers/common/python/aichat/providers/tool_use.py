"""Tool calls as the two Claude-shaped APIs hold them, Anthropic's Messages and Bedrock's Converse: the ids they
accept, a call read from an answer's block (an id, a name and an input object), and one whose input streams in."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
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


@dataclass
class StreamedCall:
    """A streamed tool-call block so far: its id and name, its place among the calls, its input as pieces of JSON."""

    id: Any
    name: Any
    index: int
    pieces: list[str] = field(default_factory=list)

    def call(self) -> ToolCall:
        """The whole call, once its block has ended; malformed when its pieces do not join into JSON."""
        text = "".join(self.pieces)
        try:
            value = json.loads(text) if text.strip() else {}  # a tool without parameters streams no input
        except (ValueError, RecursionError) as e:  # RecursionError: input nested past the parser's own limit
            raise malformed() from e
        return tool_call(self.id, self.name, value)
