"""Reading a session's history while its turn reserves: one DynamoDB round trip before the model instead of two.

The reservation's exact amount needs the history (its size bounds the input tokens) and the session's model, so
the overlapped reserve holds an amount known before either: the worst case of OVERLAP_RESERVE_INPUT_TOKENS input
tokens and MAX_TOKENS output on the dearest configured route. Once the history is read the exact worst case is
known; when it is more, the reservation is topped up before the model is called (budgets are never passed), and
when the overlapped reserve is refused for a limit, the turn reserves again at the exact amount, as without the
overlap. Budget and condition refusals leave nothing written.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from aichat.turn.dependencies import TurnDeps

T = TypeVar("T")

# A read waits on DynamoDB, not the CPU: as many at once as a container's turns, each a few milliseconds.
_READERS = 32


class ReserveOverlap:
    """How a turn of an existing session reads its history while it reserves, and the amount it reserves."""

    def __init__(self, amount_micros: int) -> None:
        self.amount = amount_micros
        self._pool: ThreadPoolExecutor | None = None

    @classmethod
    def of(cls, deps: TurnDeps) -> ReserveOverlap:
        """The overlap the settings ask for: off (amount 0) when OVERLAP_RESERVE_INPUT_TOKENS is 0."""
        tokens = deps.settings.OVERLAP_RESERVE_INPUT_TOKENS
        if tokens == 0:
            return cls(0)
        return cls(max((deps.models.prices.worst_case_micros(route.model, tokens, deps.settings.MAX_TOKENS)
                        for route in deps.models.providers.configured_routes()), default=0))

    @property
    def enabled(self) -> bool:
        return self.amount > 0

    def read(self, read: Callable[[], T]) -> Future[T]:
        """Run `read` on a reader thread, with the caller's context (its log keys), while the caller reserves."""
        if self._pool is None:
            # Made at the first turn, not at import: a SnapStart snapshot then holds no idle threads of ours.
            self._pool = ThreadPoolExecutor(max_workers=_READERS, thread_name_prefix="history-read")
        return self._pool.submit(contextvars.copy_context().run, read)
