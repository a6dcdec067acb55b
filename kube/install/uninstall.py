"""Uninstall: delete exactly what a release's records list, newest first, never re-rendering.

The objects are those of the release's latest revision, then those of its deployed
revision that the latest does not list (an upgrade stopped half way may have
created some and not yet pruned others). Before deleting, they are read back in
one call. An object is left alone when it is gone already, when it is not the one
kube made (it lacks this release's labels: kube's managed-by, the formula's and,
for a format 2 revision, ``kube.sh/release: <release>``; or its uid is not the one
recorded: both must match; only objects a pending revision lists before they were
created have no uid, and for them the labels decide), or when it is annotated
``kube.sh/resource-policy: keep``. The rest go in one ``kubectl delete``, in
reverse creation order; when some of them carry ``config.kubernetes.io/depends-on``,
the dependents are deleted first and waited for until gone, within ``timeout``,
before what they name (``kube.install.depends``). ``deleted`` means the API server no longer has the
object (read back once more unless ``wait``); one it still holds (finalizers)
is ``being deleted``, and one that was gone before is ``already gone``. The install
namespace is deleted too when kube created it (the record says so, or the
namespace carries kube's managed-by label) and nothing else lives in it; every
revision Secret of the release (round-one record included) is removed last, and
only when every deletion worked, so a failed uninstall can be run again.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from kube.core.errors import ClusterError
from kube.install import depends, shared
from kube.install.depends import OnEvent
from kube.install.results import ObjectStatus, RemovalState, UninstallResult
from kube.k8s.kubectl import Kubectl, ObjectRef
from kube.k8s.kubectl_output import Reason
from kube.k8s.objects import KEEP_ANNOTATION
from kube.k8s.releases import RecordedObject, Release, Revision

__all__ = [
    "DELETED", "DELETING", "FAILED", "GONE", "KEEP_ANNOTATION", "KEPT", "NOT_OURS", "ObjectStatus",
    "RemovalState", "UninstallResult", "find_release", "namespace_residents", "objects_of", "uninstall",
]  # fmt: skip

DELETED, GONE, KEPT, NOT_OURS, FAILED, DELETING = (
    RemovalState.DELETED, RemovalState.GONE, RemovalState.KEPT, RemovalState.NOT_OURS, RemovalState.FAILED,
    RemovalState.DELETING,
)  # fmt: skip
_PROTECTED_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})


def find_release(kubectl: Kubectl, name: str, namespace: str | None) -> Release:
    """The release ``name``: in ``namespace``, or the only one of that name in the cluster when None."""
    from kube.k8s import releases

    return releases.find_release(kubectl, name, namespace)


def objects_of(release: Release) -> tuple[Revision, tuple[RecordedObject, ...]]:
    """The revision an uninstall speaks for (the latest) and the objects it deletes, in creation
    order: the latest revision's, then the deployed revision's that the latest does not list."""
    latest = release.latest
    if latest is None or release.problem:
        problem = release.problem or f"release {release.name} has no readable record"
        raise ClusterError(
            problem,
            hint=f"inspect it with `kube history {release.name} -n {release.namespace}`",
        )
    listed = list(latest.objects)
    seen = {o.ref for o in listed}
    deployed = release.deployed
    if deployed is not None and deployed is not latest:
        listed += [o for o in deployed.objects if o.ref not in seen]
    return latest, tuple(listed)


def uninstall(
    kubectl: Kubectl,
    release: Release,
    *,
    wait: bool = False,
    timeout: float = 300.0,
    on_event: OnEvent | None = None,
) -> UninstallResult:
    """Delete what ``release`` lists; see the module docstring."""
    from kube.k8s import releases

    record, objects = objects_of(release)
    live = kubectl.get([o.ref for o in objects]) if objects else []
    statuses: dict[ObjectRef, ObjectStatus] = {}
    doomed: list[ObjectRef] = []
    me = shared.user(record.namespace, record.release)
    sharing = _Sharing(kubectl, me, {_key(o.ref) for o in objects})
    for recorded, outcome in zip(objects, live, strict=True):
        ref = recorded.ref
        if outcome.live is None:
            gone = outcome.reason in (Reason.NOT_FOUND, Reason.NO_MATCH)
            detail = "" if outcome.reason == Reason.NOT_FOUND else outcome.message
            statuses[ref] = ObjectStatus(ref, GONE if gone else FAILED, detail)
        elif not (_labelled_for(outcome.live, record) or sharing.uses(ref, outcome.live, record.namespace)):
            statuses[ref] = ObjectStatus(ref, NOT_OURS, f"does not carry the labels of {record.release}")
        elif recorded.uid and _meta(outcome.live).get("uid") != recorded.uid:
            statuses[ref] = ObjectStatus(ref, NOT_OURS, "made again since the install (uid differs)")
        elif (left := sharing.leave(ref, outcome.live, record.namespace)) is not None:
            statuses[ref] = left
        elif kept := _kept(outcome.live):
            statuses[ref] = ObjectStatus(ref, KEPT, kept)
        elif (held := sharing.crd_in_use(ref, outcome.live)) is not None:
            statuses[ref] = held
        else:
            doomed.append(ref)
    deleted: list[ObjectRef] = []
    found = {o.ref: o.live for o in live if o.live is not None}
    # Dependents first, waiting until they are gone before what they depend on (kube.install.depends).
    for outcome in depends.delete_in_order(
        kubectl, doomed, found, wait=wait, timeout=timeout, on_event=on_event
    ):
        if outcome.ok and outcome.reason == Reason.NOT_FOUND:
            statuses[outcome.ref] = ObjectStatus(outcome.ref, GONE)  # gone since it was read
            continue
        detail = "" if outcome.ok else f"{outcome.reason}: {outcome.message}"
        statuses[outcome.ref] = ObjectStatus(outcome.ref, DELETED if outcome.ok else FAILED, detail)
        if outcome.ok:
            deleted.append(outcome.ref)
    if deleted and not wait:
        for outcome in kubectl.get(deleted):
            if outcome.live is not None:
                finalizers = ", ".join(str(f) for f in _meta(outcome.live).get("finalizers") or ())
                detail = f"finalizers: {finalizers}" if finalizers else "the API server still has it"
                statuses[outcome.ref] = ObjectStatus(outcome.ref, DELETING, detail)
    ordered = tuple(statuses[o.ref] for o in reversed(objects))
    what = (record.formula, record.version, record.namespace, ordered)
    if any(s.status == FAILED for s in ordered):
        return UninstallResult(*what, record_removed=False, release=record.release)
    delete_namespace, note = _namespace_verdict(kubectl, release)
    releases.delete_release(kubectl, release)
    if delete_namespace:
        kubectl.delete_named("namespaces", record.namespace, None, wait=wait)
    return UninstallResult(*what, delete_namespace, note, record_removed=True, release=record.release)


def _key(ref: ObjectRef) -> tuple[str, str, str, str]:
    return (ref.group, ref.kind, ref.namespace, ref.name)


def _kept(live: Mapping[str, Any]) -> str:
    from kube.install.apply import KEEP

    annotations = _meta(live).get("annotations") or {}
    if annotations.get(KEEP_ANNOTATION) == "keep":
        return f"{KEEP_ANNOTATION}: keep"
    return f'{KEEP}: "true"' if annotations.get(KEEP) == "true" else ""


class _Sharing:
    """The shared cluster-scoped objects of one uninstall (``kube.install.shared``): the
    releases of the cluster are listed once, and only when an object names other users."""

    def __init__(self, kubectl: Kubectl, me: str, own: set[tuple[str, str, str, str]]) -> None:
        self.kubectl, self.me, self.own = kubectl, me, own
        self._existing: set[str] | None = None
        self._listed = False

    def uses(self, ref: ObjectRef, live: Mapping[str, Any], ns: str) -> bool:
        return shared.is_shared(ref, ns) and self.me in shared.users_of(live)

    def leave(self, ref: ObjectRef, live: Mapping[str, Any], ns: str) -> ObjectStatus | None:
        """KEPT when other releases still use ``ref`` (this one is taken off its users)."""
        if not shared.is_shared(ref, ns) or not [u for u in shared.users_of(live) if u != self.me]:
            return None
        if not self._listed:
            self._existing, self._listed = shared.existing_releases(self.kubectl), True
        still = shared.remaining_users(live, self.me, self._existing)
        if not still:
            return None
        try:
            return ObjectStatus(ref, KEPT, shared.leave(self.kubectl, ref, live, self.me, still))
        except ClusterError as exc:
            return ObjectStatus(ref, FAILED, f"shared with {shared.listing(still)}; {exc.message}")

    def crd_in_use(self, ref: ObjectRef, live: Mapping[str, Any]) -> ObjectStatus | None:
        """FAILED for a CRD whose custom resources (other than this release's own) remain."""
        if (ref.group, ref.kind) != shared.CRD:
            return None
        left = shared.custom_resources(self.kubectl, live, self.own)
        if not left:
            return None
        count = f"{len(left)} custom resource{'s' if len(left) != 1 else ''}"
        return ObjectStatus(
            ref,
            FAILED,
            f"not deleted: {count} of it remain ({shared.listing(left)}); delete them, or annotate "
            f"it {KEEP_ANNOTATION}=keep, then run kube uninstall again",
        )


def _labelled_for(obj: Mapping[str, Any], record: Revision) -> bool:
    """kube's labels for ``record``'s release; a round-one install's objects carry no release label."""
    from kube.k8s.objects import FORMULA_LABEL, MANAGED_BY, MANAGED_BY_LABEL, label_value
    from kube.k8s.release_format import RELEASE_LABEL

    labels = _meta(obj).get("labels") or {}
    if record.format_version != 1 and labels.get(RELEASE_LABEL) != record.release:
        return False
    return bool(
        labels.get(MANAGED_BY_LABEL) == MANAGED_BY
        and labels.get(FORMULA_LABEL) == label_value(record.formula)
    )


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def _namespace_verdict(kubectl: Kubectl, release: Release) -> tuple[bool, str]:
    from kube.k8s.objects import MANAGED_BY, MANAGED_BY_LABEL

    ns = release.namespace
    created = any(r.created_namespace for r in release.revisions)
    if ns in _PROTECTED_NAMESPACES:
        return False, ""
    live = kubectl.get_named("namespaces", ns, None)
    if live is None:
        return False, ""
    labels = _meta(live).get("labels") or {}
    if not created and labels.get(MANAGED_BY_LABEL) != MANAGED_BY:
        return False, ""
    residents = namespace_residents(kubectl, ns, ignore=set(release.secret_names))
    if residents:
        more = f" and {len(residents) - 3} more" if len(residents) > 3 else ""
        verb = "lives" if len(residents) == 1 else "live"
        return False, f"namespace {ns} was kept: {', '.join(residents[:3])}{more} still {verb} in it"
    return True, ""


def namespace_residents(kubectl: Kubectl, ns: str, *, ignore: Collection[str]) -> list[str]:
    """What lives in ``ns`` besides what Kubernetes puts in every namespace, objects on their way
    out and objects owned by another object (``Kind/name``); Secrets named in ``ignore`` do not count."""
    return [
        f"{obj.get('kind')}/{_meta(obj).get('name')}"
        for obj in kubectl.list_many(_listable(kubectl), ns)
        if not _incidental(obj, ignore)
    ]


def _listable(kubectl: Kubectl) -> list[str]:
    skip_groups = ("events.k8s.io", "metrics.k8s.io")
    return [r for r in kubectl.namespaced_resources() if r != "events" and not r.endswith(skip_groups)]


def _incidental(obj: Mapping[str, Any], ignore: Collection[str]) -> bool:
    meta = _meta(obj)
    kind, name = obj.get("kind"), meta.get("name")
    if meta.get("deletionTimestamp") or meta.get("ownerReferences"):
        return True
    if kind == "Secret":
        return name in ignore or obj.get("type") == "kubernetes.io/service-account-token"
    if kind == "ConfigMap":
        return name == "kube-root-ca.crt"
    if kind == "ServiceAccount":
        return name == "default"
    # A Service's Endpoints outlive it briefly and carry no owner reference.
    return kind in ("Endpoints", "Event")
