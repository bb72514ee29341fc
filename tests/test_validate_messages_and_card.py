"""`dsgen validate` checks what trainers read besides the labelled columns: each row's
`messages` must be what the build's message templates render from that row."""

from __future__ import annotations

import json
import shutil

import pyarrow.parquet as pq
import pytest
import yaml
from click.testing import CliRunner

from conftest import SEEDS, TEMPLATES
from dsgen.cli import cli

QA_TEST = "dataset/qa/test-00000-of-00001.parquet"


def run(*args):
    return CliRunner().invoke(cli, list(map(str, args)), catch_exceptions=False)


def edit_rows(path, edit, pick=lambda row: True):
    """Apply ``edit`` to the first row of a parquet file that ``pick`` accepts; its id."""
    table = pq.read_table(path)
    rows = table.to_pylist()
    i = next(i for i, row in enumerate(rows) if pick(row))
    edit(rows[i])
    pq.write_table(type(table).from_pylist(rows, schema=table.schema), path)
    return rows[i]["id"]


def assert_fails_with(result, reason, *words):
    """Exit 1, exactly one problem, counted under ``reason``, listed on one line holding ``words``."""
    assert result.exit_code == 1, result.output
    assert "FAILED: 1 problem(s)" in result.output and f"  {reason}: 1\n" in result.output, result.output
    listed = [line for line in result.output.splitlines() if line.endswith(")") and f": {reason} (" in line]
    assert len(listed) == 1, result.output
    for word in words:
        assert word in listed[0], result.output


# --------------------------------------------------------------------------- messages


def _first_sentence_only(row):
    row["summary"] = row["summary"].split(". ")[0] + "."  # still a supported summary


def _other_label(row):
    messages = row["messages"]
    messages[-1]["content"] = "REFUTES" if messages[-1]["content"] != "REFUTES" else "SUPPORTS"


MESSAGE_EDITS = [
    # config, edit, which row: each leaves the row's own rules intact, so only `messages` can tell
    ("qa", lambda r: r["messages"][-1].update(content="a different answer"), lambda r: True),
    ("summarization", _first_sentence_only, lambda r: ". " in r["summary"]),
    ("fact_check", _other_label, lambda r: True),
    ("documents", lambda r: r["messages"][0].update(content="Write an article."), lambda r: r["title"]),
]


@pytest.mark.parametrize("config, edit, pick", MESSAGE_EDITS, ids=[e[0] for e in MESSAGE_EDITS])
def test_validate_flags_messages_that_disagree_with_their_row(built_copy, config, edit, pick):
    row_id = edit_rows(built_copy / "dataset" / config / "train-00000-of-00001.parquet", edit, pick)
    assert_fails_with(run("validate", built_copy), "messages_mismatch", config, row_id, "message at char")


def _custom_templates(tmp_path):
    """Message templates unlike the shipped ones: a system turn, a loop, filters, another label text."""
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    (templates / "messages" / "qa.yaml").write_text(
        'system: You answer questions about "{{ title }}".\n'
        "user: |-\n"
        '  {% for line in context.split("\\n") %}> {{ line }}\n'
        "  {% endfor %}\n"
        "  Q: {{ question | lower_first }}\n"
        "assistant: '{{ answer | upper }}'\n", encoding="utf-8")
    (templates / "messages" / "fact_check.yaml").write_text(
        "user: 'Claim: {{ claim }}'\nassistant: '{{ label | lower }}'\n", encoding="utf-8")
    return templates


def test_a_build_with_custom_message_templates_validates_and_stale_messages_do_not(tmp_path):
    out = tmp_path / "out"
    build = run("build", SEEDS, "-o", out, "--backend", "none", "--templates", _custom_templates(tmp_path), "-q")
    assert build.exit_code == 0, build.output
    result = run("validate", out)
    assert result.exit_code == 0 and result.output.startswith("OK"), result.output
    assert "Note" not in result.output

    # The row as the shipped templates render it: well-formed, but not this build's chat.
    shipped = yaml.safe_load((TEMPLATES / "messages" / "qa.yaml").read_text(encoding="utf-8"))
    row_id = edit_rows(out / QA_TEST, lambda r: r.update(messages=[
        {"role": "user", "content": shipped["user"].replace("{{ context }}", r["context"])
                                                   .replace("{{ question }}", r["question"])},
        {"role": "assistant", "content": r["answers"]["text"][0]},
    ]))
    assert_fails_with(run("validate", out), "messages_mismatch", row_id, "roles ['user', 'assistant']")


def test_validate_says_when_it_cannot_compare_messages_with_their_templates(built_copy):
    """A build by an older dsgen recorded no message templates: the shapes are still checked."""
    path = built_copy / "build-report.json"
    report = json.loads(path.read_text())
    report["config"].pop("message_templates", None)
    path.write_text(json.dumps(report))
    result = run("validate", built_copy)
    assert result.exit_code == 0 and result.output.startswith("OK"), result.output
    assert "Note: messages were checked for shape only" in result.output
    assert "build-report.json does not record them" in result.output

    edit_rows(built_copy / QA_TEST, lambda r: r["messages"][-1].update(role="user"))
    assert_fails_with(run("validate", built_copy), "messages_malformed", "last message is not the assistant's")


@pytest.mark.parametrize(
    "damage, reason, words",
    [
        (lambda text: "{", "unreadable_file", ["build-report.json"]),
        (lambda text: text.replace('"assistant": "{{ answer }}"', '"assistant": "{{ answer"'), "report_invalid",
         ["build-report.json", "(qa assistant)"]),
        (lambda text: text.replace('"assistant": "{{ answer }}"', '"assistant": 7'), "report_invalid",
         ["build-report.json", "must be text"]),
    ],
    ids=["not-json", "template-syntax", "template-not-text"],
)
def test_validate_reports_a_damaged_record_of_the_message_templates(built_copy, damage, reason, words):
    path = built_copy / "build-report.json"
    text = path.read_text()
    assert damage(text) != text
    path.write_text(damage(text))
    assert_fails_with(run("validate", built_copy), reason, *words)
