"""CloudWatch metrics as EMF log lines (Powertools Metrics). Dimensions stay bounded: never a user or session id."""

from __future__ import annotations

from typing import Any

from aichat.core.pricing import micros_to_cents

NAMESPACE = "AIChat"


def _publish(dimensions: dict[str, str], values: dict[str, tuple[str, float]],
             metadata: dict[str, str] | None = None) -> None:
    """Write one EMF record now: its own metric set, so nothing carries over into the next record or invocation."""
    # Imported on first use: only the functions that publish metrics pay for Powertools Metrics.
    from aws_lambda_powertools.metrics import EphemeralMetrics

    metrics = EphemeralMetrics(namespace=NAMESPACE, service="ai-chat")
    for name, value in dimensions.items():
        metrics.add_dimension(name=name, value=value)
    for key, text in (metadata or {}).items():
        metrics.add_metadata(key=key, value=text)
    for name, (unit, number) in values.items():
        metrics.add_metric(name=name, unit=unit, value=number)
    metrics.flush_metrics()


class ChatMetrics:
    """What each chat turn reports: tokens, cost and model latency; refusals by limit; provider errors."""

    def answered(self, provider: str, model: str, tokens: int, cost_micros: int, latency_ms: float) -> None:
        """A settled turn, by provider and model (both bounded by the deployment's settings)."""
        _publish({"provider": provider, "model": model}, {
            "ChatTokens": ("Count", tokens), "ChatCostCents": ("Count", micros_to_cents(cost_micros)),
            "ModelLatency": ("Milliseconds", latency_ms)})

    def guardrail_intervened(self, provider: str, model: str) -> None:
        """A reply a provider's guardrail answered or cut, by provider and model."""
        _publish({"provider": provider, "model": model}, {"GuardrailInterventions": ("Count", 1)})

    def refused(self, code: str) -> None:
        """A turn a budget refused, by the limit's code."""
        _publish({"limit": code}, {"ChatRefused": ("Count", 1)})

    def provider_failed(self, provider: str, code: str) -> None:
        """A turn whose model call failed, by provider and error code."""
        _publish({"provider": provider, "error": code}, {"ProviderErrors": ("Count", 1)})

    def over_reservation(self, provider: str, model: str, excess_micros: int) -> None:
        """A provider billed more than the turn reserved (it ignored max_tokens): by model, and once per service
        for the stack's alarm."""
        _publish({"provider": provider, "model": model}, {"OverReservationCents": ("Count", micros_to_cents(
            excess_micros))})
        _publish({}, {"OverReservations": ("Count", 1)})


def provider_access_denied(provider: str, model: str) -> None:
    """A model call the provider's access control refused (IAM for Bedrock): by provider and model, both bounded by
    the deployment's settings; the client is told only that the provider is not configured."""
    _publish({"provider": provider, "model": model}, {"ProviderAccessDenied": ("Count", 1)})


def publish_sweep(found: int, released: int) -> None:
    """One sweeper run: pending turns past their time, and how many it released (alarmed: each was a crash)."""
    _publish({}, {"TurnsPastDeadline": ("Count", found), "TurnsReleasedBySweeper": ("Count", released)})


def event_not_published(event: str) -> None:
    """A domain event EventBridge did not take after every try: by the event's name (a handful of names), and once
    per service for the stack's alarm."""
    _publish({"event": event}, {"EventsNotPublished": ("Count", 1)})
    _publish({}, {"EventsLost": ("Count", 1)})


def publish_daily_totals(day: str, results: dict[str, dict[str, Any]]) -> None:
    """One EMF record per tenant with the day's totals (tenant is a bounded dimension: one per customer)."""
    for tenant_id, figures in sorted(results.items()):
        _publish({"tenant": tenant_id}, {
            "DailyCostCents": ("Count", micros_to_cents(figures["total_cost_micros"])),
            "DailySessions": ("Count", figures["session_count"]),
            "DailyMessages": ("Count", figures["total_messages"]),
            "DailyTokens": ("Count", figures["total_tokens"]),
            "DailyEscalations": ("Count", figures["escalations"]),
        }, metadata={"day": day})


def first_human_reply(tenant_id: str, seconds: float) -> None:
    """How long an escalated session waited for its first reply from a person, per tenant (tenants are a bounded
    set of the deployment's customers, unlike users or sessions)."""
    _publish({"tenant_id": tenant_id}, {"FirstHumanReplySeconds": ("Seconds", seconds)})
