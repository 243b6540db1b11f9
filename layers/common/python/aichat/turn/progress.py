"""Where a running turn is: what its model calls answered, what a streamed call has sent so far, and its tools'
records, kept within what the reply's item may hold."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aichat.core.whole_text import WholePieces
from aichat.providers.interface import Completion, CompletionRequest, ModelRoute, ToolResult, Turn
from aichat.table import call_records
from aichat.table.ledger.reservations import Reservation
from aichat.turn.model_context import sent_call

# What the tool calls of one turn may take of its reply's item, results and arguments included: function_calls and
# tool_steps as the item stores them, never more (table.call_records bounds each record), so the settle always fits.
MAX_TURN_TOOL_BYTES = 200_000
# A step's entry in tool_steps without its text and ids ({"text": "", "call_ids": []}, and a separator).
_STEP_ENTRY_BYTES = 30
# The most a step's text takes as stored (each character may take up to 12 bytes escaped).
_MAX_STEP_TEXT_BYTES = 8 * 1024
# A model call's text kept beside the tools it called (the model's own thinking aloud; the answer comes after).
MAX_STEP_TEXT = 2_000


@dataclass(frozen=True)
class Answer:
    """One model call that answered: the route that did, what it said, what it cost."""

    route: ModelRoute
    completion: Completion
    cost_micros: int
    estimated: bool = False  # a streamed call that ended without the provider's usage: cost is an upper bound


@dataclass
class Heard:
    """What a streamed model call has sent so far: the route answering, its text (whole, as passed on), and how many
    bytes of text and of tool-call arguments arrived (the provider bills both as output)."""

    route: ModelRoute | None = None
    pieces: list[str] = field(default_factory=list)
    whole: WholePieces = field(default_factory=WholePieces)
    text_bytes: int = 0
    argument_bytes: int = 0

    @property
    def text(self) -> str:
        return "".join(self.pieces)

    def shown_text(self, deltas_shown: int | None, before: int) -> str:
        """The text of this call's first pieces a client showed, having shown `deltas_shown` text deltas of the
        reply, `before` of them from its earlier calls; all of it when the client did not say."""
        if deltas_shown is None:
            return self.text
        return "".join(self.pieces[:max(deltas_shown - before, 0)])

    @property
    def anything(self) -> bool:
        """Part of the reply arrived, so the provider billed it."""
        return bool(self.text_bytes or self.argument_bytes)

    @property
    def output_bytes(self) -> int:
        return self.text_bytes + self.argument_bytes


@dataclass
class Steps:
    """What a turn's model calls and tools have done so far."""

    answers: list[Answer] = field(default_factory=list)  # answered calls already charged (by the ledger's advance)
    records: list[dict[str, Any]] = field(default_factory=list)  # the calls, as the API shows them
    stored: list[dict[str, Any]] = field(default_factory=list)  # per model call that asked for tools: text, call ids
    turns: list[Turn] = field(default_factory=list)  # the assistant and tool turns to send the model next
    latency_ms: float = 0.0
    tool_bytes: int = 0  # what `records` and `stored` take as the item stores them (at most MAX_TURN_TOOL_BYTES)
    over_reservation: bool = False
    stop_reads: int = 0  # how often a stream read its stop flag
    deltas: int = 0  # the text deltas its answered calls streamed (a stop's count covers the whole reply)
    calls_run: int = 0  # tool calls handed to their tools (refused ones not counted), for MAX_TOOL_CALLS_PER_TURN
    finished: bool = False  # a settle or a release was tried: nothing else may end the turn again

    def room(self) -> int:
        """The tool bytes the turn may still keep, its current step's own entry set aside."""
        return MAX_TURN_TOOL_BYTES - self.tool_bytes - _STEP_ENTRY_BYTES - (0 if self.stored else 2)

    def add_call(self, record: dict[str, Any]) -> dict[str, Any] | None:
        """Keep a call's record in what is left of MAX_TURN_TOOL_BYTES: whole, its arguments cut, or (a model that
        asked for hundreds of calls) not at all; the record as kept."""
        kept = call_records.squeezed(record, self.room() - (0 if self.records else 2))
        if kept is not None:
            self.tool_bytes += call_records.cost(kept) + (0 if self.records else 2)
            self.records.append(kept)
        return kept

    def add_step(self, completion: Completion, records: list[dict[str, Any]], kept: list[dict[str, Any]],
                 results: tuple[ToolResult, ...]) -> None:
        """A model call whose tool calls ran (or were refused): `records` and `results` are all of theirs, in its
        order, `kept` those of them the reply keeps (add_call)."""
        text = completion.text[:MAX_STEP_TEXT]
        if kept:  # its entry's room was set aside as they were kept; a step with none kept is never replayed
            room = min(_MAX_STEP_TEXT_BYTES, self.room() + 2)  # the room set aside holds the text's quotes
            stored = call_records.preview(text, room)
            self.tool_bytes += _STEP_ENTRY_BYTES + (0 if self.stored else 2) + call_records.stored_size(stored) - 2
            self.stored.append({"text": stored, "call_ids": [r["id"] for r in kept]})
        # The calls as recorded (each field bounded, ids as their results name them), as a later turn replays them:
        # the model is never sent back a lone surrogate or an infinity that its own JSON escaped (a provider refuses
        # the request, or its SDK cannot encode it).
        self.turns += [Turn(role="assistant", content=text, tool_calls=tuple(sent_call(r) for r in records)),
                       Turn(role="tool", content="", tool_results=results)]


@dataclass
class Live:
    """Where a running turn is, for whatever ends it: its reservation now, the request its next model call sends,
    what its calls and tools did, the answered call not charged yet, and what the current call has sent so far."""

    reservation: Reservation
    request: CompletionRequest
    steps: Steps = field(default_factory=Steps)
    answer: Answer | None = None
    heard: Heard = field(default_factory=Heard)

