"""Running a tool's handler with a time limit: in a thread, so the turn goes on when a handler hangs."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class TookTooLong(Exception):
    """The handler was still running at the limit; it is left to finish (or not) on its own."""


def run_within(seconds: float, fn: Callable[[], T]) -> T:
    """fn's result, or its exception raised again here; TookTooLong when it runs past `seconds`."""
    results: list[T] = []
    errors: list[BaseException] = []
    # The thread gets this request's log keys (a context variable), so what the handler logs is tied to the request.
    context = contextvars.copy_context()

    def target() -> None:
        try:
            results.append(context.run(fn))
        except BaseException as e:  # handed to the caller below, whatever it is
            errors.append(e)

    # A daemon: a handler that never returns cannot keep the process (or the Lambda invocation) from ending.
    thread = threading.Thread(target=target, name="tool-call", daemon=True)
    thread.start()
    thread.join(max(seconds, 0))
    if thread.is_alive():
        raise TookTooLong()
    if errors:
        raise errors[0]
    return results[0]
