"""Train/test split by document: no article contributes to both splits."""

from __future__ import annotations

import hashlib
from typing import Iterable

from dsgen.errors import ConfigError


def assign_splits(doc_ids: Iterable[str], test_size: float, seed: int) -> dict[str, str]:
    """Map each doc id to ``"train"`` or ``"test"``.

    Documents are ordered by a seeded hash of their id, so the result depends only
    on the ids, the seed and ``test_size`` (never on file order). With two or more
    documents neither split is empty.
    """
    if not 0.0 < test_size < 1.0:
        raise ConfigError(f"--test-size must be between 0 and 1 (exclusive), got {test_size}")
    ids = sorted(set(doc_ids))
    order = sorted(ids, key=lambda d: hashlib.sha256(f"{seed}:{d}".encode()).hexdigest())
    n_test = round(len(ids) * test_size)
    if len(ids) >= 2:
        n_test = min(max(n_test, 1), len(ids) - 1)
    test = set(order[:n_test])
    return {d: ("test" if d in test else "train") for d in ids}

