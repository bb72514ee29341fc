"""`dsgen stats` and `dsgen export` on a damaged build: one `Error:` line naming the
file, no traceback, and an export that fails leaves its destination as it was."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from conftest import assert_one_line_error, folder_tree
from dsgen.cli import cli

QA_TEST = "dataset/qa/test-00000-of-00001.parquet"
FACT_CHECK_TEST = "dataset/fact_check/test-00000-of-00001.parquet"


def _garbage_shard(out):
    (out / QA_TEST).write_text("garbage\n")


def _truncated_shard(out):
    path = out / QA_TEST
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _label_out_of_range(out):
    path = out / FACT_CHECK_TEST
    table = pq.read_table(path)
    rows = table.to_pylist()
    rows[0]["label"] = 7
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), path)


def _column_dropped(out):
    path = out / QA_TEST
    pq.write_table(pq.read_table(path).drop_columns(["pass"]), path)


def _bad_rejected_line(out):
    with (out / "rejected.jsonl").open("a", encoding="utf-8") as fh:
        fh.write("{bad\n")


def _missing_shard(out):
    (out / "dataset" / "summarization" / "test-00000-of-00001.parquet").unlink()


def _run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def _assert_one_error_line(result, *expected):
    assert_one_line_error(result, *expected)
    assert len(result.output.splitlines()) == 1, result.output  # and nothing else


def _missing_rejected(out):
    (out / "rejected.jsonl").unlink()


def _missing_report(out):
    (out / "build-report.json").unlink()


def _garbage_report(out):
    (out / "build-report.json").write_text("[1, 2\n")


def _skipped_not_a_list(out):
    report = json.loads((out / "build-report.json").read_text())
    report["skipped"] = {"reason": "empty"}
    (out / "build-report.json").write_text(json.dumps(report))


#: Damage to a shard, and what the error line must name.
SHARD_DAMAGE = [
    (_garbage_shard, [QA_TEST, "not a parquet file"]),
    (_truncated_shard, [QA_TEST]),
    (_label_out_of_range, [FACT_CHECK_TEST, "row 1", "label 7"]),
    (_column_dropped, [QA_TEST, "columns"]),
]
_IDS = dict(ids=lambda v: v.__name__.strip("_") if callable(v) else None)


@pytest.mark.parametrize(
    "damage, expected",
    SHARD_DAMAGE + [
        (_bad_rejected_line, ["rejected.jsonl", "line "]),
        (_missing_shard, ["not a complete dsgen build", "dataset/summarization/test-00000-of-00001.parquet"]),
        (_missing_rejected, ["out is not a complete dsgen build (missing rejected.jsonl)"]),
        (_missing_report, ["out is not a complete dsgen build (missing build-report.json)"]),
        (_garbage_report, ["cannot read build-report.json: not a JSON build report"]),
        (_skipped_not_a_list, ["cannot read build-report.json: 'skipped' is not a list"]),
    ],
    **_IDS,
)
def test_stats_on_a_damaged_build_is_one_error_line(built_copy, damage, expected):
    damage(built_copy)
    _assert_one_error_line(_run("stats", built_copy), *expected)
    _assert_one_error_line(_run("stats", built_copy, "--json"), *expected)


@pytest.mark.parametrize("damage, expected", SHARD_DAMAGE, **_IDS)
def test_failed_export_names_the_file_and_writes_nothing(built_copy, tmp_path, damage, expected):
    damage(built_copy)
    dest = tmp_path / "exported"
    _assert_one_error_line(_run("export", built_copy, "--format", "jsonl", "-o", dest), *expected)
    assert not dest.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no work folder left


def test_failed_export_to_new_nested_folders_leaves_none_of_them(built_copy, tmp_path):
    _garbage_shard(built_copy)
    _assert_one_error_line(_run("export", built_copy, "-o", tmp_path / "a" / "b" / "c"), QA_TEST)
    assert not (tmp_path / "a").exists()


def test_failed_export_leaves_an_earlier_export_untouched(built_copy, tmp_path):
    dest = tmp_path / "exported"
    assert _run("export", built_copy, "-o", dest).exit_code == 0
    (dest / "notes.txt").write_text("mine\n")
    before = folder_tree(dest)
    _label_out_of_range(built_copy)  # the last file exported, so every other one could be written

    _assert_one_error_line(_run("export", built_copy, "-o", dest), FACT_CHECK_TEST)
    assert folder_tree(dest) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exported", "out"]  # no work folder left


def test_export_replaces_its_earlier_export_and_keeps_other_files(built_copy, tmp_path):
    dest = tmp_path / "exported"
    assert _run("export", built_copy, "-o", dest).exit_code == 0
    (dest / "notes.txt").write_text("mine\n")
    (dest / "qa" / "notes.txt").write_text("mine too\n")
    shard = built_copy / "dataset" / "qa" / "train-00000-of-00001.parquet"
    pq.write_table(pq.read_table(shard).slice(1), shard)  # the build changed: one row fewer
    earlier = (dest / "qa" / "train.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)

    result = _run("export", built_copy, "-o", dest)
    assert result.exit_code == 0, result.output
    assert (dest / "qa" / "train.jsonl").read_text(encoding="utf-8") == "".join(earlier[1:])
    assert (dest / "notes.txt").read_text() == "mine\n" and (dest / "qa" / "notes.txt").read_text() == "mine too\n"
    assert len(list(dest.rglob("*.jsonl"))) == 8
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exported", "out"]  # no work folder left
