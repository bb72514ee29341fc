"""Text helpers: normalization, paragraphs, sentences with exact offsets.

Every offset dsgen publishes indexes the *normalized* text produced by
:func:`normalize_text`, so normalization must be deterministic and idempotent.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterator

from dsgen.sentences import split_line
from dsgen.types import Span

#: Invisible characters: zero-width spaces and joiners, soft hyphen, BOM, and the
#: bidirectional controls that can make text display differently from what it
#: says ("Trojan Source"); none of them belongs in a span a reader checks.
INVISIBLE = "\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff\u00ad\u180e" \
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_SPACES = re.compile(r"[^\S\n]+")  # any whitespace except newline
#: Whitespace other than the space and the newline (what str.isspace and re's ``\s``
#: match; a test checks the list): a text without it, or doubled spaces, needs no _SPACES.
_ODD_SPACE = re.compile("[\t\x0b\x0c\r\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")
# C0/C1 controls (tab, newline and NEL are whitespace, handled above/below) and lone
# surrogates, which JSON escapes can produce and UTF-8 cannot encode.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff]")
_REMOVED = re.compile(f"[{INVISIBLE}{_CONTROL.pattern[1:-1]}]")  # what normalize_text deletes
_LINE_EDGE = re.compile(" ?\n ?")  # once runs of spaces are single spaces
_MANY_NEWLINES = re.compile(r"\n{3,}")
#: A character normalize_text removes or rewrites in one-line text: invisible and
#: control characters, and whitespace other than the plain space (the odd spaces and the
#: newline). One character class: the regex engine scans it several times faster than
#: an alternation of three.
_CHANGED_BY_NORMALIZE = re.compile(f"[{INVISIBLE}{_CONTROL.pattern[1:-1]}{_ODD_SPACE.pattern[1:-1]}\n]")


def normalize_text(raw: str) -> str:
    """Canonical form of an article: NFC, ``\\n`` line ends, single spaces.

    Zero-width characters and control characters are removed, every run of
    horizontal whitespace becomes one space, lines are stripped, and at most one
    blank line separates paragraphs. Idempotent.
    """
    text = unicodedata.normalize("NFC", raw)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\u2028", "\n").replace("\u2029", "\n")
    # Each step below runs only where a quick search finds something for it to change.
    if _REMOVED.search(text):
        text = _REMOVED.sub("", text)
    if "  " in text or _ODD_SPACE.search(text):
        text = _SPACES.sub(" ", text)
    if " \n" in text or "\n " in text:
        text = _LINE_EDGE.sub("\n", text)  # strip every line (the first and last: below)
    if "\n\n\n" in text:
        text = _MANY_NEWLINES.sub("\n\n", text)
    text = text.strip()
    # NFC after edits can in rare cases recombine marks; repeat until stable.
    again = unicodedata.normalize("NFC", text)
    return text if again == text else normalize_text(again)


def is_normalized(text: str) -> bool:
    """``normalize_text(text) == text``, answered without normalizing for one-line text
    that has nothing normalization would change (no doubled, odd or edge whitespace, no
    invisible or control characters, already NFC)."""
    if "  " not in text and text == text.strip() and "\n" not in text:
        if text.isascii():
            if text.isprintable():
                return True  # NFC, invisible and control characters, and spacing are all no-ops here
        elif unicodedata.is_normalized("NFC", text) and not _CHANGED_BY_NORMALIZE.search(text):
            return True
    return normalize_text(text) == text


def contains_word(text: str, part: str) -> bool:
    """``part`` occurs in ``text`` with no word character right before or after it
    (what ``re.search(r"(?<!\w)" + re.escape(part) + r"(?!\w)", text)`` finds)."""
    i = text.find(part)
    while i != -1:
        j = i + len(part)
        if (i == 0 or not _is_word_char(text[i - 1])) and (j >= len(text) or not _is_word_char(text[j])):
            return True
        i = text.find(part, i + 1)
    return False


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


@dataclass(frozen=True)
class Line:
    """A non-empty line (a paragraph, heading or list item) of normalized text."""

    span: Span
    text: str
    index: int


@dataclass(frozen=True)
class Sentence:
    """A sentence with its exact span and the line it belongs to."""

    span: Span
    text: str
    line: int


def lines(text: str) -> list[Line]:
    """Non-empty lines with offsets."""
    return list(_lines(text))


@lru_cache(maxsize=8)
def _lines(text: str) -> tuple[Line, ...]:
    # Cached: boilerplate rules, titles, sentences and passages all ask for the same document.
    out: list[Line] = []
    pos = 0
    for raw in text.split("\n"):
        if raw.strip():
            out.append(Line(Span(pos, pos + len(raw)), raw, len(out)))
        pos += len(raw) + 1
    return tuple(out)


def sentences(text: str) -> list[Sentence]:
    """Sentences of every line (rules in :mod:`dsgen.sentences`); spans index ``text``.

    Lines are split first because articles put one paragraph (or heading) per
    line, and a heading must never glue onto the next sentence. The last few
    results are cached: validation asks again for the same document.
    """
    return list(_sentences(text))


@lru_cache(maxsize=4)
def _sentences(text: str) -> tuple[Sentence, ...]:
    out: list[Sentence] = []
    for line in _lines(text):
        base = line.span.start
        for start, end in split_line(line.text):
            out.append(Sentence(Span(base + start, base + end), line.text[start:end], line.index))
    return tuple(out)


_CLOSING = "\"'”’)]"


def ends_like_sentence(text: str) -> bool:
    """Ends in ``.``, ``!`` or ``?``, maybe followed by closing quotes or brackets (and
    maybe one newline: what ``re.search(r"[.!?][\"'”’)\]]*$", text)`` finds, without a
    regex trying every position of the text)."""
    if text.endswith("\n"):
        text = text[:-1]
    return text.rstrip(_CLOSING)[-1:] in (".", "!", "?")


#: What may follow a claim's final mark: closing quotes and brackets.
_AFTER_MARK = "\"')”’»"


def asks_question(text: str) -> bool:
    """Ends in ``?``, maybe followed by closing quotes or brackets (``... node-set?)``):
    what a fact-check claim must not be (validation rejects it, so passes skip it too)."""
    return text.rstrip().rstrip(_AFTER_MARK).endswith("?")


#: Openings that point back at the sentence before ("However, ...", "In both cases, ...").
_CONNECTIVE = re.compile(
    r"(?:However|But|Yet|Still|Also|And|So|Then|Thus|Hence|Therefore|Consequently|Moreover|Furthermore"
    r"|Additionally|Besides|Meanwhile|Nevertheless|Nonetheless|Instead|Otherwise|Similarly|Likewise"
    r"|In addition|As a result|In contrast|By contrast|On the other hand|Even so|That said|After all"
    r"|In both cases|In either case|In that case|In this case|In turn)\b"
)
#: Openings with a pronoun or a demonstrative ("It is ...", "This means ...", "They ..."):
#: what the sentence is about is named in another one.
_PRONOUN_OPENING = re.compile(r"(?:It|Its|This|That|These|Those|They|Their|He|His|She|Her|We|Our|Such|Both)\b")


def opens_with_connective(sentence: str) -> bool:
    """Whether ``sentence`` starts with a connective that refers to what came before."""
    return _CONNECTIVE.match(sentence) is not None


def stands_alone(sentence: str) -> bool:
    """Whether ``sentence`` says what it is about itself: it opens with neither a
    connective nor a pronoun ("It is therefore a good idea ...", "This means that ...").
    A fact-check claim should (FEVER's claims do): read alone, a claim about "it" is
    about nothing in particular."""
    return not opens_with_connective(sentence) and _PRONOUN_OPENING.match(sentence) is None


_WORD = re.compile(r"\w+(?:[’'\-]\w+)*")


def words(text: str) -> list[str]:
    """Word tokens (letters/digits, keeping inner apostrophes and hyphens)."""
    return _WORD.findall(text)


def iter_words(text: str) -> Iterator[str]:
    """:func:`words`, one at a time (for a caller that may stop at the first)."""
    return (m.group() for m in _WORD.finditer(text))


@lru_cache(maxsize=8)
def _first_words(n: int) -> re.Pattern:
    # The words of findall, read from the start: skip non-word characters, take a word
    # the way _WORD's first try does (greedy, never given back), n times. A lookahead and
    # a backreference keep the word whole, as an atomic group would: Python 3.11.0 to
    # 3.11.4 match some atomic groups and possessive quantifiers wrongly.
    return re.compile(rf"(?:\W*(?=({_WORD.pattern}))\1){{{n}}}")


def has_words(text: str, n: int) -> bool:
    """``len(words(text)) >= n``, reading only the first ``n`` words and building none."""
    return n <= 0 or _first_words(n).match(text) is not None


def is_prose(sentence_text: str, min_words: int = 6) -> bool:
    """A complete declarative-looking sentence: ends in punctuation, long enough."""
    s = sentence_text.strip()
    if not s or not ends_like_sentence(s) or s.endswith("?"):
        return False
    if s[0] in "•·-–—*>|#":
        return False
    first = s.lstrip("\"'“‘(")[:1]
    if not (first.isupper() or first.isdigit()):
        return False
    return has_words(s, min_words)

