"""Pagination cursors: the opaque strings the list routes hand out, and checking the ones sent back."""

from __future__ import annotations

import base64
import binascii
import re

from aichat.errors import InvalidInput

_CURSOR_VALUE = re.compile(r"[0-9A-Za-z]{1,128}")  # what cursors carry: ids


def encode_cursor(value: str) -> str:
    """The opaque cursor the API hands out for an id (URL-safe base64, unpadded)."""
    return base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The id a cursor from encode_cursor carries; InvalidInput for anything else."""
    try:
        value = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        value = ""
    # Decoding skips characters outside base64, so "\x7f" decodes to "": an empty or overlong key part is refused
    # by DynamoDB as a ValidationException, which would surface as a 500.
    if not _CURSOR_VALUE.fullmatch(value):
        raise InvalidInput("cursor is not one this API returned; omit it to start from the first page.",
                           field="cursor")
    return value
