"""Bounded retries with backoff and jitter, then the fallback provider, all within one deadline.

The SDKs' own retries are switched off (max_retries=0) so that this is the only place that retries: a 429 is
retried here at most LLM_MAX_RETRIES times, honouring Retry-After, and never multiplied by a second retry loop.
"""

from __future__ import annotations

import contextvars
import queue
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, TypeVar

from aichat.core.daemons import DAEMONS, call_within
from aichat.core.errors import ProviderError, ProviderNotConfigured, ProviderTimeout
from aichat.core.logs import logger
from aichat.core.settings import Settings
from aichat.providers.faults import incomplete, stream_cut, timed_out
from aichat.providers.interface import Completion, CompletionRequest, ModelRoute, Provider, ProviderStream, StreamPart

T = TypeVar("T")

# With less time than this left, another attempt could only time out: give up (or fall back) instead.
_MIN_ATTEMPT_SECONDS = 1.0


class StreamStopped(Exception):
    """The turn's stop was asked for while its reply streamed: the provider's stream was closed."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often, how long and how patiently one chat turn may call providers."""

    max_retries: int
    attempt_timeout: float
    deadline: float
    base_delay: float = 0.5
    max_delay: float = 4.0
    min_attempt: float = _MIN_ATTEMPT_SECONDS

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        """The policy the settings describe."""
        return cls(max_retries=settings.LLM_MAX_RETRIES, attempt_timeout=settings.LLM_TIMEOUT_SECONDS,
                   deadline=settings.LLM_DEADLINE_SECONDS)

    def backoff(self, retry: int, rng: Callable[[], float]) -> float:
        """Full jitter: a random wait up to base * 2^retry (capped), so throttled callers do not return together."""
        return rng() * min(self.max_delay, self.base_delay * 2.0**retry)


class Failover:
    """Calls a list of routes in order: the session's own first, then the fallback."""

    def __init__(self, get: Callable[[str], Provider], policy: RetryPolicy, *,
                 sleep: Callable[[float], None] = time.sleep, monotonic: Callable[[], float] = time.monotonic,
                 rng: Callable[[], float] = random.random) -> None:
        self._get = get
        self._policy = policy
        self._sleep = sleep
        self._monotonic = monotonic
        self._rng = rng

    def start(self) -> float:
        """The moment a turn starts: every model call of the turn shares one deadline from it."""
        return self._monotonic()

    def time_left(self, started: float) -> float:
        """Seconds left of the deadline of the turn that started at `started`."""
        return self._remaining(started)

    def complete(self, routes: Sequence[ModelRoute], request: CompletionRequest,
                 started: float | None = None) -> tuple[ModelRoute, Completion]:
        """The answer of the first route that gives one, and that route; the last error if none does.

        `started` (from `start`) puts this call under its turn's deadline; by default it has a deadline of its own.
        """
        started = self._monotonic() if started is None else started
        return self._first_route(routes, request, started,
                                 lambda provider, attempt: self._attempts(provider, attempt, started))

    def stream(self, routes: Sequence[ModelRoute], request: CompletionRequest, started: float,
               stop_requested: Callable[[], bool], check_every: float) -> Iterator[tuple[ModelRoute, StreamPart]]:
        """The reply of the first route that starts one, part by part with the route: text and tool-call argument
        pieces, then the Completion.

        One rule for a provider that fails, whatever failed (SDK, transport, the provider's own error event): before
        the first part, nothing of the reply arrived, so the error stands as the adapter mapped it and is retried or
        falls back like `complete`'s. After it, the reply is cut: a transient error or a timeout of the provider's
        becomes `stream_cut()` (raised from it; what arrived was yielded and is kept), and nothing is retried. A
        non-transient error stays what it is, the turn's own deadline stays a ProviderTimeout and a stop stays
        StreamStopped (`stop_requested` asked at least every `check_every` seconds while waiting): they are not the
        provider's failure. However it ends early, the provider's stream is closed.
        """
        route, (feed, part) = self._first_route(routes, request, started, lambda provider, attempt: self._first_part(
            provider, attempt, started, stop_requested, check_every))
        try:
            while True:
                yield route, part
                if isinstance(part, Completion):
                    return
                part = feed.next(lambda: self._remaining(started), stop_requested, check_every)
        finally:
            feed.close()

    def _first_route(self, routes: Sequence[ModelRoute], request: CompletionRequest, started: float,
                     attempt: Callable[[Provider, CompletionRequest], T]) -> tuple[ModelRoute, T]:
        """The first route whose `attempt` (with its own retries) succeeds, and what it gave; a timeout or a
        transient error falls back to the next route while time is left; the last error if none succeeds."""
        last: ProviderError | ProviderTimeout | None = None
        for index, route in enumerate(routes):
            if last is not None and self._remaining(started) < self._policy.min_attempt:
                break
            provider = self._provider(route, first=index == 0)
            if provider is None:
                continue  # a fallback without a key cannot help; the first route's error stands
            try:
                return route, attempt(provider, replace(request, model=route.model))
            except ProviderTimeout as error:
                last = error
            except ProviderError as error:
                if not error.transient:
                    raise
                last = error
            if index + 1 < len(routes):
                _log("falling back", provider=route.provider, model=route.model, code=last.code,
                     to=routes[index + 1].provider, to_model=routes[index + 1].model)
        if last is None:
            raise ProviderTimeout("The model provider could not be tried in time; send your message again.")
        raise last

    def _first_part(self, provider: Provider, request: CompletionRequest, started: float,
                    stop_requested: Callable[[], bool], check_every: float) -> tuple[_Feed, StreamPart]:
        """A stream opened and its first part read, retried on transient errors as `complete` retries."""
        retry = 0
        while True:
            feed = _Feed(provider, replace(request, timeout_seconds=min(
                self._policy.attempt_timeout, max(self._remaining(started), 0.001))))
            try:
                return feed, feed.next(lambda: self._remaining(started), stop_requested, check_every)
            except ProviderError as error:
                feed.close()
                wait = self._retry_wait(error, retry, started) if error.transient else None
                if wait is None:
                    raise
                _log("retrying", provider=provider.name, model=request.model, retry=retry + 1,
                     wait_seconds=round(wait, 3), retry_after=error.retry_after)
                self._sleep(wait)
                retry += 1
            except BaseException:
                feed.close()
                raise

    def _provider(self, route: ModelRoute, *, first: bool) -> Provider | None:
        """The route's provider; None for a fallback without a key (ProviderNotConfigured for the first route)."""
        try:
            return self._get(route.provider)
        except ProviderNotConfigured:
            if first:
                raise
            return None

    def _retry_wait(self, error: ProviderError, retry: int, started: float) -> float | None:
        """How long to wait before retrying after a transient error; None when no retry is left or fits."""
        if retry >= self._policy.max_retries:
            return None
        wait = max(error.retry_after or 0.0, self._policy.backoff(retry, self._rng))
        return None if wait + self._policy.min_attempt > self._remaining(started) else wait

    def _attempts(self, provider: Provider, request: CompletionRequest, started: float) -> Completion:
        retry = 0
        while True:
            remaining = self._remaining(started)
            try:
                attempt = replace(request, timeout_seconds=min(self._policy.attempt_timeout, max(remaining, 0.001)))
                return within(remaining, partial(provider.complete, attempt))
            except ProviderError as error:
                wait = self._retry_wait(error, retry, started) if error.transient else None
                if wait is None:
                    raise  # not transient, no retry left, or more patience asked for than this turn has left
                _log("retrying", provider=provider.name, model=request.model, retry=retry + 1,
                     wait_seconds=round(wait, 3), retry_after=error.retry_after)
                self._sleep(wait)
                retry += 1

    def _remaining(self, started: float) -> float:
        return self._policy.deadline - (self._monotonic() - started)


def within(seconds: float, call: Callable[[], Completion]) -> Completion:
    """The call's result if it comes within `seconds` of wall-clock time, else ProviderTimeout.

    An SDK's timeout bounds each read, not the whole answer, so a provider that trickles bytes would hold the turn
    past any deadline. The call runs in a daemon thread; past the deadline it is abandoned (its answer, if one
    ever comes, is dropped: the turn was already released) and ends with its own per-read timeout.
    """
    return call_within(seconds, call, timed_out)


class _Feed:
    """A provider's stream read in a daemon thread, so the reader waits for each part within the wall-clock
    deadline however slowly the provider sends; closed, it hangs up the provider's connection at once (a
    ProviderStream's), so a provider gone silent stops writing and billing now, not at its next part.

    It counts the parts it hands over: the provider's failure after the first is a cut stream (Failover.stream)."""

    def __init__(self, provider: Provider, request: CompletionRequest) -> None:
        self._parts: queue.SimpleQueue[tuple[StreamPart | None, BaseException | None]] = queue.SimpleQueue()
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._stream: Iterator[StreamPart] | None = None  # the provider's, once the thread has it
        self._handed = 0  # parts handed to the reader
        DAEMONS.run(partial(contextvars.copy_context().run, self._read, provider, request))

    def _read(self, provider: Provider, request: CompletionRequest) -> None:
        parts: Iterator[StreamPart] | None = None
        try:
            parts = provider.stream(request)
            with self._lock:
                self._stream = parts
            if self._closed.is_set():
                return  # closed before the stream was known to close(): do not even open it
            for part in parts:
                if self._closed.is_set():
                    return
                self._parts.put((part, None))
            self._parts.put((None, None))
        except BaseException as e:  # handed to the reader's thread, whatever it is
            self._parts.put((None, e))
        finally:
            close = getattr(parts, "close", None)
            if close is not None:
                close()

    def next(self, remaining: Callable[[], float], stop_requested: Callable[[], bool],
             check_every: float) -> StreamPart:
        """The next part; ProviderTimeout past the deadline, StreamStopped once a stop is asked for, the provider's
        failure as it raised it before the first part and as a cut stream after it (Failover.stream's rule)."""
        while True:
            left = remaining()
            if left <= 0:
                raise timed_out()  # the turn's deadline: ours, not the provider's failure, so never a cut
            try:
                part, error = self._parts.get(timeout=min(left, check_every))
            except queue.Empty:
                if stop_requested():
                    raise StreamStopped() from None
                continue
            if part is None:
                failure = error if error is not None else incomplete()  # it ended without its Completion
                if self._handed and _cuts(failure):
                    raise stream_cut() from failure
                raise failure
            if stop_requested():
                raise StreamStopped()
            self._handed += 1
            return part

    def close(self) -> None:
        """Stop reading: a ProviderStream is hung up from this thread, since closing it is the reading thread's and
        that thread may be blocked on a provider that sends nothing; any other stream ends at its next part."""
        self._closed.set()
        with self._lock:  # after the flag: either the thread sees it, or this sees the stream
            stream = self._stream
        if isinstance(stream, ProviderStream):
            stream.hang_up()


def _cuts(failure: BaseException) -> bool:
    """Whether a provider's failure after part of its reply arrived cuts the reply short: a timeout or a transient
    error does; anything else (an unreadable answer, a refusal, a bug) is reported as it is."""
    return isinstance(failure, ProviderTimeout) or (isinstance(failure, ProviderError) and failure.transient)


def _log(message: str, **fields: Any) -> None:
    """One line per retry or fallback; the request's keys (tenant, session, request ids) are added by the logger."""
    logger().warning(message, extra=fields)
