"""A tool call's arguments, from the model's JSON text to the tool's validated model, or a refusal it can act on."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ValidationError

from aichat.models import LONE_SURROGATE

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


def parse(text: str) -> dict[str, Any]:
    """The JSON object the text holds; CallRefused when it is too large, not JSON, or not an object."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_ARGUMENTS_BYTES:
        raise CallRefused(f"the arguments are larger than {MAX_ARGUMENTS_BYTES} bytes; send shorter values")
    try:
        value = json.loads(text or "{}", parse_constant=_no_constant)
    except json.JSONDecodeError as e:
        raise CallRefused(f"the arguments are not valid JSON ({e.msg} at character {e.pos}); send one JSON "
                               "object") from None
    except (ValueError, RecursionError):  # NaN or Infinity; or nesting deeper than the parser goes
        raise CallRefused("the arguments are not valid JSON; send one JSON object") from None
    if not isinstance(value, dict):
        raise CallRefused(f"the arguments must be a JSON object, not {_json_type(value)}")
    return value


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
    where = ".".join(preview(str(part)) for part in error["loc"]) or "arguments"
    if error["type"] == "extra_forbidden":
        return f"{where}: not an argument of this tool; remove it"
    if error["type"] == "missing":
        return f"{where}: required"
    return f"{where}: {error['msg']}"


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _json_type(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return "a number"
