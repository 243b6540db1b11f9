"""Scheduled (EventBridge, every minute): advance every running erasure of a user's data within this run's time."""

from typing import Any

from aichat import wiring
from aichat.core import logs

services = wiring.services()
# Of the function's 120 s timeout: a step under way when this passes still ends well within it.
RUN_SECONDS = 90.0


@logs.scheduled_handler
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    seconds = RUN_SECONDS
    if context is not None and hasattr(context, "get_remaining_time_in_millis"):
        seconds = min(seconds, context.get_remaining_time_in_millis() / 1000 - 20)
    run = services.erasure.run(seconds)
    return {"worked_on": run.worked_on, "steps": run.steps, "finished": run.finished}
