"""The dataset card: ``README.md`` with Hub YAML front matter and a readable body."""

from __future__ import annotations

from typing import Any

from datasets import DatasetInfo
from datasets.info import DatasetInfosDict
from datasets.splits import SplitDict, SplitInfo
from datasets.utils.metadata import MetadataConfigs
from huggingface_hub import DatasetCardData

from dsgen.features import CONFIG_NAMES, DEFAULT_CONFIG, FEATURES, SPLITS
from dsgen.parquet_writer import shard_name
from dsgen.support import NEI_MAX_RECALL, PARAPHRASE_MIN_RECALL, SUMMARY_MIN_RECALL
from dsgen.dedupe import NEAR_DUP_JACCARD

TASK_CATEGORIES = ["question-answering", "summarization", "text-classification", "text-generation"]


def size_category(n: int) -> str:
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                         (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M")):
        if n < limit:
            return label
    return "n>10M"


def card_data(counts: dict[str, dict[str, int]], sizes: dict[tuple[str, str], tuple[int, int]], *,
              license: str, language: str, pretty_name: str) -> DatasetCardData:
    """Front matter generated with ``datasets``/``huggingface_hub`` (never by hand).

    ``sizes`` holds ``(Arrow bytes, parquet file bytes)`` per ``(config, split)``: they go in
    ``dataset_info`` (``num_bytes``, ``dataset_size``, ``download_size``) as ``push_to_hub``
    writes them. They also keep an old build's rows from being loaded: ``load_dataset`` on a
    local folder caches a config under a hash of the card (and the folder's name), not of its
    files, so two builds with the same counts shared one cache entry, and loading the second
    gave the first one's rows.
    """
    data = DatasetCardData(
        license=license,
        language=[language],
        task_categories=TASK_CATEGORIES,
        tags=["synthetic", "dsgen"],
        size_categories=[size_category(sum(sum(s.values()) for s in counts.values()))],
        pretty_name=pretty_name,
    )
    # Only splits with rows: ``datasets`` cannot load a split without examples ("Instruction
    # 'test' corresponds to no data"), which a small corpus or a narrow --passes gives. Their
    # (empty) parquet files stay, so the folder layout never changes.
    present = {name: [s for s in SPLITS if counts.get(name, {}).get(s, 0) > 0] for name in CONFIG_NAMES}
    MetadataConfigs({
        name: {
            "data_files": [{"split": split, "path": f"{name}/{shard_name(split)}"} for split in present[name]],
            **({"default": True} if name == DEFAULT_CONFIG else {}),
        }
        for name in CONFIG_NAMES if present[name]
    }).to_dataset_card_data(data)
    infos = DatasetInfosDict()
    for name in CONFIG_NAMES:
        if not present[name]:
            continue
        splits = SplitDict()
        for split in present[name]:
            splits.add(SplitInfo(name=split, num_bytes=sizes[(name, split)][0], num_examples=counts[name][split]))
        infos[name] = DatasetInfo(features=FEATURES[name], splits=splits, config_name=name,
                                  download_size=sum(sizes[(name, split)][1] for split in present[name]),
                                  dataset_size=sum(sizes[(name, split)][0] for split in present[name]))
    infos.to_dataset_card_data(data)
    return data


def card_text(data: DatasetCardData, report: dict[str, Any], sources: list[dict[str, str]]) -> str:
    """Full ``README.md``: YAML front matter then the body."""
    counts = report["counts"]
    lines = [
        "---", data.to_yaml(), "---", "",
        f"# {data.pretty_name}", "",
        "Synthetic question answering, summarization and fact-check examples built by "
        "dsgen from the source articles below. Every example is "
        "validated against character spans of its source article; splits are by article.", "",
        "## Loading", "", "```python", "from datasets import load_dataset", "",
        'qa = load_dataset("<this folder or repo id>", "qa")  # DatasetDict with train and test',
        "```", "",
        "Configs: " + ", ".join(f"`{c}`" for c in CONFIG_NAMES) + f" (default: `{DEFAULT_CONFIG}`). "
        "Span offsets (`evidence`, `context_start`) index `documents.text` of the same `doc_id`.", "",
        "## Counts", "", "| config | train | test |", "| --- | ---: | ---: |",
    ]
    for name in CONFIG_NAMES:
        c = counts.get(name, {})
        lines.append(f"| {name} | {c.get('train', 0)} | {c.get('test', 0)} |")
    lines += ["", "## Passes", "", "| pass | method | candidates | published | rejected |", "| --- | --- | ---: | ---: | ---: |"]
    for name, p in report["passes"].items():
        lines.append(f"| {name} | {p['method']} | {p['candidates']} | {p['published']} | {p['rejected']} |")
    models = report.get("models") or []
    lines += ["", "## Models", "", ("Model-assisted passes used: " + ", ".join(f"`{m}`" for m in models) + ".") if models
              else "No model was used: every example comes from templated passes."]
    lines += [
        "", "## Validation rules", "",
        "Every published row passed all of these (re-check with `dsgen validate`):", "",
        "- Every evidence span lies inside its document, is non-empty and is not web boilerplate.",
        "- QA: `context` equals the document text at `context_start`; each answer equals `context` at its "
        "`answer_start` and lies inside an evidence span; the question does not contain the answer.",
        f"- Summarization: each summary sentence is a verbatim evidence sentence or recalls at least "
        f"{SUMMARY_MIN_RECALL:.0%} of its content words from the evidence; every number and name occurs in the article.",
        f"- Fact-check: SUPPORTS claims are verbatim evidence or paraphrases recalling at least "
        f"{PARAPHRASE_MIN_RECALL:.0%} of their content words with all numbers and names present and no negation flip; "
        "REFUTES claims change exactly one recorded fact (`change`) of the cited span; NOT ENOUGH INFO claims name a "
        f"fact absent from the article and recall at most {NEI_MAX_RECALL:.0%} of any of its sentences.",
        "- No article contributes to both splits.",
        f"- Exact and near-duplicate examples (word-trigram Jaccard >= {NEAR_DUP_JACCARD}) are removed across splits.",
        "",
        f"Rejected candidates: {report['rejected_total']} (see `rejected.jsonl` beside the dataset for each reason).",
        "",
        "## Sources", "",
        "| doc_id | split | title | source | sha256 |", "| --- | --- | --- | --- | --- |",
    ]
    for s in sources[:100]:
        title = (s["title"] or "").replace("|", "\\|")
        lines.append(f"| {s['doc_id']} | {s['split']} | {title} | {s['source']} | {s['sha256'][:12]}… |")
    if len(sources) > 100:
        lines.append(f"\n…and {len(sources) - 100} more articles (see the `documents` config).")
    return "\n".join(lines) + "\n"
