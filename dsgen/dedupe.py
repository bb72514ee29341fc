"""Exact and near-duplicate removal across the whole build (both splits).

Near-duplicates: Jaccard similarity of word-trigram sets >= ``NEAR_DUP_JACCARD``
(word sets for texts under three words). The first occurrence (in build order) is
kept.

Exact duplicates are found across the whole build. Near-duplicates are found by
prefix filtering: with every row's shingle hashes in one global order (content words
first), two rows whose Jaccard similarity reaches the threshold must share one of
their first ``n - ceil(threshold * n) + 1`` hashes, so only those are indexed and
probed. Each indexed hash remembers the ``RECENT_PER_SHINGLE`` most recently kept
rows that have it: near-duplicates of recent rows (the same article, the articles
around it) are all found, while a phrase shared by thousands of rows costs no more
than a rare one, so time stays linear in the corpus. Most rows found that way share
only a phrase or two: a 256-bit map of each row's shingles (see :class:`Signature`),
and before it the same map folded onto 64 bits, rule them out before their shingles
are compared. The state is compact: per kept row an 8-byte digest, its shingles as
4-byte hashes, its 32-byte and 8-byte maps and a few index entries.
A row's :class:`Signature` depends on the row alone, so worker processes work it out
(:class:`SignatureMemo`) and only :meth:`Deduper.check_signature` runs in the main
process, in build order.
"""

from __future__ import annotations

import hashlib
import math
import re
import zlib
from array import array
from fractions import Fraction
from typing import Any, Mapping, NamedTuple

from dsgen.support import STOPWORDS

NEAR_DUP_JACCARD = 0.8
#: Kept rows remembered per indexed shingle: the most recent ones (see module doc).
RECENT_PER_SHINGLE = 4
#: Bits of a row's shingle map (see :class:`Signature`); a power of two.
MAP_BITS = 256
_MAP_BYTES = MAP_BITS // 8
#: Bits of the folded map checked first (see :func:`_folded`): it fits one array item.
_FOLDED_BITS = 64
assert MAP_BITS == 4 * _FOLDED_BITS, "_folded ORs four words"


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


_WORDS = re.compile(r"\w+")
_HEX_ID = re.compile(r"[0-9a-f]{16}")  # what rows.stable_id makes


def _normalize(text: str) -> list[str]:
    return _WORDS.findall(text.casefold())


class Signature(NamedTuple):
    """What the deduper needs of a row: a digest of its normalized text, its distinct
    shingle hashes, in the global order prefixes are taken in, and their map.

    ``shingles`` are the hashes packed as an ``array("I")``'s bytes: worker processes
    send one signature per row, and the main process unpickles one bytes object in a
    fraction of the time of a tuple of ints (a named tuple, not a dataclass, likewise).

    ``bits`` has bit ``h % MAP_BITS`` set for each shingle hash ``h``. Two rows share
    at most ``(x.bits & y.bits).bit_count()`` shingles plus the shingles of ``x`` that
    fall on a bit another of its shingles set: a bound that costs a few integer
    operations, where comparing shingles costs one set lookup per shingle.
    """

    exact: int
    shingles: bytes
    bits: int


class SignatureMemo:
    """The :class:`Signature` of a dedupe key (see :func:`dedupe_key`), remembering what
    it worked out: keys with the same normalized words (exact duplicates: 11% of a
    chunk's rows at 1,000 articles) share one :class:`Signature` object. Their shingles
    are worked out once, and pickled once in a worker's result (pickle sends an object
    it has sent before as a reference). One memo per chunk, so memory stays flat.
    """

    def __init__(self) -> None:
        self._by_digest: dict[int, Signature] = {}

    def __call__(self, key: str) -> Signature:
        tokens = _normalize(key)
        digest = _digest(tokens)
        sig = self._by_digest.get(digest)
        if sig is None:
            sig = self._by_digest[digest] = _signature(tokens, digest)
        return sig


def _digest(tokens: list[str]) -> int:
    """The exact-duplicate digest of normalized words."""
    return int.from_bytes(hashlib.blake2b(" ".join(tokens).encode("utf-8"), digest_size=8).digest(), "big")


def _signature(tokens: list[str], digest: int) -> Signature:
    """The :class:`Signature` of normalized words whose :func:`_digest` is ``digest``."""
    crc = zlib.crc32
    if len(tokens) < 3:
        grams = {(w in STOPWORDS, crc(w.encode("utf-8"))) for w in tokens}
    else:
        common = [w in STOPWORDS for w in tokens]
        grams = {(a + b + c, crc(f"{x} {y} {z}".encode("utf-8"))) for a, b, c, x, y, z
                 in zip(common, common[1:], common[2:], tokens, tokens[1:], tokens[2:])}
    # Shingles of content words first: they are rarer, so the indexed prefixes
    # collide with fewer unrelated rows than "of the company" would.
    shingles = array("I", dict.fromkeys(h for _, h in sorted(grams)))
    bits = 0
    for h in shingles:
        bits |= 1 << (h & (MAP_BITS - 1))
    return Signature(digest, shingles.tobytes(), bits)


def _folded(bits: int) -> int:
    """A shingle map folded onto ``_FOLDED_BITS`` bits: bit ``h % _FOLDED_BITS`` set for
    each shingle hash ``h``. Its bound on shared shingles is looser than the full map's,
    but reading it for a kept row is one array item, not a 32-byte slice made an int;
    it rules out about four in five of the rows the full map rules out."""
    return (bits | bits >> 64 | bits >> 128 | bits >> 192) & 0xFFFF_FFFF_FFFF_FFFF  # the four words ORed


class Deduper:
    """Remembers what it has kept; ``check`` says whether a row repeats one."""

    def __init__(self, threshold: float = NEAR_DUP_JACCARD, recent: int = RECENT_PER_SHINGLE) -> None:
        self.threshold = Fraction(threshold).limit_denominator(1000)
        self._num, self._den = self.threshold.numerator, self.threshold.denominator
        self.recent = recent
        self._ids = array("Q")  # kept rows' ids: 16 hex digits as a number (8 bytes, not ~70)
        self._odd_ids: dict[int, str] = {}  # by row: ids of any other form
        self._exact: dict[int, int] = {}  # digest -> row
        self._offsets = array("Q", [0])
        self._pool = array("I")  # every kept row's shingle hashes, back to back
        self._maps = bytearray()  # every kept row's shingle map, _MAP_BYTES each
        self._folded = array("Q")  # every kept row's folded map (see _folded)
        self._index: dict[int, int | list[int]] = {}  # prefix hash -> most recent rows

    def check(self, key: str, row_id: str) -> tuple[str, str] | None:
        """``None`` for a new row (and remember it), else ``(reason, id of the earlier row)``.

        The shingles are worked out only for a row that is no exact duplicate: they are
        most of the cost of a :class:`Signature`.
        """
        tokens = _normalize(key)
        digest = _digest(tokens)
        earlier = self._exact.get(digest)
        if earlier is not None:
            return "duplicate", self._row_id(earlier)
        return self.check_signature(_signature(tokens, digest), row_id)

    def _row_id(self, i: int) -> str:
        odd = self._odd_ids.get(i)
        return f"{self._ids[i]:016x}" if odd is None else odd

    def _prefix(self, n: int) -> int:
        return n - -(-self._num * n // self._den) + 1  # n - ceil(threshold * n) + 1

    def check_signature(self, sig: Signature, row_id: str) -> tuple[str, str] | None:
        """Like :meth:`check`, for a precomputed :func:`signature`."""
        earlier = self._exact.get(sig.exact)
        if earlier is not None:
            return "duplicate", self._row_id(earlier)
        sh = memoryview(sig.shingles).cast("I")
        n = len(sh)
        prefix = sh[: self._prefix(n)] if n else ()
        index = self._index
        candidates: set[int] = set()
        for h in prefix:
            found = index.get(h)
            if found is not None:
                candidates.update(found) if isinstance(found, list) else candidates.add(found)
        bits = sig.bits
        folded = _folded(bits)
        if candidates:
            num, den = self._num, self._den
            offsets, pool, maps, folded_maps = self._offsets, self._pool, self._maps, self._folded
            # Sizes m that can reach the threshold: m * den >= num * n and n * den >= num * m.
            smallest, largest = -(-num * n // den), (n * den // num if num else math.inf)
            crowded = n - bits.bit_count()  # my shingles on a bit another of mine set
            crowded_folded = n - folded.bit_count()
            mine = None
            for i in sorted(candidates):
                lo, hi = offsets[i], offsets[i + 1]
                m = hi - lo
                if not smallest <= m <= largest:
                    continue  # sizes alone rule out the threshold
                most = (folded & folded_maps[i]).bit_count() + crowded_folded
                if most * den < num * (n + m - most):
                    continue  # so do the folded maps
                theirs = int.from_bytes(maps[i * _MAP_BYTES:(i + 1) * _MAP_BYTES], "little")
                most = (bits & theirs).bit_count() + crowded
                if most * den < num * (n + m - most):
                    continue  # so do the maps
                if mine is None:
                    mine = set(sh)
                shared = len(mine.intersection(pool[lo:hi]))
                if shared * den >= num * (n + m - shared):
                    return "near_duplicate", self._row_id(i)
        i = len(self._ids)
        if _HEX_ID.fullmatch(row_id):
            self._ids.append(int(row_id, 16))
        else:
            self._ids.append(0)
            self._odd_ids[i] = row_id
        self._exact[sig.exact] = i
        self._pool.frombytes(sig.shingles)
        self._offsets.append(len(self._pool))
        self._maps += bits.to_bytes(_MAP_BYTES, "little")
        self._folded.append(folded)
        for h in prefix:
            found = index.get(h)
            if found is None:
                index[h] = i
            elif isinstance(found, list):
                found.append(i)
                if len(found) > self.recent:
                    del found[0]
            else:
                index[h] = [found, i]
        return None
