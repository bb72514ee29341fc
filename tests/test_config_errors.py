"""Mistakes in a config file, a templates folder or --passes: one `Error:` line, never a
traceback, and a wrong value is refused rather than quietly used."""

from __future__ import annotations

import shutil
import subprocess
import sys
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from conftest import SEEDS, TEMPLATES, assert_one_line_error
from dsgen.cli import cli


def build(tmp_path, *args):
    """`dsgen build` of the seed articles into a fresh folder, templated passes only."""
    args = ["build", SEEDS, "-o", tmp_path / "out", "--backend", "none", "-q", *args]
    return CliRunner().invoke(cli, list(map(str, args)))


@pytest.mark.parametrize(
    "toml, words",
    [
        # tracebacks before
        ("num_proc = 2.5", ["'num_proc'", "integer", "2.5"]),
        ("passes = 5", ["'passes'", "pass name"]),
        ("options = \"x\"", ["'options'", "table"]),
        ("build = 3", ["'build'", "table"]),
        # silently used before
        ("strict = \"false\"", ["'strict'", "true or false", "'false'"]),
        ("seed = \"abc\"", ["config key 'seed' must be an integer, got 'abc'"]),
        ("seed = 1.5", ["'seed'", "integer", "1.5"]),
        ("seed = true", ["'seed'", "integer", "true"]),
        ("seed = 1e400", ["'seed'", "integer", "inf"]),
        ("license = 5", ["'license'", "string", "5"]),
        ("pretty_name = 7", ["'pretty_name'", "string", "7"]),
        ("language = [\"en\", \"de\"]", ["'language'", "string"]),
        ("passes = [\"qa_template\", 3]", ["'passes'", "list of pass names"]),
        ("seed = 3\n[build]\nstrict = true", ["outside the [build] table", "seed"]),
        # a message that did not name the key before
        ("test_size = \"0.3\"", ["'test_size'", "number", "'0.3'"]),
        ("[build]\nchunk_size = \"64\"", ["'chunk_size'", "integer", "'64'"]),
        # range checks still apply to values of the right type
        ("test_size = nan", ["--test-size", "nan"]),
        ("temperature = -inf", ["--temperature", "-inf"]),
    ],
)
def test_a_config_value_of_the_wrong_type_is_one_line_naming_the_key(toml, words, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text(toml + "\n", encoding="utf-8")
    result = build(tmp_path, "--config", config)
    assert_one_line_error(result, *words)
    assert not (tmp_path / "out").exists()


def test_a_config_file_that_is_not_utf8_is_one_line(tmp_path):
    config = tmp_path / "c.toml"
    config.write_bytes(b"\xff\xfe")
    assert_one_line_error(build(tmp_path, "--config", config), "c.toml", "UTF-8")


def test_a_config_of_the_right_types_builds_as_before(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('[build]\nseed = 3\ntest_size = 0.25\nstrict = true\npasses = ["qa_template"]\n'
                      'license = "cc-by-4.0"\n[build.options]\nsummary_sentences = 2\n', encoding="utf-8")
    result = build(tmp_path, "--config", config)
    assert result.exit_code == 0, result.output
    card = (tmp_path / "out" / "dataset" / "README.md").read_text(encoding="utf-8")
    assert "license: cc-by-4.0" in card


def _damage(tmp_path, relative, content: bytes):
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    (templates / relative).write_bytes(content)
    return templates


_RULE = "rules:\n  - name: r\n    kinds: {kinds}\n    pattern: '<ANSWER>'\n    question: {question}\n"


@pytest.mark.parametrize(
    "relative, content, words",
    [
        ("messages/qa.yaml", b"\xff\xfe\x00", ["messages/qa.yaml", "not UTF-8"]),
        ("lexicon.yaml", b"\xff\xfe\x00", ["lexicon.yaml", "not UTF-8"]),
        ("boilerplate.yaml", b"\xff\xfe\x00", ["boilerplate.yaml", "not UTF-8"]),
        ("messages/qa.yaml", b"user: 7\nassistant: '{{ answer }}'\n", ["messages/qa.yaml (user)", "must be text", "7"]),
        ("lexicon.yaml", b"5", ["lexicon.yaml", "mapping of word lists"]),
        ("lexicon.yaml", b"stopwords: The\n", ["lexicon.yaml", "'stopwords'", "list of words"]),
        ("lexicon.yaml", b"stopwords: [The, No]\n", ["lexicon.yaml", "'stopwords'", 'quote such words ("No")']),
        ("qa/wh_questions.yaml", _RULE.format(kinds="[MONEY]", question="7").encode(),
         ["qa/wh_questions.yaml rule 1 (r)", "'question' must be text", "7"]),
        ("qa/wh_questions.yaml", _RULE.format(kinds="MONEY", question="'What?'").encode(),
         ["qa/wh_questions.yaml rule 1 (r)", "'kinds' must be a list", "'MONEY'"]),
    ],
)
def test_a_damaged_template_file_is_one_line_naming_the_file(relative, content, words, tmp_path):
    templates = _damage(tmp_path, relative, content)
    assert_one_line_error(build(tmp_path, "--templates", templates), *words)


@pytest.mark.parametrize(
    "passes, words",
    [
        ("foo", ["unknown pass 'foo'", "qa_template", "summarization_template", "fact_check_template", "qa_model"]),
        ("qa_templat", ["did you mean 'qa_template'", "fact_check_template"]),
        ("summarization_template,fact_check_templat", ["did you mean 'fact_check_template'", "qa_template"]),
    ],
)
def test_an_unknown_pass_lists_every_pass_and_the_closest(passes, words, tmp_path):
    # A fresh process, as a user runs it: in this one, earlier tests have already imported
    # (and so registered) the passes, which would hide a registry that is still empty.
    args = ["build", SEEDS, "-o", tmp_path / "out", "--backend", "none", "-q", "--passes", passes]
    code = "import sys; from dsgen.cli import cli; cli(sys.argv[1:], prog_name='dsgen')"
    done = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, timeout=120)
    # A process ends by SystemExit or a traceback; the helper checks for the latter in the output.
    result = SimpleNamespace(exit_code=done.returncode, output=done.stdout + done.stderr, exception=SystemExit())
    assert_one_line_error(result, *words)
