"""Formulas out of the archive: ``kube get`` copies, and what ``kube info`` shows about one.

A copy never overwrites a file that differs from the archive unless forced:
kube cannot tell an edit from a copy of an older version, so both are kept.
Files already identical are left alone, and files of the user's own that the
formula does not have are never deleted. Each file is written atomically.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kube import archive, paths
from kube.errors import KubeError, LocalChangesError, UsageError
from kube.index import NAME_RE, Entry


@dataclass(frozen=True)
class FormulaInfo:
    entry: Entry
    archive_path: Path
    workspace: Path | None
    workspace_differs: bool | None  # None when there is no workspace copy
    installed: list[str] | None = field(default=None)  # filled by the install side; None = not checked

    def to_dict(self) -> dict[str, Any]:
        data = self.entry.to_dict()
        data["path"] = str(self.archive_path)
        data["workspace"] = (
            {"path": str(self.workspace), "differs": self.workspace_differs} if self.workspace else None
        )
        data["installed"] = self.installed
        return data


@dataclass(frozen=True)
class GetResult:
    path: Path
    copied: tuple[str, ...]
    overwritten: tuple[str, ...]
    unchanged: tuple[str, ...]


def _files(root: Path) -> dict[str, Path | None]:
    """Relative path -> file; None for anything that is not a regular file (never followed)."""
    found: dict[str, Path | None] = {}
    for folder, dirs, files in os.walk(root):
        base = Path(folder)
        for name in list(dirs):
            if (base / name).is_symlink():
                dirs.remove(name)
                found[(base / name).relative_to(root).as_posix()] = None
        for name in files:
            path = base / name
            regular = stat.S_ISREG(os.lstat(path).st_mode)
            found[path.relative_to(root).as_posix()] = path if regular else None
    found.pop(".git", None)
    return found


def _same(a: Path | None, b: Path | None) -> bool:
    if a is None or b is None:
        return False
    if a.stat().st_size != b.stat().st_size:
        return False
    return a.read_bytes() == b.read_bytes()


def differs(copy: Path, original: Path) -> bool:
    """True when the two formula directories do not hold the same files with the same bytes."""
    mine, theirs = _files(copy), _files(original)
    return mine.keys() != theirs.keys() or any(not _same(mine[k], theirs[k]) for k in mine)


def formula_info(name: str) -> FormulaInfo:
    """The index entry plus the workspace state; NotFoundError with close names for an unknown kube."""
    entry = archive.read_index().get(name) if NAME_RE.fullmatch(name) else None
    if entry is None:
        raise archive.not_found(name)
    directory = archive.archive_formula(name)
    if directory is None:  # indexed, yet not (or no longer) a directory of the clone: never followed
        raise archive.not_found(name)
    copy = archive.workspace_copy(name)
    return FormulaInfo(entry, directory, copy, differs(copy, directory) if copy is not None else None)


def get_formula(name: str, dest: Path | None = None, *, force: bool = False) -> GetResult:
    """Copy the formula to ``dest`` (default ``$KUBE_HOME/workspace/<name>``)."""
    from kube.formula import formula_files
    from kube.lock import locked

    source = archive.formula_dir(name)
    target = dest if dest is not None else paths.workspace_dir() / name
    if target.exists() and not target.is_dir():
        raise UsageError(f"{target} exists and is not a directory", hint="choose another --dest")
    with locked():
        files = {
            p.relative_to(source).as_posix(): p
            for p in formula_files(source, display_root=paths.archive_dir())
        }
        copied: list[str] = []
        conflicts: list[str] = []
        unchanged: list[str] = []
        for rel, path in files.items():
            there = target / rel
            if not os.path.lexists(there):
                copied.append(rel)
            elif there.is_file() and not there.is_symlink() and _same(there, path):
                unchanged.append(rel)
            else:
                conflicts.append(rel)
        if conflicts and not force:
            shown = ", ".join(conflicts[:5]) + (
                f" (and {len(conflicts) - 5} more)" if len(conflicts) > 5 else ""
            )
            raise LocalChangesError(
                f"{target} has files that differ from the archive's {name}: {shown}",
                files=conflicts,
                hint=f"keep your copy, or overwrite it with `kube get {name} --force`",
            )
        for rel in (*copied, *conflicts):
            _copy(files[rel], target / rel)
    return GetResult(target, tuple(copied), tuple(conflicts), tuple(unchanged))


def _copy(source: Path, dest: Path) -> None:
    import shutil
    import tempfile

    try:
        if dest.is_dir() and not dest.is_symlink():
            shutil.rmtree(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", dir=dest.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(source.read_bytes())
            os.chmod(tmp, stat.S_IMODE(source.stat().st_mode) | stat.S_IRUSR | stat.S_IWUSR)
            os.replace(tmp, dest)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError as exc:
        raise KubeError(f"cannot write {dest}: {exc.strerror}") from exc
