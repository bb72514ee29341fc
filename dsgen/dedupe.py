"""Exact and near-duplicate removal across the whole build (both splits).

Near-duplicates: Jaccard similarity of word-trigram sets >= ``NEAR_DUP_JACCARD``
(word sets for texts under three words), found through an inverted index so the
cost stays close to linear. The first occurrence (in build order) is kept.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any, Mapping

NEAR_DUP_JACCARD = 0.8
_BUCKET_CAP = 200  # shingles shared by more rows than this are too common to index


def dedupe_key(config: str, row: Mapping[str, Any]) -> str:
    """The text whose duplication makes two rows the same example."""
    if config == "qa":
        return f"{row['question']} || {' | '.join(row['answers']['text'])}"
    if config == "summarization":
        return row["summary"]
    if config == "fact_check":
        return row["claim"]
    if config == "documents":
        return row["text"]
    raise ValueError(config)


def _normalize(text: str) -> list[str]:
    return re.findall(r"\w+", text.casefold())


def _shingles(tokens: list[str]) -> frozenset:
    if len(tokens) < 3:
        return frozenset(tokens)
    return frozenset(zip(tokens, tokens[1:], tokens[2:]))


class Deduper:
    """Remembers what it has seen; ``check`` says whether a row repeats one."""

    def __init__(self, threshold: float = NEAR_DUP_JACCARD) -> None:
        self.threshold = threshold
        self._exact: dict[str, str] = {}
        self._sets: list[tuple[frozenset, str]] = []
        self._index: dict[object, list[int]] = defaultdict(list)

    def check(self, key: str, row_id: str) -> tuple[str, str] | None:
        """``None`` for a new row (and remember it), else ``(reason, id of the earlier row)``."""
        tokens = _normalize(key)
        exact = " ".join(tokens)
        if exact in self._exact:
            return "duplicate", self._exact[exact]
        sh = _shingles(tokens)
        counts: dict[int, int] = defaultdict(int)
        for s in sh:
            bucket = self._index.get(s, ())
            if len(bucket) <= _BUCKET_CAP:
                for i in bucket:
                    counts[i] += 1
        for i, shared in sorted(counts.items()):
            other, other_id = self._sets[i]
            union = len(sh) + len(other) - shared
            if union and shared / union >= self.threshold:
                return "near_duplicate", other_id
        self._exact[exact] = row_id
        idx = len(self._sets)
        self._sets.append((sh, row_id))
        for s in sh:
            self._index[s].append(idx)
        return None
