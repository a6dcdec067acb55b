"""Before kube runs a hook or renders anything from the archive, the formula's files must be the archive's.

``formulas/<name>/`` on disk is compared with the tree of the clone's HEAD for that directory:
the same paths, the same modes (the exec bit, symlinks) and the same blob ids. The blob ids of
the files on disk are computed here (git's ``blob <size>\\0<data>``, SHA-1 or SHA-256 as the
clone's ids are); only a file whose bytes differ is handed to ``git hash-object``, which applies
the archive's attributes (``eol``, ``text``) as a checkout does. The tree comes from one
``git ls-tree``, which needs no blob: a partial clone verifies without the network.

An edited, added or removed file, a changed exec bit, a file turned into a symlink: each is an
error naming the file and the commit (``LocalChangesError``, exit 5), with the two ways out:
``kube update --reset`` discards the edits, ``kube get NAME`` copies the formula, edits and all,
to the workspace, where it is the user's own and is installed from without this check. A path
given on the command line (``kube install ./dir``) is never checked either.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from kube.core import paths
from kube.core.errors import LocalChangesError

if TYPE_CHECKING:
    from kube.archive import git as gitcmd
else:
    from kube.archive.lazy import LazyModule

    gitcmd = LazyModule("kube.archive.git")

_SHOWN = 3  # files named in the message; the rest are counted
_GITLINK = "160000"


def _blob_id(path: Path, size: int, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    digest.update(b"blob %d\0" % size)
    with open(path, "rb", buffering=0) as reader:
        while chunk := reader.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _on_disk(directory: Path, top: str, algorithm: str, gitlinks: set[str]) -> dict[str, tuple[str, str]]:
    """Every file under ``directory`` as ``{path from the top: (git mode, blob id)}``; nothing is
    followed through a symlink. A special file (a fifo, a socket) gets mode ``special``, which no
    tree has; a directory a commit records as a submodule is not looked into."""
    found: dict[str, tuple[str, str]] = {}
    pending = [(directory, top)]
    while pending:
        here, rel = pending.pop()
        with os.scandir(here) as entries:
            for entry in entries:
                path = f"{rel}/{entry.name}"
                info = entry.stat(follow_symlinks=False)
                if stat.S_ISDIR(info.st_mode):
                    if path in gitlinks:
                        found[path] = (_GITLINK, "")
                    else:
                        pending.append((Path(entry.path), path))
                elif stat.S_ISLNK(info.st_mode):
                    target = os.fsencode(os.readlink(entry.path))
                    digest = hashlib.new(algorithm, b"blob %d\0" % len(target) + target)
                    found[path] = ("120000", digest.hexdigest())
                elif stat.S_ISREG(info.st_mode):
                    mode = "100755" if info.st_mode & stat.S_IXUSR else "100644"
                    found[path] = (mode, _blob_id(Path(entry.path), info.st_size, algorithm))
                else:
                    found[path] = ("special", "")
    return found


def verify(
    name: str,
    directory: Path,
    *,
    root: Path | None = None,
    commit: str | None = None,
    ignore: frozenset[str] = frozenset(),
) -> None:
    """LocalChangesError unless ``directory`` (``formulas/<name>`` of the clone at ``root``, or a
    copy of it elsewhere) holds exactly the files of ``commit`` (the clone's HEAD); ``ignore``:
    top-level file names of ``directory`` that are not the formula's (a copy's own manifest)."""
    root = root or paths.archive_dir()
    commit = commit or "HEAD"
    top = f"formulas/{name}"
    tree = gitcmd.tree_files(root, commit, f"{top}/", what=f"cannot read {top} of the archive's {commit}")
    # Trees written by very old gits say 100664 for a plain file; git checks those out as 100644.
    expected = {e.path: ("100644" if e.mode == "100664" else e.mode, e.sha) for e in tree}
    algorithm = "sha256" if any(len(entry.sha) == 64 for entry in tree) else "sha1"
    gitlinks = {path for path, (mode, _) in expected.items() if mode == _GITLINK}
    if top in gitlinks:  # the formula's own directory is a submodule
        from kube.archive.indexer import SUBMODULE
        from kube.core.errors import FormulaError

        raise FormulaError(
            SUBMODULE.format(rel=top), hint="ask the archive's maintainers to commit its files"
        )
    try:
        actual = _on_disk(directory, top, algorithm, gitlinks)
        for skipped in ignore:
            actual.pop(f"{top}/{skipped}", None)
    except OSError as exc:
        raise LocalChangesError(
            f"cannot read {exc.filename or directory} to check it against the archive's "
            f"commit {commit[:12]}: {exc.strerror}",
            files=[top],
            hint=_hint(name),
        ) from None
    for path in gitlinks:  # its contents are another repository's: only its presence counts
        if path in actual:
            actual[path] = expected[path]
    problems: dict[str, str] = {}
    differ: list[str] = []
    for path in sorted(expected.keys() | actual.keys()):
        want, have = expected.get(path), actual.get(path)
        if want is None:
            problems[path] = "added"
        elif have is None:
            problems[path] = "missing"
        elif want[0] != have[0]:
            problems[path] = _mode_change(want[0], have[0])
        elif want[1] != have[1]:
            differ.append(path)
    if differ:
        # Bytes differ: ask git what blob a file would be with the archive's attributes applied
        # (an ``eol=crlf`` file is checked out with CRs no blob holds).
        ids = gitcmd.hash_objects(
            root,
            [directory / path.removeprefix(f"{top}/") for path in differ],
            what=f"cannot check {top} against the archive",
        )
        for path, blob in zip(differ, ids, strict=True):
            if blob != expected[path][1]:
                problems[path] = "edited"
    if problems:
        raise _changed(name, commit, root, problems)


def formula_dir(name: str) -> Path:
    """The archive's ``formulas/<name>``, all of it on disk and checked against HEAD: what
    install, upgrade, diff and ``kube test`` take a formula of the archive from."""
    from kube.archive import update

    directory = update.formula_dir(name)
    verify(name, directory, commit=update.head_commit())
    return directory


def _mode_change(want: str, have: str) -> str:
    if "120000" in (want, have) or have == "special" or _GITLINK in (want, have):
        kinds = {"120000": "a symlink", "100644": "a file", "100755": "a file", _GITLINK: "a submodule"}
        return f"is {kinds.get(have, 'a special file')}, not {kinds[want]}"
    return "made executable" if have == "100755" else "no longer executable"


def _hint(name: str) -> str:
    return (
        f"discard the changes with `kube update --reset`, or keep them with `kube get {name}` "
        "(a copy in your workspace, installed from instead of the archive)"
    )


def _changed(name: str, commit: str, root: Path, problems: dict[str, str]) -> LocalChangesError:
    shown = "; ".join(f"{path} {what}" for path, what in list(problems.items())[:_SHOWN])
    more = f" (and {len(problems) - _SHOWN} more)" if len(problems) > _SHOWN else ""
    return LocalChangesError(
        f"{name} in the archive {root} is not the archive's commit {commit[:12]}: {shown}{more}",
        files=list(problems),
        hint=_hint(name),
    )
