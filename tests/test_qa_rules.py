"""The shipped QA rules (templates/qa/*.yaml) on sentences they should and should not turn
into questions."""

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


@pytest.mark.parametrize("sentence, wanted", [
    ("A buffer is the in-memory text of a file.", ("What is a buffer?", "the in-memory text of a file")),
    ("NumPy is the fundamental package for scientific computing with Python.",
     ("What is NumPy?", "the fundamental package for scientific computing with Python")),
    ("The Hmac class is a utility for creating cryptographic HMAC digests, as the docs say.",
     ("What is the Hmac class?", "a utility for creating cryptographic HMAC digests")),
    ("Zope Corporation was a sponsoring member of the PSF.", ("What was Zope Corporation?", "a sponsoring member of the PSF")),
    ("President Xi Jinping is the leader of the country.", ("Who is President Xi Jinping?", "the leader of the country")),
])
def test_a_definition_asks_what_the_subject_is(tmp_path, sentence, wanted):
    assert wanted in template_questions(tmp_path, sentence)


@pytest.mark.parametrize("text, wanted", [
    # The article writes the word in lower case elsewhere: a common word, or a name
    # spelled in lower case ("pytz"), capitalized only at the start of the sentence.
    ("There is no syntax for cloning a function. Cloning is an all-or-nothing proposition for a function.", "What is cloning?"),
    ("Install pytz with pip. Pytz is a library for time zones.", "What is pytz?"),
    # A name the article also capitalizes after a word keeps its capital.
    ("Complex numbers have a real part. Complex is a subclass of Number. Use Complex for them.", "What is Complex?"),
    ("Nuitka is a compiler of Python into C code.", "What is Nuitka?"),  # never lower case
    ("Call threading.Timer to wait for a timer. Timer is a subclass of Thread in the module.", "What is Timer?"),
])
def test_a_definition_subject_is_cased_as_the_article_writes_it(tmp_path, text, wanted):
    assert wanted in [q for q, _ in template_questions(tmp_path, text)]


def test_a_long_article_cases_subjects_as_a_short_one_does():
    """Books have their words listed once instead of searched per question (a search per
    question made a 4 MB article's build quadratic): the answers must not change."""
    from dsgen.morph import _SEARCH_CHARS, _common_word

    text = ("Cloning a function, or re-cloning it, is rare. Freeze is a tool. Use Freeze, then freeze it. "
            "Complex numbers exist, as does Complex. Pytz_x and pytz differ. Nuitka compiles; nuitka-style. "
            "A timer waits. Timer is in threading.Timer.")
    padding = " filler" * (_SEARCH_CHARS // 7 + 1)
    for word in ("Cloning", "Freeze", "Complex", "Pytz", "Nuitka", "Numbers", "Absent", "Re", "It", "Timer", "Waits"):
        assert _common_word(word, text) == _common_word(word, text + padding), word
    assert _common_word("Cloning", text) and not _common_word("Freeze", text) and not _common_word("Absent", text)


@pytest.mark.parametrize("sentence", [
    "It is a library for parsing files in the background.",  # a pronoun
    "While JavaScript is a weakly-typed language, tools add types to it.",  # a clause
    "The following is an example of a client that reads the file.",  # not a subject of its own
    "Returns true if the value is a built-in instance of the class.",  # a verb
    "The company’s yearly Singles Day event is a great example of its size.",  # an evaluation
    "Requests is a simple, yet elegant, HTTP library for the web.",  # the phrase goes on past the comma
    "Hugh Perkins is a valuable contributor to the Torch community.",  # maybe a person: not "What is"
])
def test_no_definition_question_where_the_sentence_defines_nothing(tmp_path, sentence):
    asked = template_questions(tmp_path, sentence)
    assert not [q for q, _ in asked if q.startswith(("What is", "What was", "Who is"))], asked


@pytest.mark.parametrize("pattern, tried", [
    (r"^(?P<answer>[A-Z]\w+) is a", [1]),  # only the sentence holding " is a"
    (r"^(?P<answer>[A-Z]\w+)", [0, 1, 2]),  # nothing literal to look for: every sentence
    (r"(?P<answer>\w+) is a .* ends", []),  # a second literal, " ends", the text does not hold: none
])
def test_a_phrase_rule_is_tried_on_the_sentences_holding_its_literal_strings(pattern, tried):
    from dsgen.passes.qa_template import PHRASE, QuestionRule

    text = "Alpha rose. Beta is a fish. Gamma fell."
    starts = [0, 12, 28]
    rule = QuestionRule("r", frozenset({PHRASE}), pattern, None)
    assert list(rule.sentences_to_try(text, starts)) == tried
