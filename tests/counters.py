"""Reading the day's counters straight from the table, the one way every test does it; and counting the calls a
client makes."""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

from aichat.table import keys


def day_counters(db: Any, tenant: str, day: str, user: str | None = None, table: str = "ai-chat") -> dict[str, int]:
    """The tenant's counters for a UTC day (or one user's, with `user`), read consistently; {} when none."""
    sk = keys.TENANT_COUNTER_SK if user is None else keys.user_counter_sk(user)
    item = db.get_item(TableName=table, ConsistentRead=True,
                       Key={"PK": {"S": keys.usage_pk(tenant, day)}, "SK": {"S": sk}}).get("Item", {})
    return {k: int(v["N"]) for k, v in item.items() if "N" in v and k != "expires_at"}


@contextlib.contextmanager
def sampled_cost(db: Any, tenant: str, day: str, table: str) -> Iterator[list[int]]:
    """The tenant's day cost counter, sampled every 5 ms in a thread while the block runs (it holds settled costs
    plus reservations, so no sample may pass the limit); the samples, filled in as they are taken."""
    seen: list[int] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            seen.append(day_counters(db, tenant, day, table=table).get("cost_micros", 0))
            time.sleep(0.005)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        yield seen
    finally:
        done.set()
        watcher.join()


@contextlib.contextmanager
def counting(client: Any, service: str) -> Iterator[Counter[str]]:
    """The client's calls to `service` made in the block, by operation name (botocore's before-call hook)."""
    calls: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    client.meta.events.register(f"before-call.{service}", count)
    try:
        yield calls
    finally:
        client.meta.events.unregister(f"before-call.{service}", count)
