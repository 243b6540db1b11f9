"""Reading the day's counters straight from the table, the one way every test does it."""

from __future__ import annotations

from typing import Any

from aichat import keys


def day_counters(db: Any, tenant: str, day: str, user: str | None = None, table: str = "ai-chat") -> dict[str, int]:
    """The tenant's counters for a UTC day (or one user's, with `user`), read consistently; {} when none."""
    sk = keys.TENANT_COUNTER_SK if user is None else keys.user_counter_sk(user)
    item = db.get_item(TableName=table, ConsistentRead=True,
                       Key={"PK": {"S": keys.usage_pk(tenant, day)}, "SK": {"S": sk}}).get("Item", {})
    return {k: int(v["N"]) for k, v in item.items() if "N" in v and k != "expires_at"}
