"""A chunk of documents -> checked candidate rows: the work a build hands to workers.

Everything here depends only on the chunk and a picklable :class:`WorkerSpec`, so a
chunk gives the same :class:`ChunkResult` in the main process, in a
``multiprocessing`` worker or in a Ray task; the main process then only dedupes,
splits and writes, in chunk order, which keeps the output identical for any number
of workers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, Sequence

from dsgen.dedupe import Signature, dedupe_key, signatures
from dsgen.passes import PassContext, get_pass
from dsgen.rows import MessageRenderer, candidate_row, document_row, render_messages
from dsgen.templates import TemplateStore
from dsgen.types import Candidate, Document
from dsgen.validate import check_row


@dataclass(frozen=True)
class WorkerSpec:
    """What a worker needs to rebuild the passes' context (all picklable)."""

    templates_dir: Path
    seed: int
    passes: tuple[str, ...]  # the passes workers run (templated ones), in build order
    options: dict[str, Any] = field(default_factory=dict)


class Outcome(NamedTuple):
    """One candidate after row building and validation, before dedupe.

    ``reason`` is set when the candidate is rejected; otherwise ``signature`` is
    what the deduper needs (:meth:`ChunkWorker.run` adds it; ``None`` for the rows of
    model passes, whose deduper works it out from the row).

    A named tuple, not a dataclass: worker processes send one per candidate, and the
    main process unpickles a tuple in about 0.9 us less (a sixth of an outcome's cost).
    """

    config: str
    doc_id: str
    pass_name: str
    method: str
    generator: str
    row: dict[str, Any]
    raw_output: str | None = None
    reason: str | None = None
    detail: str | None = None
    signature: Signature | None = None
    label: str | None = None  # fact_check label, for the report


@dataclass
class ChunkResult:
    """A chunk's document rows and, per pass in build order, its outcomes."""

    documents: list[dict[str, Any]]
    passes: list[tuple[str, list[Outcome]]]
    seconds: dict[str, float]

    def without_messages(self) -> "ChunkResult":
        """Drop every row's ``messages`` (in place): they are nearly half of what a worker
        sends back, and the main process renders them again from the other columns for
        the rows that need them (see :func:`ensure_messages`)."""
        for row in self.documents:
            del row["messages"]
        for _, outcomes in self.passes:
            for o in outcomes:
                del o.row["messages"]
        return self


def ensure_messages(renderer: MessageRenderer, config: str, row: dict[str, Any], title: str) -> dict[str, Any]:
    """``row`` with its ``messages`` (rendered now if :meth:`ChunkResult.without_messages`
    dropped them); ``title`` is its article's."""
    if "messages" not in row:
        row["messages"] = render_messages(renderer, config, row, title)
    return row


def prepare(cand: Candidate, doc: Document, ctx: PassContext, renderer: MessageRenderer,
            sentence_texts: Sequence[str] | None = None) -> Outcome:
    """Build the published row of ``cand`` and validate it (no :class:`Signature` yet)."""
    row = candidate_row(cand, doc, renderer)
    made = (cand.config, cand.doc_id, cand.pass_name, cand.method, cand.generator, row, cand.raw_output)
    # A model pass may already know a candidate is unusable (unparseable output, failed
    # roundtrip): it is recorded with the pass's reason instead of being validated.
    known = cand.meta.get("reject_reason")
    if known:
        return Outcome(*made, reason=known, detail=cand.meta.get("reject_detail", ""))
    problems = check_row(cand.config, row, doc.text, ctx.analysis(doc).boilerplate, sentence_texts=sentence_texts)
    if problems:
        detail = "; ".join(f"{p.reason}: {p.detail}" if p.detail else p.reason for p in problems)
        return Outcome(*made, reason=problems[0].reason, detail=detail)
    return Outcome(*made, label=row["label"] if cand.config == "fact_check" else None)


class ChunkWorker:
    """Runs the spec's passes over chunks; built once per worker process."""

    def __init__(self, spec: WorkerSpec) -> None:
        self.spec = spec
        store = TemplateStore(spec.templates_dir)
        self.renderer = MessageRenderer(store)
        self.ctx = PassContext(store, seed=spec.seed, options=dict(spec.options))
        self.passes = [get_pass(name) for name in spec.passes]

    def warm_up(self) -> "ChunkWorker":
        """Load word lists and rules now, before the first chunk arrives."""
        from dsgen.morph import base_verb

        base_verb("made")
        for p in self.passes:
            list(p.run([], self.ctx))
        return self

    def run(self, docs: Sequence[Document]) -> ChunkResult:
        """Document rows and checked outcomes of every pass for one chunk.

        The chunk is also the pool of neighbours (NOT ENOUGH INFO claims come
        from nearby documents of the same chunk), so results never depend on
        how chunks are spread over workers.
        """
        self.ctx.neighbours = docs
        by_id = {d.doc_id: d for d in docs}
        seconds: dict[str, float] = {}
        start = time.perf_counter()
        documents = [document_row(doc, self.renderer) for doc in docs]
        seconds["documents"] = time.perf_counter() - start
        results = []
        for p in self.passes:
            start = time.perf_counter()
            outcomes = []
            for cand in p.run(docs, self.ctx):
                doc = by_id[cand.doc_id]
                sentence_texts = self.ctx.analysis(doc).sentence_texts if cand.config == "fact_check" else None
                outcomes.append(prepare(cand, doc, self.ctx, self.renderer, sentence_texts))
            results.append((p.name, outcomes))
            seconds[f"pass:{p.name}"] = time.perf_counter() - start
        start = time.perf_counter()
        _sign(results)
        seconds["signatures"] = time.perf_counter() - start
        return ChunkResult(documents, results, seconds)


def _sign(results: list[tuple[str, list[Outcome]]]) -> None:
    """Give every valid outcome of ``results`` its :class:`Signature`, worked out for the
    whole chunk at once (see :func:`~dsgen.dedupe.signatures`)."""
    valid = [(group, i) for _, group in results for i, o in enumerate(group) if o.reason is None]
    keys = [dedupe_key(group[i].config, group[i].row) for group, i in valid]
    for (group, i), signature in zip(valid, signatures(keys)):
        group[i] = group[i]._replace(signature=signature)


_worker: ChunkWorker | None = None


def init_worker(spec: WorkerSpec) -> ChunkWorker:
    """Set up this worker process's :class:`ChunkWorker` (the pool's initializer)."""
    global _worker
    _worker = ChunkWorker(spec)
    return _worker


def current_worker(spec: WorkerSpec) -> ChunkWorker | None:
    """This process's worker, if it was set up for ``spec``."""
    return _worker if _worker is not None and _worker.spec == spec else None


def release_worker() -> None:
    """Drop this process's worker (the parent's copy, once its pool is gone)."""
    global _worker
    _worker = None


def run_chunk(docs: Sequence[Document]) -> ChunkResult:
    """Process one chunk in a worker set up by :func:`init_worker`; the result comes
    back without messages (see :meth:`ChunkResult.without_messages`)."""
    assert _worker is not None, "init_worker was not called in this process"
    return _worker.run(docs).without_messages()
