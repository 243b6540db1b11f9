"""The turn ledger: the only code that moves money. Reserve, settle, release and sweep, each one transaction.

Invariant, after any fault: every cost counter (tenant day, user day, session) equals the settled costs of the
turns charged to it plus the reservations still pending, and every user's message is stored from the first write.
A reservation is charged to the day it was made on, however long its turn runs. Settle and release apply only to
a message still `pending`, so each happens once; a turn whose invocation died is released by the sweeper once its
`sweep_after` has passed (set beyond the invocation's own deadline, so a live turn is never swept).

A turn a person took the session from while it ran (the take names it as the session's `taken_turn`, see
table/escalations.py) advances no further and settles overtaken: charged what its calls cost, its reply stored with no
text and `stopped: taken_by_person`, so the customer's conversation goes on with the person alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from aichat.core.budgets import BudgetRefused, Charge, Counter
from aichat.core.clock import Clock, iso, utc_now
from aichat.core.errors import SessionChanged
from aichat.core.models import TAKEN_BY_PERSON
from aichat.core.records import MessageRecord, SessionRecord
from aichat.table import context_stamps, items, keys
from aichat.table.escalations import last_message_update
from aichat.table.ledger.budgeted import SESSION_ATTRS, USER_DAY_ATTRS, BudgetedWrites, apply_day_charge
from aichat.table.ledger.reservations import (
    KeyClaim,
    Reservation,
    SweepReport,
    TurnOvertaken,
    overtaken,
    reservation_of,
    session_stub,
)
from aichat.table.shards import pages_due
from aichat.table.transactions import Cancelled, Item, Update, int_attr, n, s, str_attr, transact

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_PENDING_ATTRS = ["GSI2PK", "GSI2SK", "sweep_after"]
# On the session: how many of its turns are pending (reserved, not yet settled, released or undone), moved in the
# same transactions, so a session is deleted only while none is (aichat/table/deletions.py).
PENDING_TURNS = "turns_pending"


def _not_taken(update: Update, turn_id: str) -> Update:
    """Apply only while no person has taken the session from the turn `turn_id`."""
    update.values[":turn"] = s(turn_id)
    update.conditions.append("(attribute_not_exists(taken_turn) OR taken_turn <> :turn)")
    return update


class TurnLedger:
    """Sessions' and turns' money in the single table: every budgeted write goes through here."""

    def __init__(self, client: DynamoDBClient, table_name: str, retention_days: int,
                 clock: Clock = utc_now, *, tenant_retention: Callable[[str], int] | None = None) -> None:
        self._db = client
        self._table = table_name
        self._retention_seconds = retention_days * 86_400
        self._tenant_retention = tenant_retention  # a tenant's own RETENTION_DAYS, for what is written from now on
        self._clock = clock
        self._writes = BudgetedWrites(client, table_name, self._expiry)

    # --- sessions and turns ----------------------------------------------------------------------

    def open_session(self, session: SessionRecord, day: str, session_charge: Charge) -> None:
        """Write a new session, counted against the user's sessions today; BudgetRefused if none is left."""
        self._writes.check_fits_at_all([session_charge], session, day, new_session=True)
        tenant_day, user_day = self._writes.day_updates(session.tenant_id, session.user_id, day)
        user_day.charge(session_charge, USER_DAY_ATTRS[session_charge.counter])
        tenant_day.add(sessions=1)
        put = {"Put": {"TableName": self._table,
                       "Item": items.session_item(session, self._expiry(session.tenant_id)),
                       "ConditionExpression": "attribute_not_exists(PK)"}}
        self._writes.run([(put, None), (tenant_day.transact_item(self._table), tenant_day),
                            (user_day.transact_item(self._table), user_day)], session, day)

    def reserve(self, session: SessionRecord, is_new: bool, day: str, charges: Sequence[Charge],
                message: MessageRecord, sweep_after: int, session_charge: Charge | None = None,
                claim: KeyClaim | None = None, reply_id: str | None = None,
                context_version: int | None = None) -> Reservation:
        """Reserve a model call's worst case on every counter and write the user's message `pending`, at once.

        A new session (is_new) is written in the same transaction and counted with `session_charge`; a keyed turn
        claims its key in it too. KeyTaken if an earlier turn holds the key (checked first); BudgetRefused names
        the first limit that did not fit. Either way nothing was written. `reply_id`, kept on the user's message,
        is the id `settle` stores the reply under. With `context_version` (an existing session's messages as the caller
        kept them), ContextChanged, nothing written, unless the session's messages are still at that version.
        """
        amount = max((c.amount for c in charges if c.counter is Counter.TENANT_DAY_COST), default=0)
        slots = sum(c.amount for c in charges if c.counter is Counter.SESSION_MESSAGES)
        reservation = Reservation(session_id=session.id, tenant_id=session.tenant_id, user_id=session.user_id,
                                  message_id=message.id, day=day, amount_micros=amount, message_slots=slots,
                                  sweep_after=sweep_after, turn_key=claim.pk if claim else None,
                                  reply_id=reply_id)
        self._writes.check_fits_at_all([*charges, *([session_charge] if session_charge else [])], session, day,
                                new_session=is_new)
        tenant_day, user_day = self._writes.day_updates(session.tenant_id, session.user_id, day)
        entries: list[tuple[Item, Update | None]] = []
        if is_new:
            assert session_charge is not None, "a new session is counted against the user's sessions"
            user_day.charge(session_charge, USER_DAY_ATTRS[session_charge.counter])
            tenant_day.add(sessions=1)
            item = items.session_item(session, self._expiry(session.tenant_id))
            item["live_turn"] = s(message.id)  # the turn a stop asks to end (aichat/table/stop_flags.py)
            item[PENDING_TURNS] = n(1)
            context_stamps.first(item, message.created_at)
            for charge in charges:
                if charge.counter in SESSION_ATTRS:
                    attr = SESSION_ATTRS[charge.counter]
                    item[attr] = n(int_attr(item, attr) + charge.amount)
                else:
                    apply_day_charge(charge, tenant_day, user_day)
            entries.append(({"Put": {"TableName": self._table, "Item": item,
                                     "ConditionExpression": "attribute_not_exists(PK)"}}, None))
        else:
            meta = Update(key=items.session_key(session.id), sets={"updated_at": s(message.created_at),
                                                                   "live_turn": s(message.id)})
            meta.conditions.append("attribute_exists(PK) AND tenant_id = :tenant AND user_id = :user "
                                   "AND #status = :active")
            meta.names["#status"] = "status"
            meta.values.update({":tenant": s(session.tenant_id), ":user": s(session.user_id), ":active": s("active")})
            meta.add(**{PENDING_TURNS: 1})
            context_stamps.moved(meta, message.created_at, at=context_version)
            for charge in charges:
                if charge.counter in SESSION_ATTRS:
                    meta.charge(charge, SESSION_ATTRS[charge.counter])
                else:
                    apply_day_charge(charge, tenant_day, user_day)
            entries.append((meta.transact_item(self._table), meta))
        entries += [(tenant_day.transact_item(self._table), tenant_day),
                    (user_day.transact_item(self._table), user_day),
                    (self._pending_put(session, message, reservation), None)]
        if claim is not None:
            entries.append((self._claim_put(claim, reservation.tenant_id, reservation.user_id,
                                            reservation.session_id, reservation.message_id), None))
        self._writes.run(entries, session, day, context_version=None if is_new else context_version)
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
                                                               "expires_at": n(self._expiry(session.tenant_id))})
        meta.conditions.append("attribute_exists(PK) AND tenant_id = :tenant AND user_id = :user "
                               "AND #status = :escalated")
        meta.names["#status"] = "status"
        meta.values.update({":tenant": s(session.tenant_id), ":user": s(session.user_id),
                            ":escalated": s("escalated")})
        meta.charge(slot, SESSION_ATTRS[Counter.SESSION_MESSAGES])
        context_stamps.moved(meta, message.created_at)
        kept = items.message_item(session, message, self._expiry(session.tenant_id))
        if claim is not None:
            kept["turn_key"] = s(claim.pk)  # so deleting the session deletes the key's claim too
        put = {"Put": {"TableName": self._table, "Item": kept, "ConditionExpression": "attribute_not_exists(SK)"}}
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
                self._writes.check_key_free(reason, entry)
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
        return self._move(reservation, session, step_cost_micros, step_tokens, next_charges, reservation.step + 1)

    def top_up(self, reservation: Reservation, session: SessionRecord, charges: Sequence[Charge]) -> Reservation:
        """Raise a call's reservation, not yet used, to `charges` (its exact worst case, once its history is read).

        BudgetRefused, nothing changed, when the larger amount does not fit; TurnOvertaken as `advance`.
        """
        return self._move(reservation, session, 0, 0, charges, reservation.step)

    def _move(self, reservation: Reservation, session: SessionRecord, step_cost_micros: int, step_tokens: int,
              next_charges: Sequence[Charge], next_step: int) -> Reservation:
        next_amount = max((c.amount for c in next_charges if c.counter is Counter.TENANT_DAY_COST), default=0)
        # The counters move from holding this call's reservation to holding its cost plus the next reservation:
        # the next call fits if the counter, so moved, stays within its limit.
        delta = step_cost_micros - reservation.amount_micros + next_amount
        moved = [replace(c, amount=delta) for c in next_charges if c.counter is not Counter.SESSION_MESSAGES]
        self._writes.check_fits_at_all(moved, session, reservation.day, new_session=False)
        following = replace(reservation, amount_micros=next_amount, step=next_step,
                            charged_micros=reservation.charged_micros + step_cost_micros)
        user = Update(key=items.message_key(reservation.session_id, reservation.message_id), sets={
            "reserved_micros": n(following.amount_micros), "charged_micros": n(following.charged_micros),
            "step": n(following.step)}).require_status("pending")
        # Only from the reservation this call held: an advance retried after it committed changes nothing.
        user.values[":held"] = n(reservation.amount_micros)
        user.conditions.append("reserved_micros = :held")
        meta = _not_taken(Update(key=items.session_key(reservation.session_id)).add(total_tokens=step_tokens),
                          reservation.message_id)
        tenant_day, user_day = self._writes.day_updates(reservation.tenant_id, reservation.user_id, reservation.day)
        for update in (tenant_day, user_day):
            update.add(tokens=step_tokens)
        for charge in moved:
            if charge.counter in SESSION_ATTRS:
                meta.charge(charge, SESSION_ATTRS[charge.counter])
            else:
                apply_day_charge(charge, tenant_day, user_day)
        self._writes.run([(user.transact_item(self._table), user), (meta.transact_item(self._table), meta),
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
        session = session_stub(reservation.session_id, reservation.tenant_id, reservation.user_id)
        counters = self._counter_moves(reservation, cost=delta, tokens=total_tokens, messages=reservation.message_slots)
        meta = Update(key=items.session_key(reservation.session_id),
                      sets={"updated_at": s(now), "expires_at": n(self._expiry(session.tenant_id))})
        meta.add(total_cost_micros=delta, total_tokens=total_tokens, **{PENDING_TURNS: -1})
        context_stamps.moved(meta, now)
        if reply.stopped != TAKEN_BY_PERSON:
            _not_taken(meta, reservation.message_id)
        reply_put = {"Put": {"TableName": self._table,
                             "Item": items.message_item(session, reply, self._expiry(session.tenant_id)),
                             "ConditionExpression": "attribute_not_exists(SK)"}}
        run = [user.transact_item(self._table), reply_put, *counters, meta.transact_item(self._table),
               *self._claim_outcome(reservation, "ok", reply.id)]
        # The overtaken form is another transaction: its own token (36 characters at most), or DynamoDB refuses it as
        # the first one changed.
        token = f"{'taken' if reply.stopped == TAKEN_BY_PERSON else 'settle'}-{reservation.message_id}"
        return self._writes.once(run, token, overtaken_at=2 + len(counters))  # the session's entry

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
        meta.add(total_cost_micros=-reservation.amount_micros, message_count=1 - reservation.message_slots,
                 **{PENDING_TURNS: -1})
        context_stamps.moved(meta, now)
        return self._writes.once([user.transact_item(self._table), *counters, meta.transact_item(self._table),
                           *self._claim_outcome(reservation, "failed", None)], f"{by}-{reservation.message_id}")

    def cancel(self, reservation: Reservation) -> bool:
        """Undo a reservation no call has used (a turn refused before its model was called): its user's message,
        its key's claim and every amount it held are gone, as if it had never been made. False if the turn had
        moved on already (nothing changed)."""
        assert reservation.charged_micros == 0, "a reservation some call has used is settled or released, not undone"
        user = {"Delete": {
            "TableName": self._table, "Key": items.message_key(reservation.session_id, reservation.message_id),
            "ConditionExpression": "#status = :pending AND reserved_micros = :held",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {":pending": s("pending"), ":held": n(reservation.amount_micros)}}}
        counters = self._counter_moves(reservation, cost=-reservation.amount_micros, tokens=0, messages=0)
        meta = Update(key=items.session_key(reservation.session_id))
        meta.add(total_cost_micros=-reservation.amount_micros, message_count=-reservation.message_slots,
                 **{PENDING_TURNS: -1})
        context_stamps.moved(meta, iso(self._clock()))
        claim = [] if reservation.turn_key is None else [{"Delete": {
            "TableName": self._table, "Key": {"PK": s(reservation.turn_key), "SK": s(keys.TURN_KEY_SK)},
            "ConditionExpression": "message_id = :message",
            "ExpressionAttributeValues": {":message": s(reservation.message_id)}}}]
        return self._writes.once([user, *counters, meta.transact_item(self._table), *claim],
                                 f"cancel-{reservation.message_id}")

    def sweep(self, now: float) -> SweepReport:
        """Release every turn still pending past its sweep time, each exactly once; reads only sharded keys."""
        found = released = queries = transactions = 0
        bound = keys.sweep_sort_bound(int(now))
        for page in pages_due(self._db, self._table, keys.sweep_shards(), bound):
            queries += 1
            for item in page:
                found += 1
                transactions += 1
                # Its own request token: a release by the turn itself (same token, other values) may be recent.
                if self.release(reservation_of(item), iso(datetime.fromtimestamp(now, UTC)), by="sweep"):
                    released += 1
        return SweepReport(found=found, released=released, queries=queries, transactions=transactions)

    def pending(self, session_id: str, message_id: str) -> Reservation | None:
        """The reservation of a turn still pending, read from its user message; None once settled or released."""
        item = self._db.get_item(TableName=self._table, Key=items.message_key(session_id, message_id),
                                 ConsistentRead=True).get("Item")
        return reservation_of(item) if item and str_attr(item, "status") == "pending" else None

    # --- internals -----------------------------------------------------------------------------

    def _expiry(self, tenant_id: str | None = None) -> int:
        """When an item written now expires: the tenant's retention after now (the deployment's for a counter)."""
        if tenant_id is None or self._tenant_retention is None:
            return int(self._clock().timestamp()) + self._retention_seconds
        return int(self._clock().timestamp()) + self._tenant_retention(tenant_id) * 86_400

    def _pending_put(self, session: SessionRecord, message: MessageRecord, reservation: Reservation) -> Item:
        record = replace(message, status="pending", day=reservation.day, reserved_micros=reservation.amount_micros)
        item = items.message_item(session, record, self._expiry(session.tenant_id))
        if reservation.turn_key is not None:
            item["turn_key"] = s(reservation.turn_key)  # so the sweeper's release marks the claim failed too
        if reservation.reply_id is not None:
            item["reply_id"] = s(reservation.reply_id)
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

    def _counter_moves(self, r: Reservation, *, cost: int, tokens: int, messages: int) -> list[Item]:
        tenant_day, user_day = (
            Update(key={"PK": s(keys.usage_pk(r.tenant_id, r.day)), "SK": s(sk)})
            for sk in (keys.TENANT_COUNTER_SK, keys.user_counter_sk(r.user_id)))
        for update in (tenant_day, user_day):
            update.add(cost_micros=cost, tokens=tokens, messages=messages)
        return [tenant_day.transact_item(self._table), user_day.transact_item(self._table)]

