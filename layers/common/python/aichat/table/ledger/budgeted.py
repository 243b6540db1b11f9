"""The ledger's budgeted transactions: every counter a charge moves, each with its limit as a condition, run as one
transaction, and a cancelled one explained (a limit, an owner, a key already claimed, a person who took the turn).

The first transaction of each tenant-day also writes the day's marker, which the rollup finds the day's tenants by.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from aichat.core.budgets import BudgetRefused, Charge, Counter
from aichat.core.records import SessionRecord
from aichat.table import items, keys
from aichat.table.context_stamps import stamp_of
from aichat.table.ledger.reservations import ContextChanged, KeyTaken, TurnOvertaken
from aichat.table.transactions import Cancelled, Item, Update, int_attr, n, s, str_attr, transact

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# Which item attribute holds each counter.
SESSION_ATTRS = {Counter.SESSION_COST: "total_cost_micros", Counter.SESSION_MESSAGES: "message_count"}
USER_DAY_ATTRS = {Counter.USER_DAY_COST: "cost_micros", Counter.USER_DAY_SESSIONS: "sessions"}
TENANT_DAY_ATTRS = {Counter.TENANT_DAY_COST: "cost_micros"}


class BudgetedWrites:
    """Runs the ledger's transactions on one table; remembers which tenant-days' markers are written."""

    def __init__(self, client: DynamoDBClient, table_name: str, expiry: Callable[[], int]) -> None:
        self._db = client
        self._table = table_name
        self._expiry = expiry
        self._active_marked: set[tuple[str, str]] = set()  # tenant-days whose DayIndex marker is known written

    def day_updates(self, tenant_id: str, user_id: str, day: str) -> tuple[Update, Update]:
        """The tenant's and the user's counters of `day`, as updates a charge is added to."""
        pk = s(keys.usage_pk(tenant_id, day))
        # Rollups and /usage read these; they outlive the sessions they count.
        expiry = {"expires_at": n(self._expiry() + 400 * 86_400), "tenant_id": s(tenant_id), "day": s(day)}
        tenant_day = Update(key={"PK": pk, "SK": s(keys.TENANT_COUNTER_SK)}, sets=dict(expiry))
        user_day = Update(key={"PK": pk, "SK": s(keys.user_counter_sk(user_id))},
                          sets={**expiry, "user_id": s(user_id)})
        return tenant_day, user_day

    def _active_marker(self, tenant_id: str, day: str) -> Item:
        # Written once per tenant-day (the condition fails every later time): the rollup finds the day's tenants
        # through it, and no counter update rewrites an index partition shared by every tenant.
        item = {"PK": s(keys.usage_pk(tenant_id, day)), "SK": s(keys.ACTIVE_SK), "GSI2PK": s(keys.day_key(day)),
                "GSI2SK": s(tenant_id), "tenant_id": s(tenant_id), "day": s(day),
                "expires_at": n(self._expiry() + 400 * 86_400)}
        return {"Put": {"TableName": self._table, "Item": item, "ConditionExpression": "attribute_not_exists(PK)"}}

    def check_fits_at_all(self, charges: Iterable[Charge], session: SessionRecord, day: str,
                          new_session: bool) -> None:
        """A charge larger than its whole limit can never fit; refuse it without a transaction.

        (A counter that does not exist yet passes any condition, so such a charge must be caught here.)
        """
        for charge in charges:
            if charge.max_before is None or charge.max_before >= 0:
                continue
            if charge.counter in SESSION_ATTRS:
                used = 0 if new_session else getattr(session, SESSION_ATTRS[charge.counter])
            else:
                used = self._day_counter(session, day, charge.counter)
            raise BudgetRefused(charge, used)

    def _day_counter(self, session: SessionRecord, day: str, counter: Counter) -> int:
        tenant_day, user_day = self.day_updates(session.tenant_id, session.user_id, day)
        update, attr = ((tenant_day, TENANT_DAY_ATTRS[counter]) if counter in TENANT_DAY_ATTRS
                        else (user_day, USER_DAY_ATTRS[counter]))
        item = self._db.get_item(TableName=self._table, Key=update.key).get("Item", {})
        return int_attr(item, attr)

    def run(self, entries: list[tuple[Item, Update | None]], session: SessionRecord, day: str,
            turn_id: str | None = None, context_version: int | None = None) -> None:
        """Run a budgeted transaction (with the tenant-day marker the first time); BudgetRefused if a limit failed,
        TurnOvertaken if a person took the session from the turn `turn_id`, ContextChanged if the session's messages
        are no longer at `context_version` (aichat/table/context_stamps.py)."""
        marker = (session.tenant_id, day)
        with_marker = marker not in self._active_marked
        while True:
            run = entries + ([(self._active_marker(*marker), None)] if with_marker else [])
            try:
                transact(self._db, [entry for entry, _ in run])
                self._active_marked.add(marker)
                return
            except Cancelled as cancelled:
                if with_marker and _only_marker_failed(cancelled.reasons):
                    self._active_marked.add(marker)  # another container wrote it first
                    with_marker = False
                    continue
                self._explain(cancelled, run, session, turn_id, context_version)

    def check_key_free(self, reason: dict[str, Any], entry: Item) -> None:
        """KeyTaken, naming the earlier request, if this entry is a key's claim and the key was already claimed."""
        if reason.get("Code") != "ConditionalCheckFailed" or entry.get("Put", {}).get("Item", {}).get(
                "SK") != s(keys.TURN_KEY_SK):
            return
        old = reason.get("Item") or self._db.get_item(
            TableName=self._table, Key={"PK": entry["Put"]["Item"]["PK"], "SK": s(keys.TURN_KEY_SK)},
            ConsistentRead=True).get("Item", {})
        raise KeyTaken(str_attr(old, "session_id") or "", str_attr(old, "message_id") or "",
                       str_attr(old, "turn_status") or "pending", str_attr(old, "reply_id"),
                       str_attr(old, "request_hash") or "") from None

    def _explain(self, cancelled: Cancelled, run: list[tuple[Item, Update | None]], session: SessionRecord,
                 turn_id: str | None = None, context_version: int | None = None) -> None:
        for reason, (entry, _) in zip(cancelled.reasons, run, strict=True):
            # A key's earlier turn decides the answer before any limit does: its retry is answered, not refused.
            self.check_key_free(reason, entry)
        for reason, (entry, update) in zip(cancelled.reasons, run, strict=True):
            if reason.get("Code") != "ConditionalCheckFailed":
                continue
            old = reason.get("Item")
            if update is None:
                if "Put" in entry and entry["Put"]["Item"]["SK"] == s(keys.ACTIVE_SK):
                    continue
                raise RuntimeError("id collision on a new item") from None
            if old is None:
                old = self._db.get_item(TableName=self._table, Key=update.key, ConsistentRead=True).get("Item", {})
            if update.key == items.session_key(session.id):
                if turn_id is not None and str_attr(old, "taken_turn") == turn_id:
                    raise TurnOvertaken() from None  # escalated and taken: the owner's, and not a limit
                items.check_owned_active(old, session)
                if context_version is not None and stamp_of(old).version != context_version:
                    raise ContextChanged() from None  # before any limit: the caller reads again and decides
            for charge, attr in update.charges:
                if charge.max_before is not None and int_attr(old, attr) > charge.max_before:
                    raise BudgetRefused(charge, int_attr(old, attr)) from None
        raise RuntimeError(f"transaction cancelled for no known reason: {cancelled.reasons}") from None

    def once(self, transaction: list[Item], request_token: str, overtaken_at: int | None = None) -> bool:
        """Run a settle or release transaction; False if the turn was no longer pending, TurnOvertaken if the entry at
        `overtaken_at` (the session's) failed because a person took the session."""
        try:
            transact(self._db, transaction, request_token)
        except Cancelled as cancelled:
            if cancelled.reasons and cancelled.reasons[0].get("Code") == "ConditionalCheckFailed":
                return False  # no longer pending: settled or released already
            if (overtaken_at is not None and len(cancelled.reasons) > overtaken_at
                    and cancelled.reasons[overtaken_at].get("Code") == "ConditionalCheckFailed"):
                raise TurnOvertaken() from None  # the session's entry: a person took it from the turn
            raise RuntimeError(f"turn transaction cancelled for no known reason: {cancelled.reasons}") from None
        return True


def apply_day_charge(charge: Charge, tenant_day: Update, user_day: Update) -> None:
    """Put a day counter's charge on the tenant's or the user's day, whichever it counts."""
    if charge.counter in TENANT_DAY_ATTRS:
        tenant_day.charge(charge, TENANT_DAY_ATTRS[charge.counter])
    elif charge.counter in USER_DAY_ATTRS:
        user_day.charge(charge, USER_DAY_ATTRS[charge.counter])


def _only_marker_failed(reasons: list[Item]) -> bool:
    codes = [r.get("Code") for r in reasons]
    return codes[-1] == "ConditionalCheckFailed" and all(c in (None, "None") for c in codes[:-1])
