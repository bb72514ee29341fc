"""Crash safety: out/ is the previous complete build or the new one, never a mix.

Failures are injected at several points of a build (a pass, a template, the parquet
writer, the card, Ctrl-C) and real builds are killed with SIGKILL at random moments;
afterwards ``out/`` must be byte-identical to a complete build, with no work folders
left behind and nothing repeated on the rerun (rows or finished model calls).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from click.testing import CliRunner

from conftest import REPO, SEEDS, TEMPLATES, templated_build
from dsgen.atomic_dir import make_work_dir, remove_stale, swap_into_place
from dsgen.cli import cli

#: Files whose bytes define a build (lm_eval YAMLs hold the absolute out path and the
#: report holds timings, so they are compared separately).
PUBLISHED = ("dataset", "rejected.jsonl", "boilerplate.yaml")
KILL_SEED = int(os.environ.get("DSGEN_KILL_SEED", time.time_ns() % 10_000))


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (relative path -> bytes)."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def published(out: Path) -> dict[str, bytes]:
    snap = {k: v for k, v in snapshot(out).items() if k.split("/")[0] in PUBLISHED}
    report = json.loads((out / "build-report.json").read_text())
    report.pop("timings")
    report.pop("model_calls", None)  # cache hits and misses differ by design on a rerun
    report.pop("engine", None)  # how the build ran (workers), not what it built
    snap["build-report.json (no timings)"] = json.dumps(report, sort_keys=True).encode()
    return snap


def leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.glob(f".{out.name}.*"))


def all_ids(out: Path) -> list[str]:
    return [r for f in sorted((out / "dataset").rglob("*.parquet")) for r in pq.read_table(f, columns=["id"])["id"].to_pylist()]


# --------------------------------------------------------------------------- injected failures


def _raise_in_fact_check_pass(monkeypatch):
    from dsgen.passes.factcheck_template import FactCheckTemplatePass

    original = FactCheckTemplatePass.run

    def run(self, docs, ctx):
        for i, cand in enumerate(original(self, docs, ctx)):
            if i == 5:
                raise RuntimeError("injected failure in a pass")
            yield cand

    monkeypatch.setattr(FactCheckTemplatePass, "run", run)
    return RuntimeError


def _interrupt_parquet_writer(monkeypatch):
    from dsgen.parquet_writer import ParquetSink

    original, calls = ParquetSink.write, []

    def write(self, row):
        calls.append(1)
        if len(calls) == 40:
            raise KeyboardInterrupt  # Ctrl-C while rows are being written
        return original(self, row)

    monkeypatch.setattr(ParquetSink, "write", write)
    return KeyboardInterrupt


def _fail_writing_the_card(monkeypatch):
    import dsgen.build

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(dsgen.build, "_write_card", full_disk)
    return OSError


def _fail_swapping(monkeypatch):
    import dsgen.build

    def no_swap(work, out_dir):
        raise PermissionError(13, "Permission denied", str(out_dir))

    monkeypatch.setattr(dsgen.build, "swap_into_place", no_swap)
    return PermissionError


@pytest.mark.parametrize("inject", [_raise_in_fact_check_pass, _interrupt_parquet_writer, _fail_writing_the_card, _fail_swapping])
def test_a_build_failing_midway_leaves_the_previous_out_byte_identical(built_copy, monkeypatch, inject):
    before = snapshot(built_copy)
    error = inject(monkeypatch)
    with pytest.raises(error):
        templated_build(SEEDS, built_copy)
    assert snapshot(built_copy) == before
    assert leftovers(built_copy) == []


@pytest.mark.parametrize("inject", [_raise_in_fact_check_pass, _interrupt_parquet_writer, _fail_writing_the_card, _fail_swapping])
def test_a_build_failing_midway_leaves_no_folder_it_created(tmp_path, monkeypatch, inject):
    """`-o new/deeper/out` creates new/ and new/deeper/ for the work folder; a build that
    fails (or is stopped with Ctrl-C) takes them away again, and only them."""
    (tmp_path / "mine").mkdir()
    error = inject(monkeypatch)
    with pytest.raises(error):
        templated_build(SEEDS, tmp_path / "new" / "deeper" / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]


def test_a_template_that_raises_is_a_one_line_error_and_out_survives(built_copy, tmp_path):
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    spec = yaml.safe_load((templates / "messages" / "fact_check.yaml").read_text())
    spec["assistant"] = "{{ label }} {{ no_such_variable }}"
    (templates / "messages" / "fact_check.yaml").write_text(yaml.safe_dump(spec))
    before = snapshot(built_copy)
    result = CliRunner().invoke(cli, ["build", str(SEEDS), "-o", str(built_copy), "--backend", "none",
                                      "--templates", str(templates), "-q"])
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    error = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert len(error) == 1 and "fact_check.yaml" in error[0] and "no_such_variable" in error[0], result.output
    assert snapshot(built_copy) == before
    assert leftovers(built_copy) == []


# --------------------------------------------------------------------------- the swap itself


def test_stale_work_folders_of_dead_builds_are_removed_and_live_ones_kept(tmp_path):
    out = tmp_path / "out"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    live = os.getppid()
    for name in (f".out.tmp-{dead.pid}-abcd1234", f".out.old-{dead.pid}", ".out.tmp-legacy_mkdtemp", f".out.tmp-{live}-feedbeef"):
        (tmp_path / name / "dataset").mkdir(parents=True)
    (tmp_path / ".other.tmp-1-x").mkdir()  # another output folder's business
    removed = {p.name for p in remove_stale(out)}
    assert removed == {f".out.tmp-{dead.pid}-abcd1234", ".out.tmp-legacy_mkdtemp"}
    # out/ was missing: the previous build set aside by a killed swap is put back.
    assert (out / "dataset").is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([".other.tmp-1-x", f".out.tmp-{live}-feedbeef", "out"])


def test_swap_replaces_a_complete_folder_in_one_step(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("old")
    work = make_work_dir(out)
    assert work.parent == tmp_path and work.stat().st_mode & 0o777 == 0o777 & ~_umask()
    (work / "new.txt").write_text("new")
    swap_into_place(work, out)
    assert snapshot(out) == {"new.txt": b"new"}
    assert leftovers(out) == []


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# --------------------------------------------------------------------------- SIGKILL

_KILL_LOOP = textwrap.dedent("""
    import json, os, random, signal, sys, time
    sys.path.insert(0, {tests!r})
    from pathlib import Path
    from conftest import SEEDS, templated_build
    from test_crash import _digest, published

    out, rounds, seed = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    rng = random.Random(seed)
    templated_build(SEEDS, out)  # warm up: imports, NLTK, lemmas
    t0 = time.perf_counter()
    templated_build(SEEDS, out)
    build_seconds = time.perf_counter() - t0
    results = []
    for n in range(rounds):
        pid = os.fork()
        if pid == 0:  # the child builds over and over until it is killed
            try:
                while True:
                    templated_build(SEEDS, out)
            finally:
                os._exit(1)
        # Wait until the child is writing its work folder, then kill at a random moment.
        while not list(out.parent.glob(f".{{out.name}}.tmp-{{pid}}-*")):
            if os.waitpid(pid, os.WNOHANG)[0]:
                sys.exit("the build loop died on its own")
            time.sleep(0.002)
        delay = rng.uniform(0, build_seconds)
        time.sleep(delay)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        snap = published(out) if out.exists() else None
        results.append({{"delay": round(delay, 3), "out_exists": out.exists(),
                        "digest": _digest(snap) if snap else None,
                        "leftovers": sorted(p.name for p in out.parent.glob(f".{{out.name}}.*"))}})
    print(json.dumps({{"build_seconds": build_seconds, "rounds": results}}))
""")


def _digest(snap: dict[str, bytes]) -> str:
    h = hashlib.sha256()
    for k in sorted(snap):
        h.update(k.encode() + b"\0" + hashlib.sha256(snap[k]).digest())
    return h.hexdigest()


def test_sigkill_at_random_moments_never_leaves_a_partial_out(built, tmp_path):
    """Builds killed -9 at random points: out/ is always the complete previous build;
    the rerun cleans the killed builds' work folders and gives the same bytes."""
    script = tmp_path / "kill_loop.py"
    script.write_text(_KILL_LOOP.format(tests=str(REPO / "tests")))
    out = tmp_path / "out"
    rounds = 5
    proc = subprocess.run([sys.executable, str(script), str(out), str(rounds), str(KILL_SEED)],
                          capture_output=True, text=True, timeout=240, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    reference = _digest(published(built))
    print(f"kill seed {KILL_SEED}: one build {data['build_seconds']:.2f}s; kills at "
          + ", ".join(f"{r['delay']}s" for r in data["rounds"]))
    for r in data["rounds"]:
        assert r["out_exists"] and r["digest"] == reference, (KILL_SEED, r)
        assert all(name.startswith(".out.tmp-") for name in r["leftovers"]), r  # never a set-aside .old
    assert any(r["leftovers"] for r in data["rounds"]), "no kill landed inside a build"
    result = CliRunner().invoke(cli, ["build", str(SEEDS), "-o", str(out), "--backend", "none", "--templates", str(TEMPLATES), "-q"])
    assert result.exit_code == 0, result.output
    assert published(out) == published(built)
    ids = all_ids(out)
    assert len(ids) == len(set(ids))
    assert leftovers(out) == []


def test_sigkill_of_the_dsgen_command_then_rerun(built, tmp_path):
    """`dsgen build` itself (a fresh process) killed -9 while it writes its work folder.

    One-article chunks keep the work folder alive for most of the build (with the default
    chunk size it exists for a few tens of milliseconds on the seed corpus).
    """
    config = tmp_path / "dsgen.toml"
    config.write_text("[build]\nchunk_size = 1\n")
    reference = templated_build(SEEDS, tmp_path / "reference", chunk_size=1).out_dir
    out = tmp_path / "out"
    shutil.copytree(built, out)  # a previous complete build
    before = snapshot(out)
    args = ["build", str(SEEDS), "-o", str(out), "--backend", "none", "--templates", str(TEMPLATES), "--config", str(config), "-q"]
    proc = subprocess.Popen([sys.executable, "-m", "dsgen.cli", *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".out.tmp-*")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    time.sleep(random.Random(KILL_SEED).uniform(0, 0.15))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    mid_build = bool(list(tmp_path.glob(".out.tmp-*")))
    print(f"dsgen build killed {'inside' if mid_build else 'after'} its work phase")
    # Killed before the swap: the previous build, untouched; after it: the new complete
    # build. Never anything in between.
    assert snapshot(out) == before or published(out) == published(reference)
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert published(out) == published(reference)
    assert leftovers(out) == []


# --------------------------------------------------------------------------- model calls

_RESPONDER = textwrap.dedent('''
    """A deterministic stand-in model: questions encode their answer, the roundtrip decodes it."""
    import os, re, time

    LETTERS = "abcdefghijklmnop"

    def respond(prompt, log=None, delay=0.0):
        time.sleep(delay)
        if log:
            with open(log, "a", encoding="utf-8") as f:
                f.write(prompt.encode("utf-8").hex() + "\\n")
        last = prompt.rsplit("\\n\\n", 1)[-1]
        m = re.search(r"Answer: (.*)\\nQuestion: [^\\n]*$", last)
        if m:
            code = "".join(LETTERS[b >> 4] + LETTERS[b & 15] for b in m.group(1).encode())
            return f" is named by the code {code} in this article?"
        m = re.search(r"code ([a-p]+) in this article\\?\\nAnswer:\\s*$", last)
        if m:
            c = m.group(1)
            return " " + bytes(LETTERS.index(c[i]) * 16 + LETTERS.index(c[i + 1]) for i in range(0, len(c), 2)).decode()
        return " I do not know"

    def model_build(out, cache, log=None, delay=0.0):
        import sys
        sys.path.insert(0, os.environ["DSGEN_TESTS"])
        from conftest import SEEDS, TEMPLATES
        from dsgen.backends.fake import FakeBackend
        from dsgen.build import build
        from dsgen.cache import CachedBackend
        from dsgen.config import load_config

        backend = CachedBackend(FakeBackend(responder=lambda p: respond(p, log, delay)), cache, chunk_size=2)
        config = load_config(None, backend="fake", passes="qa_model", seeds_dir=SEEDS, out_dir=out, templates_dir=TEMPLATES)
        return build(config, backend=backend), backend

    if __name__ == "__main__":
        import sys
        model_build(sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]))
''')


def load_stand_in(folder: Path, source: str = _RESPONDER):
    """Write the stand-in model module to ``folder`` and import it (fresh, under a unique name)."""
    import importlib.util

    path = folder / "stand_in_model.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(f"stand_in_model_{abs(hash(str(folder)))}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _prompts(log: Path) -> list[str]:
    """Prompts the stand-in model was asked, in order (a line cut by SIGKILL is left out)."""
    out = []
    for line in log.read_text().split() if log.exists() else []:
        try:
            out.append(bytes.fromhex(line).decode())
        except ValueError:
            pass
    return out


def test_sigkill_during_model_calls_then_rerun_repeats_no_finished_call(tmp_path, monkeypatch):
    monkeypatch.setenv("DSGEN_TESTS", str(REPO / "tests"))
    model_build = load_stand_in(tmp_path).model_build

    reference, ref_backend = model_build(tmp_path / "reference", tmp_path / "fresh-cache")
    total = ref_backend.misses
    assert reference.report["counts"]["qa"]["train"] + reference.report["counts"]["qa"]["test"] > 0

    cache, log, out = tmp_path / "cache", tmp_path / "calls-1.log", tmp_path / "out"
    kill_after = random.Random(KILL_SEED).randrange(3, total - 3)
    proc = subprocess.Popen([sys.executable, str(tmp_path / "stand_in_model.py"), str(out), str(cache), str(log), "0.02"],
                            stderr=subprocess.PIPE, env={**os.environ, "DSGEN_TESTS": str(REPO / "tests")})
    deadline = time.monotonic() + 120
    while len(_prompts(log)) < kill_after and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()[-2000:]
    asked_before_kill = _prompts(log)
    cached = sorted((cache).rglob("*.json"))
    assert not out.exists()

    result, backend = model_build(out, cache, tmp_path / "calls-2.log")
    asked_again = set(_prompts(tmp_path / "calls-2.log")) & set(asked_before_kill)
    print(f"model calls: {total} in all, killed after {len(asked_before_kill)}, {len(cached)} were cached, "
          f"{backend.misses} asked on rerun, {len(asked_again)} asked twice")
    assert backend.hits == len(cached) and backend.hits + backend.misses == total
    assert len(asked_again) <= 2  # at most the one chunk (chunk_size=2) in flight at the kill
    assert published(out) == published(reference.out_dir)
    ids = all_ids(out)
    assert len(ids) == len(set(ids))
