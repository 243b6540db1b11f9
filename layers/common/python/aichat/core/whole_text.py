"""Text from a model made whole: a surrogate pair as the one character it encodes, a lone surrogate as U+FFFD.

A provider's JSON may escape half of a character (`"\\ud83d"`), and a stream may split a character's two halves
between two pieces; Python keeps each half as a code point of its own, which has no UTF-8 form, so neither a stream
nor DynamoDB could carry it. Every piece of text, id and argument a model sends is made whole here before the turn
uses it, the way a settled reply's text always was (aichat.table.ledger.reservations.fit_reply).
"""

from __future__ import annotations

import re
from typing import Any

_SURROGATE = re.compile("[\ud800-\udfff]")
_PAIR = re.compile("[\ud800-\udbff][\udc00-\udfff]")
_REPLACEMENT = "\ufffd"


def whole(text: str) -> str:
    """The text with each surrogate pair joined into its character and each lone surrogate replaced by U+FFFD."""
    if not _SURROGATE.search(text):
        return text
    joined = _PAIR.sub(lambda pair: chr(0x10000 + ((ord(pair[0][0]) - 0xD800) << 10) + ord(pair[0][1]) - 0xDC00),
                       text)
    return _SURROGATE.sub(_REPLACEMENT, joined)


def whole_value(value: Any) -> Any:
    """A parsed JSON value with every string in it, keys included, made whole."""
    if isinstance(value, str):
        return whole(value)
    if isinstance(value, dict):
        return {whole(key): whole_value(child) for key, child in value.items()}
    if isinstance(value, list):
        return [whole_value(child) for child in value]
    return value


class WholePieces:
    """The pieces of one streamed text made whole as they arrive: a high surrogate that ends a piece is held back
    until the next piece says whether its other half follows, so the pieces joined equal `whole` of the text."""

    def __init__(self) -> None:
        self._held = ""

    def add(self, piece: str) -> str:
        """What of the text so far can be passed on now (maybe nothing)."""
        text = self._held + piece
        self._held = ""
        if text and "\ud800" <= text[-1] <= "\udbff":
            text, self._held = text[:-1], text[-1]
        return whole(text)

    def end(self) -> str:
        """The rest, once the text is complete: a half still held is a lone surrogate, so U+FFFD."""
        held, self._held = self._held, ""
        return whole(held)
