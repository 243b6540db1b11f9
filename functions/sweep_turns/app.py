"""Scheduled (EventBridge): release every turn left pending by an invocation that died (timeout, crash), and finish
the session deletes cut short."""

from typing import Any

from aichat import wiring
from aichat.core import logs, metrics

services = wiring.services()


@logs.scheduled_handler
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    report = services.sweep_turns()
    metrics.publish_sweep(report.found, report.released)
    return {"found": report.found, "released": report.released, "queries": report.queries,
            "deletions_finished": report.deletions_finished}
