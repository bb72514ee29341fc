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
            searches.append(re.compile(source, p.flags).search)
        else:
            by_method[method].append(source)
    flags = patterns[0].flags if patterns else 0
    tests = [_combined(sources, flags, method) for method, sources in by_method.items() if sources]
    return lambda line: any(search(line) for search in searches) or any(test(line) for test in tests)


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
            return lambda line: combined(line) is not None
    compiled = [getattr(re.compile(s, flags), method) for s in sources]
    return lambda line: any(test(line) for test in compiled)


def overlaps(span: Span, blocked: list[Span]) -> bool:
    """True when ``span`` shares at least one character with a blocked span."""
    return any(span.start < b.end and b.start < span.end for b in blocked)
