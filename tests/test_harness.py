"""lm-evaluation-harness tasks: they load in lm-eval, score like SQuAD/ROUGE, and run for real.

The end-to-end test runs the very command the README gives (``python -m lm_eval
--include_path out/lm_eval ...``) offline, on a tiny random model built in code.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from conftest import SEEDS, templated_build
from dsgen.harness import GROUP, TASKS, task_definitions, write_harness_tasks
from dsgen.types import LABELS
from tiny_models import build_tiny_causal_lm

METRICS = {
    "dsgen_qa": ["exact_match", "f1"],
    "dsgen_fact_check": ["acc", "acc_norm"],
    "dsgen_summarization": ["rouge1", "rouge2", "rougeL"],
}


class _TaskLoader(yaml.SafeLoader):
    """Reads lm-eval YAMLs without lm-eval: ``!function x`` becomes ``("!function", x)``."""


class _LibyamlTaskLoader(yaml.CSafeLoader):
    """The same on libyaml, the parser lm-eval uses when PyYAML has it (stricter than PyYAML's own)."""


for _loader in (_TaskLoader, _LibyamlTaskLoader):
    _loader.add_constructor("!function", lambda loader, node: ("!function", loader.construct_scalar(node)))


def read_task(path: Path) -> dict:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_TaskLoader)


@pytest.fixture(scope="module")
def utils(built):
    """The ``utils.py`` a build writes beside the task YAMLs, imported as lm-eval does."""
    spec = importlib.util.spec_from_file_location("dsgen_lm_eval_utils", built / "lm_eval" / "utils.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tasks(built):
    """The tasks as lm-eval 0.4.13 itself loads them (its TaskManager, our folder only)."""
    from lm_eval.tasks import TaskManager

    manager = TaskManager(include_path=str(built / "lm_eval"), include_defaults=False)
    return manager.load_task_or_group(list(TASKS))


# --------------------------------------------------------------------------- the files


def test_build_writes_a_task_per_config_a_group_and_utils(built):
    folder = built / "lm_eval"
    assert sorted(p.name for p in folder.iterdir()) == sorted([f"{t}.yaml" for t in TASKS] + [f"{GROUP}.yaml", "utils.py"])
    for name in TASKS:
        spec = read_task(folder / f"{name}.yaml")
        assert spec["task"] == name
        assert spec["dataset_path"] == str((built / "dataset").resolve())  # absolute: works from any cwd
        assert spec["test_split"] == "test" and spec["fewshot_split"] == "train"
        assert [m["metric"] for m in spec["metric_list"]] == METRICS[name]
        assert all(m["aggregation"] == "mean" for m in spec["metric_list"])
    assert read_task(folder / f"{GROUP}.yaml")["task"] == list(TASKS)


def test_a_config_without_test_rows_gets_no_task_and_the_group_still_loads(tmp_path):
    """Its test split is not in the card (datasets cannot load an empty split), so a task
    for it could not load; the group names only the tasks that can."""
    from lm_eval.tasks import TaskManager

    out = templated_build(SEEDS, tmp_path / "out", passes=("qa_template",)).out_dir
    folder = out / "lm_eval"
    assert sorted(p.name for p in folder.iterdir()) == ["dsgen.yaml", "dsgen_qa.yaml", "utils.py"]
    assert read_task(folder / f"{GROUP}.yaml")["task"] == ["dsgen_qa"]
    loaded = TaskManager(include_path=str(folder), include_defaults=False).load_task_or_group([GROUP])
    docs = [doc for task in _leaves(loaded) for doc in task.test_docs()]
    assert len(docs) == 10  # the qa test rows of the seed build

    stale = tmp_path / "hub"
    write_harness_tasks(stale, repo_id="someone/news")  # an earlier push, every task
    write_harness_tasks(stale, repo_id="someone/news", counts={"qa": {"train": 3, "test": 0}})
    assert sorted(p.name for p in stale.iterdir()) == ["utils.py"]


def _leaves(loaded):
    for value in loaded.values():
        yield from (_leaves(value) if isinstance(value, dict) else [value])


def test_hub_tasks_read_the_repo_at_its_revision(tmp_path):
    write_harness_tasks(tmp_path, repo_id="someone/news", revision="v2")
    spec = read_task(tmp_path / "dsgen_qa.yaml")
    assert spec["dataset_path"] == "someone/news" and spec["dataset_kwargs"] == {"revision": "v2"}
    write_harness_tasks(tmp_path, repo_id="someone/news")
    assert "dataset_kwargs" not in read_task(tmp_path / "dsgen_qa.yaml")


#: Folder names that are legal on Linux and mean something to YAML, or cannot stand raw in it.
AWKWARD_NAMES = [
    "new\nline: injected # key",
    "trailing newline\n",
    "\n  indented after a newline",
    "hash # sign",
    "colon: space",
    "quotes 'single' \"double\"",
    "  leading and trailing spaces  ",
    "ünïcödé ✓ 日本",
    "carriage\rreturn",
    "tab\there",
    "control \x01 and \x7f",
    "next line \x85 and line separator \u2028",
    "- looks like a list",
    "null",
    "back\\slash n",
]


@pytest.mark.parametrize("name", AWKWARD_NAMES)
def test_tasks_parse_and_point_at_the_dataset_folder_whatever_its_name(name, tmp_path):
    dataset = tmp_path / name / "out" / "dataset"
    folder = tmp_path / "lm_eval"
    write_harness_tasks(folder, dataset_dir=dataset)
    for path in sorted(folder.glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        assert text.startswith("# ") and text.splitlines()[1].split(":")[0] in ("task", "group"), text
        for loader in (_TaskLoader, _LibyamlTaskLoader):
            spec = yaml.load(text, Loader=loader)
            if path.stem == GROUP:
                assert spec == {"group": GROUP, "task": list(TASKS), "metadata": {"version": 1.0}}
            else:
                assert list(spec) == list(task_definitions(str(dataset))[path.stem])  # no key added, none lost
                assert spec["dataset_path"] == str(dataset.resolve())


def test_lm_eval_reads_a_build_whose_folder_name_holds_a_newline(tmp_path):
    from lm_eval.tasks import TaskManager

    out = templated_build(SEEDS, tmp_path / "runs\nb: c # 'q' ü" / "out").out_dir
    loaded = TaskManager(include_path=str(out / "lm_eval"), include_defaults=False).load_task_or_group([GROUP])
    tasks = {task.config.task: task for task in _leaves(loaded)}
    assert sorted(tasks) == sorted(TASKS)
    assert {task.config.dataset_path for task in tasks.values()} == {str((out / "dataset").resolve())}
    assert len(list(tasks["dsgen_qa"].test_docs())) == 10  # the qa test rows of the seed build


def test_exactly_one_dataset_source_is_required(tmp_path):
    with pytest.raises(ValueError):
        write_harness_tasks(tmp_path)
    with pytest.raises(ValueError):
        write_harness_tasks(tmp_path, dataset_dir=tmp_path, repo_id="a/b")


# --------------------------------------------------------------------------- as lm-eval loads them


def test_lm_eval_loads_each_task_with_its_output_type_and_mean_metrics(tasks):
    assert set(tasks) == set(TASKS)
    types = {name: task.OUTPUT_TYPE for name, task in tasks.items()}
    assert types == {"dsgen_qa": "generate_until", "dsgen_fact_check": "multiple_choice",
                     "dsgen_summarization": "generate_until"}
    for name, task in tasks.items():
        assert sorted(task.aggregation()) == sorted(METRICS[name])
        assert all(task.higher_is_better().values())


def test_prompts_and_targets_come_from_the_dataset_rows(tasks):
    qa = tasks["dsgen_qa"]
    doc = qa.test_docs()[0]
    assert qa.doc_to_text(doc) == f"Passage: {doc['context']}\nQuestion: {doc['question']}\nAnswer:"
    assert qa.doc_to_target(doc) == doc["answers"]["text"][0]
    fact = tasks["dsgen_fact_check"]
    for doc in fact.test_docs():
        assert fact.doc_to_choice(doc) == list(LABELS)
        assert fact.doc_to_target(doc) == doc["label"]  # the ClassLabel index into the choices
    summary = tasks["dsgen_summarization"]
    doc = summary.test_docs()[0]
    assert summary.doc_to_text(doc).startswith(f"Article: {doc['document'][:50]}")
    assert summary.doc_to_target(doc) == doc["summary"]


def test_gold_predictions_score_one_everywhere(tasks):
    for name in ("dsgen_qa", "dsgen_summarization"):
        task = tasks[name]
        for doc in task.test_docs():
            assert set(task.process_results(doc, [" " + task.doc_to_target(doc) + " "]).values()) == {1.0}
    fact = tasks["dsgen_fact_check"]
    for doc in fact.test_docs():
        loglikelihoods = [(0.0 if i == doc["label"] else -9.0, False) for i in range(len(LABELS))]
        assert fact.process_results(doc, loglikelihoods)["acc"] == 1.0


# --------------------------------------------------------------------------- the metrics


@pytest.mark.parametrize(
    "prediction, golds, em, f1",
    [
        ("The Eiffel Tower", ["Eiffel Tower"], 1.0, 1.0),  # articles and case do not count
        ("an apple.", ["Apple"], 1.0, 1.0),  # nor punctuation
        ("Eiffel Tower in Paris", ["the Eiffel Tower"], 0.0, 2 / 3),  # P=2/4, R=2/2
        ("theatre", ["atre"], 0.0, 0.0),  # "the" inside a word stays
        ("Paris", ["France", "paris"], 1.0, 1.0),  # best over the gold answers
        ("", ["Paris"], 0.0, 0.0),
        ("ten ten", ["ten"], 0.0, 2 / 3),  # token counts, not sets
    ],
)
def test_qa_scores_are_squad_exact_match_and_f1(utils, prediction, golds, em, f1):
    scores = utils.process_qa({"answers": {"text": golds, "answer_start": [0] * len(golds)}}, [prediction])
    assert scores["exact_match"] == em
    assert scores["f1"] == pytest.approx(f1)


def test_summaries_are_scored_with_rouge(utils):
    doc = {"summary": "Alibaba shares rose after the cloud results."}
    assert utils.process_summary(doc, [doc["summary"]]) == {"rouge1": 1.0, "rouge2": 1.0, "rougeL": 1.0}
    assert utils.process_summary(doc, ["Nothing in common here."])["rouge1"] == 0.0
    partial = utils.process_summary(doc, ["Alibaba shares fell."])
    assert 0.0 < partial["rouge1"] < 1.0 and partial["rouge2"] > 0.0


# --------------------------------------------------------------------------- for real


def run_lm_eval(include_path: Path, tasks: str, model_dir: Path, out: Path, limit: int, timeout: int) -> dict:
    """The README's command, offline, in a subprocess; returns lm-eval's results JSON."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "HF_DATASETS_CACHE": str(out / "hf-datasets-cache")}
    command = [
        sys.executable, "-m", "lm_eval", "--include_path", str(include_path), "--tasks", tasks,
        "--model", "hf", "--model_args", f"pretrained={model_dir},dtype=float32", "--device", "cpu",
        "--batch_size", "4", "--limit", str(limit), "--output_path", str(out / "results"),
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout, cwd=out)
    assert done.returncode == 0, done.stderr[-3000:]
    (results,) = (out / "results").rglob("results_*.json")
    return json.loads(results.read_text())


def test_lm_eval_runs_every_task_offline_on_a_tiny_model(built, tmp_path):
    model = build_tiny_causal_lm(tmp_path / "tiny-llama")
    results = run_lm_eval(built / "lm_eval", ",".join(TASKS), model, tmp_path, limit=2, timeout=300)

    for name, metrics in METRICS.items():
        assert results["n-samples"][name]["effective"] == 2
        for metric in metrics:
            value = results["results"][name][f"{metric},none"]
            assert isinstance(value, float) and 0.0 <= value <= 1.0, (name, metric, value)


@pytest.mark.model
def test_lm_eval_runs_qa_with_the_embedded_gemma(built, tmp_path):
    from dsgen.backends.transformers_backend import ensure_converted_embedded_model

    model = ensure_converted_embedded_model()
    start = time.perf_counter()
    results = run_lm_eval(built / "lm_eval", "dsgen_qa", model, tmp_path, limit=5, timeout=900)
    qa = results["results"]["dsgen_qa"]
    assert results["n-samples"]["dsgen_qa"]["effective"] == 5
    assert 0.0 <= qa["exact_match,none"] <= qa["f1,none"] <= 1.0
    print(f"gemma dsgen_qa --limit 5: {qa} in {time.perf_counter() - start:.0f}s")
