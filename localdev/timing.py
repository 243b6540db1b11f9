"""Where a request's time goes (`--timing`): the whole request, the handler, and the handler's DynamoDB calls.

The server reports them in a Server-Timing header, which scripts/bench_server.py reads.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import botocore.handlers


@dataclass
class Timings:
    total_ms: float = 0.0
    handler_ms: float = 0.0
    dynamodb_ms: float = 0.0
    dynamodb_calls: int = 0
    dynamodb_round_trips: int = 0

    def header(self) -> str:
        """The Server-Timing header value."""
        return (f"total;dur={self.total_ms:.3f}, handler;dur={self.handler_ms:.3f}, "
                f'dynamodb;dur={self.dynamodb_ms:.3f};desc="{self.dynamodb_calls} calls in '
                f'{self.dynamodb_round_trips} round trips"')


def parse_header(value: str) -> dict[str, float]:
    """{name: milliseconds} from a Server-Timing header; dynamodb_calls and _round_trips from its description."""
    figures: dict[str, float] = {}
    for metric in value.split(","):
        name, *params = (p.strip() for p in metric.split(";"))
        for param in params:
            key, _, raw = param.partition("=")
            if key == "dur":
                figures[name] = float(raw)
            elif key == "desc" and name == "dynamodb":
                words = raw.strip('"').split()
                figures["dynamodb_calls"] = float(words[0])
                if len(words) >= 4:
                    figures["dynamodb_round_trips"] = float(words[3])
    return figures


@dataclass
class _Calls:
    """One request's DynamoDB calls, from whichever thread made them: each call's start and end."""

    spans: list[tuple[float, float]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def round_trips(self) -> int:
        """How many calls one after another: calls in flight at the same time count once (a history read beside a
        reserve, aichat/turn/overlap.py)."""
        trips, reach = 0, float("-inf")
        for begun, ended in sorted(self.spans):
            if begun >= reach:  # after every call so far had ended: one more round trip
                trips += 1
                reach = ended
            else:
                reach = max(reach, ended)
        return trips


class DynamoDBTimer:
    """Time a request's DynamoDB calls, from botocore's before-call and after-call events, on its own thread and on
    the threads it hands work to with its context (contextvars), as the turn's history read is."""

    def __init__(self) -> None:
        self._local = threading.local()  # a call's start: one call at a time per thread
        self._request: contextvars.ContextVar[_Calls | None] = contextvars.ContextVar("dynamodb_calls", default=None)

    def install(self) -> None:
        """Time every DynamoDB client created from now on, including the layer's own."""
        # The layer makes its own botocore session for its client; BUILTIN_HANDLERS is registered on every new session,
        # so the hooks reach that client while the layer stays unaware of any timing.
        botocore.handlers.BUILTIN_HANDLERS.append(("before-call.dynamodb", self._before))
        botocore.handlers.BUILTIN_HANDLERS.append(("after-call.dynamodb", self._after))

    def _before(self, **_: Any) -> None:
        self._local.started = time.perf_counter()

    def _after(self, **_: Any) -> None:
        started = getattr(self._local, "started", None)
        calls = self._request.get()
        if started is not None and calls is not None:
            with calls.lock:
                calls.spans.append((started, time.perf_counter()))
        self._local.started = None

    @contextmanager
    def measuring(self, into: Timings) -> Iterator[None]:
        """Add the DynamoDB calls made for the block (on any thread that runs with its context) to `into`."""
        calls = _Calls()
        token = self._request.set(calls)
        try:
            yield
        finally:
            self._request.reset(token)
            into.dynamodb_ms += sum(ended - begun for begun, ended in calls.spans) * 1000
            into.dynamodb_calls += len(calls.spans)
            into.dynamodb_round_trips += calls.round_trips()
