"""`dsgen validate` checks what trainers and `load_dataset` read besides the labelled columns:
each row's `messages` must be what the build's message templates render from that row, and the
dataset card's front matter must parse, name exactly the parquet files that have rows, mark at
most one default config, and (if it has a `dataset_info`) describe those files, since
`load_dataset` casts the data to its features and checks its split sizes."""

from __future__ import annotations

import json
import re
import shutil

import datasets
import pyarrow.parquet as pq
import pytest
import yaml
from click.testing import CliRunner

from conftest import SEEDS, TEMPLATES
from dsgen.cli import cli
from dsgen.features import CONFIG_NAMES, FEATURES

CARD = "dataset/README.md"
QA_TEST = "dataset/qa/test-00000-of-00001.parquet"
QA_TEST_IN_CARD = "  - split: test\n    path: qa/test-00000-of-00001.parquet\n"


def run(*args):
    return CliRunner().invoke(cli, list(map(str, args)), catch_exceptions=False)


def edit_rows(path, edit, pick=lambda row: True):
    """Apply ``edit`` to the first row of a parquet file that ``pick`` accepts; its id. The
    card's sizes follow the file (see :func:`follow_sizes`)."""
    table = pq.read_table(path)
    rows = table.to_pylist()
    i = next(i for i, row in enumerate(rows) if pick(row))
    edit(rows[i])
    pq.write_table(type(table).from_pylist(rows, schema=table.schema), path)
    follow_sizes(path.parents[2])
    return rows[i]["id"]


def follow_sizes(out):
    """Set each config's ``download_size`` in the card to the bytes of the files its configs
    list, as whoever edits a build's files must (a stale one is tested on its own below)."""
    def edit(data):
        for entry in data.get("dataset_info") or []:
            files = [f["path"] for c in data["configs"] if c["config_name"] == entry["config_name"]
                     for f in c["data_files"]]
            entry["download_size"] = sum((out / "dataset" / f).stat().st_size for f in files)
    edit_front_matter(out, edit)


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


def test_load_dataset_gives_each_build_its_own_rows_when_counts_are_the_same(built, tmp_path):
    """``load_dataset`` caches a local folder's config under a hash of its card and the
    folder's name, not of its files: two builds with the same counts had the same card, and
    loading the second gave the rows of the first. The card's sizes tell them apart."""
    other = tmp_path / "other"
    build = run("build", SEEDS, "-o", other, "--backend", "none", "--templates", _custom_templates(tmp_path), "-q")
    assert build.exit_code == 0, build.output
    counts = [json.loads((out / "build-report.json").read_text())["counts"] for out in (built, other)]
    assert counts[0] == counts[1]  # only the messages differ
    cache = tmp_path / "cache"  # one cache for both, as a user's ~/.cache/huggingface
    for out in (built, other, built):
        loaded_rows = list(datasets.load_dataset(str(out / "dataset"), "qa", cache_dir=str(cache))["train"]["messages"])
        assert loaded_rows == pq.read_table(out / "dataset/qa/train-00000-of-00001.parquet").column("messages").to_pylist()


def test_validate_flags_a_card_whose_sizes_are_not_its_files(built_copy):
    """A file changed after the build (here: the same rows written again, so every row still
    passes) leaves the card as it was: load_dataset could give the rows it cached before."""
    table = pq.read_table(built_copy / QA_TEST)
    pq.write_table(table, built_copy / QA_TEST, compression="gzip")
    assert_fails_with(run("validate", built_copy), "card_sizes_mismatch", "dataset_info of qa says download_size",
                      "could give the rows of another build")
    follow_sizes(built_copy)
    result = run("validate", built_copy)
    assert result.exit_code == 0 and result.output.startswith("OK"), result.output


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


def test_the_card_lists_a_split_only_if_it_has_rows(built_copy, tmp_path):
    """A split without rows must not be in the card (load_dataset fails on it), neither in
    `configs` nor in `dataset_info`; dsgen's card leaves such splits out, and that is no failure."""
    table = pq.read_table(built_copy / QA_TEST)
    pq.write_table(table.slice(0, 0), built_copy / QA_TEST)
    follow_sizes(built_copy)
    result = run("validate", built_copy)
    assert "FAILED: 2 problem(s)" in result.output, result.output
    assert "qa test is qa/test-00000-of-00001.parquet, which has no rows" in result.output
    assert "dataset_info of qa says test has 10 examples; qa/test-00000-of-00001.parquet has 0 rows" in result.output

    card = built_copy / CARD
    card.write_text(card.read_text(encoding="utf-8").replace(QA_TEST_IN_CARD, ""), encoding="utf-8")
    follow_sizes(built_copy)
    assert_fails_with(run("validate", built_copy), "card_splits_mismatch",
                      "dataset_info of qa has a split 'test', which configs do not list")
    assert loaded(built_copy, "qa", tmp_path / "cache") == "ExpectedMoreSplitsError"

    edit_front_matter(built_copy, lambda data: info(data, "qa")["splits"].pop())  # train, test
    result = run("validate", built_copy)
    assert result.exit_code == 0 and result.output.startswith("OK"), result.output
    assert loaded(built_copy, "qa", tmp_path / "cache2") == as_the_card_says(built_copy, "qa")


# --------------------------------------------------------------------------- the card's dataset_info


def front_matter(out):
    return yaml.safe_load((out / CARD).read_text(encoding="utf-8").split("---\n", 2)[1])


def edit_front_matter(out, edit):
    """Apply ``edit`` to the card's front matter, parsed as YAML, and write it back."""
    data = front_matter(out)
    edit(data)
    body = (out / CARD).read_text(encoding="utf-8").split("---\n", 2)[2]
    (out / CARD).write_text(f"---\n{yaml.safe_dump(data, sort_keys=False, allow_unicode=True)}---\n{body}",
                            encoding="utf-8")


def info(data, config):
    return next(entry for entry in data["dataset_info"] if entry["config_name"] == config)


def column(data, config, name):
    return next(feature for feature in info(data, config)["features"] if feature["name"] == name)


def loaded(out, config, cache):
    """What ``load_dataset(out/dataset, config)`` gives: per split its features (in column and
    field order, label names included) and rows, or the name of the exception it raises."""
    try:
        splits = datasets.load_dataset(str(out / "dataset"), config, cache_dir=str(cache))
    except Exception as exc:  # noqa: BLE001 - which one is the point
        return type(exc).__name__
    return {split: (repr(ds.features), ds.num_rows) for split, ds in splits.items()}


def as_the_card_says(out, config):
    """``loaded`` for a config that loads as the card's ``dataset_info`` says: dsgen's features,
    the card's split sizes."""
    splits = info(front_matter(out), config)["splits"]
    return {split["name"]: (repr(FEATURES[config]), split["num_examples"]) for split in splits}


def _swap(items, a, b):
    i, j = items.index(a), items.index(b)
    items[i], items[j] = items[j], items[i]


def _swap_columns(config, a, b):
    def edit(data):
        features = info(data, config)["features"]
        _swap(features, column(data, config, a), column(data, config, b))
    return edit


def _swap_label_names(data):
    names = column(data, "fact_check", "label")["dtype"]["class_label"]["names"]
    names["0"], names["1"] = names["1"], names["0"]


def _add_column(data):
    info(data, "qa")["features"].append({"name": "source", "dtype": "string"})


def _qa_described_twice(data):
    again = yaml.safe_load(yaml.safe_dump(info(data, "qa")))
    next(f for f in again["features"] if f["name"] == "context_start")["dtype"] = "int64"
    data["dataset_info"].append(again)


def _second_default(data):
    next(c for c in data["configs"] if c["config_name"] == "summarization")["default"] = True


def _drop_column(data):
    info(data, "summarization")["features"].remove(column(data, "summarization", "summary"))


def _swap_evidence_fields(data):
    fields = column(data, "qa", "evidence")["list"]
    fields.reverse()  # end before start


DATASET_INFO_EDITS = [
    # id, edit of the front matter (or "text": of the card's text), config to load, what load_dataset
    # then does ("cast": it loads the same rows cast to other features; else the exception it
    # raises), reason, words of the problem
    ("reviewers-sed", "text", "fact_check", "cast", "card_features_mismatch",
     ["fact_check -:", "'context_start' is Value('string'), not Value('int32')"]),
    ("int64", lambda d: column(d, "qa", "context_start").update(dtype="int64"), "qa", "cast", "card_features_mismatch",
     ["qa -:", "'context_start' is Value('int64'), not Value('int32')"]),
    ("label-names-swapped", _swap_label_names, "fact_check", "cast", "card_features_mismatch",
     ["'label' is ClassLabel(names=['REFUTES', 'SUPPORTS', 'NOT ENOUGH INFO'])"]),
    ("column-left-out", _drop_column, "summarization", "DatasetGenerationError", "card_features_mismatch",
     ["summarization -:", "no column 'summary'"]),
    ("extra-column", _add_column, "qa", "cast", "card_features_mismatch", ["a column 'source' the data does not have"]),
    ("columns-reordered", _swap_columns("qa", "question", "context"), "qa", "cast", "card_features_mismatch",
     ["columns in another order ('question' where the data has 'context')"]),
    ("struct-fields-reordered", _swap_evidence_fields, "qa", "cast", "card_features_mismatch",
     ["'evidence' is List({'end': Value('int32'), 'start'"]),
    ("num-examples", lambda d: info(d, "qa")["splits"][0].update(num_examples=38), "qa", "NonMatchingSplitsSizesError",
     "card_splits_mismatch",
     ["dataset_info of qa says train has 38 examples; qa/train-00000-of-00001.parquet has 39 rows"]),
    ("split-left-out", lambda d: info(d, "qa")["splits"].pop(), "qa", "UnexpectedSplitsError", "card_splits_mismatch",
     ["dataset_info of qa has no split 'test', which configs list"]),
    ("unknown-split", lambda d: info(d, "qa")["splits"].append({"name": "validation", "num_examples": 3}), "qa",
     "ExpectedMoreSplitsError", "card_splits_mismatch",
     ["dataset_info of qa has a split 'validation', which configs do not list"]),
    ("described-twice", _qa_described_twice, "qa", "cast", "card_invalid", ["dataset_info describes config 'qa' twice"]),
    ("unknown-type", lambda d: column(d, "qa", "question").update(dtype="text"), "qa", "ValueError", "card_invalid",
     ["invalid dataset_info (Feature type 'Text' not found)"]),
    ("not-mappings", lambda d: d.update(dataset_info=["qa"]), "qa", "AttributeError", "card_invalid",
     ["dataset_info is neither a mapping nor a list of mappings"]),
    ("two-defaults", _second_default, "qa", "ValueError", "card_invalid",
     ["invalid configs (Dataset has several default configs: 'qa' and 'summarization'.)"]),
]


@pytest.fixture(scope="module")
def as_built(built, tmp_path_factory):
    """What ``load_dataset`` gives for each config of the unedited session build, which
    validates and loads as its card says: dsgen's features, the card's split sizes."""
    result = run("validate", built)
    assert result.exit_code == 0 and result.output.startswith("OK"), result.output
    cache = tmp_path_factory.mktemp("cache")
    as_built = {config: loaded(built, config, cache) for config in CONFIG_NAMES}
    assert as_built == {config: as_the_card_says(built, config) for config in CONFIG_NAMES}
    return as_built


@pytest.mark.parametrize("name, edit, config, effect, reason, words", DATASET_INFO_EDITS,
                         ids=[e[0] for e in DATASET_INFO_EDITS])
def test_validate_rejects_a_dataset_info_that_changes_or_breaks_loading(built_copy, tmp_path, as_built, name, edit,
                                                                       config, effect, reason, words):
    if edit == "text":  # the reviewer's `sed -i '0,/dtype: int32/s//dtype: string/' README.md`
        card = built_copy / CARD
        text = card.read_text(encoding="utf-8")
        card.write_text(text.replace("dtype: int32", "dtype: string", 1), encoding="utf-8")
    else:
        edit_front_matter(built_copy, edit)
    assert_fails_with(run("validate", built_copy), reason, CARD, *words)
    got = loaded(built_copy, config, tmp_path / "cache")
    if effect == "cast":  # the same rows, as other features
        assert isinstance(got, dict) and {split: n for split, (_, n) in got.items()} == {
            split: n for split, (_, n) in as_built[config].items()}
        assert all(features != repr(FEATURES[config]) for features, _ in got.values()), got
    else:
        assert got == effect


def test_a_build_without_rows_for_some_configs_validates_but_not_a_dataset_info_for_them(tmp_path):
    """`--passes qa_template` publishes no summarization or fact-check rows: the card leaves
    those configs out, and a `dataset_info` describing one is a config load_dataset cannot load."""
    out = tmp_path / "out"
    build = run("build", SEEDS, "-o", out, "--backend", "none", "--passes", "qa_template", "-q")
    assert build.exit_code == 0, build.output
    result = run("validate", out)
    assert result.exit_code == 0 and result.output.startswith("OK"), result.output
    assert [c["config_name"] for c in front_matter(out)["configs"]] == ["documents", "qa"]
    for config in ("documents", "qa"):
        assert loaded(out, config, tmp_path / "cache") == as_the_card_says(out, config)

    described = datasets.DatasetInfo(features=FEATURES["summarization"])._to_yaml_dict()
    edit_front_matter(out, lambda data: data["dataset_info"].append({"config_name": "summarization", **described}))
    assert_fails_with(run("validate", out), "card_configs_mismatch",
                      "summarization -:", "dataset_info describes a config 'summarization', which configs do not list")
    assert loaded(out, "summarization", tmp_path / "cache") == "ValueError"  # BuilderConfig not found


# --------------------------------------------------------------------------- features in the parquet files


FACT_CHECK_SHARDS = [f"dataset/fact_check/{split}-00000-of-00001.parquet" for split in ("train", "test")]


def _swap_label_names_in_metadata(metadata):
    features = metadata[b"huggingface"]
    return {**metadata, b"huggingface": features.replace(b'"SUPPORTS", "REFUTES"', b'"REFUTES", "SUPPORTS"')}


PARQUET_METADATA_EDITS = [
    # id, new schema metadata from the old, what load_dataset then does, words of the problem
    ("label-names-swapped", _swap_label_names_in_metadata, "cast",
     ["'label' is ClassLabel(names=['REFUTES', 'SUPPORTS', 'NOT ENOUGH INFO'])"]),
    ("no-metadata", lambda metadata: None, "cast",
     ["'label' is Value('int64'), not ClassLabel(names=['SUPPORTS', 'REFUTES', 'NOT ENOUGH INFO'])"]),
    ("not-json", lambda metadata: {**metadata, b"huggingface": b"{"}, "JSONDecodeError",
     ["its features metadata cannot be read (Expecting property name"]),
]


@pytest.mark.parametrize("name, edit, effect, words", PARQUET_METADATA_EDITS,
                         ids=[e[0] for e in PARQUET_METADATA_EDITS])
def test_validate_rejects_parquet_files_whose_own_features_change_loading(built_copy, tmp_path, as_built, name, edit,
                                                                        effect, words):
    """A card without `dataset_info` is valid; `load_dataset` then takes the features (the label
    names) from each parquet file's metadata, so those must be dsgen's too."""
    edit_front_matter(built_copy, lambda data: data.pop("dataset_info"))
    result = run("validate", built_copy)
    assert result.exit_code == 0 and result.output.startswith("OK"), result.output
    assert loaded(built_copy, "fact_check", tmp_path / "cache") == as_built["fact_check"]

    for shard in FACT_CHECK_SHARDS:
        table = pq.read_table(built_copy / shard)
        pq.write_table(table.replace_schema_metadata(edit(table.schema.metadata)), built_copy / shard)
    result = run("validate", built_copy)
    assert result.exit_code == 1 and "  schema_mismatch: 2\n" in result.output, result.output
    for shard in FACT_CHECK_SHARDS:
        listed = [line for line in result.output.splitlines() if f"schema_mismatch ({shard}: " in line]
        assert len(listed) == 1 and all(word in listed[0] for word in words), result.output
    got = loaded(built_copy, "fact_check", tmp_path / "cache2")
    if effect == "cast":  # the same rows, as other features
        assert isinstance(got, dict) and [n for _, n in got.values()] == [n for _, n in as_built["fact_check"].values()]
        assert all(features != repr(FEATURES["fact_check"]) for features, _ in got.values()), got
    else:
        assert got == effect
