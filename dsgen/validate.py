"""Validation: every published row must hold against its document's text.

``check_row`` is the single source of truth, used on candidates during a build
and on the published parquet files by ``dsgen validate``. Each failure is a
``Problem`` with a stable ``reason`` code (counted in reports).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Mapping, Sequence

from dsgen.boilerplate import overlaps
from dsgen.entities import same_number
from dsgen.support import (
    PARAPHRASE_MIN_RECALL,
    SUMMARY_MIN_RECALL,
    has_content_word,
    missing_facts,
    negation_flip,
    nei_problem,
    token_recall,
)
from dsgen.text import asks_question, contains_word, is_normalized, sentences
from dsgen.types import LABELS, METHODS, Span

MAX_QUESTION_CHARS = 400
MAX_CLAIM_CHARS = 600
#: U+FFFD, what undecodable input becomes (see ``_check_generated_text``).
REPLACEMENT_CHARACTER = "\ufffd"


@dataclass(frozen=True)
class Problem:
    """One broken rule: a stable code and a human-readable detail."""

    reason: str
    detail: str = ""


def _spans(row: Mapping[str, Any]) -> list[Span]:
    return [Span(int(e["start"]), int(e["end"])) for e in row.get("evidence") or []]


def label_name(value: Any) -> str | None:
    if isinstance(value, str):
        return value if value in LABELS else None
    if isinstance(value, int) and 0 <= value < len(LABELS):
        return LABELS[value]
    return None


def check_row(config: str, row: Mapping[str, Any], text: str | None, blocked: Sequence[Span] = (), *,
              sentence_texts: Sequence[str] | None = None) -> list[Problem]:
    """All rule violations of one row of ``config`` against its document ``text``.

    ``sentence_texts`` are the sentences of ``text`` if the caller has them already.
    """
    if text is None:
        return [Problem("unknown_document", f"doc_id {row.get('doc_id')!r} not in documents")]
    shape = _shape_problem(config, row)
    if shape:
        return [shape]
    spans = _spans(row)  # read once: every check below needs them
    problems = _check_common(row, text, blocked, spans) + _check_generated_text(config, row, text)
    if problems and problems[0].reason in ("evidence_missing", "span_out_of_range"):
        return problems
    if config == "fact_check":
        return problems + _check_fact(row, text, spans, sentence_texts)
    checker = {"qa": _check_qa, "summarization": _check_summary}.get(config)
    if checker is None:
        return problems + [Problem("unknown_config", config)]
    return problems + checker(row, text, spans)


def _shape_problem(config: str, row: Mapping[str, Any]) -> Problem | None:
    """``malformed_row`` when a value does not have its column's type (a tampered file,
    a bad candidate): the rules below may then assume well-typed values."""
    for name, conforms in _column_checks(config):
        if name not in row:
            return Problem("malformed_row", f"no {name!r} column")
        if not conforms(row[name]):
            return Problem("malformed_row", f"{name!r} is {type(row[name]).__name__}: {row[name]!r:.60}")
    return None


@lru_cache(maxsize=None)
def _column_checks(config: str) -> tuple[tuple[str, Any], ...]:
    """``(column, value -> bool)`` per column of ``config``, built once from its schema."""
    from dsgen.features import COLUMNS

    return tuple((name, _checker(kind)) for name, kind in (COLUMNS.get(config) or {}).items())


def _checker(kind: Any):
    """A predicate: does a Python value have the column type ``kind`` (see ``COLUMNS``)?"""
    if isinstance(kind, dict):
        fields = tuple((k, _checker(f)) for k, f in kind.items())

        def is_struct(v: Any) -> bool:
            if not (type(v) is dict or isinstance(v, Mapping)):
                return False
            for k, check in fields:
                if k not in v or not check(v[k]):
                    return False
            return True

        return is_struct
    if isinstance(kind, list):
        item = _checker(kind[1])
        return lambda v: (type(v) is list or isinstance(v, (list, tuple))) and all(map(item, v))
    if kind == "label":  # the label rule judges the value
        return lambda v: isinstance(v, (str, int)) and not isinstance(v, bool)
    if kind == "string":
        # isinstance(v, str) as a built-in method: most columns are strings, and every row
        # is checked (no Python frame per value).
        return str.__instancecheck__
    if kind.startswith("int"):
        return lambda v: type(v) is int or isinstance(v, int) and not isinstance(v, bool)
    return lambda v: True


#: Columns a pass (maybe a model) writes rather than copies from the document.
_GENERATED = {"qa": ("question",), "summarization": ("summary",), "fact_check": ("claim",)}


def _check_generated_text(config: str, row: Mapping[str, Any], text: str) -> list[Problem]:
    """Generated text must be clean one-line text: no control, invisible or bidi
    characters (model output is untrusted), nothing normalization would change, and no
    U+FFFD unless its document has one (it stands for text that could not be decoded,
    such as a lone surrogate in a server's reply: no word of the source)."""
    out = []
    for name in _GENERATED.get(config, ()):
        value = row.get(name)
        if not isinstance(value, str):
            continue
        if "\n" in value or not is_normalized(value):
            out.append(Problem("text_not_normalized", f"{name}: {value[:60]!r}"))
        elif REPLACEMENT_CHARACTER in value and REPLACEMENT_CHARACTER not in text:
            out.append(Problem("text_replacement_character", f"{name}: {value[:60]!r}"))
    return out


def _check_common(row, text, blocked, spans: list[Span]) -> list[Problem]:
    out: list[Problem] = []
    if row.get("method") not in METHODS:
        out.append(Problem("bad_provenance", f"method {row.get('method')!r}"))
    if not row.get("generator") or not row.get("pass"):
        out.append(Problem("bad_provenance", "missing pass or generator"))
    if not spans:
        return [Problem("evidence_missing")] + out
    blocked = list(blocked)
    for s in spans:
        if not (0 <= s.start < s.end <= len(text)):
            return [Problem("span_out_of_range", f"[{s.start}, {s.end}) in a text of {len(text)} chars")] + out
        if not text[s.start : s.end].strip():
            out.append(Problem("empty_span", f"[{s.start}, {s.end})"))
        if blocked and overlaps(s, blocked):
            out.append(Problem("evidence_in_boilerplate", repr(text[s.start : s.end][:60])))
    problem = messages_problem(row.get("messages"))
    if problem:
        out.append(problem)
    return out


def messages_problem(messages: Any) -> Problem | None:
    """``messages_malformed`` unless ``messages`` is a chat TRL can train on: role/content
    dicts with known roles and non-empty text, ending with the assistant's turn."""
    if not messages or not all((type(m) is dict or isinstance(m, Mapping)) and m.get("role") in ("system", "user", "assistant") and isinstance(m.get("content"), str) and m["content"] for m in messages):
        return Problem("messages_malformed")
    if messages[-1]["role"] != "assistant":
        return Problem("messages_malformed", "last message is not the assistant's")
    return None


def messages_mismatch(renderer, config: str, row: Mapping[str, Any], title: str) -> Problem | None:
    """``messages_mismatch`` when ``row``'s ``messages`` are not what ``renderer`` (the build's
    message templates) renders from its other columns (``title``: its article's): an edited
    answer, summary, label or claim, or stale messages, would train on another example."""
    from dsgen.errors import TemplateError
    from dsgen.rows import render_messages

    if config == "fact_check":  # rendered from the label's name; the parquet file holds its index
        row = {**row, "label": label_name(row["label"])}
    try:
        want = render_messages(renderer, config, row, title)
    except TemplateError as exc:
        return Problem("messages_mismatch", f"the build's templates cannot render this row: {exc}")
    got = row["messages"]
    if [m["role"] for m in got] != [m["role"] for m in want]:
        return Problem("messages_mismatch", f"roles {[m['role'] for m in got]}, the templates give {[m['role'] for m in want]}")
    for g, w in zip(got, want):
        if g["content"] != w["content"]:
            i = next((i for i, (a, b) in enumerate(zip(g["content"], w["content"])) if a != b),
                     min(len(g["content"]), len(w["content"])))
            return Problem("messages_mismatch", f"{g['role']} message at char {i} has {g['content'][i:i + 40]!r}, "
                                                f"the row's columns give {w['content'][i:i + 40]!r}")
    return None


def _check_context(row, text) -> list[Problem]:
    context, start = row.get("context") or "", row.get("context_start")
    if not isinstance(start, int) or start < 0 or not context or text[start : start + len(context)] != context:
        return [Problem("context_mismatch", f"context_start={start!r}")]
    return []


def _splits_a_word(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` begins or ends inside a word (letters or digits on
    both sides of an edge)."""
    return ((start > 0 and text[start - 1].isalnum() and text[start].isalnum())
            or (end < len(text) and text[end - 1].isalnum() and text[end].isalnum()))


def _check_qa(row, text, spans: list[Span]) -> list[Problem]:
    out = _check_context(row, text)
    if out:
        return out
    context, cstart = row["context"], row["context_start"]
    question = (row.get("question") or "").strip()
    answers = row.get("answers") or {}
    texts, starts = list(answers.get("text") or []), list(answers.get("answer_start") or [])
    if not question.endswith("?") or len(question) > MAX_QUESTION_CHARS or len(question.split()) < 3:
        out.append(Problem("question_malformed", question[:80]))
    elif not has_content_word(question):  # "Who was it?" asks about nothing in the passage
        out.append(Problem("question_no_content", question[:80]))
    if not texts or len(texts) != len(starts):
        return out + [Problem("answer_mismatch", "answers.text and answers.answer_start differ in length or are empty")]
    for t, a in zip(texts, starts):
        if not t or not t.strip():
            out.append(Problem("answer_empty"))
            continue
        if not isinstance(a, int) or context[a : a + len(t)] != t:
            out.append(Problem("answer_mismatch", f"{t!r} not at answer_start={a}"))
            continue
        doc_span = Span(cstart + a, cstart + a + len(t))
        if not has_content_word(t):  # "it", "them": nothing a reader could check
            out.append(Problem("answer_no_content", t))
        if _splits_a_word(context, a, a + len(t)):  # "Ali" of "Alibaba": no reader would answer that
            out.append(Problem("answer_splits_word", f"{t!r} at answer_start={a}"))
        if not any(s.contains(doc_span) for s in spans):
            out.append(Problem("answer_outside_evidence", t))
        if contains_word(question.casefold(), t.casefold()):
            out.append(Problem("question_contains_answer", t))
    return out


def _check_summary(row, text, spans: list[Span]) -> list[Problem]:
    out: list[Problem] = []
    if row.get("document") != text:
        out.append(Problem("document_mismatch"))
    summary = (row.get("summary") or "").strip()
    if not summary:
        return out + [Problem("summary_empty")]
    if not has_content_word(summary):
        return out + [Problem("summary_no_content", summary[:60])]
    evidence = " ".join(text[s.start : s.end] for s in spans)
    missing: set[str] = set()
    for sent in sentences(summary):
        s = sent.text
        if s not in evidence:
            if not has_content_word(s):  # recall would be 1.0: a sentence of stop words says nothing
                out.append(Problem("summary_no_content", f"sentence {s[:60]!r}"))
                continue
            recall = token_recall(s, evidence)
            if recall < SUMMARY_MIN_RECALL:
                out.append(Problem("summary_unsupported", f"recall {recall:.2f} < {SUMMARY_MIN_RECALL}: {s[:60]!r}"))
        missing.update(missing_facts(s, text))  # sentence by sentence: a fact is part of one
    if missing:
        out.append(Problem("summary_fact_missing", ", ".join(sorted(missing)[:5])))
    return out


def _supported(claim: str, evidence: str) -> Problem | None:
    """``None`` when ``claim`` is verbatim or a validated paraphrase of ``evidence``."""
    if claim.strip() and claim.strip() in evidence:
        return None
    recall = token_recall(claim, evidence)
    if recall < PARAPHRASE_MIN_RECALL:
        return Problem("claim_unsupported", f"recall {recall:.2f} < {PARAPHRASE_MIN_RECALL}")
    missing = missing_facts(claim, evidence)
    if missing:
        return Problem("claim_fact_missing", ", ".join(missing[:5]))
    if negation_flip(claim, evidence):
        return Problem("claim_negation_flip")
    return None


@lru_cache(maxsize=64)
def _sentence_texts(text: str) -> tuple[str, ...]:
    # Cached: every NOT ENOUGH INFO row of a document is checked against all its sentences.
    return tuple(s.text for s in sentences(text))


def _check_fact(row, text, spans: list[Span], sentence_texts=None) -> list[Problem]:
    out = _check_context(row, text)
    label = label_name(row.get("label"))
    claim = (row.get("claim") or "").strip()
    if label is None:
        return out + [Problem("label_invalid", repr(row.get("label")))]
    if not claim or len(claim) > MAX_CLAIM_CHARS:
        return out + [Problem("claim_malformed")]
    # Whatever the label: with no content word, recall against any evidence is 1.0 and
    # the claim names nothing to check ("It was."); a question states nothing.
    if not has_content_word(claim):
        return out + [Problem("claim_no_content", claim[:60])]
    if asks_question(claim):
        return out + [Problem("claim_is_question", claim[:60])]
    evidence = " ".join(text[s.start : s.end] for s in spans)
    change = row.get("change") or {}
    if label == "SUPPORTS":
        p = _supported(claim, evidence)
        if p:
            out.append(p)
    elif label == "REFUTES":
        original, replacement = change.get("original") or "", change.get("replacement") or ""
        if not original or not replacement or not change.get("kind"):
            out.append(Problem("refutes_change_missing"))
        elif original.casefold() == replacement.casefold() or same_number(change.get("kind"), original, replacement):
            out.append(Problem("refutes_no_change"))
        elif original not in evidence:
            out.append(Problem("refutes_change_not_in_evidence", original))
        elif replacement not in claim or replacement in evidence:
            out.append(Problem("refutes_change_not_in_claim", replacement))
        else:
            restored = claim.replace(replacement, original, 1)
            p = _supported(restored, evidence)
            if p:
                out.append(Problem("refutes_not_a_single_change", p.reason))
            elif claim in text:
                out.append(Problem("refutes_claim_in_document"))
    else:
        p = nei_problem(claim, text, _sentence_texts(text) if sentence_texts is None else sentence_texts)
        if p:
            out.append(Problem(p))
    return out


@dataclass
class DatasetValidation:
    """Outcome of re-checking a built dataset folder."""

    checked: dict[str, int]
    failures: list[tuple[str, str, Problem]]  # (config, row id, problem)
    notes: list[str] = field(default_factory=list)  # what could not be checked, and why

    @property
    def ok(self) -> bool:
        return not self.failures

    def reason_counts(self) -> dict[str, int]:
        from collections import Counter

        return dict(sorted(Counter(p.reason for _, _, p in self.failures).items()))


def validate_dataset(out_dir) -> DatasetValidation:
    """Re-check every published row of ``out_dir`` using only that folder.

    Reads ``dataset/<config>/<split>-*.parquet``, ``boilerplate.yaml`` (the rules the
    build used), the message templates ``build-report.json`` records and the dataset
    card, and checks row rules, ``messages``, id uniqueness, split leakage, exact
    duplicates and the card's front matter (configs, dataset_info).
    """
    from pathlib import Path

    import pyarrow as pa
    import pyarrow.parquet as pq

    from dsgen.boilerplate import BoilerplateRules
    from dsgen.build_files import check_utf8_path
    from dsgen.card_check import card_problems
    from dsgen.dedupe import dedupe_key
    from dsgen.errors import ValidationFailed
    from dsgen.features import CONFIG_NAMES, FEATURES, SPLITS
    from dsgen.parquet_writer import read_rows, shard_name

    out = Path(out_dir)
    dataset = out / "dataset"
    if not dataset.is_dir():
        raise ValidationFailed(f"no built dataset at {dataset} (run `dsgen build` first)")
    rules_path = out / "boilerplate.yaml"
    if not rules_path.is_file():
        raise ValidationFailed(f"missing {rules_path}: the folder is not a complete dsgen build")
    check_utf8_path(out)
    rules = BoilerplateRules.load(rules_path)
    failures: list[tuple[str, str, Problem]] = []
    checked: dict[str, int] = {}
    notes: list[str] = []
    renderer = _recorded_renderer(out, failures, notes)
    shard_rows: dict[tuple[str, str], int] = {}  # rows of each shard read to the end

    def rows(config: str):
        for split in SPLITS:
            path = dataset / config / shard_name(split)
            if not path.is_file():
                failures.append((config, "-", Problem("missing_file", str(path.relative_to(out)))))
                continue
            # A tampered or truncated file is a failure to report, not a crash; a
            # changed schema would no longer load with the card's features (its rows
            # are not checked further: columns may be missing).
            where = str(path.relative_to(out))
            try:
                schema = pq.read_schema(path)
                if not schema.remove_metadata().equals(FEATURES[config].arrow_schema.remove_metadata()):
                    failures.append((config, "-", Problem("schema_mismatch", where)))
                    continue
                metadata_problem = _features_metadata_problem(config, schema)
                if metadata_problem:
                    failures.append((config, "-", Problem("schema_mismatch", f"{where}: {metadata_problem}")))
                n = 0
                for row in read_rows(path):
                    n += 1
                    yield split, row
                shard_rows[(config, split)] = n
            except (pa.ArrowException, OSError) as exc:
                failures.append((config, "-", Problem("unreadable_file", f"{where}: {str(exc).splitlines()[0]}")))

    texts: dict[str, str] = {}
    titles: dict[str, str] = {}
    doc_split: dict[str, str] = {}
    for split, row in rows("documents"):
        if row["doc_id"] in texts:
            failures.append(("documents", row["id"], Problem("duplicate_document", row["doc_id"])))
        texts[row["doc_id"]] = row["text"]
        titles[row["doc_id"]] = row["title"]
        doc_split[row["doc_id"]] = split
        problem = _shape_problem("documents", row) or messages_problem(row["messages"])
        if problem is None and renderer is not None:
            problem = messages_mismatch(renderer, "documents", row, row["title"])
        if problem:
            failures.append(("documents", row["id"] or "-", problem))
    checked["documents"] = len(texts)
    blocked = {d: rules.spans(t) for d, t in texts.items() if isinstance(t, str)}
    for config in CONFIG_NAMES:
        if config == "documents":
            continue
        ids: set[str] = set()
        keys: dict[str, str] = {}
        n = 0
        for split, row in rows(config):
            n += 1
            rid = row.get("id") or "-"
            doc_id = row.get("doc_id")
            problems = check_row(config, row, texts.get(doc_id), blocked.get(doc_id, ()))
            if not problems and renderer is not None:  # a failing row may not render
                problems = [p for p in [messages_mismatch(renderer, config, row, titles[doc_id])] if p]
            for p in problems:
                failures.append((config, rid, p))
            if rid in ids:
                failures.append((config, rid, Problem("duplicate_id")))
            ids.add(rid)
            if doc_id in doc_split and doc_split[doc_id] != split:
                failures.append((config, rid, Problem("split_leak", f"{doc_id} is a {doc_split[doc_id]} document")))
            if problems:  # already failing (and maybe malformed): no duplicate check
                continue
            key = " ".join(dedupe_key(config, row).casefold().split())
            if key in keys:
                failures.append((config, rid, Problem("duplicate", f"same as {keys[key]}")))
            keys.setdefault(key, rid)
        checked[config] = n
    failures += [(config, "-", p) for config, p in card_problems(dataset, shard_rows)]
    return DatasetValidation(checked, failures, notes)


def _features_metadata_problem(config: str, schema) -> str | None:
    """How the features ``datasets`` reads from a parquet file's schema (the ``huggingface``
    metadata dsgen writes, else the column types) differ from ``config``'s: ``load_dataset``
    gives the data these features when the card has no ``dataset_info`` (label names come
    only from the metadata)."""
    from datasets import Features

    from dsgen.features import FEATURES, features_difference

    try:
        features = Features.from_arrow_schema(schema)
    except Exception as exc:  # noqa: BLE001 - the metadata is input: say what is wrong, do not crash
        return f"its features metadata cannot be read ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
    difference = features_difference(features, FEATURES[config])
    return difference and f"the features datasets reads from its metadata do not match dsgen's: {difference}"


def _recorded_renderer(out, failures: list, notes: list[str]):
    """The message templates the build in ``out`` used, from its ``build-report.json``;
    ``None`` (with a note, or a failure if the report is damaged) when it records none."""
    import json

    from dsgen.errors import TemplateError
    from dsgen.rows import MessageRenderer

    shape_only = "messages were checked for shape only, not against the message templates"
    try:
        report = json.loads((out / "build-report.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        notes.append(f"{shape_only}: there is no build-report.json")
        return None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        failures.append(("report", "-", Problem("unreadable_file", f"build-report.json: {exc}")))
        return None
    build_config = report.get("config") if isinstance(report, dict) else None
    sources = build_config.get("message_templates") if isinstance(build_config, dict) else None
    if sources is None:
        notes.append(f"{shape_only}: build-report.json does not record them (a build by an older dsgen)")
        return None
    try:
        return MessageRenderer.from_sources(sources, "build-report.json config.message_templates")
    except TemplateError as exc:
        failures.append(("report", "-", Problem("report_invalid", str(exc))))
        return None
