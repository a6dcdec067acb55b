"""Creating a rendered formula in the cluster: the pending revision, wave by wave, then the
revision completed, then rollback or wait.

Each wave is one ``kubectl create``; the install namespace, when missing, is
created first in the first wave and labelled as kube's. Before any object, the
release's revision (``kube.k8s.releases``: revision 1 of a new release) is written
with outcome ``pending``, listing every object of every wave (without uids) and the
full manifest: a new revision is sent in the first wave's own call, right after
the namespace, so it costs no kubectl process; a new attempt over an earlier
unfinished one (pending or partial) replaces that revision first. So an install stopped
anywhere, even by SIGKILL between waves, leaves a record that ``kube list``
shows and ``kube uninstall`` can clean up. When the install ends, the revision is
replaced by what the API server confirmed, with uids (``deployed``; ``failed`` when
something was refused).

After a wave with a failure, later waves are not attempted. Objects that exist
with this release's labels in the install namespace but are missing from its
record (an attempt stopped by Ctrl-C or a crash before it wrote the record)
are taken into the record. With ``atomic``, what this attempt created is
deleted again instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from kube.core.errors import ClusterError
from kube.install import depends, shared
from kube.install.results import (
    REMADE,
    Inputs,
    InstallOptions,
    InstallOutcome,
    InstallResult,
    ObjectState,
    ObjectStatus,
    Plan,
)
from kube.k8s import releases
from kube.k8s.kubectl import Kubectl, ObjectRef, Outcome
from kube.k8s.kubectl_output import Reason
from kube.k8s.objects import as_sent, ref_of
from kube.k8s.releases import Failure, RecordedObject, ReleaseOutcome, ReleaseStatus, Revision

FailedObject = Failure

if TYPE_CHECKING:
    from kube.k8s import wait as wait_module
    from kube.k8s.objects import KubeObject, Scopes

CREATED, EXISTS, FAILED, SKIPPED, ROLLED_BACK = (
    ObjectState.CREATED, ObjectState.EXISTS, ObjectState.FAILED, ObjectState.SKIPPED, ObjectState.ROLLED_BACK,
)  # fmt: skip
OK, CHANGED, RECREATED = ObjectState.OK, ObjectState.CHANGED, ObjectState.RECREATED
ADOPTED = ObjectState.ADOPTED
# How long a CRD may take to be established before the wave that uses it.
CRD_TIMEOUT = 60.0
#: The API server's words (its NamespaceLifecycle admission) for a create in a namespace being deleted.
TERMINATING_NAMESPACE = "because it is being terminated"
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

    previous: Revision | None
    recorded: dict[tuple[str, str, str, str], RecordedObject]  # in creation order
    statuses: list[ObjectStatus] = field(default_factory=list)
    failures: list[FailedObject] = field(default_factory=list)
    new: list[ObjectRef] = field(default_factory=list)  # created by this attempt, in order
    adopted: list[ObjectRef] = field(default_factory=list)  # shipped, found existing, not kube's to delete
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
    inputs: Inputs,
    hook_ran: bool,
    scopes: Scopes | None = None,
) -> InstallResult:
    from kube.k8s.objects import Scopes

    formula, ns = the_plan.source.formula, the_plan.namespace
    previous = the_plan.resumable
    among = [o for w in waves for o in w]
    scopes = scopes or Scopes(among)
    before = previous.objects if previous else ()
    progress = _Progress(previous, {_key(o.ref): o for o in before})
    progress.previous_keys = frozenset(progress.recorded)
    progress.created_namespace = previous.created_namespace if previous else False
    own_namespace = any(o.group == "" and o.kind == "Namespace" and o.name == ns for o in among)
    planned = [ref_of(o, ns, scopes) for o in among]
    coming = [RecordedObject(r) for r in planned if _key(r) not in progress.recorded]
    inputs = replace(inputs, manifest=tuple(as_sent(o, ns, scopes) for o in among))
    pending = _record(the_plan, inputs, [*before, *coming], outcome=ReleaseOutcome.PENDING, refs=planned)
    releases.check_size(pending)
    # A format 2 revision left unfinished is taken over; anything else gets a revision of its own.
    carry = previous is None or previous.format_version != 2
    if not carry:
        # The earlier attempt's revision stays the one revision; it now also lists what comes next.
        progress.record_version = releases.write_revision(
            kubectl, pending, replace_existing=True
        ).resource_version
    me = shared.user(ns, the_plan.release_name)
    waits = depends.Waits.of(waves, ns, scopes, timeout=options.timeout, on_event=options.on_event)
    blocked: depends.Blocked | None = None
    for index, wave in enumerate(waves):
        if index and (blocked := waits.before(index, kubectl)) is not None:
            _blocked(blocked, waves[index:], ns, progress, scopes)
            break
        payload = [_with_user(as_sent(o, ns, scopes), ns, me) for o in wave]
        prefix: list[dict[str, Any]] = []
        add_namespace = index == 0 and not own_namespace
        if add_namespace:
            prefix.append(namespace_object(ns, formula.name))
        carry_record = index == 0 and carry
        docs = prefix + payload
        if carry_record:
            # kubectl creates in order: the record exists before the first object does (after
            # the install namespace, kube's or the formula's own, which must exist first).
            at = len(prefix) + next(
                (i + 1 for i, o in enumerate(wave) if (o.group, o.kind, o.name) == ("", "Namespace", ns)), 0
            )
            docs.insert(at, releases.to_secret(replace(pending, resource_version="")))
        if index == 0:
            # The closing record write starts loading while the first wave is created (started
            # with the wave's own kubectl, both would slow the render on a small machine).
            releases.record_write_waiting(kubectl)
        outcomes = _create_wave(kubectl, docs, first=index == 0, progress=progress)
        if carry_record:
            sent = outcomes.pop(at)
            if sent.ok and sent.live is not None:
                progress.record_version = str((sent.live.get("metadata") or {}).get("resourceVersion", ""))
            elif sent.reason != Reason.INTERRUPTED:
                _unrecorded(kubectl, the_plan, sent, outcomes, created_namespace=add_namespace)
        outcomes = _adopt(kubectl, outcomes, the_plan, progress)
        outcomes = shared.join(kubectl, outcomes, payload, formula=formula.name, me=me, install_namespace=ns)
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
    result = _finish(the_plan, kubectl, options, progress, inputs, hook_ran, planned)
    if progress.interrupted:
        raise KeyboardInterrupt
    if blocked is not None:
        # The record says what exists (partial, or rolled back with --atomic); the error names the chain.
        raise blocked.error(options.timeout)
    return result


def _unrecorded(
    kubectl: Kubectl, the_plan: Plan, record: Outcome, outcomes: Sequence[Outcome], *, created_namespace: bool
) -> None:
    """The first wave's revision was refused, and the objects after it were created anyway
    (kubectl goes on after an error): nothing may exist that no record lists. What this call
    created is deleted again, and the install stops. AlreadyExists is another install of the
    same release that wrote its revision first (two at once): the objects that were there
    already are that install's, and so is the namespace."""
    release, ns = the_plan.release_name, the_plan.namespace
    racing = record.reason == Reason.ALREADY_EXISTS
    made = [o.ref for o in outcomes if o.ok]
    if racing or not created_namespace:
        made = [r for r in made if not (r.group == "" and r.kind == "Namespace" and r.name == ns)]
    left = [o.ref.display for o in kubectl.delete(list(reversed(made))) if not o.ok] if made else []
    undone = f"; {len(made) - len(left)} object(s) it had created were deleted again" if made else ""
    if left:
        undone += f", {len(left)} could not be ({', '.join(left[:3])}): delete them by hand"
    if racing:
        raise ClusterError(
            f"another install of release {release} in namespace {ns} wrote its record first "
            f"(two installs at once?): this one stopped{undone}",
            hint=f"see what that one installed with `kube list -n {ns}` and `kube status {release} -n {ns}`",
        )
    if record.reason == Reason.FORBIDDEN and TERMINATING_NAMESPACE in record.message:
        # An uninstall (or kubectl delete) of the namespace is still under way.
        raise ClusterError(
            f"namespace {ns} is being deleted (Terminating), so nothing can be created in it: "
            f"the install stopped{undone}",
            hint=f"wait until `kubectl get namespace {ns}` says NotFound and install again, "
            "or install into another namespace with -n",
        )
    raise ClusterError(
        f"cannot write the record of release {release} in namespace {ns} "
        f"({record.reason}: {record.message}): the install stopped{undone}",
        hint="kube records every install in a Secret of the install namespace: check that you may create "
        f"Secrets there (`kubectl auth can-i create secrets -n {ns}`)",
    )


def _with_user(data: dict[str, Any], ns: str, me: str) -> dict[str, Any]:
    """A cluster-scoped object is created with its first user (``kube.install.shared``)."""
    return shared.with_user(data, me) if shared.is_shared(ObjectRef.of(data), ns) else data


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


def _adopt(kubectl: Kubectl, outcomes: list[Outcome], the_plan: Plan, progress: _Progress) -> list[Outcome]:
    """Objects in the install namespace that exist already with this release's labels, and are not in
    its record, were made by an attempt that stopped before writing the record (Ctrl-C, a crash):
    they are this install's. Cluster-scoped objects are never taken over this way, since another
    namespace's install of the same formula may own them; nor is an object of another release."""
    from kube.k8s.objects import FORMULA_LABEL, MANAGED_BY, MANAGED_BY_LABEL, label_value
    from kube.k8s.release_names import RELEASE_LABEL

    formula, ns, release = the_plan.source.formula.name, the_plan.namespace, the_plan.release_name

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
        if (
            labels.get(MANAGED_BY_LABEL) == MANAGED_BY
            and labels.get(FORMULA_LABEL) == label_value(formula)
            and labels.get(RELEASE_LABEL) == release
        ):
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
        if outcome.reason == shared.SHARED:
            if not outcome.message and progress.was_recorded(outcome.ref):
                # Its only user is this release: a re-run of its own install met it.
                detail = "created by an earlier attempt"
            else:
                detail = f"shared with {outcome.message}" if outcome.message else "shared"
            progress.statuses.append(ObjectStatus(outcome.ref, EXISTS, detail, obj.source))
            return
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
    elif outcome.reason == Reason.NOT_ATTEMPTED:
        # kubectl stopped at an earlier object of the batch: this one was never sent.
        progress.statuses.append(ObjectStatus(outcome.ref, SKIPPED, outcome.message, obj.source))
    elif outcome.reason == Reason.ALREADY_EXISTS and progress.was_recorded(outcome.ref):
        progress.statuses.append(
            ObjectStatus(outcome.ref, EXISTS, "created by an earlier attempt", obj.source)
        )
    elif outcome.reason == Reason.ALREADY_EXISTS and (obj.group, obj.kind) == ("", "Namespace"):
        # A formula that brings its own Namespace (ingress-nginx, argo-cd) installs into one that
        # exists: the release depends on it, did not create it, and never deletes it.
        progress.adopted.append(outcome.ref)
        detail = "exists already: this release uses it and its uninstall leaves it"
        progress.statuses.append(ObjectStatus(outcome.ref, ADOPTED, detail, obj.source))
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
    inputs: Inputs,
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
        release=the_plan.release_name,
    )
    previous = progress.previous
    if progress.failures and options.atomic:
        first = progress.failures[0]
        more = f" (and {len(progress.failures) - 1} more)" if len(progress.failures) > 1 else ""
        result = replace(result, cause=f"{first.ref.display} failed ({first.reason}): {first.message}{more}")
        if previous is None:
            _drop_pending(kubectl, the_plan, progress)  # first: a namespace kube made must be empty
        result = _roll_back(result, kubectl, progress)
        if previous is not None:
            if previous.format_version == 2:
                _save(kubectl, the_plan, progress, previous)
            else:
                _drop_pending(kubectl, the_plan, progress)  # the round-one record stays as it was
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
    if progress.failures and not recorded and progress.namespace_is_new and previous is None:
        # Nothing but the namespace kube made for it (the first object failed kubectl's
        # validation): no release of nothing is left behind, and the namespace goes if it is empty.
        _drop_pending(kubectl, the_plan, progress)
        statuses = list(progress.statuses)
        from kube.install import uninstall

        if not uninstall.namespace_residents(kubectl, result.namespace, ignore=()):
            kubectl.delete_named("namespaces", result.namespace, None)
            statuses = [
                replace(s, status=ROLLED_BACK) if s.ref.kind == "Namespace" and s.status == CREATED else s
                for s in statuses
            ]
            result = replace(result, created_namespace=False)
        return replace(result, outcome=InstallOutcome.FAILED, objects=tuple(statuses))
    record = _record(
        the_plan, inputs, recorded, failed=progress.failures, created_namespace=progress.created_namespace,
        refs=planned, adopted=progress.adopted,
    )  # fmt: skip
    record = _save(kubectl, the_plan, progress, record)
    outcome = InstallOutcome.PARTIAL if progress.failures else InstallOutcome.INSTALLED
    result = replace(result, outcome=outcome, objects=tuple(progress.statuses), record=record)
    if options.wait is None or progress.failures or progress.interrupted:
        return result
    return _wait(result, kubectl, options, progress)


def revision_number(the_plan: Plan) -> int:
    """The revision this install writes: the unfinished one it takes over, else the next one."""
    previous = the_plan.resumable
    if previous is not None and previous.format_version == 2:
        return previous.revision
    return the_plan.existing.next_revision if the_plan.existing is not None else 1


def _record(
    the_plan: Plan,
    inputs: Inputs,
    objects: Sequence[RecordedObject],
    *,
    failed: Sequence[Failure] = (),
    created_namespace: bool = False,
    outcome: ReleaseOutcome | None = None,
    refs: Sequence[ObjectRef] = (),
    adopted: Sequence[ObjectRef] = (),
) -> Revision:
    from kube import __version__

    formula = the_plan.source.formula
    previous = the_plan.resumable
    ns = the_plan.namespace
    elsewhere = {r.namespace for r in refs} | {o.ref.namespace for o in objects}
    allowed = set(previous.allowed_namespaces if previous else ()) | (elsewhere - {ns, ""})
    outcome = outcome or (ReleaseOutcome.PARTIAL if failed else ReleaseOutcome.COMPLETE)
    status = {ReleaseOutcome.PENDING: ReleaseStatus.PENDING, ReleaseOutcome.COMPLETE: ReleaseStatus.DEPLOYED}
    number = revision_number(the_plan)
    taken = {_key(a) for a in adopted}
    return Revision(
        release=the_plan.release_name,
        namespace=ns,
        revision=number,
        formula=formula.name,
        version=str(formula.version),
        status=status.get(outcome, ReleaseStatus.FAILED),
        outcome=outcome,
        time=releases.utc_now(),
        values=dict(inputs.values),
        hook_values=dict(inputs.hook_values),
        patches=tuple(inputs.patches),
        # What was adopted is not the release's to re-apply (a rollback) or delete.
        manifest=tuple(m for m in inputs.manifest if _key(ObjectRef.of(m)) not in taken),
        objects=tuple(objects),
        allowed_namespaces=tuple(sorted(allowed)),
        created_namespace=created_namespace or bool(previous and previous.created_namespace),
        failures=tuple(failed),
        summary=f"install of {formula.name} {formula.version}" + (" (resumed)" if previous else ""),
        kube_version=__version__,
        dependencies=tuple(f"{d.name} {d.range}" for d in formula.dependencies),
        adopted=tuple(adopted),
        resource_version=previous.resource_version if previous and previous.format_version == 2 else "",
    )


def _save(kubectl: Kubectl, the_plan: Plan, progress: _Progress, record: Revision) -> Revision:
    """Replace the pending revision with ``record``. When kube does not know the pending revision's
    version (kubectl was stopped, or the record could not be created with the first wave), it is
    read back first, and created when it does not exist."""
    version = progress.record_version
    if not version:
        live = releases.read_release(kubectl, record.release, record.namespace)
        found = live.revision(record.revision) if live else None
        version = found.resource_version if found and found.format_version == 2 else ""
    saved = releases.write_revision(
        kubectl, replace(record, resource_version=version), replace_existing=bool(version)
    )
    progress.record_version = saved.resource_version
    return saved


def _drop_pending(kubectl: Kubectl, the_plan: Plan, progress: _Progress) -> None:
    """Delete the pending revision of an install that created nothing."""
    if progress.record_version or progress.interrupted:
        name = releases.secret_name(the_plan.release_name, revision_number(the_plan))
        kubectl.delete_named("secrets", name, the_plan.namespace)


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
        rev = result.record
        removed = uninstall.uninstall(kubectl, releases.Release(rev.release, rev.namespace, (rev,)))
        # A row says what became of the object, and why it went: the readiness it had.
        why = {
            s.ref: f"was {s.state}: {s.message}" if s.message else f"was {s.state}" for s in report.not_ready
        }
        rolled = tuple(
            replace(s, status=ROLLED_BACK, detail=why.get(s.ref, s.detail))
            if s.status in (uninstall.DELETED, uninstall.GONE)
            else s
            for s in removed.objects
        )
        return replace(
            result, outcome=InstallOutcome.ROLLED_BACK, objects=rolled, record=None, cause=_not_ready(report)
        )
    return result


def _not_ready(report: wait_module.WaitReport) -> str:
    """``Deployment/web not ready after 5s: 0 of 1 replicas available``; a failure first."""
    from kube.core.durations import format_duration

    first = report.failed[0] if report.failed else report.not_ready[0]
    more = len(report.failed if report.failed else report.not_ready) - 1
    also = f" (and {more} more)" if more else ""
    if report.failed:
        return f"{first.ref.display} failed: {first.message}{also}"
    return f"{first.ref.display} not ready after {format_duration(report.timeout)}: {first.message}{also}"


def _roll_back(result: InstallResult, kubectl: Kubectl, progress: _Progress) -> InstallResult:
    """Delete what this attempt created, newest first, and take the release off the users of the
    shared objects it joined; an earlier attempt's objects and record stay."""
    import time

    from kube.install.results import RemovalState
    from kube.k8s.wait import await_gone, holding

    left_to = _leave_joined(kubectl, result, progress)
    deleted = kubectl.delete(list(reversed(progress.new)))
    requested = [o.ref for o in deleted if o.ok]
    # Rolled back means gone: one read back; what the API server still holds is said so.
    left = await_gone(kubectl, requested, deadline=time.monotonic())
    held = {ref: f"deletion requested; {holding(obj)}" for ref, obj in left.items()}
    statuses = [
        (replace(s, status=RemovalState.DELETING, detail=held[s.ref]) if s.ref in held
         else replace(s, status=ROLLED_BACK))
        if s.status == CREATED and s.ref in requested
        else replace(s, status=left_to[s.ref][0], detail=left_to[s.ref][1])
        if s.ref in left_to
        else s
        for s in progress.statuses
    ]  # fmt: skip
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


def _leave_joined(
    kubectl: Kubectl, result: InstallResult, progress: _Progress
) -> dict[ObjectRef, tuple[ObjectState, str]]:
    """Take the release off the users of the shared objects this attempt joined (one read, one
    patch each); the status and detail of each."""
    me = shared.user(result.namespace, result.release)
    # A joined object's status is the only trace of the join (it is recorded like any other); one
    # an earlier attempt recorded stays the release's, as that attempt's record does.
    joined = [
        s.ref
        for s in progress.statuses
        if s.status == EXISTS and s.detail.startswith("shared") and not progress.was_recorded(s.ref)
    ]
    if not joined:
        return {}
    left: dict[ObjectRef, tuple[ObjectState, str]] = {}
    for ref, found in zip(joined, kubectl.get(joined), strict=True):
        if found.live is None:
            continue
        try:
            shared.drop_user(kubectl, ref, found.live, me)
        except ClusterError as exc:
            left[ref] = (EXISTS, f"shared: could not take {me} off its users: {exc.message}")
            continue
        others = [u for u in shared.users_of(found.live) if u != me]
        left[ref] = (ROLLED_BACK, f"shared: left to {shared.listing(others)}" if others else "shared: left")
    return left


# -- a release that exists: re-install and drift ------------------------------------------------


def reinstall(
    the_plan: Plan, kubectl: Kubectl, options: InstallOptions, given: Mapping[str, Any]
) -> InstallResult:
    """``kube install`` of a release whose latest revision is complete. With the same formula
    version and values (the digest of the values the user gave, before the hook) it renders
    nothing and runs no hook: it reads every recorded object (one ``kubectl get``) and reports it
    ``ok``, ``changed`` (edited since kube sent it: ``kube.k8s.releases_drift``; left as it is)
    or, when it was deleted, re-creates it from the revision's manifest (one ``kubectl create``
    for all of them) and records its new uid in the same revision. Another version or other
    values raise ``ReleaseExistsError`` (exit 11): that is ``kube upgrade``; a dry run says so."""
    from kube.install.results import ReleaseExistsError
    from kube.k8s.records import values_digest
    from kube.k8s.releases_drift import edited

    formula, ns, name = the_plan.source.formula, the_plan.namespace, the_plan.release_name
    latest = the_plan.latest
    assert latest is not None
    version = str(formula.version)
    differs = []
    if latest.version != version:
        differs.append(f"version {latest.version}, not {version}")
    if latest.values_digest != values_digest(given):
        differs.append("other values")
    if latest.patches is not None and list(latest.patches) != [p.to_json() for p in options.patches]:
        differs.append("other patches")
    result = InstallResult(
        formula.name, version, ns, InstallOutcome.UNCHANGED, (), release=name, record=latest
    )
    if differs:
        what = f"release {name} exists in namespace {ns} with {formula.name} {' and '.join(differs)}"
        hint = (
            f"change it with `kube upgrade {name} {formula.name} -n {ns}`, "
            "or install a second copy with --name"
        )
        if options.dry_run:
            note = f"{what}; `kube upgrade` would upgrade it, an install changes nothing"
            objects = tuple(ObjectStatus(o.ref, ObjectState.WOULD_UPGRADE) for o in latest.objects)
            return replace(result, outcome=InstallOutcome.DRY_RUN, objects=objects, note=note, record=None)
        raise ReleaseExistsError(what, hint=hint)
    sent = {_key(ObjectRef.of(m)): m for m in latest.manifest or ()}
    live = kubectl.get([o.ref for o in latest.objects]) if latest.objects else []
    suspects = {
        _key(recorded.ref): found.live
        for recorded, found in zip(latest.objects, live, strict=True)
        if found.live is not None
        and (m := sent.get(_key(recorded.ref))) is not None
        and edited(found.live, m)
    }
    edits = _confirmed_edits(kubectl, suspects, sent) if suspects else set()
    statuses: dict[tuple[str, str, str, str], ObjectStatus] = {}
    missing: list[RecordedObject] = []
    for recorded, found in zip(latest.objects, live, strict=True):
        ref, manifest = recorded.ref, sent.get(_key(recorded.ref))
        if found.live is None and found.reason in (Reason.NOT_FOUND, Reason.NO_MATCH):
            missing.append(recorded)
        elif found.live is None:
            statuses[_key(ref)] = ObjectStatus(ref, FAILED, f"{found.reason}: {found.message}")
        elif recorded.uid and (found.live.get("metadata") or {}).get("uid") != recorded.uid:
            statuses[_key(ref)] = ObjectStatus(ref, CHANGED, f"{REMADE} (uid differs)")
        elif manifest is not None and _key(ref) in edits:
            statuses[_key(ref)] = ObjectStatus(ref, CHANGED, "edited since kube sent it")
        else:
            statuses[_key(ref)] = ObjectStatus(ref, OK)
    uids = _recreate(kubectl, options, missing, sent, statuses) if missing else {}
    objects = tuple(statuses[_key(o.ref)] for o in latest.objects)
    failed = any(s.status is FAILED for s in objects)
    record = result.record
    if uids:
        record = _with_uids(kubectl, latest, uids)
    return replace(
        result,
        objects=objects,
        outcome=InstallOutcome.PARTIAL if failed else result.outcome,
        record=record,
        note="nothing would change" if options.dry_run and not missing else "",
    )


def _confirmed_edits(
    kubectl: Kubectl,
    suspects: Mapping[tuple[str, str, str, str], Mapping[str, Any]],
    sent: Mapping[tuple[str, str, str, str], Mapping[str, Any]],
) -> set[tuple[str, str, str, str]]:
    """Which of ``suspects`` (live objects whose values at the fields kube sent differ from what
    it sent) were edited: those a dry-run apply of what kube sent would change. The API server
    keeps less than it is sent, and not always in the same words: it drops empty values
    (``data: null``, ``minReadySeconds: 0``) and fields its version or feature gates lack, and
    writes quantities its own way (``cpu: 0.5`` is ``500m``). Its own merge of the manifest
    into the live object says what kube's values are once stored; one kubectl call for all."""
    from kube.k8s.releases_drift import comparable, project

    keys = list(suspects)
    outcomes = kubectl.apply([sent[k] for k in keys], dry_run=True)
    edits = set()
    for key, outcome in zip(keys, outcomes, strict=True):
        expected = comparable(sent[key])
        # Refused (an immutable field edited, say): it is not as kube sent it.
        if (
            not outcome.ok
            or outcome.live is None
            or project(suspects[key], expected) != project(outcome.live, expected)
        ):
            edits.add(key)
    return edits


def _recreate(
    kubectl: Kubectl,
    options: InstallOptions,
    missing: Sequence[RecordedObject],
    sent: Mapping[tuple[str, str, str, str], Mapping[str, Any]],
    statuses: dict[tuple[str, str, str, str], ObjectStatus],
) -> dict[tuple[str, str, str, str], str]:
    """Create again, in creation order and in one call, the recorded objects deleted by hand;
    returns the uids they got."""
    uids: dict[tuple[str, str, str, str], str] = {}
    payload: list[Mapping[str, Any]] = []
    for recorded in missing:
        manifest = sent.get(_key(recorded.ref))
        if manifest is None:
            detail = "deleted since the install; a round-one record holds no manifest to make it again from"
            statuses[_key(recorded.ref)] = ObjectStatus(recorded.ref, FAILED, f"NotFound: {detail}")
        elif options.dry_run:
            statuses[_key(recorded.ref)] = ObjectStatus(recorded.ref, ObjectState.WOULD_RECREATE)
        else:
            payload.append(manifest)
    for outcome in kubectl.create(payload):
        key = _key(outcome.ref)
        if outcome.ok:
            uids[key] = str((outcome.live or {}).get("metadata", {}).get("uid", ""))
            statuses[key] = ObjectStatus(outcome.ref, RECREATED, "deleted by hand; created again")
        else:
            statuses[key] = ObjectStatus(outcome.ref, FAILED, f"{outcome.reason}: {outcome.message}")
    return uids


def _with_uids(kubectl: Kubectl, latest: Revision, uids: Mapping[tuple[str, str, str, str], str]) -> Revision:
    """The revision with the uids of the objects made again (it stays the same revision: the
    release holds what it held, only under new uids)."""
    entries = tuple(RecordedObject(o.ref, uids.get(_key(o.ref), o.uid)) for o in latest.objects)
    rev = replace(latest, objects=entries)
    if latest.format_version != 2:
        return rev  # a round-one record is left as it was written
    return releases.write_revision(kubectl, rev, replace_existing=True)


def server_dry_run(
    the_plan: Plan, waves: list[list[KubeObject]], kubectl: Kubectl, scopes: Scopes
) -> InstallResult:
    """``--dry-run=server``: every object sent in one ``kubectl create --dry-run=server``, so the API
    server runs admission and validation and stores nothing. What cannot be judged that way is
    said, not guessed: objects in an install namespace that does not exist yet (the server has
    no namespace to admit them to) and custom resources whose CRD this install would create."""
    formula, ns = the_plan.source.formula, the_plan.namespace
    among = [o for w in waves for o in w]
    own_namespace = any(o.group == "" and o.kind == "Namespace" and o.name == ns for o in among)
    namespace_exists = own_namespace or kubectl.get_named("namespaces", ns, None) is not None
    crds = {
        str((o.data.get("spec") or {}).get("group", ""))
        for o in among
        if (o.group, o.kind) == ("apiextensions.k8s.io", "CustomResourceDefinition")
    }
    sent = [as_sent(o, ns, scopes) for o in among]
    outcomes = kubectl.create(sent, server_dry_run=True)
    statuses = []
    existing = [o.ref for o in outcomes if o.reason == Reason.ALREADY_EXISTS and shared.is_shared(o.ref, ns)]
    found = {_key(o.ref): o.live for o in kubectl.get(existing)} if existing else {}
    for obj, data, outcome in zip(among, sent, outcomes, strict=True):
        ref = ref_of(obj, ns, scopes)
        live = found.get(_key(outcome.ref))
        if outcome.ok:
            statuses.append(ObjectStatus(ref, ObjectState.ADMITTED, source=obj.source))
        elif live is not None and not (why := shared.refusal(live, formula.name, data)):
            users = shared.listing(shared.users_of(live)) or "another release"
            statuses.append(ObjectStatus(ref, EXISTS, f"shared: would join {users}", obj.source))
        elif live is not None:
            statuses.append(ObjectStatus(ref, FAILED, f"{Reason.ALREADY_EXISTS}: {why}", obj.source))
        elif ref.namespace == ns and not namespace_exists and outcome.reason == Reason.NOT_FOUND:
            detail = f"not checked: namespace {ns} does not exist yet"
            statuses.append(ObjectStatus(ref, ObjectState.WOULD_CREATE, detail, obj.source))
        elif obj.group in crds and outcome.reason == Reason.NO_MATCH:
            detail = "not checked: its CustomResourceDefinition is created by this install"
            statuses.append(ObjectStatus(ref, ObjectState.WOULD_CREATE, detail, obj.source))
        else:
            statuses.append(ObjectStatus(ref, FAILED, f"{outcome.reason}: {outcome.message}", obj.source))
    failed = any(s.status is FAILED for s in statuses)
    note = "the API server admitted every object" if not failed else "the API server refused some objects"
    return InstallResult(
        formula.name, str(formula.version), ns, InstallOutcome.FAILED if failed else InstallOutcome.DRY_RUN,
        tuple(statuses), release=the_plan.release_name, note=note + " (server dry run: nothing was stored)",
    )  # fmt: skip
