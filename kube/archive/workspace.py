"""Formulas out of the archive: ``kube get`` copies, and what ``kube info`` shows about one.

``kube get`` writes only into a new (or empty) directory or into a copy it made
itself, recorded by ``.kube-get.json`` in the copy: which formula, and the
SHA-256 of every file it wrote. A new copy is built in a temporary directory
beside the destination and renamed into place, so a full disk or a kill never
leaves a half copy where ``kube install`` would take it for the user's edited
copy. An update of an existing copy marks it incomplete first and complete only
when every file is written; an incomplete copy is never used.

In a copy of its own, a file that differs from the archive is replaced only
with ``--force`` (kube cannot tell an edit from an older version), and
``--force`` replaces only files ``kube get`` wrote: never a directory, a
symlink or a file of the user's. Files of the user's own that the formula does
not have are never deleted. The home directory, ``/``, kube's own state and a
non-empty directory that is not a ``kube get`` copy are refused as ``--dest``.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kube.archive import update as archive
from kube.archive.copies import MANIFEST
from kube.archive.copies import read_manifest as _read_manifest
from kube.archive.index import NAME_RE, Entry
from kube.core import paths
from kube.core.errors import ArchiveError, KubeError, LocalChangesError, UsageError

_TEMP_MARK = ".kube-get-"


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
    found.pop(MANIFEST, None)
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
    try:
        copy = archive.workspace_copy(name)
    except ArchiveError:  # an unfinished `kube get`: it is there, and it is not the archive's
        return FormulaInfo(entry, directory, paths.workspace_dir() / name, True)
    return FormulaInfo(
        entry, directory, copy, _copy_differs(name, copy, directory) if copy is not None else None
    )


def _copy_differs(name: str, copy: Path, directory: Path) -> bool:
    """Whether the workspace copy is not the archive's formula. In a sparse clone whose
    ``directory`` holds only K3.yaml and README.md (nothing fetched it whole yet), the copy is
    compared with HEAD's tree for the formula instead: one ``git ls-tree``, no network."""
    from kube.archive import materialize
    from kube.archive.verify import verify

    root = paths.archive_dir()
    if not materialize.missing(root, [name]):
        return differs(copy, directory)
    try:
        verify(name, copy, root=root, commit=archive.head_commit(), ignore=frozenset({MANIFEST}))
    except LocalChangesError:
        return True
    return False


def get_formula(name: str, dest: Path | None = None, *, force: bool = False) -> GetResult:
    """Copy the formula to ``dest`` (default ``$KUBE_HOME/workspace/<name>``)."""
    from kube.archive.lock import locked
    from kube.formula.load import formula_files

    source = archive.formula_dir(name)
    target = _target(name, dest)
    with locked():
        files = {
            p.relative_to(source).as_posix(): p
            for p in formula_files(source, display_root=paths.archive_dir())
        }
        _remove_stale_temps(target)
        try:
            kind = _kind(target, name, default=dest is None)
            if kind == "new":
                _fresh_copy(name, files, target)
                return GetResult(target, tuple(files), (), ())
            return _update_copy(name, files, target, force=force, legacy=kind == "legacy")
        except OSError as exc:
            raise _write_error(exc, target) from exc


def _target(name: str, dest: Path | None) -> Path:
    """Where the copy goes; UsageError for a destination ``kube get`` must never write into."""
    if dest is None:
        target = paths.workspace_dir() / name
        if target.is_symlink():
            raise UsageError(
                f"{target} is a symbolic link; kube get writes only into a directory of its own",
                hint=f"remove the link, or choose a directory with `kube get {name} --dest DIR`",
            )
        return target
    text = str(dest)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError(
            f"--dest {text!r} holds bytes that are not UTF-8", hint="choose a directory with a UTF-8 name"
        ) from None
    # The user named the destination: a symlink they give is followed, once, here.
    target = Path(os.path.realpath(os.path.expanduser(text)))
    home = Path(os.path.realpath(Path.home()))
    if target == Path("/") or target == home:
        where = "/" if target == Path("/") else f"your home directory ({home})"
        raise UsageError(
            f"--dest {text} is {where}; kube get copies a formula into a directory of its own",
            hint=f"choose a new directory, e.g. --dest {home / name}",
        )
    state = Path(os.path.realpath(paths.kube_home()))
    if target == state or target.is_relative_to(state / "archive") or target == state / "workspace":
        raise UsageError(
            f"--dest {text} is inside kube's own state ({state})",
            hint=f"leave out --dest to copy into {paths.workspace_dir() / name}, or choose another directory",
        )
    return target


def _kind(target: Path, name: str, *, default: bool) -> str:
    """``new`` (missing or empty), ``own`` (a kube get copy of ``name``) or ``legacy`` (a copy in
    the workspace made before copies were recorded); UsageError for anything else."""
    try:
        mode = os.lstat(target).st_mode
    except FileNotFoundError:
        return "new"
    if not stat.S_ISDIR(mode):
        raise UsageError(f"{target} exists and is not a directory", hint="choose another --dest")
    manifest = _read_manifest(target)
    if manifest is not None:
        if manifest.get("formula") != name:
            raise UsageError(
                f"{target} holds kube get's copy of {manifest.get('formula')!r}, not of {name!r}",
                hint="choose another --dest",
            )
        return "own"
    if not any(os.scandir(target)):
        return "new"
    k3 = target / paths.METADATA_FILE
    if default and k3.is_file() and not k3.is_symlink():
        return "legacy"
    raise UsageError(
        f"{target} is not empty and is not a copy made by kube get; nothing was written",
        hint="choose a new directory with --dest",
    )


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _manifest_bytes(name: str, files: dict[str, str], *, complete: bool) -> bytes:
    record = {"kube-get": 1, "formula": name, "complete": complete, "files": dict(sorted(files.items()))}
    return (json.dumps(record, indent=1) + "\n").encode()


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """A new file in a directory kube just made (never follows, never replaces)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(path, mode)


def _mode(source: Path) -> int:
    return stat.S_IMODE(source.stat().st_mode) | stat.S_IRUSR | stat.S_IWUSR


def _fresh_copy(name: str, files: dict[str, Path], target: Path) -> None:
    """Build the whole copy beside ``target`` and rename it into place (onto nothing, or onto
    an empty directory): the copy is there complete, or not at all."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(prefix=f".{target.name}{_TEMP_MARK}", dir=target.parent))
    try:
        written: dict[str, str] = {}
        for rel, source in files.items():
            data = source.read_bytes()
            (temp / rel).parent.mkdir(parents=True, exist_ok=True)
            _write_new(temp / rel, data, _mode(source))
            written[rel] = _digest(data)
        _write_new(temp / MANIFEST, _manifest_bytes(name, written, complete=True), 0o644)
        os.chmod(temp, 0o777 & ~_umask())  # as mkdir would make it
        os.rename(temp, target)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _update_copy(name: str, files: dict[str, Path], target: Path, *, force: bool, legacy: bool) -> GetResult:
    record = _read_manifest(target)
    owned: dict[str, str] = dict(record["files"]) if record is not None else {}
    copied: list[str] = []
    conflicts: list[str] = []
    unchanged: list[str] = []
    foreign: list[str] = []
    for rel, path in files.items():
        there = target / rel
        kind = _entry_kind(target, rel)
        if kind == "missing":
            copied.append(rel)
        elif kind != "file":
            foreign.append(rel)  # a directory, a symlink, or a symlink on the way: never replaced
        elif _same(there, path):
            unchanged.append(rel)
        elif rel in owned or legacy:
            conflicts.append(rel)
        else:
            foreign.append(rel)
    if foreign:
        raise LocalChangesError(
            f"{target} has {_shown(foreign)} where the formula {name} has files, and kube get did "
            "not write them; nothing was changed",
            files=foreign,
            hint="move them away, or choose another directory with --dest",
        )
    if conflicts and not force:
        raise LocalChangesError(
            f"{target} has files that differ from the archive's {name}: {_shown(conflicts)}",
            files=conflicts,
            hint=f"keep your copy, or overwrite it with `kube get {name} --force`",
        )
    writes = [*copied, *conflicts]
    record_files = {**owned, **{rel: _digest(files[rel].read_bytes()) for rel in unchanged}}
    if writes or record is None or record.get("complete") is not True:
        # Marked incomplete until the last file is written: a stop half way is never used.
        paths.atomic_write(target / MANIFEST, _manifest_bytes(name, record_files, complete=False), 0o644)
        for rel in writes:
            data = files[rel].read_bytes()
            paths.atomic_write(target / rel, data, _mode(files[rel]))
            record_files[rel] = _digest(data)
        paths.atomic_write(target / MANIFEST, _manifest_bytes(name, record_files, complete=True), 0o644)
    return GetResult(target, tuple(copied), tuple(conflicts), tuple(unchanged))


def _entry_kind(root: Path, rel: str) -> str:
    """``missing``, ``file`` (a regular file) or ``other`` for ``root/rel``, never looking
    through a symlink or a file on the way."""
    here = root
    parts = rel.split("/")
    for part in parts[:-1]:
        here = here / part
        try:
            mode = os.lstat(here).st_mode
        except FileNotFoundError:
            return "missing"
        if not stat.S_ISDIR(mode):
            return "other"
    try:
        mode = os.lstat(here / parts[-1]).st_mode
    except FileNotFoundError:
        return "missing"
    return "file" if stat.S_ISREG(mode) else "other"


def _shown(files: list[str]) -> str:
    return ", ".join(files[:5]) + (f" (and {len(files) - 5} more)" if len(files) > 5 else "")


def _remove_stale_temps(target: Path) -> None:
    """Half-built copies a killed ``kube get`` left beside ``target`` (the caller holds the lock,
    so no live kube is building one)."""
    prefix = f".{target.name}{_TEMP_MARK}"
    with contextlib.suppress(OSError):
        for entry in os.scandir(target.parent):
            if entry.name.startswith(prefix) and entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)


def _write_error(exc: OSError, target: Path) -> KubeError:
    where = exc.filename or target
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return KubeError(
            f"disk full at {target.parent}: kube get could not write {where}; no half copy was left",
            hint=f"free some space, then run `kube get {target.name}` again",
        )
    return KubeError(f"cannot write {where}: {exc.strerror}", hint="choose another --dest")
