"""Numeric mentions in long sentences: the same mentions as the plain overlap rule,
found with work that grows linearly with the sentence (counted, not timed)."""

from __future__ import annotations

import random
import sys

import pytest

from dsgen import entities
from dsgen.entities import numeric_mentions


def _reference(text: str) -> list[tuple[str, int, int, str]]:
    """The rule spelled out: patterns in order, a match is kept unless it overlaps one
    kept before (checked against every kept mention), then number words likewise."""
    taken: list[tuple[int, int]] = []
    out = []
    for (kind, pattern), needs in zip(entities._PATTERNS, entities._NEEDS):
        if needs is not None and not needs(text):
            continue
        for m in pattern.finditer(text):
            if not any(m.start() < te and ts < m.end() for ts, te in taken):
                taken.append((m.start(), m.end()))
                out.append((kind, m.start(), m.end(), m.group()))
    for m in entities._NUMBER_WORD.finditer(text):
        if not any(m.start() < te and ts < m.end() for ts, te in taken):
            out.append(("NUMBER", m.start(), m.end(), m.group()))
    return sorted(out, key=lambda t: (t[1], t[2]))


# Pieces whose matches overlap across patterns: "$1,000 million" is MONEY and holds a
# NUMBER, "March 3, 2021" is a DATE holding a YEAR, "5/6/2020" a DATE holding numbers.
_PIECES = [
    "$", "US$", "€", "1", "12", "1,000", "3.5", "1999", "2020", " million", " billion", "bn", "k", "%",
    " percent", " per cent", " yuan", " dollars", "January ", "Jan. ", "March 3, 2021", "Sept 2019",
    "5/6/2020", "/", ",", ".", "-", " ", " ", " and ", "two", "Twenty", "hundred", "city", "x",
]


def _random_sentence(rng: random.Random, pieces: int) -> str:
    return "".join(rng.choice(_PIECES) for _ in range(pieces))


@pytest.mark.parametrize("seed", range(20))
def test_long_sentences_give_the_mentions_of_the_plain_rule(seed):
    rng = random.Random(seed)
    text = _random_sentence(rng, 3000)
    found = [(m.kind, m.start, m.end, m.text) for m in numeric_mentions(text)]
    assert found == _reference(text)
    assert len(found) > 300


def test_short_sentences_give_the_mentions_of_the_plain_rule():
    rng = random.Random(7)
    for _ in range(3000):
        text = _random_sentence(rng, rng.randint(1, 40))
        assert [(m.kind, m.start, m.end, m.text) for m in numeric_mentions(text)] == _reference(text), text


def test_a_sentence_of_numbers_gives_each_fact_once():
    text = "Amazon " + " and ".join(f"hired {i} people in city{i} in {1900 + i % 120}" for i in range(300)) + "."
    found = numeric_mentions(text)
    assert [(m.kind, m.start, m.end) for m in found] == [t[:3] for t in _reference(text)]
    assert [m.kind for m in found] == ["NUMBER", "YEAR"] * 300


def _lines_run(text: str) -> int:
    """Python lines executed in entities.py for one uncached call: a measure of work."""
    count = 0

    def tracer(frame, event, arg):
        nonlocal count
        if frame.f_code.co_filename != entities.__file__:
            return None
        if event == "line":
            count += 1
        return tracer

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        entities._numeric_mentions.__wrapped__(text)
    finally:
        sys.settrace(previous)
    return count


def test_work_grows_linearly_with_the_number_of_mentions():
    def sentence(n):
        return "Amazon " + " and ".join(f"hired {i} people in city{i} in {1900 + i % 120}" for i in range(n)) + "."

    small, large = _lines_run(sentence(200)), _lines_run(sentence(800))
    # Four times the mentions: about four times the work when each overlap check costs
    # the same, sixteen times when it looks at every mention kept so far.
    assert large < 5 * small, (small, large)
