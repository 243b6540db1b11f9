"""The API's request and response bodies: the guide's fields, DESIGN.md's bounds."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

# The admin config routes' bodies live in a module of their own; every API body is named here.
from aichat.core.config_bodies import TenantConfigOut as TenantConfigOut
from aichat.core.config_bodies import TenantConfigPatch as TenantConfigPatch

SessionType = Literal["customer_support", "admin_assistant", "network_diagnostics", "analytics"]
SessionStatus = Literal["active", "completed", "escalated", "abandoned"]
MessageStatus = Literal["ok", "pending", "failed"]
MessageRating = Literal["up", "down"]

# `stopped` of a turn a person took the session from while it ran (the first staff reply takes it): it ran no
# tool and stored no model text after the take, and is charged for what the provider answered.
TAKEN_BY_PERSON = "taken_by_person"
# A provider's guardrail (Amazon Bedrock's) stepped in: the reply's text is what the guardrail answered.
GUARDRAIL_INTERVENED = "guardrail_intervened"

MAX_CONTEXT_BYTES = 8 * 1024
# Deeper than any context needs, and far from the depth where serializing it fails (pydantic stops at a few
# hundred levels, so a deeper context would be stored and then break every read of its session).
MAX_CONTEXT_DEPTH = 32
# A code point of this range alone has no UTF-8 form: DynamoDB cannot store it, and counting it as text fails.
# json.loads makes one from the escape \ud800 in a body; an escaped pair becomes one character, outside the range.
LONE_SURROGATE = re.compile("[\ud800-\udfff]")

Text = Annotated[str, StringConstraints(strip_whitespace=True)]
# Ids are 26 characters; anything far longer names nothing, and DynamoDB refuses key parts over 1 KB outright.
MAX_ID_LENGTH = 128
Id = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID_LENGTH)]


def _nodes(value: Any) -> Iterator[tuple[Any, int]]:
    """Every value, key and item of a JSON value with its depth (the value itself is 0); a loop, not recursion,
    so no nesting the JSON parser took can overflow the stack here."""
    stack = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        yield node, depth
        if isinstance(node, dict):
            stack += [(part, depth + 1) for pair in node.items() for part in pair]
        elif isinstance(node, list):
            stack += [(item, depth + 1) for item in node]


def _check_context(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return value
    # Depth first: serializing a deep value to measure it could itself fail.
    if max(depth for node, depth in _nodes(value) if isinstance(node, dict | list)) >= MAX_CONTEXT_DEPTH:
        raise ValueError(f"context must not nest objects and arrays more than {MAX_CONTEXT_DEPTH} levels deep")
    if len(json.dumps(value, separators=(",", ":")).encode()) > MAX_CONTEXT_BYTES:
        raise ValueError(f"context must be a JSON object of at most {MAX_CONTEXT_BYTES} bytes")
    return value


class _Request(BaseModel):
    # An unknown field is usually a typo (sessionType for session_type); say so instead of ignoring it.
    # defer_build: each function builds only the models it uses, on first use, not all of them at import.
    model_config = ConfigDict(extra="forbid", defer_build=True)

    # Every field, and every key and value inside context: one lone surrogate stored on a session would fail
    # every later turn of it. Before pydantic's own checks, so every field says the same thing.
    @field_validator("*", mode="before")
    @classmethod
    def _whole_characters(cls, value: Any) -> Any:
        if any(isinstance(node, str) and LONE_SURROGATE.search(node) for node, _ in _nodes(value)):
            raise ValueError("must be valid Unicode text, but holds a lone surrogate (a code point from \\ud800 to "
                             "\\udfff without its pair); send each character whole")
        return value


class _Response(BaseModel):
    model_config = ConfigDict(defer_build=True)


class ChatRequest(_Request):
    message: Annotated[Text, Field(min_length=1, max_length=10_000)]
    session_id: Id | None = None
    context: dict[str, Any] | None = None
    session_type: SessionType | None = None

    _context = field_validator("context")(_check_context)


class CreateSessionRequest(_Request):
    session_type: SessionType = "customer_support"
    context: dict[str, Any] | None = None
    customer_id: Annotated[Text, Field(min_length=1, max_length=128)] | None = None

    _context = field_validator("context")(_check_context)


class FeedbackRequest(_Request):
    rating: Annotated[int, Field(ge=1, le=5, strict=True)]
    feedback: Annotated[Text, Field(max_length=1000)] | None = None
    session_id: Id | None = None


class MessageRatingRequest(_Request):
    rating: MessageRating
    feedback: Annotated[Text, Field(max_length=1000)] | None = None


class EscalateRequest(_Request):
    reason: Annotated[Text, Field(min_length=1, max_length=500)]
    session_id: Id | None = None


# The most text-delta parts a stop may say were shown: more than any reply is sent (a reply holds at most 64 KiB).
MAX_DELTAS_SHOWN = 1_000_000


class StopRequest(_Request):
    """POST /sessions/{id}/stop takes an empty object (`{}`), the session's id again, and how much was shown."""

    session_id: Id | None = None
    deltas_shown: int | None = Field(default=None, ge=0, le=MAX_DELTAS_SHOWN, description=(
        "how many `text-delta` parts of the streaming reply the client had shown when its person pressed Stop (every "
        "step's, counted from the reply's `start`): the stored reply keeps the text of exactly those, so a reload "
        "shows what was seen; the charge stays what the provider produced. Without it the reply keeps what the "
        "stream had sent when it stopped"))


_TRUNCATED = ("the reply was cut short: the model stopped at the deployment's MAX_TOKENS, or the reply was cut to "
              "what MAX_TOKENS allows or a message can hold")
_STOPPED = ("why the turn ended before the model's own answer: `stopped` (the stop route ended a streamed reply; the "
            "text is as far as it went), the code of the limit that refused its next model call, max_tool_steps, "
            "escalated (a person takes over), taken_by_person (a person took the session while the turn ran: it ran "
            "no tool and kept no model text after that, `message`/`content` is empty, and it is charged for what the "
            "provider answered), guardrail_intervened (the provider's guardrail answered or cut the reply: the text is "
            "what it let through, charged as the provider reports) or a provider error (after tools ran, or cutting "
            "a stream short); null otherwise")
_ESTIMATED = ("the provider never reported this reply's usage (a stream stopped or cut short): tokens and cost are "
              "an upper bound, never more than the turn reserved")


class FunctionCall(_Response):
    """A tool the model called during the turn, and what came of it."""

    id: str
    name: str = Field(description="the tool: create_ticket, escalate_to_human, …")
    arguments: dict[str, Any] | str = Field(description=(
        "the arguments the model gave, as a JSON object; the text it wrote when that was not a JSON object"))
    status: Literal["ok", "error"]
    result: dict[str, Any] = Field(description="what the tool returned; on error, {\"error\": <why>}")
    truncated: bool = Field(default=False, description=(
        "the arguments or the result were too large or nested too deep to keep whole: `arguments` is the start of "
        "the text the model wrote, `result` {\"preview\": the start of its text}"))


class ChatMetadata(_Response):
    tokens: int
    input_tokens: int
    output_tokens: int
    cost_cents: float
    model: str
    provider: str
    message_id: str
    truncated: bool = Field(default=False, description=_TRUNCATED)
    stopped: str | None = Field(default=None, description=_STOPPED)
    estimated: bool = Field(default=False, description=_ESTIMATED)


class ChatResponse(_Response):
    session_id: str
    message: str
    role: Literal["assistant"] = "assistant"
    status: Literal["answered", "waiting_for_person"] = Field(default="answered", description=(
        "answered: `message` is the model's reply; waiting_for_person: the session is escalated, so the message "
        "was kept for the person who has it (no model call, nothing charged; metadata.message_id is the stored "
        "message, to wait for the reply with GET …/history?after=)"))
    function_calls: list[FunctionCall] = Field(default_factory=list, description="the tools called, in order")
    metadata: ChatMetadata


class SessionOut(_Response):
    id: str
    session_type: SessionType
    status: SessionStatus
    provider: str
    model: str
    created_at: str
    updated_at: str
    message_count: int
    total_tokens: int
    total_cost: float = Field(description="cents, with decimals")
    user_rating: int | None = None
    feedback: str | None = None
    escalation_reason: str | None = None
    escalated_at: str | None = Field(default=None, description="when a person was asked for (kept after release)")
    taken_by_name: str | None = Field(default=None, description="the person who has the session, once one took it")
    taken_at: str | None = None
    customer_id: str | None = None
    context: dict[str, Any] | None = None


class MessageOut(_Response):
    id: str
    role: Literal["user", "assistant", "agent"] = Field(description=(
        "user: the customer; assistant: the model; agent: a person of the support team (agent_name)"))
    content: str
    created_at: str
    tokens: int
    status: MessageStatus = Field(default="ok", description=(
        "ok; pending while its turn is being answered (or until a crashed turn is swept); failed: no answer, "
        "nothing charged"))
    feedback: MessageRating | None = None
    feedback_text: str | None = None
    truncated: bool = Field(default=False, description=_TRUNCATED)
    function_calls: list[FunctionCall] = Field(default_factory=list, description="a reply: the tools its turn called")
    stopped: str | None = Field(default=None, description=_STOPPED)
    estimated: bool = Field(default=False, description=_ESTIMATED)
    agent_name: str | None = Field(default=None, description="role agent: the name of the person who wrote it")
    handoff: Literal["joined", "left"] | None = Field(default=None, description=(
        "role agent: this message marks the person joining (their first reply) or leaving (the session released); "
        "`content` says so in a sentence. Markers take no message slot and are not sent to the model"))


class StopResponse(_Response):
    session_id: str
    message_id: str | None = Field(description=(
        "the user message whose turn was asked to stop (its reply ends where it is, marked stopped); null when no "
        "turn has run in the session yet. A turn that had already ended is not changed."))
    ended: bool = Field(default=False, description=(
        "true: that turn had already ended (its reply stored, or no answer came), so nothing was changed. false: "
        "its reply ends at its next look at the stop (within STOP_CHECK_SECONDS), unless its model finishes first"))


class HistoryResponse(_Response):
    session_id: str
    messages: list[MessageOut]
    metadata: SessionOut
    next_cursor: str | None = Field(default=None, description="pass as ?cursor= for the earlier page")
    next_after: str | None = Field(default=None, description=(
        "with ?after=: more newer messages follow; pass this as ?after= for them"))


class TicketOut(_Response):
    id: str
    session_id: str
    title: str
    priority: Literal["low", "normal", "high", "urgent"]
    status: Literal["open"]
    created_at: str
    description: str | None = None


class ExportedSession(SessionOut):
    messages: list[MessageOut] = Field(description="oldest first")
    continued: bool = Field(default=False, description=(
        "its messages go on in the next page, under the same session id: merge them by id"))


class ExportPage(_Response):
    sessions: list[ExportedSession] = Field(description="the caller's sessions, newest first, each with its messages")
    tickets: list[TicketOut] = Field(description=(
        "the tickets the model opened for the caller, oldest first, once every session was given"))
    next_cursor: str | None = Field(default=None, description="pass as ?cursor= for the next page; absent at the end")


class ErasureOut(_Response):
    erasure_id: str
    user_id: str
    status: Literal["running", "done"]
    requested_at: str
    finished_at: str | None = None
    sessions: int = Field(description="sessions deleted so far, with every message of each")
    messages: int = Field(description="messages deleted so far")
    tickets: int = Field(description="tickets deleted so far")
    day_counters: int = Field(description="the user's own day counters deleted (the tenant's totals stay)")


class FieldProblem(_Response):
    field: str = Field(description="dotted path of the field, or body")
    message: str


class ErrorBody(_Response):
    """Every error the API answers; the fields after code appear only with the errors that carry them."""

    detail: str = Field(description="a sentence a person can act on")
    code: str = Field(description="for programs: which error this is")
    field: str | None = Field(default=None, description="invalid_input: the first invalid field")
    errors: list[FieldProblem] | None = Field(default=None, description="invalid_input: every invalid field")
    limit: float | None = Field(default=None, description="a limit's code: the limit (cents, messages or sessions)")
    used: float | None = Field(default=None, description="a limit's code: how much of it is used")
    status: str | None = Field(default=None, description="session_not_active: the session's status")
    session_id: str | None = Field(default=None, description=(
        "a chat turn that got no answer: the session it was sent in (or started), to send it again there"))
    taken_by_name: str | None = Field(default=None, description="escalation_taken: the person who has the session")


class SessionCost(_Response):
    id: str
    session_type: SessionType
    status: SessionStatus
    total_cost: float = Field(description="cents, with decimals")
    message_count: int
    user_rating: int | None
    created_at: str


class UsageResponse(_Response):
    """The guide's three monitoring questions for one tenant and UTC day."""

    date: str
    tenant_id: str
    source: Literal["live", "rollup"]
    total_cost_cents: float
    session_count: int
    total_messages: int
    total_tokens: int
    ratings: dict[str, int] = Field(description="user_rating 1-5 -> sessions of the day with that rating")
    escalations: int
    message_feedback: dict[str, int] = Field(description="up/down ratings of the day's assistant messages")
    most_expensive_sessions: list[SessionCost]


# --- the handoff: staff routes ------------------------------------------------------------------------------------


class AgentMessageRequest(_Request):
    content: Annotated[Text, Field(min_length=1, max_length=10_000)]


class TakeRequest(_Request):
    """POST /agent/sessions/{id}/take takes an empty object (`{}`): who takes it is the caller."""


class WithdrawRequest(_Request):
    """POST /sessions/{id}/withdraw takes an empty object (`{}`), or the session's id again."""

    session_id: Id | None = None


class ReleaseRequest(_Request):
    to: Literal["ai", "closed"] = Field(description="ai: the model answers again (it sees the person's messages); "
                                                    "closed: the conversation ends")
    note: Annotated[Text, Field(max_length=500)] | None = None


class WaitingSessionOut(_Response):
    session_id: str
    user_id: str
    session_type: SessionType
    reason: str | None = None
    escalated_at: str
    waiting_seconds: int = Field(description="since the escalation")
    last_customer_message: str | None = Field(default=None, description="the customer's latest message to a person "
                                                                          "(its first 500 characters)")
    last_customer_message_at: str | None = None
    taken_by: str | None = None
    taken_by_name: str | None = None
    context: dict[str, Any] | None = Field(default=None, description=(
        "what the customer's app sent with the session (the page, plan or role it chose to send); null when none, "
        "or for an escalation listed before the list kept it"))
