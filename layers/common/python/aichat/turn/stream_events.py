"""What a chat turn does, event by event, as a stream shows it (aichat/api/ui_stream.py turns them into SSE parts)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TurnStarted:
    """The turn's first model call is reserved and the user's message stored: the stream may begin. `reply_id` is
    the id its reply will be stored under (None when no reply is stored: a message kept for a person)."""

    session_id: str
    user_message_id: str
    reply_id: str | None = None


@dataclass(frozen=True)
class StepStarted:
    """A model call of the turn begins (`step` counts them from 1)."""

    step: int


@dataclass(frozen=True)
class ReplyText:
    """A piece of the model's text, as the provider sent it."""

    step: int
    text: str


@dataclass(frozen=True)
class ToolRan:
    """A tool call of the model's and its outcome, as the API shows it: {id, name, arguments, status, result}."""

    record: dict[str, Any]


@dataclass(frozen=True)
class StepFinished:
    """A model call of the turn (and the tools it asked for) is done."""

    step: int


TurnEvent = TurnStarted | StepStarted | ReplyText | ToolRan | StepFinished
