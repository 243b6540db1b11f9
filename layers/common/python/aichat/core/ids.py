"""Opaque, time-sortable ids (ULID layout: 48-bit milliseconds, 80 random bits, Crockford base32)."""

from __future__ import annotations

import secrets
import threading
from datetime import UTC, datetime

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_lock = threading.Lock()
_last = 0


def new_id(moment: datetime) -> str:
    """A 26-character id that sorts by creation time; ids made in this process never sort out of order."""
    global _last
    candidate = (int(moment.timestamp() * 1000) << 80) | secrets.randbits(80)
    with _lock:
        # Monotonic, as ULID specifies: within one millisecond (or a small clock step back) count up from the last
        # id, so a reply always sorts after the message it answers. A clock set back by more than a second is
        # followed, so ids keep the time they were made at.
        if candidate <= _last and (_last >> 80) - (candidate >> 80) < 1000:
            candidate = _last + 1 + secrets.randbits(16)
        _last = candidate
    return _encode(candidate)



def _encode(value: int) -> str:
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def first_id_at(moment: datetime) -> str:
    """The lowest id `new_id` can make at `moment`: every id made then or later sorts after it."""
    return _encode(max(int(moment.timestamp() * 1000), 0) << 80)


def id_time(message_id: str) -> datetime | None:
    """When an id of `new_id`'s was made (to the millisecond); None for a string that is not one."""
    if len(message_id) != 26 or any(c not in _ALPHABET for c in message_id) or message_id[0] > "7":
        return None
    value = 0
    for c in message_id:
        value = value * 32 + _ALPHABET.index(c)
    return datetime.fromtimestamp((value >> 80) / 1000, UTC)
