"""Web boilerplate detection: which lines of an article are not article content.

Rules live in ``templates/boilerplate.yaml`` so users can adapt them to their
sources without code. The same rules run at build time and in ``dsgen validate``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from dsgen.errors import TemplateError
from dsgen.text import lines
from dsgen.types import Span


@dataclass(frozen=True)
class BoilerplateRules:
    """Compiled ``line`` and ``tail`` patterns."""

    line: tuple[re.Pattern, ...]
    tail: tuple[re.Pattern, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "_line_any", _any_of(self.line))
        object.__setattr__(self, "_tail_any", _any_of(self.tail))

    @classmethod
    def load(cls, path: Path) -> "BoilerplateRules":
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except UnicodeDecodeError:
            raise TemplateError(f"cannot read boilerplate rules {path}: not UTF-8 text") from None
        except (OSError, yaml.YAMLError) as exc:
            raise TemplateError(f"cannot read boilerplate rules {path}: {exc}") from None
        if not isinstance(data, dict) or set(data) - {"line", "tail"}:
            raise TemplateError(f"{path}: expected only 'line' and 'tail' lists")

        def compile_all(key: str) -> tuple[re.Pattern, ...]:
            out = []
            for pattern in data.get(key) or []:
                try:
                    out.append(re.compile(pattern, re.IGNORECASE))
                except re.error as exc:
                    raise TemplateError(f"{path}: bad {key} pattern {pattern!r}: {exc}") from None
            return tuple(out)

        return cls(compile_all("line"), compile_all("tail"))

    def spans(self, text: str) -> list[Span]:
        """Spans of ``text`` (normalized) that are boilerplate, in order."""
        out: list[Span] = []
        for line in lines(text):
            stripped = line.text.strip()
            if self._tail_any(stripped):
                out.append(Span(line.span.start, len(text)))
                break
            if self._line_any(stripped):
                out.append(line.span)
        return out


def _any_of(patterns: tuple[re.Pattern, ...]):
    """``line -> any(p.fullmatch(line) for p in patterns)`` for one line (no newline),
    computed faster but with the same answer.

    On a line, ``.*X.*`` means "X somewhere", ``.*X`` "X at the end" and ``X.*`` "X at
    the start", so those become a search for X (each on its own, so the engine can skip
    ahead to X's first letters), a search for X at the end, and a match of X; matches
    and full matches are one alternation each.
    """
    searches: list = []
    by_method: dict[str, list[str]] = {"match": [], "fullmatch": []}
    for p in patterns:
        method, source = _as_anchored(p)
        if method == "search":
            searches.append((_needles(source, p.flags), re.compile(source, p.flags).search))
        else:
            by_method[method].append(source)
    flags = patterns[0].flags if patterns else 0
    tests = [_combined(sources, flags, method) for method, sources in by_method.items() if sources]

    def any_rule(line: str) -> bool:
        # Plain loops: this runs once or twice per line of every article, and generators
        # passed to any() cost more than the tests they run.
        if searches:
            # A search runs only where one of its needles is (each match holds one), judged
            # on the lowercased line; unless the line holds a letter that a case-insensitive
            # pattern matches to an ASCII letter while lowercasing does not make it that letter.
            lower = None if _FOLDS_INTO_ASCII(line) else line.lower()
            for needles, search in searches:
                if needles is not None and lower is not None:
                    for needle in needles:
                        if needle in lower:
                            break
                    else:
                        continue  # no needle: this search cannot match
                if search(line):
                    return True
        for test in tests:
            if test(line):
                return True
        return False

    return any_rule


#: The letters outside ASCII that ``re.IGNORECASE`` matches to ASCII ones (İ ı ſ K).
_FOLDS_INTO_ASCII = re.compile("[\u0130\u0131\u017f\u212a]").search


def _needles(source: str, flags: int) -> tuple[str, ...] | None:
    """Lowercase ASCII strings (3+ characters) one of which every match of ``source``
    holds, whatever its case; ``None`` if none are found.

    From the pattern's top level: the longest run of literal characters, or a group of
    alternatives that each start with literal characters.
    """
    try:
        from re import _constants as c, _parser  # the stdlib's own parse (see _as_anchored)

        items = list(_parser.parse(source, flags).data)
    except Exception:  # noqa: BLE001 - a private API: when in doubt, no needles
        return None
    found: list[tuple[str, ...]] = []
    run: list[str] = []

    def leading_literals(seq) -> str:
        out = []
        for op, av in seq:
            if op is not c.LITERAL:
                break
            out.append(chr(av))
        return "".join(out)

    for op, av in items + [(None, None)]:
        if op is c.LITERAL:
            run.append(chr(av))
            continue
        if run:
            found.append(("".join(run),))
            run = []
        branch = None
        if op is c.BRANCH:
            branch = av[1]
        elif op is c.SUBPATTERN and not av[1] and not av[2] and len(av[3].data) == 1 and av[3].data[0][0] is c.BRANCH:
            branch = av[3].data[0][1][1]
        if branch:
            found.append(tuple(leading_literals(alt.data) for alt in branch))
    usable = [f for f in found if all(len(n) >= 3 and n.isascii() for n in f)]
    if not usable:
        return None
    best = max(usable, key=lambda f: (min(map(len, f)), -len(f)))
    return tuple(n.lower() for n in best)


def _as_anchored(p: re.Pattern) -> tuple[str, str]:
    """``(method, source)`` with ``re.<method>(source, line)`` equal to ``p.fullmatch(line)``
    on a line without newlines (see :func:`_any_of`)."""
    s = p.pattern
    if p.flags & re.DOTALL:
        return "fullmatch", s
    try:
        from re import _parser  # the stdlib's own parse: the only safe way to see the structure

        def plain(x):
            if isinstance(x, _parser.SubPattern):
                return [plain(i) for i in x.data]
            return type(x)(plain(i) for i in x) if isinstance(x, (list, tuple)) else x

        def parse(source: str) -> list:
            return plain(_parser.parse(source, p.flags))

        items = parse(s)
        dot_star = parse(".*")[0]
        lead = s.startswith(".*") and len(items) > 1 and items[0] == dot_star
        trail = s.endswith(".*") and len(items) > 1 + lead and items[-1] == dot_star
        body = s[2 if lead else 0 : -2 if trail else None]
        if not (lead or trail) or not body or parse(body) != items[int(lead) : len(items) - int(trail)]:
            return "fullmatch", s
    except Exception:  # noqa: BLE001 - a private API: when in doubt, match as written
        return "fullmatch", s
    if lead and trail:
        return "search", body
    if lead:
        return "search", f"(?:{body})\\Z"
    return "match", body


def _combined(sources: list[str], flags: int, method: str):
    safe = not any(re.search(r"\\\d|\(\?P=|\(\?[aiLmsux]+\)", s) for s in sources)
    if safe:
        try:
            combined = getattr(re.compile("|".join(f"(?:{s})" for s in sources), flags), method)
        except re.error:
            pass
        else:
            return combined  # a match object or None: truthy exactly when one matches
    compiled = [getattr(re.compile(s, flags), method) for s in sources]
    return lambda line: any(test(line) for test in compiled)


def overlaps(span: Span, blocked: list[Span]) -> bool:
    """True when ``span`` shares at least one character with a blocked span."""
    return any(span.start < b.end and b.start < span.end for b in blocked)
