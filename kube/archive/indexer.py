"""Building index entries at update time: each formula parsed through ``kube.formula``.

Many formulas (a first clone, a damaged index) are parsed on every CPU by a
process pool. The reading side, which must stay cheap, is ``kube.index``.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kube.archive.index import NAME_RE
from kube.core import paths

if TYPE_CHECKING:
    from kube.core.findings import Finding

_PARALLEL_FROM = 64


def _skipped(rel: str, why: str) -> Finding:
    from kube.core.findings import Finding, Severity

    return Finding(rel, 0, "skipped-formula", f"skipped: {why}; never followed", Severity.WARNING)


def _invalid(name: str, problems: list[str]) -> dict[str, Any]:
    return {"name": name, "valid": False, "problems": problems}


# What git's tree says a name under ``formulas/`` is: its kind ("dir", "link" or "file") and,
# for a directory, every entry below it as ``(path inside it, mode, object)``.
Listing = tuple[str, list[tuple[str, int, str]]]


def read_tree(root: Path, names: Iterable[str] | None = None) -> dict[str, Listing] | None:
    """Each name under ``formulas/`` (or only ``names``) as HEAD's tree has it, when the clone's
    checkout is sparse (its files are then not all on disk); None for a full checkout, which
    is read from disk. A name HEAD does not have is not in the result."""
    from kube.archive import git as gitcmd

    if not gitcmd.is_sparse(root):
        return None
    tree: dict[str, Listing] = {}
    wanted = None if names is None else sorted(set(names))
    for path, mode, obj in gitcmd.formula_tree(root, wanted):
        name, _, rest = path.removeprefix("formulas/").partition("/")
        if rest:
            tree.setdefault(name, ("dir", []))[1].append((rest, mode, obj))
        elif mode == _GITLINK:
            tree[name] = ("submodule", [])
        else:
            tree[name] = ("link" if stat.S_ISLNK(mode) else "file", [])
    return tree


def build_entry(
    root: Path, name: str, listing: Listing | None = None
) -> tuple[dict[str, Any] | None, list[Finding]]:
    """The index entry for ``formulas/<name>`` in the clone at ``root``, and warnings for the update report.

    Directories that are not formula names (``..``, ``.x``, ``Foo``) or are symlinks are skipped;
    a formula that does not load is indexed as invalid, with its problems. With ``listing`` (a
    sparse checkout) the formula's files come from git's tree, not from the disk."""
    from kube.core.errors import FormulaError, KubeError
    from kube.core.findings import Finding, Severity

    rel = f"formulas/{name}" if name.isascii() and name.isprintable() else f"formulas/{json.dumps(name)}"
    formulas = paths.formulas_in(root)
    if formulas is None:  # reported once, by formulas_warnings
        return None, []
    directory = formulas / name
    if listing is not None:
        mode = {"dir": stat.S_IFDIR, "link": stat.S_IFLNK, "submodule": stat.S_IFDIR}.get(
            listing[0], stat.S_IFREG
        )
    else:
        try:
            mode = directory.lstat().st_mode
        except OSError:
            return None, []
    if stat.S_ISLNK(mode):
        return None, [_skipped(rel, "a symbolic link")]
    if not stat.S_ISDIR(mode):
        return None, []  # a plain file beside the formulas (a README): not a formula
    if not NAME_RE.fullmatch(name):
        return None, [_skipped(rel, "not a kube name (lowercase letters, digits and '-')")]
    # A git submodule is an empty directory in a checkout (git tracks no empty directory else):
    # kube never fetches one, so it cannot be a formula. Said as such, not as a missing K3.yaml.
    if (listing is not None and listing[0] == "submodule") or (listing is None and _empty(directory)):
        why = [SUBMODULE.format(rel=rel)]
        return _invalid(name, why), [
            Finding(rel, 0, "invalid-formula", invalid_message(why), Severity.WARNING)
        ]
    from kube.formula.load import MANIFEST_SUFFIXES, formula_files, load_formula
    from kube.formula.shards import SHARDS_DIR, expand

    problems: list[str] = []
    provides: list[str] = []
    formula = None
    if listing is not None:
        # A formula with neither K3.yaml nor README.md has no directory in a sparse checkout;
        # an empty one (git ignores it) lets it be judged as a full checkout would judge it.
        os.makedirs(directory, exist_ok=True)
    try:
        if listing is None:
            files = formula_files(directory, display_root=root)
        else:
            from kube.archive import git as gitcmd
            from kube.formula.load import formula_files_in_tree

            files = formula_files_in_tree(
                directory, listing[1], link_target=lambda obj: gitcmd.blob_text(root, obj), display_root=root
            )
        manifests = directory / "manifests"
        provides = [
            p.relative_to(directory).as_posix()
            for p in files
            if p.parent in (manifests, manifests / SHARDS_DIR) and p.name.endswith(MANIFEST_SUFFIXES)
        ]
        problems += _undecodable(files, directory, rel)
    except FormulaError as exc:
        problems += [str(f) for f in exc.findings] or [exc.message]
    try:
        formula = load_formula(directory, display_root=root)
    except FormulaError as exc:
        problems += [str(f) for f in exc.findings] or [exc.message]
    except (KubeError, OSError, ValueError) as exc:
        problems.append(f"{rel}: {exc}")
    if formula is not None and not problems:
        from kube.formula.values_doc import count_values

        entry = formula.to_dict()
        entry["valueCount"] = count_values(entry.pop("values", None) or {})
        entry["dependencies"] = [[d.name, str(d.range)] for d in formula.dependencies]
        entry.pop("shards", None)
        if formula.shards is not None:
            entry["shards"] = [str(s["name"]) for s in expand(formula.shards, formula.name)]
        entry.update(provides=provides, valid=True, problems=[])
        return entry, []
    message = invalid_message(problems)
    return _invalid(name, problems), [Finding(rel, 0, "invalid-formula", message, Severity.WARNING)]


_GITLINK = 0o160000
SUBMODULE = (
    "{rel} is a git submodule (or an empty directory): kube does not fetch submodules, so a formula "
    "must be the archive's own files"
)


def _empty(directory: Path) -> bool:
    try:
        with os.scandir(directory) as entries:
            return next(entries, None) is None
    except OSError:
        return False


def invalid_message(problems: list[str]) -> str:
    """The update report's warning for a formula that does not load (``problems``: not empty)."""
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"is invalid and cannot be installed: {problems[0]}{more}"


def _undecodable(files: list[Path], directory: Path, rel: str) -> list[str]:
    """File names that are not UTF-8: they would reach every listing kube prints (and a
    terminal or a JSON reader) as raw bytes."""
    bad: list[str] = []
    for path in files:
        name = path.relative_to(directory).as_posix()
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            shown = json.dumps(name)[1:-1]
            bad.append(f"{rel}/{shown}: the file name is not UTF-8")
    return bad


_Chunk = tuple[str, list[str], dict[str, Listing] | None]


def _build_chunk(args: _Chunk) -> list[tuple[str, dict[str, Any] | None, list[Finding]]]:
    root, names, tree = Path(args[0]), args[1], args[2]
    if tree is None:
        return [(name, *build_entry(root, name)) for name in names]
    return [(name, *build_entry(root, name, tree[name])) for name in names if name in tree]


def build_entries(
    root: Path, names: Iterable[str], tree: dict[str, Listing] | None = None
) -> tuple[dict[str, dict[str, Any]], list[Finding]]:
    """Entries for ``names``, parsed on every CPU when there are many; a missing directory gives
    no entry. ``tree`` (``read_tree``): the clone is sparse, its formulas are read from git's tree."""
    todo = sorted(set(names))
    chunks = [todo[i : i + _PARALLEL_FROM] for i in range(0, len(todo), _PARALLEL_FROM)]
    results: list[tuple[str, dict[str, Any] | None, list[Finding]]] = []
    workers = min(len(chunks), _cpus())
    if workers > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        import kube.formula.load  # noqa: F401  (imported once, before the workers fork)

        context = multiprocessing.get_context(
            "fork" if "fork" in multiprocessing.get_all_start_methods() else None
        )
        pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=context, initializer=_watch_parent, initargs=(os.getpid(),)
        )
        with pool:
            for part in pool.map(_build_chunk, [_chunk(root, chunk, tree) for chunk in chunks]):
                results += part
    else:
        for chunk in chunks:
            results += _build_chunk(_chunk(root, chunk, tree))
    entries = {name: entry for name, entry, _ in results if entry is not None}
    warnings = [w for _, _, found in results for w in found]
    return entries, warnings


def _chunk(root: Path, names: list[str], tree: dict[str, Listing] | None) -> _Chunk:
    """One worker's share: its names, and only their part of the tree (it is pickled)."""
    return str(root), names, None if tree is None else {n: tree[n] for n in names if n in tree}


def _watch_parent(parent: int) -> None:
    """In a pool worker: exit as soon as kube is gone, even if it was killed.

    Without this a worker whose kube died by SIGKILL waits for work forever: its
    siblings hold the task pipe open, so it never sees end-of-file."""
    import threading
    import time

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def formula_dir_names(root: Path, tree: dict[str, Listing] | None = None) -> list[str]:
    """Every directory entry under ``formulas/`` of the clone (valid names or not); none when
    ``formulas`` is not a directory of the clone itself. ``tree``: as git's tree has them."""
    formulas = paths.formulas_in(root)
    if formulas is None:
        return []
    if tree is not None:
        return sorted(tree)
    try:
        return sorted(entry.name for entry in os.scandir(formulas))
    except OSError:
        return []


def formulas_warnings(root: Path) -> list[Finding]:
    """A warning when the clone's ``formulas`` exists but is not a directory (a symlink, a file)."""
    path = root / paths.FORMULAS_DIR
    if paths.formulas_in(root) is not None or not os.path.lexists(path):
        return []
    kind = "a symbolic link" if path.is_symlink() else "not a directory"
    return [_skipped(paths.FORMULAS_DIR, kind)]


def parse_log(text: str) -> dict[str, tuple[str, str]]:
    """Newest ``(commit, date)`` per formula from ``git log --format=%x01%H %cI --name-only``."""
    latest: dict[str, tuple[str, str]] = {}
    current = ("", "")
    for line in text.splitlines():
        if line.startswith("\x01"):
            commit, _, date = line[1:].partition(" ")
            current = (commit, date)
        elif line.startswith(("formulas/", '"formulas/')):
            from kube.archive.git import unquote

            parts = unquote(line).split("/")
            if len(parts) >= 3 and parts[1] not in latest:
                latest[parts[1]] = current
    return latest
