"""Which state of a session's messages a turn's context was built from: a version on the session item that every
write of a message moves by one, in that write's own transaction, and when it last moved.

A container keeps a session's newest messages after its own turn settles (aichat/turn/context_cache.py). Its next
turn's reserve requires the version they were kept at, so a message anyone else wrote meanwhile (a person's reply, a
marker, another container's turn) is never missed: the reserve fails on the version, and the turn reads again.
Writes that leave every message's status and text as they were (a rating, a reservation moved on) do not move it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from aichat.core.clock import iso
from aichat.table.transactions import Item, Update, int_attr, n, s, str_attr

VERSION = "context_version"
CHANGED_AT = "context_changed_at"
# A read of a session and its messages is one Query, which DynamoDB does not isolate from a transaction committing
# meanwhile (read-committed): it could see a write's session item and miss its message. A read vouches for its
# messages only when the last write before it ended this long ago, far beyond any transaction's commit and the
# clocks' skew between containers.
QUIET_SECONDS = 10
# For a raw update expression: ADD this, with ONE among its values, and SET CHANGED_AT.
ADD_ONE = f"{VERSION} :context_one"
ONE: Item = {":context_one": n(1)}


@dataclass(frozen=True)
class ContextStamp:
    """A session item's version of its messages, and when it last moved (None: before versions were kept)."""

    version: int
    changed_at: str | None

    def quiet_at(self, now: datetime) -> bool:
        """Whether a read made at `now` may vouch for the messages it saw at this version."""
        return self.changed_at is None or self.changed_at < iso(now - timedelta(seconds=QUIET_SECONDS))


def stamp_of(item: Item) -> ContextStamp:
    """The stamp a session item holds (version 0 for a session written before versions were kept)."""
    return ContextStamp(int_attr(item, VERSION), str_attr(item, CHANGED_AT))


def moved(update: Update, now: str, *, at: int | None = None) -> Update:
    """The session's update, moving its version by one: a message of it is written, changed or deleted. With `at`,
    applied only while its messages are at that version."""
    update.add(**{VERSION: 1})
    update.sets[CHANGED_AT] = s(now)
    if at == 0:
        update.conditions.append(f"attribute_not_exists({VERSION})")
    elif at is not None:
        update.values[":context_version"] = n(at)
        update.conditions.append(f"{VERSION} = :context_version")
    return update


def first(item: Item, now: str) -> Item:
    """A new session's item, written with its first message: version 1."""
    item[VERSION] = n(1)
    item[CHANGED_AT] = s(now)
    return item
