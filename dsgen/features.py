"""Explicit ``datasets.Features`` for every config (the published schema)."""

from __future__ import annotations

from datasets import ClassLabel, Features, List, Value

from dsgen.types import LABELS

_MESSAGES = List({"role": Value("string"), "content": Value("string")})
_EVIDENCE = List({"start": Value("int32"), "end": Value("int32")})
_PROVENANCE = {
    "pass": Value("string"),
    "method": Value("string"),
    "generator": Value("string"),
    "messages": _MESSAGES,
}

FEATURES: dict[str, Features] = {
    "documents": Features({
        "id": Value("string"), "doc_id": Value("string"), "title": Value("string"),
        "text": Value("string"), "source": Value("string"), "sha256": Value("string"),
        **_PROVENANCE,
    }),
    "qa": Features({
        "id": Value("string"), "doc_id": Value("string"),
        "context": Value("string"), "context_start": Value("int32"), "question": Value("string"),
        "answers": {"text": List(Value("string")), "answer_start": List(Value("int32"))},
        "evidence": _EVIDENCE,
        **_PROVENANCE,
    }),
    "summarization": Features({
        "id": Value("string"), "doc_id": Value("string"),
        "document": Value("string"), "summary": Value("string"),
        "evidence": _EVIDENCE,
        **_PROVENANCE,
    }),
    "fact_check": Features({
        "id": Value("string"), "doc_id": Value("string"),
        "claim": Value("string"), "label": ClassLabel(names=list(LABELS)),
        "context": Value("string"), "context_start": Value("int32"),
        "evidence": _EVIDENCE,
        "change": {"kind": Value("string"), "original": Value("string"), "replacement": Value("string")},
        **_PROVENANCE,
    }),
}

#: Configs in publication order; ``qa`` is the card's default config.
CONFIG_NAMES = ("documents", "qa", "summarization", "fact_check")
DEFAULT_CONFIG = "qa"
SPLITS = ("train", "test")
