"""JSON Lines export: ``<dest>/<config>/<split>.jsonl``, one row per line.

Rows keep the parquet column order; ``ClassLabel`` columns (``fact_check.label``)
are written as names (``"SUPPORTS"``), so the files need no schema to read.
Same build, same bytes.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import jsonlines
from datasets import ClassLabel

from dsgen.atomic_dir import make_work_dir, remove_stale
from dsgen.errors import DsgenError
from dsgen.features import FEATURES
from dsgen.build_files import build_shards, shard_rows


def export_jsonl(out_dir: str | Path, dest: str | Path) -> list[Path]:
    """Write every config and split of the build in ``out_dir`` as JSONL under ``dest``.

    All or nothing: the files are written into a hidden work folder beside ``dest`` and
    moved into place only once every one of them is complete, so a damaged build leaves
    ``dest`` as it was. Other files in ``dest`` are kept. Returns the written paths
    (config, then split order).

    Raises:
        DsgenError: ``out_dir`` holds no complete, readable dsgen build, or ``dest``
            cannot be written.
    """
    sources = build_shards(out_dir)
    dest = Path(dest)
    work = None
    try:
        remove_stale(dest)  # work folders of killed exports
        work = make_work_dir(dest)
        for config, split in sources:
            labels = {name: f for name, f in FEATURES[config].items() if isinstance(f, ClassLabel)}
            (work / config).mkdir(exist_ok=True)
            with jsonlines.open(work / config / f"{split}.jsonl", mode="w", dumps=_dumps) as writer:
                for row in shard_rows(out_dir, config, split):
                    writer.write(_with_label_names(row, labels))
        written = []
        for config, split in sources:
            target = dest / config / f"{split}.jsonl"
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(work / config / f"{split}.jsonl", target)
            written.append(target)
    except OSError as exc:
        raise DsgenError(f"cannot write {dest}: {exc.strerror or exc}") from None
    finally:
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)
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
