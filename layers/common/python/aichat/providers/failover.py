"""Bounded retries with backoff and jitter, then the fallback provider, all within one deadline.

The SDKs' own retries are switched off (max_retries=0) so that this is the only place that retries: a 429 is
retried here at most LLM_MAX_RETRIES times, honouring Retry-After, and never multiplied by a second retry loop.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from aichat.errors import ProviderError, ProviderNotConfigured, ProviderTimeout
from aichat.logs import logger
from aichat.providers import Completion, CompletionRequest, ModelRoute, Provider
from aichat.providers.faults import timed_out
from aichat.settings import Settings

# With less time than this left, another attempt could only time out: give up (or fall back) instead.
_MIN_ATTEMPT_SECONDS = 1.0


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
        last: ProviderError | ProviderTimeout | None = None
        for index, route in enumerate(routes):
            if last is not None and self._remaining(started) < self._policy.min_attempt:
                break
            try:
                provider = self._get(route.provider)
            except ProviderNotConfigured:
                if index == 0:
                    raise
                continue  # a fallback without a key cannot help; the first route's error stands
            try:
                return route, self._attempts(provider, replace(request, model=route.model), started)
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

    def _attempts(self, provider: Provider, request: CompletionRequest, started: float) -> Completion:
        retry = 0
        while True:
            remaining = self._remaining(started)
            try:
                attempt = replace(request, timeout_seconds=min(self._policy.attempt_timeout, max(remaining, 0.001)))
                return within(remaining, partial(provider.complete, attempt))
            except ProviderError as error:
                if not error.transient or retry >= self._policy.max_retries:
                    raise
                wait = max(error.retry_after or 0.0, self._policy.backoff(retry, self._rng))
                if wait + self._policy.min_attempt > self._remaining(started):
                    raise  # the provider asks for more patience than this turn has left
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
    outcome: list[Completion] = []
    failure: list[BaseException] = []
    done = threading.Event()

    def run() -> None:
        try:
            outcome.append(call())
        except BaseException as e:  # handed to the caller's thread, whatever it is
            failure.append(e)
        finally:
            done.set()

    threading.Thread(target=run, name="provider-call", daemon=True).start()
    if not done.wait(max(seconds, 0.0)):
        raise timed_out()
    if failure:
        raise failure[0]
    return outcome[0]


def _log(message: str, **fields: Any) -> None:
    """One line per retry or fallback; the request's keys (tenant, session, request ids) are added by the logger."""
    logger().warning(message, extra=fields)
