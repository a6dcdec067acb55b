"""What an update changed: index entries rebuilt from the git diff, and the report ``kube update`` prints.

Only formulas the diff touched are parsed again; everything else is copied
from the previous index. A full build happens when there is no usable
previous index (first clone, new URL, damaged file, other schema).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kube.archive import git as gitcmd
from kube.archive import index as idx
from kube.archive import indexer
from kube.core.findings import Finding

Git = Callable[[list[str], str], str]


@dataclass(frozen=True)
class Changes:
    # Entries as dicts (parsed now) or as the JSON bytes the previous index stored them as.
    entries: dict[str, dict[str, Any] | bytes] = field(compare=False, repr=False)
    new: tuple[tuple[str, str], ...] = ()  # (name, version)
    updated: tuple[tuple[str, str, str], ...] = ()  # (name, old version, new version)
    renamed: tuple[tuple[str, str], ...] = ()  # (old name, new name)
    deleted: tuple[str, ...] = ()
    warnings: tuple[Finding, ...] = ()
    rebuilt: str = "none"  # "none", "incremental" or "full"


@dataclass(frozen=True)
class UpdateReport:
    url: str  # credentials removed
    branch: str
    old_commit: str | None
    new_commit: str
    cloned: bool
    count: int
    new: tuple[tuple[str, str], ...]
    updated: tuple[tuple[str, str, str], ...]
    renamed: tuple[tuple[str, str], ...]
    deleted: tuple[str, ...]
    warnings: tuple[Finding, ...]
    notes: tuple[str, ...]
    rebuilt: str

    @property
    def up_to_date(self) -> bool:
        return not self.cloned and self.old_commit == self.new_commit

    @classmethod
    def make(
        cls,
        url: str,
        branch: str,
        old: str | None,
        new: str,
        changes: Changes,
        notes: list[str],
        *,
        cloned: bool,
    ) -> UpdateReport:
        return cls(
            url=url,
            branch=branch,
            old_commit=old,
            new_commit=new,
            cloned=cloned,
            count=len(changes.entries) if changes.rebuilt != "none" else -1,
            new=changes.new,
            updated=changes.updated,
            renamed=changes.renamed,
            deleted=changes.deleted,
            warnings=changes.warnings,
            notes=tuple(notes),
            rebuilt=changes.rebuilt,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "branch": self.branch,
            "old_commit": self.old_commit,
            "new_commit": self.new_commit,
            "cloned": self.cloned,
            "up_to_date": self.up_to_date,
            "kubes": self.count if self.count >= 0 else None,  # None: the index was not rebuilt
            "new": [{"name": n, "version": v} for n, v in self.new],
            "updated": [{"name": n, "old_version": o, "new_version": v} for n, o, v in self.updated],
            "renamed": [{"old": o, "new": n} for o, n in self.renamed],
            "deleted": list(self.deleted),
            "warnings": [{"path": w.path, "message": w.message} for w in self.warnings],
            "notes": list(self.notes),
            "index": self.rebuilt,
        }


def _formula_of(path: str) -> str | None:
    parts = path.split("/")
    return parts[1] if len(parts) >= 2 and parts[0] == "formulas" and parts[1] else None


def parse_diff(text: str) -> tuple[set[str], list[tuple[str, str]]]:
    """Touched formula names and ``(old, new)`` directory renames from ``git diff --name-status -M``."""
    touched: set[str] = set()
    renames: list[tuple[str, str]] = []
    for line in text.splitlines():
        status, *quoted = line.split("\t")
        names = [_formula_of(gitcmd.unquote(f)) for f in quoted]
        touched.update(n for n in names if n)
        if status.startswith("R") and len(names) == 2 and names[0] and names[1] and names[0] != names[1]:
            pair = (names[0], names[1])
            if pair not in renames:
                renames.append(pair)
    return touched, renames


def incoming_paths(diff: str) -> list[str]:
    """Paths an update will create, from ``git diff --name-status`` (where untracked files would be lost)."""
    paths: list[str] = []
    for line in diff.splitlines():
        status, *files = line.split("\t")
        if files and status[:1] in ("A", "R", "C", "T"):
            paths.append(gitcmd.unquote(files[-1]))
    return paths


def build_index(
    root: Path,
    head: str,
    base: idx.Index | None,
    old_commit: str | None,
    *,
    git: Git,
    diff: str | None = None,
) -> Changes:
    """New entries for the clone at ``root`` (HEAD ``head``), and what changed since ``old_commit``.

    ``diff`` is ``git diff --name-status -M90% old_commit head`` when the caller already has it.
    With a ``base`` index only the formulas the diff touched are parsed; the other entries are
    copied as the bytes they were stored as."""
    touched: set[str] = set()
    renames: list[tuple[str, str]] = []
    if old_commit and old_commit != head:
        if diff is None:
            diff = git(diff_args(old_commit, head), "cannot compare archive versions")
        touched, renames = parse_diff(diff)
    entries: dict[str, dict[str, Any] | bytes]
    if base is not None:
        entries = {n: line for n in base.names() if n not in touched and (line := base.line(n)) is not None}
        rebuilt, warnings = indexer.build_entries(root, touched)
        log_range, mode = f"{old_commit}..{head}", "incremental"
    else:
        rebuilt, warnings = indexer.build_entries(root, indexer.formula_dir_names(root))
        entries, log_range, mode = {}, head, "full"
    if rebuilt:
        log = git(
            ["log", "--format=%x01%H %cI", "--name-only", "--no-renames", log_range, "--", "formulas"],
            "cannot read the archive's history",
        )
        built = indexer.parse_log(log)
        for name, entry in rebuilt.items():
            commit, date = built.get(name, (head, ""))
            entry["built"] = {"commit": commit, "date": date}
    entries.update(rebuilt)
    warnings = indexer.formulas_warnings(root) + warnings
    old_names = _old_names(base, old_commit, head, git)
    if old_names is None:
        return Changes(entries, warnings=tuple(warnings), rebuilt=mode)
    return _compare(base, old_names, entries, rebuilt, touched, renames, tuple(warnings), mode)


def diff_args(old: str, new: str) -> list[str]:
    # -M90%: a formula counts as renamed only when its files moved across nearly unchanged
    # (K3.yaml itself always changes, since it holds the name).
    return ["diff", "--name-status", "-M90%", "--no-color", old, new, "--"]


def _old_names(base: idx.Index | None, old_commit: str | None, head: str, git: Git) -> set[str] | None:
    if base is not None:
        return set(base.names())
    if not old_commit or old_commit == head:
        return None
    listing = git(
        ["ls-tree", "-d", "--name-only", old_commit, "formulas/"], "cannot read the archive's history"
    )
    return {n for n in (_formula_of(p) for p in listing.splitlines()) if n and idx.NAME_RE.fullmatch(n)}


def _compare(
    base: idx.Index | None,
    old_names: set[str],
    entries: dict[str, dict[str, Any] | bytes],
    rebuilt: dict[str, dict[str, Any]],
    touched: set[str],
    renames: list[tuple[str, str]],
    warnings: tuple[Finding, ...],
    mode: str,
) -> Changes:
    added = set(entries) - old_names
    removed = old_names - set(entries)
    renamed = tuple((a, b) for a, b in renames if a in removed and b in added)
    for a, b in renamed:
        removed.discard(a)
        added.discard(b)

    def old_version(name: str) -> str:
        old = base.get(name) if base is not None else None
        return old.version if old is not None else ""

    def version(name: str) -> str:
        entry = rebuilt.get(name)
        return str(entry.get("version", "")) if entry is not None else ""

    return Changes(
        entries,
        new=tuple((n, version(n)) for n in sorted(added)),
        updated=tuple((n, old_version(n), version(n)) for n in sorted(touched & old_names & set(entries))),
        renamed=tuple(sorted(renamed)),
        deleted=tuple(sorted(removed)),
        warnings=warnings,
        rebuilt=mode,
    )
