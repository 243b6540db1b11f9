"""create_ticket: open a support ticket for the user, in the user's own tenant and session."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StringConstraints

from aichat.core.records import TicketPriority
from aichat.tools.tool import Tool, ToolArguments, ToolContext


class CreateTicketArguments(ToolArguments):
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), Field(
        description="A one-line summary of the user's problem")]
    priority: TicketPriority = Field(description="How urgent the problem is for the user")
    description: Annotated[Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None, Field(
        description="What happened and what was tried; null when the title says it all")] = None


def create_ticket(arguments: CreateTicketArguments, context: ToolContext) -> dict[str, Any]:
    """Store the ticket, owned by the caller, this session and this turn; the model sees what was stored."""
    ticket = context.tickets.create(context.caller, session_id=context.session.id, turn_id=context.turn_id,
                                    title=arguments.title, priority=arguments.priority,
                                    description=arguments.description or None)
    return {"id": ticket.id, "title": ticket.title, "priority": ticket.priority, "status": ticket.status,
            "created_at": ticket.created_at}


CREATE_TICKET = Tool(
    name="create_ticket",
    description="Open a support ticket for the user's problem, so support staff follow it up.",
    Arguments=CreateTicketArguments,
    handler=create_ticket,
    # The PutItem, then TicketCreated on EventBridge (its client's short timeouts and retries take up to about 7 s
    # when the bus stalls): the ticket is stored and announced within this, or the model hears it is unknown.
    timeout_seconds=10,
)
