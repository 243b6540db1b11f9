"""Usage in the single table: the tenant-day counters and sessions a day's figures come from, and its rollups."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aichat.core.clock import Clock, utc_now
from aichat.core.records import SessionRecord
from aichat.table import items, keys
from aichat.table.transactions import Item, n, s, str_attr

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class UsageRecords:
    """What /usage and the rollup read and write: counters, sessions by day, rollups."""

    def __init__(self, client: DynamoDBClient, table_name: str, retention_days: int,
                 clock: Clock = utc_now) -> None:
        self._db = client
        self._table = table_name
        self._retention_seconds = retention_days * 86_400
        self._clock = clock

    def tenants_active_on(self, day: str) -> list[str]:
        """Tenants active on that UTC day, through DayIndex: each tenant-day's marker (and, written before the
        markers, its counter item)."""
        return sorted({str_attr(i, "GSI2SK") or "" for i in self._query_all(
            IndexName=keys.DAY_INDEX, KeyConditionExpression="GSI2PK = :day",
            ExpressionAttributeValues={":day": s(keys.day_key(day))}, ProjectionExpression="GSI2SK")})

    def day_counters(self, tenant_id: str, day: str) -> dict[str, int]:
        """The tenant's counters for a UTC day (cost_micros, tokens, messages, sessions, feedback_up/down)."""
        item = self._db.get_item(TableName=self._table, ConsistentRead=True, Key={
            "PK": s(keys.usage_pk(tenant_id, day)), "SK": s(keys.TENANT_COUNTER_SK)}).get("Item", {})
        return {k: int(v["N"]) for k, v in item.items() if "N" in v and k != "expires_at"}

    def sessions_started_on(self, tenant_id: str, day: str) -> list[SessionRecord]:
        """Every session the tenant started on a UTC day, through DayIndex."""
        return [items.session_record(i) for i in self._query_all(
            IndexName=keys.DAY_INDEX, KeyConditionExpression="GSI2PK = :td",
            ExpressionAttributeValues={":td": s(keys.tenant_day_key(tenant_id, day))})]

    def put_rollup(self, tenant_id: str, day: str, figures: dict[str, Any]) -> None:
        """Write (or overwrite: reruns give the same item) a tenant's rollup for a day."""
        self._db.put_item(TableName=self._table, Item={
            "PK": s(keys.rollup_pk(tenant_id)), "SK": s(day), "figures": s(json.dumps(figures, sort_keys=True)),
            "expires_at": n(self._expiry() + 400 * 86_400)})

    def rollup(self, tenant_id: str, day: str) -> dict[str, Any] | None:
        """A tenant's stored rollup for a day, or None."""
        item = self._db.get_item(TableName=self._table, Key={"PK": s(keys.rollup_pk(tenant_id)), "SK": s(day)}
                                 ).get("Item")
        figures = str_attr(item, "figures") if item else None
        return None if figures is None else dict(json.loads(figures))

    def _query_all(self, **request: Any) -> list[Item]:
        # A busy day outgrows one page of a Query, and a day's figures need every item.
        found: list[Item] = []
        request = {"TableName": self._table, **request}
        while True:
            page = self._db.query(**request)
            found.extend(page.get("Items", []))
            if not page.get("LastEvaluatedKey"):
                return found
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _expiry(self) -> int:
        return int(self._clock().timestamp()) + self._retention_seconds
