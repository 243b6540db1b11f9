"""What a tool may give back (a JSON object of at most MAX_RESULT_BYTES, nested at most MAX_DEPTH deep), and how
a custom tool's target fails, as types the registry turns into a sentence for the model."""

from __future__ import annotations

# A result goes back to the model on every later call of the turn: anything larger is a handler's bug, not data.
MAX_RESULT_BYTES = 16 * 1024


class TargetFailed(Exception):
    """The target ran and reported a failure; `kind` is its error's type (a Lambda function's errorType), never its
    message or stack."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class ResultUnreadable(Exception):
    """The target gave back something that is not a JSON object."""


class ResultTooDeep(Exception):
    """The result nests objects and arrays deeper than a record may keep (aichat.table.call_records.MAX_DEPTH)."""


class ResultTooLarge(Exception):
    """The result is over MAX_RESULT_BYTES; `size` is its size when known (a Lambda payload is read no further)."""

    def __init__(self, size: int | None = None) -> None:
        super().__init__(size)
        self.size = size
