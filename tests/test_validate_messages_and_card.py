"""`dsgen validate` checks what trainers and `load_dataset` read besides the labelled columns:
each row's `messages` must be what the build's message templates render from that row, and the
dataset card's front matter must parse and name exactly the parquet files that have rows."""

from __future__ import annotations

import json
import re
import shutil

import pyarrow.parquet as pq
import pytest
import yaml
from click.testing import CliRunner

from conftest import SEEDS, TEMPLATES
from dsgen.cli import cli

CARD = "dataset/README.md"
QA_TEST = "dataset/qa/test-00000-of-00001.parquet"
QA_TEST_IN_CARD = "  - split: test\n    path: qa/test-00000-of-00001.parquet\n"


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


# --------------------------------------------------------------------------- the dataset card


def _insert_after(first_line_starting, new_line):
    """A damage that inserts ``new_line`` after the card's first line starting so; it
    returns the inserted line's number."""
    def damage(out):
        lines = (out / CARD).read_text(encoding="utf-8").split("\n")
        at = next(i for i, line in enumerate(lines) if line.startswith(first_line_starting)) + 1
        (out / CARD).write_text("\n".join(lines[:at] + [new_line] + lines[at:]), encoding="utf-8")
        return at + 1
    return damage


@pytest.mark.parametrize(
    "damage, words",
    [
        (_insert_after("license:", "\tnote: tab-indented"), ["found character '\\t'"]),
        (_insert_after("configs:", "  extra: ["), ["invalid YAML front matter", "expected the node content"]),
    ],
    ids=["tab", "unclosed-bracket"],
)
def test_validate_reports_a_card_whose_front_matter_does_not_parse(built_copy, damage, words):
    line = damage(built_copy)
    result = run("validate", built_copy)
    assert_fails_with(result, "card_invalid", CARD, "invalid YAML front matter", *words)
    if words[0].startswith("found character"):  # the error is on the inserted line itself
        assert re.search(rf"at line {line}, column 1: ", result.output), result.output


@pytest.mark.parametrize(
    "damage, words",
    [
        (lambda text: text.split("---\n", 2)[2], ["no YAML front matter"]),
        (lambda text: "---\n- a list\n---\n" + text.split("---\n", 2)[2], ["not a mapping"]),
        (None, ["missing"]),
    ],
    ids=["no-front-matter", "front-matter-a-list", "no-card"],
)
def test_validate_reports_a_card_load_dataset_cannot_read(built_copy, damage, words):
    card = built_copy / CARD
    if damage is None:
        card.unlink()
    else:
        card.write_text(damage(card.read_text(encoding="utf-8")), encoding="utf-8")
    assert_fails_with(run("validate", built_copy), "card_invalid", CARD, *words)


@pytest.mark.parametrize(
    "damage, words",
    [
        (lambda text: text.replace(QA_TEST_IN_CARD, ""), ["qa test", "10 rows", "not listed in configs"]),
        (lambda text: text.replace("path: qa/test-00000", "path: qa/tset-00000"), ["qa/tset-00000-of-00001.parquet",
                                                                                  "matches no file"]),
        (lambda text: text.replace("path: qa/test-00000", "path: summarization/test-00000"),
         ["is summarization/test-00000-of-00001.parquet, not qa/test-00000-of-00001.parquet"]),
        (lambda text: text.replace("- split: test\n    path: qa/", "- split: validation\n    path: qa/"),
         ["qa has a split 'validation'"]),
    ],
    ids=["split-left-out", "no-such-file", "another-configs-file", "unknown-split"],
)
def test_validate_reports_card_configs_that_do_not_name_the_parquet_files(built_copy, damage, words):
    card = built_copy / CARD
    text = card.read_text(encoding="utf-8")
    assert damage(text) != text
    card.write_text(damage(text), encoding="utf-8")
    result = run("validate", built_copy)
    assert result.exit_code == 1, result.output
    assert re.search(r"^  card_configs_mismatch: [12]$", result.output, re.M), result.output
    listed = [line for line in result.output.splitlines() if ": card_configs_mismatch (" in line]
    assert any(all(w in line for w in words) for line in listed), result.output


def test_the_card_lists_a_split_only_if_it_has_rows(built_copy):
    """A split without rows must not be in the card (load_dataset fails on it); dsgen's
    card leaves such splits out, and that is no failure."""
    table = pq.read_table(built_copy / QA_TEST)
    pq.write_table(table.slice(0, 0), built_copy / QA_TEST)
    assert_fails_with(run("validate", built_copy), "card_configs_mismatch",
                      "qa test is qa/test-00000-of-00001.parquet, which has no rows")

    card = built_copy / CARD
    card.write_text(card.read_text(encoding="utf-8").replace(QA_TEST_IN_CARD, ""), encoding="utf-8")
    result = run("validate", built_copy)
    assert result.exit_code == 0 and result.output.startswith("OK"), result.output
