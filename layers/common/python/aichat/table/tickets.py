"""Support tickets the model opens for a user: one item each, in a partition of its own, owned by tenant and user."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from aichat.core.clock import Clock, iso
from aichat.core.identity import Identity
from aichat.core.ids import new_id
from aichat.core.records import TicketPriority, TicketRecord, TicketStatus
from aichat.notify.domain_events import DomainEvents, ticket_created
from aichat.table import keys
from aichat.table.transactions import Item, n, s, str_attr

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


_DAY_SECONDS = 86_400


class TicketStore:
    """Tickets in the single table; only their owner (tenant and user) can read one back. Each new ticket is
    announced as a TicketCreated event."""

    def __init__(self, client: DynamoDBClient, table_name: str, *, retention_days: int, clock: Clock,
                 events: DomainEvents, tenant_retention: Callable[[str], int] | None = None) -> None:
        self._db = client
        self._table = table_name
        self._retention_seconds = retention_days * _DAY_SECONDS
        self._tenant_retention = tenant_retention  # a tenant's own RETENTION_DAYS, for what is written from now on
        self._clock = clock
        self._events = events

    def create(self, owner: Identity, *, session_id: str, turn_id: str, title: str, priority: TicketPriority,
               description: str | None) -> TicketRecord:
        """Store a new open ticket owned by `owner` and announce it; it expires RETENTION_DAYS after now, so after its
        session."""
        now = self._clock()
        ticket = TicketRecord(id=new_id(now), tenant_id=owner.tenant_id, user_id=owner.user_id,
                              session_id=session_id, turn_id=turn_id, title=title, priority=priority,
                              status="open", created_at=iso(now), description=description)
        # The id is new, so the condition only fails if it is not: never overwrite another ticket.
        kept = self._tenant_retention(owner.tenant_id) * _DAY_SECONDS if self._tenant_retention else None
        self._db.put_item(TableName=self._table,
                          Item=_item(ticket, int(now.timestamp()) + (kept or self._retention_seconds)),
                          ConditionExpression="attribute_not_exists(PK)")
        # Only once it is stored: an event is a fact a platform may act on. A failed publish is logged, not raised.
        self._events.publish(ticket_created(ticket))
        return ticket

    def get(self, ticket_id: str, caller: Identity) -> TicketRecord | None:
        """The ticket, if it is the caller's; None when missing or another tenant's or user's (the same answer)."""
        item = self._db.get_item(TableName=self._table, Key=_key(ticket_id), ConsistentRead=True).get("Item")
        if not item or str_attr(item, "tenant_id") != caller.tenant_id or str_attr(item, "user_id") != caller.user_id:
            return None
        return _record(ticket_id, item)


def owned_tickets(client: DynamoDBClient, table: str, owner: Identity, after: str | None,
                  limit: int) -> tuple[list[TicketRecord], str | None]:
    """The owner's tickets, oldest first, from OwnerIndex (tickets opened before it indexed them are not found), and
    the id to pass as `after` for the next ones (None at the end)."""
    request: dict[str, Any] = {
        "TableName": table, "IndexName": keys.OWNER_INDEX, "KeyConditionExpression": "GSI1PK = :owner",
        "ExpressionAttributeValues": {":owner": s(keys.owner_tickets_key(owner.tenant_id, owner.user_id))},
        "Limit": limit}
    if after is not None:
        request["ExclusiveStartKey"] = {**_key(after), "GSI1PK": s(keys.owner_tickets_key(owner.tenant_id,
                                                                                         owner.user_id)),
                                        "GSI1SK": s(after)}
    page = client.query(**request)
    found = [_record(keys.ticket_id_from_pk(str_attr(i, "PK") or ""), i) for i in page.get("Items", [])]
    return found, (found[-1].id if found and page.get("LastEvaluatedKey") else None)


def _key(ticket_id: str) -> Item:
    return {"PK": s(keys.ticket_pk(ticket_id)), "SK": s(keys.TICKET_SK)}


def _item(ticket: TicketRecord, expires_at: int) -> Item:
    item: Item = {
        **_key(ticket.id), "GSI1PK": s(keys.owner_tickets_key(ticket.tenant_id, ticket.user_id)),
        "GSI1SK": s(ticket.id), "tenant_id": s(ticket.tenant_id), "user_id": s(ticket.user_id),
        "session_id": s(ticket.session_id), "turn_id": s(ticket.turn_id), "title": s(ticket.title),
        "priority": s(ticket.priority), "status": s(ticket.status), "created_at": s(ticket.created_at),
        "expires_at": n(expires_at),
    }
    if ticket.description is not None:
        item["description"] = s(ticket.description)
    return item


def _record(ticket_id: str, item: Item) -> TicketRecord:
    # Every ticket item is written by _item, so its priority and status are ones the types name.
    return TicketRecord(
        id=ticket_id, tenant_id=str_attr(item, "tenant_id") or "", user_id=str_attr(item, "user_id") or "",
        session_id=str_attr(item, "session_id") or "", turn_id=str_attr(item, "turn_id") or "",
        title=str_attr(item, "title") or "", priority=cast(TicketPriority, str_attr(item, "priority")),
        status=cast(TicketStatus, str_attr(item, "status")), created_at=str_attr(item, "created_at") or "",
        description=str_attr(item, "description"),
    )
