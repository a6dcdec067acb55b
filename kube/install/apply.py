"""Apply a release's new objects over its previous revision, wave by wave, then prune what left it.

Used by ``kube upgrade`` and ``kube rollback`` (``kube.install.upgrade``); ``kube install`` keeps
creating (``kube.install.create``). One ``kubectl get`` reads every object of the new render and
every object of the previous revision before anything is sent; then each wave is one ``kubectl
apply --server-side --field-manager=kube --force-conflicts``, and the prune is one ``kubectl
delete``. A wave with CustomResourceDefinitions is followed by a wait until they are established.

created / changed / unchanged: an object missing from the read before is ``created``. For the
others the ``resourceVersion`` returned by the apply is compared with the one read before: the
API server writes (and bumps the resourceVersion of) an object only when a server-side apply
changes it, and a no-op apply leaves it as it was, so equal means ``unchanged``. When it moved,
the object returned is compared with the one read before, without ``metadata.managedFields``,
``resourceVersion``, ``generation`` and ``status``: the first apply over an object ``kubectl
create`` made writes only the field ownership (kube becomes a manager), and a controller may
have written the status meanwhile; neither is a change the release made. Equal is ``unchanged``,
different is ``changed`` (kube's ``kube.sh/version`` label alone makes every object of a new
version ``changed``). ``--force-conflicts``: the release owns every field its
manifest sets; without it, the first apply after ``kube install`` (whose objects belong to
``kubectl create``'s field manager) or after a ``kubectl edit`` would stop at the first field
someone else last wrote, and the release could not be upgraded at all. Fields kube does not
set stay with whoever set them (an autoscaler's ``replicas``). Before the first apply over
objects ``kubectl create`` made, their fields are handed to kube's manager
(``kube.install.field_owners``), so that a field the new manifest drops is removed.

When kubectl fails part way through a wave it prints no object, so the wave is read back once:
an object that exists now and did not before, or whose resourceVersion moved, was applied; one
an error line names failed with that error. When every error line names an object, kubectl
(which goes on past an object it cannot apply) refused none of the others: they were applied,
``unchanged`` when their resourceVersion did not move. Otherwise any other is reported failed
("not confirmed"), since kubectl does not say which object an unnamed error belongs to. Later
waves are not attempted and nothing is pruned.

An object the new revision adds that exists already and does not carry this release's labels
(made by hand, or another release's) stops the whole apply before anything is sent (``failed``,
``AlreadyExists``): server-side apply would take it over silently, and a later revision would
prune it. Helm refuses the same ("invalid ownership metadata"). So does an object the release
recorded that now carries another release's label, or was made again (another uid) without
this release's labels: it is someone else's now. One edited by hand keeps its uid, and the
apply sets it back.

A cluster-scoped object the release shares with releases in other namespaces
(``kube.install.shared``) that it renders otherwise than it is stops the apply the same way
("shared with ...; the upgrade would change it for them", with the first field that differs):
server-side apply would change it under every other user (a ClusterRoleBinding rebound to this
namespace's ServiceAccount, a CRD's schema). ``--force`` applies it, and its status says it
changed for them too. When the release is its last user that still exists, it is applied.

Prune (kpt's ownership rule): an object of the previous revision that the new objects no longer
have is deleted, newest first, only when it still carries kube's managed-by label and the
formula's label (and, when it has one, the ``kube.sh/release`` label of this release), and its
uid is the one recorded. Otherwise someone else took it over (``not pruned (taken over)``). An
object annotated ``kube.sh/keep: "true"`` or ``kube.sh/resource-policy: keep`` is ``kept``; an
object already gone is ``already gone``. Neither kept nor taken-over objects stay in the new
revision's object list: the release no longer manages them.

Ports without a ``protocol``: Kubernetes up to 1.21 refuses a server-side apply of a Service
or Pod template whose ``ports`` entry omits ``protocol`` ("associative list with keys has an
element that omits key field protocol"), though ``kubectl create`` takes it and the API server
defaults it to ``TCP``. ``with_default_protocols`` writes that same default into the objects
before they are recorded and sent, so the formulas ``kube install`` accepts can be upgraded.
It is filled in where install, diff and upgrade label and order what they send
(``pipeline._waves``), before the content hash is taken: all three send, and hash, the same
object, and an upgrade that changes nothing rewrites no annotation.

Dry run: each wave goes to ``kubectl apply --dry-run=server`` instead, and the object the API
server would store is compared with the live one (as above): equal is ``unchanged``, else
``would apply``; missing before is ``would create``; prune candidates are ``would prune``
(after the same ownership checks). Nothing is written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from kube.install import shared
from kube.install.results import ApplyState, ObjectStatus
from kube.k8s.kubectl import Kubectl, ObjectRef, Outcome
from kube.k8s.kubectl_output import Reason

__all__ = [
    "KEEP",
    "UPDATED_KINDS",
    "ApplyReport",
    "Previous",
    "SharedChange",
    "apply_release",
    "foreign_objects",
    "key_of",
    "owned_by",
    "shared_changes",
    "unmanaged",
    "updated",
    "with_default_protocols",
]

#: ``kube.sh/keep: "true"`` on an object keeps it when a later revision drops it.
KEEP = "kube.sh/keep"
#: How long a CRD may take to be established before the wave that uses it.
CRD_TIMEOUT = 60.0
_VOLATILE = ("managedFields", "resourceVersion", "generation")

Key = tuple[str, str, str, str]


class Previous(Protocol):
    """An object of the previous revision: its ref and the uid the API server gave it."""

    @property
    def ref(self) -> ObjectRef: ...

    @property
    def uid(self) -> str: ...


@dataclass(frozen=True)
class ApplyReport:
    """What ``apply_release`` did: one status per object (new objects in apply order, then the
    prune candidates newest first), and the new objects the API server confirmed, with uids."""

    statuses: tuple[ObjectStatus, ...]
    applied: tuple[tuple[ObjectRef, str], ...]
    failed: bool

    def count(self, *states: ApplyState) -> int:
        return sum(1 for s in self.statuses if s.status in states)

    @property
    def first_failure(self) -> ObjectStatus | None:
        return next((s for s in self.statuses if s.status is ApplyState.FAILED), None)

    @property
    def changes(self) -> int:
        """Objects created, changed or pruned (what a "no change" upgrade has none of)."""
        return self.count(
            ApplyState.CREATED, ApplyState.CHANGED, ApplyState.PRUNED, ApplyState.WOULD_CREATE,
            ApplyState.WOULD_CHANGE, ApplyState.WOULD_PRUNE,
        )  # fmt: skip


_BUILTIN_PORTS = frozenset({"", "apps", "batch", "extensions"})


def with_default_protocols(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    """``obj`` with ``protocol: TCP`` in every Service or container port that has none (see the
    module docstring); ``obj`` itself when nothing is missing. Built-in kinds only."""
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    if group not in _BUILTIN_PORTS or not _missing_protocol(obj):
        return obj
    import copy

    filled = copy.deepcopy(dict(obj))
    _fill_protocol(filled)
    return filled


#: Where built-in kinds hold maps of Quantities (``resources.requests``, a ResourceQuota's ``hard``,
#: a LimitRange's bounds, a PersistentVolume's ``capacity``, a Pod's ``overhead``).
_QUANTITY_MAPS = frozenset(
    {"requests", "limits", "hard", "capacity", "overhead", "max", "min", "default", "defaultRequest",
     "maxLimitRequestRatio"}
)  # fmt: skip


def with_string_quantities(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    """``obj`` with every number written where a built-in kind holds a Quantity (``cpu: 0.5``,
    ``memory: 1000``, ``sizeLimit: 1``) as a string, ``obj`` itself when there is none. The API
    server reads either, but a server-side apply before Kubernetes 1.27 refuses a number there
    ("expected string, got &value.valueUnstructured{Value:0.5}"), which made every upgrade of such
    a formula fail; install, diff and upgrade send, and hash, the same object."""
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    if group not in _BUILTIN_PORTS or not _numeric_quantity(obj):
        return obj
    import copy

    fixed = copy.deepcopy(dict(obj))
    _quote_quantities(fixed)
    return fixed


def _numeric_quantity(node: Any, parent: str = "") -> bool:
    if isinstance(node, dict):
        return any(_is_numeric_quantity(parent, k, v) or _numeric_quantity(v, k) for k, v in node.items())
    if isinstance(node, list):
        return any(_numeric_quantity(v, parent) for v in node)
    return False


def _quote_quantities(node: Any, parent: str = "") -> None:
    if isinstance(node, dict):
        for k, v in node.items():
            if _is_numeric_quantity(parent, k, v):
                node[k] = str(v)
            else:
                _quote_quantities(v, k)
    elif isinstance(node, list):
        for v in node:
            _quote_quantities(v, parent)


def _is_numeric_quantity(parent: str, key: str, value: Any) -> bool:
    """Whether ``value``, at ``key`` of a map at ``parent``, is a Quantity written as a number."""
    where = parent in _QUANTITY_MAPS or (parent == "emptyDir" and key == "sizeLimit")
    return where and isinstance(value, int | float) and not isinstance(value, bool)


def _missing_protocol(node: Any, under_ports: bool = False) -> bool:
    if isinstance(node, dict):
        if under_ports and ("port" in node or "containerPort" in node) and "protocol" not in node:
            return True
        return any(_missing_protocol(v, k == "ports") for k, v in node.items())
    if isinstance(node, list):
        return any(_missing_protocol(v, under_ports) for v in node)
    return False


def _fill_protocol(node: Any, under_ports: bool = False) -> None:
    if isinstance(node, dict):
        if under_ports and ("port" in node or "containerPort" in node) and "protocol" not in node:
            node["protocol"] = "TCP"
        for k, v in node.items():
            _fill_protocol(v, k == "ports")
    elif isinstance(node, list):
        for v in node:
            _fill_protocol(v, under_ports)


def key_of(ref: ObjectRef) -> Key:
    return (ref.group, ref.kind, ref.namespace, ref.name)


def apply_release(
    kubectl: Kubectl,
    previous: Sequence[Previous],
    waves: Sequence[Sequence[Mapping[str, Any]]],
    *,
    release: str,
    formula: str,
    sources: Mapping[Key, str] | None = None,
    dry_run: bool = False,
    prune: bool = True,
    namespace: str = "",
    change_shared: bool = False,
    sent_before: Mapping[Key, Mapping[str, Any]] | None = None,
) -> ApplyReport:
    """Apply ``waves`` (objects as sent, namespaces set) and prune what ``previous`` had and they
    do not; see the module docstring. ``formula`` is the previous revision's formula (its label
    marks the objects this release may prune); ``namespace`` the release's, which names it among
    the users of shared cluster-scoped objects (``kube.install.shared``; none when empty).
    ``change_shared`` (``kube upgrade --force``): apply a shared object even when that changes
    it for the other releases that use it. ``sent_before``: the objects as the previous revision
    sent them (its manifest), which say what ``kubectl create`` wrote (``field_owners``)."""
    sources = sources or {}
    sent_before = sent_before or {}
    new_refs = [ObjectRef.of(o) for w in waves for o in w]
    new_keys = {key_of(r) for r in new_refs}
    leaving = [p for p in previous if key_of(p.ref) not in new_keys]
    read = kubectl.get([*new_refs, *(p.ref for p in leaving)], managed_fields=True)
    before = {key_of(o.ref): o.live for o in read if o.live is not None}
    me = shared.user(namespace, release) if namespace else ""
    changes = shared_changes(kubectl, [o for w in waves for o in w], before, me, namespace, sent_before)
    foreign = foreign_objects(
        new_refs, previous, before, release, formula, shareable=namespace,
        shared_changes={} if change_shared else changes,
    )  # fmt: skip
    if foreign:
        # Applying would take them over silently, and a later revision would prune them.
        refused = [
            _status(r, ApplyState.FAILED, foreign[key_of(r)], sources)
            if key_of(r) in foreign
            else _status(r, ApplyState.SKIPPED, "", sources)
            for r in new_refs
        ]
        return ApplyReport(tuple(refused), (), True)
    if not dry_run:
        _hand_over_created_fields(kubectl, previous, before, new_keys, sent_before)
    statuses: list[ObjectStatus] = []
    applied: list[tuple[ObjectRef, str]] = []
    failed = False
    for index, wave in enumerate(waves):
        if failed:
            statuses += [_status(ObjectRef.of(o), ApplyState.SKIPPED, "", sources) for o in wave]
            continue
        outcomes = _apply_wave(kubectl, wave, before, dry_run)
        if dry_run:
            statuses += [
                _would(o, sent, before, sources, sent_before) for o, sent in zip(outcomes, wave, strict=True)
            ]
            continue
        if not all(o.ok for o in outcomes):
            outcomes = _read_back(kubectl, outcomes, before)
        for outcome in outcomes:
            state, detail = _state(outcome, before)
            statuses.append(_status(outcome.ref, state, detail, sources))
            if outcome.ok and outcome.live is not None:
                applied.append((outcome.ref, str(_meta(outcome.live).get("uid", ""))))
                if me and shared.is_shared(outcome.ref, namespace):
                    shared.ensure_user(kubectl, outcome.ref, outcome.live, me)
            else:
                failed = True
        if not failed and index + 1 < len(waves):
            failed = _await_crds(kubectl, wave, statuses)
    statuses = [_for_others_too(s, changes) for s in statuses]
    if prune and not failed:
        statuses += _prune(
            kubectl, leaving, before, release=release, formula=formula, dry_run=dry_run, namespace=namespace
        )
    return ApplyReport(tuple(statuses), tuple(applied), failed)


@dataclass(frozen=True)
class SharedChange:
    """A shared cluster-scoped object the apply would change for other releases that use it."""

    users: str  # those releases, listed
    why: str  # ``shared.changed_for``: who they are and the first field that differs


def _apply_wave(
    kubectl: Kubectl, wave: Sequence[Mapping[str, Any]], before: Mapping[Key, Any], dry_run: bool
) -> list[Outcome]:
    """One wave: server-side applied in one call, but for objects the API server keeps no field
    ownership of (``unmanaged``), which are updated instead (``updated``), in one more call."""
    by_update = {i for i, o in enumerate(wave) if unmanaged(before.get(key_of(ObjectRef.of(o))))}
    if not by_update:
        return kubectl.apply(wave, dry_run=dry_run)
    rest = [o for i, o in enumerate(wave) if i not in by_update]
    applied = iter(kubectl.apply(rest, dry_run=dry_run))
    bodies = [updated(wave[i], before[key_of(ObjectRef.of(wave[i]))]) for i in sorted(by_update)]
    answers = iter(kubectl.replace_many(bodies, dry_run=dry_run))
    return [next(answers) if i in by_update else next(applied) for i in range(len(wave))]


def unmanaged(live: Mapping[str, Any] | None) -> bool:
    """Whether the API server keeps no field ownership of ``live``: every object of a server
    that tracks it has ``managedFields`` (asked for when read), and a server-side apply of one
    that has none fails. Kubernetes 1.20's aggregator does so for APIService objects: the apply
    breaks off with an HTTP/2 INTERNAL_ERROR (its field manager is not installed)."""
    if live is None or (ObjectRef.of(live).group, ObjectRef.of(live).kind) not in UPDATED_KINDS:
        return False
    meta = _meta(live)
    return not meta.get("managedFields")


#: The kinds an API server may keep no field ownership of (see ``unmanaged``).
UPDATED_KINDS = frozenset({("apiregistration.k8s.io", "APIService")})


def updated(sent: Mapping[str, Any], live: Mapping[str, Any]) -> dict[str, Any]:
    """What an update writes for ``sent`` over ``live``: the manifest, as of ``live``'s
    resourceVersion (a change meanwhile is a conflict, not overwritten), and a ``caBundle`` that
    someone else injected (cert-manager's cainjector) when the manifest sets none; the users of
    a shared object stay."""
    body = dict(sent)
    meta = {**(sent.get("metadata") or {}), "resourceVersion": _meta(live).get("resourceVersion")}
    users = (_meta(live).get("annotations") or {}).get(shared.SHARED_BY)
    if users:  # written by patches, never by a manifest (kube.install.shared)
        meta["annotations"] = {**(meta.get("annotations") or {}), shared.SHARED_BY: users}
    body["metadata"] = meta
    spec, live_spec = sent.get("spec"), live.get("spec")
    if (
        isinstance(spec, Mapping)
        and isinstance(live_spec, Mapping)
        and "caBundle" not in spec
        and live_spec.get("caBundle")
    ):
        body["spec"] = {**spec, "caBundle": live_spec["caBundle"]}
    return body


def _hand_over_created_fields(
    kubectl: Kubectl,
    previous: Sequence[Previous],
    before: dict[Key, Any],
    new_keys: set[Key],
    sent_before: Mapping[Key, Mapping[str, Any]],
) -> None:
    """Give ``kube``'s apply the fields ``kubectl create`` wrote into the release's objects at
    install (``kube.install.field_owners``), so that the apply removes those the new manifest
    drops; ``before`` then holds the objects as replaced (their resourceVersion moved)."""
    from kube.install.field_owners import handed_over

    recorded = {key_of(p.ref): p.uid for p in previous}
    moving = {
        key: moved
        for key, live in before.items()
        if key in new_keys and key in recorded
        and (not recorded[key] or _meta(live).get("uid") == recorded[key])
        and (moved := handed_over(live, sent_before.get(key))) is not None
    }  # fmt: skip
    for outcome in kubectl.replace_many(list(moving.values())):
        if outcome.ok and outcome.live is not None:
            before[key_of(outcome.ref)] = outcome.live


def shared_changes(
    kubectl: Kubectl,
    sent: Sequence[Mapping[str, Any]],
    before: Mapping[Key, Any],
    me: str,
    namespace: str,
    sent_before: Mapping[Key, Mapping[str, Any]] | None = None,
) -> dict[Key, SharedChange]:
    """The objects of ``sent`` that ``me`` shares with other releases that still exist, and that
    it renders otherwise than they are (``kube.install.shared``): applying them would change them
    for those releases too. The releases are listed (one call) only once such an object is found."""
    found: dict[Key, SharedChange] = {}
    existing: set[str] | None = None
    listed = False
    for obj in sent:
        ref = ObjectRef.of(obj)
        live = before.get(key_of(ref))
        if not me or live is None or not shared.is_shared(ref, namespace):
            continue
        if not [u for u in shared.users_of(live) if u != me]:
            continue
        previously = (sent_before or {}).get(key_of(ref))
        if shared.difference(live, obj) is None and shared.removal(live, obj, previously) is None:
            continue
        if not listed:
            existing, listed = shared.existing_releases(kubectl), True
        if others := shared.remaining_users(live, me, existing):
            found[key_of(ref)] = SharedChange(
                shared.listing(others), shared.changed_for(live, obj, others, previously)
            )
    return found


def _for_others_too(status: ObjectStatus, changes: Mapping[Key, SharedChange]) -> ObjectStatus:
    """``status`` of an object applied with ``--force`` over its other users: says so."""
    change = changes.get(key_of(status.ref))
    if change is None or status.status not in (ApplyState.CHANGED, ApplyState.WOULD_CHANGE):
        return status
    verb = "changed" if status.status is ApplyState.CHANGED else "would change"
    return replace(status, detail=f"shared: {verb} for {change.users} too")


def foreign_objects(
    new_refs: Sequence[ObjectRef],
    previous: Sequence[Previous],
    before: Mapping[Key, Any],
    release: str,
    formula: str,
    *,
    shareable: str = "",
    shared_changes: Mapping[Key, SharedChange] | None = None,
) -> dict[Key, str]:
    """New objects (not in ``previous``) that exist already and are not this release's. With
    ``shareable`` (the release's namespace), a cluster-scoped object of the same formula is not
    foreign: the release joins its users, unless it is one of ``shared_changes`` (an upgrade
    never changes what other releases use without ``--force``)."""
    from kube.k8s.objects import FORMULA_LABEL, MANAGED_BY, MANAGED_BY_LABEL, label_value
    from kube.k8s.release_names import RELEASE_LABEL

    known = {key_of(p.ref): p.uid for p in previous}
    found: dict[Key, str] = {}
    for ref in new_refs:
        live = before.get(key_of(ref))
        if live is None:
            continue
        labels = _meta(live).get("labels") or {}
        if key_of(ref) in known:
            taken = _taken(ref, live, known[key_of(ref)], release, formula, shareable)
            if taken:
                found[key_of(ref)] = (
                    f"AlreadyExists: {taken}, so it is not this release's any more; delete it "
                    "(the upgrade then makes it again) or leave it out of the formula"
                )
            continue
        mine = labels.get(MANAGED_BY_LABEL) == MANAGED_BY and (
            labels.get(RELEASE_LABEL) == release
            or bool(
                shareable
                and shared.is_shared(ref, shareable)
                and labels.get(FORMULA_LABEL) == label_value(formula)
            )
        )
        if not mine:
            owner = labels.get(RELEASE_LABEL)
            whose = f"release {owner}'s" if owner else "not made by kube for this release"
            found[key_of(ref)] = f"AlreadyExists: it exists and is {whose}; delete or rename it first"
    for key, change in (shared_changes or {}).items():
        found.setdefault(key, f"AlreadyExists: {change.why}; --force changes it for them too")
    return found


def _taken(
    ref: ObjectRef, live: Mapping[str, Any], uid: str, release: str, formula: str, shareable: str
) -> str:
    """Why an object the release recorded is someone else's now ("" when it is still the
    release's): it carries another release's label, or it was made again (another uid) without
    this release's labels. One edited by hand (same uid) is the release's: the upgrade sets it back."""
    from kube.k8s.objects import FORMULA_LABEL, MANAGED_BY, MANAGED_BY_LABEL, label_value
    from kube.k8s.release_names import RELEASE_LABEL

    labels = _meta(live).get("labels") or {}
    if shareable and shared.is_shared(ref, shareable) and labels.get(FORMULA_LABEL) == label_value(formula):
        return ""  # a cluster-scoped object its releases share carries the first one's label
    owner = labels.get(RELEASE_LABEL)
    if owner and owner != release:
        return f"it carries release {owner}'s label"
    ours = labels.get(MANAGED_BY_LABEL) == MANAGED_BY and owner == release
    if uid and _meta(live).get("uid") != uid and not ours:
        return "it was made again since the release recorded it (uid differs), not by kube"
    return ""


def owned_by(live: Mapping[str, Any], release: str, formula: str, uid: str) -> str:
    """Why ``live`` is no longer this release's ("" when it is): kpt's ownership rule."""
    from kube.k8s.objects import FORMULA_LABEL, MANAGED_BY, MANAGED_BY_LABEL, label_value
    from kube.k8s.release_names import RELEASE_LABEL

    labels = _meta(live).get("labels") or {}
    if labels.get(MANAGED_BY_LABEL) != MANAGED_BY or labels.get(FORMULA_LABEL) != label_value(formula):
        return f"it no longer carries the labels of {formula}"
    if RELEASE_LABEL in labels and labels.get(RELEASE_LABEL) != release:
        return f"it belongs to release {labels.get(RELEASE_LABEL)}"
    if uid and _meta(live).get("uid") != uid:
        return "it was made again since it was recorded (uid differs)"
    return ""


def _prune(
    kubectl: Kubectl,
    leaving: Sequence[Previous],
    before: Mapping[Key, Any],
    *,
    release: str,
    formula: str,
    dry_run: bool,
    namespace: str = "",
) -> list[ObjectStatus]:
    from kube.k8s.objects import KEEP_ANNOTATION

    verdict: dict[Key, ObjectStatus] = {}
    doomed: list[ObjectRef] = []
    me = shared.user(namespace, release) if namespace else ""
    existing: set[str] | None = None
    spared = {key_of(p.ref) for p in leaving}
    for item in leaving:
        ref, live = item.ref, before.get(key_of(item.ref))
        if live is None:
            verdict[key_of(ref)] = ObjectStatus(ref, ApplyState.GONE)
            continue
        sharing = bool(me) and shared.is_shared(ref, namespace) and me in shared.users_of(live)
        why = owned_by(live, release, formula, item.uid)
        if sharing and why.startswith("it belongs to release"):
            why = ""  # another release of the formula created it; this one is among its users
        annotations = _meta(live).get("annotations") or {}
        still: list[str] = []
        if sharing and not why and [u for u in shared.users_of(live) if u != me]:
            if existing is None:
                existing = shared.existing_releases(kubectl) or set(shared.users_of(live))
            still = shared.remaining_users(live, me, existing)
        if why:
            verdict[key_of(ref)] = ObjectStatus(ref, ApplyState.TAKEN_OVER, why)
        elif still:
            detail = f"shared: still used by {shared.listing(still)}"
            if not dry_run:
                detail = shared.leave(kubectl, ref, live, me, still)
            verdict[key_of(ref)] = ObjectStatus(ref, ApplyState.KEPT, detail)
        elif annotations.get(KEEP) == "true" or annotations.get(KEEP_ANNOTATION) == "keep":
            which = f'{KEEP}: "true"' if annotations.get(KEEP) == "true" else f"{KEEP_ANNOTATION}: keep"
            verdict[key_of(ref)] = ObjectStatus(ref, ApplyState.KEPT, which)
        elif (ref.group, ref.kind) == shared.CRD and (left := shared.custom_resources(kubectl, live, spared)):
            detail = (
                f"{len(left)} custom resources of it remain ({shared.listing(left)}); delete it by hand later"
            )
            verdict[key_of(ref)] = ObjectStatus(ref, ApplyState.KEPT, detail)
        elif dry_run:
            verdict[key_of(ref)] = ObjectStatus(ref, ApplyState.WOULD_PRUNE)
        else:
            doomed.append(ref)
    for outcome in kubectl.delete(list(reversed(doomed))):
        if outcome.ok:
            state = ApplyState.GONE if outcome.reason == Reason.NOT_FOUND else ApplyState.PRUNED
            verdict[key_of(outcome.ref)] = ObjectStatus(outcome.ref, state)
        else:
            detail = f"{outcome.reason}: {outcome.message}"
            verdict[key_of(outcome.ref)] = ObjectStatus(outcome.ref, ApplyState.FAILED, detail)
    return [verdict[key_of(p.ref)] for p in reversed(leaving)]


def _read_back(kubectl: Kubectl, outcomes: Sequence[Outcome], before: Mapping[Key, Any]) -> list[Outcome]:
    """A failed wave: find out from the API server which of its objects were applied."""
    now = kubectl.get([o.ref for o in outcomes])
    result = []
    for sent, found in zip(outcomes, now, strict=True):
        live, old = found.live, before.get(key_of(sent.ref))
        moved = live is not None and (old is None or _version(live) != _version(old))
        named = sent.reason not in ("Unknown", Reason.NOT_REFUSED)
        if (moved or (sent.reason == Reason.NOT_REFUSED and live is not None)) and not named:
            # Applied: written, or (kubectl refused only other objects) left as it was.
            result.append(Outcome(sent.ref, True, live))
        elif named or live is None or old is None:
            result.append(sent)
        else:
            message = f"not confirmed applied: {sent.message}"
            result.append(Outcome(sent.ref, False, None, sent.reason, message))
    return result


def _state(outcome: Outcome, before: Mapping[Key, Any]) -> tuple[ApplyState, str]:
    if not outcome.ok or outcome.live is None:
        return ApplyState.FAILED, f"{outcome.reason}: {outcome.message}"
    old = before.get(key_of(outcome.ref))
    if old is None:
        return ApplyState.CREATED, ""
    if _version(old) == _version(outcome.live) or _content(old) == _content(outcome.live):
        return ApplyState.UNCHANGED, ""
    return ApplyState.CHANGED, ""


def _would(
    outcome: Outcome,
    sent: Mapping[str, Any],
    before: Mapping[Key, Any],
    sources: Mapping[Key, str],
    sent_before: Mapping[Key, Mapping[str, Any]],
) -> ObjectStatus:
    from kube.install.field_owners import dropped, without

    if not outcome.ok or outcome.live is None:
        return _status(outcome.ref, ApplyState.FAILED, f"{outcome.reason}: {outcome.message}", sources)
    old = before.get(key_of(outcome.ref))
    if old is None:
        return _status(outcome.ref, ApplyState.WOULD_CREATE, "", sources)
    # What the hand-over of kubectl create's fields would remove, which a dry run cannot show.
    gone = dropped(old, sent, sent_before.get(key_of(outcome.ref)))
    same = _content(old) == _content(without(outcome.live, gone))
    return _status(outcome.ref, ApplyState.UNCHANGED if same else ApplyState.WOULD_CHANGE, "", sources)


def _await_crds(kubectl: Kubectl, wave: Sequence[Mapping[str, Any]], statuses: list[ObjectStatus]) -> bool:
    from kube.k8s import wait

    crds = [
        ObjectRef.of(o)
        for o in wave
        if (ObjectRef.of(o).group, ObjectRef.of(o).kind)
        == ("apiextensions.k8s.io", "CustomResourceDefinition")
    ]
    if not crds:
        return False
    report = wait.wait_ready(kubectl, crds, timeout=CRD_TIMEOUT)
    for status in report.not_ready:
        statuses.append(ObjectStatus(status.ref, ApplyState.FAILED, f"not established: {status.message}"))
    return bool(report.not_ready)


def _status(ref: ObjectRef, state: ApplyState, detail: str, sources: Mapping[Key, str]) -> ObjectStatus:
    return ObjectStatus(ref, state, detail, sources.get(key_of(ref), ""))


def _content(obj: Mapping[str, Any]) -> dict[str, Any]:
    meta = {k: v for k, v in _meta(obj).items() if k not in _VOLATILE}
    return {**{k: v for k, v in obj.items() if k != "status"}, "metadata": meta}


def _version(obj: Mapping[str, Any]) -> str:
    return str(_meta(obj).get("resourceVersion", ""))


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, Mapping) else {}
