"""File formats dsgen reads: plain text, Markdown, HTML and JSONL.

Each reader turns bytes into ``(title_hint, text)`` pairs; normalization and
ids happen in :mod:`dsgen.corpus`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from dsgen.errors import CorpusError

TEXT_SUFFIXES = {".txt", ".text", ".md", ".markdown", ".html", ".htm", ".jsonl"}


@dataclass(frozen=True)
class RawArticle:
    """One article as read from a file, before normalization."""

    text: str
    title: str | None
    source: str  # path relative to the seeds folder, plus "#L<n>" for JSONL lines


def decode(data: bytes) -> tuple[str, str]:
    """Decode bytes to text, returning ``(text, encoding)``.

    UTF-8 (with or without BOM) first; otherwise charset detection. Raises
    ``CorpusError`` for binary data or an undetectable encoding.
    """
    if b"\x00" in data[:8192]:
        raise CorpusError("binary file (contains NUL bytes)")
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise CorpusError("cannot detect the text encoding")
    return str(best), best.encoding


_BLOCK_TAGS = ("p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "section",
               "article", "header", "footer", "blockquote", "pre", "table", "ul", "ol")


def read_html(text: str) -> tuple[str | None, str]:
    """Visible text of an HTML page, one block per line; title from <title> or <h1>."""
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
    for tag in soup.find_all(_BLOCK_TAGS):
        tag.insert_before("\n")
        tag.insert_after("\n")
    body = soup.get_text()
    if title and not body.lstrip().startswith(title):
        body = title + "\n" + body
    return title, body


_MD_RULES = [
    (re.compile(r"^```.*$", re.M), ""),
    (re.compile(r"!\[[^\]]*\]\([^)]*\)"), ""),  # images
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),  # links -> their text
    (re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$", re.M), r"\1"),  # headings
    (re.compile(r"^\s{0,3}>\s?", re.M), ""),  # block quotes
    (re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+", re.M), "• "),  # list items
    (re.compile(r"(\*\*|__)(.+?)\1"), r"\2"),
    (re.compile(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?!\w)"), r"\1"),
    (re.compile(r"`([^`]+)`"), r"\1"),
    (re.compile(r"^\s*(?:-{3,}|\*{3,}|_{3,})\s*$", re.M), ""),  # rules
    (re.compile(r"<[^>\n]+>"), ""),  # inline HTML
]


def read_markdown(text: str) -> tuple[str | None, str]:
    """Markdown to plain text; the first ``# heading`` is the title."""
    m = re.search(r"^\s{0,3}#\s+(.+?)\s*#*\s*$", text, re.M)
    title = m.group(1).strip() if m else None
    for pattern, repl in _MD_RULES:
        text = pattern.sub(repl, text)
    return title, text


def read_jsonl(text: str, source: str) -> list[RawArticle]:
    """One article per line: objects with ``text`` and optional ``title``."""
    out: list[RawArticle] = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CorpusError(f"line {n}: invalid JSON ({exc.msg})") from None
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
            raise CorpusError(f"line {n}: expected an object with a string 'text' field")
        title = obj.get("title")
        out.append(RawArticle(obj["text"], title if isinstance(title, str) else None, f"{source}#L{n}"))
    return out


def read_articles(data: bytes, suffix: str, source: str) -> list[RawArticle]:
    """Articles in one file's bytes, by file suffix."""
    text, _ = decode(data)
    if suffix == ".jsonl":
        return read_jsonl(text, source)
    if suffix in (".html", ".htm"):
        title, body = read_html(text)
    elif suffix in (".md", ".markdown"):
        title, body = read_markdown(text)
    else:
        title, body = None, text
    return [RawArticle(body, title, source)]
