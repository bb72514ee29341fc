"""Build throughput, scaling and memory of `dsgen build`, and model-pass overhead.

Usage::

    python benchmarks/bench_build.py [--sizes 100,1000,10000] [--corpus DIR] [--speedup-size 1000]
        [--model] [--model-docs 2] [--work /tmp/dsgen-bench]

Templated part (``--backend none``): for each size N it makes a corpus of N articles
(``make_corpus.py``: seed articles recombined, facts and words varied; or the first N
files of ``--corpus``), runs the build in a subprocess and prints article-text MB/s
(wall clock, and per CPU-second = per core), articles/s, wall time, CPU time and peak
RSS (largest single process, from ``getrusage(RUSAGE_CHILDREN)`` of a fresh
intermediary so each run is measured alone); then the time and RSS ratios of each
size to the previous one, and ``--num-proc 2`` against ``--num-proc 1`` (same output
bytes checked). Then one long article per ``--long-sizes`` K (the text of the first K
articles as one file, so each holds thousands of sentences and facts): the time ratio
shows whether work within an article grows linearly too.

Model part (``--model``, slow): model passes' generated tokens/s against raw batched
``model.generate`` on the very prompts the passes sent (``raw_generate.py``), and the
time of a rebuild whose model calls are all cached against the cold build.

Timings on a shared machine vary: CPU-second figures are the stable ones.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from make_corpus import make_corpus  # noqa: E402

#: Runs `dsgen ARGS` in a fresh interpreter and prints its own and its workers' rusage.
_MEASURE = """
import json, resource, sys, time
t = time.perf_counter()
from dsgen.cli import cli
try:
    cli.main(sys.argv[1:], prog_name="dsgen", standalone_mode=False)
    rc = 0
except SystemExit as exc:
    rc = exc.code or 0
wall = time.perf_counter() - t
me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"rc": rc, "wall": wall, "main_cpu": me.ru_utime + me.ru_stime,
                  "cpu": me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime,
                  "maxrss_mb": max(me.ru_maxrss, kids.ru_maxrss) / 1024}))
"""


def measure(args: list[str]) -> dict:
    """Wall time, CPU time (main process, and with its workers) and peak RSS of `dsgen ARGS`."""
    out = subprocess.run([sys.executable, "-c", _MEASURE, *args], capture_output=True, text=True)
    lines = out.stdout.strip().splitlines()
    stats = json.loads(lines[-1]) if lines and lines[-1].startswith("{") else {"rc": out.returncode}
    if stats["rc"] != 0:
        raise SystemExit(f"dsgen {' '.join(args)} failed ({stats['rc']}):\n{out.stderr[-2000:]}")
    return stats


def corpus_of(n: int, work: Path, source: Path | None) -> tuple[Path, int]:
    """A folder of ``n`` articles and its size in bytes."""
    folder = work / f"corpus-{n}"
    if source is not None:
        files = sorted(p for p in source.rglob("*") if p.is_file())[:n]
        if len(files) < n:
            raise SystemExit(f"{source} has only {len(files)} files, fewer than {n}")
        if not folder.exists():
            folder.mkdir(parents=True)
            for i, p in enumerate(files):
                shutil.copy(p, folder / f"{i:07d}{p.suffix}")
    elif not folder.exists():
        make_corpus(folder, n, REPO / "seeds")
    return folder, sum(p.stat().st_size for p in folder.iterdir())


def build_cmd(corpus: Path, out: Path, num_proc: int, extra: list[str] = ()) -> list[str]:
    return ["build", str(corpus), "-o", str(out), "--backend", "none",
            "--templates", str(REPO / "templates"), "--num-proc", str(num_proc), "-q", *extra]


def same_output(a: Path, b: Path) -> bool:
    names = [p.relative_to(a) for p in sorted(a.rglob("*.parquet"))] + [Path("rejected.jsonl")]
    return all((a / n).read_bytes() == (b / n).read_bytes() for n in names)


def templated(args) -> None:
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"$ dsgen {' '.join(build_cmd(Path('CORPUS'), Path('OUT'), 1))}")
    print(f"{'articles':>8} {'MB':>7} {'wall s':>8} {'CPU s':>8} {'MB/s':>7} {'MB/CPU-s':>9} "
          f"{'art/s':>7} {'peak RSS MB':>12}")
    rows = []
    for n in sizes:
        corpus, size = corpus_of(n, args.work, args.corpus)
        out = args.work / f"out-{n}"
        r = measure(build_cmd(corpus, out, 1))
        mb = size / 1e6
        rows.append((n, mb, r))
        print(f"{n:>8} {mb:>7.2f} {r['wall']:>8.2f} {r['cpu']:>8.2f} {mb / r['wall']:>7.2f} "
              f"{mb / r['cpu']:>9.2f} {n / r['wall']:>7.1f} {r['maxrss_mb']:>12.0f}", flush=True)
    for (n0, _, r0), (n1, _, r1) in zip(rows, rows[1:]):
        print(f"{n1 // n0}x corpus ({n0} -> {n1}): wall x{r1['wall'] / r0['wall']:.2f}, "
              f"CPU x{r1['cpu'] / r0['cpu']:.2f}, peak RSS x{r1['maxrss_mb'] / r0['maxrss_mb']:.2f}")
    n = args.speedup_size
    corpus, size = corpus_of(n, args.work, args.corpus)
    runs: dict[int, list[dict]] = {1: [], 2: []}
    for _ in range(args.repeat):  # alternate, keep the best: other load on the machine only adds time
        for k in (1, 2):
            runs[k].append(measure(build_cmd(corpus, args.work / f"np{k}", k)))
    one, two = (min(runs[k], key=lambda r: r["wall"]) for k in (1, 2))
    print(f"--num-proc 1 vs 2 on {n} articles (best of {args.repeat}): {one['wall']:.2f} s vs {two['wall']:.2f} s "
          f"= {one['wall'] / two['wall']:.2f}x faster; identical output: {same_output(args.work / 'np1', args.work / 'np2')}")
    print(f"  CPU: --num-proc 1 {one['cpu']:.1f} s ({one['main_cpu']:.1f} s main process); --num-proc 2 "
          f"{two['cpu']:.1f} s ({two['main_cpu']:.1f} s main process, the rest in the 2 workers)")
    long_articles(args)


def long_articles(args) -> None:
    """One article made of the text of the first K corpus articles, for each K."""
    sizes = [int(s) for s in args.long_sizes.split(",") if s]
    if not sizes:
        return
    from dsgen.boilerplate import BoilerplateRules
    from dsgen.corpus import load_corpus

    corpus, _ = corpus_of(max(sizes), args.work, args.corpus)
    rules = BoilerplateRules.load(REPO / "templates" / "boilerplate.yaml")
    bodies = []  # without boilerplate: an "About the author" line would end the long article there
    for doc in load_corpus(corpus).documents[: max(sizes)]:
        kept, at = [], 0
        for span in rules.spans(doc.text):
            kept.append(doc.text[at : span.start])
            at = span.end
        bodies.append("".join(kept) + doc.text[at:])
    rows = []
    for k in sizes:
        folder = args.work / f"long-{k}"
        folder.mkdir(exist_ok=True)
        text = "\n\n".join(bodies[:k])
        (folder / "article.txt").write_text(text, encoding="utf-8")
        r = measure(build_cmd(folder, args.work / f"long-out-{k}", 1))
        rows.append((k, len(text.encode("utf-8")) / 1e6, r))
        print(f"one article of {k} articles' text ({rows[-1][1]:.2f} MB): {r['wall']:.2f} s wall, {r['cpu']:.2f} CPU-s, "
              f"peak RSS {r['maxrss_mb']:.0f} MB", flush=True)
    for (k0, mb0, r0), (k1, mb1, r1) in zip(rows, rows[1:]):
        print(f"{mb1 / mb0:.1f}x the article: CPU x{r1['cpu'] / r0['cpu']:.2f}, peak RSS x{r1['maxrss_mb'] / r0['maxrss_mb']:.2f}")


# ----------------------------------------------------------------------------- model passes


def model(args) -> None:
    import torch

    from raw_generate import raw_generate

    from dsgen.backends.base import Backend
    from dsgen.backends.transformers_backend import TransformersBackend
    from dsgen.build import build
    from dsgen.config import load_config
    from dsgen.passes import MODEL_PASSES

    class Recorder(Backend):
        """Passes every call through and keeps the requests."""

        def __init__(self, inner):
            self.inner, self.calls = inner, []
            self.model_id = inner.model_id

        def generate(self, requests):
            outputs = self.inner.generate(requests)
            self.calls.append(list(zip(requests, outputs)))
            return outputs

    corpus = args.work / "model-corpus"
    if not corpus.exists():
        corpus.mkdir(parents=True)
        for p in sorted((REPO / "seeds").glob("*.txt"))[: args.model_docs]:
            shutil.copy(p, corpus / p.name)
    started = time.perf_counter()
    inner = TransformersBackend(batch_size=args.batch_size).load()  # loads lazily otherwise: keep it out of the timing
    print(f"\nmodel: {inner.model_id} (loaded in {time.perf_counter() - started:.1f} s, "
          f"{torch.get_num_threads()} threads, batch size {args.batch_size}); {args.model_docs} articles, "
          f"--items-per-doc {args.items_per_doc}")
    recorder = Recorder(inner)
    config = load_config(None, seeds_dir=corpus, out_dir=args.work / "model-out", backend="transformers",
                         passes=",".join(MODEL_PASSES), templates_dir=REPO / "templates",
                         model_items_per_doc=args.items_per_doc, use_cache=False)
    before = inner.stats.generated_tokens
    result = build(config, backend=recorder)
    tokens = inner.stats.generated_tokens - before
    pass_s = sum(v for k, v in result.report["timings"].items() if k.startswith("pass:") and k.endswith("_model"))
    # The same work done by raw batched generate: each call's prompts, in batches, decoding as
    # many tokens as the longest completion of the batch needed (the backend stops there too);
    # only the tokens a completion needed count.
    tok = inner.tokenizer
    raw_tokens = raw_s = 0.0
    n_prompts = 0
    for call in recorder.calls:
        for start in range(0, len(call), args.batch_size):
            batch = call[start : start + args.batch_size]
            needs = [min(r.params.max_new_tokens, len(tok(out, add_special_tokens=False)["input_ids"]) + 1)
                     for r, out in batch]
            _, seconds = raw_generate(inner, [r.prompt for r, _ in batch], len(batch), max(needs))
            raw_tokens, raw_s, n_prompts = raw_tokens + sum(needs), raw_s + seconds, n_prompts + len(batch)
    passes_rate, raw_rate = raw_tokens / pass_s, raw_tokens / raw_s
    print(f"model passes: {int(raw_tokens)} completion tokens ({tokens} decoded by the backend) in {pass_s:.1f} s "
          f"= {passes_rate:.1f} tok/s over {n_prompts} prompts ({len(recorder.calls)} generate calls)")
    print(f"raw batched generate, same prompts and lengths: {int(raw_tokens)} tokens in {raw_s:.1f} s "
          f"= {raw_rate:.1f} tok/s")
    print(f"model passes keep {passes_rate / raw_rate:.0%} of raw throughput (target >= 80%)")
    inner.close()

    cache = args.work / "model-cache"
    shutil.rmtree(cache, ignore_errors=True)
    cmd = ["build", str(corpus), "-o", str(args.work / "model-cli-out"),
           "--backend", "transformers", "--passes", ",".join(MODEL_PASSES), "--templates", str(REPO / "templates"),
           "--items-per-doc", str(args.items_per_doc), "--batch-size", str(args.batch_size),
           "--cache-dir", str(cache), "-q"]
    print(f"$ dsgen {' '.join(cmd)}")
    cold, warm = measure(cmd), measure(cmd)
    print(f"cold build {cold['wall']:.1f} s; rebuild with every model call cached {warm['wall']:.1f} s "
          f"= {warm['wall'] / cold['wall']:.1%} of cold (target <= 5%)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,10000", help="corpus sizes [100,1000,10000]")
    parser.add_argument("--corpus", type=Path, help="take articles from this folder instead of generating them")
    parser.add_argument("--speedup-size", type=int, default=1000, help="corpus size for --num-proc 1 vs 2 [1000]")
    parser.add_argument("--long-sizes", default="200,800", help="articles joined into one long article, per run [200,800]")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each for --num-proc 1 vs 2 (best kept) [3]")
    parser.add_argument("--work", type=Path, default=Path("/tmp/dsgen-bench"), help="scratch folder")
    parser.add_argument("--no-templated", action="store_true", help="skip the templated part")
    parser.add_argument("--model", action="store_true", help="also measure model passes (slow)")
    parser.add_argument("--model-docs", type=int, default=2, help="articles for the model part [2]")
    parser.add_argument("--items-per-doc", type=int, default=2, help="model prompts per article and pass [2]")
    parser.add_argument("--batch-size", type=int, default=8, help="generate() batch size [8]")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    if not args.no_templated:
        templated(args)
    if args.model:
        model(args)


if __name__ == "__main__":
    main()
