"""Time, injectable: everything that needs "now" takes a Clock so tests can cross midnight."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def utc_day(moment: datetime) -> str:
    """The UTC calendar day of a moment, as YYYY-MM-DD (the key of that day's counters)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d")


def iso(moment: datetime) -> str:
    """ISO-8601 UTC with milliseconds and a Z, as the API shows times."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
