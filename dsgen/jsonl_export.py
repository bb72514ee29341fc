"""JSON Lines export: ``<dest>/<config>/<split>.jsonl``, one row per line.

Rows keep the parquet column order; ``ClassLabel`` columns (``fact_check.label``)
are written as names (``"SUPPORTS"``), so the files need no schema to read.
Same build, same bytes.

An export never writes into the build's seeds folder (the next build would read the
files as articles) or its ``dataset/`` folder (the dataset as pushed and loaded).
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
from dsgen.build_files import build_seeds_dir, build_shards, shard_rows
from dsgen.errors import DsgenError
from dsgen.features import FEATURES
from dsgen.folders import is_within


def export_jsonl(out_dir: str | Path, dest: str | Path) -> list[Path]:
    """Write every config and split of the build in ``out_dir`` as JSONL under ``dest``.

    All or nothing: the files are written into a hidden work folder beside ``dest`` and
    moved into place only once every one of them is complete, so a damaged build leaves
    ``dest`` as it was. Other files in ``dest`` are kept. Returns the written paths
    (config, then split order).

    Raises:
        DsgenError: ``out_dir`` holds no complete, readable dsgen build; ``dest`` is or
            lies in the build's seeds or dataset folder, or cannot be written.
    """
    sources = build_shards(out_dir, "build-report.json")
    names = [f"{config}/{split}.jsonl" for config, split in sources]
    configs = list(dict.fromkeys(config for config, _ in sources))
    dest = Path(dest)
    root = dest.resolve()  # where the files go; the work folder goes beside it, on the same filesystem
    _check_destination(out_dir, dest, root, configs)
    work = None
    try:
        remove_stale(root)  # work folders of killed exports
        work = make_work_dir(root)
        for config, split in sources:
            labels = {name: f for name, f in FEATURES[config].items() if isinstance(f, ClassLabel)}
            (work / config).mkdir(exist_ok=True)
            with jsonlines.open(work / config / f"{split}.jsonl", mode="w", dumps=_dumps) as writer:
                for row in shard_rows(out_dir, config, split):
                    writer.write(_with_label_names(row, labels))
        for name in names:
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            os.replace(work / name, root / name)
    except OSError as exc:
        raise DsgenError(f"cannot write {dest}: {exc.strerror or exc}") from None
    finally:
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)
    return [dest / name for name in names]


def _check_destination(out_dir: str | Path, dest: Path, root: Path, configs: list[str]) -> None:
    """Refuse a destination whose files would land in the build's seeds or dataset folder.

    ``dest`` itself, and each ``<dest>/<config>`` (one may be a link, or the seeds folder
    may be named like a config), are compared resolved, as ``dsgen build`` compares its
    output folder with the seeds folder.
    """
    if not root.name:
        raise DsgenError(f"cannot export to {dest}: choose a folder, not the root of the filesystem")
    if root.exists() and not root.is_dir():
        raise DsgenError(f"cannot export to {dest}: it is a file")
    seeds, dataset = build_seeds_dir(out_dir), Path(out_dir) / "dataset"
    for folder, what in (
        (seeds, f"the seeds folder {seeds} of the build, where the next build would read the files as articles; "
                "choose a folder outside it"),
        (dataset, f"the dataset folder {dataset} of the build, which holds only the dataset as it is pushed and "
                  f"loaded; choose a folder outside it, such as {Path(out_dir) / 'jsonl'} (the default)"),
    ):
        folder = folder.resolve()
        for given, resolved in [(dest, root)] + [(dest / c, (root / c).resolve()) for c in configs]:
            if is_within(resolved, folder):
                subject = "it is" if given is dest else f"{given} would be"
                raise DsgenError(f"cannot export to {dest}: {subject} {'' if resolved == folder else 'inside '}{what}")


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
