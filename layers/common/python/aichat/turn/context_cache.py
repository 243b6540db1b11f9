"""A container's own copy of the newest messages of the sessions its turns settled, so that a session's next turn
here reserves at its exact amount with no read before the model: one DynamoDB round trip, and no Query at all.

A copy is true only at the version of the session's messages it was kept at (aichat/table/context_stamps.py): the
turn that uses it requires that version in its reserve, and reads the session again when the reserve finds its
messages changed. The turn that uses a copy takes it (a second turn of the session meanwhile reads), and only a turn
that settles normally keeps one again. Bounded: the session kept longest ago makes way for a new one, and a copy
older than `max_age` is not used, which bounds what a writer that does not move the version (one deployed before
versions were kept) can leave unseen.

A refused copy costs a round trip (the refused reserve) on top of the read. Where a function runs in many containers
a session's turns land in any of them, and most copies are out of date by the time their container sees the session
again; so while more than REFUSED_SHARE of the last WINDOW copies tried were refused, a container tries only one copy
in PROBE_EVERY (to notice when they pay again) and its other turns read, as without copies.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from aichat.core.identity import Identity
from aichat.core.records import MessageRecord, SessionRecord

WINDOW = 32
REFUSED_SHARE = 0.25
PROBE_EVERY = 8


@dataclass(frozen=True)
class KeptContext:
    """A session and its newest messages (oldest first), true while its messages are at `version`."""

    session: SessionRecord
    messages: tuple[MessageRecord, ...]
    version: int
    kept_at: float
    size: int = 0  # about how many bytes its messages hold (their text, tool calls and steps)


class ContextCache:
    """The sessions whose context this container kept: at most `max_sessions` of them (0: none kept), holding at most
    `max_bytes` of messages between them (a reply may hold 380 KB, and a container's memory is the function's)."""

    def __init__(self, max_sessions: int, max_messages: int, max_age: float = 300.0,
                 clock: Callable[[], float] = time.monotonic, max_bytes: int = 16 * 1024 * 1024) -> None:
        self._max_sessions = max_sessions
        self._max_messages = max_messages
        self._max_bytes = max_bytes
        self._bytes = 0
        self._max_age = max_age
        self._clock = clock
        self._kept: OrderedDict[str, KeptContext] = OrderedDict()
        self._lock = threading.Lock()  # a local server runs a function's turns on many threads
        self._tried: deque[bool] = deque(maxlen=WINDOW)  # the last copies tried: True if the reserve refused it
        self._passed_over = 0  # copies not tried since the last probe, while copies did not pay

    def take(self, session_id: str, caller: Identity) -> KeptContext | None:
        """The caller's session's kept context, removed from the cache; None if none is kept, or it is too old."""
        with self._lock:
            kept = self._kept.pop(session_id, None)
            self._bytes -= kept.size if kept else 0
        if kept is None or self._clock() - kept.kept_at > self._max_age:
            return None
        if (kept.session.tenant_id, kept.session.user_id) != (caller.tenant_id, caller.user_id):
            return None  # someone else's session: their reserve fails on its owner, after a read, as without a copy
        with self._lock:
            if sum(self._tried) > REFUSED_SHARE * len(self._tried):
                self._passed_over += 1
                if self._passed_over % PROBE_EVERY:
                    return None
        return kept

    def tried(self, refused: bool) -> None:
        """Count a copy a turn tried: whether its reserve refused it (the session's messages had changed)."""
        with self._lock:
            self._tried.append(refused)

    def keep(self, session: SessionRecord, messages: Sequence[MessageRecord], version: int) -> None:
        """Keep a session's newest messages (as a read would give them: by id, at most max_messages) as they stand at
        `version`, pushing out the session kept longest ago."""
        if self._max_sessions == 0:
            return
        newest = sorted(messages, key=lambda m: m.id)[-self._max_messages:] if self._max_messages else []
        kept = KeptContext(session, tuple(newest), version, self._clock(), sum(map(_size, newest)))
        if kept.size > self._max_bytes:
            return
        with self._lock:
            replaced = self._kept.pop(session.id, None)
            self._bytes += kept.size - (replaced.size if replaced else 0)
            self._kept[session.id] = kept
            while len(self._kept) > self._max_sessions or self._bytes > self._max_bytes:
                self._bytes -= self._kept.popitem(last=False)[1].size

    def __len__(self) -> int:
        return len(self._kept)


def _size(message: MessageRecord) -> int:
    """About how many bytes a message holds in memory: its text, and its tool calls and steps as text (a bound that
    costs no encoding; close enough for a budget)."""
    return len(message.content) + len(str(message.function_calls or "")) + len(str(message.tool_steps or ""))
