"""Budgets: which counters a request charges, against which limits, and what a refusal says.

The store applies every charge in one conditional transaction, so concurrent requests can never
push a counter past its limit; this module holds the rules and the arithmetic, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any

from aichat.core.errors import (
    DailyCostLimitExceeded,
    DailySessionLimitExceeded,
    LimitExceeded,
    SessionCostLimitExceeded,
    SessionMessageLimitExceeded,
    UserDailyCostLimitExceeded,
)
from aichat.core.pricing import cents_to_micros, micros_to_cents
from aichat.core.settings import Settings

MESSAGES_PER_CHAT = 2  # the user's message and the assistant's reply


class Counter(Enum):
    TENANT_DAY_COST = "tenant_day_cost"
    USER_DAY_COST = "user_day_cost"
    USER_DAY_SESSIONS = "user_day_sessions"
    SESSION_COST = "session_cost"
    SESSION_MESSAGES = "session_messages"


@dataclass(frozen=True)
class Limits:
    """Every limit in force for one tenant, money in micro-USD."""

    tenant_daily_micros: int
    user_daily_micros: int | None
    session_micros: int
    messages_per_session: int
    sessions_per_user_per_day: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        user = settings.USER_DAILY_COST_LIMIT_CENTS
        return cls(
            tenant_daily_micros=cents_to_micros(settings.DAILY_COST_LIMIT_CENTS),
            user_daily_micros=None if user is None else cents_to_micros(user),
            session_micros=cents_to_micros(settings.SESSION_COST_LIMIT_CENTS),
            messages_per_session=settings.MAX_MESSAGES_PER_SESSION,
            sessions_per_user_per_day=settings.MAX_SESSIONS_PER_USER_PER_DAY,
        )

    def with_tenant_config(self, config: Mapping[str, Any]) -> Limits:
        """These limits with a tenant's config item applied (same names as the settings, lower case)."""
        changes: dict[str, int | None] = {}
        for attr, field, is_money in _CONFIG_FIELDS:
            if field in config:
                value = _decimal(config[field], field)
                changes[attr] = cents_to_micros(value) if is_money else int(value)
        return replace(self, **changes)  # type: ignore[arg-type]


_CONFIG_FIELDS = (
    ("tenant_daily_micros", "daily_cost_limit_cents", True),
    ("user_daily_micros", "user_daily_cost_limit_cents", True),
    ("session_micros", "session_cost_limit_cents", True),
    ("messages_per_session", "max_messages_per_session", False),
    ("sessions_per_user_per_day", "max_sessions_per_user_per_day", False),
)


def _decimal(value: Any, field: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"tenant config field {field} must be a number, not {value!r}") from None
    if number < 0:
        raise ValueError(f"tenant config field {field} must not be negative")
    return number


@dataclass(frozen=True)
class Charge:
    """Add `amount` to a counter, refused if the counter would then exceed `limit` (None: no limit)."""

    counter: Counter
    amount: int
    limit: int | None

    @property
    def max_before(self) -> int | None:
        """The highest value the counter may hold before this charge for it to fit."""
        return None if self.limit is None else self.limit - self.amount


def chat_charges(limits: Limits, worst_case_micros: int) -> list[Charge]:
    """What one chat reserves: its worst-case cost on every cost counter, two messages on the session."""
    return [
        Charge(Counter.TENANT_DAY_COST, worst_case_micros, limits.tenant_daily_micros),
        Charge(Counter.USER_DAY_COST, worst_case_micros, limits.user_daily_micros),
        Charge(Counter.SESSION_COST, worst_case_micros, limits.session_micros),
        Charge(Counter.SESSION_MESSAGES, MESSAGES_PER_CHAT, limits.messages_per_session),
    ]


def new_session_charge(limits: Limits) -> Charge:
    """What starting a session reserves: one of the user's sessions for today."""
    return Charge(Counter.USER_DAY_SESSIONS, 1, limits.sessions_per_user_per_day)


class BudgetRefused(Exception):
    """Raised by the store when a charge did not fit; `used` is the counter's value at that moment."""

    def __init__(self, charge: Charge, used: int) -> None:
        super().__init__(charge.counter.value)
        self.charge = charge
        self.used = used


def refusal(charge: Charge, used: int) -> LimitExceeded:
    """The 400 a client sees for a charge that did not fit, with the limit and what is used."""
    limit = charge.limit if charge.limit is not None else 0
    match charge.counter:
        case Counter.TENANT_DAY_COST:
            return DailyCostLimitExceeded(
                "Daily cost limit reached for your organisation. Try again after midnight UTC, or ask an "
                "administrator to raise the limit.",
                limit=micros_to_cents(limit), used=micros_to_cents(used),
            )
        case Counter.USER_DAY_COST:
            return UserDailyCostLimitExceeded(
                "Your daily cost limit is reached. Try again after midnight UTC.",
                limit=micros_to_cents(limit), used=micros_to_cents(used),
            )
        case Counter.SESSION_COST:
            return SessionCostLimitExceeded(
                "This session has reached its cost limit. Start a new session to continue.",
                limit=micros_to_cents(limit), used=micros_to_cents(used),
            )
        case Counter.SESSION_MESSAGES:
            return SessionMessageLimitExceeded(
                "This session has reached its message limit. Start a new session to continue.",
                limit=limit, used=used,
            )
        case Counter.USER_DAY_SESSIONS:
            return DailySessionLimitExceeded(
                "You have started the most sessions allowed today. Continue an existing session, or try again "
                "after midnight UTC.",
                limit=limit, used=used,
            )
