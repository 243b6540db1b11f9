"""Running a tool's handler with a time limit: in a thread, so the turn goes on when a handler hangs."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from aichat.core.daemons import call_within

T = TypeVar("T")


class TookTooLong(Exception):
    """The handler was still running at the limit; it is left to finish (or not) on its own."""


def run_within(seconds: float, fn: Callable[[], T]) -> T:
    """fn's result, or its exception raised again here; TookTooLong when it runs past `seconds`."""
    return call_within(seconds, fn, TookTooLong)
