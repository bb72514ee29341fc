"""Exact and near-duplicate removal across the whole build (both splits).

Near-duplicates: Jaccard similarity of word-trigram sets >= ``NEAR_DUP_JACCARD``
(word sets for texts under three words). The first occurrence (in build order) is
kept.

Exact duplicates are found across the whole build. Near-duplicates are found by
prefix filtering: with every row's shingle hashes in one global order (content words
first), two rows whose Jaccard similarity reaches the threshold must share one of
their first ``n - ceil(threshold * n) + 1`` hashes (their prefixes), so only those are
indexed and probed. A hash found in the prefixes of more than ``DEMOTE_AT`` kept rows
is *demoted*: it moves to the end of the order (after the hashes not demoted, in their
order), and each row indexed under it is indexed under the hash that takes its place in
the row's prefix. The order stays one order for every row, so the rule above still
holds, and the phrases many rows share (a sentence that many articles repeat with a name
changed) give way to what tells the rows apart (the name): no index list grows long,
and time stays linear in the corpus. Only a demoted hash that stays in some prefixes
(rows made almost entirely of common phrases) remembers just the ``RECENT_PER_SHINGLE``
most recently kept of those rows: the near-duplicates of such rows are found among
recent ones (the same article, the articles around it). The rows a probe finds share a
hash or two: a 256-bit map of each row's shingles (see :class:`Signature`), and before
it the same map folded onto 64 bits, rule most of them out before their shingles are
compared. The state is compact: per kept row an 8-byte digest, its shingles as 4-byte
hashes, its 32-byte and 8-byte maps and a few index entries.
A row's :class:`Signature` depends on the row alone, so the chunk's worker works them
out, for all of the chunk's rows at once (:func:`signatures`), and only
:meth:`Deduper.check_signature` runs in the main process, in build order.
"""

from __future__ import annotations

import hashlib
import math
import re
import zlib
from array import array
from fractions import Fraction
from itertools import filterfalse, islice
from typing import Any, Mapping, NamedTuple, Sequence

import numpy as np

from dsgen.support import STOPWORDS

NEAR_DUP_JACCARD = 0.8
#: A shingle in the prefixes of more kept rows than this is demoted (see module doc). On the
#: benchmark's 10,000 articles (sentences of five articles recombined, names changed),
#: keeping every row per shingle instead found 13,480 more near-duplicates than keeping the
#: 4 most recent, and took 63 s instead of 2.3; demoting at 32 finds all but 960 of them
#: in 5.1 s.
DEMOTE_AT = 32
#: Kept rows remembered per demoted shingle still in some prefix: the most recent ones.
RECENT_PER_SHINGLE = 4
#: Bits of a row's shingle map (see :class:`Signature`); a power of two.
MAP_BITS = 256
_MAP_BYTES = MAP_BITS // 8
_MAP_WORDS = MAP_BITS // 64
#: What ``array("I")`` holds: :func:`_signatures` packs shingles as it, the deduper reads them back through it.
_NATIVE_UINT32 = np.dtype(f"=u{array('I').itemsize}")
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


def signatures(keys: Sequence[str]) -> list[Signature]:
    """The :class:`Signature` of each dedupe key (see :func:`dedupe_key`), worked out for
    all of them at once: a chunk's rows in one go, so the shingles of all its rows are
    hashed, sorted and mapped by a few array operations instead of per row in Python
    (0.33 s instead of 0.63 s for the 28,792 keys of the 1,000-article build). Keys with
    the same normalized words (exact duplicates: 11% of a chunk's rows at 1,000 articles)
    share one object, which a worker's result pickles once.
    """
    index: dict[int, int] = {}  # digest -> position in `words`/`digests`
    words: list[list[str]] = []
    digests: list[int] = []
    which = []
    for key in keys:
        tokens = _normalize(key)
        digest = _digest(tokens)
        i = index.get(digest)
        if i is None:
            i = index[digest] = len(digests)
            words.append(tokens)
            digests.append(digest)
        which.append(i)
    made = _signatures(words, digests)
    return [made[i] for i in which]


def _digest(tokens: list[str]) -> int:
    """The exact-duplicate digest of normalized words."""
    return int.from_bytes(hashlib.blake2b(" ".join(tokens).encode("utf-8"), digest_size=8).digest(), "big")


#: Per word seen: ``is a stop word << 32 | crc32 of the word`` (see :func:`_signatures`).
_WORD_CODES: dict[str, int] = {}
#: Words remembered at most (about 20 MB); the dict starts over when full, so memory
#: stays bounded whatever the vocabulary.
_MAX_WORD_CODES = 1 << 17


def _word_code(word: str) -> int:
    """``word``'s entry of ``_WORD_CODES``, added now."""
    if len(_WORD_CODES) >= _MAX_WORD_CODES:
        _WORD_CODES.clear()
    code = _WORD_CODES[word] = (word in STOPWORDS) << 32 | zlib.crc32(word.encode("utf-8"))
    return code


def _signatures(rows: list[list[str]], digests: list[int]) -> list[Signature]:
    """The :class:`Signature` of each row of normalized words, whose :func:`_digest` is in
    ``digests``.

    A row's shingles are its word trigrams (its words, if it has fewer than three), each
    hashed from its words' CRC-32s. They are ordered by how many of their words are stop
    words, then by hash: shingles of content words first, since they are rarer, so the
    indexed prefixes collide with fewer unrelated rows than "of the company" would. A
    hash two different shingles share keeps the lower count.
    """
    get = _WORD_CODES.get
    codes = np.array([get(w) or _word_code(w) for tokens in rows for w in tokens], dtype=np.uint64)
    lengths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
    crc = (codes & 0xFFFF_FFFF).astype(np.uint32)
    common = (codes >> 32).astype(np.uint8)
    row_of = np.repeat(np.arange(len(rows)), lengths)
    at = np.arange(len(codes))
    tri = at[at + 2 < np.cumsum(lengths)[row_of]]  # first word of each trigram
    single = at[lengths[row_of] < 3]  # the words of rows too short for a trigram
    hashes = np.concatenate([crc[tri] * np.uint32(0x9E37_79B1) ^ crc[tri + 1] * np.uint32(0x85EB_CA77) ^ crc[tri + 2],
                             crc[single]])
    counts = np.concatenate([common[tri] + common[tri + 1] + common[tri + 2], common[single]])
    owner = np.concatenate([row_of[tri], row_of[single]]).astype(np.uint64)
    # Distinct hashes per row, each with its lowest count (a count is at most 3: 2 bits) ...
    keys = np.sort(owner << 34 | hashes.astype(np.uint64) << 2 | counts)
    first = np.ones(len(keys), dtype=bool)
    first[1:] = keys[1:] >> 2 != keys[:-1] >> 2
    keys = keys[first]
    # ... in the global order: count, then hash.
    keys = np.sort(keys >> 34 << 34 | (keys & 3) << 32 | keys >> 2 & 0xFFFF_FFFF)
    hashes, owner = (keys & 0xFFFF_FFFF).astype(np.uint32), (keys >> 34).astype(np.int64)
    ends = np.searchsorted(owner, np.arange(1, len(rows) + 1)).tolist()
    bit = hashes.astype(np.int64) & (MAP_BITS - 1)
    maps = np.zeros(len(rows) * _MAP_WORDS, dtype=np.uint64)
    np.bitwise_or.at(maps, owner * _MAP_WORDS + (bit >> 6), np.left_shift(np.uint64(1), (bit & 63).astype(np.uint64)))
    shingles = hashes.astype(_NATIVE_UINT32, copy=False).tobytes()
    bits = maps.astype("<u8", copy=False).tobytes()
    out, start = [], 0
    for i, (digest, end) in enumerate(zip(digests, ends)):
        out.append(Signature(digest, shingles[4 * start : 4 * end],
                             int.from_bytes(bits[i * _MAP_BYTES : (i + 1) * _MAP_BYTES], "little")))
        start = end
    return out


def _folded(bits: int) -> int:
    """A shingle map folded onto ``_FOLDED_BITS`` bits: bit ``h % _FOLDED_BITS`` set for
    each shingle hash ``h``. Its bound on shared shingles is looser than the full map's,
    but reading it for a kept row is one array item, not a 32-byte slice made an int;
    it rules out about four in five of the rows the full map rules out."""
    return (bits | bits >> 64 | bits >> 128 | bits >> 192) & 0xFFFF_FFFF_FFFF_FFFF  # the four words ORed


class Deduper:
    """Remembers what it has kept; ``check`` says whether a row repeats one."""

    def __init__(self, threshold: float = NEAR_DUP_JACCARD, recent: int = RECENT_PER_SHINGLE,
                 demote_at: int = DEMOTE_AT) -> None:
        self.threshold = Fraction(threshold).limit_denominator(1000)
        self._num, self._den = self.threshold.numerator, self.threshold.denominator
        self.recent = recent
        self.demote_at = demote_at
        self._demoted: set[int] = set()  # shingle hashes moved to the end of the order
        self._ids = array("Q")  # kept rows' ids: 16 hex digits as a number (8 bytes, not ~70)
        self._odd_ids: dict[int, str] = {}  # by row: ids of any other form
        self._exact: dict[int, int] = {}  # digest -> row
        self._offsets = array("Q", [0])
        self._pool = array("I")  # every kept row's shingle hashes, back to back
        self._maps = bytearray()  # every kept row's shingle map, _MAP_BYTES each
        self._folded = array("Q")  # every kept row's folded map (see _folded)
        self._index: dict[int, int | list[int]] = {}  # prefix hash -> the kept rows with it in their prefix

    def check(self, key: str, row_id: str) -> tuple[str, str] | None:
        """``None`` for a new row (and remember it), else ``(reason, id of the earlier row)``."""
        return self.check_signature(signatures([key])[0], row_id)

    def _row_id(self, i: int) -> str:
        odd = self._odd_ids.get(i)
        return f"{self._ids[i]:016x}" if odd is None else odd

    def _prefix(self, n: int) -> int:
        return n - -(-self._num * n // self._den) + 1  # n - ceil(threshold * n) + 1

    def _prefix_of(self, shingles: Sequence[int]) -> Sequence[int]:
        """The prefix of a row whose ``shingles`` are in the global order before demotion."""
        n = len(shingles)
        p = self._prefix(n) if n else 0
        demoted = self._demoted
        if not demoted or demoted.isdisjoint(shingles[:p]):
            return shingles[:p]
        out = list(islice(filterfalse(demoted.__contains__, shingles), p))
        if len(out) < p:
            out.extend(islice(filter(demoted.__contains__, shingles), p - len(out)))
        return out

    def _row_prefix(self, i: int) -> Sequence[int]:
        return self._prefix_of(self._pool[self._offsets[i] : self._offsets[i + 1]])

    def _index_row(self, i: int, hashes: Sequence[int], pending: list[int], indexed: bool = False) -> None:
        """Index kept row ``i`` under each of ``hashes`` (its prefix; ``indexed``: it may be
        under some of them already). A list of a demoted hash keeps its ``recent`` latest
        rows; another that outgrows ``demote_at`` goes in ``pending``, to be demoted. Lists
        are looked at only past ``recent`` rows, so a window wider than ``demote_at``
        turns demotion off (every row kept per hash: prefix filtering alone)."""
        index, recent = self._index, self.recent
        for h in hashes:
            found = index.get(h)
            if found is None:
                index[h] = i
            elif found.__class__ is list:
                if indexed and i in found:
                    continue
                found.append(i)
                if len(found) > recent:
                    if h in self._demoted:
                        del found[0]
                    elif len(found) > self.demote_at:
                        pending.append(h)
            elif found != i:
                index[h] = [found, i]

    def _demote(self, pending: list[int]) -> None:
        """Demote the hashes in ``pending`` (and those their rows' new index entries make
        crowded in turn), indexing their rows under the hashes that enter their prefixes."""
        index, demoted = self._index, self._demoted
        while pending:
            h = pending.pop()
            if h in demoted:
                continue
            found = index[h]
            rows = found if isinstance(found, list) else (found,)
            demoted.add(h)
            stay = []
            for i in rows:
                prefix = self._row_prefix(i)
                if h in prefix:
                    stay.append(i)
                self._index_row(i, prefix, pending, indexed=True)  # (i is in h's list: skipped)
            stay = stay[-self.recent :]
            if not stay:
                del index[h]
            else:
                index[h] = stay if len(stay) > 1 else stay[0]

    def check_signature(self, sig: Signature, row_id: str) -> tuple[str, str] | None:
        """Like :meth:`check`, for the key's :func:`signatures` entry."""
        earlier = self._exact.get(sig.exact)
        if earlier is not None:
            return "duplicate", self._row_id(earlier)
        sh = memoryview(sig.shingles).cast("I")
        n = len(sh)
        prefix = self._prefix_of(sh)
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
        pending: list[int] = []
        self._index_row(i, prefix, pending)
        if pending:
            self._demote(pending)
        return None
