"""Waiting until installed objects are ready, by the kstatus rules.

Ready means: a Deployment has observed its latest generation and every
replica is updated and available (no old ones left); a StatefulSet has all
replicas ready; a DaemonSet has every desired pod scheduled, updated and
ready; a Job is Complete (Failed is an error); a PersistentVolumeClaim is
Bound; a Service has a cluster IP (a LoadBalancer's external address is not
waited for); a CustomResourceDefinition is Established; a Pod is Ready or
Succeeded (a Pod whose container is in CrashLoopBackOff has failed); a
ReplicaSet has its replicas ready. Anything else is ready once it exists, or,
when it has a ``Ready`` condition, once that is True.

Before any of these, the generic rules of kstatus (sigs.k8s.io/cli-utils
pkg/kstatus) apply to every kind: an object with a ``deletionTimestamp`` is
terminating; one whose ``status.observedGeneration`` differs from its
``metadata.generation`` is pending (its controller has not seen the latest
spec); a ``Reconciling`` condition that is True means pending, a ``Stalled``
one that is True means failed. Polling asks for every object still pending in
one ``kubectl get`` per round.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from kube.core.durations import format_duration
from kube.core.errors import ClusterError, ProcessTimeout, WaitTimeoutError
from kube.k8s.kubectl import Kubectl, ObjectRef

#: How long a read made at or past a deadline still gets (one read is always made): kubectl reads
#: the server's API groups again when a type it knew is gone (a CRD just deleted), which took over
#: 5 s for Argo CD's 59 objects on a busy 2-core machine.
LAST_READ = 30.0


class ReadyState(StrEnum):
    READY = "ready"
    PENDING = "pending"
    FAILED = "failed"
    MISSING = "missing"
    TERMINATING = "terminating"


READY, PENDING, FAILED, MISSING = ReadyState.READY, ReadyState.PENDING, ReadyState.FAILED, ReadyState.MISSING
TERMINATING = ReadyState.TERMINATING


@dataclass(frozen=True)
class Readiness:
    ref: ObjectRef
    state: ReadyState
    message: str = ""


@dataclass(frozen=True)
class WaitReport:
    statuses: tuple[Readiness, ...]
    timed_out: bool
    timeout: float

    @property
    def ready(self) -> bool:
        return all(s.state == READY for s in self.statuses)

    @property
    def failed(self) -> list[Readiness]:
        return [s for s in self.statuses if s.state == FAILED]

    @property
    def not_ready(self) -> list[Readiness]:
        return [s for s in self.statuses if s.state != READY]

    def raise_for_status(self) -> None:
        """``ClusterError`` when an object failed, ``WaitTimeoutError`` when some were not ready in time."""
        if self.failed:
            first = self.failed[0]
            more = f" (and {len(self.failed) - 1} more)" if len(self.failed) > 1 else ""
            raise ClusterError(
                f"{first.ref.display} ({first.ref.namespace or 'cluster'}) failed: {first.message}{more}",
                hint=_describe_hint(first.ref),
            )
        if self.not_ready:
            names = ", ".join(f"{s.ref.display} ({s.message})" for s in self.not_ready[:5])
            more = f" and {len(self.not_ready) - 5} more" if len(self.not_ready) > 5 else ""
            raise WaitTimeoutError(
                f"not ready after {format_duration(self.timeout)}: {names}{more}",
                hint=f"{_describe_hint(self.not_ready[0].ref)}; or wait longer with --timeout",
            )


def _describe_hint(ref: ObjectRef) -> str:
    where = f" -n {ref.namespace}" if ref.namespace else ""
    return f"look at it with `kubectl describe {ref.kind.lower()} {ref.name}{where}`"


def wait_ready(
    kubectl: Kubectl,
    refs: Sequence[ObjectRef],
    *,
    timeout: float,
    interval: float = 0.5,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> WaitReport:
    """Poll until every object in ``refs`` is ready, one fails, or ``timeout`` seconds pass."""
    deadline = clock() + timeout
    status = {ref: Readiness(ref, PENDING, "not checked yet") for ref in refs}
    pending = list(refs)
    while pending:
        remaining = deadline - clock()
        call_limit = min(kubectl.timeout, max(remaining, LAST_READ))
        for outcome in kubectl.get(pending, timeout=call_limit):
            if outcome.live is None:
                status[outcome.ref] = Readiness(outcome.ref, MISSING, outcome.message or "not found")
            else:
                state, message = assess(outcome.live)
                status[outcome.ref] = Readiness(outcome.ref, state, message)
        pending = [r for r in pending if status[r].state in (PENDING, MISSING, TERMINATING)]
        if any(s.state == FAILED for s in status.values()):
            break
        remaining = deadline - clock()
        if pending and remaining <= 0:
            return WaitReport(tuple(status[r] for r in refs), True, timeout)
        if pending:
            sleep(min(interval, remaining))
            interval = min(interval * 1.5, 2.0)
    return WaitReport(tuple(status[r] for r in refs), False, timeout)


# -- the rules ----------------------------------------------------------------------------------


def assess(obj: Mapping[str, Any]) -> tuple[ReadyState, str]:
    """(state, message) of one live object by the rules in the module docstring."""
    if generic := _generic(obj):
        return generic
    group, _, _ = str(obj.get("apiVersion", "")).rpartition("/")
    rule = _RULES.get((group, str(obj.get("kind", ""))))
    if rule:
        return rule(obj)
    # Not a kind with rules of its own: a Ready condition is widely used (kstatus reads it too).
    ready = _condition(obj, "Ready")
    if ready is None:
        return READY, "exists"
    if ready.get("status") == "True":
        return READY, "ready"
    return PENDING, _why(ready, "not ready yet")


def _generic(obj: Mapping[str, Any]) -> tuple[ReadyState, str] | None:
    """kstatus's checks for every kind, which come before the rules of each kind."""
    meta = obj.get("metadata")
    if isinstance(meta, Mapping) and meta.get("deletionTimestamp"):
        return TERMINATING, f"being deleted since {meta['deletionTimestamp']}"
    generation = meta.get("generation") if isinstance(meta, Mapping) else None
    observed = _status(obj).get("observedGeneration")
    if generation is not None and observed is not None and str(observed) != str(generation):
        return PENDING, f"waiting for the controller to see generation {generation}"
    for condition in _status(obj).get("conditions") or []:
        if not isinstance(condition, Mapping) or condition.get("status") != "True":
            continue
        if condition.get("type") == "Reconciling":
            return PENDING, _why(condition, "reconciling")
        if condition.get("type") == "Stalled":
            return FAILED, _why(condition, "stalled")
    return None


def _why(condition: Mapping[str, Any], default: str) -> str:
    reason, message = str(condition.get("reason") or ""), str(condition.get("message") or "")
    return f"{reason}: {message}" if reason and message else message or reason or default


def _spec(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    spec = obj.get("spec")
    return spec if isinstance(spec, Mapping) else {}


def _status(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    status = obj.get("status")
    return status if isinstance(status, Mapping) else {}


def _condition(obj: Mapping[str, Any], kind: str) -> Mapping[str, Any] | None:
    for condition in _status(obj).get("conditions") or []:
        if isinstance(condition, Mapping) and condition.get("type") == kind:
            return condition
    return None


def _is(obj: Mapping[str, Any], kind: str, value: str = "True") -> bool:
    condition = _condition(obj, kind)
    return condition is not None and condition.get("status") == value


def _stale(obj: Mapping[str, Any]) -> str:
    generation = (obj.get("metadata") or {}).get("generation")
    observed = _status(obj).get("observedGeneration")
    if generation is not None and (observed is None or int(observed) < int(generation)):
        return f"waiting for the controller to see generation {generation}"
    return ""


def _count(obj: Mapping[str, Any], key: str) -> int:
    return int(_status(obj).get(key) or 0)


def _desired(obj: Mapping[str, Any]) -> int:
    replicas = _spec(obj).get("replicas")
    return 1 if replicas is None else int(replicas)


def _deployment(obj: Mapping[str, Any]) -> tuple[ReadyState, str]:
    progressing = _condition(obj, "Progressing")
    if progressing and progressing.get("reason") == "ProgressDeadlineExceeded":
        return FAILED, str(progressing.get("message") or "progress deadline exceeded")
    if stale := _stale(obj):
        return PENDING, stale
    want = _desired(obj)
    updated, total, available = (
        _count(obj, "updatedReplicas"),
        _count(obj, "replicas"),
        _count(obj, "availableReplicas"),
    )
    if updated < want:
        return PENDING, f"{updated} of {want} replicas updated"
    if total > updated:
        return PENDING, f"{total - updated} old replicas pending termination"
    if available < want:
        return PENDING, f"{available} of {want} replicas available"
    return READY, f"{available} of {want} replicas available"


def _statefulset(obj: Mapping[str, Any]) -> tuple[ReadyState, str]:
    if stale := _stale(obj):
        return PENDING, stale
    want, ready = _desired(obj), _count(obj, "readyReplicas")
    if ready < want:
        return PENDING, f"{ready} of {want} replicas ready"
    status = _status(obj)
    if status.get("updateRevision") and status.get("currentRevision") != status.get("updateRevision"):
        return PENDING, f"{_count(obj, 'updatedReplicas')} of {want} replicas updated"
    return READY, f"{ready} of {want} replicas ready"


def _daemonset(obj: Mapping[str, Any]) -> tuple[ReadyState, str]:
    if stale := _stale(obj):
        return PENDING, stale
    status = _status(obj)
    if status.get("desiredNumberScheduled") is None:
        return PENDING, "not scheduled yet"
    want = _count(obj, "desiredNumberScheduled")
    for key, word in (
        ("updatedNumberScheduled", "updated"),
        ("numberReady", "ready"),
        ("numberAvailable", "available"),
    ):
        if _count(obj, key) < want:
            return PENDING, f"{_count(obj, key)} of {want} pods {word}"
    return READY, f"{want} of {want} pods ready"


def _replicaset(obj: Mapping[str, Any]) -> tuple[ReadyState, str]:
    if stale := _stale(obj):
        return PENDING, stale
    want, ready = _desired(obj), _count(obj, "readyReplicas")
    return (READY if ready >= want else PENDING), f"{ready} of {want} replicas ready"


def _job(obj: Mapping[str, Any]) -> tuple[ReadyState, str]:
    if _is(obj, "Failed"):
        failed = _condition(obj, "Failed") or {}
        return FAILED, str(failed.get("message") or failed.get("reason") or "the job failed")
    if _is(obj, "Complete"):
        return READY, "complete"
    return PENDING, f"{_count(obj, 'active')} active, {_count(obj, 'succeeded')} succeeded"


def _pod(obj: Mapping[str, Any]) -> tuple[ReadyState, str]:
    phase = str(_status(obj).get("phase") or "Pending")
    if phase == "Succeeded":
        return READY, "succeeded"
    if phase == "Failed":
        return FAILED, str(_status(obj).get("message") or _status(obj).get("reason") or "the pod failed")
    if phase == "Running" and _is(obj, "Ready"):
        return READY, "running"
    looping = [
        str(c.get("name"))
        for c in _status(obj).get("containerStatuses") or []
        if isinstance(c, Mapping)
        and ((c.get("state") or {}).get("waiting") or {}).get("reason") == "CrashLoopBackOff"
    ]
    if looping:
        return FAILED, f"containers in CrashLoopBackOff: {', '.join(looping)}"
    return PENDING, phase.lower()


def _pvc(obj: Mapping[str, Any]) -> tuple[ReadyState, str]:
    phase = str(_status(obj).get("phase") or "Pending")
    if phase == "Bound":
        return READY, "bound"
    return (FAILED if phase == "Lost" else PENDING), phase.lower()


def _service(obj: Mapping[str, Any]) -> tuple[ReadyState, str]:
    spec = _spec(obj)
    if spec.get("type") == "ExternalName":
        return READY, "external name"
    if spec.get("clusterIP"):
        return READY, f"cluster IP {spec['clusterIP']}"
    return PENDING, "no cluster IP yet"


def _crd(obj: Mapping[str, Any]) -> tuple[ReadyState, str]:
    if _is(obj, "NamesAccepted", "False"):
        condition = _condition(obj, "NamesAccepted") or {}
        return FAILED, str(condition.get("message") or "names not accepted")
    if _is(obj, "Established"):
        return READY, "established"
    return PENDING, "not established yet"


_RULES: dict[tuple[str, str], Callable[[Mapping[str, Any]], tuple[ReadyState, str]]] = {
    ("apps", "Deployment"): _deployment,
    ("apps", "StatefulSet"): _statefulset,
    ("apps", "DaemonSet"): _daemonset,
    ("apps", "ReplicaSet"): _replicaset,
    ("", "ReplicationController"): _replicaset,
    ("batch", "Job"): _job,
    ("", "Pod"): _pod,
    ("", "PersistentVolumeClaim"): _pvc,
    ("", "Service"): _service,
    ("apiextensions.k8s.io", "CustomResourceDefinition"): _crd,
}


# -- waiting for deletions ----------------------------------------------------------------------

# Seconds between polls for deletions: quick at first (most objects go within a second).
_GONE_FIRST, _GONE_MAX = 0.5, 2.0


def await_gone(
    kubectl: Kubectl,
    refs: Sequence[ObjectRef],
    *,
    deadline: float,
    on_gone: Callable[[ObjectRef], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[ObjectRef, dict[str, Any]]:
    """Poll ``refs`` (one ``kubectl get`` per round) until the API server no longer has them (a
    read that answers NotFound) or ``deadline`` (a ``clock()`` time) passes; returns those still
    there with the object as last read, so the caller can say what holds them (``holding``).
    One read is always made, even past the deadline: gone means the API server said so."""
    pending = list(refs)
    last: dict[ObjectRef, dict[str, Any]] = {}
    interval = _GONE_FIRST
    while pending:
        remaining = deadline - clock()
        try:
            outcomes = kubectl.get(pending, timeout=min(kubectl.timeout, max(remaining, LAST_READ)))
        except ClusterError as exc:
            if not isinstance(exc.__cause__, ProcessTimeout):
                raise
            break  # no answer: not known to be gone, which the caller says (deleting, stuck)
        for outcome in outcomes:
            if outcome.live is None and outcome.reason in ("NotFound", "NoMatch"):
                pending.remove(outcome.ref)
                last.pop(outcome.ref, None)
                if on_gone is not None:
                    on_gone(outcome.ref)
            elif outcome.live is not None:
                last[outcome.ref] = outcome.live
            else:
                last.setdefault(outcome.ref, {})  # unreadable (RBAC, a flaky read): not known to be gone
        remaining = deadline - clock()
        if not pending or remaining <= 0:
            break
        sleep(min(interval, remaining))
        interval = min(interval * 1.5, _GONE_MAX)
    return {ref: last.get(ref, {}) for ref in pending}


def holding(obj: Mapping[str, Any]) -> str:
    """What keeps a deleted object in the API server: ``finalizer example.com/hold``, or a plainer
    word when it names none."""
    meta = obj.get("metadata")
    finalizers = [str(f) for f in (meta.get("finalizers") or ())] if isinstance(meta, Mapping) else []
    if finalizers:
        word = "finalizer" if len(finalizers) == 1 else "finalizers"
        return f"{word} {', '.join(finalizers)}"
    if isinstance(meta, Mapping) and meta.get("deletionTimestamp"):
        return f"being deleted since {meta['deletionTimestamp']}"
    return "the API server still has it"
