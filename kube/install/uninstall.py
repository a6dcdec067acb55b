"""Uninstall: delete exactly what an install record lists, newest first, never re-rendering.

Before deleting, the recorded objects are read back in one call. An object is
left alone when it is gone already, when it is not the one kube made (it lacks
this formula's labels, or its uid is not the one recorded: both must match;
only objects a pending record lists before they were created have no uid, and
for them the labels decide), or when it is annotated
``kube.sh/resource-policy: keep``. The rest go in one ``kubectl delete``, in
reverse creation order; when some of them carry ``config.kubernetes.io/depends-on``,
the dependents are deleted first and waited for until gone, within ``timeout``,
before what they name (``kube.install.depends``). ``deleted`` means the API server no longer has the
object (read back once more unless ``wait``); one it still holds (finalizers)
is ``being deleted``, and one that was gone before is ``already gone``. The install
namespace is deleted too when kube created it (the record says so, or the
namespace carries kube's managed-by label) and nothing else lives in it; the
record is removed last, and only when every deletion worked, so a failed
uninstall can be run again.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from kube.core.errors import ClusterError, NotFoundError, UsageError
from kube.install import depends
from kube.install.depends import OnEvent
from kube.install.results import ObjectStatus, RemovalState, UninstallResult
from kube.k8s.kubectl import Kubectl, ObjectRef
from kube.k8s.kubectl_output import Reason
from kube.k8s.objects import KEEP_ANNOTATION
from kube.k8s.records import Record

__all__ = [
    "DELETED", "DELETING", "FAILED", "GONE", "KEEP_ANNOTATION", "KEPT", "NOT_OURS", "ObjectStatus",
    "RemovalState", "UninstallResult", "find_record", "namespace_residents", "uninstall",
]  # fmt: skip

DELETED, GONE, KEPT, NOT_OURS, FAILED, DELETING = (
    RemovalState.DELETED, RemovalState.GONE, RemovalState.KEPT, RemovalState.NOT_OURS, RemovalState.FAILED,
    RemovalState.DELETING,
)  # fmt: skip
_PROTECTED_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})


def find_record(kubectl: Kubectl, name: str, namespace: str | None) -> Record:
    """The record of ``name``: in ``namespace``, or the only one in the cluster when None."""
    from kube.k8s import records

    if namespace is not None:
        record = records.read_record(kubectl, name, namespace)
        if record is None:
            raise NotFoundError(f"{name} is not installed in namespace {namespace}", hint="see `kube list`")
        return record
    try:
        found = [r for r in records.list_records(kubectl) if r.formula == name]
        # A record that fails validation does not make the name ambiguous; alone, it is refused below.
        found = [r for r in found if r.outcome != records.UNREADABLE] or found
    except ClusterError as exc:
        if "forbidden" not in exc.message.lower():
            raise
        return find_record(kubectl, name, kubectl.current_namespace())
    if not found:
        raise NotFoundError(f"{name} is not installed", hint="see `kube list`")
    if len(found) > 1:
        where = ", ".join(r.namespace for r in found)
        raise UsageError(f"{name} is installed in several namespaces ({where})", hint="choose one with -n")
    return found[0]


def uninstall(
    kubectl: Kubectl,
    record: Record,
    *,
    wait: bool = False,
    timeout: float = 300.0,
    on_event: OnEvent | None = None,
) -> UninstallResult:
    """Delete what ``record`` lists; see the module docstring."""
    from kube.k8s import records

    if record.outcome == records.UNREADABLE:
        raise ClusterError(record.problem, hint=f"inspect it with `kubectl get secret {record.name} -o yaml`")
    live = kubectl.get([o.ref for o in record.objects])
    statuses: dict[ObjectRef, ObjectStatus] = {}
    doomed: list[ObjectRef] = []
    for recorded, outcome in zip(record.objects, live, strict=True):
        ref = recorded.ref
        if outcome.live is None:
            gone = outcome.reason in (Reason.NOT_FOUND, Reason.NO_MATCH)
            detail = "" if outcome.reason == Reason.NOT_FOUND else outcome.message
            statuses[ref] = ObjectStatus(ref, GONE if gone else FAILED, detail)
        elif not _labelled_for(outcome.live, record.formula):
            statuses[ref] = ObjectStatus(ref, NOT_OURS, f"does not carry the labels of {record.formula}")
        elif recorded.uid and _meta(outcome.live).get("uid") != recorded.uid:
            statuses[ref] = ObjectStatus(ref, NOT_OURS, "made again since the install (uid differs)")
        elif (_meta(outcome.live).get("annotations") or {}).get(KEEP_ANNOTATION) == "keep":
            statuses[ref] = ObjectStatus(ref, KEPT, f"{KEEP_ANNOTATION}: keep")
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
    ordered = tuple(statuses[o.ref] for o in reversed(record.objects))
    result = UninstallResult(record.formula, record.version, record.namespace, ordered)
    if any(s.status == FAILED for s in ordered):
        return UninstallResult(
            record.formula, record.version, record.namespace, ordered, record_removed=False
        )
    delete_namespace, note = _namespace_verdict(kubectl, record)
    records.delete_record(kubectl, record)
    if delete_namespace:
        kubectl.delete_named("namespaces", record.namespace, None, wait=wait)
    return UninstallResult(
        result.formula, result.version, result.namespace, ordered, delete_namespace, note, record_removed=True
    )


def _labelled_for(obj: Mapping[str, Any], formula: str) -> bool:
    from kube.k8s.objects import FORMULA_LABEL, MANAGED_BY, MANAGED_BY_LABEL, label_value

    labels = _meta(obj).get("labels") or {}
    return bool(
        labels.get(MANAGED_BY_LABEL) == MANAGED_BY and labels.get(FORMULA_LABEL) == label_value(formula)
    )


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def _namespace_verdict(kubectl: Kubectl, record: Record) -> tuple[bool, str]:
    from kube.k8s.objects import MANAGED_BY, MANAGED_BY_LABEL

    ns = record.namespace
    if ns in _PROTECTED_NAMESPACES:
        return False, ""
    live = kubectl.get_named("namespaces", ns, None)
    if live is None:
        return False, ""
    labels = _meta(live).get("labels") or {}
    if not record.created_namespace and labels.get(MANAGED_BY_LABEL) != MANAGED_BY:
        return False, ""
    residents = namespace_residents(kubectl, ns, ignore={record.name})
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
