"""The live status of a release: kstatus for every object its record lists, read from the cluster.

Each recorded object is read back and given one of kstatus's statuses
(sigs.k8s.io/cli-utils pkg/kstatus), with the reason:

    Current      reconciled: what ``kube.k8s.wait.assess`` calls ready
    InProgress   not yet (a Deployment with 0 of 2 replicas available)
    Failed       will not get there by itself (a Job that failed, a Deployment past its
                 progress deadline, a ``Stalled`` condition, a Pod in CrashLoopBackOff)
    Terminating  has a deletionTimestamp
    NotFound     the cluster has no such object, or has one of that name with another uid
                 than the record's (someone made it again)
    Unknown      kube may not read it (Forbidden) or the API server would not say

The rules are ``assess``'s, so ``kube install --wait`` and ``kube status`` never disagree.
A workload (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job) that is not
Current gets the reason its Pods give when they have one: a container waiting
as ``ImagePullBackOff``, ``ErrImagePull`` or ``CrashLoopBackOff``, a Pod that
cannot be scheduled, a Pod that failed. Like kstatus, a workload stays
InProgress for that: only its own status says Failed.

Reads: one ``kubectl get`` for every recorded object of every release asked
about, and, only when a workload is not Current, one ``kubectl get pods`` (of
its namespace, or of every namespace when several are involved; one per
namespace when RBAC allows no more). ``kube list --status`` over fifty
releases is three calls.

The recorded objects of a release come from ``release_of`` alone: the one
place that knows how a release is stored.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kube.core.errors import ClusterError, ExitCode, KubeError
from kube.k8s import release_format, releases, wait
from kube.k8s.kubectl import Kubectl, ObjectRef, Outcome

CURRENT = "Current"
IN_PROGRESS = "InProgress"
FAILED = "Failed"
TERMINATING = "Terminating"
NOT_FOUND = "NotFound"
UNKNOWN = "Unknown"

#: What wait.assess says, in kstatus's words.
_FROM_WAIT = {
    wait.READY: CURRENT,
    wait.PENDING: IN_PROGRESS,
    wait.FAILED: FAILED,
    wait.TERMINATING: TERMINATING,
    wait.MISSING: NOT_FOUND,
}
#: Which status names a release that is not all Current: the worst one of its objects.
_SEVERITY = (FAILED, NOT_FOUND, UNKNOWN, TERMINATING, IN_PROGRESS, CURRENT)
#: Kinds whose Pods may say why they are not Current.
WORKLOADS = frozenset(
    {
        ("apps", "Deployment"),
        ("apps", "StatefulSet"),
        ("apps", "DaemonSet"),
        ("apps", "ReplicaSet"),
        ("", "ReplicationController"),
        ("batch", "Job"),
    }
)
#: Waiting reasons of a container that are only a step on the way, not a reason to report.
_ROUTINE_WAITING = frozenset({"ContainerCreating", "PodInitializing"})


class NotCurrentError(KubeError):
    """`kube status` (and `kube list --status`) read an object that is not Current: exit 1, the
    generic failure, as `diff` exits 1 for "differences found"; 8 stays "the cluster did not answer"."""

    exit_code = ExitCode.ERROR


@dataclass(frozen=True)
class RecordedObject:
    ref: ObjectRef
    uid: str = ""


@dataclass(frozen=True)
class Release:
    """What ``kube status`` needs of a release: its name, where it is, and its objects."""

    name: str
    namespace: str
    version: str
    objects: tuple[RecordedObject, ...]
    # Objects its latest revision meant to have and the API server refused (a partial install):
    # never in the cluster, so never Current; with why.
    not_created: tuple[tuple[ObjectRef, str], ...] = ()


@dataclass(frozen=True)
class ObjectStatus:
    ref: ObjectRef
    status: str
    reason: str = ""

    @property
    def current(self) -> bool:
        return self.status == CURRENT

    def to_json(self) -> dict[str, str]:
        ref = self.ref
        return {"apiVersion": ref.api_version, "kind": ref.kind, "name": ref.name,
                "namespace": ref.namespace, "status": self.status, "reason": self.reason}  # fmt: skip


@dataclass(frozen=True)
class ReleaseStatus:
    release: Release
    objects: tuple[ObjectStatus, ...]

    @property
    def current(self) -> bool:
        return all(o.current for o in self.objects)

    @property
    def not_current(self) -> list[ObjectStatus]:
        return [o for o in self.objects if not o.current]

    @property
    def status(self) -> str:
        """The worst status of its objects (Current when it has none)."""
        present = {o.status for o in self.objects}
        return next((s for s in _SEVERITY if s in present), CURRENT)

    @property
    def missing(self) -> int:
        return sum(1 for o in self.objects if o.status == NOT_FOUND)

    @property
    def summary(self) -> str:
        """``Current``, or ``InProgress (1 of 3 objects not Current)``."""
        if self.current:
            return CURRENT
        return f"{self.status} ({len(self.not_current)} of {len(self.objects)} objects not Current)"

    def describe_not_current(self, limit: int = 5) -> str:
        """``Deployment/web (InProgress: 0 of 2 replicas available), ...`` for an error line."""
        shown = [f"{o.ref.display} ({o.status}: {o.reason})" for o in self.not_current[:limit]]
        more = len(self.not_current) - limit
        return ", ".join(shown) + (f" and {more} more" if more > 0 else "")

    def to_json(self) -> dict[str, Any]:
        release = self.release
        return {"name": release.name, "namespace": release.namespace, "version": release.version,
                "status": self.status, "current": self.current,
                "objects": [o.to_json() for o in self.objects]}  # fmt: skip


# -- releases -----------------------------------------------------------------------------------


def release_of(release: releases.Release) -> Release:
    """What a release's records say it holds: the objects of its latest revision, then those of its
    deployed revision that the latest does not list (what ``kube uninstall`` would delete). The one
    place that knows how releases are stored."""
    latest = release.latest
    if latest is None or release.problem:
        raise ClusterError(
            release.problem or f"release {release.name} has no readable record",
            hint=f"inspect it with `kube history {release.name} -n {release.namespace}`",
        )
    objects = [RecordedObject(o.ref, o.uid) for o in latest.objects]
    seen = {o.ref for o in objects}
    deployed = release.deployed
    if deployed is not None and deployed is not latest:
        objects += [RecordedObject(o.ref, o.uid) for o in deployed.objects if o.ref not in seen]
    listed = {o.ref for o in objects}
    refused = tuple(
        (f.ref, f"not created: {f.reason}: {f.message}" if f.message else f"not created: {f.reason}")
        for f in latest.failures
        if f.ref not in listed
    )
    if (
        latest.outcome in (release_format.ReleaseOutcome.PARTIAL, release_format.ReleaseOutcome.FAILED)
        and latest.status is not release_format.ReleaseStatus.UNINSTALLING
    ):
        # What the install never got to (kubectl stopped at an earlier object) is the release's
        # too: its manifest lists it, and the cluster has none of it.
        failed = {ref for ref, _ in refused}
        refused += tuple(
            (ref, "not created: not attempted (the install stopped at an earlier object)")
            for ref in dict.fromkeys(ObjectRef.of(m) for m in latest.manifest or ())
            if ref not in listed and ref not in failed
        )
    return Release(release.name, release.namespace, latest.version, tuple(objects), refused)


def find_release(kubectl: Kubectl, name: str, namespace: str | None) -> Release:
    """The release ``name``: in ``namespace``, or the only one of that name in the cluster when None.
    ``NotFoundError`` when there is none, ``UsageError`` when several namespaces have one."""
    return release_of(releases.find_release(kubectl, name, namespace))


# -- reading ------------------------------------------------------------------------------------


def read_status(
    kubectl: Kubectl, releases: Sequence[Release], *, timeout: float | None = None
) -> list[ReleaseStatus]:
    """The live status of every release in ``releases``, in the same order (see the module docstring).
    Raises ``ClusterError`` when the cluster cannot be reached."""
    refs = [o.ref for r in releases for o in r.objects]
    live = iter(kubectl.get(refs, timeout=timeout))
    assessed: list[list[tuple[ObjectStatus, Mapping[str, Any] | None]]] = []
    for release in releases:
        assessed.append([_assess(recorded, next(live)) for recorded in release.objects])
    stuck = [obj for row in assessed for status, obj in row if obj is not None and _needs_pods(status)]
    pods = _pods_of(kubectl, stuck, timeout=timeout) if stuck else []
    result = []
    for release, row in zip(releases, assessed, strict=True):
        objects = []
        for status, obj in row:
            if obj is not None and _needs_pods(status) and (why := pod_reason(obj, pods)):
                status = ObjectStatus(status.ref, status.status, f"{status.reason}; {why}")
            objects.append(status)
        objects += [ObjectStatus(ref, NOT_FOUND, why) for ref, why in release.not_created]
        result.append(ReleaseStatus(release, tuple(objects)))
    return result


def _assess(recorded: RecordedObject, outcome: Outcome) -> tuple[ObjectStatus, Mapping[str, Any] | None]:
    ref, obj = recorded.ref, outcome.live
    if obj is None:
        if outcome.reason == "NotFound":
            return ObjectStatus(ref, NOT_FOUND, "not in the cluster"), None
        if outcome.reason == "NoMatch":
            return ObjectStatus(
                ref, NOT_FOUND, f"the cluster has no {ref.kind} type: {outcome.message}"
            ), None
        return ObjectStatus(ref, UNKNOWN, f"{outcome.reason}: {outcome.message}"), None
    if recorded.uid and _meta(obj).get("uid") != recorded.uid:
        return ObjectStatus(ref, NOT_FOUND, "made again since the install (uid differs)"), None
    state, message = wait.assess(obj)
    return ObjectStatus(ref, _FROM_WAIT.get(state, UNKNOWN), message), obj


def _needs_pods(status: ObjectStatus) -> bool:
    return status.status in (IN_PROGRESS, FAILED) and (status.ref.group, status.ref.kind) in WORKLOADS


def _pods_of(
    kubectl: Kubectl, workloads: Sequence[Mapping[str, Any]], *, timeout: float | None
) -> list[dict[str, Any]]:
    """Every Pod of the namespaces of ``workloads``: one call (all namespaces when several).
    The reasons only decorate a status already read: Pods kube may not list leave them out."""
    namespaces = sorted({str(_meta(w).get("namespace", "")) for w in workloads})
    try:
        if len(namespaces) == 1:
            return kubectl.list_objects("pods", namespace=namespaces[0])
        try:
            wanted = set(namespaces)
            every = kubectl.list_objects("pods", namespace=None)
            return [p for p in every if _meta(p).get("namespace") in wanted]
        except ClusterError as exc:
            if "forbidden" not in exc.message.lower():
                raise
            return [p for ns in namespaces for p in kubectl.list_objects("pods", namespace=ns)]
    except ClusterError:
        return []


def owned_by(pod: Mapping[str, Any], workload: Mapping[str, Any]) -> bool:
    """Whether ``pod`` belongs to ``workload``: its controller is the workload, or, for a
    Deployment, the workload's ReplicaSet (named ``<deployment>-<pod-template-hash>``)."""
    meta, owner_meta = _meta(pod), _meta(workload)
    if meta.get("namespace") != owner_meta.get("namespace"):
        return False
    for owner in meta.get("ownerReferences") or []:
        if not isinstance(owner, Mapping):
            continue
        if owner.get("uid") and owner.get("uid") == owner_meta.get("uid"):
            return True
        template_hash = (meta.get("labels") or {}).get("pod-template-hash")
        if (
            workload.get("kind") == "Deployment"
            and owner.get("kind") == "ReplicaSet"
            and template_hash
            and owner.get("name") == f"{owner_meta.get('name')}-{template_hash}"
        ):
            return True
    return False


def pod_reason(workload: Mapping[str, Any], pods: Iterable[Mapping[str, Any]]) -> str:
    """Why the Pods of ``workload`` are not ready, when one of them says: ``pod web-5d9-x:
    ImagePullBackOff: Back-off pulling image "nginx:nope"`` (and how many more Pods say so)."""
    reasons = [
        (str(_meta(p).get("name", "")), why)
        for p in pods
        if owned_by(p, workload) and (why := _pod_problem(p))
    ]
    if not reasons:
        return ""
    name, why = reasons[0]
    more = len(reasons) - 1
    return f"pod {name}: {why}" + (f" (and {more} more {'pod' if more == 1 else 'pods'})" if more else "")


def _pod_problem(pod: Mapping[str, Any]) -> str:
    status = pod.get("status") if isinstance(pod.get("status"), Mapping) else {}
    assert isinstance(status, Mapping)
    for key in ("initContainerStatuses", "containerStatuses"):
        for container in status.get(key) or []:
            if not isinstance(container, Mapping):
                continue
            waiting = (container.get("state") or {}).get("waiting") or {}
            reason = str(waiting.get("reason") or "")
            if reason and reason not in _ROUTINE_WAITING:
                message = str(waiting.get("message") or "")
                return f"{reason}: {message}" if message else f"{reason} (container {container.get('name')})"
    for condition in status.get("conditions") or []:
        if (
            isinstance(condition, Mapping)
            and condition.get("type") == "PodScheduled"
            and condition.get("status") == "False"
        ):
            reason, message = (
                str(condition.get("reason") or "Unschedulable"),
                str(condition.get("message") or ""),
            )
            return f"{reason}: {message}" if message else reason
    if status.get("phase") == "Failed":
        return f"Failed: {status.get('message') or status.get('reason') or 'the pod failed'}"
    return ""


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


# -- watching -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class WatchResult:
    status: ReleaseStatus
    timed_out: bool
    reads: int


def watch(
    kubectl: Kubectl,
    release: Release,
    *,
    timeout: float,
    on_change: Callable[[ObjectStatus], None] = lambda _status: None,
    interval: float = 1.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> WatchResult:
    """Read the release again and again until every object is Current or ``timeout`` seconds pass.
    ``on_change`` hears of every object whose status or reason differs from the last read
    (and of every object on the first read)."""
    deadline = clock() + timeout
    seen: dict[ObjectRef, ObjectStatus] = {}
    reads = 0
    while True:
        call_limit = min(kubectl.timeout, max(deadline - clock(), 5.0))
        [current] = read_status(kubectl, [release], timeout=call_limit)
        reads += 1
        for status in current.objects:
            if seen.get(status.ref) != status:
                on_change(status)
                seen[status.ref] = status
        if current.current:
            return WatchResult(current, False, reads)
        remaining = deadline - clock()
        if remaining <= 0:
            return WatchResult(current, True, reads)
        sleep(min(interval, remaining))
