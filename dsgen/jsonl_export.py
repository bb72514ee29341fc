"""JSON Lines export: ``<dest>/<config>/<split>.jsonl``, one row per line.

Rows keep the parquet column order; ``ClassLabel`` columns (``fact_check.label``)
are written as names (``"SUPPORTS"``), so the files need no schema to read.
Same build, same bytes.

An export never writes into the build's seeds folder (the next build would read the
files as articles) or its ``dataset/`` folder (the dataset as pushed and loaded), and
never replaces a file it did not write: it records the sha256 of each file it writes
in ``<dest>/.dsgen-export.json``, and replaces a file of the same name only while it
still has those bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import jsonlines
from datasets import ClassLabel

from dsgen.atomic_dir import make_work_dir, missing_folders, remove_empty, remove_stale
from dsgen.build_files import build_seeds_dir, build_shards, shard_rows
from dsgen.errors import DsgenError
from dsgen.features import FEATURES
from dsgen.folders import is_within

#: The record of an export in its destination: ``{"files": {"qa/train.jsonl": [sha256, ...]}}``.
#: Hidden, so ``load_dataset("json", data_dir=dest)`` does not take it for data.
RECORD = ".dsgen-export.json"


def export_jsonl(out_dir: str | Path, dest: str | Path) -> list[Path]:
    """Write every config and split of the build in ``out_dir`` as JSONL under ``dest``.

    All or nothing: the files are written into a hidden work folder beside ``dest`` and
    moved into place only once every one of them is complete, so a damaged build leaves
    ``dest`` as it was, and no folder that the export created. Files of an earlier export
    are replaced, other files in ``dest`` are kept. Returns the written paths (config,
    then split order).

    Raises:
        DsgenError: ``out_dir`` holds no complete, readable dsgen build; ``dest`` is or
            lies in the build's seeds or dataset folder, holds a file of the same name as
            an exported one that no export wrote (or that was changed since), or cannot
            be written.
    """
    sources = build_shards(out_dir, "build-report.json")
    names = [f"{config}/{split}.jsonl" for config, split in sources]
    configs = list(dict.fromkeys(config for config, _ in sources))
    dest = Path(dest)
    root = dest.resolve()  # where the files go; the work folder goes beside it, on the same filesystem
    _check_destination(out_dir, dest, root, configs)
    earlier = _read_record(root)
    _refuse_files_not_exported(dest, names, earlier)
    created = [root / c for c in configs if not os.path.lexists(root / c)] + missing_folders(root)
    had_record = os.path.lexists(root / RECORD)
    work, moved, recorded, done = None, 0, False, False
    try:
        remove_stale(root)  # work folders of killed exports
        work = make_work_dir(root)
        for config, split in sources:
            labels = {name: f for name, f in FEATURES[config].items() if isinstance(f, ClassLabel)}
            (work / config).mkdir(exist_ok=True)
            with jsonlines.open(work / config / f"{split}.jsonl", mode="w", dumps=_dumps) as writer:
                for row in shard_rows(out_dir, config, split):
                    writer.write(_with_label_names(row, labels))
        digests = {name: _sha256(work / name) for name in names}
        for config in configs:
            (root / config).mkdir(parents=True, exist_ok=True)
        # Until every file is in place, the earlier bytes count as exported too: a crash midway leaves some of each
        _write_record(work, root, {name: sorted({digests[name], *earlier.get(name, ())}) for name in names})
        recorded = True
        for name in names:
            os.replace(work / name, root / name)
            moved += 1
        _write_record(work, root, {name: [digests[name]] for name in names})
        done = True
    except OSError as exc:
        raise DsgenError(f"cannot write {dest}: {exc.strerror or exc}") from None
    finally:
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)
        if not done:
            if recorded and not moved and not had_record:
                (root / RECORD).unlink(missing_ok=True)
            remove_empty(created)
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


def _read_record(root: Path) -> dict[str, set[str]]:
    """The sha256 digests an earlier export recorded for each file it wrote; none when
    there is no record or it is unreadable (then no file counts as exported)."""
    try:
        files = json.loads((root / RECORD).read_text(encoding="utf-8")).get("files")
    except (OSError, ValueError, AttributeError):
        return {}
    if not isinstance(files, dict):
        return {}
    return {name: set(d) for name, d in files.items() if isinstance(d, list) and all(isinstance(x, str) for x in d)}


def _refuse_files_not_exported(dest: Path, names: list[str], earlier: dict[str, set[str]]) -> None:
    """Refuse when ``dest`` holds, where an exported file goes, something that no export
    wrote: a user's own file, an exported file edited since, or a file in place of a folder."""
    problems = []
    for name in names:
        folder, path = (dest / name).parent, dest / name
        if os.path.lexists(folder) and not folder.is_dir():
            problems.append((folder, "was not written by dsgen export"))
        elif not os.path.lexists(path):
            continue
        elif path.is_symlink() or not path.is_file() or name not in earlier:
            problems.append((path, "was not written by dsgen export"))
        elif _sha256(path) not in earlier[name]:
            problems.append((path, "was changed since dsgen export wrote it"))
    problems = list(dict(problems).items())  # a file in place of a folder once, not per split
    if len(problems) == 1:
        (path, why), = problems
        raise DsgenError(f"{path} {why}, and an export would replace it; move it away or export to another folder")
    if problems:
        raise DsgenError(f"{dest} holds {len(problems)} files that an export would replace but that dsgen export did "
                         f"not write or that were changed since, e.g. {problems[0][0]}; move them away or export "
                         "to another folder")


def _write_record(work: Path, root: Path, files: dict[str, list[str]]) -> None:
    record = {"written_by": "dsgen export", "files": files}
    (work / RECORD).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(work / RECORD, root / RECORD)


def _sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


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
