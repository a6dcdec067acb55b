"""Fetch on use: a sparse archive clone checks a formula out in full when kube needs its files.

The first update checks out only what search and info read (every formula's K3.yaml and
README.md, ``kube.archive.git.SPARSE_PATTERNS``). Install, upgrade, diff, ``kube get``, lint and
``kube test`` need the rest: ``materialize`` adds ``/formulas/NAME/`` to the sparse patterns, and
git fetches the missing blobs from the archive's server in one batch and checks them out. Later
updates keep those lines, so a formula once used stays whole and is updated like any file.

A full clone (a server without partial clone) has no patterns file: nothing to do, no git started.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from kube.archive.index import NAME_RE
from kube.archive.lazy import LazyModule

if TYPE_CHECKING:
    from kube.archive import git as gitcmd
else:
    gitcmd = LazyModule("kube.archive.git")


def _patterns_file(root: Path) -> Path:
    return root / ".git" / "info" / "sparse-checkout"


def pattern(name: str) -> str:
    return f"/formulas/{name}/"


def missing(root: Path, names: Iterable[str]) -> list[str]:
    """The valid names whose directory is not yet in the sparse patterns (none in a full clone)."""
    try:
        lines = set(_patterns_file(root).read_text(encoding="utf-8").splitlines())
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError):
        lines = set()  # unreadable: let git say what is wrong with it
    wanted: list[str] = []
    for name in names:
        if NAME_RE.fullmatch(name) and pattern(name) not in lines and name not in wanted:
            wanted.append(name)
    return wanted


def materialize(root: Path, names: Iterable[str]) -> list[str]:
    """Check out ``formulas/<name>/`` in full for each of ``names`` in the sparse clone at ``root``;
    the names it had to fetch. Runs git only when some formula is not checked out yet."""
    wanted = missing(root, names)
    if not wanted:
        return []
    from kube.archive import recovery
    from kube.archive.lock import locked
    from kube.core.errors import ArchiveError

    with locked():
        # What a killed git left first (its index.lock would make this one fail), as every writer does.
        recovery.recover([])
        wanted = missing(root, wanted)  # another kube may have fetched them while this one waited
        if wanted and gitcmd.is_sparse(root):
            try:
                gitcmd.sparse_add(root, [pattern(n) for n in wanted])
            except ArchiveError:
                gitcmd.remove_temporaries(root)  # a half-received pack would keep a full disk full
                raise
    return wanted
