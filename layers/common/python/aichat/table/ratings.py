"""Thumbs up or down on one assistant reply: the rating and its day's feedback counters, in one transaction."""

from __future__ import annotations

import random
import time
from dataclasses import replace
from typing import TYPE_CHECKING

from aichat.core.errors import MessageNotFound, StorageContended, StorageUnavailable
from aichat.core.identity import Identity
from aichat.core.records import MessageRecord
from aichat.table import items, keys
from aichat.table.transactions import Cancelled, Item, Update, s, str_attr, transact

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class MessageRatings:
    """The ratings of assistant replies in the single table, each counted once on its reply's day."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._db = client
        self._table = table_name

    def rate(self, session_id: str, message_id: str, caller: Identity, rating: str, text: str | None,
             now: str) -> MessageRecord:
        """Rate one assistant reply of the caller's (up or down); the reply's day counts it exactly once.

        Each try is conditioned on the rating it read, so the day's counters move from the rating the reply really
        had. Concurrent ratings of one reply all succeed and the last to commit wins: a try that lost the race tries
        again from what the winner left, after a jittered pause, until it commits, or the winner left this very
        rating, or a time budget runs out (StorageUnavailable, a 503 to retry).
        """
        key = {"PK": s(keys.session_pk(session_id)), "SK": s(keys.message_sk(message_id))}

        def read() -> Item:
            return self._db.get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item", {})

        # Well under the function's 10 s timeout: the try under way when it runs out (transact's own conflict
        # retries included) still ends in time, and the caller gets a 503 to retry rather than a timeout.
        deadline = time.monotonic() + 6.0
        item = read()
        attempt = 0
        while True:
            if (not item or str_attr(item, "tenant_id") != caller.tenant_id
                    or str_attr(item, "user_id") != caller.user_id or str_attr(item, "role") != "assistant"):
                raise MessageNotFound()
            previous = str_attr(item, "feedback")
            message = Update(key=key, sets={"feedback": s(rating), "feedback_at": s(now)})
            if text:
                message.sets["feedback_text"] = s(text)
            else:
                message.removes.append("feedback_text")
            # The reply must still be there: an update of one deleted meanwhile would write a stray item.
            message.conditions.append("attribute_exists(SK)")
            if previous is None:
                message.conditions.append("attribute_not_exists(feedback)")
            else:
                message.values[":previous"] = s(previous)
                message.conditions.append("feedback = :previous")
            transaction = [message.transact_item(self._table)]
            if previous != rating:
                # The day the turn was charged to (a turn crossing midnight keeps its reservation's day).
                day = str_attr(item, "day") or (str_attr(item, "created_at") or "")[:10]
                counter = Update(key={"PK": s(keys.usage_pk(caller.tenant_id, day)),
                                       "SK": s(keys.TENANT_COUNTER_SK)})
                counter.add(**{f"feedback_{rating}": 1, **({f"feedback_{previous}": -1} if previous else {})})
                transaction.append(counter.transact_item(self._table))
            try:
                transact(self._db, transaction)
                return replace(items.message_record(item), feedback=rating, feedback_text=text or None)
            except Cancelled as e:
                # Another rating committed since this one read; the reply comes back as it left it (ALL_OLD).
                left: Item | None = next((r["Item"] for r in e.reasons
                                          if r.get("Code") == "ConditionalCheckFailed" and r.get("Item")), None)
                item = left or read()
                if str_attr(item, "feedback") == rating:
                    # It left this very rating, so this one takes effect as if committed just before it: the rating
                    # and the counters are what that order gives, and the winner's text is the last word. Writing
                    # again would only invalidate the other tries in flight, in a storm of ratings.
                    return replace(items.message_record(item), feedback_text=text or None)
            except StorageContended:
                # transact gave up on a TransactionConflict after its own retries: still a race, not a failure.
                item = read()
            if time.monotonic() >= deadline:
                raise StorageUnavailable("This reply is being rated by many requests at once; try again in a moment.")
            # Full jitter, capped: the losers of one race spread out instead of colliding again.
            time.sleep(random.uniform(0, min(0.25, 0.01 * 2**attempt)))
            attempt += 1
