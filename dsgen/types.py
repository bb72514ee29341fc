"""Core value types: documents, spans and candidate examples (all immutable)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

CONFIGS = ("qa", "summarization", "fact_check")
LABELS = ("SUPPORTS", "REFUTES", "NOT ENOUGH INFO")
METHODS = ("template", "model")


@dataclass(frozen=True, order=True)
class Span:
    """A half-open character range ``[start, end)`` into ``Document.text``."""

    start: int
    end: int

    def text(self, doc_text: str) -> str:
        return doc_text[self.start : self.end]

    def contains(self, other: "Span") -> bool:
        return self.start <= other.start and other.end <= self.end

    def as_dict(self) -> dict[str, int]:
        return {"start": self.start, "end": self.end}


@dataclass(frozen=True)
class Document:
    """One source article; ``text`` is the normalized text every span indexes."""

    doc_id: str
    title: str
    text: str
    source: str
    sha256: str


@dataclass(frozen=True)
class Candidate:
    """An example proposed by a pass, before validation decides its fate.

    ``fields`` holds the config's own columns:

    - ``qa``: ``context``, ``context_start``, ``question``,
      ``answers`` (``{"text": [str], "answer_start": [int]}``, relative to context)
    - ``summarization``: ``summary``
    - ``fact_check``: ``claim``, ``label``, ``context``, ``context_start``,
      ``change`` (``{"kind", "original", "replacement"}``; empty strings unless REFUTES)
    """

    config: str
    doc_id: str
    pass_name: str
    method: str
    generator: str
    fields: Mapping[str, Any]
    evidence: tuple[Span, ...]
    raw_output: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Rejection:
    """A candidate that failed validation, with the rule it broke."""

    candidate: Candidate
    reason: str
    detail: str = ""
