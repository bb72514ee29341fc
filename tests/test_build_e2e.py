"""End to end: seeds/ -> out/dataset that `datasets` loads, with the SPEC's columns and rules."""

from __future__ import annotations

import json

import datasets
import pyarrow.parquet as pq
import pytest
import yaml

from conftest import SEEDS, templated_build
from dsgen.boilerplate import BoilerplateRules, overlaps
from dsgen.features import CONFIG_NAMES, FEATURES
from dsgen.types import LABELS, Span

CONFIG_COLUMNS = {
    "documents": {"doc_id", "title", "text", "source", "sha256"},
    "qa": {"context", "context_start", "question", "answers", "evidence"},
    "summarization": {"document", "summary", "evidence"},
    "fact_check": {"claim", "label", "context", "evidence"},
}
PROVENANCE = {"id", "doc_id", "pass", "method", "generator", "messages"}


def load(built, name):
    return datasets.load_dataset(str(built / "dataset"), name)


@pytest.mark.parametrize("name", CONFIG_NAMES)
def test_every_config_loads_with_train_and_test_and_spec_columns(built, name):
    ds = load(built, name)
    assert set(ds) == {"train", "test"}
    for split in ds.values():
        assert CONFIG_COLUMNS[name] | PROVENANCE <= set(split.column_names)
        assert split.features == FEATURES[name]
    assert len(ds["train"]) > 0 and len(ds["test"]) > 0


def test_fact_check_label_is_a_classlabel_with_the_three_fever_names(built):
    feature = load(built, "fact_check")["train"].features["label"]
    assert isinstance(feature, datasets.ClassLabel)
    assert feature.names == list(LABELS)


def test_documents_hold_every_article_once_split_by_article(built):
    docs = load(built, "documents")
    ids = list(docs["train"]["doc_id"]) + list(docs["test"]["doc_id"])
    assert len(ids) == len(set(ids)) == len(list(SEEDS.glob("*.txt")))


@pytest.mark.parametrize("name", ["qa", "summarization", "fact_check", "documents"])
def test_no_article_contributes_to_both_splits(built, name):
    docs = load(built, "documents")
    test_docs = set(docs["test"]["doc_id"])
    ds = load(built, name)
    assert not set(ds["train"]["doc_id"]) & test_docs
    assert set(ds["test"]["doc_id"]) <= test_docs


def test_floors_per_article_on_the_seed_corpus(built):
    report = json.loads((built / "build-report.json").read_text())
    assert len(report["per_document"]) == 5
    for doc_id, counts in report["per_document"].items():
        assert counts.get("qa", 0) >= 8, (doc_id, counts)
        assert counts.get("summarization", 0) >= 1, (doc_id, counts)
        assert counts.get("fact_check", 0) >= 12, (doc_id, counts)
        for label in LABELS:
            assert counts.get(f"fact_check:{label}", 0) >= 1, (doc_id, label, counts)


def test_qa_spans_are_exact_and_questions_do_not_contain_answers(built):
    texts = {r["doc_id"]: r["text"] for s in load(built, "documents").values() for r in s}
    for split in load(built, "qa").values():
        for row in split:
            text = texts[row["doc_id"]]
            start, context = row["context_start"], row["context"]
            assert text[start : start + len(context)] == context
            for answer, a in zip(row["answers"]["text"], row["answers"]["answer_start"]):
                assert context[a : a + len(answer)] == answer
                doc_start = start + a
                assert any(e["start"] <= doc_start and doc_start + len(answer) <= e["end"] for e in row["evidence"])
                assert answer.lower() not in row["question"].lower()
            assert row["question"].endswith("?")


def test_refutes_claims_record_the_one_fact_they_change(built):
    texts = {r["doc_id"]: r["text"] for s in load(built, "documents").values() for r in s}
    refutes = [r for s in load(built, "fact_check").values() for r in s if r["label"] == LABELS.index("REFUTES")]
    assert refutes
    for row in refutes:
        change = row["change"]
        evidence = "".join(texts[row["doc_id"]][e["start"] : e["end"]] for e in row["evidence"])
        assert change["original"] in evidence and change["replacement"] in row["claim"]
        assert row["claim"].replace(change["replacement"], change["original"], 1) == evidence


def test_every_fact_check_context_is_the_paragraph_of_its_evidence_whatever_the_label(built):
    """A NOT ENOUGH INFO context of the nearest sentence alone was a third as long as the
    others: a model could tell the label from the context's length without the claim."""
    texts = {r["doc_id"]: r["text"] for s in load(built, "documents").values() for r in s}
    labels = set()
    for row in (r for s in load(built, "fact_check").values() for r in s):
        text, (evidence,) = texts[row["doc_id"]], row["evidence"]
        start = text.rfind("\n", 0, evidence["start"]) + 1
        end = text.find("\n", evidence["end"]) % (len(text) + 1)  # -1 (the last line): len(text)
        assert len(text[start:end]) <= 1200  # the seeds' paragraphs fit a passage whole
        assert (row["context_start"], row["context"]) == (start, text[start:end]), row["claim"]
        labels.add(row["label"])
    assert labels == {0, 1, 2}


def test_boilerplate_never_becomes_evidence_question_or_claim(built):
    rules = BoilerplateRules.load(built / "boilerplate.yaml")
    texts = {r["doc_id"]: r["text"] for s in load(built, "documents").values() for r in s}
    blocked = {d: rules.spans(t) for d, t in texts.items()}
    assert any(blocked.values()), "the seed corpus has boilerplate; the rules should find it"
    phrases = ["min read", "Click to find out", "Recommended Article", "Related Articles", "?>",
               "Contact us for collaboration", "Market conditions may have changed"]
    for name in ("qa", "summarization", "fact_check"):
        for split in load(built, name).values():
            for row in split:
                for e in row["evidence"]:
                    assert not overlaps(Span(e["start"], e["end"]), blocked[row["doc_id"]])
                generated = row.get("question") or row.get("claim") or row.get("summary")
                assert not any(p in generated for p in phrases), generated


def test_card_front_matter_parses_and_matches_the_files(built):
    card = (built / "dataset" / "README.md").read_text()
    assert card.startswith("---\n")
    meta = yaml.safe_load(card.split("---\n")[1])
    assert "synthetic" in meta["tags"]
    for key in ("license", "language", "task_categories", "size_categories", "pretty_name", "dataset_info"):
        assert meta.get(key), key
    configs = {c["config_name"]: c for c in meta["configs"]}
    assert set(configs) == set(CONFIG_NAMES)
    assert sum(1 for c in configs.values() if c.get("default")) == 1
    for name, c in configs.items():
        for entry in c["data_files"]:
            assert (built / "dataset" / entry["path"]).is_file(), entry
    infos = {i["config_name"]: i for i in meta["dataset_info"]}
    for name in CONFIG_NAMES:
        counts = {s["name"]: s["num_examples"] for s in infos[name]["splits"]}
        ds = load(built, name)
        assert counts == {split: len(ds[split]) for split in ds}
    assert "## Validation rules" in card and "## Sources" in card


def test_a_split_without_rows_is_left_out_so_the_rest_still_loads(tmp_path):
    """One article: every test split is empty, and ``datasets`` cannot load a split without
    examples. With --passes qa_template, the other configs have no rows at all."""
    one = tmp_path / "one"
    one.mkdir()
    first = sorted(SEEDS.glob("*.txt"))[0]
    (one / first.name).write_bytes(first.read_bytes())
    out = templated_build(one, tmp_path / "out").out_dir
    for name in CONFIG_NAMES:
        assert {split: len(rows) for split, rows in load(out, name).items()}.keys() == {"train"}, name
        assert (out / "dataset" / name / "test-00000-of-00001.parquet").is_file()  # the layout stays

    narrow = templated_build(SEEDS, tmp_path / "narrow", passes=("qa_template",)).out_dir
    assert set(load(narrow, "qa")) == {"train", "test"}
    meta = yaml.safe_load((narrow / "dataset" / "README.md").read_text().split("---\n")[1])
    assert [c["config_name"] for c in meta["configs"]] == ["documents", "qa"]
    with pytest.raises(ValueError, match="summarization"):
        load(narrow, "summarization")


def test_every_rejected_candidate_is_recorded_with_a_reason(built):
    report = json.loads((built / "build-report.json").read_text())
    lines = [json.loads(l) for l in (built / "rejected.jsonl").read_text().splitlines() if l]
    assert len(lines) == report["rejected_total"]
    assert all(l["reason"] and l["row"] for l in lines)
    for name, p in report["passes"].items():
        assert p["candidates"] == p["published"] + p["rejected"], name


def test_same_inputs_and_seed_give_byte_identical_output(built, tmp_path):
    again = tmp_path / "again"
    templated_build(SEEDS, again)
    for path in sorted((built / "dataset").rglob("*")):
        if path.is_file():
            assert (again / "dataset" / path.relative_to(built / "dataset")).read_bytes() == path.read_bytes(), path
    assert (again / "rejected.jsonl").read_bytes() == (built / "rejected.jsonl").read_bytes()


def test_seed_and_test_size_change_the_article_split(tmp_path):
    a = templated_build(SEEDS, tmp_path / "a", seed=1, test_size=0.4).report["documents"]
    b = templated_build(SEEDS, tmp_path / "b", seed=1, test_size=0.2).report["documents"]
    assert (a["train"], a["test"]) == (3, 2)
    assert (b["train"], b["test"]) == (4, 1)


def test_ids_are_unique_and_stable(built, tmp_path):
    ids = [r["id"] for s in load(built, "qa").values() for r in s]
    assert len(ids) == len(set(ids))
    again = templated_build(SEEDS, tmp_path / "again", seed=0)
    ids_again = [r["id"] for s in load(again.out_dir, "qa").values() for r in s]
    assert ids == ids_again


def test_articles_sharing_sentences_do_not_repeat_a_claim(tmp_path):
    """A sentence several articles share is a claim once (SUPPORTS in one article, or NOT
    ENOUGH INFO borrowed by its neighbour): a second row would only be rejected as a
    duplicate, where another sentence gives the article its claim."""
    shared = ["Alibaba said revenue rose 12 percent to 25 billion yuan in 2023.",
              "Tencent hired 3,000 engineers in Shenzhen in 2022, the company said."]
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for k in range(4):
        own = [f"Firm{k} opened {k + 4} offices in city{k} in {2010 + k}, according to a filing.",
               f"Revenue at Firm{k} grew {k + 20} percent to {k + 7} million dollars in {2015 + k}.",
               f"Firm{k} sold {k + 40} thousand devices to schools in region{k} last year."]
        (corpus / f"{k}.txt").write_text(f"Report {k}\n\n" + "\n\n".join(shared + own) + "\n", encoding="utf-8")
    out = templated_build(corpus, tmp_path / "out", passes=("fact_check_template",)).out_dir
    claims = [row["claim"] for split in load(out, "fact_check").values() for row in split]
    assert len(claims) == len(set(claims))
    assert sum(claim in shared for claim in claims) == 2  # each shared sentence: once
    report = json.loads((out / "build-report.json").read_text())
    assert "duplicate" not in report["passes"]["fact_check_template"]["rejection_reasons"]
    labels = {row["label"] for split in load(out, "fact_check").values() for row in split}
    assert labels == {LABELS.index(name) for name in LABELS}


def test_claims_are_sentences_that_say_what_they_are_about(tmp_path):
    """FEVER's claims stand alone. "It hired 40 people in 2019." read alone is about
    nothing in particular: sentences opening with a pronoun or a connective are drawn
    only when an article has too few others (the second one here has none)."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    firms = {"a": ["Acme Corp", "Globex Inc", "Initech Ltd"], "c": ["Umbrella Corp", "Hooli Inc", "Soylent Corp"]}
    for name, leads, firm, n in (("a", ["{firm}", "It", "However, {firm}"], firms["a"], 10),
                                 ("b", ["It", "They", "This firm"], firms["a"], 40),
                                 ("c", ["{firm}", "They", "Also, {firm}"], firms["c"], 70)):
        lines = [f"{leads[i % 3].format(firm=firm[i % 3])} hired {n + i} engineers in {1900 + n + i} for its office in {name}ville."
                 for i in range(36)]
        (corpus / f"{name}.txt").write_text(f"Report {name}\n\n" + "\n\n".join(lines) + "\n", encoding="utf-8")
    out = templated_build(corpus, tmp_path / "out", passes=("fact_check_template",), options={"claims_per_label": 3}).out_dir

    def parquet_rows(config):
        return [row for split in ("train", "test")
                for row in pq.read_table(out / "dataset" / config / f"{split}-00000-of-00001.parquet").to_pylist()]

    docs = {row["doc_id"]: row["source"] for row in parquet_rows("documents")}
    claims: dict[tuple[str, int], list[str]] = {}
    for row in parquet_rows("fact_check"):
        claims.setdefault((docs[row["doc_id"]], row["label"]), []).append(row["claim"])
    for label in range(3):
        for source in ("a.txt", "c.txt"):
            assert claims[(source, label)], claims
            assert all(c.startswith(tuple(firms["a"] + firms["c"])) for c in claims[(source, label)]), claims
    assert len(claims[("b.txt", LABELS.index("SUPPORTS"))]) == 3  # none stands alone: drawn all the same


def test_a_refuting_number_is_written_like_the_number_it_replaces(tmp_path):
    """A NUMBER swap keeps the number's form: "exactly 3.8 objects" for "exactly two", or
    "version 1,500" for "version 3.8", is a claim no source would make, and a model learns
    to spot the form instead of checking the fact."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    sentences = [
        "Two engineers wrote the first parser in three weeks, the team said on its blog.",
        "Version 3.8 made the parser the default, and version 3.11 made it faster still.",
        "The parser reads 1,500 files a second on 4 cores, up from 900 files last year.",
        "Its table lists the code point 0660 next to the code point 0041 and many others.",
        "Exactly 12 people and five machines worked on it for 2.5 years before the launch.",
        "Three teams now use it daily, and 7 of their projects depend on version 3.8.",
    ]
    (corpus / "a.txt").write_text("Parser report\n\n" + "\n\n".join(sentences) + "\n", encoding="utf-8")
    out = templated_build(corpus, tmp_path / "out", passes=("fact_check_template",),
                          options={"claims_per_label": 20}).out_dir

    def form(number: str) -> str:
        if number.isalpha():
            return "word"
        return "code" if number[0] == "0" and len(number) > 1 else "decimal" if "." in number else "integer"

    rows = [row for split in ("train", "test")  # (the parquet files: load_dataset's cache may hold an earlier run's)
            for row in pq.read_table(out / "dataset" / "fact_check" / f"{split}-00000-of-00001.parquet").to_pylist()]
    changes = [row["change"] for row in rows if row["label"] == LABELS.index("REFUTES") and row["change"]["kind"] == "NUMBER"]
    assert {form(c["original"]) for c in changes} >= {"word", "decimal", "integer"}  # what the test covers
    for c in changes:
        assert form(c["replacement"]) == form(c["original"]), c
        assert c["replacement"][0].isupper() == c["original"][0].isupper(), c  # "Two" opening a sentence


def test_definitions_in_technical_text_become_questions_that_validate(tmp_path):
    """Reference documentation has few of the facts the news rules ask about, but defines its
    terms: those sentences give "What is ...?" rows, checked like every other."""
    from dsgen.validate import validate_dataset

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "streams.md").write_text(
        "# Streams\n\nA stream is an abstract interface for working with streaming data in Node.js. "
        "The stream module provides an API for implementing the stream interface.\n\n"
        "The Readable class is a stream from which data can be consumed, one chunk at a time.\n\n"
        "Streams can be readable, writable, or both, and all streams are instances of EventEmitter.\n",
        encoding="utf-8")
    out = templated_build(corpus, tmp_path / "out", passes=("qa_template",)).out_dir
    rows = [row for split in ("train", "test")
            for row in pq.read_table(out / "dataset" / "qa" / f"{split}-00000-of-00001.parquet").to_pylist()]
    asked = {(r["question"], r["answers"]["text"][0]) for r in rows if r["generator"] == "qa/what_is_definition"}
    assert asked == {("What is a stream?", "an abstract interface for working with streaming data in Node.js"),
                     ("What is the Readable class?", "a stream from which data can be consumed")}
    result = validate_dataset(out)
    assert result.ok, result.reason_counts()


def test_a_sentence_ending_in_a_question_mark_inside_brackets_is_no_claim(tmp_path):
    """Validation rejects a claim ending in "?)" or "?”" as a question; the passes used to make
    such claims anyway (libxslt's docs: "... document(object, node-set?)") and lose them there."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    questions = ["The function takes a node set and returns a string (or does it take a number?)",
                 "The council asked the mayor a final question: “Will the bridge reopen in May?”",
                 "Engineers asked whether the old parser could read every record (could it really?)"]
    facts = ["The council approved a budget of 40 million euros for the bridge in 2021.",
             "Engineers replaced 120 cables on the bridge over eighteen months of work."]
    (corpus / "a.txt").write_text("Bridge report\n\n" + "\n\n".join(questions + facts) + "\n", encoding="utf-8")
    out = templated_build(corpus, tmp_path / "out", passes=("fact_check_template",),
                          options={"claims_per_label": 20}).out_dir
    claims = [row["claim"] for split in ("train", "test")
              for row in pq.read_table(out / "dataset" / "fact_check" / f"{split}-00000-of-00001.parquet").to_pylist()]
    assert claims and not set(claims) & set(questions)
    assert "claim_is_question" not in (out / "rejected.jsonl").read_text(encoding="utf-8")
