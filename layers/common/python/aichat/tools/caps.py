"""How many tool calls one chat turn runs: at most MAX_TOOL_CALLS_PER_STEP of one model call's, and
MAX_TOOL_CALLS_PER_TURN in all. A call past either is answered to the model as refused; nothing runs for it."""

from __future__ import annotations

from dataclasses import dataclass

from aichat.core.settings import Settings


@dataclass(frozen=True)
class ToolCallCaps:
    """The caps, and the refusal the model is given for a call past one of them."""

    per_step: int
    per_turn: int

    @classmethod
    def from_settings(cls, settings: Settings) -> ToolCallCaps:
        """The caps the settings give."""
        return cls(per_step=settings.MAX_TOOL_CALLS_PER_STEP, per_turn=settings.MAX_TOOL_CALLS_PER_TURN)

    def refusal(self, run_in_step: int, run_in_turn: int) -> str | None:
        """Why the next call is not run, given how many calls this model call and this turn have run; None when it
        may run."""
        if run_in_turn >= self.per_turn:
            return (f"not run: this turn has already run {self.per_turn} tool calls, the most it may; answer the "
                    "user with what was done")
        if run_in_step >= self.per_step:
            return (f"not run: one reply may run at most {self.per_step} tool calls; ask again for the ones still "
                    "needed once you have these results")
        return None
