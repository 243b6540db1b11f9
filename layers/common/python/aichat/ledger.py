"""The turn ledger: the only code that moves money. Reserve, settle, release and sweep, each one transaction.

Invariant, after any fault: every cost counter (tenant day, user day, session) equals the settled costs of the
turns charged to it plus the reservations still pending, and every user's message is stored from the first write.
A reservation is charged to the day it was made on, however long its turn runs. Settle and release apply only to
a message still `pending`, so each happens once; a turn whose invocation died is released by the sweeper once its
`sweep_after` has passed (set beyond the invocation's own deadline, so a live turn is never swept).

A turn a person took the session from while it ran (the take names it as the session's `taken_turn`, see
aichat/handoffs.py) advances no further and settles overtaken: charged what its calls cost, its reply stored with no
text and `stopped: taken_by_person`, so the customer's conversation goes on with the person alone.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aichat import items, keys
from aichat.budgets import BudgetRefused, Charge, Counter
from aichat.clock import Clock, iso, utc_now
from aichat.errors import SessionChanged
from aichat.handoffs import last_message_update
from aichat.models import TAKEN_BY_PERSON
from aichat.pricing import Usage
from aichat.records import MessageRecord, SessionRecord
from aichat.transactions import Cancelled, Item, Update, int_attr, n, s, str_attr, transact

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_SESSION_ATTRS = {Counter.SESSION_COST: "total_cost_micros", Counter.SESSION_MESSAGES: "message_count"}
_USER_DAY_ATTRS = {Counter.USER_DAY_COST: "cost_micros", Counter.USER_DAY_SESSIONS: "sessions"}
_TENANT_DAY_ATTRS = {Counter.TENANT_DAY_COST: "cost_micros"}
_PENDING_ATTRS = ["GSI2PK", "GSI2SK", "sweep_after"]

# A reply item holds at most 400 KB; the rest of the item (ids, usage, model) takes well under 10 KB.
MAX_REPLY_BYTES = 380_000
# DynamoDB numbers keep 38 digits: a usage this large is recorded as this much, and flagged over the reservation.
MAX_RECORDED_TOKENS = 10**12
# Characters a token of plain text comes to, at the least (English averages about four).
_CHARS_PER_TOKEN = 4
# How long past its invocation's own deadline a pending turn waits before the sweeper may release it.
SWEEP_GRACE_SECONDS = 60
# Where the invocation's remaining time is unknown: Lambda's longest timeout.
DEFAULT_TURN_SECONDS = 900


@dataclass(frozen=True)
class Reservation:
    """What one model call of a turn holds: amounts, the day they are charged to, and when it may be swept."""

    session_id: str
    tenant_id: str
    user_id: str
    message_id: str  # the user's message, written `pending` by the reserve
    day: str
    amount_micros: int
    message_slots: int
    sweep_after: int  # epoch seconds
    turn_key: str | None = None  # the PK of the Idempotency-Key's claim, for a keyed turn
    charged_micros: int = 0  # what the turn's finished model calls cost, charged already (a turn with tools)
    step: int = 1  # which model call of the turn this reserves for


@dataclass(frozen=True)
class KeyClaim:
    """A keyed turn claims its Idempotency-Key in the reserve transaction, so a retry is never charged twice.

    `request_hash` tells a retry from another request under the same key; `replaces_failed` is set when the retry
    of a turn that got no answer takes the claim over.
    """

    pk: str
    request_hash: str
    claimed_at: int  # epoch seconds: the claim of another turn that expired before this is no claim
    expires_at: int
    replaces_failed: bool = False


class KeyTaken(Exception):
    """The key was claimed by an earlier turn: `status` is pending, ok or failed; `reply_id` is set once ok."""

    def __init__(self, session_id: str, message_id: str, status: str, reply_id: str | None,
                 request_hash: str) -> None:
        super().__init__(status)
        self.session_id = session_id
        self.message_id = message_id
        self.status = status
        self.reply_id = reply_id
        self.request_hash = request_hash


class TurnOvertaken(Exception):
    """A person took the session while this turn ran: it may call no model and run no tool any more."""


def overtaken(reply: MessageRecord) -> MessageRecord:
    """A reply as an overtaken turn stores it: no model text (the person has the conversation), its cost and the
    tools that ran before the take kept."""
    return replace(reply, content="", stopped=TAKEN_BY_PERSON, truncated=False)


def _not_taken(update: Update, turn_id: str) -> Update:
    """Apply only while no person has taken the session from the turn `turn_id`."""
    update.values[":turn"] = s(turn_id)
    update.conditions.append("(attribute_not_exists(taken_turn) OR taken_turn <> :turn)")
    return update


@dataclass(frozen=True)
class FittedReply:
    """A provider's answer as it will be stored: text cut to fit, usage clamped to what DynamoDB holds."""

    text: str
    usage: Usage
    truncated: bool


@dataclass(frozen=True)
class SweepReport:
    """One sweeper run: pending turns past their time, how many it released, and its DynamoDB calls."""

    found: int
    released: int
    queries: int
    transactions: int


def sweep_after(now: float, remaining_seconds: float | None) -> int:
    """When a turn starting now may be swept: after its invocation's deadline, plus a grace period."""
    remaining = DEFAULT_TURN_SECONDS if remaining_seconds is None else max(remaining_seconds, 0.0)
    return math.ceil(now + remaining) + SWEEP_GRACE_SECONDS


def recordable(usage: Usage) -> Usage:
    """Usage as it can be recorded: each count at least 0 and at most MAX_RECORDED_TOKENS."""
    return Usage(*(min(max(v, 0), MAX_RECORDED_TOKENS) for v in (
        usage.input_tokens, usage.output_tokens, usage.cache_read_tokens, usage.cache_write_tokens)))


def fit_reply(text: str, usage: Usage, max_tokens: int, max_bytes: int = MAX_REPLY_BYTES) -> FittedReply:
    """Cut a reply to MAX_TOKENS (in proportion to the reported output) and to what an item holds (`max_bytes`:
    less where the reply's item also holds its turn's tool calls)."""
    clamped = recordable(usage)
    truncated = False
    if clamped.output_tokens > max_tokens and text:
        # No tokenizer for every model here: keep the share of the text that max_tokens is of the reported output,
        # but never less than max_tokens tokens of plain text could be, so an inflated usage cannot empty a reply.
        keep = max(len(text) * max_tokens // clamped.output_tokens, max_tokens * _CHARS_PER_TOKEN)
        if keep < len(text):
            text, truncated = text[:keep], True
    if _has_surrogates(text):
        # A lone surrogate cannot be stored as UTF-8: each becomes U+FFFD rather than failing the settle.
        text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    encoded = text.encode()
    if len(encoded) > max_bytes:
        encoded, truncated = encoded[:max_bytes], True
    return FittedReply(text=encoded.decode("utf-8", "ignore"), usage=clamped, truncated=truncated)


def _has_surrogates(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return True
    return False


class TurnLedger:
    """Sessions' and turns' money in the single table: every budgeted write goes through here."""

    def __init__(self, client: DynamoDBClient, table_name: str, retention_days: int,
                 clock: Clock = utc_now) -> None:
        self._db = client
        self._table = table_name
        self._retention_seconds = retention_days * 86_400
        self._clock = clock
        self._active_marked: set[tuple[str, str]] = set()  # tenant-days whose DayIndex marker is known written

    # --- sessions and turns ----------------------------------------------------------------------

    def open_session(self, session: SessionRecord, day: str, session_charge: Charge) -> None:
        """Write a new session, counted against the user's sessions today; BudgetRefused if none is left."""
        self._check_fits_at_all([session_charge], session, day, new_session=True)
        tenant_day, user_day = self._day_updates(session.tenant_id, session.user_id, day)
        user_day.charge(session_charge, _USER_DAY_ATTRS[session_charge.counter])
        tenant_day.add(sessions=1)
        put = {"Put": {"TableName": self._table, "Item": items.session_item(session, self._expiry()),
                       "ConditionExpression": "attribute_not_exists(PK)"}}
        self._run_budgeted([(put, None), (tenant_day.transact_item(self._table), tenant_day),
                            (user_day.transact_item(self._table), user_day)], session, day)

    def reserve(self, session: SessionRecord, is_new: bool, day: str, charges: Sequence[Charge],
                message: MessageRecord, sweep_after: int, session_charge: Charge | None = None,
                claim: KeyClaim | None = None) -> Reservation:
        """Reserve a model call's worst case on every counter and write the user's message `pending`, at once.

        A new session (is_new) is written in the same transaction and counted with `session_charge`; a keyed turn
        claims its key in it too. KeyTaken if an earlier turn holds the key (checked first); BudgetRefused names
        the first limit that did not fit. Either way nothing was written.
        """
        amount = max((c.amount for c in charges if c.counter is Counter.TENANT_DAY_COST), default=0)
        slots = sum(c.amount for c in charges if c.counter is Counter.SESSION_MESSAGES)
        reservation = Reservation(session_id=session.id, tenant_id=session.tenant_id, user_id=session.user_id,
                                  message_id=message.id, day=day, amount_micros=amount, message_slots=slots,
                                  sweep_after=sweep_after, turn_key=claim.pk if claim else None)
        self._check_fits_at_all([*charges, *([session_charge] if session_charge else [])], session, day,
                                new_session=is_new)
        tenant_day, user_day = self._day_updates(session.tenant_id, session.user_id, day)
        entries: list[tuple[Item, Update | None]] = []
        if is_new:
            assert session_charge is not None, "a new session is counted against the user's sessions"
            user_day.charge(session_charge, _USER_DAY_ATTRS[session_charge.counter])
            tenant_day.add(sessions=1)
            item = items.session_item(session, self._expiry())
            item["live_turn"] = s(message.id)  # the turn a stop asks to end (aichat/stops.py)
            for charge in charges:
                if charge.counter in _SESSION_ATTRS:
                    attr = _SESSION_ATTRS[charge.counter]
                    item[attr] = n(int_attr(item, attr) + charge.amount)
                else:
                    _apply_day_charge(charge, tenant_day, user_day)
            entries.append(({"Put": {"TableName": self._table, "Item": item,
                                     "ConditionExpression": "attribute_not_exists(PK)"}}, None))
        else:
            meta = Update(key=items.session_key(session.id), sets={"updated_at": s(message.created_at),
                                                                   "live_turn": s(message.id)})
            meta.conditions.append("attribute_exists(PK) AND tenant_id = :tenant AND user_id = :user "
                                   "AND #status = :active")
            meta.names["#status"] = "status"
            meta.values.update({":tenant": s(session.tenant_id), ":user": s(session.user_id), ":active": s("active")})
            for charge in charges:
                if charge.counter in _SESSION_ATTRS:
                    meta.charge(charge, _SESSION_ATTRS[charge.counter])
                else:
                    _apply_day_charge(charge, tenant_day, user_day)
            entries.append((meta.transact_item(self._table), meta))
        entries += [(tenant_day.transact_item(self._table), tenant_day),
                    (user_day.transact_item(self._table), user_day),
                    (self._pending_put(session, message, reservation), None)]
        if claim is not None:
            entries.append((self._claim_put(claim, reservation.tenant_id, reservation.user_id,
                                            reservation.session_id, reservation.message_id), None))
        self._run_budgeted(entries, session, day)
        return reservation

    def note_for_person(self, session: SessionRecord, message: MessageRecord, slot: Charge,
                        claim: KeyClaim | None = None) -> None:
        """Store a customer's message in an escalated session for the person who will answer: no model call, so
        nothing reserved or charged, but the message takes `slot` on the session's message count.

        A keyed message claims its key in the same transaction, answered at once (its reply is the message itself).
        KeyTaken if an earlier request holds the key; SessionNotFound unless the session is the caller's,
        SessionNotActive unless it is still escalated, BudgetRefused when the session has no message left.
        """
        meta = Update(key=items.session_key(session.id), sets={"updated_at": s(message.created_at),
                                                               "expires_at": n(self._expiry())})
        meta.conditions.append("attribute_exists(PK) AND tenant_id = :tenant AND user_id = :user "
                               "AND #status = :escalated")
        meta.names["#status"] = "status"
        meta.values.update({":tenant": s(session.tenant_id), ":user": s(session.user_id),
                            ":escalated": s("escalated")})
        meta.charge(slot, _SESSION_ATTRS[Counter.SESSION_MESSAGES])
        put = {"Put": {"TableName": self._table, "Item": items.message_item(session, message, self._expiry()),
                       "ConditionExpression": "attribute_not_exists(SK)"}}
        # The waiting list shows it too (an unconditional update: a session escalated before the list had no entry).
        noted = last_message_update(session.id, message, self._table)
        run = [meta.transact_item(self._table), put, noted]
        if claim is not None:
            run.append(self._claim_put(claim, session.tenant_id, session.user_id, session.id, message.id,
                                       status="ok", reply_id=message.id))
        try:
            transact(self._db, run)
        except Cancelled as cancelled:
            for reason, entry in zip(cancelled.reasons, run, strict=False):
                self._check_key_free(reason, entry)
            reason = cancelled.reasons[0] if cancelled.reasons else {}
            if reason.get("Code") != "ConditionalCheckFailed":
                raise RuntimeError(f"message transaction cancelled for no known reason: {cancelled.reasons}") from None
            old = reason.get("Item") or self._db.get_item(TableName=self._table, Key=items.session_key(session.id),
                                                          ConsistentRead=True).get("Item", {})
            if str_attr(old, "status") == "escalated":
                items.check_owned_active({**old, "status": s("active")}, session)  # the owner check alone
                raise BudgetRefused(slot, int_attr(old, "message_count")) from None
            items.check_owned_active(old, session)
            raise SessionChanged() from None  # active again: released to the AI since it was read

    def advance(self, reservation: Reservation, session: SessionRecord, step_cost_micros: int, step_tokens: int,
                next_charges: Sequence[Charge]) -> Reservation:
        """Charge a finished model call of the turn its real cost and reserve the next call's worst case, at once.

        `next_charges` are the next call's cost charges (the turn's message slots are reserved once, by `reserve`).
        BudgetRefused names the first limit the next call does not fit, and nothing changed: the turn is still
        pending with this reservation, for `settle` to charge. TurnOvertaken, nothing changed either, once a person
        has taken the session from the turn. RuntimeError if the turn is no longer pending.
        """
        next_amount = max((c.amount for c in next_charges if c.counter is Counter.TENANT_DAY_COST), default=0)
        # The counters move from holding this call's reservation to holding its cost plus the next reservation:
        # the next call fits if the counter, so moved, stays within its limit.
        delta = step_cost_micros - reservation.amount_micros + next_amount
        moved = [replace(c, amount=delta) for c in next_charges if c.counter is not Counter.SESSION_MESSAGES]
        self._check_fits_at_all(moved, session, reservation.day, new_session=False)
        following = replace(reservation, amount_micros=next_amount, step=reservation.step + 1,
                            charged_micros=reservation.charged_micros + step_cost_micros)
        user = Update(key=items.message_key(reservation.session_id, reservation.message_id), sets={
            "reserved_micros": n(following.amount_micros), "charged_micros": n(following.charged_micros),
            "step": n(following.step)}).require_status("pending")
        # Only from the reservation this call held: an advance retried after it committed changes nothing.
        user.values[":held"] = n(reservation.amount_micros)
        user.conditions.append("reserved_micros = :held")
        meta = _not_taken(Update(key=items.session_key(reservation.session_id)).add(total_tokens=step_tokens),
                          reservation.message_id)
        tenant_day, user_day = self._day_updates(reservation.tenant_id, reservation.user_id, reservation.day)
        for update in (tenant_day, user_day):
            update.add(tokens=step_tokens)
        for charge in moved:
            if charge.counter in _SESSION_ATTRS:
                meta.charge(charge, _SESSION_ATTRS[charge.counter])
            else:
                _apply_day_charge(charge, tenant_day, user_day)
        self._run_budgeted([(user.transact_item(self._table), user), (meta.transact_item(self._table), meta),
                            (tenant_day.transact_item(self._table), tenant_day),
                            (user_day.transact_item(self._table), user_day)], session, reservation.day,
                           turn_id=reservation.message_id)
        return following

    def settle(self, reservation: Reservation, user_message: MessageRecord, reply: MessageRecord,
               total_tokens: int, now: str) -> MessageRecord | None:
        """Charge the real cost instead of the reservation, store the reply and mark the user's message ok; the
        reply as stored, which is `overtaken(reply)` when a person took the session from the turn meanwhile.

        `reply.cost_micros` is the whole turn's cost, `total_tokens` the tokens not yet counted (a turn with tools
        counted its earlier calls' as it advanced). The cost is charged as given, even past a limit (it is what
        the provider bills). None if the turn was already settled or released (nothing changed).
        """
        try:
            return reply if self._settle(reservation, user_message, reply, total_tokens, now) else None
        except TurnOvertaken:
            # Charged all the same (the provider answered), but the person has the conversation: no text after them.
            stored = overtaken(reply)
            return stored if self._settle(reservation, user_message, stored, total_tokens, now) else None

    def _settle(self, reservation: Reservation, user_message: MessageRecord, reply: MessageRecord,
                total_tokens: int, now: str) -> bool:
        """One settle transaction; a reply not yet overtaken only while no person took the session (TurnOvertaken)."""
        delta = reply.cost_micros - reservation.charged_micros - reservation.amount_micros
        user = Update(key=items.message_key(reservation.session_id, reservation.message_id),
                      sets={"status": s("ok"), "tokens": n(user_message.tokens)},
                      removes=list(_PENDING_ATTRS)).require_status("pending")
        session = _session_stub(reservation)
        counters = self._counter_moves(reservation, cost=delta, tokens=total_tokens, messages=reservation.message_slots)
        meta = Update(key=items.session_key(reservation.session_id),
                      sets={"updated_at": s(now), "expires_at": n(self._expiry())})
        meta.add(total_cost_micros=delta, total_tokens=total_tokens)
        if reply.stopped != TAKEN_BY_PERSON:
            _not_taken(meta, reservation.message_id)
        reply_put = {"Put": {"TableName": self._table, "Item": items.message_item(session, reply, self._expiry()),
                             "ConditionExpression": "attribute_not_exists(SK)"}}
        run = [user.transact_item(self._table), reply_put, *counters, meta.transact_item(self._table),
               *self._claim_outcome(reservation, "ok", reply.id)]
        # The overtaken form is another transaction: its own token (36 characters at most), or DynamoDB refuses it as
        # the first one changed.
        token = f"{'taken' if reply.stopped == TAKEN_BY_PERSON else 'settle'}-{reservation.message_id}"
        return self._once(run, token, overtaken_at=2 + len(counters))  # the session's entry

    def release(self, reservation: Reservation, now: str, *, by: str = "release") -> bool:
        """Give back a reservation whose call got no answer: nothing charged, the user's message kept `failed`.

        The user's message keeps its slot in the session; the reply's slots are given back. False if the turn was
        already settled or released.
        """
        # The model calls a turn with tools finished before it died stay charged: its message keeps their cost.
        user = Update(key=items.message_key(reservation.session_id, reservation.message_id),
                      sets={"status": s("failed")},
                      removes=list(_PENDING_ATTRS)).require_status("pending")
        counters = self._counter_moves(reservation, cost=-reservation.amount_micros, tokens=0, messages=1)
        meta = Update(key=items.session_key(reservation.session_id), sets={"updated_at": s(now)})
        meta.add(total_cost_micros=-reservation.amount_micros, message_count=1 - reservation.message_slots)
        return self._once([user.transact_item(self._table), *counters, meta.transact_item(self._table),
                           *self._claim_outcome(reservation, "failed", None)], f"{by}-{reservation.message_id}")

    def sweep(self, now: float) -> SweepReport:
        """Release every turn still pending past its sweep time, each exactly once; reads only sharded keys."""
        found = released = queries = transactions = 0
        bound = keys.sweep_sort_bound(int(now))
        for shard in keys.sweep_shards():
            request: dict[str, Any] = {
                "TableName": self._table, "IndexName": keys.DAY_INDEX,
                "KeyConditionExpression": "GSI2PK = :shard AND GSI2SK < :bound",
                "ExpressionAttributeValues": {":shard": s(shard), ":bound": s(bound)},
            }
            while True:
                page = self._db.query(**request)
                queries += 1
                for item in page.get("Items", []):
                    found += 1
                    transactions += 1
                    # Its own request token: a release by the turn itself (same token, other values) may be recent.
                    if self.release(_reservation_of(item), iso(datetime.fromtimestamp(now, UTC)), by="sweep"):
                        released += 1
                if not page.get("LastEvaluatedKey"):
                    break
                request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return SweepReport(found=found, released=released, queries=queries, transactions=transactions)

    def pending(self, session_id: str, message_id: str) -> Reservation | None:
        """The reservation of a turn still pending, read from its user message; None once settled or released."""
        item = self._db.get_item(TableName=self._table, Key=items.message_key(session_id, message_id),
                                 ConsistentRead=True).get("Item")
        return _reservation_of(item) if item and str_attr(item, "status") == "pending" else None

    # --- internals -----------------------------------------------------------------------------

    def _expiry(self) -> int:
        return int(self._clock().timestamp()) + self._retention_seconds

    def _pending_put(self, session: SessionRecord, message: MessageRecord, reservation: Reservation) -> Item:
        record = replace(message, status="pending", day=reservation.day, reserved_micros=reservation.amount_micros)
        item = items.message_item(session, record, self._expiry())
        if reservation.turn_key is not None:
            item["turn_key"] = s(reservation.turn_key)  # so the sweeper's release marks the claim failed too
        item.update({
            "reserved_messages": n(reservation.message_slots), "sweep_after": n(reservation.sweep_after),
            "GSI2PK": s(keys.sweep_shard(session.id)),
            "GSI2SK": s(keys.sweep_sort_key(reservation.sweep_after, session.id, message.id)),
        })
        return {"Put": {"TableName": self._table, "Item": item, "ConditionExpression": "attribute_not_exists(SK)"}}

    def _claim_put(self, claim: KeyClaim, tenant_id: str, user_id: str, session_id: str, message_id: str,
                   status: str = "pending", reply_id: str | None = None) -> Item:
        item = {"PK": s(claim.pk), "SK": s(keys.TURN_KEY_SK), "tenant_id": s(tenant_id), "user_id": s(user_id),
                "session_id": s(session_id), "message_id": s(message_id), "turn_status": s(status),
                "request_hash": s(claim.request_hash), "expires_at": n(claim.expires_at)}
        if reply_id is not None:
            item["reply_id"] = s(reply_id)
        # An expired claim counts as none: DynamoDB's TTL deletes items only eventually.
        condition = "attribute_not_exists(PK) OR expires_at < :now"
        values: Item = {":now": n(claim.claimed_at)}
        if claim.replaces_failed:
            condition += " OR (turn_status = :failed AND session_id = :session)"
            values.update({":failed": s("failed"), ":session": s(session_id)})
        return {"Put": {"TableName": self._table, "Item": item, "ConditionExpression": condition,
                        "ExpressionAttributeValues": values, "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}}

    def _claim_outcome(self, r: Reservation, status: str, reply_id: str | None) -> list[Item]:
        if r.turn_key is None:
            return []
        claim = Update(key={"PK": s(r.turn_key), "SK": s(keys.TURN_KEY_SK)}, sets={"turn_status": s(status)})
        if reply_id is not None:
            claim.sets["reply_id"] = s(reply_id)
        return [claim.transact_item(self._table)]

    def _day_updates(self, tenant_id: str, user_id: str, day: str) -> tuple[Update, Update]:
        pk = s(keys.usage_pk(tenant_id, day))
        # Rollups and /usage read these; they outlive the sessions they count.
        expiry = {"expires_at": n(self._expiry() + 400 * 86_400), "tenant_id": s(tenant_id), "day": s(day)}
        tenant_day = Update(key={"PK": pk, "SK": s(keys.TENANT_COUNTER_SK)}, sets=dict(expiry))
        user_day = Update(key={"PK": pk, "SK": s(keys.user_counter_sk(user_id))},
                          sets={**expiry, "user_id": s(user_id)})
        return tenant_day, user_day

    def _counter_moves(self, r: Reservation, *, cost: int, tokens: int, messages: int) -> list[Item]:
        tenant_day, user_day = (
            Update(key={"PK": s(keys.usage_pk(r.tenant_id, r.day)), "SK": s(sk)})
            for sk in (keys.TENANT_COUNTER_SK, keys.user_counter_sk(r.user_id)))
        for update in (tenant_day, user_day):
            update.add(cost_micros=cost, tokens=tokens, messages=messages)
        return [tenant_day.transact_item(self._table), user_day.transact_item(self._table)]

    def _active_marker(self, tenant_id: str, day: str) -> Item:
        # Written once per tenant-day (the condition fails every later time): the rollup finds the day's tenants
        # through it, and no counter update rewrites an index partition shared by every tenant.
        item = {"PK": s(keys.usage_pk(tenant_id, day)), "SK": s(keys.ACTIVE_SK), "GSI2PK": s(keys.day_key(day)),
                "GSI2SK": s(tenant_id), "tenant_id": s(tenant_id), "day": s(day),
                "expires_at": n(self._expiry() + 400 * 86_400)}
        return {"Put": {"TableName": self._table, "Item": item, "ConditionExpression": "attribute_not_exists(PK)"}}

    def _check_fits_at_all(self, charges: Iterable[Charge], session: SessionRecord, day: str,
                           new_session: bool) -> None:
        """A charge larger than its whole limit can never fit; refuse it without a transaction.

        (A counter that does not exist yet passes any condition, so such a charge must be caught here.)
        """
        for charge in charges:
            if charge.max_before is None or charge.max_before >= 0:
                continue
            if charge.counter in _SESSION_ATTRS:
                used = 0 if new_session else getattr(session, _SESSION_ATTRS[charge.counter])
            else:
                used = self._day_counter(session, day, charge.counter)
            raise BudgetRefused(charge, used)

    def _day_counter(self, session: SessionRecord, day: str, counter: Counter) -> int:
        tenant_day, user_day = self._day_updates(session.tenant_id, session.user_id, day)
        update, attr = ((tenant_day, _TENANT_DAY_ATTRS[counter]) if counter in _TENANT_DAY_ATTRS
                        else (user_day, _USER_DAY_ATTRS[counter]))
        item = self._db.get_item(TableName=self._table, Key=update.key).get("Item", {})
        return int_attr(item, attr)

    def _run_budgeted(self, entries: list[tuple[Item, Update | None]], session: SessionRecord, day: str,
                      turn_id: str | None = None) -> None:
        """Run a budgeted transaction (with the tenant-day marker the first time); BudgetRefused if a limit failed,
        TurnOvertaken if a person took the session from the turn `turn_id`."""
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
                self._explain(cancelled, run, session, turn_id)

    def _check_key_free(self, reason: dict[str, Any], entry: Item) -> None:
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
                 turn_id: str | None = None) -> None:
        for reason, (entry, _) in zip(cancelled.reasons, run, strict=True):
            # A key's earlier turn decides the answer before any limit does: its retry is answered, not refused.
            self._check_key_free(reason, entry)
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
            for charge, attr in update.charges:
                if charge.max_before is not None and int_attr(old, attr) > charge.max_before:
                    raise BudgetRefused(charge, int_attr(old, attr)) from None
        raise RuntimeError(f"transaction cancelled for no known reason: {cancelled.reasons}") from None

    def _once(self, transaction: list[Item], request_token: str, overtaken_at: int | None = None) -> bool:
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


def _apply_day_charge(charge: Charge, tenant_day: Update, user_day: Update) -> None:
    if charge.counter in _TENANT_DAY_ATTRS:
        tenant_day.charge(charge, _TENANT_DAY_ATTRS[charge.counter])
    elif charge.counter in _USER_DAY_ATTRS:
        user_day.charge(charge, _USER_DAY_ATTRS[charge.counter])


def _only_marker_failed(reasons: list[Item]) -> bool:
    codes = [r.get("Code") for r in reasons]
    return codes[-1] == "ConditionalCheckFailed" and all(c in (None, "None") for c in codes[:-1])


def _session_stub(r: Reservation) -> SessionRecord:
    # The message items need only the session's id and owner.
    return SessionRecord(id=r.session_id, tenant_id=r.tenant_id, user_id=r.user_id, session_type="customer_support",
                         status="active", provider="", model="", created_at="", updated_at="")


def _reservation_of(item: Item) -> Reservation:
    return Reservation(
        session_id=keys.session_id_from_pk(str_attr(item, "PK") or ""),
        message_id=keys.message_id_from_sk(str_attr(item, "SK") or ""),
        tenant_id=str_attr(item, "tenant_id") or "", user_id=str_attr(item, "user_id") or "",
        day=str_attr(item, "day") or "", amount_micros=int_attr(item, "reserved_micros"),
        message_slots=int_attr(item, "reserved_messages"), sweep_after=int_attr(item, "sweep_after"),
        turn_key=str_attr(item, "turn_key"), charged_micros=int_attr(item, "charged_micros"),
        step=int_attr(item, "step") or 1,
    )
