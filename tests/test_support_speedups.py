"""Faster forms of the support checks find exactly what their first-written forms did."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: Names, possessives, initials and the characters around them that decide what a name is.
name_soup = st.lists(st.sampled_from(["A", "Z", "Jack", "Ma", "U.S.", "AT&T", "GPT-4", "Tesla’s", "Ma's", "O'Neil",
                                      "x", "é", "É", "_", "1", "’", "'", ".", "&", "-", " ", "\n", "(", "“", "Ω"]),
                     max_size=14).map("".join)


@FAST
@given(st.one_of(name_soup, st.text(max_size=40)))
def test_name_pattern_finds_what_the_look_behind_first_pattern_did(text):
    from dsgen.support import _NAME_TOKEN

    first_written = re.compile(r"(?<![\w’'])[A-Z][\w’'.&-]*\w|(?<![\w’'])[A-Z]\b")
    assert [m.span() for m in _NAME_TOKEN.finditer(text)] == [m.span() for m in first_written.finditer(text)]


def _nei_problem_as_first_written(claim: str, doc_text: str, sentence_texts: list[str]) -> str | None:
    """Every fact searched, every sentence compared: the reference for the cached, shortcut one."""
    from dsgen.support import NEI_MAX_RECALL, content_tokens, missing_facts

    if claim in doc_text:
        return "claim_in_document"
    if not missing_facts(claim, doc_text):
        return "nei_facts_present"
    toks = content_tokens(claim)
    if not toks:
        return "nei_too_similar"
    if any(len(toks & content_tokens(s)) / len(toks) > NEI_MAX_RECALL for s in sentence_texts):
        return "nei_too_similar"
    return None


#: Sentences sharing words, names and numbers in every proportion, so each outcome occurs.
nei_sentence = st.lists(st.sampled_from(["Tesla", "Oslo", "sold", "cars", "bought", "the", "in", "2019", "five", "5",
                                         "million", "Musk", "said", "it", "rose", "3.5%", "Ma's", "shares"]),
                        min_size=1, max_size=6).map(" ".join)
nei_claim = st.lists(st.sampled_from(["Tesla", "Oslo", "sold", "cars", "bought", "2019", "five", "Musk", "rose"]),
                     min_size=3, max_size=6).map(" ".join)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(nei_claim, nei_sentence), st.lists(nei_sentence, max_size=8))
def test_nei_problem_agrees_with_the_check_as_first_written(claim, sentence_texts):
    from dsgen.support import nei_problem

    doc_text = ". ".join(sentence_texts)
    expected = _nei_problem_as_first_written(claim, doc_text, sentence_texts)
    assert nei_problem(claim, doc_text, sentence_texts) == expected
    assert nei_problem(claim, doc_text, iter(sentence_texts)) == expected  # any iterable, and again from the cache


@FAST
@given(st.one_of(nei_sentence, st.sampled_from(["", "it was the", "of it"])), st.lists(nei_sentence, max_size=6))
def test_best_sentence_agrees_with_recall_sentence_by_sentence(text, sentence_texts):
    from dsgen.support import best_sentence, token_recall
    from dsgen.types import Span

    candidates = [(Span(i, i + 1), s) for i, s in enumerate(sentence_texts)]
    best, score = None, -1.0
    for span, sentence in candidates:
        if token_recall(text, sentence) > score:
            best, score = span, token_recall(text, sentence)
    assert best_sentence(text, iter(candidates)) == (best, max(score, 0.0))


class _Analysis:
    """What closest_evidence reads of a DocAnalysis: its evidence sentences (span and text)."""

    def __init__(self, sentence_texts: list[str]) -> None:
        from types import SimpleNamespace

        from dsgen.types import Span

        self.evidence_sentences = [SimpleNamespace(span=Span(i, i + 1), text=s) for i, s in enumerate(sentence_texts)]


@FAST
@given(st.lists(st.one_of(nei_sentence, st.sampled_from(["", "it was the", "of it"])), min_size=1, max_size=4),
       st.lists(nei_sentence, max_size=6))
def test_closest_evidence_agrees_with_recall_sentence_by_sentence(claims, sentence_texts):
    from dsgen.support import closest_evidence, token_recall

    analysis = _Analysis(sentence_texts)
    for claim in claims:  # several claims per document, as the fact-check pass asks
        best, score = None, -1.0
        for es in analysis.evidence_sentences:
            recall = token_recall(claim, es.text)
            if recall > score:
                best, score = es.span, recall
        found = closest_evidence(claim, analysis)
        assert (found and found.span) == best


#: Stop words (the longest too), their possessives and contractions, words just longer than
#: any stop word, and letters that lower-case to two characters or to another letter.
stopword_soup = st.lists(st.sampled_from(["should", "Should’s", "should's", "shouldn't", "between", "THEIR", "it’s",
                                          "abcdefg", "abcdef's", "abcdefg’s", "İİİİİİ", "ΣΣΣΣΣΣΣ", "1234567", "______",
                                          "the", "a", "-", "'", "’", " ", "s", "S", ".", "\n"]),
                         max_size=8).map("".join)


@FAST
@given(st.one_of(stopword_soup, st.text(max_size=30)))
def test_has_content_word_agrees_with_reading_word_by_word(text):
    from dsgen.support import _content_words, has_content_word
    from dsgen.text import words

    assert has_content_word(text) == any(True for _ in _content_words(words(text)))
