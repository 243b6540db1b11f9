"""The local server's EventBridge: the template's rate(...) rules invoke their functions with a Scheduled Event."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from localdev.schedules import Schedule, Scheduler, rate_seconds, scheduled_event, schedules_from_template
from localdev.template import load_template

ROOT = Path(__file__).resolve().parents[2]


def test_rate_rules_become_periods_and_cron_rules_are_left_to_aws() -> None:
    assert (rate_seconds("rate(5 minutes)"), rate_seconds("rate(1 hour)"), rate_seconds("rate(2 days)")) == (
        300, 3600, 172_800)
    assert rate_seconds("cron(15 0 * * ? *)") is None


def test_the_template_schedules_the_sweeper_every_five_minutes_the_rollup_hourly_and_erasures_each_minute() -> None:
    schedules = {(s.function, s.every_seconds) for s in schedules_from_template(load_template(ROOT / "template.yaml"),
                                                                                ROOT)}
    assert schedules == {("SweepTurnsFunction", 300), ("CostRollupFunction", 3600), ("EraseUsersFunction", 60)}


def test_a_schedule_invokes_its_function_each_period_with_a_scheduled_event_and_survives_a_failure() -> None:
    schedule = Schedule(function="SweepTurnsFunction", rule="Schedule", code_dir=ROOT / "functions" / "sweep_turns",
                        handler="app.lambda_handler", every_seconds=0.05, input=None, timeout=120, memory=256)
    events: list[dict[str, Any]] = []
    twice = threading.Event()
    lines: list[str] = []

    def invoke(s: Schedule, event: dict[str, Any]) -> dict[str, int]:
        events.append(event)
        if len(events) == 1:
            raise RuntimeError("the table is not there yet")
        if len(events) >= 3:
            twice.set()
        return {"released": 0}

    scheduler = Scheduler([schedule], invoke, lines.append)
    scheduler.start()
    try:
        assert twice.wait(10), "the schedule stopped after a failed run"
    finally:
        scheduler.stop()
    assert {e["detail-type"] for e in events} == {"Scheduled Event"}
    assert "failed" in lines[0] and '"released": 0' in lines[1]


def test_a_rule_with_input_sends_exactly_that_input() -> None:
    schedule = Schedule(function="CostRollupFunction", rule="FinalPass", code_dir=ROOT, handler="app.lambda_handler",
                        every_seconds=60, input={"pass": "final"}, timeout=300, memory=512)
    from datetime import UTC, datetime

    assert scheduled_event(schedule, datetime.now(UTC)) == {"pass": "final"}
