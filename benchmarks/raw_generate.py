"""Throughput of raw ``model.generate`` vs ``TransformersBackend.generate`` on few-shot prompts.

Usage::

    python benchmarks/raw_generate.py [--model PATH] [--prompts 16] [--new-tokens 32]
        [--batch-sizes 1,4,8,16] [--seeds seeds]

Both paths decode greedily for the same number of new tokens on the same prompts, so the
ratio is the backend's overhead (tokenizing, length sorting, padding, decoding). A second
table shows what early stopping at a stop string saves.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dsgen.backends.base import GenerationParams, GenerationRequest  # noqa: E402
from dsgen.backends.torch_generation import count_generated, eos_token_ids  # noqa: E402
from dsgen.backends.transformers_backend import TransformersBackend  # noqa: E402

FEW_SHOT = (
    "Read the passage and write one question it answers.\n\n"
    "Passage: {a}\nQuestion: What happened first?\n\n"
    "Passage: {b}\nQuestion: Who was involved?\n\n"
    "Passage: {c}\nQuestion:"
)


def build_prompts(seeds: Path, n: int, tokenizer, lo: int = 300, hi: int = 500) -> list[str]:
    """``n`` few-shot prompts of ``lo``-``hi`` tokens made from passages of the seed articles."""
    words = " ".join(p.read_text(encoding="utf-8") for p in sorted(seeds.glob("*.txt"))).split()
    prompts = []
    for i in range(n):
        size = 60 + (i * 37) % 60  # vary lengths so padding matters
        start = (i * 211) % max(1, len(words) - 3 * size)
        parts = [" ".join(words[start + k * size : start + (k + 1) * size]) for k in range(3)]
        prompt = FEW_SHOT.format(a=parts[0], b=parts[1], c=parts[2])
        ids = tokenizer(prompt)["input_ids"]
        if len(ids) > hi:
            prompt = tokenizer.decode(ids[len(ids) - hi :], skip_special_tokens=True)
        prompts.append(prompt)
    lengths = [len(tokenizer(p)["input_ids"]) for p in prompts]
    assert min(lengths) >= lo * 0.8, lengths
    return prompts


def raw_generate(backend: TransformersBackend, prompts: list[str], batch_size: int, new: int):
    """Plain tokenizer(padding=True) + model.generate, in the given order; (tokens, seconds)."""
    tok, model = backend.tokenizer, backend.model
    eos = eos_token_ids(tok, model)
    tokens, started = 0, time.perf_counter()
    for start in range(0, len(prompts), batch_size):
        batch = tok(prompts[start : start + batch_size], return_tensors="pt", padding=True)
        with torch.inference_mode():
            out = model.generate(**batch, max_new_tokens=new, do_sample=False)
        generated = out[:, batch["input_ids"].shape[1] :]
        tok.batch_decode(generated, skip_special_tokens=True)
        tokens += count_generated(generated, tok.pad_token_id, eos)
    return tokens, time.perf_counter() - started


def backend_generate(backend: TransformersBackend, prompts: list[str], params: GenerationParams):
    before = backend.stats.generated_tokens
    started = time.perf_counter()
    out = backend.generate([GenerationRequest(p, params) for p in prompts])
    return backend.stats.generated_tokens - before, time.perf_counter() - started, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model folder (default: embedded Gemma)")
    parser.add_argument("--prompts", type=int, default=16)
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--batch-sizes", default="1,4,8,16")
    parser.add_argument("--repeats", type=int, default=2, help="best of N, to damp noise")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--seeds", type=Path, default=Path(__file__).resolve().parents[1] / "seeds")
    args = parser.parse_args()

    started = time.perf_counter()
    backend = TransformersBackend(model=args.model, num_threads=args.threads)
    print(f"model: {backend.model_id}  (loaded in {time.perf_counter() - started:.1f} s, "
          f"{torch.get_num_threads()} threads)")
    prompts = build_prompts(args.seeds, args.prompts, backend.tokenizer)
    lengths = [len(backend.tokenizer(p)["input_ids"]) for p in prompts]
    print(f"{len(prompts)} prompts of {min(lengths)}-{max(lengths)} tokens, "
          f"{args.new_tokens} new tokens each, greedy, best of {args.repeats}\n")
    # Warm-up so the first measured row does not pay one-off allocation costs.
    backend.generate([GenerationRequest(prompts[0], GenerationParams(max_new_tokens=2, stop=()))])

    no_stop = GenerationParams(max_new_tokens=args.new_tokens, stop=())
    print("{:>5} {:>10} {:>14} {:>6}".format("batch", "raw tok/s", "backend tok/s", "ratio"))
    for batch_size in [int(b) for b in args.batch_sizes.split(",")]:
        backend.batch_size = batch_size
        raw_rate = b_rate = 0.0
        for _ in range(args.repeats):  # interleaved, so load changes hit both sides alike
            tokens, seconds = raw_generate(backend, prompts, batch_size, args.new_tokens)
            raw_rate = max(raw_rate, tokens / seconds)
            tokens, seconds, _ = backend_generate(backend, prompts, no_stop)
            b_rate = max(b_rate, tokens / seconds)
        print(f"{batch_size:>5} {raw_rate:>10.1f} {b_rate:>14.1f} {b_rate / raw_rate:>6.2f}", flush=True)

    # Stop strings: the per-step check's cost, and what stopping early saves.
    print(f"\nstop strings at batch {backend.batch_size}: seconds for all prompts (best of {args.repeats})")
    cases = {
        "no stop": no_stop,
        "stop never matches": GenerationParams(max_new_tokens=args.new_tokens, stop=("\x00never",)),
        "stop at newline": GenerationParams(max_new_tokens=args.new_tokens, stop=("\n",)),
    }
    best = {name: float("inf") for name in cases}
    produced = {}
    for _ in range(args.repeats):
        for name, params in cases.items():
            tokens, seconds, _ = backend_generate(backend, prompts, params)
            best[name] = min(best[name], seconds)
            produced[name] = tokens
    for name in cases:
        print(f"  {name:<20} {best[name]:>7.1f} s  {produced[name]:>5} tokens generated")


if __name__ == "__main__":
    main()
