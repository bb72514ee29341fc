"""File formats dsgen reads: plain text, Markdown, HTML and JSONL.

Each reader turns bytes into ``(title_hint, text)`` pairs; normalization and
ids happen in :mod:`dsgen.corpus`. A file that cannot be read at all raises
:class:`InputRejected` (with a reason code); a bad record inside a multi-article
file (one JSONL line) becomes a :class:`BadRecord` so the other records survive.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import yaml

from dsgen.errors import CorpusError
from dsgen.line_breaks import join_lines, unwrap_plain

TEXT_SUFFIXES = {".txt", ".text", ".md", ".markdown", ".html", ".htm", ".jsonl"}


class InputRejected(CorpusError):
    """A whole file cannot be used; ``reason`` is the code recorded in the build report."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class BadRecord:
    """One unusable record of a multi-article file (e.g. a malformed JSONL line)."""

    source: str
    reason: str
    detail: str = ""


@dataclass(frozen=True)
class RawArticle:
    """One article as read from a file, before normalization."""

    text: str
    title: str | None
    source: str  # path relative to the seeds folder, plus "#L<n>" for JSONL lines


_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)
#: Preferred among equally plausible legacy encodings: most non-UTF-8 articles
#: are Windows-1252 / Latin-1, and charset detection scores e.g. cp1250 the same.
_WESTERN = ("cp1252", "latin_1", "iso8859_15")
#: Tried before charset detection, which guesses e.g. cp775 or mac_latin2 for a
#: short cp1252 text (it has too few bytes to score languages on).
_LEGACY = ("cp1252", "cp1250")
#: A symbol that touches a letter where Western text has none: in cp1252 these bytes
#: are the Polish, Slovak or Romanian letters ą ł ľ Ľ ş Ş Ą Ż Ł ż ź of cp1250
#: ("M³ller", "obieca³", "¿ona", "³ódŸ"). m³ (a unit), nº, ¿Qué and £5 stay fine.
_MISPLACED_SYMBOL = re.compile(
    r"(?<=[^\W\d_])[¹¾¼¥¯±¶˘˛˙ˇ]|[¹¾¼¥¯±¶˘˛˙ˇºª£](?=[^\W\d_])"
    r"|(?<=[^\W\d_m])³|³(?=[^\W\d_])|(?<=[^\W\d_])¿|(?<=[^\W\d_A-Z])Ÿ"
)
#: Czech/Hungarian letters read as cp1252: ě ů Č (ì ù È) inside a word, ő (õ) before
#: a letter other than the e of Portuguese -ões/-õe. Western languages use ì ù
#: only at a word's end and È alone (Italian "È").
_CENTRAL_IN_CP1252 = re.compile(r"[ìùÈ](?=[^\W\d_])|õ(?=[^\W\de_])")
#: More accented letters than this share of all letters is not a Western or
#: Central-European language (Cyrillic or Greek bytes read as cp1252 are all accents).
_MAX_NON_ASCII_LETTERS = 0.4
#: Characters judged by :func:`_legacy_decode` (a bound on its time for huge files).
_LEGACY_SAMPLE = 1 << 20
_LETTER = re.compile(r"[^\W\d_]")
_ACCENTED_LETTER = re.compile(r"[^\W\d_\x00-\x7f]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
#: A larger share of non-printable characters than this means binary data.
_MAX_CONTROL_SHARE = 0.01


def decode(data: bytes, fallback: str | None = None) -> tuple[str, str]:
    """Decode bytes to text, returning ``(text, encoding)``.

    A byte-order mark wins; then strict UTF-8; then ``fallback``, the encoding the
    user names for files that are not UTF-8, if any. Otherwise Windows-1252 or
    -1250 when either reads as plausible text, then charset detection, preferring
    Windows-1252 among equally good guesses: short texts in other encodings can be
    misread, which is what ``fallback`` is for. Raises :class:`InputRejected` for
    binary data, bytes that ``fallback`` cannot decode, or an undetectable encoding.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return _check_printable(data.decode(encoding)), encoding
            except UnicodeDecodeError:
                break
    if b"\x00" in data[:8192]:
        raise InputRejected("binary_file", "binary file (contains NUL bytes)")
    try:
        return _check_printable(data.decode("utf-8")), "utf-8"
    except UnicodeDecodeError:
        pass
    if fallback is not None:
        try:
            return _check_printable(data.decode(fallback)), fallback
        except UnicodeDecodeError as exc:
            raise InputRejected("decode_error", f"neither UTF-8 nor {fallback} (byte 0x{data[exc.start]:02x} at offset {exc.start})") from None
    legacy = _legacy_decode(data)
    if legacy is not None:
        return _check_printable(legacy[0]), legacy[1]
    from charset_normalizer import from_bytes

    matches = [m for m in from_bytes(data) if not m.encoding.startswith(("utf_16", "utf_32"))]
    if not matches:
        raise InputRejected("unknown_encoding", "not UTF-8 and the text encoding cannot be detected")
    best = matches[0]
    close = [m for m in matches if m.chaos <= best.chaos + 0.01 and m.coherence >= best.coherence - 0.05]
    chosen = next((m for enc in _WESTERN for m in close if m.encoding == enc), best)
    return _check_printable(str(chosen)), chosen.encoding


def _legacy_decode(data: bytes) -> tuple[str, str] | None:
    """``(text, encoding)`` for bytes that read as plausible cp1252 or cp1250 text, else None.

    The two code pages share ASCII and most accented letters; where they differ,
    cp1252 gives letters or symbols that are out of place in Western text (see
    :data:`_MISPLACED_SYMBOL`, :data:`_CENTRAL_IN_CP1252`), and the one with fewer such
    oddities wins, cp1252 on a tie. The trade-off: bytes alone cannot tell every
    Czech or Hungarian text from a Western one (ř, č, ű read as ø, è, û in cp1252 are
    letters of Danish, French), so a cp1250 text without a telltale (ł, ą, ľ, ě, ů,
    Č, ő inside a word) is still read as cp1252. Before, short texts of either kind
    were often misread as cp775, mac_latin2 or worse by charset detection.
    """
    best: tuple[int, str, str] | None = None
    for encoding in _LEGACY:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        sample = text[:_LEGACY_SAMPLE]
        letters = len(_LETTER.findall(sample))
        if len(_ACCENTED_LETTER.findall(sample)) > _MAX_NON_ASCII_LETTERS * letters:
            continue
        odd = len(_MISPLACED_SYMBOL.findall(sample))
        if encoding == "cp1252":
            odd += len(_CENTRAL_IN_CP1252.findall(sample))
        if best is None or odd < best[0]:
            best = (odd, text, encoding)
    # Another code page (or noise) when even the better reading is mostly oddities.
    if best is None or best[0] * 20 > max(1, len(_NON_ASCII.findall(best[1][:_LEGACY_SAMPLE]))):
        return None
    return best[1], best[2]


#: C0 controls other than \t \n \v \f \r, DEL and C1 controls, and U+FFFD (a regex: a
#: Python loop over every character was a third of a build's reading time).
_NOT_PRINTABLE = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\ufffd]")


def _check_printable(text: str) -> str:
    """``text``, unless control characters say it is binary data that happened to decode."""
    sample = text[:65536]
    bad = len(_NOT_PRINTABLE.findall(sample))
    if sample and bad / len(sample) > _MAX_CONTROL_SHARE:
        raise InputRejected("binary_file", f"binary file ({bad} control characters in the first {len(sample)})")
    return text


_BLOCK_TAGS = ("p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "section",
               "article", "header", "footer", "blockquote", "pre", "table", "ul", "ol", "main",
               "hr", "dl", "dt", "dd", "figure", "figcaption", "caption", "address", "details", "summary")
_CELL_TAGS = ("td", "th")


#: Class names that mark a ``<pre>`` (or the block around it) as code: Sphinx's
#: ``highlight-python3`` and ``literal-block``, DocBook's ``programlisting`` and ``screen``,
#: Pygments, Prism, Pandoc's ``sourceCode``, highlight.js's ``language-x``, SyntaxHighlighter's ``brush:``.
_CODE_CLASS = re.compile(r"highlight|code|literal|programlisting|screen|prism|pygments|syntax|(?:^|-)lang|brush:",
                         re.I)
#: Text of a permalink anchor next to a heading (Sphinx and MkDocs's ``¶``, ``#``, ``§``, a link symbol).
_PERMALINK_TEXT = re.compile(r"\s*[¶§#🔗⚓]?\s*")


def _is_code_block(pre) -> bool:
    """A ``<pre>`` that holds code (marked so by its classes, its parent's or
    grandparent's, or by a ``<code>`` inside it), not preformatted prose such as a mail
    archive's message: code is not prose, as in Markdown, where code blocks go too."""
    if pre.find("code") is not None:
        return True
    for tag in (pre, pre.parent, pre.parent.parent if pre.parent is not None else None):
        if tag is not None and any(_CODE_CLASS.search(c) for c in tag.get("class") or ()):
            return True
    return False


def _is_permalink(a) -> bool:
    """A heading's permalink: a link to an anchor of the same page whose text is a mark
    (Sphinx's ``<a class="headerlink" href="#intro">¶</a>``), not a word."""
    return (a.get("href") or "").startswith("#") and _PERMALINK_TEXT.fullmatch(a.get_text()) is not None


def _is_main(tag) -> bool:
    return tag.name == "main" or tag.get("role") == "main"


def _main_content(soup):
    """The part of a page that holds its article: its one ``<main>`` (or ``role="main"``
    element, as Sphinx and many CMS themes mark it), else its one ``<article>``, else the
    whole page. Site chrome outside it (headers, menus, keyboard help, footers) is not
    the article, and would otherwise start every document of a crawled site."""
    mains = [t for t in soup.find_all(_is_main) if not any(_is_main(p) for p in t.parents)]
    articles = soup.find_all("article")
    for found in (mains, articles):
        if len(found) == 1 and found[0].get_text(strip=True):
            return found[0]
    return soup


_WHITESPACE_RUN = re.compile(r"[ \t\n\r\f]+")  # HTML's whitespace: not NBSP, which stays


def _collapse_whitespace(content) -> None:
    """Whitespace in text as a browser shows it: each run (line breaks included) one
    space, except inside ``<pre>`` and ``<textarea>``. Source line breaks inside a
    paragraph are not line breaks of the text (see :mod:`dsgen.line_breaks`)."""
    from bs4 import NavigableString

    for node in content.find_all(string=True):
        if type(node) is NavigableString and _WHITESPACE_RUN.search(node) and \
                not any(p.name in ("pre", "textarea") for p in node.parents):
            collapsed = _WHITESPACE_RUN.sub(" ", node)
            if collapsed != node:
                node.replace_with(collapsed)


def read_html(text: str) -> tuple[str | None, str]:
    """Visible text of an HTML page's main content (see :func:`_main_content`), one block
    per line; title from <title> or <h1>."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(text, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "nav", "aside", "form", "svg"]):
        tag.decompose()
    title = None
    if soup.title and soup.title.get_text(strip=True):
        title = soup.title.get_text(" ", strip=True)
        soup.title.decompose()
    elif soup.h1 and soup.h1.get_text(strip=True):
        title = soup.h1.get_text(" ", strip=True)
    content = _main_content(soup)
    for pre in content.find_all("pre"):
        if _is_code_block(pre):
            pre.decompose()
    for a in content.find_all("a", href=True):
        if _is_permalink(a):
            a.decompose()
    _collapse_whitespace(content)
    for tag in content.find_all(_BLOCK_TAGS):
        tag.insert_before("\n")
        tag.insert_after("\n")
    for tag in content.find_all(_CELL_TAGS):  # table cells: keep "a b", not "ab"
        tag.insert_after(" ")
    body = content.get_text()
    if title and not body.lstrip().startswith(title):
        body = title + "\n" + body
    return title, body


_MD_RULES = [
    (re.compile(r"!\[[^\]]*\]\([^)]*\)"), ""),  # images
    (re.compile(r"\[([^\]]*)\]\([^)]*\)"), r"\1"),  # links -> their text (a badge's link: nothing once its image is gone)
    (re.compile(r"\[\^[^\]\s]+\](?!:)"), ""),  # footnote references
    (re.compile(r"^\s{0,3}\[\^[^\]\s]+\]:\s*", re.M), ""),  # a footnote's text keeps its line, without its label
    (re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$", re.M), r"\1"),  # headings
    (re.compile(r"^\s{0,3}>\s?", re.M), ""),  # block quotes
    (re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+", re.M), "• "),  # list items
    (re.compile(r"(\*\*|__)(.+?)\1"), r"\2"),
    (re.compile(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?!\w)"), r"\1"),
    (re.compile(r"(?<![\w_])_(?![\s_])(.+?)(?<![\s_])_(?![\w_])"), r"\1"),  # _emphasis_ (not snake_case)
    (re.compile(r"^\s*(?:-{3,}|\*{3,}|_{3,})\s*$", re.M), ""),  # rules
    (re.compile(r"<([A-Za-z][A-Za-z0-9+.-]{1,31}:[^<>\s]*|[^<>\s@]+@[^<>\s@]+)>"), r"\1"),  # autolinks -> the address
    # Inline HTML, as CommonMark knows it: an open tag (a name of letters, digits and
    # hyphens, then attributes after a space), a closing tag, a declaration or a
    # processing instruction. "5 < 6 > 4" or "<v8.h>" is text.
    (re.compile(r"<(?:[A-Za-z][A-Za-z0-9-]*(?:\s[^<>\n]*)?/?|/[A-Za-z][A-Za-z0-9-]*\s*|![A-Za-z][^<>\n]*|\?[^<>\n]*\?)>"), ""),
]
#: Inline code: its text is kept as written, out of reach of the rules above (a code
#: span's ``#include <v8.h>`` or ``Vec<T>`` is not HTML, nor its ``*`` emphasis). As in
#: CommonMark, a run of backticks opens it and a run of as many closes it (````pandas````,
#: ````a `b` c````).
_CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)([^\n]+?)(?<!`)\1(?!`)")
#: A code span's text without the one space it has at each end (CommonMark drops them).
_ONE_SPACE_EACH_SIDE = re.compile(r" (.*) \Z", re.S)
#: A backslash escape: the ASCII punctuation mark after it is itself, never markup ("CHANGELOG\\_V010.md").
_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")
#: Where a code span (or an escaped mark) waits while the rules run (NUL: normalization drops it from the text anyway).
_CODE_MARK = re.compile("\x00(\\d+)\x00")


#: A link reference definition, ``[label]: url "title"`` (not a footnote's ``[^1]: text``).
_LINK_DEFINITION = re.compile(r"^\s{0,3}\[(?!\^)((?:[^\]\\]|\\.)+)\]:[ \t]*\S", re.M)
#: An image or link that may use a reference: ``![alt][label]``, ``[text][label]``,
#: ``[text][]`` or ``[text]`` (text without brackets: the innermost first; not the
#: ``[label]`` part of a reference).
_REFERENCE = re.compile(r"(?<!\])(!?)\[([^\[\]]*)\](?:\[([^\[\]]*)\]|(?![(:]))")
_FOOTNOTE_DEFINITION = re.compile(r"^\s{0,3}\[\^[^\]\s]+\]:")

_FENCE = re.compile(r"^\s*(`{3,}(?=[^`]*$)|~{3,})")  # ```x``` on one line is inline code
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)+\|?\s*$|^\s*\|\s*:?-+:?\s*\|\s*$")
_TABLE_CELL_BAR = re.compile(r"(?<!\\)\|")


def _markdown_blocks(text: str) -> str:
    """``text`` without code blocks, and with table rows as their cells' text.

    Code is not prose: a ``# comment`` in it would otherwise read as a heading and
    a ``print("...")`` as a sentence. Fenced blocks (``` or ~~~) go whole; an
    unclosed fence drops only its own line, so one stray fence cannot eat the
    rest of an article. Indented blocks (4 spaces or a tab after a blank line)
    go too, except inside a list, where indentation continues a list item.
    Table rows become their cells separated by spaces (as HTML tables read) and
    the ``|---|---|`` rule under the header goes. The lines of a paragraph, list item
    or quote become one line (CommonMark's soft line breaks; see
    :mod:`dsgen.line_breaks`), except after a hard break (two spaces or ``\\``); a
    setext underline (``===`` or ``---`` under a line) goes, leaving the heading.
    """
    lines = text.split("\n")
    out: list[str] = []
    i, in_list, prev_blank = 0, False, True
    joinable = False  # out[-1] is a paragraph line that the next line may continue
    while i < len(lines):
        line = lines[i]
        fence = _FENCE.match(line)
        if fence:
            mark = fence.group(1)
            close = next((j for j in range(i + 1, len(lines))
                          if re.match(rf"^\s*{mark[0]}{{{len(mark)},}}\s*$", lines[j])), None)
            i = i + 1 if close is None else close + 1
            joinable = False
            continue
        if not line.strip():
            out.append(line)
            prev_blank = True
            joinable = False
            i += 1
            continue
        indent = len(line.expandtabs(4)) - len(line.expandtabs(4).lstrip())
        if _LIST_ITEM.match(line):
            in_list = True
        elif indent >= 4 and prev_blank and not in_list:
            while i < len(lines) and (not lines[i].strip() or lines[i].expandtabs(4).startswith("    ")):
                i += 1  # the indented block, with the blank lines inside it
            out.append("")
            joinable = False
            continue
        elif indent == 0 and prev_blank:
            in_list = False
        if i + 1 < len(lines) and "|" in line and _TABLE_RULE.match(lines[i + 1]):
            while i < len(lines) and "|" in lines[i]:
                if not _TABLE_RULE.match(lines[i]):
                    cells = [c.strip().replace("\\|", "|") for c in _TABLE_CELL_BAR.split(lines[i].strip().strip("|"))]
                    out.append(" ".join(c for c in cells if c))
                i += 1
            prev_blank = joinable = False
            continue
        prev_blank = False
        i += 1
        if not joinable and _LINK_DEFINITION.match(line):  # (one cannot interrupt a paragraph)
            continue  # a link's address, used by the references to it
        if joinable and _SETEXT_UNDERLINE.match(line):  # the line above is a heading
            joinable = False
            continue
        if joinable and _continues_paragraph(out[-1], line):
            if _QUOTE.match(line):
                line = _QUOTE.sub("", line, count=1)
            out[-1] = join_lines(out[-1], line)
        else:
            out.append(line)
        joinable = not (_ATX_HEADING.match(line) or _THEMATIC_BREAK.match(line) or _HARD_BREAK.search(line))
    return "\n".join(out)


_ATX_HEADING = re.compile(r"^\s{0,3}#{1,6}(?:\s|$)")
_THEMATIC_BREAK = re.compile(r"^\s{0,3}(?:-{3,}|\*{3,}|_{3,})\s*$")
_SETEXT_UNDERLINE = re.compile(r"^\s{0,3}(?:=+|-+)\s*$")
_HARD_BREAK = re.compile(r"(?:  |\\)\r?$")
_QUOTE = re.compile(r"^\s{0,3}>\s?")


def _continues_paragraph(previous: str, line: str) -> bool:
    """Whether ``line`` continues the paragraph (or list item, or quote) of ``previous``
    rather than starting a block: a list item, heading, rule or footnote starts one, and
    so does a quote after a line that is not one."""
    if _LIST_ITEM.match(line) or _ATX_HEADING.match(line) or _THEMATIC_BREAK.match(line) or _FOOTNOTE_DEFINITION.match(line):
        return False
    return not _QUOTE.match(line) or bool(_QUOTE.match(previous))


_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)


def read_markdown(text: str) -> tuple[str | None, str]:
    """Markdown to plain text; the title is front matter's ``title`` or the first ``# heading``."""
    title = None
    front = _FRONT_MATTER.match(text)
    if front:
        text = text[front.end():]
        try:
            meta = yaml.safe_load(front.group(1))
        except yaml.YAMLError:
            meta = None
        if isinstance(meta, dict) and isinstance(meta.get("title"), str) and meta["title"].strip():
            title = meta["title"].strip()
    text = _HTML_COMMENT.sub("", text)
    labels = {_link_label(m.group(1)) for m in _LINK_DEFINITION.finditer(text)}
    text = _markdown_blocks(text)
    m = re.search(r"^\s{0,3}#\s+(.+?)\s*#*\s*$", text, re.M)
    if title is None and m:
        title = " ".join(_markdown_inline(m.group(1), labels).split()) or None
    text = _markdown_inline(text, labels)
    if title and not text.lstrip().startswith(title):
        text = title + "\n" + text
    return title, text


def _link_label(label: str) -> str:
    """A link label as CommonMark matches it: case-folded, whitespace collapsed."""
    return " ".join(label.split()).casefold()


def _markdown_inline(text: str, labels: set[str]) -> str:
    """``text`` without inline markup: code spans kept as written, escaped punctuation as
    itself, images gone, links (inline, or references to one of ``labels``) as their text."""
    code: list[str] = []

    def set_aside(span: re.Match) -> str:
        code.append(span.group(span.lastindex))  # a code span's text, or an escaped mark
        return f"\x00{len(code) - 1}\x00"

    def set_aside_code(span: re.Match) -> str:
        inner = span.group(2)
        if len(inner) > 2 and inner[0] == inner[-1] == " " and inner.strip():
            return set_aside(_ONE_SPACE_EACH_SIDE.match(inner))  # "`` `x` ``" is "`x`"
        return set_aside(span)

    def reference(m: re.Match) -> str:
        bang, inner, label = m.groups()
        written = _CODE_MARK.sub(lambda mark: f"`{code[int(mark.group(1))]}`", label or inner)  # "[`f()`][]"
        if _link_label(written) not in labels:
            return m.group()  # brackets, not a link: "a[0][1]", "[sic]"
        return "" if bang else inner

    text = _CODE_SPAN.sub(set_aside_code, text.replace("\x00", ""))
    text = _ESCAPED.sub(set_aside, text)  # after code spans, where a backslash is itself
    if labels:  # twice: a badge is an image inside a link, "[![alt][img]][link]"
        text = _REFERENCE.sub(reference, _REFERENCE.sub(reference, text))
    for pattern, repl in _MD_RULES:
        text = pattern.sub(repl, text)
    return _CODE_MARK.sub(lambda mark: code[int(mark.group(1))], text)


#: JSON's names for the types ``json.loads`` gives.
_JSON_TYPES = {dict: "an object", list: "an array", str: "a string", int: "a number", float: "a number",
               bool: "true or false", type(None): "null"}
#: Field names shown at most when a record has no ``text`` field.
_FIELDS_SHOWN = 8


def _what_it_holds(obj: Any) -> str:
    """What a JSONL record without a string ``text`` field is, for its skip's detail: the
    user sees at once which field holds their articles (`got fields "title", "body"`)."""
    if not isinstance(obj, dict):
        return f"got {_JSON_TYPES[type(obj)]}"
    if "text" in obj:
        return f'got "text" as {_JSON_TYPES[type(obj["text"])]}'
    if not obj:
        return "got an empty object"
    names = ", ".join(json.dumps(k, ensure_ascii=False)[:60] for k in list(obj)[:_FIELDS_SHOWN])
    return f"got fields {names}" + (f" and {len(obj) - _FIELDS_SHOWN} more" if len(obj) > _FIELDS_SHOWN else "")


def read_jsonl(text: str, source: str) -> list[RawArticle | BadRecord]:
    """One article per line: objects with ``text`` and optional ``title``.

    A malformed line is a :class:`BadRecord` (recorded, the other lines kept).
    Lines end only at ``\\n``: JSON strings may hold raw U+2028 and similar
    characters that :meth:`str.splitlines` would wrongly split on.
    """
    out: list[RawArticle | BadRecord] = []
    for n, line in enumerate(text.split("\n"), start=1):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        where = f"{source}#L{n}"
        try:
            obj = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as exc:
            msg = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
            out.append(BadRecord(where, "invalid_json", f"line {n}: {msg}"))
            continue
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
            out.append(BadRecord(where, "missing_text",
                                 f'line {n}: expected an object with a string "text" field, {_what_it_holds(obj)}'))
            continue
        title = obj.get("title")
        out.append(RawArticle(unwrap_plain(obj["text"]), title if isinstance(title, str) else None, where))
    return out


def read_articles(data: bytes, suffix: str, source: str, encoding: str | None = None) -> list[RawArticle | BadRecord]:
    """Articles (and unusable records) in one file's bytes, by file suffix
    (``encoding``: see :func:`decode`).

    Raises:
        InputRejected: the file as a whole cannot be read.
    """
    text, _ = decode(data, encoding)
    if suffix == ".jsonl":
        return read_jsonl(text, source)
    if suffix in (".html", ".htm"):
        title, body = read_html(text)
    elif suffix in (".md", ".markdown"):
        title, body = read_markdown(text)
    else:
        title, body = None, unwrap_plain(text)
    return [RawArticle(body, title, source)]
