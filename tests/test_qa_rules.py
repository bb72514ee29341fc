"""The shipped QA rules (templates/qa/wh_questions.yaml) on sentences they should and
should not turn into questions."""

from __future__ import annotations

import pytest

from conftest import template_questions


@pytest.mark.parametrize("sentence, wanted", [
    ("The deal was led by Tencent, the gaming company, in 2021.", ("What is the name of the gaming company?", "Tencent")),
    ("Shares rose after Alibaba, its largest rival, cut prices.", ("What is the name of its largest rival?", "Alibaba")),
])
def test_an_appositive_names_the_answer(tmp_path, sentence, wanted):
    assert wanted in template_questions(tmp_path, sentence)


@pytest.mark.parametrize("sentence", [
    # A fronted phrase then a clause: "the uid and gid fields" is no name of Windows.
    "On Windows, the uid and gid fields are -1, and shell is null in the returned object.",
    "In Tencent, the annual review was delayed, according to two people familiar with it.",
])
def test_a_clause_after_a_name_is_not_an_appositive(tmp_path, sentence):
    asked = template_questions(tmp_path, sentence)
    assert not [q for q, _ in asked if q.startswith("What is the name of")], asked


@pytest.mark.parametrize("noun, article", [("revenue", "a"), ("income", "an")])
def test_a_growth_question_takes_the_article_its_noun_needs(tmp_path, noun, article):
    asked = template_questions(tmp_path, f"Alibaba reported a 53% {noun} surge in its latest quarter, the company said.")
    assert (f"How big {article} {noun} surge did it report in its latest quarter?", "53%") in asked
