"""Exact and near-duplicate removal across the whole build (both splits).

Near-duplicates: Jaccard similarity of word-trigram sets >= ``NEAR_DUP_JACCARD``
(word sets for texts under three words). The first occurrence (in build order) is
kept.

The state is compact so that memory grows slowly with the corpus: each kept row
costs an 8-byte digest of its text, its shingles as 4-byte hashes, and an index
entry for only the first few of them. That is prefix filtering: with every set's
hashes sorted, two sets whose Jaccard similarity reaches the threshold must share
one of their first ``n - ceil(threshold * n) + 1`` hashes, so indexing and probing
those finds every near-duplicate exactly (up to 32-bit hash collisions).
:func:`signature` is a pure function of the row, so worker processes can compute it
and only :meth:`Deduper.check_signature` runs in the main process, in build order.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from array import array
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Mapping

NEAR_DUP_JACCARD = 0.8


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


@dataclass(frozen=True)
class Signature:
    """What the deduper needs of a row: a digest of its normalized text and its
    sorted, distinct shingle hashes."""

    exact: int
    shingles: tuple[int, ...]


def signature(key: str) -> Signature:
    """The :class:`Signature` of a dedupe key (see :func:`dedupe_key`)."""
    tokens = _normalize(key)
    exact = " ".join(tokens)
    digest = int.from_bytes(hashlib.blake2b(exact.encode("utf-8"), digest_size=8).digest(), "big")
    grams = tokens if len(tokens) < 3 else [" ".join(g) for g in zip(tokens, tokens[1:], tokens[2:])]
    return Signature(digest, tuple(sorted({zlib.crc32(g.encode("utf-8")) for g in grams})))


class Deduper:
    """Remembers what it has kept; ``check`` says whether a row repeats one."""

    def __init__(self, threshold: float = NEAR_DUP_JACCARD) -> None:
        self.threshold = Fraction(threshold).limit_denominator(1000)
        self._ids: list[str] = []
        self._digests = array("Q")
        self._offsets = array("Q", [0])
        self._pool = array("I")  # every kept row's shingle hashes, back to back
        self._empty: dict[int, int] = {}  # digest -> row, for texts without words
        self._index: dict[int, int | list[int]] = {}  # prefix hash -> row(s)

    def check(self, key: str, row_id: str) -> tuple[str, str] | None:
        """``None`` for a new row (and remember it), else ``(reason, id of the earlier row)``."""
        return self.check_signature(signature(key), row_id)

    def _prefix(self, n: int) -> int:
        t = self.threshold
        return n - -(-t.numerator * n // t.denominator) + 1  # n - ceil(t * n) + 1

    def check_signature(self, sig: Signature, row_id: str) -> tuple[str, str] | None:
        """Like :meth:`check`, for a precomputed :func:`signature`."""
        sh = sig.shingles
        n = len(sh)
        if not n:
            if sig.exact in self._empty:
                return "duplicate", self._ids[self._empty[sig.exact]]
            self._empty[sig.exact] = self._remember(sig, row_id)
            return None
        prefix = sh[: self._prefix(n)]
        candidates: set[int] = set()
        for h in prefix:
            found = self._index.get(h)
            if found is not None:
                candidates.update(found) if isinstance(found, list) else candidates.add(found)
        near = None
        t = self.threshold
        mine = None
        for i in sorted(candidates):
            if self._digests[i] == sig.exact:
                return "duplicate", self._ids[i]  # only the first of equal texts is kept
            if near is not None:
                continue
            lo, hi = self._offsets[i], self._offsets[i + 1]
            m = hi - lo
            if m * t.denominator < t.numerator * n or n * t.denominator < t.numerator * m:
                continue  # sizes alone rule out the threshold
            if mine is None:
                mine = set(sh)
            shared = len(mine.intersection(self._pool[lo:hi]))
            if shared * t.denominator >= t.numerator * (n + m - shared):
                near = i
        if near is not None:
            return "near_duplicate", self._ids[near]
        i = self._remember(sig, row_id)
        for h in prefix:
            found = self._index.get(h)
            if found is None:
                self._index[h] = i
            elif isinstance(found, list):
                found.append(i)
            else:
                self._index[h] = [found, i]
        return None

    def _remember(self, sig: Signature, row_id: str) -> int:
        self._ids.append(row_id)
        self._digests.append(sig.exact)
        self._pool.extend(sig.shingles)
        self._offsets.append(len(self._pool))
        return len(self._ids) - 1
