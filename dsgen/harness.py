"""lm-evaluation-harness task files for a built dataset.

``dsgen build`` writes ``out/lm_eval/`` (tasks reading the local ``out/dataset``);
``dsgen push`` writes ``out/lm_eval_hub/`` (the same tasks reading the Hub repo).
Each folder holds one task per config, a ``dsgen`` group and ``utils.py`` with the
metrics lm-eval lacks offline: SQuAD exact match/F1 and ROUGE via ``rouge_score``
(lm-eval's built-in ``f1`` is binary classification F1, and unknown metric names
fall back to ``evaluate.load()``, which needs the network).

    lm_eval --include_path out/lm_eval --tasks dsgen_qa --model hf \\
        --model_args pretrained=<model dir>,dtype=float32 --device cpu --limit 20
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import yaml

from dsgen.types import LABELS

TASKS = ("dsgen_qa", "dsgen_fact_check", "dsgen_summarization")
GROUP = "dsgen"

#: Written verbatim as ``utils.py`` beside the YAMLs (``!function utils.…``
#: resolves relative to the YAML file). Standalone: needs only ``rouge_score``.
UTILS = r'''"""Metrics for the dsgen lm-eval tasks (written by dsgen; safe to edit)."""

import collections
import re
import string

_PUNCTUATION = set(string.punctuation)


def normalize_answer(text):
    """SQuAD v1.1 normalization: lower case, no punctuation, no articles, single spaces."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _PUNCTUATION)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def squad_f1(prediction, truth):
    """Token-overlap F1 of one prediction against one gold answer (SQuAD v1.1)."""
    pred, gold = normalize_answer(prediction).split(), normalize_answer(truth).split()
    if not pred or not gold:
        return float(pred == gold)
    same = sum((collections.Counter(pred) & collections.Counter(gold)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(gold)
    return 2 * precision * recall / (precision + recall)


def process_qa(doc, results):
    """SQuAD exact match and F1, each the best over the gold answers."""
    prediction = results[0].strip()
    golds = [g for g in doc["answers"]["text"] if g] or [""]
    return {
        "exact_match": max(float(normalize_answer(prediction) == normalize_answer(g)) for g in golds),
        "f1": max(squad_f1(prediction, g) for g in golds),
    }


_SCORER = None


def process_summary(doc, results):
    """ROUGE-1/2/L F-measures (rouge_score, Porter stemming), offline."""
    global _SCORER
    if _SCORER is None:
        from rouge_score import rouge_scorer

        _SCORER = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    scores = _SCORER.score(doc["summary"], results[0].strip())
    return {name: score.fmeasure for name, score in scores.items()}
'''


class _FunctionTag(str):
    """Dumps as ``!function utils.name`` (lm-eval's YAML tag)."""


class _OneLine(str):
    """A value that must read back exactly, such as a folder path: plain or quoted
    as YAML chooses, double-quoted with escapes when it holds line breaks or
    characters YAML cannot carry raw (never a block, which reads like prose)."""


#: What cannot stand raw on one line of YAML: line breaks (``\n``, ``\r``, NEL,
#: U+2028/9), characters outside YAML's printable set (control characters) and the
#: byte order mark. All legal in a folder name.
_NOT_ONE_LINE = re.compile("[^\t -~\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]|[\u2028\u2029\ufeff]")


class _Dumper(yaml.SafeDumper):
    pass


def _str_style(value: str) -> str | None:
    """Multi-line prompts as literal blocks, so the YAML reads like the prompt it
    renders; bare newlines (stop sequences) as ``"\\n"``."""
    if "\n" not in value:
        return None
    return "|" if value.strip() else '"'


_Dumper.add_representer(_FunctionTag, lambda dumper, value: dumper.represent_scalar("!function", str(value)))
_Dumper.add_representer(
    str, lambda dumper, value: dumper.represent_scalar("tag:yaml.org,2002:str", value, style=_str_style(value))
)
_Dumper.add_representer(
    _OneLine,
    lambda dumper, value: dumper.represent_scalar(
        "tag:yaml.org,2002:str", str(value), style='"' if _NOT_ONE_LINE.search(value) else None
    ),
)


def _mean(name: str) -> dict[str, Any]:
    return {"metric": name, "aggregation": "mean", "higher_is_better": True}


def task_definitions(dataset_path: str, revision: str | None = None) -> dict[str, dict[str, Any]]:
    """The task configs (lm-eval ``TaskConfig`` keys) for a dataset folder or Hub repo id.

    Prompts are single-line-per-field so few-shot examples (joined by a blank
    line) stay separable; the instruction from the ``messages`` column goes in
    ``description``, which lm-eval prints once before the examples.
    """
    common: dict[str, Any] = {"dataset_path": _OneLine(dataset_path)}
    if revision:
        common["dataset_kwargs"] = {"revision": _OneLine(revision)}
    common.update({"test_split": "test", "fewshot_split": "train", "metadata": {"version": 1.0}})
    return {
        "dsgen_qa": {
            "task": "dsgen_qa", "dataset_name": "qa", **common,
            "output_type": "generate_until",
            "description": "Answer each question with a short span copied from the passage.\n\n",
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
            "description": f"Does the passage support the claim? Answer {', '.join(LABELS[:-1])} or {LABELS[-1]}.\n\n",
            "doc_to_text": "Passage: {{context}}\nClaim: {{claim}}\nAnswer:",
            # ``label`` is a ClassLabel: its integer indexes doc_to_choice.
            "doc_to_choice": list(LABELS),
            "doc_to_target": "label",
            "target_delimiter": " ",
            "metric_list": [_mean("acc"), _mean("acc_norm")],
        },
        "dsgen_summarization": {
            "task": "dsgen_summarization", "dataset_name": "summarization", **common,
            "output_type": "generate_until",
            "description": "Summarize each article in a few sentences.\n\n",
            "doc_to_text": "Article: {{document}}\nSummary:",
            "doc_to_target": "{{summary}}",
            "target_delimiter": " ",
            "generation_kwargs": {"until": ["\n\n"], "do_sample": False, "max_gen_toks": 128},
            "process_results": _FunctionTag("utils.process_summary"),
            "metric_list": [_mean("rouge1"), _mean("rouge2"), _mean("rougeL")],
        },
    }


def write_harness_tasks(
    folder: Path,
    dataset_dir: Path | None = None,
    repo_id: str | None = None,
    revision: str | None = None,
    counts: dict[str, dict[str, int]] | None = None,
) -> list[Path]:
    """Write the task YAMLs, a ``dsgen`` group and ``utils.py`` into ``folder``.

    Tasks read the Hub dataset ``repo_id`` (at ``revision``) when given, else the
    absolute ``dataset_dir``, so ``lm_eval --include_path`` works from any directory.
    With ``counts`` (the build report's rows per config and split), a config without
    test rows gets no task: its test split is not in the card, so the task could not
    load (and an earlier task file of it is removed). Returns the written paths.
    """
    if (dataset_dir is None) == (repo_id is None):
        raise ValueError("give exactly one of dataset_dir or repo_id")
    if repo_id is not None:
        path = repo_id
        source = f"Hub dataset {_comment(repo_id)}" + (f" (revision {_comment(revision)})" if revision else "")
    else:
        path = str(Path(dataset_dir).resolve())
        source = f"dataset folder {_comment(path)}"
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    header = f"# lm-evaluation-harness task written by dsgen; reads the {source}.\n"
    written = []
    tasks = task_definitions(path, revision if repo_id is not None else None)
    for name, spec in tasks.items():
        if counts is not None and not counts.get(spec["dataset_name"], {}).get(spec["test_split"]):
            (folder / f"{name}.yaml").unlink(missing_ok=True)
            continue
        written.append(_write(folder / f"{name}.yaml", header + _dump(spec)))
    names = [p.stem for p in written]
    group = folder / f"{GROUP}.yaml"
    if names:
        written.append(_write(group, header + _dump({"group": GROUP, "task": names, "metadata": {"version": 1.0}})))
    else:  # lm-eval refuses a group without tasks
        group.unlink(missing_ok=True)
    written.append(_write(folder / "utils.py", UTILS))
    return written


def _comment(value: str) -> str:
    """``value`` for a comment line: as it is when it fits on one line, else as a YAML
    double-quoted string, whose escapes keep a newline in a folder name from ending
    the comment and turning the rest of the name into YAML."""
    if not _NOT_ONE_LINE.search(value):
        return value
    return yaml.safe_dump(value, default_style='"', allow_unicode=True, width=sys.maxsize).rstrip("\n")


def _dump(spec: dict[str, Any]) -> str:
    return yaml.dump(spec, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1000)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
