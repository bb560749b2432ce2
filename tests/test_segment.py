"""Splitting turns into utterances (segment.py): offsets, short fragments, run-ons, brackets."""
from __future__ import annotations

import re

import pytest

from autocode.segment import MAX_WORDS, split_turns as segment


def words(text: str) -> int:
    return len(re.findall(r"\w+", text))


def pieces(text: str) -> list[str]:
    """Utterance texts of a single turn covering the whole of ``text``."""
    [spans] = segment(text, [(0, len(text))])
    return [text[s:e] for s, e in spans]


def assert_well_formed(text: str, turns: list[tuple[int, int]], result) -> None:
    """Inside their turn, in order, non-overlapping, stripped, and no words lost."""
    assert len(result) == len(turns)
    for (ts, te), spans in zip(turns, result):
        assert spans
        pos = ts
        for s, e in spans:
            assert pos <= s < e <= te
            chunk = text[s:e]
            assert chunk == chunk.strip()
            assert text[pos:s].strip() == ""  # only whitespace between utterances
            pos = e
        assert text[pos:te].strip() == ""


RUN_ON = ", ".join(["and then we went down to the shop to buy some things for the house"] * 10) + "."

TEXTS = [
    "I went to the clinic on Monday. The nurse was very kind to me.",
    "Yeah. I think the role was never explained to anyone. Mm-hm. And then we moved on.",
    "I went on. [laughs] Next thing I knew we were out the door — into the car 😀.",
    "Café au lait, naïve questions — and emoji 🙂 too. Très bien! Is that right?",
    "Ok... so what? I mean, really — who knows!? We went home then.",
    "It started in May.\nThen it got worse.\n\nMuch worse, honestly, by the summer.",
    RUN_ON,
    "Yeah.",
]


@pytest.mark.parametrize("text", TEXTS)
def test_single_turn_is_well_formed(text):
    assert_well_formed(text, [(0, len(text))], segment(text, [(0, len(text))]))


def test_several_turns_offsets_are_into_the_whole_text():
    text = ("Interviewer: How was it — really? 😀\n"
            "P1: It was fine. The staff were kind to me, mostly. [laughs] Yeah.\n"
            "Interviewer: Go on.\n"
            "P1: " + RUN_ON + "\n")
    turns = [(m.start(1), m.end(1)) for m in re.finditer(r"^[^:\n]+: (.*)$", text, re.M)]
    result = segment(text, turns)
    assert_well_formed(text, turns, result)
    assert [text[s:e] for s, e in result[0]] == ["How was it — really? 😀"]
    assert [text[s:e] for s, e in result[1]] == ["It was fine. The staff were kind to me, mostly. [laughs] Yeah."]
    assert [text[s:e] for s, e in result[2]] == ["Go on."]


def test_no_turns_gives_no_utterances():
    assert segment("anything", []) == []


L1 = "I went to the clinic on Monday morning because the letter from the team said I had to."
L2 = "The nurse who met me at the door was very kind to me and explained everything twice."


def test_sentences_are_split():
    assert pieces(L1 + " " + L2) == [L1, L2]


def test_short_sentences_join_the_next_into_a_meaning_unit():
    assert pieces("It was fine. " + L1) == ["It was fine. " + L1]


def test_surrounding_whitespace_is_stripped():
    text = "   " + L1 + "   " + L2 + "  \n"
    assert pieces(text) == [L1, L2]


def test_a_turn_that_is_only_yeah_stays_one_utterance():
    assert segment("P1: Yeah.", [(4, 9)]) == [[(4, 9)]]


def test_a_turn_of_only_fragments_is_one_utterance():
    assert pieces("Yeah. Mm-hm. [laughs]") == ["Yeah. Mm-hm. [laughs]"]


def test_leading_short_fragment_joins_the_next_sentence():
    assert pieces("Yeah. I think the role was never explained to anyone.") == [
        "Yeah. I think the role was never explained to anyone."]


def test_trailing_short_fragment_joins_the_previous_sentence():
    assert pieces("I think the ward was busy that day. Mm-hm.") == ["I think the ward was busy that day. Mm-hm."]


def test_fragments_between_sentences_join_a_neighbour():
    text = L1 + " Yeah. [laughs] " + L2
    got = pieces(text)
    assert len(got) == 2
    assert "".join(got).replace(" ", "") == text.replace(" ", "")
    assert all(words(p) >= 3 for p in got)


def test_backchannel_pair_joins_the_next_sentence():
    assert pieces("Yeah. Okay. I went to the clinic on Monday.") == ["Yeah. Okay. I went to the clinic on Monday."]
    assert pieces("Yeah. Mm-hm. I went to the clinic on Monday.") == ["Yeah. Mm-hm. I went to the clinic on Monday."]


def test_bracket_stays_with_its_words():
    got = pieces(L1 + " [laughs] " + L2)
    assert got == [L1, "[laughs] " + L2]


@pytest.mark.parametrize("text, opener", [
    ("I said no to all of that. (pause) Then she left the room for good.", "(pause)"),
    ("He said no to all of it. “Fine,” she said, and went home after that.", "“Fine,”"),
    ("I went on. [laughs] Next thing I knew we were out the door.", "[laughs]"),
])
def test_no_utterance_ends_with_an_opening_bracket_or_quote(text, opener):
    got = pieces(text)
    assert not any(p[-1] in "([{“‘" for p in got)
    assert any(opener in p for p in got)


def test_long_run_on_sentence_is_cut_at_commas():
    assert words(RUN_ON) > MAX_WORDS
    got = pieces(RUN_ON)
    assert len(got) >= 2
    assert all(words(p) <= MAX_WORDS for p in got)
    assert all(p.endswith(",") for p in got[:-1]) and got[-1].endswith(".")
    assert sum(words(p) for p in got) == words(RUN_ON)


def test_long_sentence_without_punctuation_is_still_cut():
    text = " ".join(f"word{i}" for i in range(150)) + "."
    got = pieces(text)
    assert all(words(p) <= MAX_WORDS for p in got)
    assert " ".join(got) == text


def test_sentence_at_the_limit_is_not_cut():
    text = ", ".join(["we went to the shop"] * 12) + "."  # exactly 60 words
    assert words(text) == MAX_WORDS
    assert pieces(text) == [text]


def test_segment_is_deterministic():
    text = " ".join(TEXTS)
    assert segment(text, [(0, len(text))]) == segment(text, [(0, len(text))])
