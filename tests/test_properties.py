"""Property and fuzz tests (hypothesis): normalization, sentence spans, readers, validation.

Example counts are kept modest so the suite stays fast; multiply them locally with
``DSGEN_FUZZ_SCALE=20`` when changing text handling or validation.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import unicodedata

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

import dsgen.text
from dsgen.cli import cli
from dsgen.errors import CorpusError
from dsgen.readers import BadRecord, read_articles, read_html, read_jsonl, read_markdown
from dsgen.text import INVISIBLE, lines, normalize_text, sentences
from dsgen.types import LABELS
from dsgen.validate import check_row

SCALE = int(os.environ.get("DSGEN_FUZZ_SCALE", "1"))
FAST = settings(max_examples=150 * SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Characters that break naive text handling, mixed into arbitrary Unicode.
NASTY = list("\r\n\t\x0b\x0c\x85\u2028\u2029\u00a0\u3000 .!?\"'”’)") + list(INVISIBLE) + [
    "\u0301", "\u0308", "\u0327", "e\u0301", "\u1100\u1161", "👩‍👩‍👧", "🇫🇷", "\ud800", "\udfff", "\x00", "\x1b", "\x9b",
    "Mr.", "U.S.", "e.g.", "3.5", "...", "ﬁ", "Å", "Ω", "\ufffd",
]
nasty_text = st.lists(st.one_of(st.characters(), st.sampled_from(NASTY), st.sampled_from(["The", "cat", "sat", "2019", "$5"])),
                      max_size=80).map("".join)
prose = st.lists(st.sampled_from(["The council met in Oslo.", "Mr. Smith paid $5 million in 2019!", "Why?", "It rose 3.5%.",
                                  "“Yes,” she said.", "e.g. this one", "Ω and ﬁ.", "\u00a0", "\n", "\r\n", "\t", "\u200b"]),
                 max_size=30).map(" ".join)
any_text = st.one_of(nasty_text, prose)


# --------------------------------------------------------------------------- normalization


@FAST
@given(any_text)
def test_normalize_text_is_idempotent_and_clean(raw):
    text = normalize_text(raw)
    assert normalize_text(text) == text
    assert unicodedata.is_normalized("NFC", text)
    for bad in ["\r", "\t", "  ", "\n\n\n", "\x0b", "\x0c", "\x85", "\u2028", "\u2029", *INVISIBLE]:
        assert bad not in text, repr(bad)
    assert not re.search(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\ud800-\udfff]", text)
    assert all(line == line.strip() for line in text.split("\n"))
    assert text == text.strip()
    text.encode("utf-8")  # parquet and JSON need valid UTF-8


@FAST
@given(any_text)
def test_normalize_text_keeps_every_visible_character(raw):
    """Normalization only deletes invisible/control characters and folds whitespace."""
    def visible(s):
        kept = "".join(c for c in s if not c.isspace() and c not in INVISIBLE and unicodedata.category(c) not in ("Cc", "Cs"))
        return unicodedata.normalize("NFD", kept)  # marks freed from a removed control char may compose
    assert visible(normalize_text(raw)) == visible(raw)


# --------------------------------------------------------------------------- sentences

def _normalize_line_by_line(raw):
    """normalize_text as first written: every step on every text, every line stripped."""
    text = unicodedata.normalize("NFC", raw).replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\u2028", "\n").replace("\u2029", "\n")
    text = re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff]", "", text.translate(dict.fromkeys(map(ord, INVISIBLE))))
    text = "\n".join(re.sub(r"[^\S\n]+", " ", line).strip() for line in text.split("\n"))
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    again = unicodedata.normalize("NFC", text)
    return text if again == text else _normalize_line_by_line(again)


@FAST
@given(any_text)
def test_normalize_text_equals_the_line_by_line_definition(raw):
    """The quick searches that skip steps (and the whole-text line stripping) change nothing."""
    assert normalize_text(raw) == _normalize_line_by_line(raw)


def test_the_odd_whitespace_class_is_all_whitespace_but_space_and_newline():
    """normalize_text skips folding whitespace when none of these occur (nor doubled spaces)."""
    odd = {chr(c) for c in range(0x110000) if chr(c).isspace()} - {" ", "\n"}
    assert odd == {chr(c) for c in range(0x110000) if dsgen.text._ODD_SPACE.fullmatch(chr(c))}
    assert odd == {chr(c) for c in range(0x110000) if re.fullmatch(r"\s", chr(c))} - {" ", "\n"}


def test_is_normalized_scans_for_every_character_normalization_changes():
    """Invisible and control characters, whitespace but the space (see normalize_text)."""
    changed = re.compile(f"[{INVISIBLE}]|{dsgen.text._CONTROL.pattern}|[^\\S ]")
    assert ({chr(c) for c in range(0x110000) if dsgen.text._CHANGED_BY_NORMALIZE.fullmatch(chr(c))}
            == {chr(c) for c in range(0x110000) if changed.fullmatch(chr(c))})



def check_sentences(text):
    found = sentences(text)
    last_end = 0
    for s in found:
        assert text[s.span.start : s.span.end] == s.text
        assert s.text and s.text == s.text.strip()
        assert last_end <= s.span.start < s.span.end
        assert "\n" not in s.text
        last_end = s.span.end
    # Sentences cover every visible character of every line, in order.
    for line in lines(text):
        inside = [s for s in found if s.line == line.index]
        assert "".join("".join(s.text.split()) for s in inside) == "".join(line.text.split())
    return found


@FAST
@given(any_text)
def test_is_normalized_agrees_with_normalize_text(raw):
    assert dsgen.text.is_normalized(raw) == (normalize_text(raw) == raw)


@FAST
@given(nasty_text, st.sampled_from(["a", "the", "5", "U.S.", "é", "_x", "Mr. Smith", "1,000"]))
def test_contains_word_agrees_with_the_regex_it_replaces(text, part):
    expected = bool(re.search(r"(?<!\w)" + re.escape(part) + r"(?!\w)", text))
    assert dsgen.text.contains_word(text, part) == expected
    assert dsgen.text.contains_word(f"{text} {part}", part)


@FAST
@given(st.one_of(nasty_text, st.lists(st.sampled_from(["it", "was", "Who", "so", "’s", "it's", "Tesla’s", "5", " ", "?", "the"]))
                 .map(" ".join)))
def test_has_content_word_agrees_with_content_tokens(text):
    from dsgen.support import content_tokens, has_content_word

    assert has_content_word(text) == bool(content_tokens(text))


#: Words, the characters _WORD keeps inside them and what ends a sentence.
word_pieces = st.lists(st.sampled_from(["it", "Tesla", "’", "'", "-", "s", "5", "_", "é", "٣", " ", "  ", "\n", ".", "!",
                                        "?", "”", "’", ")", "]", "\"", ",", "—", "--", "''"]), max_size=24).map("".join)


@FAST
@given(st.one_of(nasty_text, word_pieces), st.integers(-1, 8))
def test_has_words_counts_as_words_does(text, n):
    assert dsgen.text.has_words(text, n) == (len(dsgen.text.words(text)) >= n)


@FAST
@given(st.one_of(nasty_text, word_pieces))
def test_ends_like_sentence_agrees_with_the_regex_it_replaces(text):
    expected = bool(re.search(r"[.!?][\"'”’)\]]*$", text))
    assert dsgen.text.ends_like_sentence(text) == expected
    assert dsgen.text.ends_like_sentence(text + "\n") == bool(re.search(r"[.!?][\"'”’)\]]*$", text + "\n"))


def _tidy_question_as_first_written(text):
    from dsgen.passes.qa_template import _DANGLING

    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"\s+([?,.;:])", r"\1", text)
    last = re.findall(r"[\w’']+", text)[-1:] or [""]
    if last[0].lower() in _DANGLING or not text.endswith("?"):
        return None
    return text[:1].upper() + text[1:]


@FAST
@given(st.one_of(nasty_text, st.lists(st.sampled_from(["who", "Which", "the", "THAT", "’s", "it's", "2019", "?", ",", ".",
                                                       ";", ":", " ", "  ", "\t", "\n", "\u3000", "\x1c", "—", "é"]),
                                      max_size=16).map("".join)))
@example("Who paid for the — ?")  # the last token holds no word: the word before it dangles
def test_tidy_question_agrees_with_the_regexes_it_replaces(text):
    from dsgen.passes.qa_template import tidy_question

    assert tidy_question(text) == _tidy_question_as_first_written(text)


@FAST
@given(st.lists(st.sampled_from(["a", "b", "’", "[’']", "[ab]", "[^a]", "[a-c]", "(?:ab)?", "b+", "\\b", ".", " ", "(a)",
                                 "(?:a|b)", "[ab][ab][ab][ab]", "(?:ab|b)", "(ba|a b|)", "(?:a[’']|bb|b)",
                                 "(?:ab|b+)", "(?i:ab|b)", "(?:a|b|ab|ba|aa|bb|aab|bba|abb)",
                                 "(?:ab+)", "(a(?!b)[ab]*)", "(?:(?:a|b) b*)", "((?:a|ba)(?:ab)?b)"]),
                min_size=1, max_size=8).map("".join),
       st.lists(st.sampled_from(["a", "b", "c", "’", "'", " ", "ab"]), max_size=12).map("".join))
def test_every_match_holds_one_string_of_each_literal_run(source, text):
    """What lets a QA rule skip its search when marked text holds none of a run's strings."""
    from dsgen.passes.qa_template import literal_runs

    runs = literal_runs(source)
    for m in re.finditer(source, text):
        assert all(any(option in m.group() for option in run) for run in runs), (source, runs, m.group())


#: The number patterns as first written (a look-behind or ``\\b`` first); the shipped
#: ones start at the digit so the regex engine can skip ahead, and must find the same.
_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_SCALE = r"(?:\s?(?:million|billion|trillion|bn|mn|m|k)\b)?"
_FIRST_WRITTEN = {
    1: rf"\b(?:{_NUM}){_SCALE}\s?(?:yuan|dollars|euros|pounds|RMB|renminbi|USD)\b",
    2: rf"\b(?:{_NUM})\s?(?:%|percent\b|per cent\b)",
    6: r"(?<![\w$.,/-])(?:1[89]\d\d|20\d\d)(?![\w%/.,-]\d|\w)",
    7: rf"(?<![\w$.,/-])(?:{_NUM}){_SCALE}(?![\w%/$-]|,\d|\.\d)",
}
number_soup = st.lists(st.sampled_from(["1", "9", "0", "20", "19", "18", "2024", "1,000", ",", ".", "-", "/", "$",
                                        "%", " ", "\n", "a", "x", "_", "é", "٣", " million", "m", " percent",
                                        " yuan", "k", "2.5"]), max_size=14).map("".join)


@FAST
@given(number_soup)
def test_digit_first_number_patterns_find_what_the_first_written_ones_did(text):
    from dsgen.entities import _PATTERNS

    for i, source in _FIRST_WRITTEN.items():
        shipped = _PATTERNS[i][1]
        assert [m.span() for m in shipped.finditer(text)] == [m.span() for m in re.finditer(source, text)], shipped.pattern


@FAST
@given(st.one_of(any_text, number_soup, st.lists(st.sampled_from(["Alibaba’s", "U.S.", "May 5, 2020", "$3 billion",
                                                                  "Jack Ma's", "2021-2023", "GPT-4", "ſix", " ", ". "]),
                                                 max_size=12).map("".join)))
def test_every_fact_is_text_of_the_sentence_it_was_found_in(text):
    """What lets ``missing_facts`` skip the fact search for a text found in its source:
    the text's facts are then in the source too (casefold maps each character alone)."""
    from dsgen.support import facts

    for fact in facts(text):
        assert fact in text, fact


#: Number words, their letters in other cases and look-alikes the case-insensitive regex
#: engine folds (long s, Kelvin sign, dotted and dotless i), word characters around them.
word_soup = st.lists(st.sampled_from(["two", "Three", "fOUR", "five", "six", "ſix", "ſeven", "SEVEN", "eight", "nine",
                                      "NİNE", "nıne", "ten", "eleven", "twelve", "twenty", "hundred", "\u212a", "t",
                                      "wo", "en", "s", "_", "1", "é", " ", "-", "'", ".", "\n"]), max_size=10).map("".join)


@FAST
@given(word_soup)
def test_number_word_pattern_finds_what_the_plain_alternation_does(text):
    from dsgen.entities import _NUMBER_WORD, NUMBER_WORDS

    plain = re.compile(r"\b(?:" + "|".join(NUMBER_WORDS) + r")\b", re.IGNORECASE)
    assert [m.span() for m in _NUMBER_WORD.finditer(text)] == [m.span() for m in plain.finditer(text)]


def test_letter_case_classes_hold_what_ignorecase_matches():
    """Every code point re.IGNORECASE lets an ASCII letter match, and no other."""
    from dsgen.entities import _any_case

    every = "".join(chr(i) for i in range(0x110000) if not 0xD800 <= i < 0xE000)
    for letter in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ":
        assert sorted(_any_case(letter)) == sorted(set(re.findall(re.escape(letter), every, re.IGNORECASE))), letter


def _regex_nodes(parsed):
    """Every (opcode, argument) of a parsed regex, nested ones included."""
    for op, av in parsed:
        yield op, av
        for part in (av if isinstance(av, (list, tuple)) else [av]):
            if hasattr(part, "data"):
                yield from _regex_nodes(part.data)
            elif isinstance(part, (list, tuple)):
                for sub in part:
                    if hasattr(sub, "data"):
                        yield from _regex_nodes(sub.data)


def test_no_dsgen_regex_uses_possessive_quantifiers_or_atomic_groups():
    """Python 3.11.0 to 3.11.4 (Debian 12 ships 3.11.2) match some possessive quantifiers
    and atomic groups wrongly: a possessive name pattern found other names there, and a
    fresh clone's build differed from this machine's. dsgen's own patterns avoid both."""
    import importlib
    import pkgutil
    from re import _constants as c, _parser

    import dsgen
    from dsgen.text import _first_words

    patterns = [_first_words(n) for n in (1, 2, 6)]
    for info in pkgutil.walk_packages(dsgen.__path__, "dsgen."):
        module = importlib.import_module(info.name)
        patterns += [(f"{info.name}.{name}", value) for name, value in vars(module).items()
                     if isinstance(value, re.Pattern)]
    assert len(patterns) > 40
    banned = {c.POSSESSIVE_REPEAT, c.ATOMIC_GROUP}
    for item in patterns:
        name, pattern = item if isinstance(item, tuple) else ("_first_words", item)
        ops = {op for op, _ in _regex_nodes(_parser.parse(pattern.pattern, pattern.flags).data)}
        assert not ops & banned, (name, pattern.pattern)


@FAST
@given(nasty_text, st.sampled_from(["{{ x }}", "Q: {{ x }}?", "{{ x | lower_first }} and {{ y }}", "{{ x|upper }}",
                                    "{{ x | base_verb }}", "a\n\n{{ y }}\n"]))
def test_plain_templates_render_exactly_like_jinja(value, source):
    from dsgen.templates import TemplateStore

    template = TemplateStore().compile(source, "test")
    assert template.plain is not None  # the fast path is the one under test
    assert template.render(x=value, y=value[::-1]) == template.compiled.render(x=value, y=value[::-1])
    # lower_first reads the article: from the variables here, from Jinja's context there.
    article = f"{value.lower()} and {value}"
    assert template.render(x=value, y=value, article=article) == template.compiled.render(x=value, y=value, article=article)


@FAST
@given(any_text)
def test_sentence_spans_are_exact_in_normalized_text(raw):
    check_sentences(normalize_text(raw))


@FAST
@given(any_text)
def test_sentence_spans_are_exact_even_in_raw_text(raw):
    assume("\ud800" not in raw and "\udfff" not in raw)
    for s in sentences(raw):
        assert raw[s.span.start : s.span.end] == s.text


# --------------------------------------------------------------------------- readers


@FAST
@given(st.binary(max_size=400), st.sampled_from([".txt", ".md", ".html", ".jsonl"]))
def test_readers_on_arbitrary_bytes_return_articles_or_a_corpus_error(data, suffix):
    try:
        items = read_articles(data, suffix, "f")
    except CorpusError:
        return
    for item in items:
        if isinstance(item, BadRecord):
            assert item.reason and item.source.startswith("f")
            continue
        text = normalize_text(item.text)
        assert normalize_text(text) == text
        text.encode("utf-8")
        if item.title is not None:
            normalize_text(item.title).encode("utf-8")


safe_words = st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="<>&*_`[]()#!\\-+|~=:"),
                     min_size=1, max_size=30)
paragraph = st.lists(safe_words, min_size=1, max_size=6).map(" ".join).filter(lambda p: normalize_text(p) != "")


@FAST
@given(st.lists(paragraph, min_size=1, max_size=5))
def test_html_paragraphs_come_out_as_lines_of_their_text(paragraphs):
    html = "<html><body>" + "".join(f"<p>{p}</p><script>var x = 1;</script>" for p in paragraphs) + "</body></html>"
    _, body = read_html(html)
    text = normalize_text(body)
    assert [line for line in text.split("\n") if line] == [normalize_text(p) for p in paragraphs]


@FAST
@given(st.lists(paragraph, min_size=1, max_size=5))
def test_markdown_paragraphs_keep_their_text(paragraphs):
    _, body = read_markdown("\n\n".join(paragraphs))
    assert [line for line in normalize_text(body).split("\n") if line] == [normalize_text(p) for p in paragraphs]


@FAST
@given(st.lists(st.tuples(st.text(max_size=40), st.one_of(st.none(), st.text(max_size=20))), max_size=5), st.booleans())
def test_jsonl_round_trips_any_text(records, ascii_only):
    lines_ = [json.dumps({"text": t, **({"title": ti} if ti is not None else {})}, ensure_ascii=ascii_only) for t, ti in records]
    items = read_jsonl("\n".join(lines_), "a.jsonl")
    assert [(i.text, i.title) for i in items] == [(t, ti) for t, ti in records]
    assert [i.source for i in items] == [f"a.jsonl#L{n}" for n in range(1, len(records) + 1)]


# --------------------------------------------------------------------------- the validator

class BuiltRows(tuple):
    """``(texts by doc_id, rows by config)``; a short repr keeps hypothesis reports readable."""

    def __repr__(self) -> str:
        return "<rows of the session build>"


@pytest.fixture(scope="module")
def corpus_rows(built):
    """Every published row of the session build, with the document texts."""
    def read(config):
        return [r for split in ("train", "test") for r in pq.read_table(built / "dataset" / config / f"{split}-00000-of-00001.parquet").to_pylist()]

    texts = {r["doc_id"]: r["text"] for r in read("documents")}
    return BuiltRows((texts, {c: read(c) for c in ("qa", "summarization", "fact_check")}))


def _shift(d):
    return d.draw(st.integers(-40, 40).filter(bool))


def _other_char(d, ch):
    return d.draw(st.sampled_from("xyzQ7.,;é€").filter(lambda c: c != ch))


def _edit_string(d, s):
    i = d.draw(st.integers(0, len(s) - 1))
    return s[:i] + _other_char(d, s[i]) + s[i + 1 :]


def tamper_context_start(row, text, d):
    row["context_start"] += _shift(d)
    assume(row["context_start"] < 0 or text[row["context_start"] : row["context_start"] + len(row["context"])] != row["context"])


def tamper_context_text(row, text, d):
    row["context"] = _edit_string(d, row["context"])


def tamper_answer_start(row, text, d):
    a, t = row["answers"]["answer_start"][0] + _shift(d), row["answers"]["text"][0]
    row["answers"]["answer_start"] = [a]
    assume(a < 0 or row["context"][a : a + len(t)] != t)


def tamper_answer_text(row, text, d):
    row["answers"]["text"] = [_edit_string(d, row["answers"]["text"][0])]


def tamper_question_gives_answer(row, text, d):
    row["question"] = row["question"].rstrip("?") + " " + row["answers"]["text"][0] + "?"


def tamper_evidence_shift(row, text, d):
    e = row["evidence"][0]
    delta = _shift(d)
    e["start"], e["end"] = e["start"] + delta, e["end"] + delta
    if "answers" in row:  # must now miss the answer (or leave the document)
        a = row["context_start"] + row["answers"]["answer_start"][0]
        assume(not (e["start"] <= a and a + len(row["answers"]["text"][0]) <= e["end"]) or e["start"] < 0 or e["end"] > len(text))
    else:  # must now leave the document
        assume(e["start"] < 0 or e["end"] > len(text))


def tamper_evidence_out_of_range(row, text, d):
    e = row["evidence"][d.draw(st.integers(0, len(row["evidence"]) - 1))]
    e["start"], e["end"] = d.draw(st.sampled_from([(-5, 3), (len(text) - 2, len(text) + 9), (7, 7), (9, 4), (10**7, 10**7 + 1)]))


def tamper_evidence_dropped(row, text, d):
    row["evidence"] = []


def tamper_messages(row, text, d):
    row["messages"] = d.draw(st.sampled_from([[], row["messages"][:-1], [{"role": "hacker", "content": "x"}],
                                              [*row["messages"][:-1], {"role": "assistant", "content": ""}]]))
    assume(row["messages"] and row["messages"][-1].get("role") == "assistant" and row["messages"][-1]["content"] or True)


def tamper_provenance(row, text, d):
    key, value = d.draw(st.sampled_from([("method", "magic"), ("method", None), ("generator", ""), ("pass", "")]))
    row[key] = value


def tamper_summary_adds_a_fact(row, text, d):
    row["summary"] += d.draw(st.sampled_from([" Zorblax Industries bought the company for $9 trillion in 1850.",
                                              " The firm was founded on Mars by Queen Xylophone."]))


def tamper_summary_document(row, text, d):
    row["document"] = _edit_string(d, row["document"])


def tamper_label_flip(row, text, d):
    old = row["label"]
    row["label"] = d.draw(st.sampled_from([i for i in range(len(LABELS)) if i != old]))


def tamper_label_invalid(row, text, d):
    row["label"] = d.draw(st.sampled_from([3, -1, 99, "MAYBE"]))


def tamper_claim_number(row, text, d):
    assume(LABELS[row["label"]] != "NOT ENOUGH INFO")  # another unsupported number is still NEI
    evidence = " ".join(text[e["start"] : e["end"]] for e in row["evidence"])
    numbers = list(re.finditer(r"\d+", row["claim"]))
    assume(numbers)
    m = d.draw(st.sampled_from(numbers))
    new = str(int(m.group()) + d.draw(st.integers(1, 9)))
    claim = row["claim"][: m.start()] + new + row["claim"][m.end() :]
    assume(not re.search(rf"(?<!\d){new}(?!\d)", evidence))
    row["claim"] = claim


def tamper_refutes_change(row, text, d):
    assume(LABELS[row["label"]] == "REFUTES")
    row["change"] = d.draw(st.sampled_from([{"kind": "", "original": "", "replacement": ""},
                                            {**row["change"], "replacement": row["change"]["original"]},
                                            {**row["change"], "original": "Zorblax"}]))


TAMPERS = {
    "qa": [tamper_context_start, tamper_context_text, tamper_answer_start, tamper_answer_text, tamper_question_gives_answer,
           tamper_evidence_shift, tamper_evidence_out_of_range, tamper_evidence_dropped, tamper_messages, tamper_provenance],
    "summarization": [tamper_summary_adds_a_fact, tamper_summary_document, tamper_evidence_out_of_range,
                      tamper_evidence_dropped, tamper_messages, tamper_provenance],
    "fact_check": [tamper_context_start, tamper_context_text, tamper_label_flip, tamper_label_invalid, tamper_claim_number,
                   tamper_refutes_change, tamper_evidence_out_of_range, tamper_evidence_dropped, tamper_messages, tamper_provenance],
}


def test_every_published_row_passes_check_row(corpus_rows):
    texts, by_config = corpus_rows
    for config, rows in by_config.items():
        for row in rows:
            assert check_row(config, row, texts[row["doc_id"]]) == [], (config, row["id"])


@settings(max_examples=300 * SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(st.data())
def test_check_row_catches_every_rule_breaking_edit(corpus_rows, data):
    texts, by_config = corpus_rows
    config = data.draw(st.sampled_from(sorted(TAMPERS)))
    tamper = data.draw(st.sampled_from(TAMPERS[config]), label="tamper")
    row = copy.deepcopy(by_config[config][data.draw(st.integers(0, len(by_config[config]) - 1), label="row")])
    text = texts[row["doc_id"]]
    tamper(row, text, data)
    problems = check_row(config, row, text)
    assert problems, f"{tamper.__name__} was not caught on {config} row {row['id']}"


# --------------------------------------------------------------------------- dsgen validate on disk

DISK_TAMPERS = [
    ("qa", tamper_context_start), ("qa", tamper_answer_text), ("qa", tamper_evidence_shift),
    ("qa", tamper_question_gives_answer), ("summarization", tamper_summary_adds_a_fact),
    ("fact_check", tamper_label_flip), ("fact_check", tamper_claim_number), ("fact_check", tamper_evidence_out_of_range),
]


@settings(max_examples=12 * SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.filter_too_much])
@given(st.data())
def test_dsgen_validate_catches_tampered_parquet(built, tmp_path_factory, data):
    config, tamper = data.draw(st.sampled_from(DISK_TAMPERS), label="tamper")
    split = data.draw(st.sampled_from(["train", "test"]))
    out = tmp_path_factory.mktemp("tampered")
    shutil.copytree(built, out, dirs_exist_ok=True)
    path = out / "dataset" / config / f"{split}-00000-of-00001.parquet"
    table = pq.read_table(path)
    rows = table.to_pylist()
    docs = [r for s in ("train", "test") for r in pq.read_table(out / "dataset" / "documents" / f"{s}-00000-of-00001.parquet").to_pylist()]
    texts = {r["doc_id"]: r["text"] for r in docs}
    i = data.draw(st.integers(0, len(rows) - 1), label="row")
    tamper(rows[i], texts[rows[i]["doc_id"]], data)
    pq.write_table(type(table).from_pylist(rows, schema=table.schema), path)
    result = CliRunner().invoke(cli, ["validate", str(out)])
    assert result.exit_code == 1, f"{tamper.__name__} on {config}/{split} row {i} passed validate"
    assert "FAILED" in result.output and rows[i]["id"] in result.output
    assert re.search(r"^  [a-z_]+: \d+$", result.output, re.M), "per-reason counts"


# --------------------------------------------------------------------------- malformed values

ODD_VALUES = [None, "", "x", -1, 0, 10**12, 3.5, [], {}, [None], [{"start": None, "end": None}], {"text": None, "answer_start": None},
              {"text": ["a", None], "answer_start": [0]}, {"text": "abc", "answer_start": "0"}, [{"role": None, "content": None}]]


@settings(max_examples=200 * SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_check_row_reports_malformed_values_instead_of_crashing(corpus_rows, data):
    """Rows from a tampered file or a model pass may hold anything; validation must say no, not crash."""
    texts, by_config = corpus_rows
    config = data.draw(st.sampled_from(sorted(by_config)))
    row = copy.deepcopy(by_config[config][data.draw(st.integers(0, len(by_config[config]) - 1), label="row")])
    text = texts[row["doc_id"]]
    for key in data.draw(st.lists(st.sampled_from(sorted(row)), min_size=1, max_size=3, unique=True), label="keys"):
        row[key] = data.draw(st.sampled_from(ODD_VALUES), label=key)
    try:
        check_row(config, row, text)
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"check_row raised {type(exc).__name__}: {exc}")


@pytest.mark.parametrize(
    "config, edit",
    [
        ("qa", lambda t: t.drop_columns(["question"])),
        ("documents", lambda t: t.drop_columns(["text"])),
        ("fact_check", lambda t: t.set_column(t.schema.get_field_index("label"), "label", t["label"].cast("string"))),
        ("qa", lambda t: t.set_column(t.schema.get_field_index("answers"), "answers",
                                      __import__("pyarrow").nulls(len(t), t.schema.field("answers").type))),
        ("summarization", None),  # not a parquet file any more
    ],
)
def test_dsgen_validate_reports_broken_files_in_one_line_per_problem(built_copy, config, edit):
    path = built_copy / "dataset" / config / "train-00000-of-00001.parquet"
    if edit is None:
        path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    else:
        pq.write_table(edit(pq.read_table(path)), path)
    result = CliRunner().invoke(cli, ["validate", str(built_copy)])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception, SystemExit)
    assert re.search(r"^  (schema_mismatch|unreadable_file|answer_mismatch|evidence_missing|[a-z_]+): \d+$", result.output, re.M)


# --------------------------------------------------------------------------- boilerplate rules

_RULE_SOURCES = [".*a.b.*", ".*\\bab\\b.*", "x.*", "[^\\w]*", ".*(a|b)c.*", ".*a|b.*", "(a)\\1.*", ".*(?i:Q).*",
                 ".*(?<=x)a.*", ".*a$.*", ".*^b.*", ".*ab", ".*\\bb\\W*", "ab.*", ".+a.*", ".*a.*?", ".*\\.*", ".*.*",
                 "(c|x)\\s*.*", ".*(?=a)"]


@FAST
@given(st.lists(st.sampled_from("abcxQ .-_é"), max_size=14).map("".join),
       st.sets(st.sampled_from(_RULE_SOURCES), min_size=1))
def test_boilerplate_line_test_agrees_with_fullmatching_each_rule(line, sources):
    from dsgen.boilerplate import _any_of

    patterns = tuple(re.compile(s, re.IGNORECASE) for s in sorted(sources))
    assert _any_of(patterns)(line) == any(p.fullmatch(line) for p in patterns)


_NEEDLE_SOURCES = [".*abc.*", ".*\\bsab\\b.*", ".*(abc|xab)q.*", ".*a(bcx|cab).*", ".*(?:cab|sab)", ".*kab.*",
                   ".*iab.*", ".*(?-i:abc).*", ".*ab(c|x).*", ".*(?=abc)cab.*"]
#: Words of those rules in other cases, and letters that match ASCII ones only ignoring case (ſ K İ ı).
_NEEDLE_WORDS = ["abc", "ABC", "aBc", "sab", "ſab", "xab", "cab", "bcx", "kab", "Kab", "iab", "İab", "ıab", "q",
                 "Q", " ", "é", "-"]


@FAST
@given(st.lists(st.sampled_from(_NEEDLE_WORDS), max_size=8).map("".join),
       st.sets(st.sampled_from(_NEEDLE_SOURCES), min_size=1))
def test_boilerplate_needles_never_skip_a_rule_that_matches(line, sources):
    from dsgen.boilerplate import _any_of

    patterns = tuple(re.compile(s, re.IGNORECASE) for s in sorted(sources))
    assert _any_of(patterns)(line) == any(p.fullmatch(line) for p in patterns)


def test_shipped_boilerplate_rules_flag_the_same_lines_as_one_by_one_matching():
    from dsgen.boilerplate import BoilerplateRules
    from dsgen.templates import DEFAULT_TEMPLATES_DIR

    rules = BoilerplateRules.load(DEFAULT_TEMPLATES_DIR / "boilerplate.yaml")
    samples = ["5 min read", "All rights reserved 2024.", "Click here to read more", "Some prose, all rights reserved",
               "?>", "– Industry advisor", "About the author", "Market conditions may have changed since publication.",
               "A normal sentence about market conditions.", "<div class='x'>", "Related articles"]
    for line in samples:
        for kind in ("line", "tail"):
            patterns = getattr(rules, kind)
            expected = any(p.fullmatch(line) for p in patterns)
            assert getattr(rules, f"_{kind}_any")(line) == expected, (kind, line)
