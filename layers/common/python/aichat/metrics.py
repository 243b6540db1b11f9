"""CloudWatch metrics as EMF log lines (Powertools Metrics). Dimensions stay bounded: never a user or session id."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from aichat.pricing import micros_to_cents

if TYPE_CHECKING:
    from aws_lambda_powertools import Metrics

NAMESPACE = "AIChat"


@cache
def _metrics() -> Metrics:
    # Imported on first use: only the functions that publish metrics pay for Powertools Metrics.
    from aws_lambda_powertools import Metrics

    return Metrics(namespace=NAMESPACE, service="ai-chat")


def publish_daily_totals(day: str, results: dict[str, dict[str, Any]]) -> None:
    """One EMF record per tenant with the day's totals (tenant is a bounded dimension: one per customer)."""
    from aws_lambda_powertools.metrics import MetricUnit

    metrics = _metrics()
    for tenant_id, figures in sorted(results.items()):
        metrics.add_dimension(name="tenant", value=tenant_id)
        metrics.add_metadata(key="day", value=day)
        metrics.add_metric(name="DailyCostCents", unit=MetricUnit.Count,
                           value=micros_to_cents(figures["total_cost_micros"]))
        metrics.add_metric(name="DailySessions", unit=MetricUnit.Count, value=figures["session_count"])
        metrics.add_metric(name="DailyMessages", unit=MetricUnit.Count, value=figures["total_messages"])
        metrics.add_metric(name="DailyTokens", unit=MetricUnit.Count, value=figures["total_tokens"])
        metrics.add_metric(name="DailyEscalations", unit=MetricUnit.Count, value=figures["escalations"])
        metrics.flush_metrics()
