"""lm-evaluation-harness task files for a built dataset.

``dsgen build`` writes ``out/lm_eval/``: one task per config plus a ``dsgen`` group,
all pointing at the built dataset folder (or, after a push, at the Hub repo).
Metrics that lm-eval lacks offline (SQuAD F1, ROUGE) come from ``utils.py``.
"""

from __future__ import annotations

from pathlib import Path

import yaml

UTILS = '''"""Metrics for dsgen tasks (written by dsgen; safe to edit)."""

import collections
import re
import string


def _normalize(text):
    text = text.lower()
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    text = re.sub(r"\\\\b(a|an|the)\\\\b", " ", text)
    return " ".join(text.split())


def _f1(prediction, truth):
    pred, gold = _normalize(prediction).split(), _normalize(truth).split()
    common = collections.Counter(pred) & collections.Counter(gold)
    same = sum(common.values())
    if not pred or not gold:
        return float(pred == gold)
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(gold)
    return 2 * precision * recall / (precision + recall)


def process_qa(doc, results):
    """SQuAD exact match and token F1, best over the gold answers."""
    prediction = results[0].strip()
    golds = doc["answers"]["text"]
    return {
        "exact_match": max(float(_normalize(prediction) == _normalize(g)) for g in golds),
        "f1": max(_f1(prediction, g) for g in golds),
    }


def process_summary(doc, results):
    """ROUGE-1/2/L F-measures from the rouge_score package (offline)."""
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    scores = scorer.score(doc["summary"], results[0].strip())
    return {name: score.fmeasure for name, score in scores.items()}
'''


class _FunctionTag(str):
    """Dumps as ``!function utils.name`` (lm-eval's YAML tag)."""


def _represent_function(dumper: yaml.Dumper, value: _FunctionTag):
    return dumper.represent_scalar("!function", str(value))


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(_FunctionTag, _represent_function)


def _mean(name: str) -> dict:
    return {"metric": name, "aggregation": "mean", "higher_is_better": True}


def task_definitions(dataset_path: str) -> dict[str, dict]:
    common = {"dataset_path": dataset_path, "test_split": "test", "fewshot_split": "train",
              "metadata": {"version": 1.0}}
    return {
        "dsgen_qa": {
            "task": "dsgen_qa", "dataset_name": "qa", **common,
            "output_type": "generate_until",
            "doc_to_text": "Passage: {{context}}\nQuestion: {{question}}\nAnswer:",
            "doc_to_target": "{{answers.text[0]}}",
            "target_delimiter": " ",
            "generation_kwargs": {"until": ["\n"], "do_sample": False, "max_gen_toks": 32},
            "process_results": _FunctionTag("utils.process_qa"),
            "metric_list": [_mean("exact_match"), _mean("f1")],
        },
        "dsgen_fact_check": {
            "task": "dsgen_fact_check", "dataset_name": "fact_check", **common,
            "output_type": "multiple_choice",
            "doc_to_text": "Passage: {{context}}\nClaim: {{claim}}\nDoes the passage support the claim? Answer:",
            "doc_to_choice": ["SUPPORTS", "REFUTES", "NOT ENOUGH INFO"],
            "doc_to_target": "{{label}}",
            "metric_list": [_mean("acc")],
        },
        "dsgen_summarization": {
            "task": "dsgen_summarization", "dataset_name": "summarization", **common,
            "output_type": "generate_until",
            "doc_to_text": "Article: {{document}}\nSummary:",
            "doc_to_target": "{{summary}}",
            "target_delimiter": " ",
            "generation_kwargs": {"until": ["\n\n"], "do_sample": False, "max_gen_toks": 128},
            "process_results": _FunctionTag("utils.process_summary"),
            "metric_list": [_mean("rouge1"), _mean("rouge2"), _mean("rougeL")],
        },
    }


def write_harness_tasks(folder: Path, dataset_dir: Path | None = None, repo_id: str | None = None) -> list[Path]:
    """Write task YAMLs, a ``dsgen`` group and ``utils.py`` into ``folder``.

    Tasks point at ``repo_id`` (a Hub dataset) when given, else at the absolute
    ``dataset_dir`` so ``lm_eval --include_path`` works from any directory.
    """
    if (dataset_dir is None) == (repo_id is None):
        raise ValueError("give exactly one of dataset_dir or repo_id")
    path = repo_id if repo_id is not None else str(Path(dataset_dir).resolve())
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    tasks = task_definitions(path)
    for name, spec in tasks.items():
        target = folder / f"{name}.yaml"
        target.write_text(yaml.dump(spec, Dumper=_Dumper, sort_keys=False, allow_unicode=True), encoding="utf-8")
        written.append(target)
    group = {"group": "dsgen", "task": list(tasks), "metadata": {"version": 1.0}}
    (folder / "dsgen.yaml").write_text(yaml.dump(group, Dumper=_Dumper, sort_keys=False), encoding="utf-8")
    (folder / "utils.py").write_text(UTILS, encoding="utf-8")
    return written + [folder / "dsgen.yaml", folder / "utils.py"]
