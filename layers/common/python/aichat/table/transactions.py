"""DynamoDB transactions for the store and the ledger: attribute values, one Update's parts, conflict retries."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from aichat.core.budgets import Charge
from aichat.core.errors import StorageContended

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

Item = dict[str, Any]

_CONFLICT_ATTEMPTS = 10


def s(value: str) -> dict[str, str]:
    """A string attribute value."""
    return {"S": value}


def n(value: int) -> dict[str, str]:
    """A number attribute value."""
    return {"N": str(value)}


def str_attr(item: Item | None, name: str) -> str | None:
    """A string attribute of an item, or None."""
    value = (item or {}).get(name)
    return None if value is None or "S" not in value else str(value["S"])


def int_attr(item: Item | None, name: str) -> int:
    """A number attribute of an item, 0 when absent."""
    value = (item or {}).get(name)
    return 0 if value is None or "N" not in value else int(value["N"])


@dataclass
class Update:
    """One Update of a transaction: ADDs, SETs, REMOVEs and conditions, with the budget charges it carries."""

    key: Item
    adds: dict[str, int] = field(default_factory=dict)
    sets: Item = field(default_factory=dict)
    removes: list[str] = field(default_factory=list)
    conditions: list[str] = field(default_factory=list)
    values: Item = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    charges: list[tuple[Charge, str]] = field(default_factory=list)

    def charge(self, charge: Charge, attr: str) -> None:
        """Add a charge to a counter, conditional on the counter leaving room for it."""
        self.adds[attr] = self.adds.get(attr, 0) + charge.amount
        if charge.max_before is not None:
            placeholder = f":max_{attr}"
            self.values[placeholder] = n(charge.max_before)
            self.conditions.append(f"(attribute_not_exists({attr}) OR {attr} <= {placeholder})")
        self.charges.append((charge, attr))

    def add(self, **amounts: int) -> Update:
        """ADD these amounts (atomic, unconditional)."""
        for attr, amount in amounts.items():
            self.adds[attr] = self.adds.get(attr, 0) + amount
        return self

    def require_status(self, status: str) -> Update:
        """Apply only while the item's status is `status` (so a settle or release happens once)."""
        self.names["#status"] = "status"
        self.values[":required_status"] = s(status)
        self.conditions.append("#status = :required_status")
        return self

    def transact_item(self, table: str) -> Item:
        """This update as one TransactItems entry."""
        names = dict(self.names)
        values = dict(self.values)
        parts = []
        if self.sets:
            assignments = []
            for i, (attr, value) in enumerate(self.sets.items()):
                names[f"#s{i}"] = attr
                values[f":s{i}"] = value
                assignments.append(f"#s{i} = :s{i}")
            parts.append("SET " + ", ".join(assignments))
        if self.adds:
            parts.append("ADD " + ", ".join(f"{attr} :a_{attr}" for attr in self.adds))
            values.update({f":a_{attr}": n(amount) for attr, amount in self.adds.items()})
        if self.removes:
            names.update({f"#r{i}": attr for i, attr in enumerate(self.removes)})
            parts.append("REMOVE " + ", ".join(f"#r{i}" for i in range(len(self.removes))))
        update: Item = {"TableName": table, "Key": self.key, "UpdateExpression": " ".join(parts),
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}
        if values:
            update["ExpressionAttributeValues"] = values
        if names:
            update["ExpressionAttributeNames"] = names
        if self.conditions:
            update["ConditionExpression"] = " AND ".join(self.conditions)
        return {"Update": update}


class Cancelled(Exception):
    """A transaction refused by a condition; `reasons` line up with its items."""

    def __init__(self, reasons: list[Item]) -> None:
        super().__init__("transaction cancelled")
        self.reasons = reasons


def transact(db: DynamoDBClient, items: list[Item], request_token: str | None = None) -> None:
    """Run a transaction, retrying while it only conflicted with a concurrent one on a hot counter.

    Raises Cancelled when a condition failed, StorageContended (nothing written) when it still conflicted after
    the last try; anything else DynamoDB says is raised as it came.
    """
    request: Item = {"TransactItems": items}
    if request_token:
        # With a token DynamoDB applies a retried transaction once, whatever botocore retries underneath.
        request["ClientRequestToken"] = request_token
    for attempt in range(_CONFLICT_ATTEMPTS):
        try:
            db.transact_write_items(**request)
            return
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            reasons: list[Item] = list(e.response.get("CancellationReasons") or [])  # type: ignore[arg-type]
            if any(r.get("Code") == "ConditionalCheckFailed" for r in reasons):
                raise Cancelled(reasons) from None
            if not any(r.get("Code") in ("TransactionConflict", "ThrottlingError") for r in reasons):
                raise
            if attempt == _CONFLICT_ATTEMPTS - 1:
                # Nothing was written; the caller may simply try again (a 503, not a fault of ours).
                raise StorageContended("Too many requests are changing the same records at once; nothing was "
                                       "done, try again in a moment.") from e
            time.sleep(random.uniform(0, 0.01 * 2**attempt))  # full jitter: conflicting writers spread out
