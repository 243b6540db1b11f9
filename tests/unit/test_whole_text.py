"""Text from a model made whole (aichat.core.whole_text): pairs joined, lone surrogates as U+FFFD, piece by piece."""

from __future__ import annotations

import itertools

import pytest

from aichat.core.whole_text import WholePieces, whole, whole_value

GRIN = "\U0001f600"
HIGH, LOW = "\ud83d", "\ude00"  # GRIN's two halves, as Python keeps them when JSON escapes each


@pytest.mark.parametrize(("text", "made"), [
    ("plain", "plain"),
    (f"a{HIGH}{LOW}b", f"a{GRIN}b"),
    (f"a{HIGH}b", "a\ufffdb"),
    (f"a{LOW}b", "a\ufffdb"),
    (f"{LOW}{HIGH}", "\ufffd\ufffd"),
    (f"{HIGH}{HIGH}{LOW}", f"\ufffd{GRIN}"),
    (f"{GRIN}{HIGH}", f"{GRIN}\ufffd"),
])
def test_a_pair_becomes_its_character_and_a_lone_half_a_replacement_character(text: str, made: str) -> None:
    assert whole(text) == made
    made.encode()  # always UTF-8


def test_every_string_of_a_parsed_value_is_made_whole_keys_included() -> None:
    value = {f"k{HIGH}": [f"{HIGH}{LOW}", {"n": 1, "s": LOW}], "b": None}
    assert whole_value(value) == {"k\ufffd": [GRIN, {"n": 1, "s": "\ufffd"}], "b": None}


@pytest.mark.parametrize("text", [f"Smile {HIGH}{LOW} or {HIGH} not {LOW}.", f"{HIGH}{LOW}{HIGH}", f"x{HIGH}"])
def test_pieces_made_whole_as_they_come_join_to_the_whole_text_wherever_it_is_cut(text: str) -> None:
    for cuts in itertools.combinations(range(1, len(text)), 2):
        pieces = [text[:cuts[0]], text[cuts[0]:cuts[1]], text[cuts[1]:]]
        stream = WholePieces()
        passed_on = [stream.add(piece) for piece in pieces] + [stream.end()]
        assert "".join(passed_on) == whole(text), pieces
        for piece in passed_on:
            piece.encode()


def test_a_half_held_back_is_passed_on_with_its_other_half() -> None:
    stream = WholePieces()
    assert (stream.add(f"Hi {HIGH}"), stream.add(f"{LOW}!"), stream.end()) == ("Hi ", f"{GRIN}!", "")
