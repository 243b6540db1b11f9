"""An operator's erasure of one user's data in one tenant, run in bounded steps by a scheduled function.

An erasure is an item of its own (`ERASURE#<id>`), in DayIndex under a sharded `ERASING#` partition while it runs, so
the runner finds the running ones by key. Each step does a bounded amount and records how far the erasure got, so a
runner killed mid-step loses nothing: the next one lists what is left and goes on. Everything is found by key or
index, never a Scan:
- the user's sessions from OwnerIndex, each deleted as its owner's DELETE does (aichat/table/deletions.py: messages,
  ratings, key claims, the waiting-list entry); a session with a turn in flight is left for a later step, so the
  turn and the erasure never both half-happen;
- the user's tickets from OwnerIndex's tickets partition;
- the user's own day counters by key, one per day of RETENTION_DAYS (the tenant's totals stay: numbers, no user id).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from aichat.core.clock import Clock, iso, utc_day
from aichat.core.errors import ErasureNotFound, SessionNotFound, TurnInProgress
from aichat.core.identity import Identity
from aichat.core.ids import new_id
from aichat.core.models import ErasureOut
from aichat.table import keys
from aichat.table.deletions import SessionDeletions
from aichat.table.shards import pages_due
from aichat.table.transactions import Item, int_attr, n, s, str_attr

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

Phase = Literal["sessions", "tickets", "counters", "done"]
_BATCH = 25


@dataclass(frozen=True)
class Erasure:
    """One erasure as stored: whose data, how far it got."""

    id: str
    tenant_id: str
    user_id: str
    requested_by: str
    requested_at: str
    phase: Phase = "sessions"
    sessions: int = 0
    messages: int = 0
    tickets: int = 0
    day_counters: int = 0
    finished_at: str | None = None

    def to_api(self) -> ErasureOut:
        status: Literal["running", "done"] = "done" if self.phase == "done" else "running"
        return ErasureOut(erasure_id=self.id, user_id=self.user_id, status=status, requested_at=self.requested_at,
                          finished_at=self.finished_at, sessions=self.sessions, messages=self.messages,
                          tickets=self.tickets, day_counters=self.day_counters)


class Erasures:
    """Erasures in the single table: started by an admin, advanced step by step by the runner."""

    def __init__(self, client: DynamoDBClient, table_name: str, deletions: SessionDeletions, retention_days: int,
                 clock: Clock, sessions_per_step: int = _BATCH) -> None:
        self._db = client
        self._table = table_name
        self._deletions = deletions
        self._retention_days = retention_days
        self._clock = clock
        self._sessions_per_step = sessions_per_step

    def start(self, tenant_id: str, user_id: str, requested_by: str) -> Erasure:
        """Record a new erasure of `user_id` in `tenant_id`, running; the runner does the work."""
        now = self._clock()
        erasure = Erasure(id=new_id(now), tenant_id=tenant_id, user_id=user_id, requested_by=requested_by,
                          requested_at=iso(now))
        item = {**_key(erasure.id), **_attributes(erasure), "GSI2PK": s(keys.erasing_shard(erasure.id)),
                "GSI2SK": s(f"{erasure.requested_at}#{erasure.id}"),
                "expires_at": n(int(now.timestamp()) + self._retention_days * 86_400)}
        self._db.put_item(TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(PK)")
        return erasure

    def get(self, erasure_id: str, tenant_id: str) -> Erasure:
        """The erasure, if it is of `tenant_id`; ErasureNotFound otherwise (the same answer as a missing one)."""
        item = self._db.get_item(TableName=self._table, Key=_key(erasure_id), ConsistentRead=True).get("Item")
        if not item or str_attr(item, "tenant_id") != tenant_id:
            raise ErasureNotFound()
        return _erasure(item)

    def running(self) -> list[Erasure]:
        """Every erasure still running, oldest first within each shard."""
        high = "~"  # sorts after every ISO time: every running erasure is due
        return [_erasure(item) for page in pages_due(self._db, self._table, keys.erasing_shards(), high)
                for item in page]

    def step(self, erasure: Erasure) -> Erasure:
        """Do one bounded step of the erasure and record it; the erasure as it now stands."""
        if erasure.phase == "sessions":
            erasure = self._sessions_step(erasure)
        elif erasure.phase == "tickets":
            erasure = self._tickets_step(erasure)
        elif erasure.phase == "counters":
            erasure = self._counters_step(erasure)
        self._save(erasure)
        return erasure

    # --- the phases ----------------------------------------------------------------------------

    def _sessions_step(self, e: Erasure) -> Erasure:
        owner = Identity(user_id=e.user_id, tenant_id=e.tenant_id, roles=frozenset())
        # First any delete of theirs cut short (the owner's, or an earlier step's), then their sessions.
        cut_short = self._first_of(keys.deleting_owner_key(e.tenant_id, e.user_id), self._sessions_per_step)
        for item in cut_short:
            deleted = self._deletions.finish(keys.session_id_from_pk(str_attr(item, "PK") or ""))
            e = replace(e, sessions=e.sessions + 1, messages=e.messages + deleted.messages)
        if cut_short:
            return e
        found = self._first_of(keys.owner_key(e.tenant_id, e.user_id), self._sessions_per_step)
        for item in found:
            try:
                deleted = self._deletions.delete(keys.session_id_from_pk(str_attr(item, "PK") or ""), owner,
                                                 self._clock().timestamp())
            except TurnInProgress:
                continue  # its turn settles (or is swept) within the invocation's deadline: a later step deletes it
            except SessionNotFound:
                continue  # deleted already, still listed by the index (eventually consistent)
            e = replace(e, sessions=e.sessions + 1, messages=e.messages + deleted.messages)
        return e if found else replace(e, phase="tickets")

    def _tickets_step(self, e: Erasure) -> Erasure:
        found = self._first_of(keys.owner_tickets_key(e.tenant_id, e.user_id), _BATCH)
        self._deletions.delete_keys([{"PK": i["PK"], "SK": i["SK"]} for i in found])
        e = replace(e, tickets=e.tickets + len(found))
        return e if found else replace(e, phase="counters")

    def _counters_step(self, e: Erasure) -> Erasure:
        # One per day the user may have a counter for: counters live as long as RETENTION_DAYS, plus today.
        start = datetime.fromisoformat(e.requested_at.replace("Z", "+00:00"))
        days = [utc_day(start - timedelta(days=d)) for d in range(self._retention_days + 2)]
        counter_keys = [{"PK": s(keys.usage_pk(e.tenant_id, day)), "SK": s(keys.user_counter_sk(e.user_id))}
                        for day in days]
        present = 0
        for i in range(0, len(counter_keys), 100):
            answer = self._db.batch_get_item(RequestItems={self._table: {
                "Keys": counter_keys[i:i + 100], "ProjectionExpression": "PK, SK"}})
            present += len(answer.get("Responses", {}).get(self._table, []))
        self._deletions.delete_keys(counter_keys)
        return replace(e, day_counters=e.day_counters + present, phase="done", finished_at=iso(self._clock()))

    # --- internals -----------------------------------------------------------------------------

    def _first_of(self, partition: str, limit: int) -> list[Item]:
        """Up to `limit` items of an OwnerIndex partition: what is left of the user's there (each step deletes what
        it read, so the next one starts from the first again)."""
        page = self._db.query(TableName=self._table, IndexName=keys.OWNER_INDEX,
                              KeyConditionExpression="GSI1PK = :owner",
                              ExpressionAttributeValues={":owner": s(partition)}, Limit=limit)
        return list(page.get("Items", []))

    def _save(self, e: Erasure) -> None:
        values: dict[str, Any] = {f":{k}": v for k, v in _attributes(e).items()}
        sets = ", ".join(f"#{k} = :{k}" for k in _attributes(e))
        expression = f"SET {sets}" + (" REMOVE GSI2PK, GSI2SK" if e.phase == "done" else "")
        self._db.update_item(TableName=self._table, Key=_key(e.id), UpdateExpression=expression,
                             ExpressionAttributeNames={f"#{k}": k for k in _attributes(e)},
                             ExpressionAttributeValues=values)


def _key(erasure_id: str) -> Item:
    return {"PK": s(keys.erasure_pk(erasure_id)), "SK": s(keys.ERASURE_SK)}


def _attributes(e: Erasure) -> Item:
    item: Item = {"tenant_id": s(e.tenant_id), "user_id": s(e.user_id), "requested_by": s(e.requested_by),
                  "requested_at": s(e.requested_at), "phase": s(e.phase), "sessions": n(e.sessions),
                  "messages": n(e.messages), "tickets": n(e.tickets), "day_counters": n(e.day_counters)}
    if e.finished_at:
        item["finished_at"] = s(e.finished_at)
    return item


def _erasure(item: Item) -> Erasure:
    phase = str_attr(item, "phase") or "sessions"
    assert phase in ("sessions", "tickets", "counters", "done"), phase
    return Erasure(
        id=(str_attr(item, "PK") or "").removeprefix("ERASURE#"), tenant_id=str_attr(item, "tenant_id") or "",
        user_id=str_attr(item, "user_id") or "", requested_by=str_attr(item, "requested_by") or "",
        requested_at=str_attr(item, "requested_at") or "", phase=phase,  # type: ignore[arg-type]
        sessions=int_attr(item, "sessions"), messages=int_attr(item, "messages"), tickets=int_attr(item, "tickets"),
        day_counters=int_attr(item, "day_counters"), finished_at=str_attr(item, "finished_at"))
