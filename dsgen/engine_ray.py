"""The Ray engine: chunks of documents go through the passes as Ray Data tasks.

Chunks in, checked candidate rows out: each chunk becomes one row of a Ray Dataset,
a pool of Ray actors (each holding one :class:`~dsgen.chunks.ChunkWorker`) maps it to
its :class:`~dsgen.chunks.ChunkResult`, and the driver reads the results back in
chunk order (``preserve_order``), then dedupes, splits and writes exactly as the
local engine does. Same input, same dataset.

Connects to the cluster named by ``RAY_ADDRESS`` (or an already initialized Ray),
else starts a local Ray. Templates travel with the work, so worker nodes need dsgen
installed but not the driver's files. See ``docs/scale.md``.
"""

from __future__ import annotations

import logging
import os
import pickle
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Iterable, Iterator

from dsgen.chunks import ChunkResult, ChunkWorker, WorkerSpec
from dsgen.collector import build_collector
from dsgen.errors import ConfigError
from dsgen.types import Document


def _pack_templates(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


class _ChunkMapper:
    """A Ray Data actor: unpacks the templates once, then runs chunks."""

    def __init__(self, spec: WorkerSpec, templates: dict[str, bytes]) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="dsgen-templates-")
        root = Path(self._dir.name)
        for rel, data in templates.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(data)
        self.worker = ChunkWorker(replace(spec, templates_dir=root))

    def __call__(self, row: dict) -> dict:
        with build_collector():  # as in a local build (see dsgen.collector)
            result = self.worker.run(pickle.loads(row["docs"])).without_messages()  # as run_chunk does
            return {"chunk": row["chunk"], "result": pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)}


def chunk_dataset(chunks: Iterable[list[Document]]):
    """A Ray Dataset of the pickled chunks, one row and one block per chunk, and the
    number of chunks.

    Each chunk goes to the object store as soon as it is read, so the driver holds
    references, not the corpus (the object store spills to disk when it fills).
    """
    import pyarrow as pa
    import ray
    import ray.data

    refs = [ray.put(pa.table({"chunk": [i], "docs": [pickle.dumps(chunk, protocol=pickle.HIGHEST_PROTOCOL)]}))
            for i, chunk in enumerate(chunks)]
    return (ray.data.from_arrow_refs(refs) if refs else None), len(refs)


def ray_results(spec: WorkerSpec, chunks: Iterable[list[Document]], num_proc: int = 1) -> Iterator[ChunkResult]:
    """Chunk results in chunk order, computed by ``num_proc`` Ray actors.

    Raises:
        ConfigError: Ray is not installed (``pip install 'dsgen[ray]'``).
    """
    try:
        import ray
        import ray.data
    except ImportError:
        raise ConfigError("--engine ray needs Ray: pip install 'dsgen[ray]'") from None
    started = not ray.is_initialized()
    if started:
        # ray.init() joins the cluster in RAY_ADDRESS when it is set, else starts a local one.
        ray.init(address=os.environ.get("RAY_ADDRESS"), include_dashboard=False,
                 log_to_driver=False, configure_logging=False)
    try:
        ctx = ray.data.DataContext.get_current()
        ctx.execution_options.preserve_order = True
        logging.getLogger("ray.data").setLevel(logging.WARNING)
        ds, count = chunk_dataset(chunks)
        if not count:
            return
        workers = max(1, min(num_proc, count))
        ds = ds.map(_ChunkMapper, fn_constructor_args=(spec, _pack_templates(Path(spec.templates_dir))),
                    compute=ray.data.ActorPoolStrategy(size=workers), num_cpus=1)
        expected = 0
        for row in ds.iter_rows():
            if row["chunk"] != expected:  # preserve_order guarantees this; never publish out of order
                raise RuntimeError(f"Ray returned chunk {row['chunk']} where {expected} was due")
            expected += 1
            yield pickle.loads(row["result"])
    finally:
        if started:
            ray.shutdown()
