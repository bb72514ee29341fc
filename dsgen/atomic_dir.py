"""Publish a folder all at once: build in a sibling work folder, then swap it in.

``out/`` is either the previous complete build or the new complete build, never a
mix. Work folders are named ``.<out>.tmp-<pid>-<random>`` so a later build can tell
the leftovers of a killed build (its pid is gone) from a build still running.
"""

from __future__ import annotations

import ctypes
import errno
import os
import secrets
import shutil
from pathlib import Path

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def make_work_dir(out_dir: Path) -> Path:
    """A fresh, empty work folder next to ``out_dir`` (same filesystem, so renames are atomic).

    Created with the umask's permissions, unlike ``mkdtemp`` (0700), so the swapped-in
    ``out/`` is readable like any folder the user creates.
    """
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    while True:
        work = out_dir.with_name(f".{out_dir.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
        try:
            work.mkdir()
            return work
        except FileExistsError:
            continue


def missing_folders(path: Path) -> list[Path]:
    """``path`` and those of its parents that do not exist yet, deepest first: what
    :func:`make_work_dir` and the job after it may create, for :func:`remove_empty`."""
    missing = []
    for folder in (path, *path.parents):
        if os.path.lexists(folder):
            break
        missing.append(folder)
    return missing


def remove_empty(folders: list[Path]) -> None:
    """Remove each of ``folders`` (deepest first) that is empty; a failed job leaves no trace."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            pass  # not empty (something else was put there), or already gone


def remove_stale(out_dir: Path) -> list[Path]:
    """Clean up after killed builds; returns the folders removed.

    Removes work folders whose build process is gone. If ``out_dir`` itself is missing
    but a killed swap left the previous build aside (``.<out>.old-<pid>``), that build
    is put back first.
    """
    removed: list[Path] = []
    if not out_dir.parent.is_dir():
        return removed
    for kind in ("old", "tmp"):
        for path in sorted(out_dir.parent.glob(f".{out_dir.name}.{kind}-*")):
            if not path.is_dir() or _owner_alive(path.name.rsplit(f".{kind}-", 1)[1]):
                continue
            if kind == "old" and not out_dir.exists() and (path / "dataset").is_dir():
                os.replace(path, out_dir)
                continue
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def swap_into_place(work: Path, out_dir: Path) -> None:
    """Replace ``out_dir`` with ``work`` atomically; the old build is deleted afterwards.

    On Linux ``renameat2(RENAME_EXCHANGE)`` swaps the two folders in one step. Where
    that is unavailable the old folder is moved aside first; a crash between the two
    renames leaves it as ``.<out>.old-<pid>``, which :func:`remove_stale` restores.
    """
    if not out_dir.exists():
        os.replace(work, out_dir)
        return
    if _exchange(work, out_dir):
        shutil.rmtree(work, ignore_errors=True)  # ``work`` now holds the previous build
        return
    old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
    os.replace(out_dir, old)
    os.replace(work, out_dir)
    shutil.rmtree(old, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    rc = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False  # kernel or filesystem without RENAME_EXCHANGE
    raise OSError(err, os.strerror(err), str(b))


def _owner_alive(suffix: str) -> bool:
    """True when the pid at the start of ``suffix`` is a running process."""
    pid = suffix.split("-", 1)[0]
    if not pid.isdigit():
        return False  # not ours (or an old mkdtemp name): stale
    if int(pid) == os.getpid():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
