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
    assert report["engine"] == {"name": "ray", "num_proc": 2, "chunk_size": 3}
    assert report["documents"]["read"] == 5
