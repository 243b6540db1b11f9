"""Where a request's time goes (`--timing`): the whole request, the handler, and the handler's DynamoDB calls.

The server reports them in a Server-Timing header, which scripts/bench_server.py reads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import botocore.handlers


@dataclass
class Timings:
    total_ms: float = 0.0
    handler_ms: float = 0.0
    dynamodb_ms: float = 0.0
    dynamodb_calls: int = 0

    def header(self) -> str:
        """The Server-Timing header value."""
        return (f"total;dur={self.total_ms:.3f}, handler;dur={self.handler_ms:.3f}, "
                f'dynamodb;dur={self.dynamodb_ms:.3f};desc="{self.dynamodb_calls} calls"')


def parse_header(value: str) -> dict[str, float]:
    """{name: milliseconds} from a Server-Timing header; dynamodb_calls from its description."""
    figures: dict[str, float] = {}
    for metric in value.split(","):
        name, *params = (p.strip() for p in metric.split(";"))
        for param in params:
            key, _, raw = param.partition("=")
            if key == "dur":
                figures[name] = float(raw)
            elif key == "desc" and name == "dynamodb":
                figures["dynamodb_calls"] = float(raw.strip('"').split()[0])
    return figures


class DynamoDBTimer:
    """Time the current thread spends in DynamoDB calls, from botocore's before-call and after-call events."""

    def __init__(self) -> None:
        self._local = threading.local()

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
        if started is not None:
            self._local.seconds = getattr(self._local, "seconds", 0.0) + time.perf_counter() - started
            self._local.calls = getattr(self._local, "calls", 0) + 1
            self._local.started = None

    @contextmanager
    def measuring(self, into: Timings) -> Iterator[None]:
        """Add this thread's DynamoDB time within the block to `into`."""
        self._local.seconds, self._local.calls = 0.0, 0
        try:
            yield
        finally:
            into.dynamodb_ms += self._local.seconds * 1000
            into.dynamodb_calls += self._local.calls
