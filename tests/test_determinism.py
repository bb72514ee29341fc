"""Determinism: the same inputs, templates, model and seed give the same bytes.

Compared: every parquet file, the dataset card, rejected.jsonl and the build report
(minus timings), across repeated builds, worker counts, hash seeds, time zones, the
seeds folder's location and file times, and a cold vs warm model-call cache.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

from conftest import SEEDS, TEMPLATES, templated_build
from test_crash import REPO, published


def assert_same_build(a, b):
    pa, pb = published(a), published(b)
    assert sorted(pa) == sorted(pb)
    for name in pa:
        assert pa[name] == pb[name], f"{name} differs"


def test_two_builds_are_byte_identical(built, tmp_path):
    again = templated_build(SEEDS, tmp_path / "again").out_dir
    assert_same_build(built, again)
    assert any(name.endswith(".parquet") for name in published(built))


def test_worker_count_does_not_change_the_output(tmp_path):
    """Chunks of two articles, so two workers really split the work."""
    serial = templated_build(SEEDS, tmp_path / "serial", chunk_size=2, num_proc=1).out_dir
    parallel = templated_build(SEEDS, tmp_path / "parallel", chunk_size=2, num_proc=2)
    assert parallel.report["engine"]["num_proc"] == 2
    assert_same_build(serial, parallel.out_dir)


def test_hash_seed_and_time_zone_do_not_change_the_output(built, tmp_path):
    """A fresh interpreter with another PYTHONHASHSEED (set and dict-of-str order) and TZ."""
    out = tmp_path / "other"
    env = {**os.environ, "PYTHONHASHSEED": "4242", "TZ": "Pacific/Kiritimati", "LC_ALL": "C"}
    proc = subprocess.run([sys.executable, "-m", "dsgen.cli", "build", str(SEEDS), "-o", str(out), "--backend", "none",
                           "--templates", str(TEMPLATES), "-q"], env=env, capture_output=True, text=True, timeout=180, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert_same_build(built, out)


def test_location_file_times_and_listing_order_do_not_change_the_dataset(built, tmp_path):
    seeds = tmp_path / "elsewhere" / "my seeds"
    seeds.mkdir(parents=True)
    for i, path in enumerate(sorted(SEEDS.glob("*.txt"), reverse=True)):  # created in reverse order
        shutil.copy(path, seeds / path.name)
        os.utime(seeds / path.name, (time.time() - i * 86400, time.time() - i * 86400))
    moved = templated_build(seeds, tmp_path / "out").out_dir
    a, b = published(built), published(moved)
    report = "build-report.json (no timings)"
    assert {k: v for k, v in a.items() if k != report} == {k: v for k, v in b.items() if k != report}


def test_a_warm_model_cache_gives_the_same_output_as_a_cold_one(tmp_path, monkeypatch):
    from test_crash import load_stand_in

    monkeypatch.setenv("DSGEN_TESTS", str(REPO / "tests"))
    model_build = load_stand_in(tmp_path).model_build

    cold, cold_backend = model_build(tmp_path / "cold", tmp_path / "cache")
    warm, warm_backend = model_build(tmp_path / "warm", tmp_path / "cache")
    assert cold_backend.misses > 0 and cold_backend.hits == 0
    assert warm_backend.misses == 0 and warm_backend.hits == cold_backend.misses
    assert_same_build(cold.out_dir, warm.out_dir)
