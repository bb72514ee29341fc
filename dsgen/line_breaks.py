"""Soft line breaks: paragraphs that a file splits over several lines, read back as one.

The sentence splitter ends a sentence at every line break (a line is a heading, a list
item or a paragraph), so a paragraph wrapped at 72 columns, "after a repair that" /
"cost $45 million.", would become fragments: each a bad claim, question or passage.

- Plain text has no markup to say where a paragraph ends, so only a line break that
  wrapping explains is removed (see :func:`unwrap_plain`).
- In Markdown, consecutive lines of a paragraph are one paragraph (CommonMark's soft
  line break); :mod:`dsgen.readers` joins them with :func:`join_lines`.
- In HTML, the reader collapses whitespace in text as browsers do.
"""

from __future__ import annotations

import re

from dsgen.sentences import split_line

#: Widths text is wrapped at (72, 76, 80 columns; some tools wrap at 100 or 120). A
#: block of lines whose longest line is outside this range is not wrapped text.
MIN_WRAP_WIDTH = 50
MAX_WRAP_WIDTH = 120
#: Share of a file's lines that may be longer than :data:`MAX_WRAP_WIDTH` (a long URL, a
#: table row) in wrapped text; more, and the file holds one paragraph per line.
MAX_LONG_LINE_SHARE = 0.1
#: Share of a file's lines (the longest, of at most :data:`MAX_WRAP_WIDTH` characters)
#: left out when taking the wrap width: a line of code, a URL or a table row a little
#: longer than the wrapping would otherwise set the width for the whole file. (Python's
#: pydoc topics wrap at 70 columns with a few lines of 73 to 107 characters: with the
#: longest line as the width, hardly a break counted as wrapping.)
WIDTH_OUTLIER_SHARE = 0.02

#: A line that may end a sentence (:func:`~dsgen.sentences.split_line` decides): its
#: break separates two sentences whether or not it was wrapping, so it stays (and a
#: paragraph ending there keeps its own line).
_MAY_END_SENTENCE = re.compile(r"[.!?…][\"'”’»)\]]*$")
#: A list item's marker and the spaces after it.
_LIST_MARKER = re.compile(r"(?:[-*+•‣◦]|\(?\d{1,2}[.)])\s+")
#: What starts a block of its own, after any indentation: a list item, or a field such as
#: ``License: GPL-3+`` (mail headers, Debian copyright files).
_STARTS_BLOCK = re.compile(rf"{_LIST_MARKER.pattern}|[A-Z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*:(?:\s|$)")
_WORD_HYPHEN = re.compile(r"[^\W\d_]-$")
#: A line with a letter or digit and no tab: a rule (``-----``), a heading underline or
#: a row of tab-separated columns is not part of a paragraph.
_PROSE = re.compile(r"^[^\t]*[^\W_][^\t]*$")


def join_lines(first: str, second: str) -> str:
    """One line of ``first`` and its continuation ``second``: a space between them, or
    none after a word broken at a hyphen ("well-" / "known" gives "well-known")."""
    first, second = first.rstrip(), second.lstrip()
    return first + second if _WORD_HYPHEN.search(first) else f"{first} {second}"


def unwrap_plain(text: str) -> str:
    """``text`` with the line breaks of fixed-width wrapping removed.

    The wrap width is the file's longest line of at most :data:`MAX_WRAP_WIDTH`
    characters, once the longest :data:`WIDTH_OUTLIER_SHARE` of them are left out; at
    least :data:`MIN_WRAP_WIDTH`, or the file is not wrapped. A line break is wrapping
    when the next line's first word would not have fitted on the line. It stays where a
    sentence ends (as :func:`~dsgen.sentences.split_line` judges the two lines joined),
    before a list item, a field or an indented line (unless it is indented as far as the
    text of the line before: the next line of an indented paragraph or of a list item),
    and next to a line that is not prose (a rule such as ``-----``, tab-separated
    columns). A file where more than :data:`MAX_LONG_LINE_SHARE` of the lines are longer
    than the widest wrap holds one paragraph per line, and comes back unchanged, as does
    text with short lines (lists, verse) or no such breaks.
    """
    if "\n" not in text:
        return text
    lines = text.split("\n")
    lengths = [len(line.rstrip()) for line in lines if line.strip()]
    if sum(n > MAX_WRAP_WIDTH for n in lengths) > MAX_LONG_LINE_SHARE * len(lengths):
        return text
    within = sorted(n for n in lengths if n <= MAX_WRAP_WIDTH)
    width = within[-1 - int(WIDTH_OUTLIER_SHARE * len(within))] if within else 0
    if width < MIN_WRAP_WIDTH:
        return text
    out = [lines[0]]
    previous = lines[0].rstrip()  # the last line as the file has it (out[-1] may hold several)
    for line in lines[1:]:
        if previous and line.strip() and _wrapped(previous, line, width):
            out[-1] = join_lines(out[-1], line)
        else:
            out.append(line)
        previous = line.rstrip()
    return "\n".join(out) if len(out) < len(lines) else text


def _text_column(line: str) -> int:
    """Where the text of ``line`` starts: after its indentation and any list marker. The
    next line of its paragraph, or of its list item, is indented as far."""
    text = line.lstrip()
    marker = _LIST_MARKER.match(text)
    return len(line) - len(text) + (marker.end() if marker else 0)


def _wrapped(line: str, next_line: str, width: int) -> bool:
    """Whether the break between ``line`` and ``next_line`` (both with text) is wrapping."""
    text = next_line.lstrip()
    if len(line) + 1 + len(text.split(None, 1)[0]) <= width or _STARTS_BLOCK.match(text):
        return False
    indent = len(next_line) - len(text)
    if indent and indent != _text_column(line):
        return False  # a new block: a paragraph's indented first line, a quote, code
    if not (_PROSE.match(line) and _PROSE.match(next_line)):
        return False
    if _MAY_END_SENTENCE.search(line):
        joined = f"{line} {next_line.strip()}"
        return all(end != len(line) for _, end in split_line(joined))
    return True
