"""Opaque, time-sortable ids (ULID layout: 48-bit milliseconds, 80 random bits, Crockford base32)."""

from __future__ import annotations

import secrets
import threading
from datetime import datetime

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
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[candidate & 31])
        candidate >>= 5
    return "".join(reversed(chars))

