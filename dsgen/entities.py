"""Rule-based facts in text: money, percentages, dates, years, numbers, names.

Deterministic and fast (regexes plus the word lists in ``templates/lexicon.yaml``),
so templated passes and validation agree on what a "checkable fact" is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Sequence

import yaml

from dsgen.errors import TemplateError

MONTHS = (
    "January|February|March|April|May|June|July|August|September|October|November|December|"
    "Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec"
)
_SCALE = r"(?:\s?(?:million|billion|trillion|bn|mn|m|k)\b)?"
_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
#: ``_NUM`` after its first digit. Patterns that start at a number start with that digit
#: and look back past it (``\d(?<!\w\d)`` is ``\b\d``): a leading digit lets the regex
#: engine skip ahead to the digits, a leading look-behind tries every position.
_NUM_REST = r"\d{0,2}(?:,\d{3})+(?:\.\d+)?|\d*(?:\.\d+)?"
_PATTERNS: list[tuple[str, re.Pattern]] = [
    ("MONEY", re.compile(rf"(?:US)?[$€£¥]\s?(?:{_NUM}){_SCALE}")),
    ("MONEY", re.compile(rf"\d(?<!\w\d)(?:{_NUM_REST}){_SCALE}\s?(?:yuan|dollars|euros|pounds|RMB|renminbi|USD)\b")),
    ("PERCENT", re.compile(rf"\d(?<!\w\d)(?:{_NUM_REST})\s?(?:%|percent\b|per cent\b)")),
    ("DATE", re.compile(rf"\b(?:{MONTHS})\.? \d{{1,2}}, \d{{4}}\b")),
    ("DATE", re.compile(rf"\b(?:{MONTHS})\.? \d{{4}}\b")),
    ("DATE", re.compile(r"\b\d{1,2}/\d{1,2}/\d{4}\b")),
    ("YEAR", re.compile(r"(?:1[89]|20)(?<![\w$.,/-]..)\d\d(?![\w%/.,-]\d|\w)")),
    ("NUMBER", re.compile(rf"\d(?<![\w$.,/-]\d)(?:{_NUM_REST}){_SCALE}(?![\w%/$-]|,\d|\.\d)")),
]
#: Per pattern above, a test that must pass for it to match at all (a cheap pre-check:
#: most sentences hold no currency sign, percent or month name).
_HAS_MONTH = re.compile(MONTHS).search
_NEEDS = [
    re.compile("[$€£¥]").search,
    re.compile("yuan|dollars|euros|pounds|RMB|renminbi|USD").search,
    re.compile("%|percent|per cent").search,
    _HAS_MONTH,
    _HAS_MONTH,
    re.compile("/").search,
    None,
    None,
]
NUMBER_WORDS = {
    "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "twenty": 20, "hundred": 100,
}


#: What re.IGNORECASE lets an ASCII letter match besides its lower and upper case: dotted
#: and dotless i, long s, the Kelvin sign (a test checks every code point).
_FOLDED_LETTERS = {"i": "İı", "s": "ſ", "k": "\u212a"}


def _any_case(letter: str) -> str:
    """The characters the ASCII ``letter`` matches under re.IGNORECASE."""
    low = letter.lower()
    return low + low.upper() + _FOLDED_LETTERS.get(low, "")


def _whole_words(words: Iterable[str], ignore_case: bool = False) -> str:
    """``\\b(?:w1|w2|...)\\b``, shaped to start with a character class: a leading ``\\b``
    makes the regex engine try every position, a leading class lets it skip to the
    letters the words start with (about twice as fast). The class character is
    checked against each word's first letter by a look-behind, and ``(?<!\\w.)``
    after it is ``\\b`` before it.

    With ``ignore_case`` (ASCII words), each letter is written as the class of what
    re.IGNORECASE would let it match: that flag hides the leading class from the
    engine's skip-ahead (its letters have cases), and the search then tries every
    position (about three times slower)."""
    spell = (lambda s: "".join(f"[{re.escape(_any_case(c))}]" for c in s)) if ignore_case else re.escape
    rests: dict[str, list[str]] = {}
    for w in words:
        rests.setdefault(w[0].lower() if ignore_case else w[0], []).append(spell(w[1:]))
    firsts = {c: re.escape(_any_case(c) if ignore_case else c) for c in rests}
    branches = "|".join(f"(?<=[{firsts[c]}])(?:{'|'.join(r)})" for c, r in rests.items())
    return f"[{''.join(firsts.values())}](?<!\\w.)(?:{branches})\\b"


#: ``\b(?:two|three|...)\b``, case-insensitive (see :func:`_whole_words`).
_NUMBER_WORD = re.compile(_whole_words(NUMBER_WORDS, ignore_case=True))
# A capitalized token: inner periods allowed (U.S, JD.com), possessive 's excluded.
# No possessive quantifiers or atomic groups: Python 3.11.0 to 3.11.4 match some of them
# wrongly (this pattern found other names on Debian 12's Python 3.11.2).
_CAP = r"[A-Z](?:[\w&]|-(?=[A-Z0-9])|[’'](?!s\b)|\.(?=\w))*"
_NAME = re.compile(rf"{_CAP}(?:[ ](?:of|de|&)[ ]{_CAP}|[ ]{_CAP})*")

_CONTRACTION = re.compile(r"[’'](?:d|re|ll|ve|m|t)$")

NUMERIC_KINDS = ("MONEY", "PERCENT", "DATE", "YEAR", "NUMBER")
NAME_KINDS = ("PERSON", "ORG", "PRODUCT", "PLACE", "NAME")


@dataclass(frozen=True)
class Lexicon:
    """Word lists that type capitalized names."""

    person_cues: frozenset[str]
    org_suffixes: frozenset[str]
    orgs: frozenset[str]
    products: frozenset[str]
    places: frozenset[str]
    stopwords: frozenset[str]

    @classmethod
    def load(cls, path: Path) -> "Lexicon":
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise TemplateError(f"cannot read lexicon {path}: {exc}") from None
        except UnicodeDecodeError as exc:
            raise TemplateError(f"{path}: not UTF-8 text (byte {exc.start}); save template files as UTF-8") from None
        fields = cls.__dataclass_fields__
        if not isinstance(data, dict):
            raise TemplateError(f"{path}: expected a mapping of word lists ({', '.join(fields)}), got {data!r}")
        unknown = set(data) - set(fields)
        if unknown:
            raise TemplateError(f"{path}: unknown keys {sorted(unknown)}")
        for key, words in data.items():
            # A bare string would become a set of its letters; a nested list or mapping is a typo.
            if words is not None and (not isinstance(words, list) or any(isinstance(w, (list, dict)) for w in words)):
                raise TemplateError(f"{path}: '{key}' must be a list of words, got {words!r}")
            # YAML reads unquoted yes/no/on/off as booleans: No would become the word "False".
            if words and any(isinstance(w, bool) for w in words):
                raise TemplateError(f"{path}: '{key}' holds true/false, which YAML makes of unquoted "
                                    'yes, no, on and off; quote such words ("No")')
        return cls(**{k: frozenset(str(w) for w in data.get(k) or []) for k in fields})


@dataclass(frozen=True)
class Mention:
    """A typed fact at ``[start, end)`` of the text it was found in."""

    kind: str
    start: int
    end: int
    text: str


def numeric_mentions(text: str) -> list[Mention]:
    """Money, percentages, dates, years and plain numbers; no overlaps."""
    return list(_numeric_mentions(text))


_HAS_DIGIT = re.compile(r"\d")


@lru_cache(maxsize=8192)
def _numeric_mentions(text: str) -> tuple[Mention, ...]:
    # Cached: validation asks again for the sentences the passes analysed.
    # An earlier pattern's mention wins over any later one it overlaps. ``taken`` marks
    # the characters of kept mentions, so the overlap test costs the candidate's length,
    # not the number kept so far (a long sentence of numbers was quadratic). Mentions are
    # never empty, so sharing a character is exactly the interval test ``s < te and ts < e``.
    taken = bytearray(len(text))
    out: list[Mention] = []
    for (kind, pattern), needs in zip(_PATTERNS, _NEEDS) if _HAS_DIGIT.search(text) else ():  # all need a digit
        if needs is not None and not needs(text):
            continue
        for m in pattern.finditer(text):
            s, e = m.start(), m.end()
            if taken.find(1, s, e) != -1:
                continue
            taken[s:e] = b"\x01" * (e - s)
            out.append(Mention(kind, s, e, m.group()))
    for m in _NUMBER_WORD.finditer(text):
        if taken.find(1, m.start(), m.end()) == -1:
            out.append(Mention("NUMBER", m.start(), m.end(), m.group()))
    return tuple(sorted(out, key=lambda m: (m.start, m.end)))


def document_name_mentions(sentence_texts: Sequence[str], lexicon: Lexicon) -> list[list[Mention]]:
    """:func:`name_mentions` of each sentence of one document, with the document's
    :func:`known_names`; each sentence's capitalized runs are found once for both."""
    runs = [list(_NAME.finditer(text)) for text in sentence_texts]
    names = _known_names(zip(sentence_texts, runs), lexicon)
    return [_name_mentions(text, found, lexicon, names) for text, found in zip(sentence_texts, runs)]


def name_mentions(text: str, lexicon: Lexicon, known_names: frozenset[str] = frozenset()) -> list[Mention]:
    """Capitalized names in one sentence, typed PERSON, ORG, PRODUCT, PLACE or NAME.

    A sentence-initial single word counts only if it is in the lexicon or in
    ``known_names`` (names seen mid-sentence elsewhere in the document).
    """
    return _name_mentions(text, _NAME.finditer(text), lexicon, known_names)


def _name_mentions(text: str, runs: Iterable[re.Match], lexicon: Lexicon, known_names: frozenset[str]) -> list[Mention]:
    """:func:`name_mentions` of ``text`` from its capitalized runs (matches of ``_NAME``)."""
    out: list[Mention] = []
    for m in runs:
        s, name = m.start(), m.group()
        # Drop leading function words ("But Alibaba" -> "Alibaba") and dangling joiners.
        # A one-word run (seven in ten) has no joiner, and is dropped below if a stop word.
        if " " in name:
            parts = name.split(" ")
            while parts and parts[0] in lexicon.stopwords and not _is_known(" ".join(parts), lexicon):
                s += len(parts[0]) + 1
                parts = parts[1:]
            while parts and parts[0] in ("of", "de", "&"):
                s += len(parts[0]) + 1
                parts = parts[1:]
            while parts and parts[-1] in ("of", "de", "&"):
                parts = parts[:-1]
            name = " ".join(parts)
        if not name or name in lexicon.stopwords or _CONTRACTION.search(name):
            continue
        if name.isupper() and len(name) <= 3 and not _is_known(name, lexicon):
            continue  # acronyms like "AI", "IPO" are not entities on their own
        if _sentence_initial(text, s) and " " not in name and name not in known_names and not _is_known(name, lexicon):
            continue
        out.append(Mention(_kind(text, s, s + len(name), name, lexicon), s, s + len(name), name))
    return out


def _is_known(name: str, lexicon: Lexicon) -> bool:
    return name in lexicon.orgs or name in lexicon.products or name in lexicon.places


def _sentence_initial(text: str, start: int) -> bool:
    prev = char_before(text, start)
    return not prev or prev in ".!?:\n—–"


def char_before(text: str, start: int, skip: str = " \"'“‘(") -> str:
    """The last character of ``text[:start].rstrip(skip)`` ("" if none), without copying."""
    i = start
    while i > 0 and text[i - 1] in skip:
        i -= 1
    return text[i - 1] if i > 0 else ""


def _kind(text: str, s: int, e: int, name: str, lexicon: Lexicon) -> str:
    parts = name.split()
    if name in lexicon.places:
        return "PLACE"
    if name in lexicon.products or parts[0] in lexicon.products:
        return "PRODUCT"
    if name in lexicon.orgs or parts[-1] in lexicon.org_suffixes or parts[0] in lexicon.orgs:
        return "ORG"
    if parts[0] in lexicon.person_cues and len(parts) >= 2:
        return "PERSON"  # "President Xi Jinping"
    if 2 <= len(parts) <= 3 and all(p[:1].isupper() and p.replace("-", "").isalpha() for p in parts):
        window = text[max(0, s - 40) : s].split()[-3:] + text[e : e + 25].split()[:2]
        if any(w.strip(",.") in lexicon.person_cues for w in window):
            return "PERSON"
    return "NAME"


def known_names(sentence_texts: list[str], lexicon: Lexicon) -> frozenset[str]:
    """Single capitalized words used mid-sentence: evidence they are names."""
    return _known_names(((text, _NAME.finditer(text)) for text in sentence_texts), lexicon)


def _known_names(texts_and_runs: Iterable[tuple[str, Iterable[re.Match]]], lexicon: Lexicon) -> frozenset[str]:
    """:func:`known_names` from each sentence's capitalized runs (matches of ``_NAME``)."""
    names = set()
    for text, runs in texts_and_runs:
        for m in runs:
            if not _sentence_initial(text, m.start()):
                names.update(p for p in m.group().split() if p not in lexicon.stopwords)
    return frozenset(names)


def same_number(kind: str | None, original: str, replacement: str) -> bool:
    """"four" -> "4" or "$3 billion" -> "$3,000 million" states the same fact of a numeric
    ``kind`` (dates excepted: they differ by month too)."""
    if kind not in NUMERIC_KINDS or kind == "DATE":
        return False
    a = numeric_value(original)
    return a is not None and a == numeric_value(replacement)


_SCALED = re.compile(r"\d\s?(?:trillion|billion|million|bn|mn)\b", re.IGNORECASE)
_LEADING_ZERO = re.compile(r"0\d")


def number_form(mention_text: str) -> str:
    """How a NUMBER mention is written: ``"word"`` (two), ``"scaled"`` (4.5 million),
    ``"code"`` (a leading zero: 0660), ``"decimal"`` (3.7) or ``"integer"`` (12, 1,500).

    A swap between two forms reads wrong ("exactly 3.7 objects" for "exactly two",
    "Python four.x" for "Python 3.x", "version 318" for "version 3.9"): a refutation
    must be a claim the source could have made.
    """
    if mention_text.lower() in NUMBER_WORDS:
        return "word"
    if _SCALED.search(mention_text):
        return "scaled"
    if _LEADING_ZERO.match(mention_text):
        return "code"
    return "decimal" if "." in mention_text else "integer"


def numeric_value(mention_text: str) -> float | None:
    """The number a numeric mention states (scale words applied), if any."""
    low = mention_text.lower()
    if low in NUMBER_WORDS:
        return float(NUMBER_WORDS[low])
    m = re.search(r"\d[\d,]*(?:\.\d+)?", mention_text)
    if not m:
        return None
    value = float(m.group().replace(",", ""))
    for word, factor in (("trillion", 1e12), ("billion", 1e9), ("bn", 1e9), ("million", 1e6), ("mn", 1e6)):
        if word in low:
            value *= factor
            break
    return value
