"""Sentence boundaries follow the documented rules, with exact spans."""

from __future__ import annotations

import pytest

from conftest import SEEDS
from dsgen.sentences import split_line
from dsgen.text import normalize_text, sentences


def split(line: str) -> list[str]:
    return [line[a:b] for a, b in split_line(line)]


@pytest.mark.parametrize("line, expected", [
    ("It rose. It fell.", ["It rose.", "It fell."]),
    ("Did it? Yes! It did.", ["Did it?", "Yes!", "It did."]),
    ("Mr. Smith met U.S. officials, e.g. the envoy. Then he left.",
     ["Mr. Smith met U.S. officials, e.g. the envoy.", "Then he left."]),
    ("Alibaba Group Holding Ltd. is large. It grew.", ["Alibaba Group Holding Ltd. is large.", "It grew."]),
    ("J. K. Rowling wrote it. She did.", ["J. K. Rowling wrote it.", "She did."]),
    ("Revenue was up in 2019. The year after, it fell.", ["Revenue was up in 2019.", "The year after, it fell."]),
    ("Item no. 5. the list goes on.", ["Item no. 5. the list goes on."]),
    ("“Why?” she asked. “Because.” He left.", ["“Why?” she asked.", "“Because.”", "He left."]),
    ("So when should you call panic! and when return Result? When code panics, it stops.",
     ["So when should you call panic! and when return Result?", "When code panics, it stops."]),
    ("Shares of Yahoo! and Baidu rose. Why? nobody said.", ["Shares of Yahoo! and Baidu rose.", "Why? nobody said."]),
    ("He said “yes.” Then he left.", ["He said “yes.”", "Then he left."]),
    ("Wait... what happened? Nobody knows…", ["Wait... what happened?", "Nobody knows…"]),
    ("It cost $3.5 billion (up 2.1%). Shares rose.", ["It cost $3.5 billion (up 2.1%).", "Shares rose."]),
    ("A heading without a period", ["A heading without a period"]),
    ("Trailing space.  ", ["Trailing space."]),
    ("", []),
    ("   ", []),
])
def test_sentence_rules(line, expected):
    assert split(line) == expected


def test_seed_articles_split_into_exact_sentences_that_never_cross_a_line():
    for path in sorted(SEEDS.glob("*.txt")):
        text = normalize_text(path.read_text(encoding="utf-8"))
        found = sentences(text)
        assert len(found) > 20
        for s in found:
            assert text[s.span.start : s.span.end] == s.text == s.text.strip()
            assert "\n" not in s.text
        # In order, and nothing but the spaces between sentences is left out.
        assert all(a.span.end < b.span.start for a, b in zip(found, found[1:]))
        assert "".join(s.text for s in found).replace(" ", "") == text.replace(" ", "").replace("\n", "")
