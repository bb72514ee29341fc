"""Counts of a built dataset: per config, split, pass and rejection reason, and skipped inputs."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from dsgen.build_files import build_shards, rejected_records, shard_rows, skipped_inputs
from dsgen.features import CONFIG_NAMES, SPLITS
from dsgen.types import LABELS


def dataset_stats(out_dir: str | Path) -> dict[str, Any]:
    """Counts read from the parquet files, ``rejected.jsonl`` and ``build-report.json``
    (the skipped inputs) of ``out_dir``.

    Raises:
        DsgenError: ``out_dir`` holds no complete, readable dsgen build.
    """
    build_shards(out_dir, "rejected.jsonl", "build-report.json")
    splits: dict[str, dict[str, int]] = {}
    passes: dict[str, Counter] = defaultdict(Counter)
    labels: Counter = Counter()
    for config in CONFIG_NAMES:
        splits[config] = {}
        for split in SPLITS:
            n = 0
            for row in shard_rows(out_dir, config, split):
                n += 1
                passes[config][f"{row['pass']} ({row['method']})"] += 1
                if config == "fact_check":
                    labels[LABELS[row["label"]]] += 1
            splits[config][split] = n
    reasons: dict[str, Counter] = defaultdict(Counter)
    for item in rejected_records(out_dir):
        reasons[item["pass"]][item["reason"]] += 1
    skipped = Counter(s["reason"] for s in skipped_inputs(out_dir))
    return {
        "splits": splits,
        "passes": {c: dict(sorted(v.items())) for c, v in passes.items()},
        "fact_check_labels": dict(labels),
        "rejected": {p: dict(sorted(v.items())) for p, v in sorted(reasons.items())},
        "skipped": dict(sorted(skipped.items())),
    }


def format_stats(stats: dict[str, Any]) -> str:
    """Plain-text tables for the terminal."""
    lines = ["config          train    test", "--------------  -------  -------"]
    for config, s in stats["splits"].items():
        lines.append(f"{config:<14}  {s.get('train', 0):>7}  {s.get('test', 0):>7}")
    lines += ["", "published per pass:"]
    for config, passes in stats["passes"].items():
        for name, n in passes.items():
            lines.append(f"  {config:<14} {name:<40} {n:>6}")
    if stats["fact_check_labels"]:
        lines += ["", "fact_check labels: " + ", ".join(f"{k}={v}" for k, v in sorted(stats["fact_check_labels"].items()))]
    lines += ["", "rejected per pass and reason:"]
    if not stats["rejected"]:
        lines.append("  (none)")
    for name, reasons in stats["rejected"].items():
        for reason, n in reasons.items():
            lines.append(f"  {name:<28} {reason:<32} {n:>6}")
    lines += ["", "skipped inputs per reason (each listed under \"skipped\" in build-report.json):"]
    if not stats["skipped"]:
        lines.append("  (none)")
    for reason, n in stats["skipped"].items():
        lines.append(f"  {reason:<61} {n:>6}")
    return "\n".join(lines)
