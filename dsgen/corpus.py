"""Seeds folder -> Documents with normalized text, titles and stable ids.

Bad files never stop the others: each is recorded as a :class:`Skip` with its
reason (unless ``strict``, where the first one raises). Reasons, as they appear
under ``skipped`` in ``build-report.json``:

- ``unsupported_file_type``: not .txt/.text/.md/.markdown/.html/.htm/.jsonl
- ``not_a_regular_file``: a FIFO, device or socket (reading could block forever)
- ``too_large``: over ``MAX_FILE_BYTES``
- ``binary_file``, ``unknown_encoding``: not text (UTF-8, UTF-16/32 with a BOM and
  detectable legacy encodings such as Latin-1/Windows-1252 are decoded)
- ``decode_error``: neither UTF-8 nor the encoding the user named (``--encoding``)
- ``unreadable``: an OS error (permissions, a dangling or looping symlink)
- ``invalid_json``, ``missing_text``: one JSONL line (``file.jsonl#L<n>``); the
  file's other lines are kept
- ``empty``: nothing left after normalization, or a JSONL file without a line
- ``duplicate_document``: the same normalized text as an earlier input (named)

Hidden files and folders (``.name``) are ignored, as git and ls do.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Callable, Iterable, Iterator

from dsgen.errors import CorpusError
from dsgen.readers import TEXT_SUFFIXES, BadRecord, InputRejected, read_articles
from dsgen.text import normalize_text
from dsgen.types import Document

MAX_FILE_BYTES = 64 * 1024 * 1024
_HEADLINE_MAX_WORDS = 40


@dataclass(frozen=True)
class Skip:
    """An input that did not become a document, and why."""

    source: str
    reason: str
    detail: str = ""


@dataclass
class Corpus:
    """Documents in a stable order plus everything skipped."""

    documents: list[Document]
    skipped: list[Skip]


def document_id(text: str) -> str:
    """Content hash: the same normalized article gets the same id anywhere."""
    return _id_of_sha256(hashlib.sha256(text.encode("utf-8")).hexdigest())


def _id_of_sha256(sha: str) -> str:
    """The document id of a text whose sha256 (hex) is ``sha``."""
    return sha[:16]


def detect_title(text: str) -> str | None:
    """The first line, when it reads as a headline (short, no closing period)."""
    first, _, rest = text.partition("\n")
    first = first.strip()
    if not rest.strip() or not first:
        return None
    if len(first.split()) > _HEADLINE_MAX_WORDS or re.search(r"[.!?:;,]$", first):
        return None
    return first


def iter_files(root: Path, on_error: Callable[[OSError], None] | None = None) -> Iterator[Path]:
    """Files under ``root`` in sorted order; follows symlinks but never loops.

    Hidden entries (``.name``) are ignored, like git and ls do. A folder that
    cannot be listed is passed to ``on_error`` instead of vanishing.
    """
    seen: set[tuple[int, int]] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True, onerror=on_error):
        st = os.stat(dirpath)
        if (st.st_dev, st.st_ino) in seen:
            dirnames[:] = []
            continue
        seen.add((st.st_dev, st.st_ino))
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.startswith("."):
                yield Path(dirpath) / name


def _printable_path(rel: str) -> str:
    """A file name that is valid UTF-8 (undecodable bytes become U+FFFD) for reports and parquet."""
    return rel.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def load_corpus(root: str | Path, *, strict: bool = False, max_bytes: int = MAX_FILE_BYTES,
                encoding: str | None = None) -> Corpus:
    """Read every article under ``root`` (``encoding``: see :func:`read_file`).

    Raises:
        CorpusError: the folder is missing or holds no usable article, or (with
            ``strict``) any file is skipped.
    """
    skipped: list[Skip] = []
    documents = list(iter_corpus(root, skipped, strict=strict, max_bytes=max_bytes, encoding=encoding))
    if not documents:
        reasons = ", ".join(sorted({s.reason for s in skipped})) or "no files"
        raise CorpusError(f"no usable articles in {root} ({reasons})")
    return Corpus(documents, skipped)


def iter_corpus(root: str | Path, skipped: list[Skip], *, strict: bool = False,
                max_bytes: int = MAX_FILE_BYTES, encoding: str | None = None,
                map_fn: Callable = map) -> Iterator[Document]:
    """The documents of :func:`load_corpus` one at a time (memory stays flat); what
    is skipped is appended to ``skipped``. Raises like :func:`load_corpus`, except
    that an empty result is the caller's to judge.

    Files are read, decoded and normalized by ``map_fn(read_file, jobs)``: the
    builtin ``map``, or an ordered parallel map such as ``Pool.imap``. Duplicates
    and skips are then judged here, in file order, so the result is the same.
    """
    root = Path(root)
    if not root.exists():
        raise CorpusError(f"seeds folder not found: {root}")
    if not root.is_dir():
        raise CorpusError(f"seeds path is not a folder: {root}")
    seen: dict[str, str] = {}

    def record(skip: Skip) -> None:
        if strict:
            detail = f": {skip.detail}" if skip.detail else ""
            raise CorpusError(f"{skip.source}: {skip.reason}{detail} (strict mode stops at the first unusable input)")
        skipped.append(skip)

    for found in map_fn(partial(read_file, max_bytes=max_bytes, encoding=encoding), _listing(root)):
        for item in found:
            if isinstance(item, Skip):
                record(item)
            elif item.doc_id in seen:
                record(Skip(item.source, "duplicate_document", f"same text as {seen[item.doc_id]}"))
            else:
                seen[item.doc_id] = item.source
                yield item


@dataclass(frozen=True)
class FileJob:
    """One file to read: its path and its name relative to the seeds folder."""

    path: str
    rel: str


def _listing(root: Path) -> Iterator[FileJob | Skip]:
    """Every file under ``root`` as a :class:`FileJob`, and every folder that cannot
    be listed as a :class:`Skip`, in walk order."""
    errors: list[Skip] = []

    def unlistable(exc: OSError) -> None:
        where = Path(exc.filename).relative_to(root).as_posix() if exc.filename else "."
        errors.append(Skip(_printable_path(where), "unreadable", exc.strerror or str(exc)))

    for path in iter_files(root, on_error=unlistable):
        yield from errors
        errors.clear()
        yield FileJob(str(path), _printable_path(path.relative_to(root).as_posix()))
    yield from errors


def file_batches(jobs: Iterable[FileJob | Skip], max_files: int = 64,
                 max_bytes: int = 1 << 20) -> Iterator[list[FileJob | Skip]]:
    """``jobs`` in order, in groups for parallel reading: up to ``max_files`` files and
    ``max_bytes`` bytes each (sizes by ``stat``; a bigger file forms a group alone).

    Many small files travel together, so the process that hands them out and collects
    the documents makes fewer round trips; big files still spread over the workers.
    """
    batch: list[FileJob | Skip] = []
    size = 0
    for job in jobs:
        n = 0
        if isinstance(job, FileJob):
            try:
                n = os.stat(job.path).st_size
            except OSError:
                pass  # read_file reports it
        if batch and (len(batch) >= max_files or size + n > max_bytes):
            yield batch
            batch, size = [], 0
        batch.append(job)
        size += n
    if batch:
        yield batch


def read_file(job: FileJob | Skip, max_bytes: int = MAX_FILE_BYTES, encoding: str | None = None) -> list[Document | Skip]:
    """The documents of one file (or why it, or a record of it, was skipped), in order.

    ``encoding`` decodes a file that is not UTF-8 (and has no byte-order mark);
    ``None`` detects it (see :func:`~dsgen.readers.decode`).

    A pure function of the file, so it can run in any process. A :class:`Skip`
    passes through unchanged.
    """
    if isinstance(job, Skip):
        return [job]
    path, rel = Path(job.path), job.rel
    if path.suffix.lower() not in TEXT_SUFFIXES:
        return [Skip(rel, "unsupported_file_type", path.suffix or "(no suffix)")]
    try:
        st = path.stat()
        # A FIFO or device (or a symlink to /dev/zero) would block or never end.
        if not stat.S_ISREG(st.st_mode):
            return [Skip(rel, "not_a_regular_file")]
        if st.st_size > max_bytes:
            return [Skip(rel, "too_large", f"{st.st_size} bytes > {max_bytes}")]
        with path.open("rb") as f:
            data = f.read(max_bytes + 1)  # the file may grow after stat()
        if len(data) > max_bytes:
            return [Skip(rel, "too_large", f"more than {max_bytes} bytes")]
        articles = read_articles(data, path.suffix.lower(), rel, encoding)
    except InputRejected as exc:
        return [Skip(rel, exc.reason, exc.detail)]
    except CorpusError as exc:
        return [Skip(rel, "unreadable", str(exc))]
    except OSError as exc:
        return [Skip(rel, "unreadable", exc.strerror or str(exc))]
    if not articles:  # a JSONL file of blank lines holds no record to report
        return [Skip(rel, "empty", "no articles in the file")]
    out: list[Document | Skip] = []
    for art in articles:
        if isinstance(art, BadRecord):
            out.append(Skip(art.source, art.reason, art.detail))
            continue
        text = normalize_text(art.text)
        if not text:
            out.append(Skip(art.source, "empty"))
            continue
        title = " ".join(normalize_text(art.title).split()) if art.title else detect_title(text)
        sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
        out.append(Document(_id_of_sha256(sha), title or "", text, art.source, sha))
    return out
