"""Tool records bounded field by field and per turn (issue 27 R1, R10): what the item keeps always fits and reads."""

from __future__ import annotations

import json

import pytest

from aichat.core.models import FunctionCall
from aichat.core.pricing import Usage
from aichat.providers.interface import Completion
from aichat.table import call_records
from aichat.table.call_records import MAX_CALL_ID_CHARS, MAX_DEPTH, MAX_RECORD_BYTES
from aichat.table.ledger.reservations import MAX_REPLY_BYTES
from aichat.tools.arguments import CallRefused, parse
from aichat.turn.progress import MAX_TURN_TOOL_BYTES, Steps

GRIN = "\U0001f600"


def nested(depth: int) -> dict[str, object]:
    value: dict[str, object] = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def test_arguments_nest_at_most_32_deep_like_a_context() -> None:
    assert parse(json.dumps(nested(MAX_DEPTH)))
    with pytest.raises(CallRefused, match="more than 32 levels deep"):
        parse(json.dumps(nested(MAX_DEPTH + 1)))
    with pytest.raises(CallRefused, match="not valid JSON"):
        parse("[" * 8000)  # deeper than the parser goes


def test_a_long_call_id_becomes_a_short_one_derived_from_it_and_a_short_one_is_kept() -> None:
    long_id = "x" * 420_000
    assert call_records.call_id(long_id) == call_records.call_id(long_id) != call_records.call_id(long_id + "y")
    assert len(call_records.call_id(long_id)) <= MAX_CALL_ID_CHARS
    assert call_records.call_id("call_1") == "call_1"


def test_a_record_past_its_bounds_keeps_a_flagged_preview_and_never_passes_max_record_bytes() -> None:
    made = call_records.record(GRIN * 500, GRIN * 500, "é" * 9_000, "é" * 9_000, "ok", {"t": "\x01" * 16_000})
    assert made["truncated"] and set(made["result"]) == {"preview"} and made["arguments"].endswith("…")
    assert call_records.cost(made) <= MAX_RECORD_BYTES
    FunctionCall(**made).model_dump_json()


def test_a_stored_record_nested_too_deep_reads_back_as_a_preview_that_serializes() -> None:
    (shown,) = call_records.readable_calls([{"id": "c", "name": "t", "arguments": nested(300), "status": "ok",
                                             "result": nested(300)}]) or []
    assert shown["truncated"] and isinstance(shown["arguments"], str) and set(shown["result"]) == {"preview"}
    FunctionCall(**shown).model_dump_json()


def test_a_turns_records_never_pass_their_budget_whatever_the_model_asks_for() -> None:
    steps = Steps()
    for _ in range(8):
        made = [call_records.record(GRIN * 64 + str(i), GRIN * 64, {"n": "n" * 8_100}, "{}",
                                    "ok" if i % 3 else "error", {"t": "é" * 5_400}) for i in range(300)]
        kept = [k for k in (steps.add_call(m) for m in made) if k is not None]
        steps.add_step(Completion(text=GRIN * 2_000, usage=Usage(0, 0), model="m", provider="p",
                                  stop_reason="tool_use"), made, kept, ())
    stored = len(json.dumps(steps.records)) + len(json.dumps(steps.stored))
    assert stored <= steps.tool_bytes <= MAX_TURN_TOOL_BYTES
    assert MAX_REPLY_BYTES - MAX_TURN_TOOL_BYTES >= 100_000, "the reply keeps room beside the tools"
