"""Creating a rendered formula in the cluster: wave by wave, then the record, then rollback or wait.

Each wave is one ``kubectl create``; the install namespace, when missing, is
created first in the first wave and labelled as kube's. After a wave with a
failure, later waves are not attempted. The record lists only what the API
server confirmed, with uids; objects that exist with this formula's labels in
the install namespace but are missing from its record (an attempt stopped by
Ctrl-C or a crash before it wrote the record) are taken into the record. With
``atomic``, what this attempt created is deleted again instead.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from kube import records
from kube.errors import ClusterError
from kube.install import (
    CRD_TIMEOUT,
    CREATED,
    EXISTS,
    FAILED,
    ROLLED_BACK,
    SKIPPED,
    InstallOptions,
    InstallResult,
    ObjectStatus,
    Plan,
    as_sent,
    ref_of,
)  # fmt: skip
from kube.kubectl import Kubectl, ObjectRef, Outcome
from kube.records import COMPLETE, PARTIAL, FailedObject, Record, RecordedObject

if TYPE_CHECKING:
    from kube.objects import KubeObject

ALREADY_EXISTS = "AlreadyExists"
INTERRUPTED, ADOPTED = "Interrupted", "Adopted"  # outcome reasons of kube's own


def namespace_object(ns: str, formula: str) -> dict[str, Any]:
    from kube.objects import MANAGED_BY_LABELS

    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": ns,
            "labels": dict(MANAGED_BY_LABELS),
            "annotations": {"kube.sh/created-for": formula},
        },
    }


@dataclass
class _Progress:
    """What one install attempt has done so far."""

    previous: Record | None
    recorded: list[RecordedObject]
    statuses: list[ObjectStatus] = field(default_factory=list)
    failures: list[FailedObject] = field(default_factory=list)
    new: list[ObjectRef] = field(default_factory=list)  # created by this attempt, in order
    created_namespace: bool = False
    namespace_is_new: bool = False
    interrupted: bool = False
    draft: Record | None = None  # the record as sent at the end of the last wave, if the server took it

    def was_recorded(self, ref: ObjectRef) -> bool:
        return self.previous is not None and any(o.ref.same_object(ref) for o in self.previous.objects)


def create(
    the_plan: Plan,
    waves: list[list[KubeObject]],
    kubectl: Kubectl,
    options: InstallOptions,
    digest: str,
    hook_ran: bool,
) -> InstallResult:
    formula, ns = the_plan.source.formula, the_plan.namespace
    previous = the_plan.existing
    progress = _Progress(previous, list(previous.objects) if previous else [])
    progress.created_namespace = previous.created_namespace if previous else False
    among = [o for w in waves for o in w]
    own_namespace = any(o.group == "" and o.kind == "Namespace" and o.name == ns for o in among)
    # A first install sends its record last in the last wave, as if everything will work: kubectl
    # creates in order, so it only exists once everything before it was tried. A surprise (a failure,
    # a new namespace) costs a replace afterwards; the usual case saves a kubectl process.
    draft = (
        None if previous else _record(the_plan, digest, [RecordedObject(ref_of(o, ns, among)) for o in among])
    )
    for index, wave in enumerate(waves):
        payload = [as_sent(o, ns, among) for o in wave]
        add_namespace = index == 0 and not own_namespace
        if add_namespace:
            payload.insert(0, namespace_object(ns, formula.name))
        with_draft = draft is not None and index == len(waves) - 1
        if with_draft and draft is not None:
            payload.append(records.to_secret(draft))
        outcomes = _create_wave(kubectl, payload, first=index == 0, progress=progress)
        if with_draft:
            sent = outcomes.pop()
            if sent.ok and sent.live is not None:
                version = str(sent.live.get("metadata", {}).get("resourceVersion", ""))
                progress.draft = replace(draft, resource_version=version) if draft else None
        outcomes = _adopt(kubectl, outcomes, formula.name, ns, progress)
        if add_namespace:
            _namespace_outcome(outcomes.pop(0), progress)
        for obj, outcome in zip(wave, outcomes, strict=True):
            _object_outcome(obj, outcome, progress)
        if progress.failures:
            progress.statuses += [
                ObjectStatus(ref_of(o, ns, among), SKIPPED, source=o.source)
                for w in waves[index + 1 :]
                for o in w
            ]
            break
        if index + 1 < len(waves):
            _await_crds(kubectl, wave, ns, progress)
    result = _finish(the_plan, kubectl, options, progress, digest, hook_ran)
    if progress.interrupted:
        raise KeyboardInterrupt
    return result


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
        return [Outcome(ObjectRef.of(p), False, None, INTERRUPTED, "interrupted") for p in payload]


def _adopt(
    kubectl: Kubectl, outcomes: list[Outcome], formula: str, ns: str, progress: _Progress
) -> list[Outcome]:
    """Objects in the install namespace that exist already with this formula's labels, and are not in
    its record, were made by an attempt that stopped before writing the record (Ctrl-C, a crash):
    they are this install's. Cluster-scoped objects are never taken over this way, since another
    namespace's install of the same formula may own them."""
    from kube.objects import FORMULA_LABEL, MANAGED_BY, MANAGED_BY_LABEL, label_value

    candidates = [
        i
        for i, o in enumerate(outcomes)
        if o.reason in (ALREADY_EXISTS, INTERRUPTED)
        and o.ref.namespace == ns
        and not progress.was_recorded(o.ref)
    ]
    if not candidates:
        return outcomes
    adopted = list(outcomes)
    for i, found in zip(
        candidates, kubectl.get([outcomes[i].ref for i in candidates], timeout=15), strict=True
    ):
        labels = ((found.live or {}).get("metadata") or {}).get("labels") or {}
        if labels.get(MANAGED_BY_LABEL) == MANAGED_BY and labels.get(FORMULA_LABEL) == label_value(formula):
            adopted[i] = Outcome(ObjectRef.of(found.live or {}), True, found.live, ADOPTED)
    return adopted


def _namespace_outcome(outcome: Outcome, progress: _Progress) -> None:
    if outcome.ok:
        progress.created_namespace = progress.namespace_is_new = True
        progress.statuses.append(ObjectStatus(outcome.ref, CREATED, "namespace created for this install"))
    elif outcome.reason not in ("AlreadyExists", "Forbidden"):
        # Its objects will fail with the real reason; the namespace row explains why.
        progress.statuses.append(ObjectStatus(outcome.ref, FAILED, f"{outcome.reason}: {outcome.message}"))


def _object_outcome(obj: KubeObject, outcome: Outcome, progress: _Progress) -> None:
    if outcome.ok:
        uid = str((outcome.live or {}).get("metadata", {}).get("uid", ""))
        progress.recorded.append(RecordedObject(outcome.ref, uid))
        if outcome.reason == ADOPTED:
            detail = "left by an earlier attempt that stopped before recording it"
            progress.statuses.append(ObjectStatus(outcome.ref, EXISTS, detail, obj.source))
            return
        progress.new.append(outcome.ref)
        progress.statuses.append(ObjectStatus(outcome.ref, CREATED, source=obj.source))
    elif outcome.reason == "AlreadyExists" and progress.was_recorded(outcome.ref):
        progress.statuses.append(
            ObjectStatus(outcome.ref, EXISTS, "created by an earlier attempt", obj.source)
        )
    else:
        progress.failures.append(FailedObject(outcome.ref, outcome.reason, outcome.message))
        progress.statuses.append(
            ObjectStatus(outcome.ref, FAILED, f"{outcome.reason}: {outcome.message}", obj.source)
        )


def _await_crds(kubectl: Kubectl, wave: Sequence[KubeObject], ns: str, progress: _Progress) -> None:
    from kube import wait

    crds = [
        ref_of(o, ns, wave)
        for o in wave
        if (o.group, o.kind) == ("apiextensions.k8s.io", "CustomResourceDefinition")
    ]
    if not crds:
        return
    report = wait.wait_ready(kubectl, crds, timeout=CRD_TIMEOUT)
    for status in report.not_ready:
        progress.failures.append(FailedObject(status.ref, "NotEstablished", status.message))
        progress.statuses.append(ObjectStatus(status.ref, FAILED, f"not established: {status.message}"))


def _finish(
    the_plan: Plan,
    kubectl: Kubectl,
    options: InstallOptions,
    progress: _Progress,
    digest: str,
    hook_ran: bool,
) -> InstallResult:
    formula, ns = the_plan.source.formula, the_plan.namespace
    result = InstallResult(
        formula.name, str(formula.version), ns, "installed", (), progress.created_namespace, hook_ran=hook_ran
    )
    if progress.failures and options.atomic:
        if progress.draft is not None:
            records.delete_record(kubectl, progress.draft)
        return _roll_back(result, kubectl, progress)
    if progress.failures and not progress.recorded and not progress.created_namespace:
        if progress.draft is not None:
            records.delete_record(kubectl, progress.draft)
        return replace(result, outcome="failed", objects=tuple(progress.statuses))
    record = _record(
        the_plan,
        digest,
        progress.recorded,
        failed=progress.failures,
        created_namespace=progress.created_namespace,
    )
    _save(kubectl, the_plan, progress, record)
    outcome = "partial" if progress.failures else "installed"
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
) -> Record:
    from kube import __version__

    formula = the_plan.source.formula
    previous = the_plan.existing
    return Record(
        formula=formula.name,
        version=str(formula.version),
        namespace=the_plan.namespace,
        outcome=PARTIAL if failed else COMPLETE,
        objects=tuple(objects),
        failed=tuple(failed),
        values_digest=digest,
        installed_at=datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        kube_version=__version__,
        created_namespace=created_namespace or bool(previous and previous.created_namespace),
        source=the_plan.source.origin,
        resource_version=previous.resource_version if previous else "",
    )


def _save(kubectl: Kubectl, the_plan: Plan, progress: _Progress, record: Record) -> None:
    """Write the record unless the draft sent with the last wave already says the same."""
    draft = progress.draft
    if draft is None and progress.interrupted and the_plan.existing is None:
        # The stopped kubectl may have created the draft before it was stopped.
        draft = records.read_record(kubectl, record.formula, record.namespace)
    if draft is None:
        records.write_record(kubectl, record, replace=the_plan.existing is not None)
        return
    same = [o.ref for o in draft.objects] == [o.ref for o in record.objects]
    if same and not record.failed and record.created_namespace == draft.created_namespace:
        return
    records.write_record(kubectl, replace(record, resource_version=draft.resource_version), replace=True)


def _wait(
    result: InstallResult, kubectl: Kubectl, options: InstallOptions, progress: _Progress
) -> InstallResult:
    from kube import wait

    assert options.wait is not None
    report = wait.wait_ready(kubectl, [o.ref for o in progress.recorded], timeout=options.wait)
    by_ref = {s.ref: s for s in report.statuses}
    statuses = []
    for status in result.objects:
        readiness = by_ref.get(status.ref)
        if readiness is not None and status.status in (CREATED, EXISTS):
            status = replace(status, status=readiness.state, detail=readiness.message)
        statuses.append(status)
    result = replace(result, objects=tuple(statuses), wait=report)
    if options.atomic and not report.ready:
        from kube import uninstall

        assert result.record is not None
        removed = uninstall.uninstall(kubectl, result.record)
        rolled = tuple(replace(s, status=ROLLED_BACK) for s in removed.objects)
        return replace(result, outcome="rolled back", objects=rolled, record=None)
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
        from kube import uninstall

        if not uninstall.namespace_residents(kubectl, result.namespace, ignore=()):
            kubectl.delete_named("namespaces", result.namespace, None)
            statuses = [
                replace(s, status=ROLLED_BACK) if s.ref.kind == "Namespace" and s.status == CREATED else s
                for s in statuses
            ]
    return replace(result, outcome="rolled back", objects=tuple(statuses), created_namespace=False)
