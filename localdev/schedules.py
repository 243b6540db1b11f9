"""What EventBridge does for the scheduled functions of template.yaml, on one machine: `rate(...)` rules, run in a
thread, with the event EventBridge would send (so the turn sweeper releases turns a killed server left pending).

`cron(...)` rules are not emulated: the local server rarely runs across the hour they name, and each of them here
has a `rate(...)` twin that covers the same ground while it runs.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86_400}


@dataclass(frozen=True)
class Schedule:
    """One `rate(...)` Schedule event of one function."""

    function: str
    rule: str
    code_dir: Path
    handler: str
    every_seconds: float
    input: dict[str, Any] | None
    timeout: int
    memory: int


def rate_seconds(expression: str) -> float | None:
    """The period of a `rate(N unit)` expression in seconds; None for anything else (cron)."""
    match = _RATE.match(expression.strip())
    if not match:
        return None
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2).rstrip("s")]


def schedules_from_template(template: Mapping[str, Any], root: Path) -> list[Schedule]:
    """Every `rate(...)` Schedule event of every AWS::Serverless::Function."""
    defaults = template.get("Globals", {}).get("Function", {})
    found = []
    for name, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        props = {**defaults, **resource.get("Properties", {})}
        for rule, event in props.get("Events", {}).items():
            if event.get("Type") != "Schedule":
                continue
            every = rate_seconds(str(event.get("Properties", {}).get("Schedule", "")))
            if every is None:
                continue
            raw_input = event["Properties"].get("Input")
            found.append(Schedule(
                function=name, rule=rule, code_dir=root / str(props["CodeUri"]),
                handler=str(props.get("Handler", "app.lambda_handler")), every_seconds=every,
                input=json.loads(raw_input) if raw_input else None, timeout=int(props.get("Timeout", 3)),
                memory=int(props.get("MemorySize", 128)),
            ))
    return found


def scheduled_event(schedule: Schedule, now: datetime) -> dict[str, Any]:
    """The event EventBridge sends a rule's target: the rule's Input when it has one, else a Scheduled Event."""
    if schedule.input is not None:
        return dict(schedule.input)
    return {
        "version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "000000000000", "time": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "us-east-1",
        "resources": [f"arn:aws:events:us-east-1:000000000000:rule/local-{schedule.function}{schedule.rule}"],
        "detail": {},
    }


class Scheduler:
    """Invokes each schedule's function every period, in a daemon thread, until stopped."""

    def __init__(self, schedules: list[Schedule], invoke: Callable[[Schedule, dict[str, Any]], Any],
                 log: Callable[[str], None]) -> None:
        self.schedules = schedules
        self._invoke = invoke
        self._log = log
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Start one thread per schedule; the first run is one period from now, as for a new rule."""
        for schedule in self.schedules:
            thread = threading.Thread(target=self._run, args=(schedule,), daemon=True,
                                      name=f"schedule-{schedule.function}-{schedule.rule}")
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Stop every thread (a run in progress finishes first)."""
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout=5)

    def _run(self, schedule: Schedule) -> None:
        while not self._stopping.wait(schedule.every_seconds):
            try:
                result = self._invoke(schedule, scheduled_event(schedule, datetime.now(UTC)))
                self._log(f"schedule {schedule.function} ({schedule.rule}): {json.dumps(result, default=str)}")
            except Exception as e:  # a failed run is logged, as Lambda would, and the next one still comes
                self._log(f"schedule {schedule.function} ({schedule.rule}) failed: {e!r}")
