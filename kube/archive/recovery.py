"""Finishing or undoing what a killed kube left half done in ``$KUBE_HOME``.

Three kinds of leftovers: ``archive.new`` (a clone that was never put in
place), ``archive.old`` (the previous clone, moved aside while a new one was
put in place), and the journal of a work-tree checkout that may have stopped
half way. Stale git lock files are removed only after every git started by an
earlier kube has finished (``gitcmd.wait_for_orphans``): the caller holds
``$KUBE_HOME/.lock``, so no live kube can own them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kube.archive.lazy import LazyModule
from kube.core import paths

if TYPE_CHECKING:
    from kube.archive import git as gitcmd
else:
    gitcmd = LazyModule("kube.archive.git")

_SHA = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")  # a journal names a commit, never an option
_GIT_LOCKS = ("index.lock", "HEAD.lock", "config.lock", "packed-refs.lock", "shallow.lock")


def archive_dir() -> Path:
    return paths.archive_dir()


def new_dir() -> Path:
    return archive_dir().with_name(archive_dir().name + ".new")


def old_dir() -> Path:
    return archive_dir().with_name(archive_dir().name + ".old")


def journal_file() -> Path:
    return paths.kube_home() / ".update-journal.json"


def write_journal(data: dict[str, str]) -> None:
    paths.atomic_write(journal_file(), json.dumps(data).encode())


def read_journal() -> dict[str, Any] | None:
    try:
        data = json.loads(journal_file().read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def clear_journal() -> None:
    journal_file().unlink(missing_ok=True)


def rmtree(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)


def git_locks(root: Path) -> list[Path]:
    git_dir = root / ".git"
    found = [git_dir / name for name in _GIT_LOCKS if (git_dir / name).exists()]
    for folder, _, files in os.walk(git_dir / "refs"):
        found += [Path(folder) / f for f in files if f.endswith(".lock")]
    return found


def needed() -> bool:
    return journal_file().exists() or new_dir().exists() or old_dir().exists()


def _sweep_lookup_temporaries(older_than: float = 3600.0) -> None:
    """Remove what a kube killed while writing the lookup file left (``.index.sqlite.*.tmp``).

    Readers write that file without the lock, so only copies untouched for an hour go: no
    write of it takes that long."""
    import time

    limit = time.time() - older_than
    for temporary in paths.kube_home().glob(".index.sqlite.*.tmp"):
        try:
            if temporary.lstat().st_mtime < limit:
                temporary.unlink()
        except OSError:
            pass


def recover(notes: list[str]) -> None:
    """Bring ``$KUBE_HOME`` back to one consistent clone (the caller holds the lock).

    The index is not touched here: callers compare it with the clone's HEAD afterwards."""
    root = archive_dir()
    _sweep_lookup_temporaries()
    if not needed() and not git_locks(root):
        return
    gitcmd.wait_for_orphans()
    for stale in git_locks(root):
        stale.unlink(missing_ok=True)
    rmtree(new_dir())
    if old_dir().exists():
        if root.exists():
            rmtree(old_dir())
        else:
            os.rename(old_dir(), root)
    journal = read_journal()
    target = str(journal.get("to", "")) if journal else ""
    if journal and journal.get("op") == "checkout" and _SHA.fullmatch(target) and (root / ".git").is_dir():
        gitcmd.reset_hard(root, target, what="cannot repair the archive")
        notes.append("finished an update that had been interrupted")
    clear_journal()
