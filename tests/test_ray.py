"""--engine ray on a local Ray instance writes the same dataset as the local engine."""

from __future__ import annotations

import json

import pytest

from conftest import SEEDS, templated_build
from dsgen.features import CONFIG_NAMES, SPLITS
from dsgen.parquet_writer import shard_name

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'dsgen[ray]')")
pytest.importorskip("ray.data", reason="Ray Data is not installed (pip install 'dsgen[ray]')")

OUTPUT_FILES = [f"dataset/{c}/{shard_name(s)}" for c in CONFIG_NAMES for s in SPLITS] + ["rejected.jsonl"]


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def both(local_ray, tmp_path_factory):
    # Two chunks of the five seed articles, so two actors share the work.
    local = templated_build(SEEDS, tmp_path_factory.mktemp("local") / "out", chunk_size=3).out_dir
    on_ray = templated_build(SEEDS, tmp_path_factory.mktemp("ray") / "out", chunk_size=3, engine="ray", num_proc=2).out_dir
    return local, on_ray


@pytest.mark.parametrize("name", OUTPUT_FILES)
def test_ray_engine_writes_the_same_bytes_as_the_local_engine(both, name):
    local, on_ray = both
    assert (local / name).read_bytes() == (on_ray / name).read_bytes()


def test_ray_engine_reports_itself(both):
    report = json.loads((both[1] / "build-report.json").read_text())
    assert report["engine"] == {"name": "ray", "num_proc": 2, "chunk_size": 3, "chunk_chars": 4_000_000}
    assert report["documents"]["read"] == 5


def test_the_driver_sends_chunks_to_the_object_store_as_it_reads_them(local_ray):
    import pickle
    import tracemalloc

    from dsgen.engine_ray import chunk_dataset
    from dsgen.types import Document

    def chunk(i):  # two articles of 250,000 characters
        return [Document(f"{i}-{j}", "title", chr(97 + i % 26) * 250_000, f"{i}-{j}.txt", "0" * 64) for j in range(2)]

    tracemalloc.start()
    try:
        ds, count = chunk_dataset(chunk(i) for i in range(40))  # 20 MB of text
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # A chunk or two at a time (plus Ray's own first-use allocations), not the corpus.
    assert peak < 12 * 2**20
    rows = list(ds.iter_rows())
    assert count == 40 and [r["chunk"] for r in rows] == list(range(40))
    assert pickle.loads(rows[7]["docs"]) == chunk(7)
