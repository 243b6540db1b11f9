"""What the table holds, as the layer sees it: a session, a message and a support ticket."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from aichat.core.models import FunctionCall, MessageOut, MessageStatus, SessionOut, SessionStatus, SessionType
from aichat.core.pricing import micros_to_cents


@dataclass(frozen=True)
class SessionRecord:
    id: str
    tenant_id: str
    user_id: str
    session_type: SessionType
    status: SessionStatus
    provider: str
    model: str
    created_at: str
    updated_at: str
    message_count: int = 0  # the customer's: their messages and the model's replies (MAX_MESSAGES_PER_SESSION)
    agent_message_count: int = 0  # staff's: replies and joined/left lines (MAX_AGENT_MESSAGES_PER_SESSION)
    total_tokens: int = 0
    total_cost_micros: int = 0
    user_rating: int | None = None
    feedback: str | None = None
    escalation_reason: str | None = None
    escalated_at: str | None = None  # set when a person was first asked for; kept after release (was escalated)
    taken_by: str | None = None  # the staff member who answered first, until the session is released
    taken_by_name: str | None = None
    taken_at: str | None = None
    customer_id: str | None = None
    context: dict[str, Any] | None = None
    # The tenant's overrides in force when the session started (None: the deployment's), kept so that a later change
    # of the tenant's configuration applies to new sessions only.
    system_prompt: str | None = None
    tools: list[str] | None = None

    def to_api(self) -> SessionOut:
        """What the API shows of the session: its fields of the same names, and the cost in cents."""
        shown = {name: getattr(self, name) for name in SessionOut.model_fields if hasattr(self, name)}
        return SessionOut(**shown, total_cost=micros_to_cents(self.total_cost_micros))


@dataclass(frozen=True)
class MessageRecord:
    id: str
    role: str
    content: str
    created_at: str
    tokens: int = 0
    status: MessageStatus = "ok"
    input_tokens: int = 0
    output_tokens: int = 0
    cost_micros: int = 0
    model: str | None = None
    provider: str | None = None
    feedback: str | None = None
    feedback_text: str | None = None
    day: str | None = None  # the UTC day whose counters the turn is charged to: the day it reserved on
    reserved_micros: int = 0  # the user's message: what its turn reserved
    charged_micros: int = 0  # the user's message: what its turn's finished model calls cost (a turn with tools)
    truncated: bool = False  # cut short: stopped at MAX_TOKENS, or cut to what MAX_TOKENS allows or an item holds
    over_reservation: bool = False  # the provider reported more than the turn reserved for
    # A reply: the tools its turn called, as the API shows them ({id, name, arguments, status, result}), and how
    # they were grouped into model calls ({text, call_ids} per call that asked for tools), to replay the turn.
    function_calls: list[dict[str, Any]] | None = None
    tool_steps: list[dict[str, Any]] | None = None
    steps: int = 0  # a reply: how many model calls its turn started, so a replay streams the same steps (0: not kept)
    stopped: str | None = None  # a reply: why its turn ended before the model answered (a limit's code, …)
    estimated: bool = False  # a reply: no usage came from the provider (a stream stopped or cut); cost is a bound
    agent_id: str | None = None  # role agent: the staff member who wrote it, and the name shown for them
    agent_name: str | None = None
    handoff: str | None = None  # role agent: a marker of a person joining or leaving ("joined", "left"), not a reply

    def to_api(self) -> MessageOut:
        role = self.role if self.role in ("assistant", "agent") else "user"
        rating = self.feedback if self.feedback in ("up", "down") else None
        return MessageOut(id=self.id, role=role, content=self.content, created_at=self.created_at,
                          tokens=self.tokens, status=self.status, feedback=rating,
                          feedback_text=self.feedback_text, truncated=self.truncated,
                          function_calls=[FunctionCall(**call) for call in self.function_calls or []],
                          stopped=self.stopped if role == "assistant" else None, estimated=self.estimated,
                          agent_name=self.agent_name if role == "agent" else None,
                          handoff=self.handoff if role == "agent" and self.handoff in ("joined", "left") else None)


TicketPriority = Literal["low", "normal", "high", "urgent"]
TicketStatus = Literal["open"]


@dataclass(frozen=True)
class TicketRecord:
    id: str
    tenant_id: str
    user_id: str
    session_id: str
    turn_id: str  # the user's message whose turn opened it
    title: str
    priority: TicketPriority
    status: TicketStatus
    created_at: str
    description: str | None = None
