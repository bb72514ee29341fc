"""The main job: seeds folder -> validated, split Hugging Face dataset in ``out/``."""

from __future__ import annotations

import contextlib
import itertools
import json
import multiprocessing
import multiprocessing.pool
import os
import pickle
import shutil
import tempfile
import time
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import jsonlines

from dsgen.atomic_dir import make_work_dir, missing_folders, remove_empty, remove_stale, swap_into_place
from dsgen.chunks import (ChunkResult, ChunkWorker, Outcome, WorkerSpec, current_worker, ensure_messages, init_worker,
                          prepare, release_worker, run_chunk)
from dsgen.collector import build_collector, model_collector, set_up_done
from dsgen.config import BuildConfig
from dsgen.corpus import Skip, file_batches, iter_corpus
from dsgen.dedupe import Deduper, dedupe_key
from dsgen.errors import ConfigError, CorpusError
from dsgen.features import CONFIG_NAMES, SPLITS
from dsgen.folders import is_within, not_utf8
from dsgen.passes import MODEL_PASSES, PassContext, get_pass
from dsgen.rows import MessageRenderer
from dsgen.split import assign_splits
from dsgen.templates import TemplateStore, resolve_templates_dir
from dsgen.types import Document

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


def _spool_corpus(config: BuildConfig, spool, map_fn: Callable = map) -> tuple[list[_DocMeta], list[Skip]]:
    """Stream the corpus into ``spool`` (pickled chunks of documents); keep only metadata.

    ``map_fn`` reads the files (see :func:`~dsgen.corpus.iter_corpus`).
    """
    metas: list[_DocMeta] = []
    skipped: list[Skip] = []
    chunk: list[Document] = []
    chars = 0
    for doc in iter_corpus(config.seeds_dir, skipped, strict=config.strict, encoding=config.encoding, map_fn=map_fn):
        metas.append(_DocMeta(doc.doc_id, doc.title, doc.source, doc.sha256))
        if chunk and chars + len(doc.text) > config.chunk_chars:  # long articles: memory stays bounded
            pickle.dump(chunk, spool, protocol=pickle.HIGHEST_PROTOCOL)
            chunk, chars = [], 0
        chunk.append(doc)
        chars += len(doc.text)
        if len(chunk) == config.chunk_size:
            pickle.dump(chunk, spool, protocol=pickle.HIGHEST_PROTOCOL)
            chunk, chars = [], 0
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


class _Pool(multiprocessing.pool.Pool):
    """A process pool whose worker-handler thread sleeps while results come in.

    multiprocessing's handler thread also wakes whenever the result pipe holds unread
    data, only to find every worker alive and wait again: while a chunk's result (a
    few MB) streams in, it spins, taking the GIL from this process's threads (1.0 of
    this process's 16.4 CPU-s at 10,000 articles with --num-proc 2). Here it wakes as a
    ``ThreadPool``'s does: on close, terminate or an emptied task cache (the change
    notifier), and still when a worker process exits (the handler also waits on every
    worker's sentinel, and starts a new worker).
    """

    def _get_sentinels(self) -> list:
        return [self._change_notifier._reader]


class LocalEngine:
    """This process (``num_proc <= 1``) or a pool of ``num_proc`` worker processes.

    The pool starts first: its workers read the files (:meth:`map_files`), then
    run the chunks (:meth:`results`); both keep input order.
    """

    #: Workers allowed per CPU this process may run on: more only cost memory and start-up
    #: (a mistyped --num-proc 99999 would fork until the kernel kills the build).
    MAX_PROC_PER_CPU = 4

    def __init__(self, spec: WorkerSpec, num_proc: int = 1) -> None:
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        if num_proc > self.MAX_PROC_PER_CPU * cpus:
            raise ConfigError(f"--num-proc {num_proc} is more than {self.MAX_PROC_PER_CPU} workers per CPU "
                              f"({cpus} CPU(s) here); the templated passes gain nothing past one per CPU")
        self.spec = spec
        self.num_proc = num_proc
        self.pool = None
        if num_proc > 1:
            method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
            if method == "fork":
                # Word lists and rules load once, here (0.3 s): forked workers inherit them.
                init_worker(spec).warm_up()
                set_up_done()
            self.pool = _Pool(num_proc, initializer=_start_worker, initargs=(spec,),
                              context=multiprocessing.get_context(method))

    def map_files(self, fn: Callable, jobs: Iterable) -> Iterator:
        """``fn`` over ``jobs`` (file reads), results in order."""
        if self.pool is None:
            return map(fn, jobs)
        # A task reads up to 64 files or 1 MB (file_batches). At 10,000 articles of 5 kB,
        # reading took about 1.3 s and 0.6 CPU-s of this process (which unpickles what the
        # workers send back), against 1.8 s and 1.0 with tasks of 16 files.
        tasks = self.pool.imap(partial(_read_batch, fn), file_batches(jobs))
        return itertools.chain.from_iterable(tasks)

    def results(self, chunks: Iterable[list[Document]]) -> Iterator[ChunkResult]:
        """Chunk results in chunk order; at most ``2 * num_proc`` chunks in flight, so memory
        stays flat. A pool starts on the first chunks now, before the first result is asked for.
        A pool's results come without ``messages`` (see :func:`~dsgen.chunks.run_chunk`)."""
        if self.pool is None:
            worker = ChunkWorker(self.spec)
            return (worker.run(chunk) for chunk in chunks)
        chunks = iter(chunks)
        window = deque(self.pool.apply_async(run_chunk, (c,)) for c in itertools.islice(chunks, 2 * self.num_proc))
        return self._in_order(window, chunks)

    def _in_order(self, window: deque, chunks: Iterator[list[Document]]) -> Iterator[ChunkResult]:
        for chunk in chunks:
            result = window.popleft().get()
            window.append(self.pool.apply_async(run_chunk, (chunk,)))
            yield result
        while window:
            yield window.popleft().get()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()
            self.pool = None
        release_worker()  # the copy a fork's parent set up, if any


def _read_batch(fn: Callable, jobs: list) -> list:
    return [fn(job) for job in jobs]


def _start_worker(spec: WorkerSpec) -> None:
    if current_worker(spec) is None:  # not inherited from a fork
        init_worker(spec).warm_up()
    set_up_done()


def _import_writers() -> None:
    """Import pyarrow and datasets (about a second) for the parquet writers and the card.

    Not at module import: the worker processes, forked before this, do not need them.
    """
    from dsgen import card, parquet_writer  # noqa: F401
    from dsgen.features import FEATURES  # noqa: F401


def uses_model(config: BuildConfig) -> bool:
    """Whether the build runs a model pass (and so opens a backend)."""
    return config.backend != "none" and any(p in MODEL_PASSES for p in config.selected_passes())


def kept_folders(config: BuildConfig) -> list[tuple[str, Path]]:
    """Folders the build writes to that must outlive it: the model-call cache (unless
    ``--no-cache``) and, for local models, the converted-model folder."""
    if not uses_model(config):
        return []
    from dsgen.backends.model_files import default_models_dir
    from dsgen.cache import default_cache_dir

    kept = [("model-call cache", config.cache_dir or default_cache_dir())] if config.use_cache else []
    if config.backend == "transformers":
        kept.append(("converted-model", default_models_dir()))
    return kept


def open_backend(config: BuildConfig):
    """The configured backend wrapped in the model-call cache, or ``None``."""
    if not uses_model(config):
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


def check_folders(out_dir: Path, seeds_dir: Path, templates_dir: Path, kept: Iterable[tuple[str, Path]] = ()) -> None:
    """Refuse an output folder whose replacement would lose the user's files, and a
    build's output given as the seeds folder.

    A build replaces its output folder as a whole, so that folder must be new, empty or
    a previous build (it holds ``build-report.json`` and ``dataset/``); it must not be
    or hold the seeds or templates folder, nor a folder in ``kept`` (``(what, folder)``
    pairs such as the model-call cache, which every build would otherwise delete, so
    that each rebuild silently repeated every model call); and it must not lie inside the seeds folder,
    where the next build would read it as articles. (``dsgen build out`` is an easy
    slip: ``validate``, ``stats`` and ``push`` take the output folder first.) Its
    absolute path must be valid UTF-8: the parquet writer opens files by a UTF-8 path,
    and the lm-eval tasks record the dataset folder's path as text.

    Raises:
        ConfigError: one line naming the folder at stake.
    """
    if is_build(seeds_dir):
        raise ConfigError(f"seeds folder {seeds_dir} holds a dsgen build, not articles; "
                          "give the folder of articles (`dsgen build SEEDS_DIR -o OUT_DIR`)")
    out, seeds = out_dir.resolve(), seeds_dir.resolve()
    shown = not_utf8(out)
    if shown is not None:
        raise ConfigError(f"output folder {shown}: its path is not valid UTF-8, and a build writes its parquet files "
                          "by a UTF-8 path and records the path as text in the lm-eval tasks; choose another folder")
    for what, folder, resolved in (("seeds", seeds_dir, seeds), ("templates", templates_dir, templates_dir.resolve())):
        if is_within(resolved, out):
            where = "is" if out == resolved else f"holds {folder},"
            raise ConfigError(f"output folder {out_dir} {where} the {what} folder, and a build replaces its output "
                              "folder as a whole; choose another output folder")
    for what, folder in kept:
        if is_within(folder.resolve(), out):
            where = "is the output folder" if folder.resolve() == out else f"is inside the output folder {out_dir}"
            raise ConfigError(f"{what} folder {folder} {where}, and a build replaces its output folder as a whole, "
                              "deleting it; choose a folder outside it")
    if is_within(out, seeds):  # (the seeds folder itself was refused above)
        raise ConfigError(f"output folder {out_dir} is inside the seeds folder {seeds_dir}, where later builds "
                          "would read it as articles; choose a folder outside it")
    if out_dir.is_file():
        raise ConfigError(f"output folder {out_dir} is a file")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not is_build(out_dir):
        raise ConfigError(f"{out_dir} is not empty and holds no dsgen build (no build-report.json and dataset/), "
                          "and a build replaces its output folder as a whole; remove it or choose another")


def is_build(folder: Path) -> bool:
    """Whether ``folder`` holds a dsgen build (what :func:`build` writes)."""
    return (folder / "build-report.json").is_file() and (folder / "dataset").is_dir()


def build(config: BuildConfig, progress: Progress | None = None, backend=None) -> BuildResult:
    """Run every selected pass, validate, dedupe, split and publish atomically.

    Documents stream through in chunks of ``config.chunk_size`` articles (fewer when
    they hold more than ``config.chunk_chars`` characters of text): templated passes
    (and row building and validation) run on ``config.num_proc`` worker processes,
    or as Ray tasks with ``config.engine == "ray"``; model passes, dedupe and
    writing stay in this process and take chunks in order, so the output is the
    same for any engine and number of workers.

    ``backend`` overrides the configured one (tests pass a fake or shared model).
    The previous ``out_dir`` stays untouched until the new build is complete; a build
    that fails (or is interrupted) removes the folders it created for ``out_dir``.
    """
    progress = progress or (lambda stage, done, total: None)
    timings: dict[str, float] = defaultdict(float)
    t0 = time.perf_counter()
    own_backend = backend is None
    out_dir = Path(config.out_dir)
    if out_dir.is_symlink():  # build where it points: the swap renames folders, and would replace the link
        out_dir = out_dir.resolve()
    work = None
    with tempfile.TemporaryFile(prefix="dsgen-spool-") as spool, contextlib.ExitStack() as stack, build_collector():
        templates_dir = resolve_templates_dir(config.templates_dir)
        check_folders(out_dir, Path(config.seeds_dir), templates_dir, kept_folders(config))
        store = TemplateStore(templates_dir)
        pass_objs = [get_pass(name) for name in config.selected_passes()]
        options = {**config.options, "model_items_per_doc": config.model_items_per_doc, "temperature": config.temperature}
        spec = WorkerSpec(templates_dir, config.seed, tuple(p.name for p in pass_objs if not p.needs_backend), options)
        if config.engine == "ray":
            from dsgen.engine_ray import ray_results

            metas, skipped = _spool_corpus(config, spool)
            results = ray_results(spec, _read_spool(spool), config.num_proc)
        else:
            engine = LocalEngine(spec, config.num_proc)
            stack.callback(engine.close)
            metas, skipped = _spool_corpus(config, spool, engine.map_files)
            results = engine.results(_read_spool(spool))  # a pool starts on the first chunks,
            _import_writers()  # while this process imports the writers
            set_up_done()
        timings["read_corpus"] = time.perf_counter() - t0
        splits = assign_splits([m.doc_id for m in metas], config.test_size, config.seed)
        stack.enter_context(contextlib.closing(results))
        created = missing_folders(out_dir)  # what a failed build removes again (the work folder's parents)
        try:
            remove_stale(out_dir)  # leftovers of a killed build
            work = make_work_dir(out_dir)
            first = next(results)  # workers were forked before any model is loaded here
            if backend is None and any(p.needs_backend for p in pass_objs):
                with model_collector():
                    backend = open_backend(config)
            ctx = PassContext(store, seed=config.seed, backend=backend, options={**options, "progress": progress})
            renderer = MessageRenderer(store)
            dataset_dir = work / "dataset"
            with _Publisher(work, splits, renderer) as publisher:
                done = 0
                for result in itertools.chain([first], results):
                    publisher.documents(result.documents)
                    for name, seconds in result.seconds.items():
                        timings[name] += seconds
                    outcomes = dict(result.passes)
                    for p in pass_objs:
                        publisher.tally.pass_method[p.name] = p.method
                        if p.name not in outcomes:  # a model pass: it runs here, where the backend is
                            start = time.perf_counter()
                            outcomes[p.name] = _model_outcomes(p, result.documents, ctx, renderer)
                            timings[f"pass:{p.name}"] += time.perf_counter() - start
                        for outcome in outcomes[p.name]:
                            publisher.publish(outcome)
                    done += len(result.documents)
                    progress("passes", done, len(metas))
            report = _report(config, metas, skipped, splits, publisher.tally, timings, backend, renderer.sources)
            sizes = {key: (sink.nbytes, sink.path.stat().st_size) for key, sink in publisher.sinks.items()}
            _write_card(dataset_dir, report, metas, splits, config, sizes)
            shutil.copy(store.path("boilerplate.yaml"), work / "boilerplate.yaml")
            from dsgen.harness import write_harness_tasks

            write_harness_tasks(work / "lm_eval", dataset_dir=out_dir.resolve() / "dataset", counts=report["counts"])
            report["timings"]["total"] = round(time.perf_counter() - t0, 3)
            (work / "build-report.json").write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")
            swap_into_place(work, out_dir)
        except BaseException:  # an error, or Ctrl-C: leave no trace
            if work is not None:
                shutil.rmtree(work, ignore_errors=True)
            remove_empty(created)
            raise
        finally:
            if own_backend and backend is not None:
                backend.close()
    return BuildResult(out_dir, report)


class _Publisher:
    """The in-order end of a build: dedupe, split, parquet sinks, rejected.jsonl, counts.

    Rows may come without ``messages`` (from worker processes and Ray tasks): they are
    rendered here for the rows that are written, and only for those.
    """

    def __init__(self, work: Path, splits: dict[str, str], renderer: MessageRenderer) -> None:
        self.splits = splits
        self.renderer = renderer
        self.titles: dict[str, str] = {}  # of the current chunk's documents
        from dsgen.features import FEATURES
        from dsgen.parquet_writer import ParquetSink, shard_name

        self.sinks = {(c, s): ParquetSink(work / "dataset" / c / shard_name(s), FEATURES[c])
                      for c in CONFIG_NAMES for s in SPLITS}
        self.dedupers = {c: Deduper() for c in CONFIG_NAMES}
        self.tally = _Tally()
        self.rejected = jsonlines.open(work / "rejected.jsonl", mode="w", sort_keys=True)

    def __enter__(self) -> "_Publisher":
        return self

    def __exit__(self, *exc) -> None:
        self.rejected.close()
        if exc[0] is None:
            for sink in self.sinks.values():
                sink.close()

    def documents(self, rows: list[dict[str, Any]]) -> None:
        """A chunk's document rows, before its outcomes."""
        self.titles = {row["doc_id"]: row["title"] for row in rows}
        for row in rows:
            split = self.splits[row["doc_id"]]
            self.sinks[("documents", split)].write(ensure_messages(self.renderer, "documents", row, row["title"]))
            self.tally.counts["documents"][split] += 1

    def publish(self, o: Outcome) -> None:
        """Write ``o`` to its split, or record it in rejected.jsonl with its reason.

        A row rejected as a (near-)duplicate is recorded without its ``messages``: the
        templates render them from the other columns, and the row it repeats has them.
        """
        tally = self.tally
        tally.passes[o.pass_name]["candidates"] += 1
        if o.reason is not None:
            self._reject(o, o.reason, o.detail, self._with_messages(o))
            return
        deduper = self.dedupers[o.config]
        if o.signature is None:  # a model pass's row, made in this process
            dup = deduper.check(dedupe_key(o.config, o.row), o.row["id"])
        else:
            dup = deduper.check_signature(o.signature, o.row["id"])
        if dup:
            self._reject(o, dup[0], f"same as {dup[1]}", {k: v for k, v in o.row.items() if k != "messages"})
            return
        row = self._with_messages(o)
        split = self.splits[o.doc_id]
        self.sinks[(o.config, split)].write(row)
        tally.passes[o.pass_name]["published"] += 1
        tally.counts[o.config][split] += 1
        tally.doc_counts[o.doc_id][o.config] += 1
        if o.config == "fact_check":
            tally.doc_counts[o.doc_id][f"fact_check:{o.label}"] += 1

    def _with_messages(self, o: Outcome) -> dict[str, Any]:
        return ensure_messages(self.renderer, o.config, o.row, self.titles[o.doc_id])

    def _reject(self, o: Outcome, reason: str, detail: str | None, row: dict[str, Any]) -> None:
        tally = self.tally
        tally.passes[o.pass_name]["rejected"] += 1
        tally.reasons[reason] += 1
        tally.pass_reasons[o.pass_name][reason] += 1
        self.rejected.write({
            "config": o.config, "doc_id": o.doc_id, "pass": o.pass_name, "method": o.method,
            "generator": o.generator, "reason": reason, "detail": detail, "row": row,
            "raw_output": o.raw_output,
        })


def _model_outcomes(p, rows: list[dict[str, Any]], ctx: PassContext, renderer: MessageRenderer) -> list[Outcome]:
    """Run a model pass on one chunk (its documents rebuilt from their rows)."""
    chunk = [Document(r["doc_id"], r["title"], r["text"], r["source"], r["sha256"]) for r in rows]
    ctx.neighbours = chunk
    by_id = {d.doc_id: d for d in chunk}
    with model_collector():  # the model may load here, on the first cache miss
        return [prepare(cand, by_id[cand.doc_id], ctx, renderer) for cand in p.run(chunk, ctx)]


def _report(config, metas, skipped, splits, tally, timings, backend, message_templates) -> dict[str, Any]:
    model_stats = None
    if backend is not None and hasattr(backend, "report"):  # the cache: hits, misses and token counts
        model_stats = backend.report()
    elif backend is not None and hasattr(backend, "stats"):
        model_stats = backend.stats if isinstance(backend.stats, dict) else vars(backend.stats)
    return {
        "config": {  # seeds_dir absolute, so that `dsgen export`, run from any folder, can refuse to write into it
            "seeds_dir": str(Path(config.seeds_dir).absolute()), "passes": list(config.selected_passes()),
            "backend": config.backend, "model": getattr(backend, "model_id", None), "seed": config.seed,
            "test_size": config.test_size, "encoding": config.encoding,
            # The templates of the ``messages`` column, so ``dsgen validate`` can render them again.
            "message_templates": message_templates,
        },
        "documents": {"read": len(metas), "train": sum(1 for m in metas if splits[m.doc_id] == "train"),
                      "test": sum(1 for m in metas if splits[m.doc_id] == "test")},
        "skipped": [{"source": s.source, "reason": s.reason, "detail": s.detail} for s in skipped],
        "counts": {c: {s: tally.counts[c][s] for s in SPLITS} for c in CONFIG_NAMES},
        "passes": {name: {"method": tally.pass_method.get(name, ""), "candidates": c["candidates"],
                          "published": c["published"], "rejected": c["rejected"],
                          "rejection_reasons": dict(sorted(tally.pass_reasons[name].items()))}
                   for name, c in sorted(tally.passes.items())},
        "rejection_reasons": dict(sorted(tally.reasons.items())),
        "rejected_total": sum(tally.reasons.values()),
        "per_document": {m.doc_id: dict(sorted(tally.doc_counts[m.doc_id].items())) for m in metas},
        "models": [backend.model_id] if backend is not None else [],
        "model_calls": model_stats,
        "engine": {"name": config.engine, "num_proc": config.num_proc, "chunk_size": config.chunk_size,
                   "chunk_chars": config.chunk_chars},
        "timings": {k: round(v, 3) for k, v in timings.items()},
    }


def _write_card(dataset_dir: Path, report, metas, splits, config, sizes) -> None:
    from dsgen.card import card_data, card_text

    data = card_data(report["counts"], sizes, license=config.license, language=config.language,
                     pretty_name=config.pretty_name)
    sources = [{"doc_id": m.doc_id, "split": splits[m.doc_id], "title": m.title, "source": m.source, "sha256": m.sha256} for m in metas]
    (dataset_dir / "README.md").write_text(card_text(data, report, sources), encoding="utf-8")
