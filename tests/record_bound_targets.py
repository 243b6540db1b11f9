"""Python targets for the record-bound tests (CUSTOM_TOOLS target "record_bound_targets:<name>"), importable by a
local server started with this directory on PYTHONPATH."""

from __future__ import annotations

from typing import Any

DEPTH = 300
# "é" is 2 bytes of UTF-8 (the result stays under 16 KB) and 6 stored (\u00e9): a result just under the 32 KB a
# record keeps whole, the largest a record holds.
WIDE = 5_400


def nested(depth: int) -> dict[str, Any]:
    """An object nesting objects `depth` levels deep."""
    value: dict[str, Any] = {"leaf": True}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def deep_result(arguments: dict[str, Any], context: dict[str, str]) -> dict[str, Any]:
    return nested(DEPTH)


def wide_result(arguments: dict[str, Any], context: dict[str, str]) -> dict[str, Any]:
    return {"text": "é" * WIDE}
