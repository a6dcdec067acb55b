"""Releases in the cluster: every revision of every release, read, written and pruned through kubectl.

A release is a name (``validate_release_name``: a DNS-1123 label of at most 53 characters) in
a namespace, and the revisions recorded under it (``kube.k8s.release_format`` describes the
Secret of each). Listing asks the API server once, with the label selector every record of
either format carries; reading one release asks once for its format 2 revisions and, only
when it has no revision 1 of format 2, once more for a round-one record (which is revision 1).

Writes are optimistic, as the API server makes them: a revision is created, never
overwritten, so two upgrades that both chose revision N cannot both succeed (the second gets
``AlreadyExists``); a replace or a status change carries the ``resourceVersion`` read, so
it fails rather than undo a change made since.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from kube.core.errors import ClusterError, NotFoundError, UsageError
from kube.k8s import records
from kube.k8s.kubectl import Kubectl, ObjectRef, Outcome, validate_namespace
from kube.k8s.release_format import DATA_LIMIT as DATA_LIMIT
from kube.k8s.release_format import FORMAT_VERSION as FORMAT_VERSION
from kube.k8s.release_format import SELECTOR, STATUS_LABEL
from kube.k8s.release_format import Failure as Failure
from kube.k8s.release_format import RecordedObject as RecordedObject
from kube.k8s.release_format import ReleaseOutcome as ReleaseOutcome
from kube.k8s.release_format import ReleaseStatus as ReleaseStatus
from kube.k8s.release_format import Revision as Revision
from kube.k8s.release_format import Unreadable as Unreadable
from kube.k8s.release_format import check_size as check_size
from kube.k8s.release_format import secret_name as secret_name
from kube.k8s.release_format import to_secret as to_secret
from kube.k8s.release_format import utc_now as utc_now
from kube.k8s.release_names import MAX_NAME as MAX_NAME
from kube.k8s.release_names import RELEASE_LABEL
from kube.k8s.release_names import validate_release_name as validate_release_name
from kube.k8s.release_read import from_secret as from_secret
from kube.k8s.release_read import is_record

#: Revisions kept per release unless told otherwise (Helm's ``--history-max`` default too).
DEFAULT_MAX_HISTORY = 10


@dataclass(frozen=True)
class Release:
    """A release and its history: ``revisions`` (checked, oldest first) and ``unreadable``
    (record Secrets of this release name that did not pass the checks)."""

    name: str
    namespace: str
    revisions: tuple[Revision, ...] = ()
    unreadable: tuple[Unreadable, ...] = ()

    @property
    def latest(self) -> Revision | None:
        return self.revisions[-1] if self.revisions else None

    @property
    def deployed(self) -> Revision | None:
        """The newest revision the cluster runs: what an upgrade starts from, a rollback returns to."""
        return next((r for r in reversed(self.revisions) if r.status is ReleaseStatus.DEPLOYED), None)

    @property
    def next_revision(self) -> int:
        """The number the next revision takes: after every one recorded, unreadable ones included."""
        numbers = [r.revision for r in self.revisions] + [u.revision for u in self.unreadable]
        return max(numbers, default=0) + 1

    @property
    def problem(self) -> str:
        """Why the history cannot be trusted as a whole ("" when it can): the newest record is unreadable."""
        newest = max(self.unreadable, key=lambda u: u.revision, default=None)
        latest = self.latest
        if newest is not None and (latest is None or newest.revision >= latest.revision):
            return newest.problem
        return ""

    @property
    def secret_names(self) -> tuple[str, ...]:
        return (*(r.secret_name for r in self.revisions), *(u.secret for u in self.unreadable if u.secret))

    def revision(self, number: int) -> Revision | None:
        return next((r for r in self.revisions if r.revision == number), None)

    def with_revision(self, rev: Revision) -> Release:
        """This release with ``rev`` added, or replacing the revision of the same number."""
        kept = tuple(r for r in self.revisions if r.revision != rev.revision)
        return replace(self, revisions=tuple(sorted((*kept, rev), key=lambda r: r.revision)))


def assemble(found: Sequence[Revision | Unreadable]) -> list[Release]:
    """Releases from the revisions read, by namespace then name. A round-one revision followed by a
    later one reads as superseded: that record has no status to change."""
    releases = []
    for (namespace, name), revs in grouped(found).items():
        readable = [r for r in revs if isinstance(r, Revision)]
        if len(readable) > 1 and readable[0].format_version == 1:
            readable[0] = replace(readable[0], status=ReleaseStatus.SUPERSEDED)
        unreadable = tuple(r for r in revs if isinstance(r, Unreadable))
        releases.append(Release(name, namespace, tuple(readable), unreadable))
    return releases


def sort_key(rev: Revision | Unreadable) -> tuple[str, str, int]:
    return (rev.namespace, rev.release, rev.revision)


def grouped(
    found: Sequence[Revision | Unreadable],
) -> dict[tuple[str, str], list[Revision | Unreadable]]:
    """Revisions by (namespace, release), each list oldest first."""
    groups: dict[tuple[str, str], list[Revision | Unreadable]] = {}
    for rev in sorted(found, key=sort_key):
        groups.setdefault((rev.namespace, rev.release), []).append(rev)
    return groups


# -- reads ------------------------------------------------------------------------------------


def read_release(kubectl: Kubectl, name: str, namespace: str) -> Release | None:
    """The release ``name`` in ``namespace`` with its whole history; None when it has no record."""
    validate_release_name(name)
    # One call for both formats: every record of the namespace, then this release's. A round-one
    # record carries no release label (its formula is its release), so a selector on it would
    # need a second call; a process costs more than the records of one namespace.
    secrets = kubectl.list_objects("secrets", namespace=validate_namespace(namespace), selector=SELECTOR)
    return _release_of(secrets, name)


def _release_of(secrets: Sequence[Mapping[str, Any]], name: str) -> Release | None:
    """The release ``name`` among the record Secrets of one namespace (``read_release``'s rules)."""
    mine = [
        s for s in secrets
        if is_record(s)
        and (
            (s.get("metadata") or {}).get("labels", {}).get(RELEASE_LABEL) == name
            or (s.get("metadata") or {}).get("name") == records.NAME_PREFIX + name
        )
    ]  # fmt: skip
    found = [r for r in (from_secret(s) for s in mine) if r.release == name]
    legacy = records.NAME_PREFIX + name
    if any(_secret_of(r) == secret_name(name, 1) for r in found):
        # A release that has a format 2 revision 1 began after round one: a round-one record of
        # the same name is not part of its history.
        found = [r for r in found if _secret_of(r) != legacy]
    releases = assemble(found)
    return releases[0] if releases else None


def _secret_of(rev: Revision | Unreadable) -> str:
    return rev.secret if isinstance(rev, Unreadable) else rev.secret_name


def history(kubectl: Kubectl, name: str, namespace: str) -> Release:
    """As ``read_release``, but a release without any record is an error (``kube history``)."""
    release = read_release(kubectl, name, namespace)
    if release is None:
        raise NotFoundError(
            f"no release {name} in namespace {namespace}",
            hint=f"run `kube list -n {namespace}` to see the releases there",
        )
    return release


def read_latest(kubectl: Kubectl, name: str, namespace: str) -> Revision | None:
    release = read_release(kubectl, name, namespace)
    return release.latest if release else None


def list_releases(kubectl: Kubectl, namespace: str | None = None) -> list[Release]:
    """Every release in ``namespace``, or in the whole cluster when None, both formats, in one kubectl
    call; by namespace, then name. Each comes with its history: ``latest`` is what ``kube list`` shows."""
    secrets = kubectl.list_objects(
        "secrets", namespace=validate_namespace(namespace) if namespace else None, selector=SELECTOR
    )
    return assemble([from_secret(s) for s in secrets if is_record(s)])


def find_release(kubectl: Kubectl, name: str, namespace: str | None) -> Release:
    """The release ``name``: in ``namespace``, or the only release of that name in the cluster when
    None (the namespace the kubeconfig names when RBAC keeps kube from listing the cluster).
    ``NotFoundError`` when there is none, ``UsageError`` when several namespaces have one; a release
    whose newest record is unreadable comes back as it is (``Release.problem`` says why)."""
    validate_release_name(name)
    if namespace is not None:
        release = read_release(kubectl, name, namespace)
        if release is None:
            raise NotFoundError(f"{name} is not installed in namespace {namespace}", hint="see `kube list`")
        return release
    try:
        found = [r for r in list_releases(kubectl) if r.name == name]
    except ClusterError as exc:
        if "forbidden" not in exc.message.lower():
            raise
        return find_release(kubectl, name, kubectl.current_namespace())
    return _only_one(name, found)


def _only_one(name: str, found: list[Release]) -> Release:
    # A release that does not hold together does not make the name ambiguous; alone, it is refused.
    found = [r for r in found if r.latest is not None and not r.problem] or found
    if not found:
        raise NotFoundError(f"{name} is not installed", hint="see `kube list`")
    if len(found) > 1:
        where = ", ".join(r.namespace for r in found)
        raise UsageError(f"{name} is installed in several namespaces ({where})", hint="choose one with -n")
    return found[0]


def find_release_and_others(
    kubectl: Kubectl, name: str, namespace: str | None
) -> tuple[Release, list[Release]]:
    """``find_release``, and every release the user may list (``list_releases_visible``), from one
    kubectl call: the records of the whole cluster, or of the namespace (``namespace``, else the
    kubeconfig's) when RBAC allows no more. Uninstall reads both: the release, and the releases
    that may depend on it."""
    validate_release_name(name)
    try:
        secrets = kubectl.list_objects("secrets", namespace=None, selector=SELECTOR)
        scoped = None
    except ClusterError as exc:
        if "forbidden" not in exc.message.lower():
            raise
        scoped = kubectl.namespace_or_current(namespace)
        secrets = kubectl.list_objects("secrets", namespace=scoped, selector=SELECTOR)
    everyone = assemble([from_secret(s) for s in secrets if is_record(s)])
    where = namespace if namespace is not None else scoped
    if where is not None:
        here = [s for s in secrets if (s.get("metadata") or {}).get("namespace") == where]
        release = _release_of(here, name)
        if release is None:
            raise NotFoundError(f"{name} is not installed in namespace {where}", hint="see `kube list`")
        return release, everyone
    return _only_one(name, [r for r in everyone if r.name == name]), everyone


def with_missing(
    kubectl: Kubectl, revisions: Sequence[Revision], *, readiness: bool = False
) -> list[Revision]:
    """``revisions`` with ``missing`` filled in, from one ``kubectl get`` of all their objects. An
    object counts as missing when the API server has none of that name, or one with another uid
    (made again by someone else); objects kube may not read (Forbidden) do not count. When the
    cluster does not answer, ``missing`` stays None: "not checked" is never "all there".
    ``readiness`` also fills ``unready``: objects that exist but are not ready by kube's kstatus
    rules (``kube.k8s.wait.assess``), read from the same answer."""
    from kube.k8s.kubectl_output import Reason
    from kube.k8s.wait import READY, assess

    refs = [o.ref for r in revisions for o in r.objects]
    if not refs:
        return [replace(r, missing=0) for r in revisions]
    try:
        live = iter(kubectl.get(refs))
    except ClusterError:
        return list(revisions)
    checked = []
    for rev in revisions:
        missing = unready = 0
        for recorded in rev.objects:
            outcome = next(live)
            if outcome.live is None:
                missing += outcome.reason in (Reason.NOT_FOUND, Reason.NO_MATCH)
            elif recorded.uid and (outcome.live.get("metadata") or {}).get("uid") != recorded.uid:
                missing += 1
            elif readiness and assess(outcome.live)[0] is not READY:
                unready += 1
        checked.append(replace(rev, missing=missing, unready=unready if readiness else None))
    return checked


def list_releases_visible(kubectl: Kubectl, namespace: str) -> list[Release]:
    """Releases in the whole cluster, or only in ``namespace`` when RBAC allows no more."""
    try:
        return list_releases(kubectl)
    except ClusterError as exc:
        if "forbidden" not in exc.message.lower():
            raise
        return list_releases(kubectl, namespace)


# -- writes -----------------------------------------------------------------------------------


def record_write_waiting(kubectl: Kubectl) -> None:
    """Start the ``replace`` that ``write_revision(..., replace_existing=True)`` makes, waiting for
    its input (``Kubectl.start_waiting``)."""
    kubectl.replace_waiting(validate=False)


def write_revision(kubectl: Kubectl, rev: Revision, *, replace_existing: bool = False) -> Revision:
    """Create the record of ``rev`` (refused, before any request, when it is too large), or with
    ``replace_existing`` replace the one read earlier (pending -> complete: its ``resource_version``
    must still be current). Returns ``rev`` with the resourceVersion the API server gave it."""
    if not replace_existing:
        # A revision made from one read earlier (a rollback) is a new object: no resourceVersion.
        rev = replace(rev, resource_version="")
    secret = to_secret(rev)
    # kube wrote this Secret itself: kubectl's schema check would only cost a fetch of the
    # server's OpenAPI document (most of the process's time).
    if replace_existing:
        if not rev.resource_version:
            raise UsageError(f"revision {rev.revision} of {rev.release} was not read: cannot replace it")
        live = kubectl.replace(secret, validate=False)
        return replace(rev, resource_version=_resource_version(live) or rev.resource_version)
    [outcome] = kubectl.create([secret], validate=False)
    if not outcome.ok:
        raise ClusterError(
            f"could not write revision {rev.revision} of release {rev.release} in namespace "
            f"{rev.namespace}: {outcome.reason}: {outcome.message}",
            hint=f"run `kube history {rev.release} -n {rev.namespace}`: another kube may be changing it",
        )
    return replace(rev, resource_version=_resource_version(outcome.live or {}))


def set_status(kubectl: Kubectl, rev: Revision, status: ReleaseStatus) -> Revision:
    """Change the status label of a recorded revision, only if it is unchanged since it was read.

    A round-one record has no status: marking it superseded changes nothing (it reads as superseded
    once a later revision exists); any other status is refused."""
    if rev.format_version == 1:
        if status is ReleaseStatus.SUPERSEDED:
            return replace(rev, status=status)
        raise UsageError(f"release {rev.release} has a round-one record, which holds no status")
    metadata: dict[str, object] = {"labels": {STATUS_LABEL: str(status)}}
    if rev.resource_version:
        metadata["resourceVersion"] = rev.resource_version
    live = kubectl.patch_named("secrets", rev.secret_name, rev.namespace, {"metadata": metadata})
    return replace(rev, status=status, resource_version=_resource_version(live) or rev.resource_version)


def supersede(kubectl: Kubectl, rev: Revision) -> Revision:
    return set_status(kubectl, rev, ReleaseStatus.SUPERSEDED)


def delete_release(kubectl: Kubectl, release: Release) -> tuple[str, ...]:
    """Delete every record of ``release`` (uninstall), unreadable ones of its name included, in one
    call; returns the Secret names. Records already gone count as deleted."""
    names = release.secret_names
    _delete(kubectl, release, names)
    return names


def delete_release_then(kubectl: Kubectl, release: Release, then: Sequence[ObjectRef]) -> list[Outcome]:
    """As ``delete_release``, in the same kubectl call as ``then``, which kubectl deletes after
    the records (uninstall: the install namespace). Returns the outcomes of ``then``; raises,
    as ``delete_release`` does, when a record could not be deleted."""
    refs = _record_refs(release, release.secret_names)
    outcomes = kubectl.delete([*refs, *then])
    _check_deleted(release, outcomes[: len(refs)])
    return outcomes[len(refs) :]


def prune_history(
    kubectl: Kubectl, release: Release, max_history: int = DEFAULT_MAX_HISTORY
) -> tuple[int, ...]:
    """Delete the oldest superseded revisions until at most ``max_history`` records remain (0: no
    limit). The deployed, failed, pending and newest revisions are never pruned, nor unreadable
    records (they still count). Returns the revision numbers deleted; pass the release as it is
    after the new revision was written (``Release.with_revision``)."""
    if max_history < 0:
        raise UsageError(f"--history-max {max_history}: give 0 (no limit) or a positive number")
    total = len(release.revisions) + len(release.unreadable)
    if not max_history or total <= max_history:
        return ()
    newest = release.latest.revision if release.latest else 0
    candidates = [
        r for r in release.revisions if r.status is ReleaseStatus.SUPERSEDED and r.revision != newest
    ]
    doomed = candidates[: total - max_history]
    _delete(kubectl, release, [r.secret_name for r in doomed])
    return tuple(r.revision for r in doomed)


def _record_refs(release: Release, names: Sequence[str]) -> list[ObjectRef]:
    return [ObjectRef("", "v1", "Secret", release.namespace, name) for name in names]


def _delete(kubectl: Kubectl, release: Release, names: Sequence[str]) -> None:
    _check_deleted(release, kubectl.delete(_record_refs(release, names)))


def _check_deleted(release: Release, outcomes: Sequence[Outcome]) -> None:
    failed = [o for o in outcomes if not o.ok]
    if failed:
        first = failed[0]
        raise ClusterError(
            f"could not delete {len(failed)} record(s) of release {release.name} in namespace "
            f"{release.namespace}: {first.ref.name}: {first.reason}: {first.message}",
            hint=f"run `kube history {release.name} -n {release.namespace}` to see what is left",
        )


def _resource_version(live: object) -> str:
    meta = live.get("metadata") if isinstance(live, dict) else None
    return str(meta.get("resourceVersion", "")) if isinstance(meta, dict) else ""
