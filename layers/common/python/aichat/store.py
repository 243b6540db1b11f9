"""All DynamoDB access: one table, keys from `keys`, budgets applied in conditional transactions."""

from __future__ import annotations

import base64
import binascii
import json
import random
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from aichat import keys
from aichat.budgets import BudgetRefused, Charge, Counter
from aichat.errors import InvalidInput, MessageNotFound, SessionNotActive, SessionNotFound
from aichat.identity import Identity
from aichat.records import MessageRecord, SessionRecord

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

Item = dict[str, Any]

_CONFLICT_ATTEMPTS = 10
_SESSION_ATTRS = {Counter.SESSION_COST: "total_cost_micros", Counter.SESSION_MESSAGES: "message_count"}
_USER_DAY_ATTRS = {Counter.USER_DAY_COST: "cost_micros", Counter.USER_DAY_SESSIONS: "sessions"}
_TENANT_DAY_ATTRS = {Counter.TENANT_DAY_COST: "cost_micros"}


# --- attribute values -------------------------------------------------------------------------


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def _str(item: Item, name: str) -> str | None:
    value = item.get(name)
    return None if value is None or "S" not in value else str(value["S"])


def _int(item: Item, name: str) -> int:
    value = item.get(name)
    return 0 if value is None or "N" not in value else int(value["N"])


def _optional_values(**values: str | int | None) -> Item:
    return {k: (_n(v) if isinstance(v, int) else _s(v)) for k, v in values.items() if v is not None}


_CURSOR_VALUE = re.compile(r"[0-9A-Za-z]{1,128}")  # what cursors carry: ids


def encode_cursor(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        value = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        value = ""
    # Decoding skips characters outside base64, so "\x7f" decodes to "": an empty or overlong key part is refused
    # by DynamoDB as a ValidationException, which would surface as a 500.
    if not _CURSOR_VALUE.fullmatch(value):
        raise InvalidInput("cursor is not one this API returned; omit it to start from the first page.",
                           field="cursor")
    return value


# --- transactions ---------------------------------------------------------------------------


@dataclass
class _Update:
    """One Update of a transaction: ADDs, SETs and conditions, with the charges it carries."""

    key: Item
    adds: dict[str, int] = field(default_factory=dict)
    sets: Item = field(default_factory=dict)
    conditions: list[str] = field(default_factory=list)
    values: Item = field(default_factory=dict)
    charges: list[tuple[Charge, str]] = field(default_factory=list)

    def charge(self, charge: Charge, attr: str) -> None:
        self.adds[attr] = self.adds.get(attr, 0) + charge.amount
        if charge.max_before is not None:
            placeholder = f":max_{attr}"
            self.values[placeholder] = _n(charge.max_before)
            self.conditions.append(f"(attribute_not_exists({attr}) OR {attr} <= {placeholder})")
        self.charges.append((charge, attr))

    def add(self, **amounts: int) -> _Update:
        for attr, amount in amounts.items():
            self.adds[attr] = self.adds.get(attr, 0) + amount
        return self

    def transact_item(self, table: str) -> Item:
        names: dict[str, str] = {}
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
            values.update({f":a_{attr}": _n(amount) for attr, amount in self.adds.items()})
        update: Item = {"TableName": table, "Key": self.key, "UpdateExpression": " ".join(parts),
                        "ExpressionAttributeValues": values,
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}
        if names:
            update["ExpressionAttributeNames"] = names
        if self.conditions:
            update["ConditionExpression"] = " AND ".join(self.conditions)
            if "#status" in update["ConditionExpression"]:
                update.setdefault("ExpressionAttributeNames", {})["#status"] = "status"
        return {"Update": update}


class _Cancelled(Exception):
    def __init__(self, reasons: list[Item]) -> None:
        super().__init__("transaction cancelled")
        self.reasons = reasons


class Store:
    """The single table behind the product. Nothing else talks to DynamoDB."""

    def __init__(self, client: DynamoDBClient, table_name: str, retention_days: int) -> None:
        self._db = client
        self._table = table_name
        self._retention_seconds = retention_days * 86_400

    # --- reads ---------------------------------------------------------------------------------

    def tenant_config(self, tenant_id: str) -> dict[str, str]:
        """The tenant's config item (limit overrides), or {} when it has none."""
        item = self._db.get_item(
            TableName=self._table, Key={"PK": _s(keys.tenant_pk(tenant_id)), "SK": _s(keys.CONFIG_SK)}
        ).get("Item", {})
        return {k: (v.get("N") or v.get("S") or "") for k, v in item.items() if k not in ("PK", "SK")}

    def conversation(self, session_id: str, caller: Identity, max_messages: int) -> tuple[SessionRecord,
                                                                                         list[MessageRecord]]:
        """A session and its newest messages (oldest first), in one Query."""
        page = self._db.query(
            TableName=self._table, KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": _s(keys.session_pk(session_id))},
            ScanIndexForward=False, Limit=max_messages + 1,
        )
        items = page.get("Items", [])
        if not items or _str(items[0], "SK") != keys.SESSION_SK:
            raise SessionNotFound()
        session = _owned_session(items[0], caller)
        return session, [_message(i) for i in reversed(items[1:])]

    def history(self, session_id: str, caller: Identity, limit: int,
                cursor: str | None) -> tuple[SessionRecord | None, list[MessageRecord], str | None]:
        """One page of a session's messages, newest page first, each page oldest first; and the next cursor.

        The first page comes with the session in the same Query; later pages prove ownership by the
        tenant and user written on every message.
        """
        values: Item = {":pk": _s(keys.session_pk(session_id))}
        condition = "PK = :pk"
        if cursor is not None:
            values[":before"] = _s(keys.message_sk(decode_cursor(cursor)))
            condition += " AND SK < :before"
        page = self._db.query(
            TableName=self._table, KeyConditionExpression=condition, ExpressionAttributeValues=values,
            ScanIndexForward=False, Limit=limit + (1 if cursor is None else 0),
        )
        items = page.get("Items", [])
        session: SessionRecord | None = None
        if cursor is None:
            if not items or _str(items[0], "SK") != keys.SESSION_SK:
                raise SessionNotFound()
            session = _owned_session(items[0], caller)
            items = items[1:]
        elif not items:
            session = self.session(session_id, caller)
        for item in items:
            if _str(item, "tenant_id") != caller.tenant_id or _str(item, "user_id") != caller.user_id:
                raise SessionNotFound()
        messages = [_message(i) for i in reversed(items)]
        next_cursor = encode_cursor(messages[0].id) if page.get("LastEvaluatedKey") and messages else None
        return session, messages, next_cursor

    def session(self, session_id: str, caller: Identity) -> SessionRecord:
        """The caller's session, or SessionNotFound (also for someone else's)."""
        item = self._db.get_item(TableName=self._table, Key=_session_key(session_id)).get("Item")
        if not item:
            raise SessionNotFound()
        return _owned_session(item, caller)

    def sessions_of(self, caller: Identity, limit: int, cursor: str | None) -> tuple[list[SessionRecord], str | None]:
        """The caller's sessions, newest first, and the cursor of the next page."""
        request: Item = {
            "TableName": self._table, "IndexName": keys.OWNER_INDEX, "KeyConditionExpression": "GSI1PK = :owner",
            "ExpressionAttributeValues": {":owner": _s(keys.owner_key(caller.tenant_id, caller.user_id))},
            "ScanIndexForward": False, "Limit": limit,
        }
        if cursor is not None:
            session_id = decode_cursor(cursor)
            request["ExclusiveStartKey"] = {
                **_session_key(session_id), "GSI1PK": _s(keys.owner_key(caller.tenant_id, caller.user_id)),
                "GSI1SK": _s(session_id),
            }
        page = self._db.query(**request)
        sessions = [_session(i) for i in page.get("Items", [])]
        next_cursor = encode_cursor(sessions[-1].id) if page.get("LastEvaluatedKey") and sessions else None
        return sessions, next_cursor

    # --- sessions ------------------------------------------------------------------------------

    def create_session(self, session: SessionRecord, day: str, session_charge: Charge,
                       chat_charges: Sequence[Charge] = ()) -> None:
        """Write a new session and count it against the user's sessions today, with any chat charges."""
        self._check_fits_at_all(chat_charges, session, day, new_session=True)
        self._check_fits_at_all([session_charge], session, day, new_session=True)
        tenant_day, user_day = self._day_updates(session.tenant_id, session.user_id, day)
        user_day.charge(session_charge, _USER_DAY_ATTRS[session_charge.counter])
        tenant_day.add(sessions=1)
        item = self._session_item(session)
        for charge in chat_charges:
            self._apply_day_charge(charge, tenant_day, user_day)
            if charge.counter in _SESSION_ATTRS:
                attr = _SESSION_ATTRS[charge.counter]
                item[attr] = _n(_int(item, attr) + charge.amount)
        put = {"Put": {"TableName": self._table, "Item": item, "ConditionExpression": "attribute_not_exists(PK)"}}
        self._reserve([put, tenant_day.transact_item(self._table), user_day.transact_item(self._table)],
                      [None, tenant_day, user_day], session)

    def reserve_chat(self, session: SessionRecord, day: str, charges: Sequence[Charge], now: str) -> None:
        """Reserve a chat's charges in an existing, active session of the caller's, or refuse."""
        self._check_fits_at_all(charges, session, day, new_session=False)
        tenant_day, user_day = self._day_updates(session.tenant_id, session.user_id, day)
        meta = _Update(key=_session_key(session.id), sets={"updated_at": _s(now)})
        meta.conditions.append("attribute_exists(PK) AND tenant_id = :tenant AND user_id = :user AND #status = :active")
        meta.values.update({":tenant": _s(session.tenant_id), ":user": _s(session.user_id), ":active": _s("active")})
        for charge in charges:
            if charge.counter in _SESSION_ATTRS:
                meta.charge(charge, _SESSION_ATTRS[charge.counter])
            else:
                self._apply_day_charge(charge, tenant_day, user_day)
        updates = [tenant_day, user_day, meta]
        self._reserve([u.transact_item(self._table) for u in updates], updates, session)

    def settle_chat(self, session: SessionRecord, day: str, messages: Iterable[MessageRecord], reserved_micros: int,
                    actual_micros: int, tokens: int, now: str, request_token: str) -> None:
        """Write both messages and move every counter from the reservation to the real cost, atomically."""
        delta = actual_micros - reserved_micros
        tenant_day, user_day = self._day_updates(session.tenant_id, session.user_id, day)
        for day_update in (tenant_day, user_day):
            day_update.add(cost_micros=delta, tokens=tokens, messages=2)
        meta = _Update(key=_session_key(session.id), sets={"updated_at": _s(now), "expires_at": _n(self._expiry())})
        meta.add(total_cost_micros=delta, total_tokens=tokens)
        items = [self._message_put(session, m) for m in messages]
        items += [u.transact_item(self._table) for u in (tenant_day, user_day, meta)]
        self._transact(items, request_token)

    def release_chat(self, session: SessionRecord, day: str, failed_message: MessageRecord, reserved_micros: int,
                     message_charge: int, now: str, request_token: str) -> None:
        """Give back a reservation after a failed call, keeping the user's message marked failed."""
        tenant_day, user_day = self._day_updates(session.tenant_id, session.user_id, day)
        for day_update in (tenant_day, user_day):
            day_update.add(cost_micros=-reserved_micros)
        meta = _Update(key=_session_key(session.id), sets={"updated_at": _s(now)})
        meta.add(total_cost_micros=-reserved_micros, message_count=-message_charge)
        items = [self._message_put(session, failed_message)]
        items += [u.transact_item(self._table) for u in (tenant_day, user_day, meta)]
        self._transact(items, request_token)

    def set_feedback(self, session_id: str, caller: Identity, rating: int, feedback: str | None,
                     now: str) -> SessionRecord:
        """Record the caller's rating (and text) on a session of theirs; the session stays open."""
        sets = {"user_rating": _n(rating), "updated_at": _s(now)}
        removes = []
        if feedback:
            sets["feedback"] = _s(feedback)
        else:
            removes.append("feedback")
        return self._update_owned(session_id, caller, sets, removes=removes)

    def escalate(self, session_id: str, caller: Identity, reason: str, now: str) -> SessionRecord:
        """Mark an active session of the caller's as escalated, with the reason."""
        sets = {"status": _s("escalated"), "escalation_reason": _s(reason), "escalated_at": _s(now),
                "updated_at": _s(now)}
        return self._update_owned(session_id, caller, sets, require_active=True)

    def reopen(self, session_id: str, caller: Identity, now: str) -> None:
        """Undo an escalation whose notification could not be sent, so the caller can try again."""
        self._update_owned(session_id, caller, {"status": _s("active"), "updated_at": _s(now)},
                           removes=["escalation_reason", "escalated_at"])

    def set_message_feedback(self, session_id: str, message_id: str, caller: Identity, rating: str,
                             text: str | None, now: str) -> MessageRecord:
        """Rate one assistant reply of the caller's (up or down); the reply's day counts it exactly once."""
        key = {"PK": _s(keys.session_pk(session_id)), "SK": _s(keys.message_sk(message_id))}
        for _ in range(3):  # a concurrent rating of the same reply is retried against what it wrote
            item = self._db.get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item", {})
            if (not item or _str(item, "tenant_id") != caller.tenant_id or _str(item, "user_id") != caller.user_id
                    or _str(item, "role") != "assistant"):
                raise MessageNotFound()
            previous = _str(item, "feedback")
            message = _Update(key=key, sets={"feedback": _s(rating), "feedback_at": _s(now)})
            if text:
                message.sets["feedback_text"] = _s(text)
            if previous is None:
                message.conditions.append("attribute_not_exists(feedback)")
            else:
                message.values[":previous"] = _s(previous)
                message.conditions.append("feedback = :previous")
            items = [message.transact_item(self._table)]
            if not text:
                update = items[0]["Update"]
                update["UpdateExpression"] += " REMOVE feedback_text"
            if previous != rating:
                day = (_str(item, "created_at") or "")[:10]
                counter = _Update(key={"PK": _s(keys.usage_pk(caller.tenant_id, day)),
                                       "SK": _s(keys.TENANT_COUNTER_SK)})
                counter.add(**{f"feedback_{rating}": 1, **({f"feedback_{previous}": -1} if previous else {})})
                items.append(counter.transact_item(self._table))
            try:
                self._transact(items, None)
            except _Cancelled:
                continue
            return replace(_message(item), feedback=rating, feedback_text=text or None)
        raise RuntimeError("the reply's rating kept changing underneath; try again")

    # --- usage and rollups ---------------------------------------------------------------------

    def tenants_active_on(self, day: str) -> list[str]:
        """Tenants with a counter on that UTC day, through DayIndex (one partition per day)."""
        return [_str(i, "GSI2SK") or "" for i in self._query_all(
            IndexName=keys.DAY_INDEX, KeyConditionExpression="GSI2PK = :day",
            ExpressionAttributeValues={":day": _s(keys.day_key(day))}, ProjectionExpression="GSI2SK")]

    def day_counters(self, tenant_id: str, day: str) -> dict[str, int]:
        """The tenant's counters for a UTC day (cost_micros, tokens, messages, sessions, feedback_up/down)."""
        item = self._db.get_item(TableName=self._table, ConsistentRead=True, Key={
            "PK": _s(keys.usage_pk(tenant_id, day)), "SK": _s(keys.TENANT_COUNTER_SK)}).get("Item", {})
        return {k: int(v["N"]) for k, v in item.items() if "N" in v and k != "expires_at"}

    def sessions_started_on(self, tenant_id: str, day: str) -> list[SessionRecord]:
        """Every session the tenant started on a UTC day, through DayIndex."""
        return [_session(i) for i in self._query_all(
            IndexName=keys.DAY_INDEX, KeyConditionExpression="GSI2PK = :td",
            ExpressionAttributeValues={":td": _s(keys.tenant_day_key(tenant_id, day))})]

    def put_rollup(self, tenant_id: str, day: str, figures: dict[str, Any]) -> None:
        """Write (or overwrite: reruns give the same item) a tenant's rollup for a day."""
        self._db.put_item(TableName=self._table, Item={
            "PK": _s(keys.rollup_pk(tenant_id)), "SK": _s(day), "figures": _s(json.dumps(figures, sort_keys=True)),
            "expires_at": _n(self._expiry() + 400 * 86_400)})

    def rollup(self, tenant_id: str, day: str) -> dict[str, Any] | None:
        """A tenant's stored rollup for a day, or None."""
        item = self._db.get_item(TableName=self._table, Key={"PK": _s(keys.rollup_pk(tenant_id)), "SK": _s(day)}
                                 ).get("Item")
        figures = _str(item, "figures") if item else None
        return None if figures is None else dict(json.loads(figures))

    def _query_all(self, **request: Any) -> list[Item]:
        items: list[Item] = []
        request = {"TableName": self._table, **request}
        while True:
            page = self._db.query(**request)
            items.extend(page.get("Items", []))
            if not page.get("LastEvaluatedKey"):
                return items
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # --- internals -----------------------------------------------------------------------------

    def _expiry(self) -> int:
        return int(time.time()) + self._retention_seconds

    def _session_item(self, s: SessionRecord) -> Item:
        item: Item = {
            **_session_key(s.id), "GSI1PK": _s(keys.owner_key(s.tenant_id, s.user_id)), "GSI1SK": _s(s.id),
            "GSI2PK": _s(keys.tenant_day_key(s.tenant_id, s.created_at[:10])), "GSI2SK": _s(s.id),
            "tenant_id": _s(s.tenant_id), "user_id": _s(s.user_id), "session_type": _s(s.session_type),
            "status": _s(s.status), "provider": _s(s.provider), "model": _s(s.model),
            "created_at": _s(s.created_at), "updated_at": _s(s.updated_at), "message_count": _n(s.message_count),
            "total_tokens": _n(s.total_tokens), "total_cost_micros": _n(s.total_cost_micros),
            "expires_at": _n(self._expiry()),
        }
        item.update(_optional_values(customer_id=s.customer_id,
                                     context=None if s.context is None else json.dumps(s.context)))
        return item

    def _message_put(self, session: SessionRecord, m: MessageRecord) -> Item:
        item: Item = {
            "PK": _s(keys.session_pk(session.id)), "SK": _s(keys.message_sk(m.id)),
            "tenant_id": _s(session.tenant_id), "user_id": _s(session.user_id), "role": _s(m.role),
            "content": _s(m.content), "created_at": _s(m.created_at), "tokens": _n(m.tokens), "status": _s(m.status),
            "expires_at": _n(self._expiry()),
        }
        if m.role == "assistant":
            item.update(input_tokens=_n(m.input_tokens), output_tokens=_n(m.output_tokens),
                        cost_micros=_n(m.cost_micros), **_optional_values(model=m.model, provider=m.provider))
        # attribute_not_exists makes a replayed settlement fail loudly instead of writing a message twice.
        return {"Put": {"TableName": self._table, "Item": item, "ConditionExpression": "attribute_not_exists(SK)"}}

    def _day_updates(self, tenant_id: str, user_id: str, day: str) -> tuple[_Update, _Update]:
        pk = _s(keys.usage_pk(tenant_id, day))
        # Rollups and /usage read these; they outlive the sessions they count.
        expiry = {"expires_at": _n(self._expiry() + 400 * 86_400), "tenant_id": _s(tenant_id), "day": _s(day)}
        tenant_day = _Update(key={"PK": pk, "SK": _s(keys.TENANT_COUNTER_SK)},
                             sets={**expiry, "GSI2PK": _s(keys.day_key(day)), "GSI2SK": _s(tenant_id)})
        user_day = _Update(key={"PK": pk, "SK": _s(keys.user_counter_sk(user_id))},
                           sets={**expiry, "user_id": _s(user_id)})
        return tenant_day, user_day

    @staticmethod
    def _apply_day_charge(charge: Charge, tenant_day: _Update, user_day: _Update) -> None:
        if charge.counter in _TENANT_DAY_ATTRS:
            tenant_day.charge(charge, _TENANT_DAY_ATTRS[charge.counter])
        elif charge.counter in _USER_DAY_ATTRS:
            user_day.charge(charge, _USER_DAY_ATTRS[charge.counter])

    def _check_fits_at_all(self, charges: Iterable[Charge], session: SessionRecord, day: str,
                           new_session: bool) -> None:
        """A charge larger than its whole limit can never fit; refuse it without a transaction."""
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
        return _int(item, attr)

    def _reserve(self, items: list[Item], updates: Sequence[_Update | None], session: SessionRecord) -> None:
        try:
            self._transact(items, None)
        except _Cancelled as cancelled:
            for reason, update in zip(cancelled.reasons, updates, strict=True):
                if reason.get("Code") != "ConditionalCheckFailed":
                    continue
                old = reason.get("Item")
                if update is None:  # the Put of a new session: its id was already taken
                    raise RuntimeError("session id collision") from None
                if old is None:
                    old = self._db.get_item(TableName=self._table, Key=update.key, ConsistentRead=True).get("Item", {})
                if update.key == _session_key(session.id):
                    _owned_active(old, session)
                for charge, attr in update.charges:
                    if charge.max_before is not None and _int(old, attr) > charge.max_before:
                        raise BudgetRefused(charge, _int(old, attr)) from None
            raise RuntimeError(f"transaction cancelled for no known reason: {cancelled.reasons}") from None

    def _transact(self, items: list[Item], request_token: str | None) -> None:
        """Run a transaction, retrying while it only conflicted with a concurrent one on a hot counter."""
        request: Item = {"TransactItems": items}
        if request_token:
            # With a token DynamoDB applies a retried settlement once, whatever botocore retries underneath.
            request["ClientRequestToken"] = request_token
        for attempt in range(_CONFLICT_ATTEMPTS):
            try:
                self._db.transact_write_items(**request)
                return
            except ClientError as e:
                if e.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                    raise
                reasons: list[Item] = list(e.response.get("CancellationReasons") or [])  # type: ignore[arg-type]
                if any(r.get("Code") == "ConditionalCheckFailed" for r in reasons):
                    raise _Cancelled(reasons) from None
                if not any(r.get("Code") in ("TransactionConflict", "ThrottlingError") for r in reasons):
                    raise
                if attempt == _CONFLICT_ATTEMPTS - 1:
                    raise
                time.sleep(random.uniform(0, 0.01 * 2**attempt))  # full jitter: conflicting writers spread out

    def _update_owned(self, session_id: str, caller: Identity, sets: Item, *, removes: Sequence[str] = (),
                      require_active: bool = False) -> SessionRecord:
        names = {f"#s{i}": attr for i, attr in enumerate(sets)}
        values: Item = {f":s{i}": value for i, value in enumerate(sets.values())}
        values.update({":tenant": _s(caller.tenant_id), ":user": _s(caller.user_id)})
        expression = "SET " + ", ".join(f"#s{i} = :s{i}" for i in range(len(sets)))
        if removes:
            names.update({f"#r{i}": attr for i, attr in enumerate(removes)})
            expression += " REMOVE " + ", ".join(f"#r{i}" for i in range(len(removes)))
        condition = "attribute_exists(PK) AND tenant_id = :tenant AND user_id = :user"
        if require_active:
            names["#status"] = "status"
            values[":active"] = _s("active")
            condition += " AND #status = :active"
        try:
            reply = self._db.update_item(
                TableName=self._table, Key=_session_key(session_id), UpdateExpression=expression,
                ConditionExpression=condition, ExpressionAttributeNames=names, ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW", ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            old: Item = dict(e.response.get("Item") or {})  # type: ignore[call-overload]
            if not old:
                raise SessionNotFound() from None
            _owned_session(old, caller)  # someone else's session answers 404, like a missing one
            raise SessionNotActive(_str(old, "status") or "closed") from None
        return _session(reply["Attributes"])


def _session_key(session_id: str) -> Item:
    return {"PK": _s(keys.session_pk(session_id)), "SK": _s(keys.SESSION_SK)}


def _session(item: Item) -> SessionRecord:
    context = _str(item, "context")
    rating = _int(item, "user_rating")
    return SessionRecord(
        id=keys.session_id_from_pk(_str(item, "PK") or ""), tenant_id=_str(item, "tenant_id") or "",
        user_id=_str(item, "user_id") or "", session_type=_str(item, "session_type"),  # type: ignore[arg-type]
        status=_str(item, "status"),  # type: ignore[arg-type]
        provider=_str(item, "provider") or "", model=_str(item, "model") or "",
        created_at=_str(item, "created_at") or "", updated_at=_str(item, "updated_at") or "",
        message_count=_int(item, "message_count"), total_tokens=_int(item, "total_tokens"),
        total_cost_micros=_int(item, "total_cost_micros"), user_rating=rating or None,
        feedback=_str(item, "feedback"), escalation_reason=_str(item, "escalation_reason"),
        customer_id=_str(item, "customer_id"), context=None if context is None else json.loads(context),
    )


def _owned_session(item: Item, caller: Identity) -> SessionRecord:
    if _str(item, "tenant_id") != caller.tenant_id or _str(item, "user_id") != caller.user_id:
        raise SessionNotFound()
    return _session(item)


def _owned_active(item: Item, session: SessionRecord) -> None:
    if not item or _str(item, "tenant_id") != session.tenant_id or _str(item, "user_id") != session.user_id:
        raise SessionNotFound()
    status = _str(item, "status")
    if status != "active":
        raise SessionNotActive(status or "closed")


def _message(item: Item) -> MessageRecord:
    return MessageRecord(
        id=keys.message_id_from_sk(_str(item, "SK") or ""), role=_str(item, "role") or "user",
        content=_str(item, "content") or "", created_at=_str(item, "created_at") or "", tokens=_int(item, "tokens"),
        status="failed" if _str(item, "status") == "failed" else "ok", input_tokens=_int(item, "input_tokens"),
        output_tokens=_int(item, "output_tokens"), cost_micros=_int(item, "cost_micros"),
        model=_str(item, "model"), provider=_str(item, "provider"),
        feedback=_str(item, "feedback"), feedback_text=_str(item, "feedback_text"),
    )
