"""Creating a rendered formula in the cluster: the pending record, wave by wave, then the record,
then rollback or wait.

Each wave is one ``kubectl create``; the install namespace, when missing, is
created first in the first wave and labelled as kube's. Before any object, the
install record is written with outcome ``pending``, listing every object of
every wave (without uids): a first install sends it in the first wave's own
call, right after the namespace, so it costs no kubectl process; a new attempt
over an earlier partial one replaces that record first. So an install stopped
anywhere, even by SIGKILL between waves, leaves a record that ``kube list``
shows and ``kube uninstall`` can clean up. When the install ends, the record is
replaced by what the API server confirmed, with uids.

After a wave with a failure, later waves are not attempted. Objects that exist
with this formula's labels in the install namespace but are missing from its
record (an attempt stopped by Ctrl-C or a crash before it wrote the record)
are taken into the record. With ``atomic``, what this attempt created is
deleted again instead.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from kube.core.errors import ClusterError
from kube.install import depends
from kube.install.results import (
    InstallOptions,
    InstallOutcome,
    InstallResult,
    ObjectState,
    ObjectStatus,
    Plan,
)
from kube.k8s import records
from kube.k8s.kubectl import Kubectl, ObjectRef, Outcome
from kube.k8s.kubectl_output import Reason
from kube.k8s.objects import as_sent, ref_of
from kube.k8s.records import FailedObject, Record, RecordedObject, RecordOutcome

if TYPE_CHECKING:
    from kube.k8s.objects import KubeObject, Scopes

CREATED, EXISTS, FAILED, SKIPPED, ROLLED_BACK = (
    ObjectState.CREATED, ObjectState.EXISTS, ObjectState.FAILED, ObjectState.SKIPPED, ObjectState.ROLLED_BACK,
)  # fmt: skip
# How long a CRD may take to be established before the wave that uses it.
CRD_TIMEOUT = 60.0
# An object of this formula that kubectl said exists, or never said anything about, may be adopted.
_ADOPTABLE = (Reason.ALREADY_EXISTS, Reason.INTERRUPTED)


def namespace_object(ns: str, formula: str) -> dict[str, Any]:
    from kube.k8s.objects import CREATED_FOR_ANNOTATION, MANAGED_BY_LABELS

    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": ns,
            "labels": dict(MANAGED_BY_LABELS),
            "annotations": {CREATED_FOR_ANNOTATION: formula},
        },
    }


def _key(ref: ObjectRef) -> tuple[str, str, str, str]:
    return (ref.group, ref.kind, ref.namespace, ref.name)


@dataclass
class _Progress:
    """What one install attempt has done so far."""

    previous: Record | None
    recorded: dict[tuple[str, str, str, str], RecordedObject]  # in creation order
    statuses: list[ObjectStatus] = field(default_factory=list)
    failures: list[FailedObject] = field(default_factory=list)
    new: list[ObjectRef] = field(default_factory=list)  # created by this attempt, in order
    created_namespace: bool = False
    namespace_is_new: bool = False
    interrupted: bool = False
    record_version: str = ""  # resourceVersion of the record in the cluster, once kube wrote it
    previous_keys: frozenset[tuple[str, str, str, str]] = frozenset()

    def was_recorded(self, ref: ObjectRef) -> bool:
        return _key(ref) in self.previous_keys

    def record(self, entry: RecordedObject) -> None:
        self.recorded[_key(entry.ref)] = entry


def create(
    the_plan: Plan,
    waves: list[list[KubeObject]],
    kubectl: Kubectl,
    options: InstallOptions,
    digest: str,
    hook_ran: bool,
    scopes: Scopes | None = None,
) -> InstallResult:
    from kube.k8s.objects import Scopes

    formula, ns = the_plan.source.formula, the_plan.namespace
    previous = the_plan.existing
    among = [o for w in waves for o in w]
    scopes = scopes or Scopes(among)
    before = previous.objects if previous else ()
    progress = _Progress(previous, {_key(o.ref): o for o in before})
    progress.previous_keys = frozenset(progress.recorded)
    progress.created_namespace = previous.created_namespace if previous else False
    own_namespace = any(o.group == "" and o.kind == "Namespace" and o.name == ns for o in among)
    planned = [ref_of(o, ns, scopes) for o in among]
    coming = [RecordedObject(r) for r in planned if _key(r) not in progress.recorded]
    pending = _record(the_plan, digest, [*before, *coming], outcome=RecordOutcome.PENDING, refs=planned)
    records.check_size(pending)
    if previous is not None:
        # The earlier attempt's record stays the one record; it now also lists what comes next.
        progress.record_version = records.write_record(kubectl, pending, replace=True).resource_version
    waits = depends.Waits.of(waves, ns, scopes, timeout=options.timeout, on_event=options.on_event)
    blocked: depends.Blocked | None = None
    for index, wave in enumerate(waves):
        if index and (blocked := waits.before(index, kubectl)) is not None:
            _blocked(blocked, waves[index:], ns, progress, scopes)
            break
        payload = [as_sent(o, ns, scopes) for o in wave]
        prefix: list[dict[str, Any]] = []
        add_namespace = index == 0 and not own_namespace
        if add_namespace:
            prefix.append(namespace_object(ns, formula.name))
        carry_record = index == 0 and previous is None
        if carry_record:
            # kubectl creates in order: the record exists before the first object does.
            prefix.append(records.to_secret(pending))
        outcomes = _create_wave(kubectl, prefix + payload, first=index == 0, progress=progress)
        if carry_record:
            sent = outcomes.pop(len(prefix) - 1)
            if sent.ok and sent.live is not None:
                progress.record_version = str((sent.live.get("metadata") or {}).get("resourceVersion", ""))
        outcomes = _adopt(kubectl, outcomes, formula.name, ns, progress)
        if add_namespace:
            _namespace_outcome(outcomes.pop(0), progress)
        for obj, outcome in zip(wave, outcomes, strict=True):
            _object_outcome(obj, outcome, progress)
        if progress.failures:
            progress.statuses += [
                ObjectStatus(ref_of(o, ns, scopes), SKIPPED, source=o.source)
                for w in waves[index + 1 :]
                for o in w
            ]
            break
        if index + 1 < len(waves):
            _await_crds(kubectl, wave, ns, progress, scopes)
    result = _finish(the_plan, kubectl, options, progress, digest, hook_ran, planned)
    if progress.interrupted:
        raise KeyboardInterrupt
    if blocked is not None:
        # The record says what exists (partial, or rolled back with --atomic); the error names the chain.
        raise blocked.error(options.timeout)
    return result


def _blocked(
    blocked: depends.Blocked,
    rest: Sequence[Sequence[KubeObject]],
    ns: str,
    progress: _Progress,
    scopes: Scopes,
) -> None:
    """The waves not created because what they depend on did not reconcile."""
    for dependent in blocked.dependents:
        progress.failures.append(FailedObject(dependent, depends.DEPENDENCY_NOT_READY, blocked.text))
    progress.statuses += [
        ObjectStatus(ref_of(o, ns, scopes), SKIPPED, source=o.source) for w in rest for o in w
    ]


def _create_wave(
    kubectl: Kubectl, payload: list[dict[str, Any]], *, first: bool, progress: _Progress
) -> list[Outcome]:
    try:
        return kubectl.create(payload)
    except ClusterError as exc:
        if first:
            raise
        # The cluster went away mid-install: record what the earlier waves created.
        return [Outcome(ObjectRef.of(p), False, None, "Unreachable", exc.message) for p in payload]
    except KeyboardInterrupt:
        # kubectl was stopped part way: find out below what it created, record it, then stop.
        progress.interrupted = True
        return [Outcome(ObjectRef.of(p), False, None, Reason.INTERRUPTED, "interrupted") for p in payload]


def _adopt(
    kubectl: Kubectl, outcomes: list[Outcome], formula: str, ns: str, progress: _Progress
) -> list[Outcome]:
    """Objects in the install namespace that exist already with this formula's labels, and are not in
    its record, were made by an attempt that stopped before writing the record (Ctrl-C, a crash):
    they are this install's. Cluster-scoped objects are never taken over this way, since another
    namespace's install of the same formula may own them."""
    from kube.k8s.objects import FORMULA_LABEL, MANAGED_BY, MANAGED_BY_LABEL, label_value

    def unknown(ref: ObjectRef) -> bool:
        # Not in the earlier record, or there without a uid (listed by a pending record).
        entry = progress.recorded.get(_key(ref))
        return entry is None or not entry.uid

    candidates = [
        i
        for i, o in enumerate(outcomes)
        if o.reason in _ADOPTABLE and o.ref.namespace == ns and unknown(o.ref)
    ]
    if not candidates:
        return outcomes
    adopted = list(outcomes)
    for i, found in zip(
        candidates, kubectl.get([outcomes[i].ref for i in candidates], timeout=15), strict=True
    ):
        labels = ((found.live or {}).get("metadata") or {}).get("labels") or {}
        if labels.get(MANAGED_BY_LABEL) == MANAGED_BY and labels.get(FORMULA_LABEL) == label_value(formula):
            adopted[i] = Outcome(ObjectRef.of(found.live or {}), True, found.live, Reason.ADOPTED)
    return adopted


def _namespace_outcome(outcome: Outcome, progress: _Progress) -> None:
    if outcome.ok:
        progress.created_namespace = progress.namespace_is_new = True
        progress.statuses.append(ObjectStatus(outcome.ref, CREATED, "namespace created for this install"))
    elif outcome.reason not in (Reason.ALREADY_EXISTS, Reason.FORBIDDEN):
        # Its objects will fail with the real reason; the namespace row explains why.
        progress.statuses.append(ObjectStatus(outcome.ref, FAILED, f"{outcome.reason}: {outcome.message}"))


def _object_outcome(obj: KubeObject, outcome: Outcome, progress: _Progress) -> None:
    if outcome.ok:
        uid = str((outcome.live or {}).get("metadata", {}).get("uid", ""))
        progress.record(RecordedObject(outcome.ref, uid))
        if outcome.reason == Reason.ADOPTED and progress.was_recorded(outcome.ref):
            progress.statuses.append(
                ObjectStatus(outcome.ref, EXISTS, "created by an earlier attempt", obj.source)
            )
            return
        if outcome.reason == Reason.ADOPTED:
            detail = "left by an earlier attempt that stopped before recording it"
            progress.statuses.append(ObjectStatus(outcome.ref, EXISTS, detail, obj.source))
            return
        progress.new.append(outcome.ref)
        progress.statuses.append(ObjectStatus(outcome.ref, CREATED, source=obj.source))
    elif outcome.reason == Reason.ALREADY_EXISTS and progress.was_recorded(outcome.ref):
        progress.statuses.append(
            ObjectStatus(outcome.ref, EXISTS, "created by an earlier attempt", obj.source)
        )
    else:
        progress.failures.append(FailedObject(outcome.ref, outcome.reason, outcome.message))
        progress.statuses.append(
            ObjectStatus(outcome.ref, FAILED, f"{outcome.reason}: {outcome.message}", obj.source)
        )


def _await_crds(
    kubectl: Kubectl, wave: Sequence[KubeObject], ns: str, progress: _Progress, scopes: Scopes
) -> None:
    from kube.k8s import wait

    crds = [
        ref_of(o, ns, scopes)
        for o in wave
        if (o.group, o.kind) == ("apiextensions.k8s.io", "CustomResourceDefinition")
    ]
    if not crds:
        return
    report = wait.wait_ready(kubectl, crds, timeout=CRD_TIMEOUT)
    for status in report.not_ready:
        progress.failures.append(FailedObject(status.ref, Reason.NOT_ESTABLISHED, status.message))
        progress.statuses.append(ObjectStatus(status.ref, FAILED, f"not established: {status.message}"))


def _finish(
    the_plan: Plan,
    kubectl: Kubectl,
    options: InstallOptions,
    progress: _Progress,
    digest: str,
    hook_ran: bool,
    planned: Sequence[ObjectRef],
) -> InstallResult:
    formula, ns = the_plan.source.formula, the_plan.namespace
    result = InstallResult(
        formula.name,
        str(formula.version),
        ns,
        InstallOutcome.INSTALLED,
        (),
        progress.created_namespace,
        hook_ran=hook_ran,
    )
    previous = the_plan.existing
    if progress.failures and options.atomic:
        if previous is None:
            _drop_pending(kubectl, the_plan, progress)  # first: a namespace kube made must be empty
        result = _roll_back(result, kubectl, progress)
        if previous is not None:
            _save(kubectl, the_plan, progress, previous)
        return result
    recorded = list(progress.recorded.values())
    # A cluster-scoped object of a stopped kubectl may exist without kube being able to tell it
    # from another install's: it stays listed (without uid) so uninstall can look for it.
    recorded += [
        RecordedObject(f.ref)
        for f in progress.failures
        if f.reason == Reason.INTERRUPTED and not f.ref.namespace and _key(f.ref) not in progress.recorded
    ]
    if progress.failures and not recorded and not progress.created_namespace and previous is None:
        _drop_pending(kubectl, the_plan, progress)
        return replace(result, outcome=InstallOutcome.FAILED, objects=tuple(progress.statuses))
    record = _record(
        the_plan, digest, recorded, failed=progress.failures, created_namespace=progress.created_namespace,
        refs=planned,
    )  # fmt: skip
    record = _save(kubectl, the_plan, progress, record)
    outcome = InstallOutcome.PARTIAL if progress.failures else InstallOutcome.INSTALLED
    result = replace(result, outcome=outcome, objects=tuple(progress.statuses), record=record)
    if options.wait is None or progress.failures or progress.interrupted:
        return result
    return _wait(result, kubectl, options, progress)


def _record(
    the_plan: Plan,
    digest: str,
    objects: Sequence[RecordedObject],
    *,
    failed: Sequence[FailedObject] = (),
    created_namespace: bool = False,
    outcome: RecordOutcome | None = None,
    refs: Sequence[ObjectRef] = (),
) -> Record:
    from kube import __version__

    formula = the_plan.source.formula
    previous = the_plan.existing
    ns = the_plan.namespace
    elsewhere = {r.namespace for r in refs} | {o.ref.namespace for o in objects}
    allowed = set(previous.allowed_namespaces if previous else ()) | (elsewhere - {ns, ""})
    return Record(
        formula=formula.name,
        version=str(formula.version),
        namespace=ns,
        outcome=outcome or (RecordOutcome.PARTIAL if failed else RecordOutcome.COMPLETE),
        objects=tuple(objects),
        failed=tuple(failed),
        values_digest=digest,
        installed_at=datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        kube_version=__version__,
        created_namespace=created_namespace or bool(previous and previous.created_namespace),
        source=the_plan.source.origin,
        allowed_namespaces=tuple(sorted(allowed)),
        resource_version=previous.resource_version if previous else "",
    )


def _save(kubectl: Kubectl, the_plan: Plan, progress: _Progress, record: Record) -> Record:
    """Replace the pending record with ``record``. When kube does not know the pending record's
    version (kubectl was stopped, or the record could not be created with the first wave), it is
    read back first, and created when it does not exist."""
    version = progress.record_version
    if not version:
        live = records.read_record(kubectl, record.formula, record.namespace)
        version = live.resource_version if live else ""
    saved = records.write_record(kubectl, replace(record, resource_version=version), replace=bool(version))
    progress.record_version = saved.resource_version
    return saved


def _drop_pending(kubectl: Kubectl, the_plan: Plan, progress: _Progress) -> None:
    """Delete the pending record of a first install that created nothing."""
    from kube.k8s.records import record_name

    if progress.record_version or progress.interrupted:
        kubectl.delete_named("secrets", record_name(the_plan.source.formula.name), the_plan.namespace)


def _wait(
    result: InstallResult, kubectl: Kubectl, options: InstallOptions, progress: _Progress
) -> InstallResult:
    from kube.k8s import wait

    assert options.wait is not None
    report = wait.wait_ready(kubectl, [o.ref for o in progress.recorded.values()], timeout=options.wait)
    by_ref = {s.ref: s for s in report.statuses}
    statuses = []
    for status in result.objects:
        readiness = by_ref.get(status.ref)
        if readiness is not None and status.status in (CREATED, EXISTS):
            status = replace(status, status=readiness.state, detail=readiness.message)
        statuses.append(status)
    result = replace(result, objects=tuple(statuses), wait=report)
    if options.atomic and not report.ready:
        from kube.install import uninstall

        assert result.record is not None
        removed = uninstall.uninstall(kubectl, result.record)
        rolled = tuple(replace(s, status=ROLLED_BACK) for s in removed.objects)
        return replace(result, outcome=InstallOutcome.ROLLED_BACK, objects=rolled, record=None)
    return result


def _roll_back(result: InstallResult, kubectl: Kubectl, progress: _Progress) -> InstallResult:
    """Delete what this attempt created, newest first; an earlier attempt's objects and record stay."""
    deleted = kubectl.delete(list(reversed(progress.new)))
    gone = {o.ref for o in deleted if o.ok}
    statuses = [
        replace(s, status=ROLLED_BACK) if s.status == CREATED and s.ref in gone else s
        for s in progress.statuses
    ]
    if progress.namespace_is_new:
        from kube.install import uninstall

        if not uninstall.namespace_residents(kubectl, result.namespace, ignore=()):
            kubectl.delete_named("namespaces", result.namespace, None)
            statuses = [
                replace(s, status=ROLLED_BACK) if s.ref.kind == "Namespace" and s.status == CREATED else s
                for s in statuses
            ]
    return replace(
        result, outcome=InstallOutcome.ROLLED_BACK, objects=tuple(statuses), created_namespace=False
    )
