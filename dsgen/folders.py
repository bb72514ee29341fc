"""Where one folder lies relative to another: what ``dsgen build`` and ``dsgen export``
check before they write, so that neither writes into the seeds folder or the dataset."""

from __future__ import annotations

from pathlib import Path


def is_within(path: Path, folder: Path) -> bool:
    """Whether ``path`` is ``folder`` or lies inside it.

    Give both resolved (``Path.resolve()``), so that neither a symlink nor ``..`` hides
    where a folder really is.
    """
    return path == folder or folder in path.parents
