"""Reading DayIndex's sharded partitions (pending turns, deletes under way) below a sort-key bound, page by page:
the sweeper's one way to find its work without a Scan."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from aichat.table import keys
from aichat.table.transactions import Item, s

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def pages_due(db: DynamoDBClient, table: str, shards: Sequence[str], bound: str) -> Iterator[list[Item]]:
    """Each Query page of the items in `shards` whose DayIndex sort key sorts before `bound` (one page per Query)."""
    for shard in shards:
        request: dict[str, Any] = {
            "TableName": table, "IndexName": keys.DAY_INDEX,
            "KeyConditionExpression": "GSI2PK = :shard AND GSI2SK < :bound",
            "ExpressionAttributeValues": {":shard": s(shard), ":bound": s(bound)},
        }
        while True:
            page = db.query(**request)
            yield page.get("Items", [])
            if not page.get("LastEvaluatedKey"):
                break
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
