"""What a tool is, and what it runs with: the caller and session the chat loop verified, never the model's say-so."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, field_validator

from aichat.core.identity import Identity
from aichat.core.models import LONE_SURROGATE
from aichat.core.records import SessionRecord
from aichat.table.tickets import TicketStore


class ToolArguments(BaseModel):
    """The base of every tool's arguments: an unknown field is refused (a model naming a tenant, user or session
    gets an error, not a silently ignored field)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _whole_characters(cls, value: Any) -> Any:
        # DynamoDB cannot store a lone surrogate (JSON's "\ud800" makes one): refuse it here, by field.
        if isinstance(value, str) and LONE_SURROGATE.search(value):
            raise ValueError("must be valid Unicode text, but holds a lone surrogate")
        return value


@dataclass(frozen=True)
class ToolContext:
    """What a tool runs with: who is asking and in which session (from the verified token and the stored session),
    the turn, the time, and the ports a tool may use."""

    caller: Identity
    session: SessionRecord
    turn_id: str  # the id of the user's message this turn answers
    now: str  # ISO-8601 UTC, as the API shows times
    tickets: TicketStore
    escalate: Callable[[str], None]  # the session service's escalation of this session, given the reason


A = TypeVar("A", bound=BaseModel)


@dataclass(frozen=True)
class Tool(Generic[A]):
    """One function the model may call: its name and one-line description as the model sees them, its arguments'
    model (the schema offered is made from it), how long it may take, and whether a call ends the turn."""

    name: str
    description: str
    Arguments: type[A]
    handler: Callable[[A, ToolContext], dict[str, Any]]
    timeout_seconds: float
    ends_turn: bool = False

    def run(self, arguments: A, context: ToolContext) -> dict[str, Any]:
        """Do what the tool does; the result is a JSON-able object."""
        return self.handler(arguments, context)
