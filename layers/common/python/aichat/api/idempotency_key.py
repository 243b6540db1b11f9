"""The Idempotency-Key header, read the same way by POST /chat and its stream: its name and what a usable one is."""

from __future__ import annotations

import re

from aichat.core.errors import InvalidInput

HEADER = "idempotency-key"
_VALID_KEY = re.compile(r"[\x21-\x7e]{1,255}")  # visible ASCII, as HTTP header values are safest


def checked_key(value: str | None) -> str | None:
    """The header's key, or None without one; InvalidInput (422, naming the header) for a key no retry could repeat."""
    if value is None:
        return None
    if not _VALID_KEY.fullmatch(value):
        raise InvalidInput("The Idempotency-Key header must be 1-255 visible ASCII characters, such as a UUID.",
                           field="Idempotency-Key")
    return value
