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
            if any(p.fullmatch(stripped) for p in self.tail):
                out.append(Span(line.span.start, len(text)))
                break
            if any(p.fullmatch(stripped) for p in self.line):
                out.append(line.span)
        return out


def overlaps(span: Span, blocked: list[Span]) -> bool:
    """True when ``span`` shares at least one character with a blocked span."""
    return any(span.start < b.end and b.start < span.end for b in blocked)
