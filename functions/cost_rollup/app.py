"""Scheduled (EventBridge): roll each active tenant's day into a rollup item and CloudWatch metrics."""

from typing import Any

from aichat import wiring
from aichat.core import logs, metrics

services = wiring.services()


@logs.scheduled_handler
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    # The hourly rule rolls up today so far; the rule after midnight passes {"pass": "final"} for yesterday.
    day = event.get("day") or services.usage.days_to_roll_up(final_pass=event.get("pass") == "final")
    results = services.usage.roll_up(day)
    metrics.publish_daily_totals(day, results)
    return {"day": day, "tenants": len(results)}
