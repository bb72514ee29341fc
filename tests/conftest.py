"""Shared fixtures: one templated build of the seed corpus per test session."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# Backend fixtures (tiny model, embedded model, loopback OpenAI server) are shared by every
# module from one place, so the session-scoped embedded model is loaded once per run.
pytest_plugins = ["backend_fixtures"]

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
TEMPLATES = REPO / "templates"


def assert_one_line_error(result, *words):
    """A CLI run (click's ``CliRunner``) that failed the way users should see: its whole
    output one ``Error: ...`` line holding ``words`` (no usage block, no traceback), no
    uncaught exception."""
    assert result.exit_code != 0, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    error_lines = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert len(error_lines) == 1, result.output
    assert result.output.strip() == error_lines[0], result.output
    for word in words:
        assert word in error_lines[0], result.output


def template_questions(folder: Path, text: str) -> list[tuple[str, str]]:
    """``(question, answer)`` of each candidate of the templated QA pass on an article of
    ``text`` (written to ``folder``/a.txt)."""
    from dsgen.corpus import load_corpus
    from dsgen.passes.base import PassContext
    from dsgen.passes.qa_template import QATemplatePass
    from dsgen.templates import TemplateStore

    (folder / "a.txt").write_text(text + "\n", encoding="utf-8")
    doc = load_corpus(folder).documents[0]
    ctx = PassContext(TemplateStore(TEMPLATES))
    return [(c.fields["question"], c.fields["answers"]["text"][0]) for c in QATemplatePass().run([doc], ctx)]


def folder_tree(root: Path) -> dict[str, bytes | str]:
    """Every file and folder under ``root``, hidden ones too (files with their bytes), to
    show that a refused or failed command left it as it was."""
    return {p.relative_to(root).as_posix(): p.read_bytes() if p.is_file() else "dir" for p in sorted(root.rglob("*"))}


def templated_build(seeds: Path, out: Path, **overrides):
    """Run the templated passes only (no model), like `dsgen build --backend none`."""
    from dsgen.build import build
    from dsgen.config import load_config

    return build(load_config(None, backend="none", seeds_dir=seeds, out_dir=out, templates_dir=TEMPLATES, **overrides))


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> Path:
    """``out/`` of a templated build of ``seeds/`` (read-only: copy before editing)."""
    out = tmp_path_factory.mktemp("build") / "out"
    templated_build(SEEDS, out)
    return out


@pytest.fixture
def built_copy(built, tmp_path) -> Path:
    """A private copy of the session build that a test may tamper with."""
    dest = tmp_path / "out"
    shutil.copytree(built, dest)
    return dest
