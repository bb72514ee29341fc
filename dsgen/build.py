"""The main job: seeds folder -> validated, split Hugging Face dataset in ``out/``."""

from __future__ import annotations

import json
import shutil
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import jsonlines

from dsgen.atomic_dir import make_work_dir, remove_stale, swap_into_place
from dsgen.config import BuildConfig
from dsgen.corpus import load_corpus
from dsgen.dedupe import Deduper, dedupe_key
from dsgen.features import CONFIG_NAMES, FEATURES, SPLITS
from dsgen.parquet_writer import ParquetSink, shard_name
from dsgen.passes import MODEL_PASSES, PassContext, get_pass
from dsgen.rows import MessageRenderer, candidate_row, document_row
from dsgen.split import assign_splits
from dsgen.templates import TemplateStore, resolve_templates_dir
from dsgen.types import Candidate, Document
from dsgen.validate import check_row

#: progress(stage, done, total) — the library never prints; the CLI draws bars.
Progress = Callable[[str, int, int], None]


@dataclass
class BuildResult:
    out_dir: Path
    report: dict[str, Any]


@dataclass
class _Tally:
    passes: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    counts: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    reasons: Counter = field(default_factory=Counter)
    pass_reasons: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    pass_method: dict[str, str] = field(default_factory=dict)
    doc_counts: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))


@dataclass(frozen=True)
class _DocMeta:
    """What the report and card keep of a document once its text has streamed past."""

    doc_id: str
    title: str
    source: str
    sha256: str


def _spool_corpus(config: BuildConfig, spool) -> tuple[list[_DocMeta], list[Skip]]:
    """Stream the corpus into ``spool`` (pickled chunks of documents); keep only metadata."""
    metas: list[_DocMeta] = []
    skipped: list[Skip] = []
    chunk: list[Document] = []
    for doc in iter_corpus(config.seeds_dir, skipped, strict=config.strict):
        metas.append(_DocMeta(doc.doc_id, doc.title, doc.source, doc.sha256))
        chunk.append(doc)
        if len(chunk) == config.chunk_size:
            pickle.dump(chunk, spool, protocol=pickle.HIGHEST_PROTOCOL)
            chunk = []
    if chunk:
        pickle.dump(chunk, spool, protocol=pickle.HIGHEST_PROTOCOL)
    if not metas:
        reasons = ", ".join(sorted({s.reason for s in skipped})) or "no files"
        raise CorpusError(f"no usable articles in {config.seeds_dir} ({reasons})")
    return metas, skipped


def _read_spool(spool) -> Iterator[list[Document]]:
    spool.seek(0)
    while True:
        try:
            yield pickle.load(spool)
        except EOFError:
            return


def local_results(spec: WorkerSpec, chunks: Iterable[list[Document]], num_proc: int = 1) -> Iterator[ChunkResult]:
    """Chunk results in chunk order, from this process or a pool of ``num_proc`` workers.

    At most ``2 * num_proc`` chunks are in flight, so memory stays flat.
    """
    if num_proc <= 1:
        worker = ChunkWorker(spec)
        for chunk in chunks:
            yield worker.run(chunk)
        return
    methods = multiprocessing.get_all_start_methods()
    mp = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    with mp.Pool(num_proc, initializer=init_worker, initargs=(spec,)) as pool:
        window: deque = deque()
        for chunk in chunks:
            window.append(pool.apply_async(run_chunk, (chunk,)))
            if len(window) >= 2 * num_proc:
                yield window.popleft().get()
        while window:
            yield window.popleft().get()


def open_backend(config: BuildConfig):
    """The configured backend wrapped in the model-call cache, or ``None``."""
    if config.backend == "none" or not any(p in MODEL_PASSES for p in config.selected_passes()):
        return None
    from dsgen.backends import load_backend
    from dsgen.cache import CachedBackend, default_cache_dir

    options: dict[str, Any] = {}
    if config.backend == "transformers":
        options = {"model": config.model, "batch_size": config.batch_size}
    elif config.backend == "openai":
        options = {"model": config.model, "base_url": config.base_url, "concurrency": config.concurrency}
    elif config.backend == "fake":
        options = dict(config.options.get("fake", {}))
    inner = load_backend(config.backend, **options)
    return CachedBackend(inner, config.cache_dir or default_cache_dir(), enabled=config.use_cache)


def build(config: BuildConfig, progress: Progress | None = None, backend=None) -> BuildResult:
    """Run every selected pass, validate, dedupe, split and publish atomically.

    ``backend`` overrides the configured one (tests pass a fake or shared model).
    The previous ``out_dir`` stays untouched until the new build is complete.
    """
    progress = progress or (lambda stage, done, total: None)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    corpus = load_corpus(config.seeds_dir, strict=config.strict)
    docs = corpus.documents
    timings["read_corpus"] = time.perf_counter() - t0

    store = TemplateStore(resolve_templates_dir(config.templates_dir))
    renderer = MessageRenderer(store)
    splits = assign_splits([d.doc_id for d in docs], config.test_size, config.seed)
    pass_objs = [get_pass(name) for name in config.selected_passes()]
    own_backend = backend is None
    if backend is None and any(p.needs_backend for p in pass_objs):
        backend = open_backend(config)

    out_dir = Path(config.out_dir)
    remove_stale(out_dir)  # leftovers of a killed build
    work = make_work_dir(out_dir)
    try:
        dataset_dir = work / "dataset"
        sinks = {(c, s): ParquetSink(dataset_dir / c / shard_name(s), FEATURES[c]) for c in CONFIG_NAMES for s in SPLITS}
        tally = _Tally()
        dedupers = {c: Deduper() for c in CONFIG_NAMES}
        with jsonlines.open(work / "rejected.jsonl", mode="w", sort_keys=True) as rejected:
            for doc in docs:
                row = document_row(doc, renderer)
                sinks[("documents", splits[doc.doc_id])].write(row)
                tally.counts["documents"][splits[doc.doc_id]] += 1
            ctx = PassContext(store, seed=config.seed, backend=backend, neighbours=docs if len(docs) <= config.chunk_size else (),
                              options={**config.options, "model_items_per_doc": config.model_items_per_doc,
                                       "temperature": config.temperature, "progress": progress})
            by_id = {d.doc_id: d for d in docs}
            done = 0
            for chunk in _chunks(docs, config.chunk_size):
                if len(docs) > config.chunk_size:
                    ctx.neighbours = chunk
                for p in pass_objs:
                    tally.pass_method[p.name] = p.method
                    start = time.perf_counter()
                    for cand in p.run(chunk, ctx):
                        _publish(cand, by_id[cand.doc_id], ctx, renderer, splits, sinks, dedupers, tally, rejected)
                    timings[f"pass:{p.name}"] = timings.get(f"pass:{p.name}", 0.0) + time.perf_counter() - start
                done += len(chunk)
                progress("passes", done, len(docs))
        for sink in sinks.values():
            sink.close()
        report = _report(config, corpus, docs, splits, tally, timings, backend, t0)
        _write_card(dataset_dir, report, docs, splits, config)
        shutil.copy(store.path("boilerplate.yaml"), work / "boilerplate.yaml")
        from dsgen.harness import write_harness_tasks

        write_harness_tasks(work / "lm_eval", dataset_dir=out_dir.resolve() / "dataset")
        report["timings"]["total"] = round(time.perf_counter() - t0, 3)
        (work / "build-report.json").write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        swap_into_place(work, out_dir)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    finally:
        if own_backend and backend is not None:
            backend.close()
    return BuildResult(out_dir, report)


def _publish(cand: Candidate, doc: Document, ctx, renderer, splits, sinks, dedupers, tally, rejected) -> None:
    tally.passes[cand.pass_name]["candidates"] += 1
    row = candidate_row(cand, doc, renderer)
    # A model pass may already know a candidate is unusable (unparseable output, failed
    # roundtrip): it is recorded with the pass's reason instead of being validated.
    known = cand.meta.get("reject_reason")
    problems = [] if known else check_row(cand.config, row, doc.text, ctx.analysis(doc).boilerplate)
    reason = detail = None
    if known:
        reason, detail = known, cand.meta.get("reject_detail", "")
    elif problems:
        reason, detail = problems[0].reason, "; ".join(f"{p.reason}: {p.detail}" if p.detail else p.reason for p in problems)
    else:
        dup = dedupers[cand.config].check(dedupe_key(cand.config, row), row["id"])
        if dup:
            reason, detail = dup[0], f"same as {dup[1]}"
    if reason:
        tally.passes[cand.pass_name]["rejected"] += 1
        tally.reasons[reason] += 1
        tally.pass_reasons[cand.pass_name][reason] += 1
        rejected.write({
            "config": cand.config, "doc_id": cand.doc_id, "pass": cand.pass_name, "method": cand.method,
            "generator": cand.generator, "reason": reason, "detail": detail, "row": row,
            "raw_output": cand.raw_output,
        })
        return
    split = splits[cand.doc_id]
    sinks[(cand.config, split)].write(row)
    tally.passes[cand.pass_name]["published"] += 1
    tally.counts[cand.config][split] += 1
    tally.doc_counts[cand.doc_id][cand.config] += 1
    if cand.config == "fact_check":
        tally.doc_counts[cand.doc_id][f"fact_check:{row['label']}"] += 1


def _report(config, corpus, docs, splits, tally, timings, backend, t0) -> dict[str, Any]:
    model_stats = None
    if backend is not None and hasattr(backend, "stats"):
        model_stats = backend.stats if isinstance(backend.stats, dict) else vars(backend.stats)
    return {
        "config": {
            "seeds_dir": str(config.seeds_dir), "passes": list(config.selected_passes()), "backend": config.backend,
            "model": getattr(backend, "model_id", None), "seed": config.seed, "test_size": config.test_size,
        },
        "documents": {"read": len(docs), "train": sum(1 for d in docs if splits[d.doc_id] == "train"),
                      "test": sum(1 for d in docs if splits[d.doc_id] == "test")},
        "skipped": [{"source": s.source, "reason": s.reason, "detail": s.detail} for s in corpus.skipped],
        "counts": {c: {s: tally.counts[c][s] for s in SPLITS} for c in CONFIG_NAMES},
        "passes": {name: {"method": tally.pass_method.get(name, ""), "candidates": c["candidates"],
                          "published": c["published"], "rejected": c["rejected"],
                          "rejection_reasons": dict(sorted(tally.pass_reasons[name].items()))}
                   for name, c in sorted(tally.passes.items())},
        "rejection_reasons": dict(sorted(tally.reasons.items())),
        "rejected_total": sum(tally.reasons.values()),
        "per_document": {d.doc_id: dict(sorted(tally.doc_counts[d.doc_id].items())) for d in docs},
        "models": [backend.model_id] if backend is not None else [],
        "model_calls": model_stats,
        "timings": {k: round(v, 3) for k, v in timings.items()},
    }


def _write_card(dataset_dir: Path, report, docs, splits, config) -> None:
    from dsgen.card import card_data, card_text

    data = card_data(report["counts"], license=config.license, language=config.language, pretty_name=config.pretty_name)
    sources = [{"doc_id": d.doc_id, "split": splits[d.doc_id], "title": d.title, "source": d.source, "sha256": d.sha256} for d in docs]
    (dataset_dir / "README.md").write_text(card_text(data, report, sources), encoding="utf-8")
