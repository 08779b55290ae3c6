"""Output folders that cannot destroy anything: checked before a solve, replaced atomically after.

Every folder the tool writes (a plan, a sweep, a plot folder) carries a marker file naming what it
is. A folder is only ever replaced if it carries the marker, so ``--out .``, ``--out ""``, the
scenario's own folder or a folder of someone's photos is refused before any work starts.

A new folder is written whole into a staging folder beside the target; then the two are
exchanged in one atomic ``renameat2(RENAME_EXCHANGE)`` (Linux), and the old one is removed.
A kill at any moment leaves the complete old folder or the complete new one, plus at most a
staging folder, which the next run into the same target names and clears. Where the kernel or
file system cannot exchange, the old folder is first renamed aside (the same recovery applies).
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

#: the file that makes a folder one of ours, with what it holds
MARKER = ".aifactory"
#: what a marked folder may hold
KINDS = ("plan", "sweep", "plots")
#: a staging or set-aside folder of TARGET is named .TARGET<STAGING_TAG><random>
STAGING_TAG = ".aifactory-staging-"
#: renameat2 flag: swap the two paths atomically (linux/fs.h)
RENAME_EXCHANGE = 2
#: renameat2's "relative to the current directory" file descriptor (linux/fcntl.h)
AT_FDCWD = -100


class OutputFolderError(ValueError):
    """An output folder that may not be written: it would replace something the tool did not write."""


def is_ours(folder: Path, kind: str) -> bool:
    """Whether ``folder`` is a folder this tool wrote, holding ``kind``."""
    try:
        return json.loads((folder / MARKER).read_text())["kind"] == kind
    except (OSError, ValueError, KeyError, TypeError):
        return False


def write_marker(folder: Path, kind: str) -> None:
    stamp = {"kind": kind, "tool": "aifactory", "written_utc": datetime.now(UTC).isoformat(timespec="seconds")}
    (folder / MARKER).write_text(json.dumps(stamp) + "\n")


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_output_folder(
    out: Path, kind: str, protected: Iterable[Path] = (), force: bool = False, resume: bool = False
) -> Path:
    """``out`` as an absolute path if this run may write there, else OutputFolderError.

    Refused: an empty path, the current folder or any folder above it, anything inside or above
    a ``protected`` folder (the scenario's folder, its data folder), a symlink, a file, a path under
    a file, a folder without write permission, and an existing folder that is not a ``kind``
    folder written by this tool. An existing ``kind`` folder needs ``force`` (or ``resume``).
    """
    if str(out).strip() in ("", "."):
        raise OutputFolderError(f"output folder '{out}' is the current folder; name a new folder, e.g. plans/base")
    target = Path(os.path.abspath(out))
    cwd = Path.cwd().resolve()
    if out.is_symlink():
        raise OutputFolderError(f"{out}: is a symbolic link; name a real folder (the link's target is never replaced)")
    resolved = target.resolve()
    if cwd.is_relative_to(resolved):
        raise OutputFolderError(f"{out}: is the current folder or a folder above it; name a new folder inside it")
    for folder in protected:
        folder = Path(folder).resolve()
        if resolved.is_relative_to(folder) or folder.is_relative_to(resolved):
            raise OutputFolderError(
                f"{out}: holds or lies inside {folder}, which holds the scenario's inputs; "
                "write the output somewhere else"
            )
    if resolved.exists() and not resolved.is_dir():
        raise OutputFolderError(f"{out}: is a file, not a folder")
    existing = _nearest_existing(resolved)
    if not existing.is_dir():
        raise OutputFolderError(f"{out}: lies under {existing}, which is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputFolderError(f"{out}: cannot write in {existing} (permission denied)")
    if resolved.exists():
        if not is_ours(resolved, kind):
            raise OutputFolderError(
                f"{out}: exists and is not a {kind} folder written by aifactory (no {MARKER} "
                f"marker); it is never replaced: choose a new folder"
            )
        if not (force or resume):
            raise OutputFolderError(f"{out}: exists; pass --force to replace it")
    return target


def leftover_staging(target: Path) -> list[Path]:
    """Staging folders of ``target`` left by a run that was killed."""
    parent = target.parent
    if not parent.is_dir():
        return []
    return sorted(p for p in parent.glob(f".{target.name}{STAGING_TAG}*") if p.is_dir() and not p.is_symlink())


def clear_leftovers(target: Path, say: Callable[[str], None] = lambda _: None) -> None:
    """Remove the staging folders a killed run left beside ``target``, naming each."""
    for folder in leftover_staging(target):
        say(f"removing {folder}, left by an interrupted run")
        shutil.rmtree(folder, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders in one atomic step; False where the system cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    if renameat2(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(code, f"cannot swap {a} and {b}: {os.strerror(code)}")


def staging_folder(target: Path, kind: str) -> Path:
    """A new staging folder beside ``target``, already marked (so a leftover is recognisably ours)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}{STAGING_TAG}", dir=target.parent))
    write_marker(staging, kind)
    return staging


def publish(staging: Path, target: Path) -> None:
    """Put the complete ``staging`` folder at ``target``, replacing an old one atomically."""
    if not target.exists():
        os.rename(staging, target)
        return
    if not _exchange(staging, target):
        # the old folder is set aside under a staging name, so a kill here is recovered like any other
        aside = Path(tempfile.mkdtemp(prefix=f".{target.name}{STAGING_TAG}", dir=target.parent))
        os.rename(target, aside / target.name)
        os.rename(staging, target)
        staging = aside
    shutil.rmtree(staging, ignore_errors=True)


def write_folder(target: Path, kind: str, fill: Callable[[Path], None]) -> Path:
    """Write a folder whole: ``fill(staging)`` writes (and may check) everything, then it is published.

    Any failure or interruption before publishing removes the staging folder and leaves ``target``
    as it was.
    """
    staging = staging_folder(target, kind)
    try:
        fill(staging)
        publish(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def write_plan_folder(
    folder: Path, fill: Callable[[Path], None], protected: Iterable[Path], force: bool, say: Callable[[str], None]
) -> Path:
    """A plan folder (of one year or a build-out) written whole by ``fill(staging)``: ``folder`` must be
    new or a plan this tool wrote (replaced only with ``force``) and touch no ``protected`` folder; the
    staging folders an interrupted earlier write left are removed first, ``say`` hearing of each."""
    target = check_output_folder(folder, "plan", protected=protected, force=force)
    clear_leftovers(target, say)
    return write_folder(target, "plan", fill)
