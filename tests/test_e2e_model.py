"""End to end with the real embedded model: one short article in, validated model-written rows out.

Slow (the 270M model generates a few dozen short completions on CPU); select or skip it
with ``-m model`` / ``-m "not model"``. The loaded model is shared by the session.
"""

from __future__ import annotations

import json

import pytest

from conftest import SEEDS, TEMPLATES
from dsgen.build import build
from dsgen.config import load_config
from dsgen.features import SPLITS
from dsgen.parquet_writer import read_rows, shard_name
from dsgen.validate import validate_dataset

pytestmark = pytest.mark.model

ARTICLE = (SEEDS / "004_30634c94b6b992c7.txt").read_text(encoding="utf-8")
SHORT_ARTICLE = ARTICLE[: ARTICLE.rfind("\n", 0, 1600)] + "\n"  # title and two paragraphs, ~1,400 chars
MODEL_PASSES = {"qa": "qa_model", "summarization": "summarization_model", "fact_check": "fact_check_model"}


@pytest.fixture(scope="module")
def model_build(tmp_path_factory, embedded_backend):  # noqa: F811 - pytest fixture injection
    """``out/`` of a build of one short article with the model passes and the real model."""
    root = tmp_path_factory.mktemp("model-build")
    seeds = root / "seeds"
    seeds.mkdir()
    (seeds / "alibaba.txt").write_text(SHORT_ARTICLE, encoding="utf-8")
    config = load_config(None, backend="transformers", seeds_dir=seeds, out_dir=root / "out",
                         passes=",".join(MODEL_PASSES.values()), templates_dir=TEMPLATES)
    build(config, backend=embedded_backend)  # the shared model, uncached: every prompt really runs
    return root / "out"


def test_every_task_gets_validated_model_written_rows(model_build, embedded_backend):  # noqa: F811
    report = json.loads((model_build / "build-report.json").read_text())
    for config, name in MODEL_PASSES.items():
        rows = [r for split in SPLITS for r in read_rows(model_build / "dataset" / config / shard_name(split))]
        assert rows, (config, report["passes"][name])
        assert {(r["pass"], r["method"], r["generator"]) for r in rows} == {(name, "model", embedded_backend.model_id)}
    assert validate_dataset(model_build).ok


def test_what_the_model_got_wrong_is_recorded_not_published(model_build):
    report = json.loads((model_build / "build-report.json").read_text())
    records = [json.loads(line) for line in (model_build / "rejected.jsonl").read_text().splitlines() if line]
    assert len(records) == report["rejected_total"]
    assert all(r["reason"] and r["raw_output"] is not None for r in records)
    for name in MODEL_PASSES.values():
        counts = report["passes"][name]
        assert counts["candidates"] == counts["published"] + counts["rejected"] > 0
