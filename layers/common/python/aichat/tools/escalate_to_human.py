"""escalate_to_human: hand this session to a person; the turn ends there."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StringConstraints

from aichat.tools.tool import Tool, ToolArguments, ToolContext


class EscalateArguments(ToolArguments):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500), Field(
        description="Why a person should take over, for the support staff who will")]


def escalate_to_human(arguments: EscalateArguments, context: ToolContext) -> dict[str, Any]:
    """Escalate the session through the session service (status escalated, support staff notified)."""
    context.escalate(arguments.reason)
    return {"status": "escalated"}


ESCALATE_TO_HUMAN = Tool(
    name="escalate_to_human",
    description="Hand this conversation to a human support agent when you cannot resolve the user's issue.",
    Arguments=EscalateArguments,
    handler=escalate_to_human,
    # Publishing to SNS, with botocore's retries, can take a few seconds.
    timeout_seconds=8,
    ends_turn=True,
)
