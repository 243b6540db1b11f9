"""What a turn holds in the ledger, and the pure rules about it: a reservation (and how its item reads back), a key's
claim, when a turn may be swept, and a reply cut to fit its item."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from aichat.core.models import TAKEN_BY_PERSON
from aichat.core.pricing import Usage
from aichat.core.records import MessageRecord, SessionRecord
from aichat.table import keys
from aichat.table.transactions import Item, int_attr, str_attr

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
    reply_id: str | None = None  # the id its reply is stored under, made with the user's message (sorts right after)


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


class ContextChanged(Exception):
    """A reserve that required the session's messages at a version found them changed since: nothing was written."""


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
    deletions_finished: int = 0  # sessions whose delete was cut short, finished by this run


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


def session_stub(session_id: str, tenant_id: str, user_id: str) -> SessionRecord:
    """A session known by its id and owner only: what its message items and a reserve's conditions need of it."""
    return SessionRecord(id=session_id, tenant_id=tenant_id, user_id=user_id, session_type="customer_support",
                         status="active", provider="", model="", created_at="", updated_at="")


def reservation_of(item: Item) -> Reservation:
    """The reservation a pending user message's item holds."""
    return Reservation(
        session_id=keys.session_id_from_pk(str_attr(item, "PK") or ""),
        message_id=keys.message_id_from_sk(str_attr(item, "SK") or ""),
        tenant_id=str_attr(item, "tenant_id") or "", user_id=str_attr(item, "user_id") or "",
        day=str_attr(item, "day") or "", amount_micros=int_attr(item, "reserved_micros"),
        message_slots=int_attr(item, "reserved_messages"), sweep_after=int_attr(item, "sweep_after"),
        turn_key=str_attr(item, "turn_key"), charged_micros=int_attr(item, "charged_micros"),
        step=int_attr(item, "step") or 1, reply_id=str_attr(item, "reply_id"),
    )
