"""JSON Lines export: ``<dest>/<config>/<split>.jsonl``, one row per line.

Rows keep the parquet column order; ``ClassLabel`` columns (``fact_check.label``)
are written as names (``"SUPPORTS"``), so the files need no schema to read.
Same build, same bytes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import jsonlines
from datasets import ClassLabel

from dsgen.errors import DsgenError
from dsgen.features import CONFIG_NAMES, FEATURES, SPLITS
from dsgen.parquet_writer import read_rows, shard_name


def export_jsonl(out_dir: str | Path, dest: str | Path) -> list[Path]:
    """Write every config and split of the build in ``out_dir`` as JSONL under ``dest``.

    Each file is written beside its target and renamed into place, so a reader
    never sees half a file. Returns the written paths (config, then split order).

    Raises:
        DsgenError: ``out_dir`` holds no complete dsgen build.
    """
    dataset = Path(out_dir) / "dataset"
    if not dataset.is_dir():
        raise DsgenError(f"no built dataset at {dataset} (run `dsgen build` first)")
    sources = {(c, s): dataset / c / shard_name(s) for c in CONFIG_NAMES for s in SPLITS}
    missing = [str(p.relative_to(dataset)) for p in sources.values() if not p.is_file()]
    if missing:
        raise DsgenError(f"{dataset} is not a complete dsgen build (missing {', '.join(missing[:3])}); rebuild it")
    written = []
    for (config, split), source in sources.items():
        labels = {name: f for name, f in FEATURES[config].items() if isinstance(f, ClassLabel)}
        target = Path(dest) / config / f"{split}.jsonl"
        partial = target.with_name(f".{target.name}.partial")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with jsonlines.open(partial, mode="w", dumps=_dumps) as writer:
                for row in read_rows(source):
                    writer.write(_with_label_names(row, labels))
            os.replace(partial, target)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise DsgenError(f"cannot write {target}: {exc.strerror or exc}") from None
        written.append(target)
    return written


# Characters that some readers (str.splitlines, JavaScript) treat as line breaks;
# escaped so every reader sees exactly one row per line.
_LINE_BREAKS = {"\u0085": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def _dumps(row: dict[str, Any]) -> str:
    text = json.dumps(row, ensure_ascii=False, separators=(",", ":"))
    for char, escaped in _LINE_BREAKS.items():
        text = text.replace(char, escaped)
    return text


def _with_label_names(row: dict[str, Any], labels: dict[str, ClassLabel]) -> dict[str, Any]:
    for name, feature in labels.items():
        if row.get(name) is not None:
            row[name] = feature.int2str(row[name])
    return row
