"""`dsgen export --format jsonl`: one file per config and split, rows as the parquet has them."""

from __future__ import annotations

import shutil

import jsonlines
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from conftest import SEEDS, TEMPLATES, assert_one_line_error, folder_tree
from dsgen.cli import cli
from dsgen.errors import DsgenError
from dsgen.features import CONFIG_NAMES, SPLITS
from dsgen.jsonl_export import export_jsonl
from dsgen.types import LABELS


def _read(path):
    with jsonlines.open(path) as reader:
        return list(reader)


def test_writes_one_file_per_config_and_split(built, tmp_path):
    written = export_jsonl(built, tmp_path / "jsonl")
    assert written == [tmp_path / "jsonl" / c / f"{s}.jsonl" for c in CONFIG_NAMES for s in SPLITS]
    assert sorted(p for p in (tmp_path / "jsonl").rglob("*") if p.is_file()) == sorted(
        written + [tmp_path / "jsonl" / ".dsgen-export.json"])  # no partial files left; the record of what was written


@pytest.mark.parametrize("config", CONFIG_NAMES)
def test_round_trip_matches_the_parquet_rows(built, tmp_path, config):
    export_jsonl(built, tmp_path / "jsonl")
    for split in SPLITS:
        table = pq.read_table(built / "dataset" / config / f"{split}-00000-of-00001.parquet")
        rows = _read(tmp_path / "jsonl" / config / f"{split}.jsonl")
        assert len(rows) == table.num_rows
        expected = table.to_pylist()
        if config == "fact_check":
            expected = [{**r, "label": LABELS[r["label"]]} for r in expected]
        assert rows == expected
        assert all(list(r) == table.column_names for r in rows)


def test_labels_are_names_and_each_line_is_one_row(built, tmp_path):
    export_jsonl(built, tmp_path / "jsonl")
    lines = (tmp_path / "jsonl" / "fact_check" / "train.jsonl").read_text(encoding="utf-8").splitlines()
    labels = {row["label"] for row in _read(tmp_path / "jsonl" / "fact_check" / "train.jsonl")}
    assert labels <= set(LABELS) and "SUPPORTS" in labels
    assert len(lines) == pq.read_metadata(built / "dataset" / "fact_check" / "train-00000-of-00001.parquet").num_rows


def test_export_is_deterministic(built, tmp_path):
    first = [p.read_bytes() for p in export_jsonl(built, tmp_path / "a")]
    second = [p.read_bytes() for p in export_jsonl(built, tmp_path / "b")]
    assert first == second


def test_missing_or_incomplete_build_is_a_dsgen_error(built_copy, tmp_path):
    with pytest.raises(DsgenError, match="no built dataset"):
        export_jsonl(tmp_path / "nothing", tmp_path / "jsonl")
    (built_copy / "dataset" / "qa" / "test-00000-of-00001.parquet").unlink()
    with pytest.raises(DsgenError, match="not a complete dsgen build.*qa/test"):
        export_jsonl(built_copy, tmp_path / "jsonl")


def test_cli_export_defaults_to_out_jsonl(built_copy):
    result = CliRunner().invoke(cli, ["export", str(built_copy), "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    assert "Wrote 8 file(s)" in result.output
    assert (built_copy / "jsonl" / "qa" / "test.jsonl").is_file()


def test_cli_export_to_a_destination_and_errors_in_one_line(built_copy, tmp_path):
    result = CliRunner().invoke(cli, ["export", str(built_copy), "-o", str(tmp_path / "elsewhere")])
    assert result.exit_code == 0 and (tmp_path / "elsewhere" / "summarization" / "train.jsonl").is_file()
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(cli, ["export", str(tmp_path / "empty")])
    assert result.exit_code == 1 and result.output.startswith("Error: ") and result.output.count("\n") == 1


def test_unicode_line_separators_inside_text_stay_on_one_line(built_copy, tmp_path):
    path = built_copy / "dataset" / "documents" / "train-00000-of-00001.parquet"
    table = pq.read_table(path)
    rows = table.to_pylist()
    rows[0]["title"] = "Line\u2028separator\u2029and\x85next line"
    pq.write_table(type(table).from_pylist(rows, schema=table.schema), path)

    export_jsonl(built_copy, tmp_path / "jsonl")
    target = tmp_path / "jsonl" / "documents" / "train.jsonl"
    assert len(target.read_text(encoding="utf-8").splitlines()) == len(rows)
    assert _read(target)[0]["title"] == rows[0]["title"]


def _run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A folder with its own ``seeds/``, built the way the README shows (``dsgen build seeds -o out``)."""
    shutil.copytree(SEEDS, tmp_path / "seeds")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "seeds-link").symlink_to(tmp_path / "seeds", target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    result = _run("build", "seeds", "-o", "out", "--templates", TEMPLATES, "--backend", "none", "-q")
    assert result.exit_code == 0, result.output
    return tmp_path


@pytest.mark.parametrize(
    "cwd, out, dest",
    [
        (".", "out", "seeds"),
        (".", "out", "seeds/jsonl"),
        (".", "out", "seeds-link/jsonl"),  # a link to the seeds folder
        ("elsewhere", "../out", "../seeds/jsonl"),  # the build named its seeds relative to another folder
    ],
)
def test_export_into_the_seeds_folder_of_the_build_is_refused(project, monkeypatch, cwd, out, dest):
    """The next `dsgen build seeds` would read the exported files as articles."""
    before = folder_tree(project)
    monkeypatch.chdir(project / cwd)
    assert_one_line_error(_run("export", out, "--format", "jsonl", "-o", dest), dest, "seeds folder",
                          "choose a folder outside it")
    assert folder_tree(project) == before


def test_export_whose_config_folder_would_be_the_seeds_folder_is_refused(tmp_path, monkeypatch):
    shutil.copytree(SEEDS, tmp_path / "qa")  # articles in a folder named like a config
    monkeypatch.chdir(tmp_path)
    assert _run("build", "qa", "-o", "out", "--templates", TEMPLATES, "--backend", "none", "-q").exit_code == 0
    before = folder_tree(tmp_path)
    assert_one_line_error(_run("export", "out", "-o", "."), "qa", "seeds folder")
    assert folder_tree(tmp_path) == before


def test_export_into_the_current_folder(built, tmp_path, monkeypatch):
    (tmp_path / "here").mkdir()
    monkeypatch.chdir(tmp_path / "here")
    result = _run("export", built, "-o", ".")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "here" / "qa" / "train.jsonl").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["here"]  # no work folder left beside it


@pytest.mark.parametrize("dest", ["dataset", "dataset/qa"])
def test_export_into_the_dataset_folder_is_refused(built_copy, dest):
    """``out/dataset`` is the Hugging Face dataset folder, kept exactly as pushed and loaded."""
    before = folder_tree(built_copy)
    assert_one_line_error(_run("export", built_copy, "-o", built_copy / dest), "dataset folder",
                          "choose a folder outside it")
    assert folder_tree(built_copy) == before


@pytest.mark.parametrize("mine", ["qa/train.jsonl", "qa"])
def test_export_does_not_overwrite_a_file_it_did_not_write(built, tmp_path, mine):
    dest = tmp_path / "exported"
    (dest / mine).parent.mkdir(parents=True, exist_ok=True)
    (dest / mine).write_text("my own rows\n")
    (dest / "notes.txt").write_text("mine\n")
    before = folder_tree(tmp_path)
    assert_one_line_error(_run("export", built, "-o", dest), str(dest / mine), "not written by dsgen export",
                          "move it away")
    assert folder_tree(tmp_path) == before


def test_export_does_not_overwrite_its_earlier_file_once_the_user_edited_it(built, tmp_path):
    dest = tmp_path / "exported"
    assert _run("export", built, "-o", dest).exit_code == 0
    edited = dest / "qa" / "train.jsonl"
    edited.write_text("".join(edited.read_text(encoding="utf-8").splitlines(keepends=True)[:3]), encoding="utf-8")
    before = folder_tree(tmp_path)
    assert_one_line_error(_run("export", built, "-o", dest), str(edited), "changed since")
    assert folder_tree(tmp_path) == before
