"""Garbage-collector settings for a build.

A build allocates millions of short-lived containers (rows, mentions, sentences) that
reference counting frees at once. The templated work makes almost no reference cycles:
a full collection after a 10,000-article build finds fewer than 1,000 objects to free.
Yet each run of the cycle collector scans the young containers still alive (a chunk's
analyses, rows waiting to be written, the deduplication index as it grows). With
CPython's default thresholds that was 10% of a templated build's CPU at 1,000 articles
and 13% at 10,000; with the young generation collected after 10,000 new objects, about
5% and 6.7% (5.8 of 86.7 CPU seconds). So during a build the young generation waits for a
million new objects: at 10,000 articles the collector then runs only while modules are
imported (0.1 s), and peak memory is the same. Objects set-up made (modules, rules, word
lists) are frozen out of full collections.

Model code runs with the thresholds the build found (:func:`model_collector`): torch and
transformers objects can form cycles that hold tensors, which must not wait that long.
"""

from __future__ import annotations

import contextlib
import gc
from typing import Iterator

#: Young-generation threshold during a build (CPython's default is 700).
YOUNG = 1_000_000

#: The thresholds each active :func:`build_collector` found, innermost last.
_found: list[tuple[int, int, int]] = []


@contextlib.contextmanager
def build_collector() -> Iterator[None]:
    """Collect less often during the block; restore the thresholds and unfreeze after
    (unless the caller had frozen objects of its own, which stay frozen)."""
    old = gc.get_threshold()
    had_frozen = gc.get_freeze_count() > 0
    _found.append(old)
    gc.set_threshold(max(YOUNG, old[0]), *old[1:])
    try:
        yield
    finally:
        _found.pop()
        gc.set_threshold(*old)
        if not had_frozen:
            gc.unfreeze()


@contextlib.contextmanager
def model_collector() -> Iterator[None]:
    """Inside :func:`build_collector`: the thresholds it found, for the block (model code)."""
    current = gc.get_threshold()
    if _found:
        gc.set_threshold(*_found[-1])
    try:
        yield
    finally:
        gc.set_threshold(*current)


def set_up_done() -> None:
    """Everything alive now stays for the whole build: leave it out of full collections."""
    gc.freeze()


def skip_collections_at_exit() -> None:
    """Leave everything alive out of the collections the interpreter runs while it
    shuts down. They scan every object still reachable (word lists, caches, the modules
    of pyarrow, datasets and pandas) to free memory the process is about to return:
    0.2 to 0.5 s at the end of each ``dsgen`` command, measured. Objects are still freed
    by reference counting as modules are torn down."""
    gc.freeze()
