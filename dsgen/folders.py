"""Where one folder lies relative to another: what ``dsgen build`` and ``dsgen export``
check before they write, so that neither writes into the seeds folder or the dataset;
and whether a folder's path is text that the parquet and YAML files can use."""

from __future__ import annotations

from pathlib import Path


def is_within(path: Path, folder: Path) -> bool:
    """Whether ``path`` is ``folder`` or lies inside it.

    Give both resolved (``Path.resolve()``), so that neither a symlink nor ``..`` hides
    where a folder really is.
    """
    return path == folder or folder in path.parents


def not_utf8(path: Path) -> str | None:
    """``path`` written with its undecodable bytes escaped (``/tmp/bad\\xffname``) when
    it is not valid UTF-8 text, else ``None``.

    A file system allows any bytes in a name; Python keeps the ones that are not UTF-8
    as lone surrogates, which pyarrow (parquet files) cannot open and text files
    (lm-eval task YAMLs) cannot record.
    """
    text = str(path)
    try:
        text.encode("utf-8")
        return None
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape" if _only_escapes(text) else "backslashreplace").decode(
            "utf-8", "backslashreplace")


def _only_escapes(text: str) -> bool:
    """Whether every surrogate in ``text`` stands for a byte (what ``os.fsdecode`` makes)."""
    return all("\udc80" <= c <= "\udcff" for c in text if "\ud800" <= c <= "\udfff")
