"""Pagination cursors: the one codec for every list route's opaque cursor, handing it out and checking it back.

A cursor holds a position only (the key where a page ended), never whose data it is: each route takes the partition
it reads from the verified caller and the path, so a cursor of another user, tenant or session reads nothing of
theirs. Each cursor names the list it came from, so one sent to another route is refused, not misread.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from aichat.core.errors import InvalidInput

_ID = re.compile(r"[0-9A-Za-z]{1,128}")
_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})")
_SEPARATOR = "|"  # in no part's pattern, so the parts split back exactly
# Longer than any cursor this API makes (a kind, a timestamp and an id): anything longer is refused undecoded.
MAX_CURSOR_LENGTH = 400


@dataclass(frozen=True)
class CursorKind:
    """The cursors of one list: the name written into each, the pattern of each key part, and where to get one."""

    name: str
    parts: tuple[re.Pattern[str], ...]
    source: str

    def fits(self, parts: tuple[str, ...]) -> bool:
        """Whether `parts` are the key parts this list's cursors carry, each of its pattern."""
        return len(parts) == len(self.parts) and all(p.fullmatch(v) for p, v in zip(self.parts, parts, strict=True))


MY_SESSIONS = CursorKind("sessions", (_ID,), "the X-Next-Cursor header of GET /sessions/my")
HISTORY = CursorKind("history", (_ID,), "the next_cursor of the session's previous history page")
WAITING = CursorKind("waiting", (_MOMENT, _ID), "the X-Next-Cursor header of GET /agent/sessions")
# Where an export page ended: the session whose messages go on (and the last message given), the session after
# which the next one starts ("-": none yet), or the last ticket given.
_PHASE = re.compile(r"messages|sessions|tickets")
_ID_OR_NONE = re.compile(r"-|[0-9A-Za-z]{1,128}")
EXPORT = CursorKind("export", (_PHASE, _ID_OR_NONE, _ID_OR_NONE), "the next_cursor of the previous export page")
KINDS = (MY_SESSIONS, HISTORY, WAITING, EXPORT)


def encode_cursor(kind: CursorKind, *parts: str) -> str:
    """The opaque cursor of a page ending at `parts` (URL-safe base64, unpadded). ValueError for parts its decoding
    would refuse, so no route can hand out a cursor it will not take back."""
    if not kind.fits(parts):
        raise ValueError(f"a {kind.name} cursor cannot carry {parts!r}")
    text = _SEPARATOR.join((kind.name, *parts))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, kind: CursorKind) -> tuple[str, ...]:
    """The key parts a cursor of `kind` carries; InvalidInput naming cursor for anything else."""
    name, *rest = _text(cursor).split(_SEPARATOR)
    parts = tuple(rest)
    if any(other.name == name != kind.name and other.fits(parts) for other in KINDS):
        raise InvalidInput(f"cursor belongs to another list ({name}); pass {kind.source} as it came, or omit it to "
                           "start from the first page.", field="cursor")
    # Decoding skips characters outside base64, so "\x7f" decodes to "": an empty or overlong key part would be
    # refused by DynamoDB as a ValidationException, a 500; so is every part checked against its pattern here.
    if name != kind.name or not kind.fits(parts):
        raise InvalidInput(f"cursor is not one this API returned; pass {kind.source} as it came, or omit it to start "
                           "from the first page.", field="cursor")
    return parts


def _text(cursor: str) -> str:
    if len(cursor) > MAX_CURSOR_LENGTH:
        return ""
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return ""
