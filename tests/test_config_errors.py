"""Mistakes in a config file, a templates folder or --passes: one `Error:` line, never a
traceback, and a wrong value is refused rather than quietly used."""

from __future__ import annotations

import collections
import re
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
        # pass options: a traceback deep in a pass before
        ("[build.options]\nclaims_per_label = \"six\"", ["pass option 'claims_per_label'", "integer >= 1", "'six'"]),
        ("[build.options]\nclaims_per_label = [6]", ["'claims_per_label'", "integer >= 1", "[6]"]),
        ("[build.options]\nsummary_sentences = \"3\"", ["'summary_sentences'", "integer >= 1", "'3'"]),
        ("[build.options]\nmodel_context_chars = \"600\"", ["'model_context_chars'", "integer >= 1", "'600'"]),
        ("[build.options]\nfake = 3", ["'fake'", "table", "3"]),
        # pass options: silently used (rounded, negative, a bool as a number) before
        ("[build.options]\nsummary_sentences = 2.5", ["'summary_sentences'", "integer >= 1", "2.5"]),
        ("[build.options]\nsummary_sentences = -1", ["'summary_sentences'", "integer >= 1", "-1"]),
        ("[build.options]\nclaims_per_label = 0", ["'claims_per_label'", "integer >= 1", "0"]),
        ("[build.options]\nclaims_per_label = true", ["'claims_per_label'", "integer >= 1", "true"]),
        ("[build.options]\nmodel_context_chars = 0", ["'model_context_chars'", "integer >= 1", "0"]),
        ("[build.options]\nqa_free_generation = \"false\"", ["'qa_free_generation'", "true or false", "'false'"]),
        ("[build.options]\nqa_free_generation = 1", ["'qa_free_generation'", "true or false", "1"]),
        ("[build.options]\nrefutes_style = \"value\"", ["'refutes_style'", "'replace' or 'rewrite'", "'value'"]),
        ("[options]\nrefutes_style = 5", ["'refutes_style'", "'replace' or 'rewrite'", "5"]),
    ],
)
def test_a_config_value_of_the_wrong_type_is_one_line_naming_the_key(toml, words, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text(toml + "\n", encoding="utf-8")
    result = build(tmp_path, "--config", config)
    assert_one_line_error(result, *words)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "toml, words",
    [
        ("claim_per_label = 2", ["unknown pass option 'claim_per_label'", "did you mean 'claims_per_label'?"]),
        ("summary_sentence = 2", ["unknown pass option 'summary_sentence'", "did you mean 'summary_sentences'?"]),
        ("refute_style = \"rewrite\"", ["unknown pass option 'refute_style'", "did you mean 'refutes_style'?"]),
        ("colour = \"blue\"", ["unknown pass option 'colour' in [build.options] (known: claims_per_label, "]),
        ("model_items_per_doc = 9", ["'model_items_per_doc' is a [build] key", "move it out of [build.options]"]),
        ("temperature = 0.5", ["'temperature' is a [build] key"]),
    ],
)
def test_a_pass_option_no_pass_reads_is_one_line_naming_the_known_ones(toml, words, tmp_path):
    """A misspelt option was silently ignored before, and so was a [build] key put in
    [build.options] (the build's own value replaced it)."""
    config = tmp_path / "c.toml"
    config.write_text("[build.options]\n" + toml + "\n", encoding="utf-8")
    result = build(tmp_path, "--config", config)
    assert_one_line_error(result, *words)
    if "unknown" in words[0]:
        for name in ("claims_per_label", "model_context_chars", "qa_free_generation", "refutes_style",
                     "summary_sentences"):
            assert name in result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "toml, words",
    [
        # a TypeError traceback from FakeBackend before
        ("bogus = 1", ["unknown key 'bogus' in [build.options.fake] (known: model_id, replies)"]),
        ("reply = [\"a\"]", ["unknown key 'reply' in [build.options.fake]", "did you mean 'replies'?"]),
        ("responder = \"upper\"", ["unknown key 'responder' in [build.options.fake]"]),  # a function in Python
        ("replies = 5", ["key 'replies' in [build.options.fake] must be a list of strings, got 5"]),
        ("replies = [\"a\", 5]", ["key 'replies' in [build.options.fake] must be a list of strings, got ['a', 5]"]),
        # silently recorded as the generator (an integer, "generator": 5 in rejected.jsonl) before
        ("model_id = 5", ["key 'model_id' in [build.options.fake] must be a string, got 5"]),
    ],
)
def test_a_key_of_the_fake_backend_table_is_checked_like_every_config_key(toml, words, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('[build]\nbackend = "fake"\npasses = ["qa_model"]\n[build.options.fake]\n' + toml + "\n",
                      encoding="utf-8")
    args = ["build", SEEDS, "-o", tmp_path / "out", "-q", "--config", config, "--no-cache"]
    assert_one_line_error(CliRunner().invoke(cli, list(map(str, args))), *words)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.toml"]


def test_a_key_of_the_fake_backend_table_is_checked_with_any_backend(tmp_path):
    """As every [build.options] key is: a mistake in it is found before the table is used."""
    config = tmp_path / "c.toml"
    config.write_text("[build.options.fake]\nbogus = 1\n", encoding="utf-8")
    assert_one_line_error(build(tmp_path, "--config", config), "unknown key 'bogus' in [build.options.fake]")
    assert not (tmp_path / "out").exists()


def test_pass_options_from_a_config_file_reach_the_passes(tmp_path):
    import pyarrow.parquet as pq

    config = tmp_path / "c.toml"
    config.write_text("[build.options]\nsummary_sentences = 1\nclaims_per_label = 1\n", encoding="utf-8")
    result = build(tmp_path, "--config", config)
    assert result.exit_code == 0, result.output
    dataset = tmp_path / "out" / "dataset"
    rows = [r for split in ("train", "test") for config in ("summarization", "fact_check")
            for r in pq.read_table(dataset / config / f"{split}-00000-of-00001.parquet").to_pylist()]
    summaries = [r for r in rows if "summary" in r]
    assert summaries and {r["generator"] for r in summaries} <= {"summarization/lead-1", "summarization/centroid-1"}
    per_article = collections.Counter((r["doc_id"], r["label"]) for r in rows if "claim" in r)
    assert per_article and max(per_article.values()) == 1


def test_every_pass_option_is_documented_in_the_readme_with_its_default():
    from dsgen.passes.options import PASS_OPTIONS

    readme = (TEMPLATES.parent / "README.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^  \| `(\w+)` \| (.+)$", readme, flags=re.MULTILINE))
    assert sorted(rows) == sorted(PASS_OPTIONS)
    for name, option in PASS_OPTIONS.items():
        default = {bool: lambda d: f"(`{str(d).lower()}`)", str: lambda d: f'(`"{d}"`)',
                   dict: lambda d: "(empty)"}.get(option.type, lambda d: f"(`{d}`)")(option.default)
        assert default in rows[name] and all(f'"{c}"' in rows[name] for c in option.choices), rows[name]


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
        ("qa/definitions.yaml", _RULE.format(kinds="[PHRASE]", question="'What?'").encode(),
         ["qa/definitions.yaml rule 1 (r)", "PHRASE", "(?P<answer>"]),
        ("qa/wh_questions.yaml", _RULE.format(kinds="[MONEY]", question="'What?'").replace("<ANSWER>", "x").encode(),
         ["qa/wh_questions.yaml rule 1 (r)", "needs <ANSWER>"]),
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
