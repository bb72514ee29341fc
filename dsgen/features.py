"""The published schema: every config's columns, as explicit ``datasets.Features``.

The column types are written once, in :data:`COLUMNS`, in a plain form that needs no
import (validation and worker processes use it directly); :data:`FEATURES`, the
``datasets.Features`` built from it, is made on first use, since importing
``datasets`` takes about a second.
"""

from __future__ import annotations

from typing import Any

from dsgen.types import LABELS

#: A column type: ``"string"``, ``"int32"``, ``"label"`` (a ClassLabel over LABELS),
#: ``["list", TYPE]`` or ``{field: TYPE}`` (a struct).
_MESSAGES = ["list", {"role": "string", "content": "string"}]
_EVIDENCE = ["list", {"start": "int32", "end": "int32"}]
_PROVENANCE = {"pass": "string", "method": "string", "generator": "string", "messages": _MESSAGES}

COLUMNS: dict[str, dict[str, Any]] = {
    "documents": {
        "id": "string", "doc_id": "string", "title": "string",
        "text": "string", "source": "string", "sha256": "string",
        **_PROVENANCE,
    },
    "qa": {
        "id": "string", "doc_id": "string",
        "context": "string", "context_start": "int32", "question": "string",
        "answers": {"text": ["list", "string"], "answer_start": ["list", "int32"]},
        "evidence": _EVIDENCE,
        **_PROVENANCE,
    },
    "summarization": {
        "id": "string", "doc_id": "string",
        "document": "string", "summary": "string",
        "evidence": _EVIDENCE,
        **_PROVENANCE,
    },
    "fact_check": {
        "id": "string", "doc_id": "string",
        "claim": "string", "label": "label",
        "context": "string", "context_start": "int32",
        "evidence": _EVIDENCE,
        "change": {"kind": "string", "original": "string", "replacement": "string"},
        **_PROVENANCE,
    },
}

#: Configs in publication order; ``qa`` is the card's default config.
CONFIG_NAMES = ("documents", "qa", "summarization", "fact_check")
DEFAULT_CONFIG = "qa"
SPLITS = ("train", "test")


def _feature(kind: Any):
    from datasets import ClassLabel, List, Value

    if kind == "label":
        return ClassLabel(names=list(LABELS))
    if isinstance(kind, dict):
        return {name: _feature(k) for name, k in kind.items()}
    if isinstance(kind, list):
        return List(_feature(kind[1]))
    return Value(kind)


_features: dict | None = None


def __getattr__(name: str):
    """``FEATURES``: ``{config: datasets.Features}``, built from COLUMNS on first use."""
    global _features
    if name == "FEATURES":
        if _features is None:
            from datasets import Features

            _features = {config: Features({c: _feature(k) for c, k in columns.items()})
                         for config, columns in COLUMNS.items()}
        return _features
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def features_difference(got, want) -> str | None:
    """How ``datasets.Features`` ``got`` first differs from ``want``, in a phrase naming the
    column, or ``None`` when they are the same: same columns in the same order, each with the
    same type (struct fields in the same order too, class label names included), so that
    casting a table of ``want`` to ``got`` changes nothing."""
    from datasets.features.features import get_nested_type

    missing = [c for c in want if c not in got]
    if missing:
        return f"no column {missing[0]!r}"
    extra = [c for c in got if c not in want]
    if extra:
        return f"a column {extra[0]!r} the data does not have"
    for column, feature in want.items():
        if got[column] != feature or get_nested_type(got[column]) != get_nested_type(feature):
            return f"{column!r} is {got[column]!r}, not {feature!r}"
    moved = next((g, w) for g, w in zip(got, want) if g != w) if list(got) != list(want) else None
    if moved:
        return f"columns in another order ({moved[0]!r} where the data has {moved[1]!r})"
    return None
