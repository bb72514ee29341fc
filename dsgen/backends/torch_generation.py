"""The torch side of the transformers backend: loading a model folder and batched generation.

Imported only when a model is really needed (a cache miss), so a rebuild whose model calls
are all cached never pays for importing torch or loading weights.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Sequence

import torch  # dsgen/__init__.py has set OMP_WAIT_POLICY=PASSIVE before this import
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    GenerationConfig,
    LogitsProcessor,
    LogitsProcessorList,
    StoppingCriteria,
    StoppingCriteriaList,
)

from dsgen.backends.base import GenerationParams, GenerationStats, cut_at_stop
from dsgen.backends.model_files import _one_line
from dsgen.errors import BackendError


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


def load_model(folder: Path, dtype: str):
    """Load tokenizer and model from a local folder; one-line errors.

    ``dtype`` is one of ``transformers_backend.DTYPES`` (the backend checks it).
    """
    torch_dtype = getattr(torch, dtype)
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch_dtype, local_files_only=True)
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


#: Config attributes that hold a model's context length (positions), by architecture.
_CONTEXT_ATTRIBUTES = ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length", "n_ctx")


def context_limit(tokenizer, model) -> tuple[int, str] | None:
    """The most positions (prompt plus generated tokens) the model takes, and where that
    number comes from; ``None`` when neither the config nor the tokenizer says.

    Past it, a model with learned positions (GPT-2) fails inside torch with an IndexError, and
    one with rotary positions runs beyond what it was trained on.
    """
    config = model.config
    text_config = config.get_text_config() if hasattr(config, "get_text_config") else config
    for name in _CONTEXT_ATTRIBUTES:
        value = vars(text_config).get(name)  # the name in config.json, not an alias (GPT-2's n_positions)
        if isinstance(value, int) and value > 0:
            return value, f"{name} in its config.json"
    value = getattr(tokenizer, "model_max_length", None)
    if isinstance(value, int) and 0 < value < 10**7:  # tokenizers without one say 10**30
        return value, "model_max_length in its tokenizer_config.json"
    return None


def count_generated(generated: torch.Tensor, pad_id: int, eos_ids: list[int]) -> int:
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


def generate_batch(tokenizer, model, encoded: list[list[int]], prompts: list[str], params: GenerationParams,
                   stats: GenerationStats) -> list[str]:
    """Left-padded batched generation of ``encoded`` prompts, cut at the stop strings."""
    pad_id = tokenizer.pad_token_id
    width = max(len(ids) for ids in encoded)
    input_ids = torch.full((len(encoded), width), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((len(encoded), width), dtype=torch.long)
    for row, ids in enumerate(encoded):  # left padding: every prompt ends at column -1
        input_ids[row, width - len(ids) :] = torch.tensor(ids, dtype=torch.long)
        attention_mask[row, width - len(ids) :] = 1

    stop = [s for s in params.stop if s]
    criteria = StoppingCriteriaList([_StopStrings(tokenizer, stop, width)] if stop else [])
    processors = LogitsProcessorList()
    if params.temperature > 0:
        seeds = [_row_seed(params.seed, p) for p in prompts]
        processors.append(_RowSeededSampler(seeds, params.temperature, params.top_p))
    eos_ids = eos_token_ids(tokenizer, model)
    # Sampling is done by _RowSeededSampler, so generate() itself always runs greedy.
    config = GenerationConfig(
        max_new_tokens=params.max_new_tokens,
        do_sample=False,
        pad_token_id=pad_id,
        eos_token_id=eos_ids,
        bos_token_id=model.generation_config.bos_token_id,
    )
    device = model.device
    with torch.inference_mode():
        output = model.generate(
            input_ids=input_ids.to(device),
            attention_mask=attention_mask.to(device),
            generation_config=config,
            logits_processor=processors,
            stopping_criteria=criteria,
        )
    generated = output[:, width:].cpu()
    stats.batches += 1
    stats.prompt_tokens += int(attention_mask.sum())
    stats.generated_tokens += count_generated(generated, pad_id, eos_ids)
    return [cut_at_stop(tokenizer.decode(row, skip_special_tokens=True), stop) for row in generated]


def eos_token_ids(tokenizer, model) -> list[int]:
    eos = model.generation_config.eos_token_id
    if eos is None:
        eos = tokenizer.eos_token_id
    return [eos] if isinstance(eos, int) else list(eos or [])


def set_num_threads(n: int) -> None:
    torch.set_num_threads(n)
