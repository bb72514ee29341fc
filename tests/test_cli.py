"""The CLI as users meet it: help everywhere, validate catches tampering, one-line errors."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from conftest import SEEDS, TEMPLATES, assert_one_line_error, folder_tree, templated_build
from dsgen.cli import cli


def run(*args):
    return CliRunner().invoke(cli, list(map(str, args)), catch_exceptions=False)


def test_every_command_has_help_text():
    top = run("--help")
    assert top.exit_code == 0
    for name, command in cli.commands.items():
        assert command.help, f"{name} has no help text"
        result = run(name, "--help")
        assert result.exit_code == 0 and "Usage:" in result.output, name


def test_build_then_validate_and_stats(tmp_path):
    out = tmp_path / "out"
    result = run("build", SEEDS, "-o", out, "--backend", "none", "--templates", TEMPLATES, "-q")
    assert result.exit_code == 0, result.output
    assert "Built" in result.output
    result = run("validate", out)
    assert result.exit_code == 0 and result.output.startswith("OK")
    result = run("stats", out)
    assert result.exit_code == 0
    for word in ("qa", "summarization", "fact_check", "qa_template", "rejected"):
        assert word in result.output
    as_json = json.loads(run("inspect", out, "--json").output)
    assert as_json["splits"]["qa"]["train"] > 0


def _tamper(path, column, edit):
    table = pq.read_table(path)
    rows = table.to_pylist()
    rows[0] = edit(rows[0])
    pq.write_table(type(table).from_pylist(rows, schema=table.schema), path)
    return rows[0]["id"]


@pytest.mark.parametrize(
    "config, edit, reason",
    [
        ("qa", lambda r: {**r, "context_start": r["context_start"] + 1}, "context_mismatch"),
        ("qa", lambda r: {**r, "answers": {**r["answers"], "answer_start": [r["answers"]["answer_start"][0] + 2]}}, "answer_mismatch"),
        ("qa", lambda r: {**r, "question": r["question"][:-1] + " " + r["answers"]["text"][0] + "?"}, "question_contains_answer"),
        ("summarization", lambda r: {**r, "summary": r["summary"] + " Alibaba sold Tesla for $9 trillion."}, "summary_unsupported"),
        ("fact_check", lambda r: {**r, "evidence": [{"start": 0, "end": 10**7}]}, "span_out_of_range"),
        ("fact_check", lambda r: {**r, "claim": "Nobody ever mentioned Zorblax Corp in 1850."}, None),
    ],
)
def test_validate_fails_with_ids_and_reasons_after_tampering(built_copy, config, edit, reason):
    path = built_copy / "dataset" / config / "train-00000-of-00001.parquet"
    row_id = _tamper(path, config, edit)
    result = run("validate", built_copy)
    assert result.exit_code == 1
    assert row_id in result.output
    if reason:
        assert reason in result.output


@pytest.mark.parametrize(
    "config, column, edit, reason",
    [
        ("fact_check", "claim", lambda claim: "It was.", "claim_no_content"),
        ("fact_check", "claim", lambda claim: "Who was it?", "claim_no_content"),
        ("fact_check", "claim", lambda claim: claim.rstrip(".") + "?", "claim_is_question"),
        ("fact_check", "claim", lambda claim: claim.replace(" ", " \ufffd ", 1), "text_replacement_character"),
        ("summarization", "summary", lambda summary: "It was what it was, and so it is.", "summary_no_content"),
        ("summarization", "summary", lambda summary: summary + " It was so.", "summary_no_content"),
        ("qa", "question", lambda question: "Who was it?", "question_no_content"),
    ],
)
def test_validate_fails_rows_edited_to_say_nothing(built_copy, config, column, edit, reason):
    """Text of stop words has a content-token recall of 1.0 against anything: it must not pass for supported.
    The messages are edited alike, so only the row's own rules can tell."""
    def tamper(row):
        value = edit(row[column])
        # The shipped message templates end a message with the claim, question or summary.
        messages = [{**m, "content": m["content"].removesuffix(row[column]) + value} if m["content"].endswith(row[column])
                    else m for m in row["messages"]]
        assert messages != row["messages"]
        return {**row, column: value, "messages": messages}

    path = built_copy / "dataset" / config / "train-00000-of-00001.parquet"
    row_id = _tamper(path, config, tamper)
    result = run("validate", built_copy)
    assert result.exit_code == 1, result.output
    assert f"  {reason}: 1\n" in result.output and row_id in result.output, result.output


def test_validate_flags_a_label_flip(built_copy):
    path = built_copy / "dataset" / "fact_check" / "train-00000-of-00001.parquet"
    rows = pq.read_table(path).to_pylist()
    target = next(i for i, r in enumerate(rows) if r["label"] == 0)  # SUPPORTS -> REFUTES, no change recorded
    rows[target]["label"] = 1
    table = pq.read_table(path)
    pq.write_table(type(table).from_pylist(rows, schema=table.schema), path)
    result = run("validate", built_copy)
    assert result.exit_code == 1 and "refutes_change_missing" in result.output


def test_validate_flags_split_leakage(built_copy):
    src = built_copy / "dataset" / "qa" / "test-00000-of-00001.parquet"
    dst = built_copy / "dataset" / "qa" / "train-00000-of-00001.parquet"
    leaked = pq.read_table(src).to_pylist()[0]
    table = pq.read_table(dst)
    pq.write_table(type(table).from_pylist(table.to_pylist() + [leaked], schema=table.schema), dst)
    result = run("validate", built_copy)
    assert result.exit_code == 1 and "split_leak" in result.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["build", "does-not-exist", "--backend", "none"], "seeds folder not found"),
        (["build", "--backend", "none", "--test-size", "1.5"], "--test-size"),
        (["build", "--backend", "none", "--passes", "qa_tempalte"], "did you mean 'qa_template'"),
        (["build", "--backend", "none", "--passes", "qa_model"], "cannot run model passes"),
        (["build", "--backend", "none", "--passes", ""], "--passes names no pass"),
        (["build", "--backend", "none", "--passes", "qa_template,qa_template"], "names qa_template twice"),
        (["build", "--items-per-doc", "0"], "--items-per-doc must be >= 1"),
        (["build", "--temperature", "-0.5"], "--temperature must be a number >= 0"),
        (["build", "--temperature", "inf"], "--temperature must be a number >= 0"),
        (["build", "--backend", "openai", "--model", "m", "--base-url", "http://[::1:8000/v1"],
         "invalid server address 'http://[::1:8000/v1' (--base-url or OPENAI_BASE_URL): Invalid IPv6 URL"),
        (["build", "--backend", "openai", "--model", "m", "--base-url", "notaurl"],
         "invalid server address 'notaurl' (--base-url or OPENAI_BASE_URL): expected http:// or https://"),
    ],
)
def test_user_mistakes_are_one_line_errors(args, message, tmp_path):
    result = CliRunner().invoke(cli, args + ["-o", str(tmp_path / "out")])
    assert_one_line_error(result, message)


@pytest.mark.parametrize(
    "args, message",
    [
        (["build", "{tmp}/no\nsuch", "--backend", "none"], "seeds folder not found: {tmp}/no\\nsuch"),
        (["build", "{tmp}/no\u2028such", "--backend", "none"], "seeds folder not found: {tmp}/no\\u2028such"),
        (["build", "--backend", "none", "--config", "{tmp}/build\r\n.toml"], "{tmp}/build\\r\\n.toml: invalid TOML"),
        (["validate", "{tmp}/new\nline"], "no built dataset at {tmp}/new\\nline/dataset"),
        (["stats", "{tmp}/new\nline"], "no built dataset at {tmp}/new\\nline/dataset"),
        (["export", "{tmp}/new\nline"], "no built dataset at {tmp}/new\\nline/dataset"),
        (["push", "{tmp}/new\nline", "me/news"], "no built dataset at {tmp}/new\\nline/dataset"),
    ],
    ids=["build seeds", "build seeds U+2028", "build --config", "validate", "stats", "export", "push"],
)
def test_an_error_naming_a_path_with_a_line_break_is_still_one_line(args, message, tmp_path):
    """A path may hold a line break: the error printed it over two lines before."""
    (tmp_path / "new\nline").mkdir()
    (tmp_path / "build\r\n.toml").write_text("passes = [\n", encoding="utf-8")
    args = [a.format(tmp=tmp_path) for a in args]
    result = CliRunner().invoke(cli, args + (["-o", str(tmp_path / "out")] if args[0] == "build" else []))
    assert_one_line_error(result, message.format(tmp=tmp_path))


def test_the_summary_of_a_build_into_a_folder_with_a_line_break_is_one_line(tmp_path):
    result = run("build", SEEDS, "-o", tmp_path / "new\nline", "--templates", TEMPLATES, "--backend", "none", "-q")
    assert result.exit_code == 0, result.output
    line, = result.output.splitlines()
    assert line.startswith(f"Built {tmp_path}/new\\nline/dataset (train/test: documents "), line


def test_the_summary_of_a_build_counts_skipped_inputs_by_reason(tmp_path):
    """A user whose articles were skipped learns why from the summary, and where the list is."""
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS, seeds)
    (seeds / "more.jsonl").write_text('{"headline": "A", "content": "B"}\n{"title": "C"}\n{bad\n', encoding="utf-8")
    (seeds / "scan.pdf").write_bytes(b"%PDF-1.7")
    result = run("build", seeds, "-o", tmp_path / "out", "--templates", TEMPLATES, "--backend", "none", "-q")
    assert result.exit_code == 0, result.output
    assert (f", skipped 4 input(s) (2 missing_text, 1 invalid_json, 1 unsupported_file_type; "
            f"listed in {tmp_path}/out/build-report.json) in ") in result.output
    skipped = {s["source"]: s for s in json.loads((tmp_path / "out" / "build-report.json").read_text())["skipped"]}
    assert skipped["more.jsonl#L1"]["detail"].endswith('got fields "headline", "content"'), skipped
    stats = run("stats", tmp_path / "out").output
    assert stats.split("skipped inputs per reason")[1].split("\n")[1:4] == [
        f"  {reason:<61} {n:>6}" for reason, n in (("invalid_json", 1), ("missing_text", 2), ("unsupported_file_type", 1))]


def test_the_summary_of_an_export_into_a_folder_with_a_line_break_is_one_line(built, tmp_path):
    result = run("export", built, "-o", tmp_path / "json\rlines")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [f"Wrote 8 file(s) to {tmp_path}/json\\rlines"]


@pytest.mark.parametrize(
    "args, command, message",
    [
        (["--bogus"], "dsgen", "No such option '--bogus'"),
        (["biuld"], "dsgen", "No such command 'biuld'"),
        (["build", "--bogus"], "dsgen build", "No such option '--bogus'"),
        (["build", "--backend", "gpu"], "dsgen build", "Invalid value for '--backend': 'gpu' is not one of"),
        (["build", "--engine", "spark"], "dsgen build", "Invalid value for '--engine': 'spark' is not one of"),
        (["build", "--seed", "x"], "dsgen build", "Invalid value for '--seed': 'x' is not a valid integer"),
        (["build", "--num-proc", "1.5"], "dsgen build", "Invalid value for '--num-proc': '1.5' is not a valid integer"),
        (["build", "--test-size", "big"], "dsgen build", "Invalid value for '--test-size': 'big' is not a valid float"),
        (["build", "-o"], "dsgen build", "Option '-o' requires an argument"),
        (["build", "seeds", "more-seeds"], "dsgen build", "Got unexpected extra argument (more-seeds)"),
        (["build", "seeds", "two\nlines"], "dsgen build", "Got unexpected extra argument (two\\nlines)"),
        (["build", "--templates", "{file}"], "dsgen build", "is a file"),
        (["validate"], "dsgen validate", "Missing argument 'OUT_DIR'"),
        (["validate", "{missing}"], "dsgen validate", "Invalid value for 'OUT_DIR': Directory"),
        (["validate", "{tmp}", "--max-failures", "many"], "dsgen validate", "'many' is not a valid integer"),
        (["validate", "--bogus"], "dsgen validate", "No such option '--bogus'"),
        (["stats"], "dsgen stats", "Missing argument 'OUT_DIR'"),
        (["stats", "{tmp}", "--csv"], "dsgen stats", "No such option '--csv'"),
        (["inspect", "{missing}"], "dsgen inspect", "does not exist"),
        (["push", "{tmp}"], "dsgen push", "Missing argument 'REPO_ID'"),
        (["push", "{missing}", "me/news"], "dsgen push", "does not exist"),
        (["push", "{tmp}", "me/news", "--public"], "dsgen push", "No such option '--public'"),
        (["export"], "dsgen export", "Missing argument 'OUT_DIR'"),
        (["export", "{tmp}", "--format", "csv"], "dsgen export", "Invalid value for '--format': 'csv' is not 'jsonl'"),
        (["export", "{tmp}", "--dest"], "dsgen export", "Option '--dest' requires an argument"),
    ],
)
def test_usage_mistakes_are_one_line_naming_the_help(args, command, message, tmp_path):
    """Click prints a usage block, a hint and a blank line before the error; dsgen prints
    the error and where the help is, on one line of stderr, with click's exit code 2."""
    (tmp_path / "notes.txt").write_text("x", encoding="utf-8")
    paths = {"tmp": tmp_path, "missing": tmp_path / "missing", "file": tmp_path / "notes.txt"}
    result = CliRunner().invoke(cli, [a.format(**paths) for a in args], prog_name="dsgen")
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    line, = result.stderr.splitlines()
    assert line.startswith("Error: ") and message in line, line
    assert line.endswith(f" (see '{command} --help')"), line


def test_a_bare_dsgen_still_shows_the_help():
    result = CliRunner().invoke(cli, [], prog_name="dsgen")
    assert "Usage: dsgen [OPTIONS] COMMAND" in result.output and "Commands:" in result.output


def _snapshot(root):
    return {str(f.relative_to(root)): f.read_bytes() for f in sorted(root.rglob("*")) if f.is_file()}


@pytest.mark.parametrize(
    "out, message",
    [
        ("seeds", "is the seeds folder"),
        (".", "holds seeds, the seeds folder"),
        ("seeds/out", "is inside the seeds folder"),
        ("templates", "is the templates folder"),
        ("notes", "holds no dsgen build"),
        ("notes/todo.txt", "is a file"),
    ],
)
def test_an_output_folder_that_would_lose_the_users_files_is_refused(out, message, tmp_path, monkeypatch):
    """A build replaces its output folder whole: never over the articles, the templates or
    someone's own folder."""
    shutil.copytree(SEEDS, tmp_path / "seeds")
    shutil.copytree(TEMPLATES, tmp_path / "templates")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("keep me\n")
    before = _snapshot(tmp_path)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["build", "seeds", "-o", out, "--templates", "templates", "--backend", "none", "-q"])
    assert result.exit_code != 0
    error_lines = [l for l in result.output.splitlines() if l.startswith("Error")]
    assert len(error_lines) == 1 and message in error_lines[0], result.output
    assert _snapshot(tmp_path) == before


@pytest.mark.parametrize(
    "flags, env, message",
    [
        (["--cache-dir", "out/cache"], None, "model-call cache folder out/cache is inside the output folder out"),
        (["--cache-dir", "out"], None, "model-call cache folder out is the output folder"),
        ([], "out/dsgen-cache", "model-call cache folder out/dsgen-cache/calls is inside the output folder out"),
    ],
)
def test_a_cache_folder_inside_the_output_folder_is_refused(flags, env, message, tmp_path, monkeypatch):
    """The build's final swap replaces the output folder, which would delete a cache inside
    it after every build, so each rebuild would repeat every model call."""
    monkeypatch.chdir(tmp_path)
    if env:
        monkeypatch.setenv("DSGEN_CACHE_DIR", env)
    templated_build(SEEDS, tmp_path / "out")  # a previous build: a valid output folder
    (tmp_path / "out" / "cache" / "ab").mkdir(parents=True)
    (tmp_path / "out" / "cache" / "ab" / "entry.json").write_text("{}")
    config = tmp_path / "fake.toml"
    config.write_text('[build]\nbackend = "fake"\npasses = ["qa_model"]\n', encoding="utf-8")
    before = folder_tree(tmp_path)
    result = CliRunner().invoke(cli, ["build", str(SEEDS), "-o", "out", "--templates", str(TEMPLATES),
                                      "--config", "fake.toml", "-q", *flags])
    assert_one_line_error(result, message, "choose a folder outside it")
    assert folder_tree(tmp_path) == before


def test_a_model_whose_context_is_shorter_than_the_prompts_is_one_line_error(tmp_path):
    """GPT-2 with 64 positions: torch used to fail with an IndexError traceback."""
    from test_backends import short_context_gpt2

    model = short_context_gpt2(tmp_path / "gpt2short")
    result = CliRunner().invoke(cli, list(map(str, ["build", SEEDS, "-o", tmp_path / "out", "--templates", TEMPLATES,
                                                    "--model", model, "--passes", "qa_model", "--no-cache", "-q"])))
    assert_one_line_error(result, "tokens plus up to", "does not fit model 'gpt2short'", "64 positions")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("model, message", [
    ("", "--model is empty"),
    ("~nosuchuser-dsgen/x", "model folder not found: ~nosuchuser-dsgen/x"),
])
def test_a_model_option_that_names_no_model_is_one_line_error(model, message, tmp_path):
    """`--model ""` used to build with the embedded model, `~nosuchuser/x` to end in a traceback."""
    result = CliRunner().invoke(cli, list(map(str, ["build", SEEDS, "-o", tmp_path / "out", "--templates", TEMPLATES,
                                                    "--model", model, "--passes", "qa_model", "--no-cache", "-q"])))
    assert_one_line_error(result, message)


def test_a_failed_build_leaves_no_folder_it_created(tmp_path):
    """`-o x/y/z` creates x/ and x/y/ for the build's work folder; when the model fails
    (here the fake backend, out of replies, as an unreachable server would), they go too."""
    config = tmp_path / "fake.toml"
    config.write_text('[build]\nbackend = "fake"\npasses = ["qa_model"]\n', encoding="utf-8")
    result = CliRunner().invoke(cli, list(map(str, ["build", SEEDS, "-o", tmp_path / "x" / "y" / "z", "--templates",
                                                    TEMPLATES, "--config", config, "--no-cache", "-q"])))
    assert_one_line_error(result, "FakeBackend ran out of queued replies")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fake.toml"]


#: A folder name that is not UTF-8 (byte 0xff), as Python sees it: file systems allow it.
NOT_UTF8 = os.fsdecode(b"bad\xffbyte")


@pytest.mark.parametrize("relative", [False, True], ids=["in -o", "in the current folder"])
def test_an_output_folder_whose_path_is_not_utf8_is_refused_before_any_work(relative, tmp_path, monkeypatch):
    """Parquet files are written by a UTF-8 path and the lm-eval tasks record the absolute
    path as text: a pyarrow traceback before (or, from such a current folder, tasks
    naming a path no reader can open). Refused in one line, and nothing is created."""
    out = tmp_path / NOT_UTF8 / "out"
    if relative:
        (tmp_path / NOT_UTF8).mkdir()
        monkeypatch.chdir(tmp_path / NOT_UTF8)
    before = folder_tree(tmp_path)
    result = CliRunner().invoke(cli, list(map(str, ["build", SEEDS, "-o", "out" if relative else out,
                                                    "--templates", TEMPLATES, "--backend", "none", "-q"])))
    assert_one_line_error(result, f"output folder {tmp_path}/bad\\xffbyte/out: its path is not valid UTF-8",
                          "parquet", "lm-eval", "choose another folder")
    assert folder_tree(tmp_path) == before


@pytest.mark.parametrize("command", [["validate"], ["stats"], ["inspect"], ["export"], ["export", "--dest", "{tmp}/j"]],
                         ids=" ".join)
def test_a_build_moved_to_a_path_that_is_not_utf8_is_one_line(command, built, tmp_path):
    """pyarrow cannot open its parquet files there: a traceback before."""
    out = tmp_path / NOT_UTF8
    shutil.copytree(built, out)
    before = folder_tree(tmp_path)
    result = CliRunner().invoke(cli, [command[0], str(out), *(a.format(tmp=tmp_path) for a in command[1:])])
    assert_one_line_error(result, f"cannot read the build in {tmp_path}/bad\\xffbyte: its path is not valid UTF-8",
                          "rename the folder")
    assert folder_tree(tmp_path) == before


def test_a_build_given_as_the_seeds_folder_is_refused(built, tmp_path):
    result = run("build", built, "-o", tmp_path / "out2", "--templates", TEMPLATES, "--backend", "none", "-q")
    assert result.exit_code != 0 and "holds a dsgen build, not articles" in result.output
    assert not (tmp_path / "out2").exists()


def test_an_empty_folder_or_a_previous_build_can_be_the_output(tmp_path):
    (tmp_path / "empty").mkdir()
    for out in ("empty", "empty"):  # the second time over the first build
        result = run("build", SEEDS, "-o", tmp_path / out, "--templates", TEMPLATES, "--backend", "none", "-q")
        assert result.exit_code == 0, result.output
    assert (tmp_path / "empty" / "dataset" / "qa").is_dir()


def test_an_output_folder_given_as_a_symlink_is_built_where_it_points(tmp_path):
    (tmp_path / "disk").mkdir()
    (tmp_path / "out").symlink_to(tmp_path / "disk" / "out", target_is_directory=True)
    for seed in ("0", "1"):
        result = run("build", SEEDS, "-o", tmp_path / "out", "--templates", TEMPLATES, "--backend", "none", "-q",
                     "--seed", seed)
        assert result.exit_code == 0, result.output
    assert (tmp_path / "out").is_symlink()
    report = json.loads((tmp_path / "disk" / "out" / "build-report.json").read_text())
    assert report["config"]["seed"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["disk", "out"]
    assert sorted(p.name for p in (tmp_path / "disk").iterdir()) == ["out"]


def test_quiet_also_silences_the_model_loading_bar(tiny_model_dir, tmp_path):
    """transformers draws "Loading weights 100%|..." on stderr while the model loads
    (stderr is not a terminal here, so dsgen's own bars are off either way)."""
    def stderr_of(*flags):
        args = ["build", SEEDS, "-o", tmp_path / "out", "--templates", TEMPLATES, "--model", tiny_model_dir,
                "--passes", "qa_model", "--items-per-doc", "1", "--no-cache", *flags]
        done = subprocess.run([sys.executable, "-m", "dsgen.cli", *map(str, args)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done.stderr

    bar = re.compile(r"\d+%\|")
    assert bar.search(stderr_of()), "transformers drew no bar: this test would prove nothing"
    assert not bar.search(stderr_of("-q"))


def test_tqdm_is_not_imported_before_quiet_can_switch_it_off():
    """tqdm reads TQDM_DISABLE once, on import; the GGUF conversion's bar (first use of the
    embedded model, too slow to run here) is only silenced if that comes after --quiet."""
    script = "import sys, dsgen.cli, dsgen.build, dsgen.config; print(sorted(m for m in sys.modules if m.startswith('tqdm')))"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_quiet_puts_the_libraries_switches_back_for_in_process_callers(tmp_path, monkeypatch):
    from huggingface_hub.utils import are_progress_bars_disabled
    from transformers.utils import logging as transformers_logging

    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    before = are_progress_bars_disabled(), transformers_logging.is_progress_bar_enabled()
    result = run("build", SEEDS, "-o", tmp_path / "out", "--backend", "none", "--templates", TEMPLATES, "-q")
    assert result.exit_code == 0, result.output
    assert "TQDM_DISABLE" not in os.environ
    assert (are_progress_bars_disabled(), transformers_logging.is_progress_bar_enabled()) == before


def test_validate_on_a_folder_that_is_not_a_build(tmp_path):
    result = CliRunner().invoke(cli, ["validate", str(tmp_path)])
    assert result.exit_code != 0 and "no built dataset" in result.output


def test_validate_rejects_a_refutes_claim_that_restates_the_same_number():
    from dsgen.validate import check_row

    text = "The company invested four billion dollars in 2020 to build data centers."
    row = {
        "id": "x", "doc_id": "d", "pass": "p", "method": "model", "generator": "g",
        "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "REFUTES"}],
        "claim": "The company invested 4 billion dollars in 2020 to build data centers.",
        "label": "REFUTES", "context": text, "context_start": 0,
        "evidence": [{"start": 0, "end": len(text)}],
        "change": {"kind": "NUMBER", "original": "four", "replacement": "4"},
    }
    assert "refutes_no_change" in [p.reason for p in check_row("fact_check", row, text)]


def test_validate_fails_an_answer_cut_inside_a_word(built_copy):
    """"Novembe" of "November": the span is in the passage, but no reader would answer that."""
    def tamper(row):
        answer = row["answers"]["text"][0]
        assert answer[-1].isalnum() and len(answer) > 2
        cut = answer[:-1]
        messages = [{**m, "content": cut} if m["role"] == "assistant" else m for m in row["messages"]]
        return {**row, "answers": {**row["answers"], "text": [cut]}, "messages": messages}

    row_id = _tamper(built_copy / "dataset" / "qa" / "train-00000-of-00001.parquet", "qa", tamper)
    result = run("validate", built_copy)
    assert result.exit_code == 1, result.output
    assert "  answer_splits_word: 1\n" in result.output and row_id in result.output, result.output
    assert "messages_mismatch" not in result.output  # only the new rule can tell


def test_a_cache_folder_under_an_unknown_users_home_is_one_line_error(tmp_path, monkeypatch):
    monkeypatch.setenv("DSGEN_CACHE_DIR", "~no-such-user-dsgen/cache")
    result = CliRunner().invoke(cli, ["build", str(SEEDS), "-o", str(tmp_path / "out"), "--templates", str(TEMPLATES),
                                      "--backend", "openai", "--base-url", "http://127.0.0.1:9/v1", "--model", "m", "-q"])
    assert_one_line_error(result, "DSGEN_CACHE_DIR='~no-such-user-dsgen/cache'", "home folder")
    assert not (tmp_path / "out").exists()


def test_ctrl_c_stops_a_build_waiting_on_a_server_that_never_answers(openai_server, tmp_path):
    """Before, Ctrl-C waited for every request in flight to use up its retries: four 60 s
    timeouts, then a timeout error instead of saying the build was stopped."""
    openai_server.delay = lambda prompt: 3600  # a stuck GPU server
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    shutil.copy(sorted(SEEDS.glob("*.txt"))[0], seeds)
    env = {**os.environ, "OPENAI_API_KEY": "k",
           "PYTHONPATH": os.pathsep.join([str(SEEDS.parent), os.environ.get("PYTHONPATH", "")])}
    child = subprocess.Popen(
        [sys.executable, "-m", "dsgen.cli", "build", seeds, "-o", tmp_path / "out", "-q", "--no-cache",
         "--templates", TEMPLATES, "--backend", "openai", "--model", "m", "--base-url", openai_server.base_url,
         "--passes", "qa_model", "--concurrency", "4"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while len(openai_server.requests) < 4 and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(openai_server.requests) == 4, child.communicate(timeout=5)  # all four in flight
        child.send_signal(signal.SIGINT)
        stopped = time.monotonic()
        out, err = child.communicate(timeout=10)
    finally:
        child.kill()
        child.wait()
    assert time.monotonic() - stopped < 10
    assert child.returncode != 0 and out == "" and err.strip() == "Aborted!", err
    assert len(openai_server.requests) == 4  # nothing sent after Ctrl-C
