"""A paragraph split over lines (wrapped text, Markdown source, HTML source) is read as
one line: sentences never span a line break, so a split paragraph gave fragments."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from conftest import SEEDS, templated_build
from dsgen.line_breaks import unwrap_plain
from dsgen.readers import read_articles, read_html
from dsgen.text import normalize_text, sentences

SEED_FILES = sorted(SEEDS.glob("*.txt"))


def rows(out: Path, config: str) -> list[dict]:
    return [r for split in ("train", "test")
            for r in pq.read_table(out / "dataset" / config / f"{split}-00000-of-00001.parquet").to_pylist()]


def sentence_texts(text: str) -> list[str]:
    return [s.text for s in sentences(normalize_text(text))]


def read(text: str, suffix: str) -> str:
    return read_articles(text.encode("utf-8"), suffix, "a" + suffix)[0].text


def wrap(article: str, width: int, **options) -> str:
    """``article`` (one paragraph per line) as a text editor wraps it: blank lines
    between paragraphs, each filled to ``width`` columns."""
    paragraphs = [p for p in article.split("\n") if p.strip()]
    return "\n\n".join(textwrap.fill(p, width, **options) for p in paragraphs) + "\n"


@pytest.mark.parametrize("width", [50, 60, 72, 80, 100, 120])
@pytest.mark.parametrize("break_on_hyphens", [False, True])
def test_wrapped_seed_articles_read_as_the_same_sentences(width, break_on_hyphens):
    for path in SEED_FILES:
        article = path.read_text(encoding="utf-8")
        wrapped = wrap(article, width, break_on_hyphens=break_on_hyphens)
        assert sentence_texts(wrapped) != sentence_texts(article)  # what the reader must undo
        assert sentence_texts(read(wrapped, ".txt")) == sentence_texts(article), (path.name, width)


def test_wrapped_jsonl_texts_are_unwrapped_too():
    import json

    article = SEED_FILES[1].read_text(encoding="utf-8")
    line = json.dumps({"title": "T", "text": wrap(article, 80)})
    assert sentence_texts(read(line, ".jsonl")) == sentence_texts(article)


def test_text_with_one_paragraph_per_line_is_read_as_it_is():
    for path in SEED_FILES:  # long lines, and headings and short table rows between them
        article = path.read_text(encoding="utf-8")
        assert read(article, ".txt") == article


@pytest.mark.parametrize("text", [
    "Apples\nBananas\nCherries\nDates\n",  # a list of short lines
    "Roses are red and violets are blue\nSugar is sweet and so are you\nThe rain in the garden is soft\n",  # verse
    "The plan has three parts that the board approved last week\n- hire more engineers for the team\n"
    "- open a new office in Lisbon next year\n",  # list items
    "name\tcity\tyear of founding and other details of it\nAcme Holdings\tLisbon\t1999\n",  # columns
    "Results of the annual survey of the members of the club\n---------------------------------\n"
    "Most members said they were happy.\n",  # a rule under a heading
    "The committee met on Monday and approved the budget.\nThe vote was unanimous and quick.\n",
    "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstream-Name: sodium\n"
    "Source: https://download.libsodium.org/libsodium/releases/\n",  # fields of a Debian copyright file
    "From: Jane Doe <jane.doe@example.org>, for the members of the club\nSubject: The budget\n",  # mail headers
    " * The parser reads every file of the folder and every record of each\n   - even the empty ones\n",  # a nested item
    "Install it with the two commands below, run from the folder of sources\n"
    "    ./configure --prefix=/usr/local --enable-shared\n        --with-everything\n",  # code under a line
])
def test_breaks_that_are_not_wrapping_stay(text):
    assert unwrap_plain(text) == text


@pytest.mark.parametrize("first, rest", [("    ", "    "), ("  * ", "    "), (" 12. ", "     ")])
def test_indented_paragraphs_and_list_items_wrapped_at_their_indent_are_unwrapped(first, rest):
    # Quotes, definitions and list items: each line of the paragraph after the first is
    # indented as far as its text starts.
    for path in SEED_FILES:
        paragraphs = [p.strip() for p in path.read_text(encoding="utf-8").split("\n")
                      if p.strip() and not re.match(r"[-*+•]\s|\d+[.)]\s", p.strip())]  # not list items already
        article = "\n".join(paragraphs)
        wrapped = "\n\n".join(textwrap.fill(p, 72, initial_indent=first, subsequent_indent=rest) for p in paragraphs)
        assert wrapped.count("\n" + rest) > len(paragraphs)
        got = [s.removeprefix(first.strip()).strip() for s in sentence_texts(read(wrapped, ".txt"))]
        assert [s for s in got if s] == sentence_texts(article), path.name  # ("12." is a sentence of its own)


def test_a_few_lines_longer_than_the_wrapping_do_not_set_its_width():
    # Python's pydoc topics wrap at 70 columns and hold a few longer lines (grammar, code,
    # quotes added after wrapping): with the longest line as the width, few breaks were
    # judged wrapping and paragraphs read as fragments such as "Naming and binding), ...".
    longer = ("See https://docs.python.org/3/reference/compound_stmts.html#class-definitions"
              " for the grammar\n")
    assert 70 < len(longer) <= 100
    for path in SEED_FILES:
        article = path.read_text(encoding="utf-8")
        wrapped = wrap(article, 70)
        assert wrapped.count("\n") >= 50  # so that 2% of its lines is a line or more
        assert sentence_texts(read(wrapped + "\n" + longer, ".txt")) == sentence_texts(article + "\n" + longer), path.name


def test_unwrapping_joins_only_where_the_next_word_did_not_fit_and_keeps_broken_words():
    text = ("The Harbor Bridge reopened on 12 March 2021 after a lengthy\n"
            "repair that cost $45 million and took engineers from a well-\n"
            "known firm eighteen months, the mayor of the capital of the U.S.\n"
            "state said on Monday.\n"
            "\n"
            "Short line.\n"
            "    An indented paragraph starts here and it goes on for some\n"
            "time.\n")
    assert unwrap_plain(text) == (
        "The Harbor Bridge reopened on 12 March 2021 after a lengthy repair that cost $45 million and "
        "took engineers from a well-known firm eighteen months, the mayor of the capital of the U.S. "
        "state said on Monday.\n"
        "\n"
        "Short line.\n"
        "    An indented paragraph starts here and it goes on for some time.\n")


def test_markdown_paragraph_lines_are_one_paragraph():
    md = ("Harbor Bridge\n=============\n"
          "The bridge reopened on 12 March\n2021 after a repair.  \n"
          "A hard break ends this line.\n\n"
          "- Engineers replaced 320 steel\n  cables over 18 months.\n"
          "- Traffic returns in April.\n\n"
          "> The repair was on time,\n> the mayor said.\n\n"
          "## Cost\nThe city paid $45\nmillion.\n")
    lines = [line for line in normalize_text(read(md, ".md")).split("\n") if line]
    assert lines == [
        "Harbor Bridge",
        "The bridge reopened on 12 March 2021 after a repair.",
        "A hard break ends this line.",
        "• Engineers replaced 320 steel cables over 18 months.",
        "• Traffic returns in April.",
        "The repair was on time, the mayor said.",
        "Cost",
        "The city paid $45 million.",
    ]


def test_html_source_line_breaks_are_spaces_except_in_pre():
    html = ("<html><body><p>The bridge reopened\n   on 12 March 2021\nafter a repair.</p>"
            "<pre>line one\n  line two</pre><p>Second&nbsp; paragraph.</p></body></html>")
    _, body = read_html(html)
    assert sentence_texts(body) == ["The bridge reopened on 12 March 2021 after a repair.", "line one",
                                    "line two", "Second paragraph."]


@pytest.mark.parametrize("code", [
    '<div class="highlight-python3 notranslate"><div class="highlight"><pre><span></span>x = [\n  "fee",\n]</pre></div></div>',
    '<pre class="literal-block">python -m venv .venv</pre>',  # Sphinx
    '<pre class="programlisting">$ apt install slapd</pre>', '<pre class="screen">(Reading database ... 5 files.)</pre>',  # DocBook
    '<pre><code class="language-python">print("Nottinghamfolk send $10.")</code></pre>',  # MkDocs, Hugo, highlight.js
])
def test_html_code_blocks_are_not_article_text(code):
    """As in Markdown: a code block's statements and output are not sentences to ask about or claim."""
    html = f"<html><body><main><p>Lists have methods.</p>{code}<p>They are mutable.</p></main></body></html>"
    assert sentence_texts(read_html(html)[1]) == ["Lists have methods.", "They are mutable."]


def test_html_heading_permalinks_go_and_links_to_sections_stay():
    html = ('<html><body><main><h2>More on Lists<a class="headerlink" href="#more-on-lists" title="Permalink">¶</a>'
            '</h2><h3>Tuples <a href="#tuples">#</a></h3><p>See <a href="#more-on-lists">More on Lists</a> and '
            '<a href="https://example.com/#x">§</a>.</p><pre>A mail archive keeps its message in a pre block.</pre>'
            '</main></body></html>')
    assert sentence_texts(read_html(html)[1]) == ["More on Lists", "Tuples", "See More on Lists and §.",
                                                  "A mail archive keeps its message in a pre block."]


@pytest.mark.parametrize("main", ['<main id="content">{}</main>', '<div role="main">{}</div>',
                                  '<article>{}</article>'])
def test_html_text_is_the_pages_main_content(main):
    article = "<h1>Bridge Reopens</h1><p>The bridge reopened on 12 March 2021.</p>"
    html = ("<html><head><title>Bridge Reopens - City News</title></head><body>"
            "<div class=menu>Keyboard shortcuts: press S to search</div>"
            + main.format(article) + "<div class=footer>Subscribe to our newsletter</div></body></html>")
    title, body = read_html(html)
    assert title == "Bridge Reopens - City News"
    assert sentence_texts(body) == ["Bridge Reopens - City News", "Bridge Reopens", "The bridge reopened on 12 March 2021."]


def test_html_with_several_articles_keeps_the_whole_page():
    html = ("<html><body><header>City News</header><article><p>First story.</p></article>"
            "<article><p>Second story.</p></article></body></html>")
    assert sentence_texts(read_html(html)[1]) == ["City News", "First story.", "Second story."]


def test_a_wrapped_article_gives_whole_sentences_as_claims_and_the_same_questions(tmp_path: Path):
    """End to end: the claims of a wrapped article are sentences of the article, not
    fragments of its lines, and its questions are those of the unwrapped article."""
    article = SEED_FILES[0].read_text(encoding="utf-8")
    whole = set(sentence_texts(article))
    questions, claims = {}, {}
    for name, text in (("plain", article), ("wrapped", wrap(article, 72))):
        seeds = tmp_path / name
        seeds.mkdir()
        (seeds / "article.txt").write_text(text, encoding="utf-8")
        out = tmp_path / f"out-{name}"
        templated_build(seeds, out)
        questions[name] = sorted(r["question"] for r in rows(out, "qa"))
        # SUPPORTS claims: which sentences are picked depends on the doc_id, a hash of
        # the text, which the blank lines between wrapped paragraphs change.
        claims[name] = [r["claim"] for r in rows(out, "fact_check") if r["label"] == 0]
    assert questions["plain"] and questions["wrapped"] == questions["plain"]
    assert claims["wrapped"] and set(claims["wrapped"]) <= whole
