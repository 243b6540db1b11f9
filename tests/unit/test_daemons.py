"""Reused daemon threads for blocking calls, and a call's result within a wall-clock limit."""

from __future__ import annotations

import contextvars
import threading
import time

import pytest

from aichat.core.daemons import Daemons, call_within

WAIT = 10.0
REQUEST = contextvars.ContextVar("request", default="none")


class TooLong(Exception):
    pass


def test_threads_are_reused_one_call_after_another_and_end_after_idling() -> None:
    daemons = Daemons()
    daemons.IDLE_SECONDS = 0.2
    threads: list[threading.Thread] = []
    for _ in range(3):
        done = threading.Event()
        daemons.run(lambda: (threads.append(threading.current_thread()), done.set()))  # noqa: B023
        assert done.wait(WAIT)
        time.sleep(0.01)  # the thread is idle again
    assert len(set(threads)) == 1, "one thread ran the three calls in turn"
    assert threads[0].daemon
    threads[0].join(WAIT)
    assert not threads[0].is_alive(), "an idle thread ends"


def test_a_call_that_blocks_does_not_hold_up_the_next_one() -> None:
    daemons = Daemons()
    release, second = threading.Event(), threading.Event()
    daemons.run(lambda: release.wait(WAIT))
    daemons.run(second.set)
    assert second.wait(WAIT), "a second thread started while the first was busy"
    release.set()


def test_a_call_within_its_limit_gives_its_result_or_raises_its_own_exception() -> None:
    assert call_within(WAIT, lambda: 42, TooLong) == 42

    def fails() -> int:
        raise KeyError("its own")

    with pytest.raises(KeyError, match="its own"):
        call_within(WAIT, fails, TooLong)


def test_a_call_past_its_limit_raises_the_callers_error_and_is_left_to_finish() -> None:
    release, finished = threading.Event(), threading.Event()

    def hangs() -> int:
        release.wait(WAIT)
        finished.set()
        return 1

    started = time.monotonic()
    with pytest.raises(TooLong):
        call_within(0.05, hangs, TooLong)
    assert time.monotonic() - started < WAIT, "the caller did not wait for the call"
    release.set()
    assert finished.wait(WAIT), "the abandoned call ran to its end"


def test_a_call_runs_with_the_callers_context_variables() -> None:
    token = REQUEST.set("req-7")
    try:
        assert call_within(WAIT, REQUEST.get, TooLong) == "req-7"
    finally:
        REQUEST.reset(token)
