"""A tool call's arguments, from the model's JSON text to the tool's validated model, or a refusal it can act on."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from aichat.core.models import LONE_SURROGATE
from aichat.core.whole_text import whole_value
from aichat.table.call_records import MAX_DEPTH, too_deep

# The model writes the arguments; anything this large is not a ticket or a reason, and is not parsed.
MAX_ARGUMENTS_BYTES = 8 * 1024
_MAX_PROBLEMS = 5
_PREVIEW = 40


class CallRefused(Exception):
    """A tool call cannot be run or its result used; `message` says why to the model (and the client), without
    echoing what it sent or anything internal."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFinite(CallRefused):
    """Arguments holding a number that is not finite (1e400, NaN, Infinity); `shown` is the object as the call's
    record keeps it, each such number as the text the model wrote, so no reader of the record parses it to one."""

    def __init__(self, message: str, shown: dict[str, Any]) -> None:
        super().__init__(message)
        self.shown = shown


@dataclass(frozen=True)
class _Literal:
    """A number as the model wrote it, which a float cannot hold (or NaN/Infinity, which JSON has not)."""

    text: str


def parse(text: str) -> dict[str, Any]:
    """The JSON object the text holds, its strings whole (aichat.core.whole_text); CallRefused when it is too large, not
    JSON, not an object or nested MAX_DEPTH deep, NotFinite when it holds a number that is not finite."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_ARGUMENTS_BYTES:
        raise CallRefused(f"the arguments are larger than {MAX_ARGUMENTS_BYTES} bytes; send shorter values")
    try:
        value = json.loads(text or "{}", parse_constant=_Literal, parse_float=_finite_or_literal)
    except json.JSONDecodeError as e:
        raise CallRefused(f"the arguments are not valid JSON ({e.msg} at character {e.pos}); send one JSON "
                               "object") from None
    except (ValueError, RecursionError):  # nesting deeper than the parser goes, an integer of over 4300 digits
        raise CallRefused("the arguments are not valid JSON; send one JSON object") from None
    if not isinstance(value, dict):
        raise CallRefused(f"the arguments must be a JSON object, not {_json_type(value)}")
    if too_deep(value):
        # Deep nesting is no argument a tool takes, and its record could not be shown (pydantic stops at 256).
        raise CallRefused(f"the arguments nest objects and arrays more than {MAX_DEPTH} levels deep; send flatter "
                          "arguments")
    made_whole: dict[str, Any] = whole_value(value)
    where = _literals(made_whole, ())
    if where:
        # inf or NaN would reach the tool, its record and the stream (as `Infinity`, which is not JSON).
        more = f" and {len(where) - _MAX_PROBLEMS} more" if len(where) > _MAX_PROBLEMS else ""
        places = ", ".join(_where(path) for path in where[:_MAX_PROBLEMS]) + more
        raise NotFinite(f"invalid arguments: {places}: not a finite number; send numbers between -1e308 and 1e308",
                        _shown(made_whole))
    return made_whole


def validate(model: type[BaseModel], arguments: dict[str, Any]) -> BaseModel:
    """The arguments as the tool's model; CallRefused naming each invalid field and what is wrong with it."""
    # Strict schemas make optional fields nullable: null means "not given", so the field takes its default.
    given = {k: v for k, v in arguments.items()
             if not (v is None and k in model.model_fields and not model.model_fields[k].is_required())}
    try:
        return model.model_validate(given)
    except ValidationError as e:
        problems = [_problem(error) for error in e.errors(include_input=False, include_url=False)]
        more = f"; and {len(problems) - _MAX_PROBLEMS} more" if len(problems) > _MAX_PROBLEMS else ""
        raise CallRefused("invalid arguments: " + "; ".join(problems[:_MAX_PROBLEMS]) + more) from None
    except Exception:  # a validator that fails other than by ValueError: the tool's bug, said without its text
        raise CallRefused("the arguments could not be checked; nothing was done") from None


def preview(text: str, limit: int = _PREVIEW) -> str:
    """The start of a text the model wrote, short enough to quote back (and whole characters, so it can be stored)."""
    return LONE_SURROGATE.sub("\ufffd", text if len(text) <= limit else text[:limit] + "…")


def _problem(error: Any) -> str:
    # The loc names fields; an extra field's name is the model's own text, so only its start is quoted.
    where = _where(tuple(error["loc"]))
    if error["type"] == "extra_forbidden":
        return f"{where}: not an argument of this tool; remove it"
    if error["type"] == "missing":
        return f"{where}: required"
    return f"{where}: {error['msg']}"


def _finite_or_literal(text: str) -> float | _Literal:
    number = float(text)
    return number if math.isfinite(number) else _Literal(text)


def _literals(value: Any, path: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    """Where the parsed value holds a number that is not finite."""
    if isinstance(value, _Literal):
        return [path]
    if isinstance(value, dict):
        return [p for key, child in value.items() for p in _literals(child, (*path, key))]
    if isinstance(value, list):
        return [p for i, child in enumerate(value) for p in _literals(child, (*path, i))]
    return []


def _shown(value: Any) -> Any:
    """The value with each number that is not finite as the text the model wrote (cut, like any quoted text)."""
    if isinstance(value, _Literal):
        return preview(value.text)
    if isinstance(value, dict):
        return {key: _shown(child) for key, child in value.items()}
    if isinstance(value, list):
        return [_shown(child) for child in value]
    return value


def _where(path: tuple[Any, ...]) -> str:
    # Names come from the model: only their start is quoted.
    return ".".join(preview(str(part)) for part in path) or "arguments"


def _json_type(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return "a number"  # a _Literal (NaN, 1e400) too
