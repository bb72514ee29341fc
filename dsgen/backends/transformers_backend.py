"""Local models through Hugging Face ``transformers``: the embedded Gemma or any model folder.

The model is loaded lazily, on the first request that is not answered from the
model-call cache: a rebuild whose calls are all cached imports no torch, converts
nothing and loads no weights. ``model_id`` (part of every cache key) is known
without loading.

Every load passes ``local_files_only=True``: nothing is fetched from the Hub. The process-wide
``HF_HUB_OFFLINE`` is deliberately left alone, since it would also disable ``--push-to-hub``.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Callable, Sequence

from dsgen.backends.base import (
    Backend,
    GenerationParams,
    GenerationRequest,
    GenerationStats,
    backends,
)
from dsgen.backends.model_files import (
    EMBEDDED_MODEL_ID,
    default_models_dir,
    ensure_converted_embedded_model,
    ensure_converted_gguf,
    model_fingerprint,
)
from dsgen.errors import BackendError

__all__ = [
    "EMBEDDED_MODEL_ID",
    "GenerationStats",
    "TransformersBackend",
    "default_models_dir",
    "ensure_converted_embedded_model",
    "ensure_converted_gguf",
]

Progress = Callable[[int], None]

#: Accepted ``dtype`` names (checked before anything is loaded).
DTYPES = ("float32", "float16", "bfloat16", "float64")


@backends.register("transformers")
class TransformersBackend(Backend):
    """Batched, padding-aware generation with a local ``transformers`` causal LM.

    Args:
        model: ``None`` for the embedded Gemma 3 270M, a local Hugging Face model folder,
            or a ``.gguf`` file (converted once, like the embedded model).
        cache_dir: Where converted models go (default ``~/.cache/dsgen/models``, or
            ``$DSGEN_CACHE_DIR/models``).
        batch_size: Prompts per forward pass; prompts are sorted by length to limit padding.
        dtype: Torch dtype name for the weights, e.g. ``"float32"`` or ``"bfloat16"``.
        chat_template: Wrap prompts as one user turn with the tokenizer's chat template.
            ``None`` = when the tokenizer has one and the model is not the (base) embedded one.
        num_threads: CPU threads for torch; default all CPUs available to the process.
        model_id: Override the provenance id (default: the embedded id, or the folder or file
            name). The cache id of a folder or file adds :func:`model_fingerprint`, so models
            that share a name (``run1/final``, ``run2/final``) never share cached answers.
        progress: Called with the number of requests finished after each batch.
        lazy: Load on first use (default). ``False`` loads now, so a broken model fails at once.
    """

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        batch_size: int = 8,
        dtype: str = "float32",
        chat_template: bool | None = None,
        num_threads: int | None = None,
        model_id: str | None = None,
        progress: Progress | None = None,
        lazy: bool = True,
    ) -> None:
        if batch_size < 1:
            raise BackendError(f"batch_size must be at least 1, got {batch_size}")
        if str(dtype) not in DTYPES:
            raise BackendError(f"unknown dtype {dtype!r}; use one of {', '.join(DTYPES)}")
        self.batch_size = batch_size
        self.progress = progress
        self.stats = GenerationStats()
        self._dtype = str(dtype)
        self._cache_dir = cache_dir
        self._num_threads = num_threads or len(os.sched_getaffinity(0))
        self._chat_template_wanted = chat_template
        self._embedded = model is None
        self._lock = threading.Lock()
        self._tokenizer = self._model = None
        self._chat_template: bool | None = None
        self.model_path: Path | None = None
        if self._embedded:
            self._source = None
            self.model_id = model_id or EMBEDDED_MODEL_ID
            # The embedded weights are pinned by the package's sha256: the id alone is the key
            # (unchanged, so existing caches keep hitting).
            self._cache_id = self.model_id
        else:
            path = _model_path(model)
            if path.is_file() and path.suffix != ".gguf":
                raise BackendError(f"model {path} is a file, not a model folder: give the folder holding its "
                                   "config.json, weights and tokenizer files (or a .gguf file)")
            if not path.exists():
                raise BackendError(f"model folder not found: {path}")
            if path.is_dir():
                _check_model_folder(path)
            self._source = path
            self.model_id = model_id or path.resolve().name
            try:
                self._cache_id = f"{self.model_id} [{model_fingerprint(path)}]"
            except OSError as exc:
                raise BackendError(f"cannot read model {path}: {exc.strerror or exc}") from None
        if not lazy:
            self.load()

    # ----------------------------------------------------------------- loading

    @property
    def cache_id(self) -> str:
        return self._cache_id

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self) -> "TransformersBackend":
        """Convert (if needed) and load tokenizer and model now; a no-op once loaded."""
        with self._lock:
            if self._model is not None:
                return self
            from dsgen.backends import torch_generation as tg

            if self._embedded:
                folder = ensure_converted_embedded_model(self._cache_dir)
            elif self._source.is_file():
                folder = ensure_converted_gguf(self._source, self._cache_dir)
            else:
                folder = self._source
            tg.set_num_threads(self._num_threads)
            tokenizer, model = tg.load_model(folder, self._dtype)
            has_template = bool(getattr(tokenizer, "chat_template", None))
            wanted = self._chat_template_wanted
            if wanted and not has_template:
                raise BackendError(f"model {self.model_id!r} has no chat template in its tokenizer")
            self._chat_template = has_template and not self._embedded if wanted is None else wanted
            self.model_path = folder
            self._tokenizer, self._model = tokenizer, model
        return self

    @property
    def tokenizer(self):
        return self.load()._tokenizer

    @property
    def model(self):
        return self.load()._model

    @property
    def chat_template(self) -> bool:
        return bool(self.load()._chat_template)

    # ----------------------------------------------------------------- public API

    def generate(self, requests: Sequence[GenerationRequest]) -> list[str]:
        if not requests:
            return []
        from dsgen.backends.torch_generation import generate_batch

        self.load()
        started = time.perf_counter()
        results: list[str] = [""] * len(requests)
        encoded = [self._encode(r.prompt) for r in requests]
        self._check_context(encoded, requests)
        groups: dict[GenerationParams, list[int]] = {}
        for i, request in enumerate(requests):
            groups.setdefault(request.params, []).append(i)
        for params, indices in groups.items():
            # Longest first: similar lengths share a batch, and memory peaks early.
            indices.sort(key=lambda i: len(encoded[i]), reverse=True)
            for start in range(0, len(indices), self.batch_size):
                batch = indices[start : start + self.batch_size]
                texts = generate_batch(
                    self._tokenizer, self._model, [encoded[i] for i in batch],
                    [requests[i].prompt for i in batch], params, self.stats,
                )
                for i, text in zip(batch, texts):
                    results[i] = text
                if self.progress:
                    self.progress(len(batch))
        self.stats.calls += 1
        self.stats.seconds += time.perf_counter() - started
        return results

    def close(self) -> None:
        """Drop the model and tokenizer (a later call would load them again)."""
        self._model = None
        self._tokenizer = None

    # ----------------------------------------------------------------- internals

    def _check_context(self, encoded: list[list[int]], requests: Sequence[GenerationRequest]) -> None:
        """Refuse, before any generation, prompts that do not fit the model's context.

        A build of such prompts cannot succeed (each one fails or runs past what the model
        was trained on), so it stops with one line rather than a torch traceback.
        """
        from dsgen.backends.torch_generation import context_limit

        limit = context_limit(self._tokenizer, self._model)
        if limit is None:
            return
        positions, source = limit
        need, i = max((len(ids) + r.params.max_new_tokens, i) for i, (ids, r) in enumerate(zip(encoded, requests)))
        if need > positions:
            raise BackendError(
                f"a prompt of {len(encoded[i])} tokens plus up to {requests[i].params.max_new_tokens} new tokens "
                f"does not fit model {self.model_id!r}, whose context is {positions} positions ({source}); "
                "use a model with a longer context, or shorter passages (model_context_chars in [build.options])"
            )

    def _encode(self, prompt: str) -> list[int]:
        tokenizer = self._tokenizer
        if self._chat_template:
            text = tokenizer.apply_chat_template(
                [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
            )
            return tokenizer(text, add_special_tokens=False)["input_ids"]
        return tokenizer(prompt)["input_ids"]


#: Files from which ``AutoTokenizer`` builds a tokenizer (fast, sentencepiece, BPE, WordPiece, tiktoken).
TOKENIZER_FILES = ("tokenizer.json", "*.model", "vocab.json", "vocab.txt", "merges.txt", "tekken.json", "*.tiktoken")
#: Weight files ``AutoModelForCausalLM`` loads into torch (single or sharded).
WEIGHT_FILES = ("*.safetensors", "pytorch_model*.bin")


def _model_path(model: str | os.PathLike[str]) -> Path:
    """``--model`` as a path, ``~`` expanded; one-line errors for an empty value or unknown user."""
    if not str(model).strip():
        raise BackendError("--model is empty: give a model folder or a .gguf file, "
                           "or leave --model out for the embedded model")
    try:
        return Path(model).expanduser()
    except RuntimeError:  # ~user for a user that does not exist
        raise BackendError(f"model folder not found: {model} (no such user's home folder)") from None


def _check_model_folder(path: Path) -> None:
    """Name what a model folder lacks before anything loads (``transformers`` would fail later,
    with a message that lists nothing useful)."""
    missing = []
    if not (path / "config.json").is_file():
        raise BackendError(f"cannot load model from {path}: no config.json (not a Hugging Face model folder)")
    if not any(any(path.glob(pattern)) for pattern in WEIGHT_FILES):
        missing.append("no weights (*.safetensors or pytorch_model.bin)")
    if not any(any(path.glob(pattern)) for pattern in TOKENIZER_FILES):
        missing.append("no tokenizer files (tokenizer.json, tokenizer.model, or vocab.json and merges.txt)")
    if missing:
        raise BackendError(f"cannot load model from {path}: {' and '.join(missing)} in the folder")
