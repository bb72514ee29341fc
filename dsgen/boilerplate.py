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
    computed faster but with the same answer:

    * ``.*BODY.*`` patterns (``.*\\ball rights reserved\\b.*``) become a search for BODY,
      which is what they mean on a line, and search skips ahead to BODY's first letters;
    * the rest become one alternation matched once, when that means the same (no
      back-references or inline global flags), else they are tried one by one.
    """
    searched, whole = [], []
    for p in patterns:
        body = _between_dot_stars(p)
        (searched if body is not None else whole).append(body if body is not None else p.pattern)
    tests = []
    if searched:
        tests.append(_combined(searched, patterns[0].flags, "search"))
    if whole:
        tests.append(_combined(whole, patterns[0].flags, "fullmatch"))
    return lambda line: any(test(line) for test in tests)


def _between_dot_stars(p: re.Pattern) -> str | None:
    """BODY when ``p`` is exactly ``.*BODY.*`` (a plain sequence, no DOTALL), else ``None``."""
    s = p.pattern
    if p.flags & re.DOTALL or not (s.startswith(".*") and s.endswith(".*")) or s.endswith("\\.*") or len(s) < 5:
        return None
    try:
        from re import _parser  # the stdlib's own parse: the only safe way to see the structure

        def plain(x):
            if isinstance(x, _parser.SubPattern):
                return [plain(i) for i in x.data]
            return type(x)(plain(i) for i in x) if isinstance(x, (list, tuple)) else x

        items = plain(_parser.parse(s, p.flags))
        dot_star = plain(_parser.parse(".*", p.flags))[0]
        body = plain(_parser.parse(s[2:-2], p.flags))
    except Exception:  # noqa: BLE001 - a private API: when in doubt, match as written
        return None
    if len(items) < 3 or items[0] != dot_star or items[-1] != dot_star or items[1:-1] != body:
        return None
    return s[2:-2]


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
