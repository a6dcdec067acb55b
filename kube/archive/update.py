"""The archive: a git clone of the formulas repository in ``$KUBE_HOME/archive``, and its update.

Crash safety. Every change happens under ``$KUBE_HOME/.lock``. A first clone
(or a re-clone for a new URL) is made in ``archive.new`` beside the archive and
renamed into place; the index is replaced atomically afterwards. Before the
work tree is moved to a new commit, a journal records the target; if kube is
killed at any point, the next command that finds the journal (or a leftover
``archive.new``/``archive.old``) finishes or undoes the step and brings the
index level with the clone. Readers only read files that are replaced whole.

Every git goes through ``kube.archive.git`` (GitPython, started kube's way:
one place for timeouts, the protocol allow-list and the kill-safe guard). That
module imports GitPython on first use only, so search and info, which read the
index and ``.git/HEAD`` directly, never pay for it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shlex
import stat
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from kube.archive import index as idx
from kube.archive import recovery, requires
from kube.archive.config import ArchiveSource as ArchiveSource
from kube.archive.config import remember
from kube.archive.config import resolve_source as resolve_source
from kube.archive.copies import copy_state
from kube.archive.lazy import LazyModule
from kube.core import paths
from kube.core.errors import ArchiveError, LocalChangesError, NotFoundError, ProcessTimeout

if TYPE_CHECKING:
    from kube.archive import git as gitcmd
else:
    gitcmd = LazyModule("kube.archive.git")

if TYPE_CHECKING:  # imported when an update runs: search and info never need them
    from kube.archive.changes import Changes, UpdateReport
    from kube.archive.lookup import LookupIndex

Notify = Callable[[str], None]


@dataclass(frozen=True)
class _Checkout:
    url: str
    branch: str
    head: str


def _archive() -> Path:
    return paths.archive_dir()


def validate_url(url: str) -> str:
    """The URL git may be given (local paths made absolute); UsageError for anything else."""
    return gitcmd.validate_url(url)


def _checkout(root: Path) -> _Checkout | None:
    """The clone's origin URL, branch and HEAD; None when ``root`` is not a usable clone (a
    slow git is an ArchiveError instead: never re-clone over local edits for it)."""
    found = gitcmd.state(root)
    return _Checkout(*found) if found is not None else None


def _healthy() -> bool:
    """A clone with nothing to recover and an index of its HEAD (a missing or damaged index is
    ``read_index``'s to rebuild). An index of another commit is never served: an update whose
    index write failed (a full disk) leaves exactly that, and search would show old formulas."""
    root = _archive()
    if not (root / ".git").is_dir() or recovery.needed():
        return False
    header = idx.read_header()
    if header is None:
        return True
    head = _head_commit(root)
    if head is None:
        state = _checkout(root)
        head = state.head if state is not None else None
    return head == header.commit


def _head_commit(root: Path) -> str | None:
    """The clone's HEAD read from ``.git`` itself (search and info must not start a git for it);
    None when it is not a plain branch or commit kube can read this way."""
    git_dir = root / ".git"
    try:
        head = (git_dir / "HEAD").read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    if not head.startswith("ref: "):
        return head if idx.SHA_RE.fullmatch(head) else None
    return _ref_commit(root, head.removeprefix("ref: "))


def _head_branch(root: Path) -> str | None:
    """The branch the clone's HEAD names, read from ``.git/HEAD`` (None when detached or odd)."""
    try:
        head = (root / ".git" / "HEAD").read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return head.removeprefix("ref: refs/heads/") if head.startswith("ref: refs/heads/") else None


def _ref_commit(root: Path, ref: str) -> str | None:
    """The commit of ``ref`` (``refs/heads/…`` or ``refs/remotes/…``), read from the loose ref
    or ``packed-refs``; None when it cannot be read this way."""
    git_dir = root / ".git"
    if not ref.startswith(("refs/heads/", "refs/remotes/")) or ".." in ref.split("/"):
        return None
    try:
        try:
            value = (git_dir / ref).read_text(encoding="ascii").strip()
            return value if idx.SHA_RE.fullmatch(value) else None
        except FileNotFoundError:
            pass
        for line in (git_dir / "packed-refs").read_text(encoding="ascii").splitlines():
            sha, _, name = line.partition(" ")
            if name == ref and idx.SHA_RE.fullmatch(sha):
                return sha
    except (OSError, UnicodeDecodeError):
        return None
    return None


def ensure_archive(*, on_clone: Notify | None = None, on_wait: Notify | None = None) -> bool:
    """Make sure a usable archive exists; True when it had to be cloned (``on_clone(url)`` is told first)."""
    if _healthy():
        return False
    from kube.archive.lock import locked

    paths.check_home()
    try:
        with locked(on_wait=on_wait):
            notes: list[str] = []
            recovery.recover(notes)
            state = _checkout(_archive())
            if state is not None:
                _sync_index(state, notes)
                return False
            _clone(resolve_source(), notes, on_clone)
            return True
    except OSError as exc:
        raise _os_error(exc, "the archive could not be brought up to date") from exc


def read_index(*, on_wait: Notify | None = None, on_rebuild: Notify | None = None) -> idx.Index | LookupIndex:
    """The search index (its SQLite lookup copy when that is current), rebuilt first when it is
    missing or damaged."""
    from kube.archive import lookup

    found = lookup.open_lookup()
    if found is not None:
        return found
    try:
        loaded = idx.load_index()
    except idx.IndexUnavailable:
        pass
    else:
        _write_lookup(loaded)
        return loaded
    from kube.archive.lock import locked

    paths.check_home()
    try:
        with locked(on_wait=on_wait):
            recovery.recover([])
            try:
                return idx.load_index()  # rebuilt by another kube while this one waited
            except idx.IndexUnavailable:
                pass
            state = _checkout(_archive())
            if state is None:
                raise ArchiveError("there is no kube archive yet", hint="run `kube update`")
            if on_rebuild is not None:
                on_rebuild("Rebuilding the search index")
            _sync_index(state, [], damaged=True)
    except OSError as exc:
        raise _os_error(exc, "the search index could not be rebuilt") from exc
    return idx.load_index()


def _write_lookup(index: idx.Index) -> None:
    """Write the lookup copy of ``index``; a failure (a full disk, a read-only home) only means
    search and info read ``index.json`` until the next write succeeds."""
    from kube.archive import lookup

    with contextlib.suppress(OSError):
        lookup.write(index)


def update(
    repo: str | None = None,
    branch: str | None = None,
    *,
    reset: bool = False,
    on_clone: Notify | None = None,
    on_wait: Notify | None = None,
) -> UpdateReport:
    """Clone the archive, or fetch and fast-forward it; report what changed.

    ``on_clone(url)`` is called before a clone starts; ``on_wait(message)`` when another kube
    holds the lock."""
    from kube.archive.lock import locked

    paths.check_home()
    source = resolve_source(repo, branch)
    unchanged = None if reset else _unchanged_upstream(source)
    if unchanged is not None:
        remember(repo, branch, source)
        return unchanged
    try:
        with locked(on_wait=on_wait):
            notes: list[str] = []
            recovery.recover(notes)
            state = _checkout(_archive())
            if state is None:
                if _archive().exists() or _archive().is_symlink():
                    _refuse_foreign(_archive())
                    notes.append("the archive clone was damaged; cloned it again")
                report = _clone(source, notes, on_clone)
            elif state.url != source.url or (source.branch is not None and source.branch != state.branch):
                _guard_local_changes(reset)
                report = _clone(source, notes, on_clone)
            else:
                report = _fast_forward(source, state, reset, notes)
            remember(repo, branch, source)
            report = replace(report, kube_warning=requires.check(_archive()))
    except OSError as exc:
        raise _os_error(exc, "the update could not finish") from exc
    return report


def _refuse_foreign(root: Path) -> None:
    """Stop before a clone replaces ``root`` when it is not a clone kube made (no ``.git``
    directory in it): someone's folder that happens to be called archive/ under a KUBE_HOME
    they chose. A damaged clone of kube's own is made again."""
    from kube.core.errors import UsageError

    if root.is_symlink() or not root.is_dir() or not (root / ".git").is_dir() or (root / ".git").is_symlink():
        raise UsageError(
            f"{root} exists and is not a clone kube made; kube does not delete what it did not make",
            hint=f"move it away, or set KUBE_HOME to a directory of kube's own (it is {root.parent})",
        )


_FETCH_HINT = "check the URL (`kube update --repo URL`) and your network"


def _unchanged_upstream(source: ArchiveSource) -> UpdateReport | None:
    """The report of an update with nothing to fetch, found without a fetch or GitPython: a
    healthy clone of ``source`` whose HEAD, tracking ref and index all are the commit origin's
    branch is at now (one ``git ls-remote``, as ``brew update`` first asks whether anything
    moved). None for anything else, which the full update handles (and explains)."""
    root = _archive()
    header = idx.read_header()
    branch = _head_branch(root)
    head = _ref_commit(root, f"refs/heads/{branch}") if branch is not None else None
    if header is None or branch is None or head is None or header.commit != head or header.url != source.url:
        return None
    if source.branch not in (None, branch) or recovery.needed():
        return None
    if _ref_commit(root, f"refs/remotes/origin/{branch}") != head or gitcmd.origin_url(root) != source.url:
        return None
    try:
        upstream = gitcmd.remote_head(root, branch)
    except ProcessTimeout:
        shown = gitcmd.display_url(source.url)
        raise gitcmd.timed_out(f"cannot fetch {shown}", _FETCH_HINT) from None
    if upstream != head:
        return None
    notes: list[str] = []
    if not _lookup_usable(notes):
        return None
    from kube.archive.changes import Changes

    report = _report(gitcmd.display_url(source.url), branch, head, head, Changes({}), notes)
    return replace(report, kube_warning=requires.check(root))


def _lookup_usable(notes: list[str]) -> bool:
    """Whether search and info can read the index with nothing to fetch: its lookup copy opens
    and has every table (written again from ``index.json`` here, with a note, when it does not);
    False when ``index.json`` itself cannot be read, which the full update rebuilds."""
    import sqlite3  # loaded with the lookup module already

    from kube.archive import lookup

    found = lookup.open_lookup()
    if found is not None:
        found.close()
        return True
    try:
        loaded = idx.load_index()
    except idx.IndexUnavailable:
        return False
    try:
        lookup.write(loaded)
    except (OSError, sqlite3.Error):
        return True  # a full disk, a read-only home: search and info read index.json meanwhile
    notes.append("the search index's lookup copy (index.sqlite) was damaged or missing; wrote it again")
    return True


def _clone(source: ArchiveSource, notes: list[str], on_clone: Notify | None) -> UpdateReport:
    shown = gitcmd.display_url(source.url)
    gitcmd.require_git()  # before "Cloning …" is announced
    new = recovery.new_dir()
    recovery.rmtree(new)
    new.parent.mkdir(parents=True, exist_ok=True)
    recovery.write_journal({"op": "clone"})
    if on_clone is not None:
        on_clone(shown)
    hint = "check the URL (`kube update --repo URL`) and your network"
    try:
        # Shallow first: when the archive publishes an index of this very commit, the history
        # is never needed (the index dates every formula); otherwise it is fetched next.
        partial = gitcmd.clone(
            source.url, new, branch=source.branch, what=f"cannot clone {shown}", hint=hint, shallow=True
        )
        if not partial:
            notes.append("the server does not support partial clone; made a full clone")
        state = _checkout(new)
        if state is None:
            raise ArchiveError(f"{shown} has no commits to use as an archive", hint=hint)
        changes = _index_of_clone(new, state, notes)
        data = idx.encode(url=source.url, branch=state.branch, commit=state.head, entries=changes.entries)
    except BaseException:
        recovery.rmtree(new)
        recovery.clear_journal()
        raise
    if _archive().exists():
        os.rename(_archive(), recovery.old_dir())
    os.rename(new, _archive())
    _write_index(data)
    recovery.rmtree(recovery.old_dir())
    recovery.clear_journal()
    return _report(shown, state.branch, None, state.head, changes, notes, cloned=True)


def _index_of_clone(root: Path, state: _Checkout, notes: list[str]) -> Changes:
    """The index of a new (shallow) clone: from the search index the archive publishes when
    there is one kube can use (``kube.archive.published``: for search and info only), built
    here otherwise. The history is fetched unless the published index describes HEAD itself:
    a build dates every formula from it, and an index of an older commit is checked against
    it and brought up to date from it."""
    from kube.archive import published

    have_history = not gitcmd.shallow_commits(root)
    base = None
    try:
        if published.fetch(root):
            try:
                try:
                    base = published.read(root, state.head, history=have_history)
                except published.NeedsHistory:
                    # An index of an older commit is checked against the history, and brought
                    # up to date from it: fetch it, and look again.
                    _unshallow(root, state, notes)
                    have_history = True
                    base = published.read(root, state.head)
            except published.Unusable as why:
                notes.append(f"the archive's published search index was not used ({why}); built it here")
    finally:
        published.remove(root)
    if base is not None:
        from kube.archive.changes import build_from_published

        changes = build_from_published(root, state.head, base)
        since = "" if base.header.commit == state.head else ", and read what changed since"
        notes.append(f"used the search index the archive published for {base.header.commit[:8]}{since}")
        return changes
    if not have_history:
        _unshallow(root, state, notes)
    return _build_index(root, state, None)


def _unshallow(root: Path, state: _Checkout, notes: list[str]) -> None:
    """Fetch the history a shallow clone lacks. A source that is itself a shallow
    clone has none to send: the clone stays shallow, and the formulas last changed before its
    oldest commit are dated unknown (``changes.build_index``), which the notes say."""
    shown = gitcmd.display_url(state.url)
    refspec = gitcmd.branch_refspec(state.branch)
    gitcmd.fetch(root, refspec, what=f"cannot fetch the history of {shown}", hint=_FETCH_HINT, unshallow=True)
    if gitcmd.shallow_commits(root):
        notes.append(
            f"{shown} sent only part of its history (it is a shallow clone itself): "
            "`kube info` shows the formulas it does not date as built at an unknown date"
        )


def _fast_forward(source: ArchiveSource, state: _Checkout, reset: bool, notes: list[str]) -> UpdateReport:
    shown = gitcmd.display_url(source.url)
    refspec = gitcmd.branch_refspec(state.branch)
    hint = _FETCH_HINT
    try:
        gitcmd.fetch(_archive(), refspec, what=f"cannot fetch {shown}", hint=hint)
    except ArchiveError:
        gitcmd.remove_temporaries(_archive())  # a half-received pack would keep a full disk full
        raise
    # And what a killed fetch left: the guard of this one waited for any such git to end.
    gitcmd.remove_temporaries(_archive(), loose=False)
    target = gitcmd.resolve(
        _archive(),
        f"refs/remotes/origin/{state.branch}",
        what=f"cannot read branch {state.branch} fetched from {shown}",
    )
    if target == state.head:
        if reset:
            _discard_local_changes(notes)
        changes = _sync_index(state, notes)
        return _report(shown, state.branch, state.head, state.head, changes, notes)
    from kube.archive.changes import incoming_paths

    diff = gitcmd.diff(_archive(), state.head, target)
    dirty = _guard_local_changes(reset, incoming=incoming_paths(diff))
    if not reset and not _is_ancestor(state.head, target):
        raise ArchiveError(
            f"the history of {shown} was rewritten: the archive's {state.head[:8]} is not part of "
            f"{state.branch} at {target[:8]}, so it cannot be fast-forwarded",
            hint="run `kube update --reset` to accept the new history",
        )
    base = _usable_index(state)
    recovery.write_journal({"op": "checkout", "from": state.head, "to": target})
    try:
        gitcmd.reset_hard(_archive(), target, what=f"cannot check out {target[:8]}")
    except ArchiveError:
        gitcmd.reset_hard(_archive(), state.head, what="cannot restore the archive")
        recovery.clear_journal()
        raise
    if dirty:
        gitcmd.clean(_archive(), what="cannot discard local changes in the archive")
        notes.append(f"discarded local changes in {len(dirty)} file(s)")
    new_state = _Checkout(state.url, state.branch, target)
    changes = _build_index(_archive(), new_state, base, old_commit=state.head, diff=diff)
    _write_index(idx.encode(url=state.url, branch=state.branch, commit=target, entries=changes.entries))
    # gc runs before the journal goes: a kube killed during it leaves the journal, so the next
    # one waits for the orphaned gc (recovery) instead of running git beside it.
    try:
        gitcmd.gc(_archive())
    except ArchiveError as exc:
        notes.append(f"the update worked, but {exc.message}")
    recovery.clear_journal()
    return _report(shown, state.branch, state.head, target, changes, notes)


def _is_ancestor(old: str, new: str) -> bool:
    return gitcmd.is_ancestor(_archive(), old, new)


def _local_changes(*, incoming: list[str] | None = None) -> list[str]:
    """Edited, added or deleted files in the archive that git would overwrite.

    Without ``incoming`` every difference counts (a re-clone replaces everything). With it,
    tracked files count, and untracked ones only where the update writes (``incoming``):
    elsewhere a fast-forward leaves them alone, and scanning 10,000 directories for them
    costs more than the rest of a small update."""
    files = gitcmd.tracked_changes(_archive())
    if incoming is None:
        return files + [p for p in gitcmd.untracked(_archive()) if p not in files]
    # Something already at an incoming path is only lost when git does not track it: a tracked
    # directory that becomes a symlink, or a type change, is the update itself.
    there = [p for p in incoming if p not in files and _lexists_inside(_archive(), p)]
    untracked: list[str] = []
    for start in range(0, len(there), 500):
        found = gitcmd.untracked(_archive(), there[start : start + 500])
        untracked += [p for p in found if p not in files and p not in untracked]
    return files + untracked


def _lexists_inside(root: Path, rel: str) -> bool:
    """Whether ``root/rel`` exists, never looking through a symlink on the way (``formulas``
    may be one: what lies behind it is not the archive's)."""
    here = root
    parts = rel.split("/")
    for part in parts[:-1]:
        here = here / part
        try:
            if not stat.S_ISDIR(os.lstat(here).st_mode):
                return False
        except OSError:
            return False
    return os.path.lexists(here / parts[-1])


def _guard_local_changes(reset: bool, *, incoming: list[str] | None = None) -> list[str]:
    """The changed files; LocalChangesError unless ``reset`` allows throwing them away."""
    files = _local_changes(incoming=None if reset else incoming)
    if files and not reset:
        names = sorted({f.split("/")[1] for f in files if f.startswith("formulas/") and f.count("/") >= 2})
        shown = ", ".join(files[:5]) + (f" (and {len(files) - 5} more)" if len(files) > 5 else "")
        keep = (
            f"keep them with `kube get {names[0]}` (copies the formula to your workspace), " if names else ""
        )
        raise LocalChangesError(
            f"the archive {_archive()} has local changes an update would overwrite: {shown}",
            files=files,
            hint=f"{keep}or discard them with `kube update --reset`",
        )
    return files


def _discard_local_changes(notes: list[str]) -> None:
    dirty = _local_changes()
    if dirty:
        gitcmd.reset_hard(_archive(), "HEAD", what="cannot discard local changes")
        gitcmd.clean(_archive(), what="cannot discard local changes")
        notes.append(f"discarded local changes in {len(dirty)} file(s)")


def _write_index(data: bytes) -> None:
    """Replace the index; on failure the old one stays, and since its commit is no longer the
    clone's HEAD, search and info rebuild it before they read it (``_healthy``)."""
    try:
        paths.atomic_write(paths.index_file(), data)
    except OSError as exc:
        raise _os_error(exc, "the search index could not be written") from exc
    _write_lookup(idx.parse(data, paths.index_file()))


def _os_error(exc: OSError, doing: str) -> ArchiveError:
    """One line for a write that failed in ``$KUBE_HOME`` (a full disk above all)."""
    where = exc.filename or paths.kube_home()
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return ArchiveError(
            f"disk full at {where}: {doing}",
            hint="free some space on that disk, then run `kube update` again "
            "(search and info rebuild the index before they use it)",
        )
    return ArchiveError(f"cannot write {where}: {exc.strerror}: {doing}", hint=f"check {paths.kube_home()}")


def _usable_index(state: _Checkout, *, damaged: bool = False) -> idx.Index | None:
    header = idx.read_header()
    if damaged or header is None or header.url != state.url:
        return None
    try:
        return idx.load_index()
    except idx.IndexUnavailable:
        return None


def _sync_index(state: _Checkout, notes: list[str], *, damaged: bool = False) -> Changes:
    """Bring the index level with the clone's HEAD (incrementally when it can; fully when ``damaged``)."""
    from kube.archive.changes import Changes

    header = idx.read_header()
    if not damaged and header is not None and header.commit == state.head and header.url == state.url:
        return Changes({})
    base = _usable_index(state, damaged=damaged)
    old_commit = base.header.commit if base is not None else None
    changes = _build_index(_archive(), state, base, old_commit=old_commit)
    _write_index(idx.encode(url=state.url, branch=state.branch, commit=state.head, entries=changes.entries))
    notes.append("rebuilt the search index" if base is None else "brought the search index up to date")
    return changes


def _build_index(
    root: Path,
    state: _Checkout,
    base: idx.Index | None,
    *,
    old_commit: str | None = None,
    diff: list[gitcmd.Change] | None = None,
) -> Changes:
    from kube.archive.changes import build_index

    return build_index(root, state.head, base, old_commit, diff=diff)


def _report(
    url: str,
    branch: str,
    old: str | None,
    new: str,
    changes: Changes,
    notes: list[str],
    *,
    cloned: bool = False,
) -> UpdateReport:
    from kube.archive.changes import UpdateReport

    return UpdateReport.make(url, branch, old, new, changes, notes, cloned=cloned)


def formula_names() -> list[str]:
    return read_index().names()


def formula_dir(name: str) -> Path:
    """The formula's directory in the archive; NotFoundError (with close names) when there is none."""
    directory = archive_formula(name)
    if directory is None:
        raise not_found(name)
    materialize([name])
    return directory


def materialize(names: list[str]) -> None:
    """Check these formulas out in full when the archive is a sparse clone (fetch on use; a
    no-op, with no git started, for a full clone or a formula already whole)."""
    from kube.archive import materialize as fetch_on_use

    try:
        fetch_on_use.materialize(_archive(), names)
    except OSError as exc:
        raise _os_error(exc, "the formula's files could not be fetched") from exc


def head_commit() -> str | None:
    """The archive's HEAD commit, read from ``.git`` (None when it cannot be read that way)."""
    return _head_commit(_archive())


def archive_formula(name: str) -> Path | None:
    """``formulas/<name>`` of the clone when it is a real directory there (no symlink on the way)."""
    formulas = paths.formulas_in(_archive())
    if formulas is None or not idx.NAME_RE.fullmatch(name):
        return None
    directory = formulas / name
    try:
        return directory if stat.S_ISDIR(os.lstat(directory).st_mode) else None
    except OSError:
        return None


def not_found(name: str) -> NotFoundError:
    try:
        close = read_index().close_matches(name)
    except ArchiveError:
        close = []
    maybe = f"; did you mean {', '.join(close)}?" if close else ""
    return NotFoundError(
        f"no kube named {name!r} in the archive{maybe}",
        # Quoted: the name is the user's own text, and a hint is a command to paste.
        hint=f"run `kube update` to refresh the archive, or `kube search {shlex.quote(name)}`",
    )


def workspace_copy(name: str) -> Path | None:
    """``$KUBE_HOME/workspace/<name>`` when it holds a K3.yaml (a ``kube get`` copy)."""
    if not idx.NAME_RE.fullmatch(name):
        return None
    directory = paths.workspace_dir() / name
    k3 = directory / paths.METADATA_FILE
    if directory.is_symlink() or not k3.is_file() or k3.is_symlink():
        return None

    if copy_state(directory) == "incomplete":
        raise ArchiveError(
            f"your copy of {name} in {directory} is incomplete: an earlier `kube get` stopped half way",
            hint=f"finish it with `kube get {name} --force`, or delete {directory}",
        )
    return directory
