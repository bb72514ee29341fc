"""Templated QA on run-on sentences: no question from a sentence no passage can hold."""

from __future__ import annotations

import pytest

from conftest import TEMPLATES
from dsgen.analysis import PASSAGE_MAX_CHARS
from dsgen.corpus import load_corpus
from dsgen.passes import qa_template
from dsgen.passes.base import PassContext
from dsgen.passes.qa_template import QATemplatePass
from dsgen.templates import TemplateStore

SENTENCE = ("CEO Daniel Zhang stepped down unexpectedly in 2023, paving the way for the return of core "
            "veterans Eddie Wu (CEO) and Joe Tsai (President).")


def _questions(tmp_path, text: str) -> list[tuple[str, str]]:
    (tmp_path / "a.txt").write_text(text + "\n", encoding="utf-8")
    doc = load_corpus(tmp_path).documents[0]
    ctx = PassContext(TemplateStore(TEMPLATES))
    return [(c.fields["question"], c.fields["answers"]["text"][0]) for c in QATemplatePass().run([doc], ctx)]


@pytest.fixture
def run_on() -> str:
    """The sentence, its clause after the comma stretched past the longest passage."""
    tail = " and ".join(["the return of the old guard to the helm of the group"] * 30)
    text = SENTENCE[: SENTENCE.index("the return")] + tail + "."
    assert len(text) > PASSAGE_MAX_CHARS
    return text


def test_a_sentence_longer_than_any_passage_gives_no_question(tmp_path, run_on, monkeypatch):
    assert ("Who stepped down unexpectedly in 2023?", "Daniel Zhang") in _questions(tmp_path, SENTENCE)
    assert _questions(tmp_path, run_on) == []
    # The rules do match the run-on sentence: only its length keeps it out.
    monkeypatch.setattr(qa_template, "PASSAGE_MAX_CHARS", len(run_on))
    assert ("Who stepped down unexpectedly in 2023?", "Daniel Zhang") in _questions(tmp_path, run_on)
