"""Daemon threads, reused, for calls that may block past their caller's patience: a model call, a tool's handler,
a provider's stream, a local request.

An idle thread takes the next call, a new one starts when none is idle (so nothing queues behind a call that
hangs), and one idle for a minute ends. Starting a thread per call costs a thread's creation and its start-up
handshake on every turn; a reused one is handed the call through a queue. Daemons: a call that never returns cannot
keep the process (or the Lambda invocation) from ending.
"""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class Daemons:
    """A set of reused daemon threads; `run` hands a call to an idle one or starts one."""

    IDLE_SECONDS = 60.0

    def __init__(self, name: str = "daemon") -> None:
        self._name = name
        self._calls: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._idle = 0
        self._lock = threading.Lock()

    def run(self, call: Callable[[], None]) -> None:
        """Run `call` in a daemon thread now; its exceptions are the call's own to handle."""
        with self._lock:
            if self._idle:
                self._idle -= 1
                self._calls.put(call)
                return
        threading.Thread(target=self._work, args=(call,), daemon=True, name=self._name).start()

    def _work(self, call: Callable[[], None]) -> None:
        while True:
            call()
            with self._lock:
                self._idle += 1
            while True:
                try:
                    call = self._calls.get(timeout=self.IDLE_SECONDS)
                    break
                except queue.Empty:
                    with self._lock:
                        if self._calls.empty():  # no call was handed to this thread meanwhile: end it
                            self._idle -= 1
                            return


DAEMONS = Daemons()


def call_within(seconds: float, fn: Callable[[], T], too_long: Callable[[], BaseException]) -> T:
    """fn's result, or its exception raised again here, if it returns within `seconds` of wall-clock time; else
    `too_long()` is raised and fn is left to finish (or not) on its own, its outcome dropped.

    fn runs with this thread's context variables (the request's log keys), so what it logs is tied to the request.
    """
    outcome: list[T] = []
    failure: list[BaseException] = []
    done = threading.Event()
    context = contextvars.copy_context()

    def run() -> None:
        try:
            outcome.append(context.run(fn))
        except BaseException as e:  # handed to the caller's thread, whatever it is
            failure.append(e)
        finally:
            done.set()

    DAEMONS.run(run)
    if not done.wait(max(seconds, 0.0)):
        raise too_long()
    if failure:
        raise failure[0]
    return outcome[0]
