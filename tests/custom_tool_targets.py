"""Python targets for custom-tool tests (CUSTOM_TOOLS target "custom_tool_targets:<name>"): each records its calls."""

from __future__ import annotations

import sys
from typing import Any

CALLS: list[tuple[dict[str, Any], dict[str, str]]] = []


def echo(arguments: dict[str, Any], context: dict[str, str]) -> dict[str, Any]:
    CALLS.append((arguments, context))
    arguments["changed_by_the_target"] = True  # the call's record must keep what the model sent
    return {"arguments": {k: v for k, v in arguments.items() if k != "changed_by_the_target"}, "context": context}


def raises(arguments: dict[str, Any], context: dict[str, str]) -> dict[str, Any]:
    CALLS.append((arguments, context))
    raise RuntimeError("secret: arn:aws:dynamodb:us-east-1:123456789012:table/internal refused")


def exits(arguments: dict[str, Any], context: dict[str, str]) -> dict[str, Any]:
    """Ends as a command-line tool does (argparse, click): sys.exit()."""
    CALLS.append((arguments, context))
    sys.exit(2)


def interrupted(arguments: dict[str, Any], context: dict[str, str]) -> dict[str, Any]:
    """Raises KeyboardInterrupt itself, as code written for a terminal may; no signal is involved."""
    CALLS.append((arguments, context))
    raise KeyboardInterrupt


def returns_a_list(arguments: dict[str, Any], context: dict[str, str]) -> Any:
    CALLS.append((arguments, context))
    return [1, 2, 3]


NOT_CALLABLE = "a string"
