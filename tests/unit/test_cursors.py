"""The one cursor codec: every cursor a list hands out decodes on that list, and on no other; nothing else decodes."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from aichat.core.clock import iso
from aichat.core.cursors import (
    EXPORT,
    HISTORY,
    KINDS,
    MAX_CURSOR_LENGTH,
    MY_SESSIONS,
    WAITING,
    CursorKind,
    decode_cursor,
    encode_cursor,
)
from aichat.core.errors import InvalidInput
from aichat.core.models import MAX_ID_LENGTH
from aichat.table.keys import waiting_sort_key

NOW = datetime(2026, 11, 24, 12, 0, 0, 123000, tzinfo=UTC)
# A fixed id of the shape new_id makes: the parameters below are the same in every pytest worker.
ID = "01M86PTPKV4BKSYYY3P6XNMTW8"

# What each list's cursor carries, as the store and the waiting list make them: ids, and (escalated_at, id).
PARTS: dict[str, tuple[str, ...]] = {MY_SESSIONS.name: (ID,), HISTORY.name: (ID,), WAITING.name: (iso(NOW), ID),
                                    EXPORT.name: ("messages", ID, ID)}


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def refusal(cursor: str, kind: CursorKind) -> InvalidInput:
    with pytest.raises(InvalidInput) as raised:
        decode_cursor(cursor, kind)
    assert raised.value.extra["field"] == "cursor"
    return raised.value


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_a_cursor_a_list_hands_out_decodes_on_that_list_to_the_parts_it_was_made_of(kind: CursorKind) -> None:
    parts = PARTS[kind.name]
    cursor = encode_cursor(kind, *parts)
    assert decode_cursor(cursor, kind) == parts
    assert cursor.isascii() and "=" not in cursor and "+" not in cursor and "/" not in cursor, "URL-safe as it is"
    assert len(cursor) <= MAX_CURSOR_LENGTH


def test_the_waiting_lists_cursor_carries_its_sort_key_whose_time_holds_characters_no_id_has() -> None:
    """The waiting list's sort key is `<time>#<id>`: its cursor was once refused on its own page 2 (issue 26, R3)."""
    escalated_at, _, session_id = waiting_sort_key(iso(NOW), ID).rpartition("#")
    cursor = encode_cursor(WAITING, escalated_at, session_id)
    assert decode_cursor(cursor, WAITING) == (iso(NOW), ID)


def test_the_longest_parts_a_list_can_carry_still_make_a_cursor_it_takes_back() -> None:
    longest = "Z" * MAX_ID_LENGTH
    for kind, parts in ((MY_SESSIONS, (longest,)), (HISTORY, (longest,)),
                        (WAITING, ("2026-11-24T12:00:00.123456+14:00", longest))):
        assert decode_cursor(encode_cursor(kind, *parts), kind) == parts


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_a_cursor_of_another_list_is_refused_naming_the_list_it_came_from(kind: CursorKind) -> None:
    for other in KINDS:
        if other is kind:
            continue
        error = refusal(encode_cursor(other, *PARTS[other.name]), kind)
        assert f"another list ({other.name})" in error.detail and kind.source in error.detail


@pytest.mark.parametrize("cursor", [
    "\x7f", "%%%", "A" * (MAX_CURSOR_LENGTH + 1), b64(ID), b64(f"{iso(NOW)}#{ID}"), b64("01AB#x"),
    b64(f"sessions|{ID}|{ID}"), b64("sessions|"), b64("sessions|MSG#1"), b64("waiting|yesterday|" + ID),
    b64(f"waiting|{iso(NOW)}"), b64("history|" + "A" * (MAX_ID_LENGTH + 1)), b64("nothing|" + ID),
])
def test_anything_no_list_made_is_refused_naming_cursor_and_where_a_good_one_comes_from(cursor: str) -> None:
    for kind in KINDS:
        error = refusal(cursor, kind)
        assert "not one this API returned" in error.detail and kind.source in error.detail


@pytest.mark.parametrize(("kind", "parts"), [(MY_SESSIONS, ("MSG#1",)), (MY_SESSIONS, ("",)), (HISTORY, (ID, ID)),
                                             (WAITING, ("yesterday", ID)), (WAITING, (iso(NOW), "a|b"))])
def test_no_list_can_hand_out_a_cursor_it_would_refuse(kind: CursorKind, parts: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match=kind.name):
        encode_cursor(kind, *parts)
