"""Checked reading of a built output folder's files, for ``dsgen stats`` and ``dsgen export``:
a missing, damaged or tampered file is a :class:`DsgenError` naming it, never a traceback.
(``dsgen validate`` reads them too, but reports each problem instead of stopping.)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from dsgen.errors import DsgenError
from dsgen.features import COLUMNS, CONFIG_NAMES, SPLITS
from dsgen.folders import not_utf8
from dsgen.parquet_writer import read_rows, shard_name
from dsgen.types import LABELS

_HINT = "rebuild or run dsgen validate"


def build_shards(out_dir: str | Path, *extra: str) -> dict[tuple[str, str], Path]:
    """The parquet file of every config and split of the build in ``out_dir``.

    Raises:
        DsgenError: there is no build, or one of its shards (or of the ``extra`` files,
            relative to ``out_dir``) is missing.
    """
    out = Path(out_dir)
    dataset = out / "dataset"
    if not dataset.is_dir():
        raise DsgenError(f"no built dataset at {dataset} (run `dsgen build` first)")
    shards = {(c, s): dataset / c / shard_name(s) for c in CONFIG_NAMES for s in SPLITS}
    missing = [str(p.relative_to(out)) for p in shards.values() if not p.is_file()]
    missing += [name for name in extra if not (out / name).is_file()]
    if missing:  # named from the build folder: rejected.jsonl is beside dataset/, not in it
        raise DsgenError(f"{out} is not a complete dsgen build (missing {', '.join(missing[:3])}); rebuild it")
    check_utf8_path(out)
    return shards


def check_utf8_path(out_dir: str | Path) -> None:
    """Refuse a build folder given by a path that is not valid UTF-8: pyarrow cannot open
    its parquet files. (A build never writes there, see :func:`dsgen.build.check_folders`;
    this is a build moved or renamed there afterwards.)

    Raises:
        DsgenError: one line, the path with its undecodable bytes escaped.
    """
    shown = not_utf8(Path(out_dir))
    if shown is not None:
        raise DsgenError(f"cannot read the build in {shown}: its path is not valid UTF-8, and its parquet files are "
                         "opened by a UTF-8 path; rename the folder")


def shard_rows(out_dir: str | Path, config: str, split: str) -> Iterator[dict[str, Any]]:
    """Rows of one shard, labels as integers; a file that is not a parquet file of the
    dsgen schema, or a label out of range, is a DsgenError naming the file (and row)."""
    path = Path(out_dir) / "dataset" / config / shard_name(split)
    where = f"dataset/{config}/{shard_name(split)}"
    try:
        if pq.read_schema(path).names != list(COLUMNS[config]):
            raise DsgenError(f"cannot read {where}: its columns are not the dsgen {config} schema; {_HINT}")
        for n, row in enumerate(read_rows(path), start=1):
            label = row.get("label", 0)  # only fact_check has labels
            if type(label) is not int or not 0 <= label < len(LABELS):
                raise DsgenError(f"cannot read {where}: row {n} has label {label!r}, not 0-{len(LABELS) - 1}; {_HINT}")
            yield row
    except pa.ArrowException as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "magic bytes" in reason:
            reason = "not a parquet file"
        raise DsgenError(f"cannot read {where}: {reason}; {_HINT}") from None
    except OSError as exc:
        raise DsgenError(f"cannot read {where}: {exc.strerror or exc}; {_HINT}") from None


def build_report(out_dir: str | Path) -> dict[str, Any]:
    """``build-report.json`` of the build in ``out_dir``.

    Raises:
        DsgenError: the report cannot be read or is not a JSON object.
    """
    try:
        report = json.loads((Path(out_dir) / "build-report.json").read_text(encoding="utf-8"))
    except OSError as exc:
        raise DsgenError(f"cannot read build-report.json: {exc.strerror or exc}; rebuild it") from None
    except ValueError:  # not UTF-8, or not JSON
        report = None
    if not isinstance(report, dict):
        raise DsgenError("cannot read build-report.json: not a JSON build report; rebuild it")
    return report


def build_seeds_dir(out_dir: str | Path) -> Path:
    """The seeds folder the build in ``out_dir`` read, from ``build-report.json``.

    Builds record it absolute; a relative one (from an older dsgen) is taken from the
    current folder, the best guess left.

    Raises:
        DsgenError: the report cannot be read or does not name the folder.
    """
    seeds = build_report(out_dir).get("config")
    seeds = seeds.get("seeds_dir") if isinstance(seeds, dict) else None
    if not isinstance(seeds, str) or not seeds:
        raise DsgenError("build-report.json does not name the seeds folder (config.seeds_dir); rebuild it")
    return Path(seeds)


def skipped_inputs(out_dir: str | Path) -> list[dict[str, Any]]:
    """The inputs the build in ``out_dir`` skipped (``skipped`` in ``build-report.json``),
    each with its ``source``, ``reason`` and ``detail``.

    Raises:
        DsgenError: the report cannot be read, or its list is not one record per input.
    """
    skipped = build_report(out_dir).get("skipped")
    if not isinstance(skipped, list) or not all(isinstance(s, dict) and isinstance(s.get("reason"), str)
                                                for s in skipped):
        raise DsgenError("cannot read build-report.json: 'skipped' is not a list of skipped inputs; rebuild it")
    return skipped


def rejected_records(out_dir: str | Path) -> Iterator[dict[str, Any]]:
    """The records of ``rejected.jsonl``; a line that is not one is a DsgenError naming it."""
    path = Path(out_dir) / "rejected.jsonl"
    try:
        with path.open(encoding="utf-8") as fh:
            for n, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    item = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DsgenError(f"cannot read rejected.jsonl: line {n} is not JSON ({exc.msg}); rebuild it") from None
                if not (isinstance(item, dict) and isinstance(item.get("pass"), str)
                        and isinstance(item.get("reason"), str)):
                    raise DsgenError(f"cannot read rejected.jsonl: line {n} is not a rejection record; rebuild it")
                yield item
    except UnicodeDecodeError:
        raise DsgenError("cannot read rejected.jsonl: not UTF-8 text; rebuild it") from None
    except OSError as exc:
        raise DsgenError(f"cannot read rejected.jsonl: {exc.strerror or exc}") from None
