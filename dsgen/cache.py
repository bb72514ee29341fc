"""Content-addressed on-disk cache of model calls, so rebuilds and resumed builds are cheap.

Storage is one small JSON file per call, ``<cache_dir>/<model-slug>/<key[:2]>/<key>.json``,
written to a temporary file in the same folder and moved into place with ``os.replace``.
Chosen over sqlite because:

* a reader sees either no entry or a complete one, even after SIGKILL mid-write (a leftover
  ``*.tmp`` file is never read back, and is deleted once it is an hour old, the next time
  an entry is written beside it);
* several processes (parallel builds, tests) can share one cache with no locking;
* entries are plain text a user can inspect, delete per model, or copy.

An entry holds the model's cache id (``Backend.cache_id``), prompt, decoding parameters and
completion only: never backend options such as API keys or server addresses.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from dsgen.backends.base import Backend, GenerationRequest, GenerationStats
from dsgen.errors import BackendError, ConfigError

__all__ = ["CacheStats", "CachedBackend", "cache_key", "default_cache_dir", "default_cache_root"]

_SCHEMA = 1
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def default_cache_root() -> Path:
    """dsgen's cache folder: ``$DSGEN_CACHE_DIR`` or ``~/.cache/dsgen``.

    Raises:
        ConfigError: ``~`` cannot be expanded (an unknown user, or no home folder).
    """
    env = os.environ.get("DSGEN_CACHE_DIR")
    try:
        return Path(env).expanduser() if env else Path.home() / ".cache" / "dsgen"
    except RuntimeError:  # pathlib: "Could not determine home directory."
        where = f"DSGEN_CACHE_DIR={env!r}" if env else "the cache folder ~/.cache/dsgen"
        raise ConfigError(f"{where}: cannot find that home folder; set DSGEN_CACHE_DIR to a folder path, "
                          "or pass --cache-dir") from None


def default_cache_dir() -> Path:
    """Default folder of the model-call cache: ``<cache root>/calls``."""
    return default_cache_root() / "calls"


def cache_key(model_id: str, request: GenerationRequest) -> str:
    """sha256 over the model's cache id, the prompt and every decoding parameter."""
    payload = {
        "model_id": model_id,
        "prompt": request.prompt,
        "params": dataclasses.asdict(request.params),
    }
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _model_slug(model_id: str) -> str:
    """A readable, collision-free folder name for a model id."""
    readable = re.sub(r"[^A-Za-z0-9._-]+", "-", model_id).strip("-.")[:60] or "model"
    digest = hashlib.sha256(model_id.encode("utf-8")).hexdigest()[:8]
    return f"{readable}-{digest}"


@dataclass
class CacheStats:
    """How many requests were answered from disk (hits) or by the model (misses)."""

    hits: int = 0
    misses: int = 0


class CachedBackend(Backend):
    """Wraps any backend; answers repeated calls from disk and persists new ones as they finish.

    Misses go to the inner backend in chunks of ``chunk_size`` and each chunk is written to
    disk before the next starts, so an interrupted build repeats at most one chunk.
    Identical requests within one ``generate`` call are sent to the model once.

    Args:
        backend: The model backend to wrap.
        cache_dir: Root folder of the cache (created on first write).
        enabled: ``False`` (``--no-cache``) bypasses the cache: no reads, no writes.
        chunk_size: Requests per inner call; defaults to the inner ``batch_size``, else
            4 x its ``concurrency``, else 8.
        progress: Called with the number of requests just completed (hits at once, then
            each chunk), so it plugs into ``bar.update``.
    """

    def __init__(
        self,
        backend: Backend,
        cache_dir: str | os.PathLike[str],
        enabled: bool = True,
        chunk_size: int | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self.backend = backend
        self.model_id = backend.model_id
        self._cache_id: str = getattr(backend, "cache_id", backend.model_id)
        self.cache_dir = Path(cache_dir)
        self.enabled = enabled
        self.chunk_size = max(1, chunk_size or _default_chunk_size(backend))
        self.progress = progress
        self.stats = CacheStats()
        self._swept: set[Path] = set()  # folders cleared of stale temporary files

    @property
    def cache_id(self) -> str:
        """The inner backend's cache id: what the keys and entries name the model by."""
        return self._cache_id

    @property
    def hits(self) -> int:
        return self.stats.hits

    @property
    def misses(self) -> int:
        return self.stats.misses

    @property
    def model_dir(self) -> Path:
        """Folder holding this model's entries."""
        return self.cache_dir / _model_slug(self.cache_id)

    def report(self) -> dict:
        """Hits and misses plus the inner backend's token counts, for the build report."""
        out: dict = {"cache_hits": self.stats.hits, "cache_misses": self.stats.misses}
        inner = getattr(self.backend, "stats", None)
        if isinstance(inner, GenerationStats):
            out.update(dataclasses.asdict(inner), tokens_per_second=inner.tokens_per_second)
        return out

    def generate(self, requests: Sequence[GenerationRequest]) -> list[str]:
        results: list[str | None] = [None] * len(requests)
        pending: dict[str, list[int]] = {}  # key -> positions waiting for it
        for i, request in enumerate(requests):
            key = cache_key(self.cache_id, request) if self.enabled else str(i)
            hit = self._read(key, request) if self.enabled and key not in pending else None
            if hit is not None:
                results[i] = hit
                self.stats.hits += 1
            else:
                pending.setdefault(key, []).append(i)
        n_hits = len(requests) - sum(len(positions) for positions in pending.values())
        if self.progress and n_hits:
            self.progress(n_hits)

        keys = list(pending)
        for start in range(0, len(keys), self.chunk_size):
            chunk = keys[start : start + self.chunk_size]
            chunk_requests = [requests[pending[k][0]] for k in chunk]
            # Model output is untrusted: a server's JSON may hold lone surrogates, which
            # no UTF-8 file (this cache, rejected.jsonl, parquet) can store.
            outputs = [_LONE_SURROGATE.sub("\ufffd", o) if isinstance(o, str) else o
                       for o in self.backend.generate(chunk_requests)]
            if len(outputs) != len(chunk_requests):
                raise BackendError(
                    f"backend {self.model_id!r} returned {len(outputs)} completions "
                    f"for {len(chunk_requests)} prompts"
                )
            done = 0
            for key, request, text in zip(chunk, chunk_requests, outputs):
                if self.enabled:
                    self._write(key, request, text)
                for i in pending[key]:
                    results[i] = text
                    done += 1
            self.stats.misses += done
            if self.progress:
                self.progress(done)
        return results  # type: ignore[return-value]  # every position was filled above

    def close(self) -> None:
        self.backend.close()

    def _path(self, key: str) -> Path:
        return self.model_dir / key[:2] / f"{key}.json"

    def _read(self, key: str, request: GenerationRequest) -> str | None:
        try:
            entry = json.loads(self._path(key).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return None  # unreadable entry: recompute and overwrite it
        # Guard against a (theoretical) hash collision or a hand-edited or clobbered file
        # (valid JSON that is not an entry, such as `[]`, is as unreadable as bad JSON).
        if (
            not isinstance(entry, dict)
            or entry.get("model_id") != self.cache_id
            or entry.get("prompt") != request.prompt
            or entry.get("params") != _jsonable(dataclasses.asdict(request.params))
            or not isinstance(entry.get("completion"), str)
        ):
            return None
        return entry["completion"]

    def _write(self, key: str, request: GenerationRequest, completion: str) -> None:
        path = self._path(key)
        entry = {
            "schema": _SCHEMA,
            "model_id": self.cache_id,  # the key's name since schema 1
            "prompt": request.prompt,
            "params": dataclasses.asdict(request.params),
            "completion": completion,
        }
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.parent not in self._swept:
                self._swept.add(path.parent)
                _remove_stale_temporaries(path.parent)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{key[:8]}-", suffix=".tmp")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    json.dump(entry, f, ensure_ascii=False)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise BackendError(f"cannot write model-call cache at {self.cache_dir}: {exc}") from None


#: Age after which a temporary file is a leftover of a killed write, not one in progress.
STALE_TMP_SECONDS = 3600


def _remove_stale_temporaries(folder: Path) -> None:
    """Delete ``.*.tmp`` files older than :data:`STALE_TMP_SECONDS` (killed writes)."""
    cutoff = time.time() - STALE_TMP_SECONDS
    for tmp in folder.glob(".*.tmp"):
        try:
            if tmp.stat().st_mtime < cutoff:
                tmp.unlink()
        except OSError:
            pass  # gone already, or not ours to delete: it is never read either way


def _jsonable(value):
    """The value as it reads back from JSON (tuples become lists)."""
    return json.loads(json.dumps(value))


def _default_chunk_size(backend: Backend) -> int:
    """One model batch, or a few rounds of a server backend's parallel requests."""
    batch_size = getattr(backend, "batch_size", None)
    if isinstance(batch_size, int) and batch_size > 0:
        return batch_size
    concurrency = getattr(backend, "concurrency", None)
    if isinstance(concurrency, int) and concurrency > 0:
        return 4 * concurrency
    return 8
