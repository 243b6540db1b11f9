"""Stopping a streamed reply from another function: the stop route writes a flag on the session, the stream reads it.

In AWS the stop route and the stream are different functions (often different containers), so the signal goes
through the table: each turn's reserve writes its user message's id as the session's `live_turn`; a stop copies it
to `stop_turn` in one conditional update, with `stop_deltas` (how many text deltas the client had shown, if it
said); the stream reads both at most once per STOP_CHECK_SECONDS and stops when `stop_turn` names its own turn. A
stop therefore reaches exactly the turn that was live when it was asked for, and the stored reply keeps what was
shown.

A person taking the session (table/escalations.py) sets the same flag, and names the turn as `taken_turn` too: the
stream stops as for a stop, and any turn reads `taken` before it runs tools, so none runs after the take.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from aichat.core.identity import Identity
from aichat.table import items
from aichat.table.transactions import Item, int_attr, n, s, str_attr

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class StopFlags:
    """The session's stop flag: set by its owner, read by the turn that streams."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._db = client
        self._table = table_name

    def request(self, session_id: str, caller: Identity, deltas_shown: int | None = None) -> StopAsked:
        """Ask the session's live turn to stop, keeping `deltas_shown` text deltas of its reply if given.

        SessionNotFound unless the session is the caller's. A turn that already ended is not changed.
        """
        # The count names its turn too: a person's take sets stop_turn alone, and must not reuse an older count.
        shown = ("SET stop_turn = live_turn, stop_deltas = :shown, stop_deltas_turn = live_turn"
                 if deltas_shown is not None else "SET stop_turn = live_turn REMOVE stop_deltas, stop_deltas_turn")
        values: Item = {":tenant": s(caller.tenant_id), ":user": s(caller.user_id)}
        if deltas_shown is not None:
            values[":shown"] = n(deltas_shown)
        try:
            updated = self._db.update_item(
                TableName=self._table, Key=items.session_key(session_id), UpdateExpression=shown,
                ConditionExpression="attribute_exists(live_turn) AND tenant_id = :tenant AND user_id = :user",
                ExpressionAttributeValues=values, ReturnValues="UPDATED_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            old: Item | None = e.response.get("Item")  # type: ignore[assignment]
            if old is None:  # older botocore or an endpoint that does not return the item: read it
                old = self._db.get_item(TableName=self._table, Key=items.session_key(session_id),
                                        ConsistentRead=True).get("Item")
            items.owned_session(old or {}, caller)  # SessionNotFound for a missing session or someone else's
            return StopAsked(turn_id=None, ended=True)  # the caller's session, but no turn has run in it yet
        turn_id = str_attr(updated.get("Attributes"), "stop_turn") or ""
        # Read after the flag is set: a turn still pending now will read the flag, unless its model finishes first.
        message = self._db.get_item(TableName=self._table, Key=items.message_key(session_id, turn_id),
                                    ProjectionExpression="#status", ExpressionAttributeNames={"#status": "status"},
                                    ConsistentRead=True).get("Item")
        return StopAsked(turn_id=turn_id, ended=str_attr(message, "status") != "pending")

    def watch(self, session_id: str, turn_id: str, every: float,
              monotonic: Callable[[], float] = time.monotonic) -> StopWatch:
        """A check for the stream of turn `turn_id`, reading the flag at most once per `every` seconds."""
        def read() -> tuple[bool, int | None]:
            item = self._db.get_item(TableName=self._table, Key=items.session_key(session_id),
                                     ProjectionExpression="stop_turn, stop_deltas, stop_deltas_turn",
                                     ConsistentRead=True).get("Item")
            asked = str_attr(item, "stop_turn") == turn_id
            counted = asked and str_attr(item, "stop_deltas_turn") == turn_id
            return asked, (int_attr(item, "stop_deltas") if counted else None)

        return StopWatch(read, every, monotonic)

    def taken(self, session_id: str, turn_id: str) -> bool:
        """Whether a person has taken the session from the turn `turn_id` (read now, strongly consistent)."""
        item = self._db.get_item(TableName=self._table, Key=items.session_key(session_id),
                                 ProjectionExpression="taken_turn", ConsistentRead=True).get("Item")
        return str_attr(item, "taken_turn") == turn_id


@dataclass(frozen=True)
class StopAsked:
    """What a stop reached: the user message whose turn it asked to stop (None: no turn ever ran), and whether that
    turn had already ended, so nothing changed."""

    turn_id: str | None
    ended: bool


class StopWatch:
    """Whether a stop was asked for, read from the table no more often than `every` seconds (`reads` counts them);
    `deltas_shown` is what the stop said the client had shown of the reply (None: it did not say)."""

    def __init__(self, read: Callable[[], tuple[bool, int | None]], every: float,
                 monotonic: Callable[[], float]) -> None:
        self._read = read
        self._every = every
        self._monotonic = monotonic
        self._next_read = monotonic() + every  # the turn has just started: nobody can have stopped it yet
        self.stopped = False
        self.deltas_shown: int | None = None
        self.reads = 0

    def __call__(self) -> bool:
        if self.stopped or self._monotonic() < self._next_read:
            return self.stopped
        self.reads += 1
        self._next_read = self._monotonic() + self._every
        try:
            self.stopped, self.deltas_shown = self._read()
        except (BotoCoreError, ClientError):
            # A flag that cannot be read now is read again next time; the reply goes on meanwhile.
            return False
        return self.stopped
