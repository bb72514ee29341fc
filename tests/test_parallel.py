"""Parallel builds: --num-proc 2 writes the same bytes as --num-proc 1, and the
streaming machinery (chunks, compact dedupe, marker matching) keeps the rules."""

from __future__ import annotations

import collections
import itertools
import json
import math
import pickle
import random
import re
import shutil
import sys
import zlib
from array import array

import pytest
import yaml
from click.testing import CliRunner

from conftest import REPO, SEEDS, TEMPLATES, templated_build
from dsgen.build import build
from dsgen.config import load_config
from dsgen.dedupe import MAP_BITS, Deduper, Signature, _digest, _normalize, signatures
from dsgen.errors import ConfigError
from dsgen.features import CONFIG_NAMES, SPLITS
from dsgen.parquet_writer import read_rows, shard_name
from dsgen.support import STOPWORDS
from dsgen.validate import validate_dataset

sys.path.insert(0, str(REPO / "benchmarks"))
from make_corpus import make_corpus  # noqa: E402

OUTPUT_FILES = [f"dataset/{c}/{shard_name(s)}" for c in CONFIG_NAMES for s in SPLITS] + ["rejected.jsonl"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """~50 distinct articles recombined from seeds/ (names, numbers and words varied)."""
    root = tmp_path_factory.mktemp("corpus")
    make_corpus(root, 48, SEEDS, seed=7)
    return root


@pytest.fixture(scope="module")
def serial(corpus, tmp_path_factory):
    return templated_build(corpus, tmp_path_factory.mktemp("np1") / "out", num_proc=1, chunk_size=8).out_dir


@pytest.fixture(scope="module")
def parallel(corpus, tmp_path_factory):
    return templated_build(corpus, tmp_path_factory.mktemp("np2") / "out", num_proc=2, chunk_size=8).out_dir


def _report_without_timings(out):
    report = json.loads((out / "build-report.json").read_text())
    report.pop("timings")
    report.pop("engine")
    return report


@pytest.mark.parametrize("name", OUTPUT_FILES)
def test_two_processes_write_the_same_bytes_as_one(serial, parallel, name):
    assert (serial / name).read_bytes() == (parallel / name).read_bytes()


def test_two_processes_report_the_same_counts_as_one(serial, parallel):
    assert _report_without_timings(serial) == _report_without_timings(parallel)
    assert json.loads((parallel / "build-report.json").read_text())["engine"]["num_proc"] == 2


def test_the_parallel_build_passes_validation(parallel):
    result = validate_dataset(parallel)
    assert result.ok, result.reason_counts()
    assert result.checked["documents"] == 48


def _rows(out, config):
    return [(split, row) for split in SPLITS for row in read_rows(out / "dataset" / config / shard_name(split))]


def test_no_article_contributes_to_both_splits(parallel):
    doc_split = {row["doc_id"]: split for split, row in _rows(parallel, "documents")}
    for config in CONFIG_NAMES:
        for split, row in _rows(parallel, config):
            assert doc_split[row["doc_id"]] == split, (config, row["id"])


def _words(text):
    return re.findall(r"\w+", text.casefold())


def _shingles(text):
    w = _words(text)
    return frozenset(w) if len(w) < 3 else frozenset(zip(w, w[1:], w[2:]))


@pytest.mark.parametrize("config,key", [
    ("qa", lambda r: f"{r['question']} || {' | '.join(r['answers']['text'])}"),
    ("summarization", lambda r: r["summary"]),
    ("fact_check", lambda r: r["claim"]),
])
def test_no_duplicates_or_near_duplicates_within_or_across_splits(parallel, config, key):
    sets = [_shingles(key(row)) for _, row in _rows(parallel, config)]
    exact = [" ".join(_words(key(row))) for _, row in _rows(parallel, config)]
    assert len(set(exact)) == len(exact)
    for a, b in itertools.combinations(sets, 2):
        if a and b:
            assert len(a & b) / len(a | b) < 0.8


def test_rejected_duplicates_name_a_published_row(parallel):
    published = {row["id"] for c in CONFIG_NAMES for _, row in _rows(parallel, c)}
    dups = [json.loads(line) for line in (parallel / "rejected.jsonl").read_text().splitlines()]
    dups = [d for d in dups if d["reason"] in ("duplicate", "near_duplicate")]
    assert dups, "the generated corpus repeats some sentences, so some rows must be deduplicated"
    for d in dups:
        assert d["detail"].removeprefix("same as ") in published


@pytest.mark.parametrize("num_proc", [1, 2])
def test_rejected_rows_keep_messages_unless_they_repeat_a_published_row(corpus, tmp_path, num_proc):
    """A row that fails validation is recorded whole, with the messages a user fixing a
    template needs to see; a (near-)duplicate is recorded without them (the row it
    repeats has them). Worker processes drop messages in transit, so both ways are run."""
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    spec = yaml.safe_load((templates / "messages" / "qa.yaml").read_text())
    spec["assistant"] = "{{ answer if answer | length > 6 else '' }}"  # empty for short answers
    (templates / "messages" / "qa.yaml").write_text(yaml.safe_dump(spec))
    out = tmp_path / "out"
    build(load_config(None, backend="none", seeds_dir=corpus, out_dir=out, templates_dir=templates,
                      num_proc=num_proc, chunk_size=8))
    records = [json.loads(line) for line in (out / "rejected.jsonl").read_text().splitlines()]
    malformed = [r for r in records if r["reason"] == "messages_malformed"]
    assert malformed
    for r in malformed:
        assert len(r["row"]["answers"]["text"][0]) <= 6
        assert r["row"]["messages"][-1] == {"role": "assistant", "content": ""}
    dups = [r for r in records if r["reason"] in ("duplicate", "near_duplicate")]
    assert dups and all("messages" not in r["row"] and r["row"]["id"] and r["row"]["doc_id"] == r["doc_id"] for r in dups)
    published = [row for split in SPLITS for row in read_rows(out / "dataset" / "qa" / shard_name(split))]
    assert published and all(len(row["messages"][-1]["content"]) > 6 for row in published)


def _plain_signature(text):
    """dedupe.signatures' rule for one text, written plainly: word trigrams (words, under
    three), hashed from their words' CRC-32s, distinct, ordered by stop-word count then hash."""
    words = _normalize(text)
    codes = [(w in STOPWORDS, zlib.crc32(w.encode("utf-8"))) for w in words]
    if len(codes) < 3:
        grams = set(codes)
    else:
        mask = 0xFFFF_FFFF
        grams = {(a[0] + b[0] + c[0], (a[1] * 0x9E37_79B1 & mask) ^ (b[1] * 0x85EB_CA77 & mask) ^ c[1])
                 for a, b, c in zip(codes, codes[1:], codes[2:])}
    hashes = array("I", dict.fromkeys(h for _, h in sorted(grams)))  # a hash keeps its lowest count
    return Signature(_digest(words), hashes.tobytes(), sum({1 << (h % MAP_BITS) for h in hashes}))


def test_signatures_of_a_batch_are_each_texts_own():
    """Worked out for a chunk at once, each row's signature is what the row alone gives:
    no trigram across two rows, short and empty rows, repeats sharing one object."""
    rng = random.Random(5)
    vocab = ["the", "of", "Revenue", "rose", "4.5%", "in", "Qwen", "straße", "STRASSE", "—", "and", "2024"]
    texts = ["", "a", "of the", "Revenue rose", "Revenue, rose!", "the of and in"]
    texts += [" ".join(rng.choice(vocab) for _ in range(rng.randint(0, 30))) for _ in range(300)]
    texts += texts[:40]  # repeats: exact duplicates in one chunk
    texts.append("a25 b176 z176 a183 b23 the")  # two trigrams, one with a stop word, one hash
    got = signatures(texts)
    assert got == [_plain_signature(t) for t in texts]
    shingles = array("I", got[-1].shingles)
    assert len(shingles) == len(set(shingles)) == 3
    assert got[-2] is got[39] and got[4] is got[3]  # same normalized words: one object
    assert signatures([]) == []


def _brute_force(texts, threshold=0.8):
    """The dedupe rule written plainly: exact first, else the earliest kept near-duplicate."""
    kept, out = [], []
    for i, text in enumerate(texts):
        sh, ex = _shingles(text), " ".join(_words(text))
        hit = next((("duplicate", j) for j, (s, e) in kept if e == ex), None)
        if hit is None:
            hit = next((("near_duplicate", j) for j, (s, e) in kept
                        if s and sh and len(s & sh) / len(s | sh) >= threshold), None)
        out.append(None if hit is None else (hit[0], str(hit[1])))
        if hit is None:
            kept.append((i, (sh, ex)))
    return out


@pytest.mark.parametrize("n_texts,recent,length,edits", [
    (240, None, (1, 25), 3),  # few variants per base text: no indexed shingle outlives its recent-rows window
    (600, 10**9, (1, 25), 3),  # many variants, unbounded window: prefix filtering alone is exact
    # Many variants, the default window: the shingles they share are demoted, and what
    # tells them apart takes their place in the index (a window of 4 rows missed some).
    (600, None, (1, 25), 3),
    (1500, None, (8, 30), 5),
    # Long texts: many shingles on each bit of the 256-bit maps, so the bound they give
    # (see dedupe.Signature) is loose and must still never rule out a near-duplicate.
    (240, 10**9, (150, 400), 12),
])
@pytest.mark.parametrize("row_ids", ["hex", "mixed"])  # the deduper stores 16-hex-digit ids as numbers
@pytest.mark.parametrize("signed_by", ["deduper", "worker"])  # check(), or check_signature() of what a worker sends
def test_compact_deduper_agrees_with_the_plain_rule(n_texts, recent, length, edits, row_ids, signed_by):
    rng = random.Random(3)
    vocab = [f"w{i}" for i in range(40)]
    base = [[rng.choice(vocab) for _ in range(rng.randint(*length))] for _ in range(60)]
    texts = []
    for _ in range(n_texts):
        words = list(rng.choice(base))
        for _ in range(rng.randint(0, edits)):  # a few edits: some stay above 0.8, some fall below
            words[rng.randrange(len(words))] = rng.choice(vocab)
        texts.append(" ".join(words).upper() if rng.random() < 0.1 else " ".join(words))
    ids = [f"{rng.getrandbits(64):016x}" for _ in texts]  # like rows.stable_id, leading zeros included
    ids[0] = "0000000000000000"
    if row_ids == "mixed":
        ids[1::3] = [str(i) for i in range(1, len(texts), 3)]
        odd = ["", "0x00000000000001", "ABCDEF0123456789", "1_23456789abcdef"]  # int() would take these
        ids[2::7] = [odd[k % len(odd)] for k in range(len(ids[2::7]))]
    deduper = Deduper() if recent is None else Deduper(recent=recent)
    if signed_by == "deduper":
        got = [deduper.check(t, ids[i]) for i, t in enumerate(texts)]
    else:  # a worker's signatures, chunk by chunk of 50 rows, and the pickle round trip of a pool's result
        sent = pickle.loads(pickle.dumps([sig for i in range(0, len(texts), 50) for sig in signatures(texts[i:i + 50])]))
        got = [deduper.check_signature(sig, ids[i]) for i, sig in enumerate(sent)]
    assert got == [g and (g[0], ids[int(g[1])]) for g in _brute_force(texts)]
    assert {g and g[0] for g in got} == {None, "duplicate", "near_duplicate"}  # every outcome is exercised


def test_deduper_work_per_row_stays_bounded_when_a_phrase_is_everywhere():
    """Thousands of rows sharing their rarest shingles: each check looks at a few recent rows."""
    import time

    deduper = Deduper()
    rows = [f"the firm said revenue rose in quarter {i} while costs fell by {i * 7} points" for i in range(4000)]
    start = time.process_time()
    for i, text in enumerate(rows[:2000]):
        deduper.check(text, str(i))
    first = time.process_time() - start
    start = time.process_time()
    for i, text in enumerate(rows[2000:]):
        deduper.check(text, str(i))
    assert time.process_time() - start < 3 * first + 0.05  # linear, not quadratic


def test_qa_marker_matching_finds_what_answer_specific_patterns_find():
    from dsgen.corpus import load_corpus
    from dsgen.passes.base import PassContext
    from dsgen.passes.qa_template import PHRASE, load_rules
    from dsgen.templates import TemplateStore

    ctx = PassContext(TemplateStore(TEMPLATES))
    rules = [r for r in load_rules(ctx) if PHRASE not in r.kinds]  # (those match no mention)
    assert all(r.markable for r in rules)
    checked, found = collections.Counter(), collections.Counter()
    for doc in load_corpus(SEEDS).documents:
        for es in ctx.analysis(doc).evidence_sentences:
            # Each sentence as it is, and twice in a row: every answer then occurs at
            # least twice, and the match at either occurrence must still be exact.
            doubled = f"{es.text} {es.text}"
            cases = [(es.text, m.start, m.text) for m in es.mentions]
            cases += [(doubled, at, m.text) for m in es.mentions for at in (m.start, len(es.text) + 1 + m.start)]
            for text, start, answer in cases:
                repeated = text.count(answer) > 1
                for rule in rules:
                    slow = rule.regex(answer).search(text)
                    want = None if not slow or slow.start("answer") != start else {k: v or "" for k, v in slow.groupdict().items()}
                    assert rule.match(text, start, answer) == want, (rule.name, answer, start, text)
                    checked[repeated] += 1
                    found[repeated] += want is not None
    assert checked[False] > 500 and checked[True] > 500
    assert found[False] > 20 and found[True] > 20


def test_centroid_order_ranks_as_the_plain_tf_idf_cosine_does():
    """The precomputed per-token terms give the very floats of the textbook formula:
    sentence vectors of TF-IDF weights, the centroid as their running sum."""
    from dsgen.corpus import load_corpus
    from dsgen.passes.base import PassContext
    from dsgen.passes.summary_template import centroid_order
    from dsgen.support import content_tokens
    from dsgen.templates import TemplateStore

    def plain(sentences):
        bags = [sorted(content_tokens(es.text)) for es in sentences]
        df = collections.Counter(t for bag in bags for t in bag)
        vectors = [{t: math.log(1 + len(bags) / df[t]) for t in bag} for bag in bags]
        centroid: dict[str, float] = {}
        for v in vectors:
            for t, w in v.items():
                centroid[t] = centroid.get(t, 0.0) + w
        cosine = [sum(w * centroid[t] for t, w in v.items()) / (math.sqrt(sum(w * w for w in v.values())) or 1.0)
                  for v in vectors]
        return sorted(range(len(bags)), key=lambda i: (-cosine[i], i))

    ctx = PassContext(TemplateStore(TEMPLATES))
    docs = load_corpus(SEEDS).documents
    groups = [ctx.analysis(doc).evidence_sentences for doc in docs]
    groups.append([es for g in groups for es in g])  # one long "document" of every seed sentence
    for sentences in groups:
        assert centroid_order(sentences) == plain(sentences)
    assert len(groups[-1]) > 50


def test_unknown_engine_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="unknown engine"):
        templated_build(SEEDS, tmp_path / "out", engine="spark")


def test_a_num_proc_far_past_the_cpus_is_refused_before_any_worker_starts(tmp_path):
    """--num-proc 99999 used to fork until the kernel's OOM killer ended the build."""
    import multiprocessing

    with pytest.raises(ConfigError, match="--num-proc 1000000 is more than 4 workers per CPU"):
        templated_build(SEEDS, tmp_path / "out", num_proc=10**6)
    assert not multiprocessing.active_children()
    assert not (tmp_path / "out").exists()


def test_cli_offers_num_proc_and_engine():
    from dsgen.cli import cli

    result = CliRunner().invoke(cli, ["build", "--help"])
    assert "--num-proc" in result.output and "--engine [local|ray]" in result.output


def test_model_passes_between_templated_ones_give_the_same_bytes_with_two_processes(tmp_path):
    """Model passes run in the main process, in pass order, between worker results."""
    from dsgen.backends.fake import FakeBackend
    from dsgen.build import build
    from dsgen.config import load_config

    def reply(prompt: str) -> str:
        return prompt.rsplit(" ", 3)[-3]  # deterministic, sometimes usable, often rejected

    outs = []
    for n in (1, 2):
        out = tmp_path / f"np{n}"
        config = load_config(None, backend="fake", seeds_dir=SEEDS, out_dir=out, templates_dir=TEMPLATES,
                             passes="qa_template,qa_model,fact_check_template", num_proc=n, chunk_size=2,
                             use_cache=False)
        build(config, backend=FakeBackend(responder=reply, model_id="fake-model"))
        outs.append(out)
    for name in OUTPUT_FILES:
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
    report = json.loads((outs[1] / "build-report.json").read_text())
    assert report["passes"]["qa_model"]["candidates"] > 0


def test_model_code_runs_with_the_collector_thresholds_the_build_found(tmp_path, monkeypatch):
    """Templated work collects the young generation rarely; model passes keep the usual
    thresholds (tensors caught in reference cycles must not wait)."""
    import gc

    from dsgen.backends.fake import FakeBackend
    from dsgen.build import build
    from dsgen.collector import YOUNG
    from dsgen.config import load_config
    from dsgen.passes.qa_template import QATemplatePass

    seen: dict[str, set] = {"model": set(), "templated": set()}

    def reply(prompt: str) -> str:
        seen["model"].add(gc.get_threshold())
        return "Q: What? A: x"

    original = QATemplatePass.run

    def run(self, docs, ctx):
        seen["templated"].add(gc.get_threshold())
        return original(self, docs, ctx)

    monkeypatch.setattr(QATemplatePass, "run", run)
    before = gc.get_threshold()
    config = load_config(None, backend="fake", seeds_dir=SEEDS, out_dir=tmp_path / "out", templates_dir=TEMPLATES,
                         passes="qa_template,qa_model", use_cache=False)
    build(config, backend=FakeBackend(responder=reply, model_id="fake-model"))
    assert seen["model"] == {before}
    assert seen["templated"] == {(max(YOUNG, before[0]), *before[1:])}
    assert gc.get_threshold() == before


def test_a_library_build_leaves_the_garbage_collector_as_it_found_it(tmp_path):
    import gc

    before = gc.get_threshold()
    templated_build(SEEDS, tmp_path / "out", num_proc=1)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert gc.isenabled()


def test_the_dsgen_command_leaves_what_is_alive_out_of_the_collections_at_exit(monkeypatch, tmp_path):
    """The interpreter's collections at shutdown scanned everything still alive (0.2 to
    0.5 s per command); ``dsgen`` freezes it on the way out, whatever the exit status."""
    import gc

    from dsgen import cli as cli_module

    out = tmp_path / "out"
    monkeypatch.setattr(sys, "argv", ["dsgen", "build", str(SEEDS), "-o", str(out), "--backend", "none", "-q"])
    try:
        with pytest.raises(SystemExit) as exit_info:
            cli_module.main()
        assert exit_info.value.code == 0 and (out / "dataset").is_dir()
        assert gc.get_freeze_count() > 0
        gc.unfreeze()
        monkeypatch.setattr(sys, "argv", ["dsgen", "build", str(tmp_path / "missing"), "-o", str(out), "-q"])
        with pytest.raises(SystemExit) as exit_info:
            cli_module.main()
        assert exit_info.value.code != 0
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
