"""The published index: the search index an archive's own CI builds and publishes, so that a
first ``kube update`` need not parse every formula and read the whole history to date them.

Where it lives. A branch of the archive, ``kube-index``, whose one commit (no parent: it is a
file that is replaced, not a history) holds one file, ``index.json``: exactly kube's index
file (``kube.archive.index``: a header with the schema version and the commit it describes,
the sorted names, one JSON line per formula, a length and CRC-32 of the body). ``kube index
publish`` writes that branch from a checkout; the archive's CI runs it on every push to the
main branch and pushes the branch (``git push --force origin kube-index``).

How an update uses it. After the first clone kube fetches ``kube-index`` (one small commit,
one blob) and adopts the file when the commit it describes is the clone's HEAD, or an ancestor
of it: then only the formulas changed since are parsed, exactly like an incremental update.
Anything else (no such branch, another schema, a damaged or oversized file, a commit kube does
not have or that is not behind HEAD, names that are not the formulas of that commit, an entry
kube cannot read) and the index is built locally, as without one; a file that is there but
unusable is said so, once, in the update's notes.

What it is trusted with: search and info only. Entries are checked for the shape search and
info read (so a hostile file cannot crash them, and its size is bounded); install, lint, get
and test always read the formula itself from the clone, and the clone is verified against
its commit before a hook runs (``kube.archive.verify``).
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kube.archive import git as gitcmd
from kube.archive import index as idx
from kube.core.errors import ArchiveError, UsageError

BRANCH = "kube-index"
FILE = "index.json"
#: Where a clone keeps the fetched branch (outside refs/heads and refs/remotes: no command of
#: the user's sees it, and a fetch of the archive's own branch never touches it).
LOCAL_REF = "refs/kube/published-index"
#: The biggest file kube reads: 1 MiB, plus 16 KiB per formula of the commit it describes
#: (an entry of a formula with long details is 2 to 4 KiB).
BASE_LIMIT = 1 << 20
PER_FORMULA_LIMIT = 16 << 10


class Unusable(Exception):
    """A published index that is there but cannot be used: why, for the update's notes."""


class NeedsHistory(Unusable):
    """A published index of another commit than HEAD, read in a clone without the history to
    check it against (a shallow clone: asking git would make it fetch that commit's history
    one object request at a time)."""


@dataclass(frozen=True)
class Published:
    """What ``publish`` wrote: the branch's new commit, the archive commit it describes, and
    the index's size."""

    ref: str
    commit: str
    described: str
    count: int
    invalid: int
    size: int
    unchanged: bool


def publish(root: Path, *, branch: str = BRANCH) -> Published:
    """Build the index of ``root``'s HEAD (a checkout of the archive, clean under ``formulas/``)
    and point ``refs/heads/<branch>`` at a commit holding it."""
    from kube.archive.changes import build_index
    from kube.core import paths

    branch = gitcmd.validate_branch(branch)
    if not (root / ".git").exists():
        raise UsageError(f"{root} is not a git checkout", hint="run it in a clone of the archive")
    if paths.formulas_in(root) is None:
        raise UsageError(f"{root} has no formulas/ directory", hint="run it in a clone of the archive")
    what = f"cannot read the archive at {root}"
    head = gitcmd.resolve(root, "HEAD", what=what)
    changed = [p for p in gitcmd.tracked_changes(root) if p.startswith("formulas/")]
    changed += [p for p in gitcmd.untracked(root) if p.startswith("formulas/") and p not in changed]
    if changed:
        more = f" (and {len(changed) - 3} more)" if len(changed) > 3 else ""
        raise UsageError(
            f"{root} has changes under formulas/ that HEAD does not hold: {', '.join(changed[:3])}{more}",
            hint="commit or stash them: the published index must describe a commit",
        )
    try:
        current = gitcmd.run(["symbolic-ref", "--short", "-q", "HEAD"], what=what, root=root).strip()
    except ArchiveError:  # a detached HEAD (CI checks out a commit)
        current = "HEAD"
    ref = f"refs/heads/{branch}"
    before = _read_ref(root, ref)
    if branch == current or (before is not None and not _holds_only_an_index(root, before)):
        raise UsageError(
            f"branch {branch} of {root} is not a published index: publishing would replace its history",
            hint=f"publish to a branch of its own (the default is {BRANCH})",
        )
    changes = build_index(root, head, None, None)
    data = idx.encode(url="", branch=current, commit=head, entries=changes.entries)
    commit = gitcmd.commit_file(
        root,
        ref,
        FILE,
        data,
        message=f"kube search index of {head}\n\n{len(changes.entries)} kubes, schema {idx.SCHEMA}.\n",
        epoch=gitcmd.commit_time(root, head, what=what),
        what=f"cannot write branch {branch} in {root}",
    )
    invalid = sum(1 for e in changes.entries.values() if isinstance(e, dict) and not e.get("valid", False))
    return Published(ref, commit, head, len(changes.entries), invalid, len(data), unchanged=before == commit)


def _holds_only_an_index(root: Path, commit: str) -> bool:
    """Whether ``commit`` is what ``publish`` writes: no parent, one file ``index.json``."""
    what = "cannot read the branch"
    top = gitcmd.run(["ls-tree", commit], what=what, root=root).splitlines()
    parents = gitcmd.run(["rev-list", "--parents", "-n", "1", commit], what=what, root=root).split()
    return (
        len(top) == 1
        and top[0].startswith("100644 blob ")
        and top[0].endswith(f"\t{FILE}")
        and len(parents) == 1
    )


def _read_ref(root: Path, ref: str) -> str | None:
    try:
        return gitcmd.resolve(root, ref, what="cannot read the branch")
    except ArchiveError:
        return None


def fetch(root: Path) -> bool:
    """Fetch the archive's ``kube-index`` branch into ``LOCAL_REF``; False when there is none
    (or the server could not send it: the index is then built locally, as it always could be)."""
    try:
        refspec = f"+refs/heads/{BRANCH}:{LOCAL_REF}"
        gitcmd.fetch(root, refspec, what="cannot fetch the published index", hint="")
    except ArchiveError:
        return False
    return True


def read(root: Path, head: str, *, history: bool = True) -> idx.Index:
    """The published index fetched into the clone at ``root``, checked for use with ``head``;
    Unusable (with the reason) when it cannot be used. Without ``history`` (a shallow clone)
    an index of any commit but ``head`` is NeedsHistory."""
    what = "cannot read the published index"
    try:
        files = gitcmd.tree_files(root, LOCAL_REF, FILE, what=what)
    except ArchiveError as exc:
        raise Unusable(exc.message) from None
    if len(files) != 1 or files[0].path != FILE or files[0].mode != "100644":
        raise Unusable(f"branch {BRANCH} does not hold a plain file {FILE}")
    try:
        names_at_head = _names_at(root, head)
        size = gitcmd.object_size(root, files[0].sha, what=what)
        limit = BASE_LIMIT + PER_FORMULA_LIMIT * len(names_at_head)
        data = gitcmd.blob(root, files[0].sha, what=what) if size <= limit else None
    except ArchiveError as exc:
        raise Unusable(exc.message) from None
    if data is None:
        raise Unusable(f"its {size:,} bytes are more than an index of this archive can need")
    try:
        index = idx.parse(data, Path(f"{BRANCH}:{FILE}"))
    except idx.IndexUnavailable:
        raise Unusable(f"it is damaged or of another schema than {idx.SCHEMA}") from None
    commit = index.header.commit
    if not idx.SHA_RE.fullmatch(commit):
        raise Unusable("it does not name the commit it describes")
    described = names_at_head
    if commit != head:
        if not history:
            raise NeedsHistory(f"it describes {commit[:8]}, not the clone's {head[:8]}")
        try:
            behind = gitcmd.is_ancestor(root, commit, head)
            described = _names_at(root, commit) if behind else set()
        except ArchiveError:
            behind = False
        if not behind:
            raise Unusable(f"it describes {commit[:8]}, which is not part of the branch at {head[:8]}")
    listed = set(index.names())
    if listed != described:
        odd = sorted(listed ^ described)
        raise Unusable(f"its kubes are not the formulas of {commit[:8]} ({', '.join(odd[:3])} differ)")
    for name in index.names():
        problem = entry_problem(name, index.line(name) or b"")
        if problem is not None:
            raise Unusable(f"its entry for {name} {problem}")
    return index


def _names_at(root: Path, commit: str) -> set[str]:
    """The formula names ``commit`` has: what a local build would index (its directories under
    ``formulas/`` with a kube name; the others are skipped, with a warning, either way)."""
    listing = gitcmd.formula_names_at(root, commit, what="cannot read the archive's history")
    return {n for n in listing if idx.NAME_RE.fullmatch(n)}


_TEXT = ("version", "description", "home", "details")
_TEXT_LISTS = ("maintainers", "keywords", "provides", "problems", "shards")


def entry_problem(name: str, line: bytes) -> str | None:
    """What makes one entry unreadable for search and info (None when it is readable): the
    shape ``index.Entry.from_raw`` and the lookup database rely on, and nothing more."""
    try:
        raw: Any = json.loads(line)
    except ValueError:
        return "is not JSON"
    if not isinstance(raw, dict) or raw.get("name") != name:
        return "is not an entry of that name"
    for key in _TEXT:
        if not isinstance(raw.get(key, ""), str):
            return f"has a {key} that is not text"
    for key in _TEXT_LISTS:
        value = raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return f"has a {key} that is not a list of text"
    deps = raw.get("dependencies", [])
    if not isinstance(deps, list) or not all(
        isinstance(d, list) and len(d) == 2 and all(isinstance(p, str) for p in d) for d in deps
    ):
        return "has dependencies that are not (name, range) pairs"
    built = raw.get("built", {})
    if not isinstance(built, dict) or not all(isinstance(built.get(k, ""), str) for k in ("commit", "date")):
        return "has a built commit or date that is not text"
    if not isinstance(raw.get("valid", False), bool):
        return "has a valid flag that is not true or false"
    count = raw.get("valueCount")
    if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < 0):
        return "has a value count that is not a number"
    return None


def remove(root: Path) -> None:
    """Drop the fetched branch once it was read (or rejected): the clone need not keep it."""
    with contextlib.suppress(ArchiveError):
        gitcmd.run(["update-ref", "-d", LOCAL_REF], what="cannot drop the published index", root=root)
