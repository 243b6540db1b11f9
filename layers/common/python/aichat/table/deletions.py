"""Deleting a session: a tombstone first, then every item of it, then the tombstone.

The tombstone is one conditional write on the session item, the point where a delete and a turn meet: it applies
only while no turn of the session is pending (the ledger moves the session's `turns_pending` in the transactions that
reserve, settle, release and undo a turn), and every later reserve requires `status = active`, so exactly one of a
delete and a turn's reserve wins, and no settle ever follows a tombstone. The same write takes the session off its
owner's list (OwnerIndex) and its tenant's day (DayIndex), and its entry off the staff's waiting list.

The messages and the key claims they name are then deleted in batches, and the tombstone last. A delete cut short
(the function killed) leaves the tombstone, which reads as no session at all: the owner's DELETE again finishes the
work, and so does the sweeper, which finds tombstones by their own keys in DayIndex (never a Scan).

Money already spent stays counted: the day counters are not touched. Tickets the model opened stay too: they are the
operator's records (docs/privacy.md).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from aichat.core.errors import SessionNotFound, TurnInProgress
from aichat.core.identity import Identity
from aichat.table import items, keys
from aichat.table.escalations import marker_key
from aichat.table.ledger.turn_ledger import PENDING_TURNS
from aichat.table.shards import pages_due
from aichat.table.transactions import Cancelled, Item, int_attr, n, s, str_attr, transact

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# BatchWriteItem's most per request.
_BATCH = 25
# A delete under way in its own request ends within the function's timeout; the sweeper finishes one older than this.
SWEEP_AFTER_SECONDS = 120


@dataclass(frozen=True)
class Deleted:
    """What one delete removed."""

    messages: int
    key_claims: int


class SessionDeletions:
    """Sessions deleted by their owners, and the sweeper's finishing of deletes cut short."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._db = client
        self._table = table_name

    def delete(self, session_id: str, caller: Identity, now: float) -> Deleted:
        """Delete the caller's session and everything stored under it. SessionNotFound for a missing session or
        someone else's; TurnInProgress (nothing changed) while a turn of it is pending. A session left half-deleted
        by an earlier try is finished."""
        self._tombstone(session_id, caller, now)
        return self._purge(session_id)

    def finish(self, session_id: str) -> Deleted:
        """Finish a delete cut short after its tombstone (found by key: DELETING# in DayIndex or the owner's
        deleting partition in OwnerIndex)."""
        return self._purge(session_id)

    def sweep(self, now: float) -> int:
        """Finish every delete cut short more than SWEEP_AFTER_SECONDS ago; how many sessions were finished."""
        finished = 0
        bound = f"{int(now) - SWEEP_AFTER_SECONDS:012d}"
        for page in pages_due(self._db, self._table, keys.deleting_shards(), bound):
            for item in page:
                self._purge(keys.session_id_from_pk(str_attr(item, "PK") or ""))
                finished += 1
        return finished

    # --- internals -----------------------------------------------------------------------------

    def _tombstone(self, session_id: str, caller: Identity, now: float) -> None:
        session = {"Update": {
            "TableName": self._table, "Key": items.session_key(session_id),
            # Off the owner's list, onto their list of deletes under way (an erasure finishes those too).
            "UpdateExpression": "SET #status = :deleted, GSI2PK = :shard, GSI2SK = :when, GSI1PK = :deleting",
            "ConditionExpression": "attribute_exists(PK) AND tenant_id = :tenant AND user_id = :user "
                                   f"AND #status <> :deleted AND (attribute_not_exists({PENDING_TURNS}) "
                                   f"OR {PENDING_TURNS} <= :none)",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {
                ":deleted": s(items.DELETED), ":tenant": s(caller.tenant_id), ":user": s(caller.user_id),
                ":none": n(0), ":shard": s(keys.deleting_shard(session_id)),
                ":deleting": s(keys.deleting_owner_key(caller.tenant_id, caller.user_id)),
                ":when": s(f"{int(now):012d}#{session_id}")},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}}
        # Off the staff's waiting list in the same write (no entry: nothing to delete).
        waiting = {"Delete": {"TableName": self._table, "Key": marker_key(session_id)}}
        try:
            transact(self._db, [session, waiting])
        except Cancelled as cancelled:
            old = (cancelled.reasons[0] if cancelled.reasons else {}).get("Item") or self._read(session_id)
            if (not old or str_attr(old, "tenant_id") != caller.tenant_id
                    or str_attr(old, "user_id") != caller.user_id):
                raise SessionNotFound() from None
            if str_attr(old, "status") == items.DELETED:
                return  # an earlier try left it half-deleted: finish it
            if int_attr(old, PENDING_TURNS) > 0:
                raise TurnInProgress() from None
            raise  # no condition of ours failed: a fault, not an answer

    def _purge(self, session_id: str) -> Deleted:
        messages = claims = 0
        for page in self._message_pages(session_id):
            deletes: list[Item] = []
            for item in page:
                deletes.append({"PK": item["PK"], "SK": item["SK"]})
                turn_key = str_attr(item, "turn_key")
                if turn_key is not None:
                    # The Idempotency-Key's claim names this turn: a repeat after the delete is a new message.
                    deletes.append({"PK": s(turn_key), "SK": s(keys.TURN_KEY_SK)})
                    claims += 1
            messages += len(page)
            self.delete_keys(deletes)
        try:
            self._db.delete_item(TableName=self._table, Key=items.session_key(session_id),
                                 ConditionExpression="#status = :deleted",
                                 ExpressionAttributeNames={"#status": "status"},
                                 ExpressionAttributeValues={":deleted": s(items.DELETED)})
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            # Gone already (a concurrent delete of the same session finished first).
        return Deleted(messages=messages, key_claims=claims)

    def _message_pages(self, session_id: str) -> Iterator[list[Item]]:
        request: dict[str, Any] = {
            "TableName": self._table, "ConsistentRead": True,
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :msg)",
            "ExpressionAttributeValues": {":pk": s(keys.session_pk(session_id)), ":msg": s(keys.MESSAGE_PREFIX)},
            "ProjectionExpression": "PK, SK, turn_key",
        }
        while True:
            page = self._db.query(**request)
            yield page.get("Items", [])
            if not page.get("LastEvaluatedKey"):
                return
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def delete_keys(self, item_keys: list[Item]) -> None:
        """Delete these items, 25 a request, sending again what DynamoDB left unprocessed."""
        for start in range(0, len(item_keys), _BATCH):
            pending: Any = [{"DeleteRequest": {"Key": key}} for key in item_keys[start:start + _BATCH]]
            tries = 0
            while pending:
                if tries:
                    time.sleep(min(0.05 * 2 ** tries, 1.0))  # throttled: back off before sending the rest again
                tries += 1
                answer = self._db.batch_write_item(RequestItems={self._table: pending})
                # Throttled parts come back unprocessed, in a successful answer botocore does not retry.
                pending = answer.get("UnprocessedItems", {}).get(self._table, [])

    def _read(self, session_id: str) -> Item | None:
        item: Item | None = self._db.get_item(TableName=self._table, Key=items.session_key(session_id),
                                              ConsistentRead=True).get("Item")
        return item
