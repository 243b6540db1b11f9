"""A tool call as a reply's item keeps it: every field bounded, so a turn's calls always fit its item whatever the
provider sends, and every stored record reads back (and serializes) however it was stored.

Sizes are counted as the item stores them: `json.dumps` with its defaults (aichat.table.items), which is ASCII, so a
character may take up to 12 bytes (an escaped pair). A record is {id, name, arguments, status, result}, and
`truncated: true` when its arguments or result were too large or nested too deep to keep whole.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from aichat.core.models import MAX_CONTEXT_DEPTH
from aichat.core.whole_text import whole

# Objects and arrays nest at most this deep in a call's arguments or a tool's result, as in a request's context:
# pydantic's serializer stops at 256 levels, so a deeper record would break every read of its session.
MAX_DEPTH = MAX_CONTEXT_DEPTH
# Both providers' ids are far shorter; a longer one is kept as an id derived from it (the same for the call and
# its result, so they stay paired when the turn is replayed).
MAX_CALL_ID_CHARS = 64
MAX_NAME_CHARS = 64
# Arguments are kept whole up to this many stored bytes (the size the model may send them in); else as a preview.
MAX_RECORDED_ARGUMENTS_BYTES = 8 * 1024
# A result is at most 16 KB as UTF-8 (aichat.tools.results); stored escaped it may grow, so twice that is kept.
MAX_RECORDED_RESULT_BYTES = 32 * 1024
# What is kept of arguments or a result too large or too deep to keep whole: the start of its text.
PREVIEW_BYTES = 1024
# The most one record can take of its turn's tool bytes, its id in its step's call_ids included: a call is run only
# while the turn has this much room left, so every call that ran is kept whole.
MAX_RECORD_BYTES = (2 * (2 + 12 * MAX_CALL_ID_CHARS) + 2 + 12 * (MAX_NAME_CHARS + 1) + MAX_RECORDED_ARGUMENTS_BYTES
                    + MAX_RECORDED_RESULT_BYTES + 128)
_ELLIPSIS = "\u2026"


def stored_size(value: Any) -> int:
    """The bytes a value takes as the item stores it (ASCII JSON)."""
    return len(json.dumps(value))


def call_id(raw: str) -> str:
    """The id a call is recorded and answered under: as sent (whole) when short, else one derived from it."""
    if 0 < len(raw) <= MAX_CALL_ID_CHARS:
        return whole(raw)
    return "call_" + hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def too_deep(value: Any) -> bool:
    """Whether objects and arrays nest MAX_DEPTH or more levels deep in the value (a loop: no recursion limit)."""
    stack = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth >= MAX_DEPTH:
                return True
            stack += [(child, depth + 1) for child in (node.values() if isinstance(node, dict) else node)]
    return False


def preview(text: str, max_bytes: int = PREVIEW_BYTES) -> str:
    """The start of a text, with … when cut, whose stored form takes at most `max_bytes` (quotes included): ""
    when not even a lone … fits."""
    if stored_size(text) <= max_bytes:
        return text
    if max_bytes < stored_size(_ELLIPSIS):
        return ""
    room, kept = max_bytes - stored_size(_ELLIPSIS), 0
    for char in text:
        size = stored_size(char) - 2
        if size > room:
            break
        room, kept = room - size, kept + 1
    return text[:kept] + _ELLIPSIS


def recorded_arguments(value: dict[str, Any] | str, text: str) -> tuple[dict[str, Any] | str, bool]:
    """The arguments as a record keeps them (the object, or the text when it did not parse), and whether they
    were cut: past MAX_RECORDED_ARGUMENTS_BYTES or MAX_DEPTH they are a preview of the text the model wrote."""
    if isinstance(value, str):
        kept = value if stored_size(value) <= MAX_RECORDED_ARGUMENTS_BYTES else preview(value)
        return kept, kept != value
    if too_deep(value) or stored_size(value) > MAX_RECORDED_ARGUMENTS_BYTES:
        return preview(text), True
    return value, False


def recorded_result(value: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """A result as a record keeps it, and whether it was cut: past MAX_RECORDED_RESULT_BYTES or MAX_DEPTH it is
    {"preview": the start of its JSON text}."""
    if not too_deep(value) and stored_size(value) <= MAX_RECORDED_RESULT_BYTES:
        return value, False
    return {"preview": preview(_text_of(value))}, True


def record(call_id_: str, name: str, arguments: dict[str, Any] | str, arguments_text: str, status: str,
           result: dict[str, Any]) -> dict[str, Any]:
    """A call's record with each field bounded, the model's text whole (nothing holding half a character can be
    stored); at most MAX_RECORD_BYTES with its id in a step's call_ids."""
    args, args_cut = recorded_arguments(arguments if isinstance(arguments, dict) else whole(arguments),
                                        whole(arguments_text))
    kept, result_cut = recorded_result(result)
    made = {"id": call_id(call_id_), "name": _name(name), "arguments": args, "status": status, "result": kept}
    return {**made, "truncated": True} if args_cut or result_cut else made


def squeezed(made: dict[str, Any], room: int) -> dict[str, Any] | None:
    """The record as it fits in `room` bytes (its id in a step's call_ids counted): whole, else its arguments cut
    shorter (flagged), else None (not kept)."""
    if cost(made) <= room:
        return made
    bare = {**made, "arguments": "", "truncated": True}
    spare = room - cost(bare)
    if spare < 0:
        return None
    text = made["arguments"] if isinstance(made["arguments"], str) else _text_of(made["arguments"])
    return {**bare, "arguments": preview(text, spare + 2)}


def cost(made: dict[str, Any]) -> int:
    """What a record adds to its turn's tool bytes: itself in function_calls and its id in its step's call_ids,
    each with the separator a list puts before it."""
    return stored_size(made) + 2 + stored_size(made["id"]) + 2


def readable_calls(calls: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    """Stored records as they can be read and shown: arguments or a result nested too deep (kept before this bound
    existed) become a preview of their text, flagged, so no history or replay fails on them."""
    if not calls:
        return calls
    return [_readable(c) if isinstance(c, dict) else c for c in calls]


def _readable(call: dict[str, Any]) -> dict[str, Any]:
    args, result = call.get("arguments"), call.get("result")
    fixed = dict(call)
    if isinstance(args, dict | list) and too_deep(args):
        fixed.update(arguments=preview(_text_of(args)), truncated=True)
    if isinstance(result, dict | list) and too_deep(result):
        fixed.update(result={"preview": preview(_text_of(result))}, truncated=True)
    return fixed


def _name(name: str) -> str:
    return whole(name if len(name) <= MAX_NAME_CHARS else name[:MAX_NAME_CHARS] + _ELLIPSIS)


def _text_of(value: Any) -> str:
    """A value's JSON text; a value too deep for the encoder says so instead of failing."""
    try:
        return json.dumps(value, ensure_ascii=False)
    except (RecursionError, ValueError, TypeError):
        return "(nested too deep to show)"
