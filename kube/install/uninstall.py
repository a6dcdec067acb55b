"""Uninstall: delete exactly what a release's records list, newest first, never re-rendering.

The objects are those of the release's latest revision, then those of its deployed
revision that the latest does not list (an upgrade stopped half way may have
created some and not yet pruned others). Before deleting, they are read back in
one call (with the install namespace, which the end of the uninstall may delete). An
object is left alone when it is gone already, when it is not the one kube made (it
lacks this release's labels: kube's managed-by, the formula's and, for a format 2
revision, ``kube.sh/release: <release>``; or its uid is not the one recorded: both
must match; only objects a pending revision lists before they were created have no
uid, and for them the labels decide), or when it is annotated
``kube.sh/resource-policy: keep``. The rest go in one ``kubectl delete``, in
reverse creation order; when some of them carry ``config.kubernetes.io/depends-on``,
the dependents are deleted first and waited for until gone before what they name
(``kube.install.depends``).

Nothing is reported that did not happen. ``deleted`` means a read of the API server answered
NotFound: kube's read back, or kubectl's own when it deleted objects that nothing can hold
(no finalizer, not a Pod or Namespace) and waited until they were gone (``SETTLE`` seconds
at most; past ``SETTLE_OBJECTS`` of them, kube's own read back polls for that long instead,
since kubectl waits for one object after another). An object it still holds after the
delete request (finalizers at work) is ``deleting``; with ``wait``, kube polls until it is
gone, and one still there when ``timeout`` runs out is ``stuck`` (``finalizer
example.com/hold``). ``timeout`` bounds the whole uninstall: every delete, every wait, the
namespace. While anything is deleting, stuck or failed, the release's records stay: the
latest revision is marked ``uninstalling`` and lists only what is left, so ``kube list``
shows the release and a re-run of uninstall resumes (an object it lists that is gone by
then was deleted by this uninstall: ``deleted``).

When every object is gone, every revision Secret of the release (round-one record
included) is removed, then the install namespace when kube created it (the record says so,
or the namespace carries kube's managed-by label) and nothing else lives in it: both in one
``kubectl delete``, the records first. The namespace is ``deleted`` once the API server no
longer has it, ``deleting`` while it is Terminating (without ``wait``), ``stuck`` when it is
still Terminating at the deadline.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import replace
from typing import Any

from kube.core.errors import ClusterError
from kube.install import depends, shared
from kube.install.depends import OnEvent
from kube.install.results import ObjectStatus, RemovalState, UninstallResult
from kube.k8s.kubectl import Kubectl, ObjectRef, Outcome
from kube.k8s.kubectl_output import Reason
from kube.k8s.objects import KEEP_ANNOTATION
from kube.k8s.release_names import PROTECTED_NAMESPACES
from kube.k8s.releases import RecordedObject, Release, ReleaseStatus, Revision

__all__ = [
    "DELETED", "DELETING", "FAILED", "GONE", "KEEP_ANNOTATION", "KEPT", "NOT_OURS", "STUCK", "ObjectStatus",
    "RemovalState", "UninstallResult", "find_release", "namespace_residents", "objects_of", "uninstall",
]  # fmt: skip

DELETED, GONE, KEPT, NOT_OURS, FAILED, DELETING, STUCK, NOT_ATTEMPTED = (
    RemovalState.DELETED, RemovalState.GONE, RemovalState.KEPT, RemovalState.NOT_OURS, RemovalState.FAILED,
    RemovalState.DELETING, RemovalState.STUCK, RemovalState.NOT_ATTEMPTED,
)  # fmt: skip


def find_release(kubectl: Kubectl, name: str, namespace: str | None) -> Release:
    """The release ``name``: in ``namespace``, or the only one of that name in the cluster when None."""
    from kube.k8s import releases

    return releases.find_release(kubectl, name, namespace)


def objects_of(release: Release) -> tuple[Revision, tuple[RecordedObject, ...]]:
    """The revision an uninstall speaks for (the latest) and the objects it deletes, in creation
    order: the latest revision's, then the deployed revision's that the latest does not list
    (unless the latest is an uninstall under way, which lists what is left)."""
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
    # An uninstall under way lists what is left in its own revision.
    resuming = latest.status is ReleaseStatus.UNINSTALLING
    if deployed is not None and deployed is not latest and not resuming:
        listed += [o for o in deployed.objects if o.ref not in seen]
    return latest, tuple(listed)


def uninstall(
    kubectl: Kubectl,
    release: Release,
    *,
    wait: bool = False,
    timeout: float = 300.0,
    on_event: OnEvent | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> UninstallResult:
    """Delete what ``release`` lists; see the module docstring."""
    from kube.k8s import releases
    from kube.k8s.wait import await_gone, holding

    deadline = clock() + timeout
    record, objects = objects_of(release)
    resuming = record.status is ReleaseStatus.UNINSTALLING
    # The install namespace is read in the same call, for the verdict on it at the end (its labels),
    # unless the release lists it as its own object: that one is read again after its deletion.
    ns_ref = ObjectRef("", "v1", "Namespace", "", record.namespace)
    extra = [ns_ref] if _may_delete_namespace(release) and ns_ref not in {o.ref for o in objects} else []
    reads = [o.ref for o in objects] + extra
    created = any(r.created_namespace for r in release.revisions)
    # Before kube deletes the namespace it created, it asks every type the server lists what else
    # lives there. With no CRD in the release, neither answer depends on the objects' deletion
    # (the release's own objects are told apart by uid): both can be read while kube works.
    early = bool(extra) and created and not any(o.ref.kind == "CustomResourceDefinition" for o in objects)
    residents = _Residents(kubectl, record.namespace)
    if early:
        residents.start()
    if objects:
        # The objects' delete loads while they are read (``Kubectl.start_waiting``): as kubectl
        # waits for the few that go at once (below), else without waiting.
        few = len(objects) <= SETTLE_OBJECTS
        kubectl.delete_waiting(wait=few, wait_for=min(SETTLE, _left(deadline, clock)))
    found_all = kubectl.get(reads, timeout=_left(deadline, clock)) if reads else []
    live, ns_read = found_all[: len(objects)], found_all[len(objects) :]
    statuses: dict[ObjectRef, ObjectStatus] = {}
    doomed: list[ObjectRef] = []
    held: dict[ObjectRef, Mapping[str, Any]] = {}  # deleted earlier, still there: waited for below
    me = shared.user(record.namespace, record.release)
    # An upgrade may have moved the release to another formula: its objects carry either label.
    formulas = {r.formula for r in release.revisions}
    sharing = _Sharing(kubectl, me, {_key(o.ref) for o in objects})
    sharing.read_crds([(o.ref, o.live) for o in live if o.live is not None])
    for recorded, outcome in zip(objects, live, strict=True):
        ref = recorded.ref
        if outcome.live is None:
            gone = outcome.reason in (Reason.NOT_FOUND, Reason.NO_MATCH)
            detail = "" if outcome.reason == Reason.NOT_FOUND else outcome.message
            # A revision marked uninstalling lists only what an earlier run asked to delete.
            state = (DELETED if resuming else GONE) if gone else FAILED
            statuses[ref] = ObjectStatus(ref, state, detail)
        elif not (
            _labelled_for(outcome.live, record, formulas) or sharing.uses(ref, outcome.live, record.namespace)
        ):
            statuses[ref] = ObjectStatus(ref, NOT_OURS, f"does not carry the labels of {record.release}")
        elif recorded.uid and _meta(outcome.live).get("uid") != recorded.uid:
            statuses[ref] = ObjectStatus(ref, NOT_OURS, "made again since the install (uid differs)")
        elif (leaving := sharing.leave(ref, outcome.live, record.namespace)) is not None:
            statuses[ref] = leaving
        elif kept := _kept(outcome.live):
            statuses[ref] = ObjectStatus(ref, KEPT, kept)
        elif (in_use := sharing.crd_in_use(ref, outcome.live)) is not None:
            statuses[ref] = in_use
        elif _meta(outcome.live).get("deletionTimestamp"):
            held[ref] = outcome.live  # its deletion was requested already (an earlier run)
        else:
            doomed.append(ref)
    requested: list[ObjectRef] = list(held)
    found = {o.ref: o.live for o in live if o.live is not None}
    residents.deleted = {uid for r in doomed if (uid := str(_meta(found[r]).get("uid", "")))}
    emit = on_event or (lambda event: None)
    # Dependents first, waiting until they are gone before what they depend on (kube.install.depends).
    # When nothing doomed can outlive its delete request (no finalizer, no grace period), kubectl
    # waits, briefly, until a read says each is gone: the read back below is then not needed.
    at_once = bool(doomed) and all(_goes_at_once(ref, found[ref]) for ref in doomed)
    settle = at_once and len(doomed) <= SETTLE_OBJECTS
    if early and settle and not held and ns_read and ns_read[0].live is not None:
        # Only when the delete ends within seconds: a snapshot older than that could miss what
        # someone put in the namespace meanwhile.
        residents.read_ahead()
    if doomed:
        # What comes after the objects' delete, loading while it runs: the records' delete (with
        # the namespace), and the read that says whether the namespace is gone.
        kubectl.delete_waiting()
        if extra:
            kubectl.get_waiting()
    for outcome in depends.delete_in_order(
        kubectl, doomed, found, wait=False, timeout=_left(deadline, clock), on_event=on_event,
        clock=clock, sleep=sleep, settle=min(SETTLE, _left(deadline, clock)) if settle else 0.0,
    ):  # fmt: skip
        if outcome.ok and outcome.reason == Reason.GONE:
            if wait:
                emit(depends.Event(outcome.ref, depends.Phase.DELETED))
            statuses[outcome.ref] = ObjectStatus(outcome.ref, DELETED)
        elif outcome.ok:
            requested.append(outcome.ref)
        elif outcome.reason == depends.DEPENDENTS_REMAIN:
            statuses[outcome.ref] = ObjectStatus(outcome.ref, NOT_ATTEMPTED, outcome.message)
        else:
            statuses[outcome.ref] = ObjectStatus(outcome.ref, FAILED, f"{outcome.reason}: {outcome.message}")
    # Dependents that outlasted the deadline were waited for (depends-on), with or without --wait.
    waited = wait or any(s.status == NOT_ATTEMPTED for s in statuses.values())
    if requested:
        if wait:
            for ref in requested:
                emit(depends.Event(ref, depends.Phase.DELETE_PENDING))
        # Without --wait, one read; or, for objects that go at once too many for kubectl's own
        # wait, reads for SETTLE seconds at most (a CRD goes once its instances are removed).
        grace = min(SETTLE, _left(deadline, clock)) if at_once and not settle else 0.0
        left = await_gone(
            kubectl, requested, deadline=deadline if wait else clock() + grace,
            on_gone=(lambda r: emit(depends.Event(r, depends.Phase.DELETED))) if wait else None,
            clock=clock, sleep=sleep,
        )  # fmt: skip
        for ref in requested:
            if ref not in left:
                statuses[ref] = ObjectStatus(ref, DELETED)
            elif waited:
                emit(depends.Event(ref, depends.Phase.DELETE_TIMEOUT, holding(left[ref])))
                statuses[ref] = ObjectStatus(ref, STUCK, holding(left[ref] or held.get(ref) or {}))
            else:
                detail = f"deletion requested; {holding(left[ref] or held.get(ref) or {})}"
                statuses[ref] = ObjectStatus(ref, DELETING, detail)
    # What the release adopted at install (its formula's Namespace, found existing) is not its own.
    adopted = tuple(
        ObjectStatus(r, KEPT, "adopted at install: kube did not create it") for r in record.adopted
    )
    ordered = tuple(statuses[o.ref] for o in reversed(objects)) + adopted
    what = (record.formula, record.version, record.namespace, ordered)
    remaining = [o for o in objects if statuses[o.ref].status in _REMAINING]
    if remaining:
        _mark_uninstalling(kubectl, record, remaining)
        return UninstallResult(*what, record_removed=False, release=record.release, timeout=timeout)
    delete_namespace, note = _namespace_verdict(kubectl, release, ns_read[0] if ns_read else None, residents)
    ns_state = ""
    if delete_namespace:
        # The records and then the namespace, in one call.
        [outcome] = releases.delete_release_then(kubectl, release, [ns_ref])
        ns_state = _namespace_gone(kubectl, outcome, ns_ref, wait, deadline, clock, sleep)
    else:
        releases.delete_release(kubectl, release)
    return UninstallResult(
        *what, ns_state == "deleted", note, record_removed=True, release=record.release,
        namespace_state=ns_state, timeout=timeout,
    )  # fmt: skip


_REMAINING = (RemovalState.DELETING, RemovalState.STUCK, RemovalState.FAILED, RemovalState.NOT_ATTEMPTED)


def _left(deadline: float, clock: Callable[[], float]) -> float:
    """Seconds left before ``deadline``; a call still gets a few, to say what it found."""
    return max(deadline - clock(), 5.0)


def _mark_uninstalling(kubectl: Kubectl, record: Revision, remaining: Sequence[RecordedObject]) -> None:
    """The latest revision now lists only what is left, with status ``uninstalling``. A round-one
    record holds no status: it stays as it was, which a re-run handles as well."""
    from kube.k8s import releases

    if record.format_version == 1 or not record.resource_version:
        return
    rev = replace(record, objects=tuple(remaining), status=ReleaseStatus.UNINSTALLING)
    try:
        releases.write_revision(kubectl, rev, replace_existing=True)
    except ClusterError:
        # The record went with its namespace (a formula's own Namespace, deleted with the rest):
        # there is nothing left to mark, and the objects' states above say what remains.
        if kubectl.get_named("secrets", record.secret_name, record.namespace) is not None:
            raise


#: Seconds kubectl may wait for objects that go at once (``_goes_at_once``) to be gone; past
#: that, the read back decides, as for any other object.
SETTLE = 3.0
#: Most objects kubectl itself is asked to wait for: it waits for one after another, and past its
#: client's burst of requests each wait costs a fifth of a second (59 objects took 10.7 s).
SETTLE_OBJECTS = 10


def _goes_at_once(ref: ObjectRef, live: Mapping[str, Any]) -> bool:
    """Whether the API server removes ``live`` as it accepts its deletion: no finalizer holds it,
    and it is not a Pod (graceful deletion) or a Namespace (always finalized)."""
    return not _meta(live).get("finalizers") and not (ref.group == "" and ref.kind in ("Pod", "Namespace"))


def _may_delete_namespace(release: Release) -> bool:
    """Whether uninstall may delete the install namespace at all (``_namespace_verdict`` decides)."""
    ns = release.namespace
    adopted = any(a.kind == "Namespace" and a.name == ns for r in release.revisions for a in r.adopted)
    return ns not in PROTECTED_NAMESPACES and not adopted


def _namespace_gone(
    kubectl: Kubectl,
    outcome: Outcome,
    ref: ObjectRef,
    wait: bool,
    deadline: float,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> str:
    """The namespace after its deletion was asked for (``outcome``); ``deleted`` once a read says
    NotFound, else ``deleting`` (without wait) or ``stuck`` (still Terminating at the deadline)."""
    from kube.k8s.wait import await_gone

    if not outcome.ok:
        return "stuck" if wait else "deleting"
    left = await_gone(kubectl, [ref], deadline=deadline if wait else clock(), clock=clock, sleep=sleep)
    if not left:
        return "deleted"
    return "stuck" if wait else "deleting"


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
        self._crds: dict[ObjectRef, list[str]] = {}

    def read_crds(self, lives: Sequence[tuple[ObjectRef, Mapping[str, Any]]]) -> None:
        """The custom resources of every CRD among ``lives``, in one read (``crd_in_use`` asks
        for each in turn: one kubectl per CRD cost 0.3 to 0.7 s each for Argo CD's three)."""
        crds = [(ref, live) for ref, live in lives if (ref.group, ref.kind) == shared.CRD]
        if len(crds) > 1:
            found = shared.custom_resources_of(self.kubectl, [live for _, live in crds], self.own)
            self._crds = {ref: left for (ref, _), left in zip(crds, found, strict=True)}

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
        left = (
            self._crds.pop(ref)
            if ref in self._crds
            else shared.custom_resources(self.kubectl, live, self.own)
        )
        if not left:
            return None
        count = f"{len(left)} custom resource{'s' if len(left) != 1 else ''}"
        return ObjectStatus(
            ref,
            FAILED,
            f"not deleted: {count} of it remain ({shared.listing(left)}); delete them, or annotate "
            f"it {KEEP_ANNOTATION}=keep, then run kube uninstall again",
        )


def _labelled_for(obj: Mapping[str, Any], record: Revision, formulas: Collection[str] = ()) -> bool:
    """kube's labels for ``record``'s release, with the label of its formula or of one of
    ``formulas`` (those of its revisions); a round-one install's objects carry no release label."""
    from kube.k8s.objects import FORMULA_LABEL, MANAGED_BY, MANAGED_BY_LABEL, label_value
    from kube.k8s.release_names import RELEASE_LABEL

    labels = _meta(obj).get("labels") or {}
    if record.format_version != 1 and labels.get(RELEASE_LABEL) != record.release:
        return False
    allowed = {label_value(f) for f in (record.formula, *formulas)}
    return bool(labels.get(MANAGED_BY_LABEL) == MANAGED_BY and labels.get(FORMULA_LABEL) in allowed)


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def _namespace_verdict(
    kubectl: Kubectl, release: Release, read: Outcome | None, residents: _Residents
) -> tuple[bool, str]:
    """Whether to delete the install namespace, and why not when that is worth saying. ``read``:
    the namespace as read before the objects were deleted (None: read it now)."""
    from kube.k8s.objects import MANAGED_BY, MANAGED_BY_LABEL

    ns = release.namespace
    created = any(r.created_namespace for r in release.revisions)
    if not _may_delete_namespace(release):
        return False, ""
    if read is not None and read.live is None and read.reason not in (Reason.NOT_FOUND, Reason.NO_MATCH):
        read = None  # not readable then (RBAC, a flaky read): ask again
    live = read.live if read is not None else kubectl.get_named("namespaces", ns, None)
    if live is None:
        return False, ""
    labels = _meta(live).get("labels") or {}
    if not created and labels.get(MANAGED_BY_LABEL) != MANAGED_BY:
        return False, ""
    living = residents.names(ignore=set(release.secret_names))
    if living:
        more = f" and {len(living) - 3} more" if len(living) > 3 else ""
        verb = "lives" if len(living) == 1 else "live"
        return False, f"namespace {ns} was kept: {', '.join(living[:3])}{more} still {verb} in it"
    return True, ""


def namespace_residents(kubectl: Kubectl, ns: str, *, ignore: Collection[str]) -> list[str]:
    """What lives in ``ns`` besides what Kubernetes puts in every namespace, objects on their way
    out and objects owned by another object (``Kind/name``); Secrets named in ``ignore`` do not count."""
    return _Residents(kubectl, ns).names(ignore=ignore)


class _Residents:
    """What lives in one namespace (``namespace_residents``), read now or started early: then the
    objects whose deletion kube requested meanwhile (``deleted``: their uids) do not count.

    ``start`` begins reading the server's types and, with the types this cluster listed last time
    (``kube.k8s.type_cache``), the read of what lives there; if ``read_ahead`` then finds that
    snapshot recent enough to use, the server's fresh list adds what the hint lacked."""

    def __init__(self, kubectl: Kubectl, ns: str) -> None:
        self.kubectl, self.ns = kubectl, ns
        self.deleted: set[str] = set()
        self._types: list[str] | None = None
        self._hinted: list[str] = []  # the types ``start`` read with
        self._use_hinted = False

    def start(self) -> None:
        from kube.k8s import type_cache

        self._hinted = type_cache.resident_types(type_cache.hinted(self.kubectl))
        self.kubectl.namespaced_resources_ahead()
        self.kubectl.list_many_ahead(self._hinted, self.ns)

    def types(self) -> list[str]:
        if self._types is None:
            from kube.k8s import type_cache

            listed = self.kubectl.namespaced_resources()
            type_cache.remember(self.kubectl, listed)
            self._types = type_cache.resident_types(listed)
        return self._types

    def read_ahead(self) -> None:
        """Let ``names`` use the snapshot ``start`` began, or begin one now."""
        if self.kubectl.list_many_ahead_started(self._hinted, self.ns):
            self._use_hinted = True
        else:
            self.kubectl.list_many_ahead(self.types(), self.ns)

    def names(self, *, ignore: Collection[str]) -> list[str]:
        fresh = self.types()
        items = None
        if self._use_hinted:
            items = self.kubectl.list_many_or_none(self._hinted, self.ns)  # None: a type gone since
            if items is not None:
                known = set(self._hinted)
                items += self.kubectl.list_many([t for t in fresh if t not in known], self.ns)
        else:
            # Not read_ahead's to use: a snapshot taken that early may be too old.
            self.kubectl.drop_list_many_ahead(self._hinted, self.ns)
        if items is None:
            items = self.kubectl.list_many(fresh, self.ns)
        found: dict[object, str] = {}  # by uid: a type served by two groups lists its objects twice
        for obj in items:
            uid = _meta(obj).get("uid")
            if not _incidental(obj, ignore) and uid not in self.deleted:
                found.setdefault(uid or len(found), f"{obj.get('kind')}/{_meta(obj).get('name')}")
        return list(found.values())


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
