"""What an update changed: index entries rebuilt from the git diff, and the report ``kube update`` prints.

Only formulas the diff touched are parsed again; everything else is copied
from the previous index. A full build happens when there is no usable
previous index (first clone, new URL, damaged file, other schema).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kube.archive import git as gitcmd
from kube.archive import index as idx
from kube.archive import indexer
from kube.core.findings import Finding


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
    # The archive asks for another kube (``requires-kube`` in archive.yaml), or says it badly.
    kube_warning: str | None = None

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
            "kube_warning": self.kube_warning,
        }


def _formula_of(path: str) -> str | None:
    parts = path.split("/")
    return parts[1] if len(parts) >= 2 and parts[0] == "formulas" and parts[1] else None


def parse_diff(diff: list[gitcmd.Change]) -> tuple[set[str], list[tuple[str, str]]]:
    """Touched formula names and ``(old, new)`` directory renames from a diff with rename detection."""
    touched: set[str] = set()
    renames: list[tuple[str, str]] = []
    for change in diff:
        names = [_formula_of(f) for f in (change.old, change.new) if f is not None]
        touched.update(n for n in names if n)
        if change.status == "R" and len(names) == 2 and names[0] and names[1] and names[0] != names[1]:
            pair = (names[0], names[1])
            if pair not in renames:
                renames.append(pair)
    return touched, renames


def incoming_paths(diff: list[gitcmd.Change]) -> list[str]:
    """Paths an update will create (where untracked files would be lost)."""
    return [c.new for c in diff if c.new is not None and c.status in ("A", "R", "C", "T")]


def build_index(
    root: Path,
    head: str,
    base: idx.Index | None,
    old_commit: str | None,
    *,
    diff: list[gitcmd.Change] | None = None,
) -> Changes:
    """New entries for the clone at ``root`` (HEAD ``head``), and what changed since ``old_commit``.

    ``diff`` is the diff of ``old_commit`` and ``head`` when the caller already has it.
    With a ``base`` index only the formulas the diff touched are parsed; the other entries are
    copied as the bytes they were stored as."""
    touched: set[str] = set()
    renames: list[tuple[str, str]] = []
    if old_commit and old_commit != head:
        if diff is None:
            diff = gitcmd.diff(root, old_commit, head)
        touched, renames = parse_diff(diff)
    entries: dict[str, dict[str, Any] | bytes]
    # A sparse checkout holds only K3.yaml and README.md: formulas' file lists come from the
    # tree, listed once for the whole build (for an incremental one, only the touched formulas').
    tree = None
    if base is None or touched:
        tree = indexer.read_tree(root, None if base is None else touched)
    if base is not None:
        entries = {n: line for n in base.names() if n not in touched and (line := base.line(n)) is not None}
        rebuilt, warnings = indexer.build_entries(root, touched, tree)
        log_range, mode = f"{old_commit}..{head}", "incremental"
    else:
        rebuilt, warnings = indexer.build_entries(root, indexer.formula_dir_names(root, tree), tree)
        entries, log_range, mode = {}, head, "full"
    if rebuilt:
        log = gitcmd.log(root, log_range, what="cannot read the archive's history")
        built = indexer.parse_log(log)
        # In a shallow clone git shows the oldest commit it has as adding every file: what last
        # changed a formula seen only there is not known (``kube info`` says so).
        edge = gitcmd.shallow_commits(root)
        for name, entry in rebuilt.items():
            commit, date = built.get(name, (head, ""))
            known = commit not in edge
            entry["built"] = {"commit": commit if known else "", "date": date if known else ""}
    entries.update(rebuilt)
    warnings = indexer.formulas_warnings(root) + warnings
    old_names = _old_names(root, base, old_commit, head)
    if old_names is None:
        return Changes(entries, warnings=tuple(warnings), rebuilt=mode)
    return _compare(base, old_names, entries, rebuilt, touched, renames, tuple(warnings), mode)


def build_from_published(root: Path, head: str, published: idx.Index) -> Changes:
    """The entries of a first clone at ``head`` from a published index of ``head`` or of an
    ancestor of it (``kube.archive.published`` checked it): its entries copied, the formulas
    changed since it was built parsed again, and the warnings a full build would give (its
    invalid formulas; directories under ``formulas/`` that are not formulas)."""
    from kube.core.findings import Finding, Severity

    built = build_index(root, head, published, published.header.commit)
    warnings = list(built.warnings)
    rebuilt = {n for n, _, _ in built.updated}
    for name in published.names():
        if name in rebuilt or name not in built.entries:
            continue
        entry = published.get(name)
        if entry is not None and not entry.valid and entry.problems:
            message = indexer.invalid_message(list(entry.problems))
            warnings.append(Finding(f"formulas/{name}", 0, "invalid-formula", message, Severity.WARNING))
    tree = indexer.read_tree(root)
    others = [n for n in indexer.formula_dir_names(root, tree) if n not in built.entries]
    warnings += indexer.build_entries(root, others, tree)[1]
    return Changes(built.entries, warnings=tuple(warnings), rebuilt="published")


def _old_names(root: Path, base: idx.Index | None, old_commit: str | None, head: str) -> set[str] | None:
    if base is not None:
        return set(base.names())
    if not old_commit or old_commit == head:
        return None
    listing = gitcmd.formula_names_at(root, old_commit, what="cannot read the archive's history")
    return {n for n in listing if idx.NAME_RE.fullmatch(n)}


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
