"""The monitoring figures: a tenant's day (cost, sessions, messages, ratings, top sessions) and its rollup."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from aichat.core.clock import Clock, utc_day
from aichat.core.errors import Forbidden, InvalidInput
from aichat.core.identity import Identity
from aichat.core.models import SessionCost, UsageResponse
from aichat.core.pricing import micros_to_cents
from aichat.core.records import SessionRecord
from aichat.table.usage import UsageRecords

TOP_SESSIONS = 10


def day_figures(counters: dict[str, int], sessions: Iterable[SessionRecord]) -> dict[str, Any]:
    """The rollup of one tenant-day from its counters and the sessions it started; pure, so reruns agree."""
    started = list(sessions)
    ratings = {str(r): 0 for r in range(1, 6)}
    for s in started:
        if s.user_rating:
            ratings[str(s.user_rating)] += 1
    top = sorted(started, key=lambda s: (-s.total_cost_micros, s.id))[:TOP_SESSIONS]
    return {
        "total_cost_micros": counters.get("cost_micros", 0),
        "session_count": counters.get("sessions", 0),
        "total_messages": counters.get("messages", 0),
        "total_tokens": counters.get("tokens", 0),
        "ratings": ratings,
        "escalations": sum(1 for s in started if s.status == "escalated"),
        "message_feedback": {"up": counters.get("feedback_up", 0), "down": counters.get("feedback_down", 0)},
        "most_expensive_sessions": [
            {"id": s.id, "session_type": s.session_type, "status": s.status, "total_cost_micros": s.total_cost_micros,
             "message_count": s.message_count, "user_rating": s.user_rating, "created_at": s.created_at}
            for s in top
        ],
    }


class UsageService:
    """GET /usage for admins, and the scheduled rollup that stores each tenant's day."""

    def __init__(self, records: UsageRecords, clock: Clock) -> None:
        self._records = records
        self._clock = clock

    def report(self, caller: Identity, day: str | None) -> UsageResponse:
        """The caller's tenant's figures for a UTC day: live from the counters today, from the rollup before."""
        if not caller.is_admin:
            raise Forbidden("Usage figures are for administrators; ask for the admin role.")
        today = utc_day(self._clock())
        day = _valid_day(day or today, today)
        stored = None if day == today else self._records.rollup(caller.tenant_id, day)
        figures = stored if stored is not None else self._figures(caller.tenant_id, day)
        return _response(caller.tenant_id, day, "rollup" if stored is not None else "live", figures)

    def roll_up(self, day: str) -> dict[str, dict[str, Any]]:
        """Store the rollup of every tenant active on a UTC day; running it twice gives the same items."""
        day = date.fromisoformat(day).isoformat()
        results = {}
        for tenant_id in self._records.tenants_active_on(day):
            figures = self._figures(tenant_id, day)
            self._records.put_rollup(tenant_id, day, figures)
            results[tenant_id] = figures
        return results

    def days_to_roll_up(self, final_pass: bool) -> str:
        """Today (the hourly pass) or yesterday (the final pass after midnight), UTC."""
        today = date.fromisoformat(utc_day(self._clock()))
        return (today - timedelta(days=1)).isoformat() if final_pass else today.isoformat()

    def _figures(self, tenant_id: str, day: str) -> dict[str, Any]:
        return day_figures(self._records.day_counters(tenant_id, day),
                           self._records.sessions_started_on(tenant_id, day))


def _valid_day(value: str, today: str) -> str:
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"date must be a day as YYYY-MM-DD, not {value!r}.", field="date") from None
    if len(value) != 10 or parsed.isoformat() > today:
        raise InvalidInput(f"date must be a past day or today ({today}) as YYYY-MM-DD.", field="date")
    return parsed.isoformat()


def _response(tenant_id: str, day: str, source: str, f: dict[str, Any]) -> UsageResponse:
    return UsageResponse(
        date=day, tenant_id=tenant_id, source=source,
        total_cost_cents=micros_to_cents(f["total_cost_micros"]), session_count=f["session_count"],
        total_messages=f["total_messages"], total_tokens=f["total_tokens"], ratings=f["ratings"],
        escalations=f["escalations"], message_feedback=f["message_feedback"],
        most_expensive_sessions=[
            SessionCost(id=s["id"], session_type=s["session_type"], status=s["status"],
                        total_cost=micros_to_cents(s["total_cost_micros"]), message_count=s["message_count"],
                        user_rating=s["user_rating"], created_at=s["created_at"])
            for s in f["most_expensive_sessions"]
        ],
    )
