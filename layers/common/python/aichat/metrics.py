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


class ChatMetrics:
    """What each chat turn reports: tokens, cost and model latency; refusals by limit; provider errors."""

    def answered(self, provider: str, model: str, tokens: int, cost_micros: int, latency_ms: float) -> None:
        """A settled turn, by provider and model (both bounded by the deployment's settings)."""
        from aws_lambda_powertools.metrics import MetricUnit

        metrics = _metrics()
        metrics.add_dimension(name="provider", value=provider)
        metrics.add_dimension(name="model", value=model)
        metrics.add_metric(name="ChatTokens", unit=MetricUnit.Count, value=tokens)
        metrics.add_metric(name="ChatCostCents", unit=MetricUnit.Count, value=micros_to_cents(cost_micros))
        metrics.add_metric(name="ModelLatency", unit=MetricUnit.Milliseconds, value=latency_ms)

    def refused(self, code: str) -> None:
        """A turn a budget refused, by the limit's code."""
        from aws_lambda_powertools.metrics import MetricUnit

        metrics = _metrics()
        metrics.add_dimension(name="limit", value=code)
        metrics.add_metric(name="ChatRefused", unit=MetricUnit.Count, value=1)

    def provider_failed(self, provider: str, code: str) -> None:
        """A turn whose model call failed, by provider and error code."""
        from aws_lambda_powertools.metrics import MetricUnit

        metrics = _metrics()
        metrics.add_dimension(name="provider", value=provider)
        metrics.add_dimension(name="error", value=code)
        metrics.add_metric(name="ProviderErrors", unit=MetricUnit.Count, value=1)

    def flush(self) -> None:
        """Write what this invocation recorded as one EMF line, if anything."""
        metrics = _metrics()
        if metrics.metric_set:
            metrics.flush_metrics()


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
