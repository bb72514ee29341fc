"""Long articles and run-on sentences: templated passes do work that grows linearly with
the text (counted, not timed), and ask no question of a sentence no passage can hold."""

from __future__ import annotations

import pytest

from conftest import TEMPLATES, template_questions
from dsgen.corpus import load_corpus
from dsgen.analysis import PASSAGE_MAX_CHARS, DocAnalysis
from dsgen.passes import qa_template
from dsgen.passes.factcheck_template import FactCheckTemplatePass
from dsgen.passes.base import PassContext
from dsgen.templates import TemplateStore

SENTENCE = ("CEO Daniel Zhang stepped down unexpectedly in 2023, paving the way for the return of core "
            "veterans Eddie Wu (CEO) and Joe Tsai (President).")


@pytest.fixture
def run_on() -> str:
    """The sentence, its clause after the comma stretched past the longest passage."""
    tail = " and ".join(["the return of the old guard to the helm of the group"] * 30)
    text = SENTENCE[: SENTENCE.index("the return")] + tail + "."
    assert len(text) > PASSAGE_MAX_CHARS
    return text


def test_a_sentence_longer_than_any_passage_gives_no_question(tmp_path, run_on, monkeypatch):
    assert ("Who stepped down unexpectedly in 2023?", "Daniel Zhang") in template_questions(tmp_path, SENTENCE)
    assert template_questions(tmp_path, run_on) == []
    # The rules do match the run-on sentence: only its length keeps it out.
    monkeypatch.setattr(qa_template, "PASSAGE_MAX_CHARS", len(run_on))
    assert ("Who stepped down unexpectedly in 2023?", "Daniel Zhang") in template_questions(tmp_path, run_on)


class _CountedStr(str):
    """A fact value that counts how often a pass lowercases it: a measure of work."""

    calls = 0

    def lower(self):
        _CountedStr.calls += 1
        return super().lower()


def test_refuting_a_long_article_looks_at_a_few_values_per_fact(tmp_path, monkeypatch):
    """Every claimable sentence has swappable facts, and the article holds thousands of
    values per kind: finding out that a fact has some replacement must not list them all."""
    plain = DocAnalysis.mentions_by_kind
    monkeypatch.setattr(DocAnalysis, "mentions_by_kind",
                        lambda self: {k: [_CountedStr(v) for v in vs] for k, vs in plain(self).items()})
    names = ["Amazon", "Alibaba", "Tencent", "Baidu", "Google"]
    sentences = [f"{names[i % 5]} hired {i * 7 + 3} people in {1900 + i % 120} at its office in city{i}."
                 for i in range(2000)]
    (tmp_path / "a.txt").write_text(" ".join(sentences) + "\n", encoding="utf-8")
    doc = load_corpus(tmp_path).documents[0]
    ctx = PassContext(TemplateStore(TEMPLATES))
    facts = sum(len(es.mentions) for es in ctx.analysis(doc).evidence_sentences if es.claimable)
    assert facts >= 4000
    refutes = [c for c in FactCheckTemplatePass().run([doc], ctx) if c.fields["label"] == "REFUTES"]
    assert len(refutes) == 6
    # Listing every value for every fact: about 2000 per fact. A few per fact when not.
    assert _CountedStr.calls < 10 * facts, (_CountedStr.calls, facts)


def test_not_enough_info_tries_a_bounded_number_of_borrowed_sentences(tmp_path, monkeypatch):
    """Each try reads the whole article: with long neighbours whose sentences all fail,
    trying every one of them cost the neighbours' length times the article's."""
    from dsgen.passes import factcheck_template

    for d in range(2):
        sentences = [f"Firm{d} hired {i * 7 + 3} people in {1900 + i % 120} at its office in city{i}." for i in range(300)]
        (tmp_path / f"{d}.txt").write_text(" ".join(sentences) + "\n", encoding="utf-8")
    docs = load_corpus(tmp_path).documents
    ctx = PassContext(TemplateStore(TEMPLATES))
    tries = []
    monkeypatch.setattr(factcheck_template, "nei_problem", lambda *args: tries.append(args) or "nei_facts_present")
    labels = [c.fields["label"] for c in FactCheckTemplatePass().run(docs, ctx)]
    assert "NOT ENOUGH INFO" not in labels
    assert len(tries) == 2 * factcheck_template.NEI_TRIES_PER_CLAIM * 6  # 300 per article without the bound


def test_model_passes_on_a_long_article_compare_few_sentences(tmp_path, monkeypatch):
    """Choosing what to prompt for must not compare every sentence with every other: a
    3.9 MB article took 189 CPU seconds in the fact-check pass's choice alone."""
    from dsgen.analysis import EvidenceSentence
    from dsgen.backends.fake import FakeBackend
    from dsgen.passes import MODEL_PASSES, get_pass

    compared = []
    plain_eq = EvidenceSentence.__eq__
    monkeypatch.setattr(EvidenceSentence, "__eq__", lambda a, b: compared.append(1) or plain_eq(a, b))
    # Every other sentence long enough to be restated (the pass prefers those).
    sentences = [f"Firm{i % 7} said its revenue in city{i} rose by {i * 3 + 1} percent"
                 + (" while its costs in the region fell by a tenth." if i % 2 else ".") for i in range(2000)]
    (tmp_path / "a.txt").write_text(" ".join(sentences) + "\n", encoding="utf-8")
    doc = load_corpus(tmp_path).documents[0]
    backend = FakeBackend(responder=lambda prompt: "The firm said revenue rose.")
    ctx = PassContext(TemplateStore(TEMPLATES), backend=backend, options={"model_items_per_doc": 4})
    assert len(ctx.analysis(doc).evidence_sentences) == 2000
    for name in MODEL_PASSES:
        list(get_pass(name).run([doc], ctx))
    assert backend.calls  # the passes did prompt
    assert len(compared) < 2000, len(compared)  # 1,499,505 when each sentence was looked up in a list


def test_chunks_hold_at_most_chunk_chars_of_text(tmp_path):
    """A chunk's rows stay in one worker until it is done: 64 book-length articles made one
    chunk of gigabytes. Articles longer than the bound go alone; short ones still fill
    chunks up to chunk_size."""
    import io
    import pickle

    from dsgen.build import _read_spool, _spool_corpus
    from dsgen.config import load_config

    sizes = [300, 300, 300, 900, 100, 100, 2000, 50, 50, 50]
    for i, n in enumerate(sizes):
        (tmp_path / f"{i:02d}.txt").write_text(f"Article {i} " + "x" * n + ".\n", encoding="utf-8")
    config = load_config(None, backend="none", seeds_dir=tmp_path, chunk_size=3, chunk_chars=1000)
    spool = io.BytesIO()
    _spool_corpus(config, spool)
    chunks = [[len(d.text) for d in chunk] for chunk in _read_spool(spool)]
    # Texts are about 12 characters longer than their x's: three by count; 912 + 112 is over
    # 1,000, so 912 alone; 112 + 112; 2012 alone (longer than the bound); three by count.
    assert [len(c) for c in chunks] == [3, 1, 2, 1, 3]
    assert all(sum(c) <= 1000 or len(c) == 1 for c in chunks)
    assert sum(len(c) for c in chunks) == len(sizes)


def test_parquet_rows_are_flushed_by_text_size_too(tmp_path, monkeypatch):
    """1,000 rows of book-length text were buffered before a write: gigabytes in the main process."""
    import pyarrow.parquet as pq
    from datasets import Features, Value

    from dsgen import parquet_writer
    from dsgen.parquet_writer import ParquetSink, read_rows

    monkeypatch.setattr(parquet_writer, "CHARS_PER_BATCH", 10_000)
    sink = ParquetSink(tmp_path / "t.parquet", Features({"text": Value("string"), "n": Value("int64")}))
    rows = [{"text": "y" * 3000, "n": i} for i in range(10)] + [{"text": "z", "n": i} for i in range(10, 20)]
    for row in rows:
        sink.write(row)
    sink.close()
    assert list(read_rows(tmp_path / "t.parquet")) == rows
    # 3,000 characters a row: a flush every 4 rows (12,000 >= 10,000), then the short rows together.
    assert [rg.num_rows for rg in (pq.ParquetFile(tmp_path / "t.parquet").metadata.row_group(i)
            for i in range(pq.ParquetFile(tmp_path / "t.parquet").num_row_groups))] == [4, 4, 12]
