"""depends-on waits, as kpt live applies and deletes: what an object names is reconciled before it
is created, and the object is gone before what it names is deleted.

Creating. ``kube.k8s.objects.order_waves`` already puts an object one wave after each object its
``config.kubernetes.io/depends-on`` names; ``Waits.before`` is called before each wave and waits
until those named objects are *reconciled* (kstatus Current, ``kube.k8s.wait.assess``), not merely
created: a Deployment that reads a database's Service starts once the StatefulSet behind it has
its replicas ready. Only the objects some later object names are waited for, and each once. The
wait happens with or without ``--wait``, bounded by one deadline for the whole release (the
``--timeout``). A target that fails (kstatus Failed) or is not reconciled by the deadline stops
the release: ``Blocked`` names the chain, ``Deployment/web waits for StatefulSet/db: 0 of 1
replicas ready``. Install, upgrade and rollback call the same ``Waits``.

Deleting. ``delete_in_order`` deletes the dependents first: objects nothing (left) depends on go
in one ``kubectl delete``; when something they name is still to be deleted, kube waits until they
are gone (finalizers done) before deleting it. The graph is read from the live objects'
annotations, so it needs no re-render and holds for records that predate this module. Without
any depends-on among the objects, this is the one ``kubectl delete`` it always was.

Both report progress through ``on_event`` (kpt's words: ``reconcile pending`` -> ``reconciled``,
``delete pending`` -> ``deleted``); the CLI prints them, this module never does.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from kube.core.errors import ClusterError, WaitTimeoutError
from kube.k8s.kubectl import Kubectl, ObjectRef, Outcome
from kube.k8s.objects import DEPENDS_ON, parse_depends_on

if TYPE_CHECKING:
    from kube.k8s.objects import KubeObject, Scopes

# Seconds between polls: first quick (most targets are ready within a second or two), then slower.
_FIRST_INTERVAL, _MAX_INTERVAL = 0.5, 2.0
DEPENDENTS_REMAIN = "DependentsRemain"  # the reason of an object left because its dependents stay
DEPENDENCY_NOT_READY = "DependencyNotReady"  # why an object was not created: what it names is not Current


class Phase(StrEnum):
    RECONCILE_PENDING = "reconcile pending"
    RECONCILED = "reconciled"
    RECONCILE_FAILED = "reconcile failed"
    RECONCILE_TIMEOUT = "reconcile timeout"
    DELETE_PENDING = "delete pending"
    DELETED = "deleted"
    DELETE_TIMEOUT = "delete timeout"


@dataclass(frozen=True)
class Event:
    """One step of one object: ``StatefulSet/db reconcile pending (0 of 1 replicas ready)``."""

    ref: ObjectRef
    phase: Phase
    message: str = ""

    def __str__(self) -> str:
        where = f" -n {self.ref.namespace}" if self.ref.namespace else ""
        detail = f" ({self.message})" if self.message else ""
        return f"{self.ref.display}{where} {self.phase}{detail}"


OnEvent = Callable[[Event], None]


def _ignore(event: Event) -> None:
    return None


@dataclass(frozen=True)
class Blocked:
    """Why a wave was not created: ``dependents`` wait for ``target``, which is not reconciled."""

    dependents: tuple[ObjectRef, ...]
    target: ObjectRef
    message: str
    failed: bool = False  # kstatus Failed rather than out of time

    @property
    def text(self) -> str:
        who = " and ".join(d.display for d in self.dependents[:3])
        more = f" (and {len(self.dependents) - 3} more)" if len(self.dependents) > 3 else ""
        verb = "waits" if len(self.dependents) == 1 else "wait"
        state = "failed: " if self.failed else ""
        return f"{who}{more} {verb} for {self.target.display}: {state}{self.message}"

    def error(self, timeout: float) -> ClusterError:
        """A target that failed is the cluster's verdict (exit 8, as ``--wait`` reports it); one
        that was still in progress ran out of time (exit 9)."""
        from kube.core.durations import format_duration

        where = f" -n {self.target.namespace}" if self.target.namespace else ""
        hint = f"look at it with `kubectl describe {self.target.kind.lower()} {self.target.name}{where}`"
        if self.failed:
            return ClusterError(self.text, hint=hint)
        return WaitTimeoutError(
            f"{self.text} after {format_duration(timeout)}", hint=f"{hint}; or wait longer with --timeout"
        )


@dataclass
class Waits:
    """The depends-on waits of one release being created; see the module docstring.

    ``targets[i]`` are the refs the objects of wave ``i`` name (and who names them).
    """

    targets: list[dict[ObjectRef, list[ObjectRef]]]
    timeout: float
    on_event: OnEvent = _ignore
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    reconciled: set[ObjectRef] = field(default_factory=set)
    deadline: float = 0.0

    @classmethod
    def of(
        cls,
        waves: Sequence[Sequence[KubeObject]],
        ns: str,
        scopes: Scopes,
        *,
        timeout: float,
        on_event: OnEvent | None = None,
    ) -> Waits:
        from kube.k8s.objects import dependencies, ref_of

        objs = [o for w in waves for o in w]
        refs = [ref_of(o, ns, scopes) for o in objs]
        deps = dependencies(objs, namespace=ns, scopes=scopes)
        wave_of = [i for i, w in enumerate(waves) for _ in w]
        targets: list[dict[ObjectRef, list[ObjectRef]]] = [{} for _ in waves]
        for i, named in enumerate(deps):
            for j in sorted(named):
                targets[wave_of[i]].setdefault(refs[j], []).append(refs[i])
        waits = cls(targets, timeout, on_event or _ignore)
        waits.deadline = waits.clock() + timeout
        return waits

    def before(self, index: int, kubectl: Kubectl) -> Blocked | None:
        """Wait until what wave ``index`` names is reconciled; what blocks it when that fails."""
        wanted = {t: who for t, who in self.targets[index].items() if t not in self.reconciled}
        if not wanted:
            return None
        blocked = await_reconciled(
            kubectl,
            wanted,
            deadline=self.deadline,
            on_event=self.on_event,
            clock=self.clock,
            sleep=self.sleep,
        )
        self.reconciled |= set(wanted) - ({blocked.target} if blocked else set())
        return blocked


def await_reconciled(
    kubectl: Kubectl,
    wanted: Mapping[ObjectRef, Sequence[ObjectRef]],
    *,
    deadline: float,
    on_event: OnEvent = _ignore,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Blocked | None:
    """Poll ``wanted`` (target -> its dependents) until all are Current; the first that fails or is
    not Current at ``deadline`` is returned. One ``kubectl get`` per round for all that are left."""
    from kube.k8s.wait import FAILED, LAST_READ, READY, assess

    pending = list(wanted)
    last: dict[ObjectRef, str] = {}
    for ref in pending:
        on_event(Event(ref, Phase.RECONCILE_PENDING))
    interval = _FIRST_INTERVAL
    while pending:
        remaining = deadline - clock()
        for outcome in kubectl.get(pending, timeout=min(kubectl.timeout, max(remaining, LAST_READ))):
            state, message = assess(outcome.live) if outcome.live is not None else (None, "not found")
            if state == READY:
                pending.remove(outcome.ref)
                on_event(Event(outcome.ref, Phase.RECONCILED, message))
            elif state == FAILED:
                on_event(Event(outcome.ref, Phase.RECONCILE_FAILED, message))
                return Blocked(tuple(wanted[outcome.ref]), outcome.ref, message, failed=True)
            else:
                last[outcome.ref] = message
        remaining = deadline - clock()
        if pending and remaining <= 0:
            first = pending[0]
            on_event(Event(first, Phase.RECONCILE_TIMEOUT, last.get(first, "")))
            return Blocked(tuple(wanted[first]), first, last.get(first, "not reconciled"))
        if pending:
            sleep(min(interval, remaining))
            interval = min(interval * 1.5, _MAX_INTERVAL)
    return None


# -- deleting ---------------------------------------------------------------------------------


def deletion_groups(
    doomed: Sequence[ObjectRef], live: Mapping[ObjectRef, Mapping[str, Any]]
) -> list[list[ObjectRef]]:
    """``doomed`` (in creation order) as groups to delete one after the other: dependents first,
    each group newest first. Edges come from the live objects' depends-on annotations and count
    only between objects of ``doomed``; an unreadable annotation or a cycle (someone edited the
    objects) adds no order rather than stopping an uninstall."""
    index = {_identity(r): r for r in doomed}
    named_by: dict[ObjectRef, set[ObjectRef]] = {r: set() for r in doomed}  # target -> dependents
    for ref in doomed:
        for target in _targets(ref, live.get(ref) or {}, index):
            if target != ref:
                named_by[target].add(ref)
    if not any(named_by.values()):
        return [list(reversed(doomed))] if doomed else []
    # A target's level is one past its dependents' levels; relaxation stops after len(doomed)
    # rounds, which a cycle would exceed.
    level = dict.fromkeys(doomed, 0)
    for _ in range(len(doomed)):
        changed = False
        for target, dependents in named_by.items():
            want = max((level[d] + 1 for d in dependents), default=0)
            if want > level[target]:
                level[target], changed = want, True
        if not changed:
            break
    else:
        return [list(reversed(doomed))]
    groups: dict[int, list[ObjectRef]] = {}
    for ref in reversed(doomed):
        groups.setdefault(level[ref], []).append(ref)
    return [groups[n] for n in sorted(groups)]


def _identity(ref: ObjectRef) -> tuple[str, str, str, str]:
    return (ref.group, ref.kind, ref.namespace, ref.name)


def _targets(
    ref: ObjectRef, obj: Mapping[str, Any], index: Mapping[tuple[str, str, str, str], ObjectRef]
) -> list[ObjectRef]:
    meta = obj.get("metadata")
    annotations = meta.get("annotations") if isinstance(meta, Mapping) else None
    text = annotations.get(DEPENDS_ON) if isinstance(annotations, Mapping) else None
    if not isinstance(text, str):
        return []
    try:
        refs = parse_depends_on(text)
    except ValueError:
        return []
    found = []
    for group, namespace, kind, name in refs:
        # The short form names a cluster-scoped object, or one beside the dependent (as at install).
        for candidate in ((group, kind, namespace, name),) if namespace else (
            (group, kind, "", name), (group, kind, ref.namespace, name),
        ):  # fmt: skip
            if candidate in index:
                found.append(index[candidate])
                break
    return found


def delete_in_order(
    kubectl: Kubectl,
    doomed: Sequence[ObjectRef],
    live: Mapping[ObjectRef, Mapping[str, Any]],
    *,
    wait: bool = False,
    timeout: float = 300.0,
    on_event: OnEvent | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    settle: float = 0.0,
) -> list[Outcome]:
    """Delete ``doomed`` (creation order) dependents first; see the module docstring. An object
    whose dependents are not gone by the deadline is not deleted: its outcome fails with reason
    ``DependentsRemain``, so the record stays and uninstall can be run again. ``settle``: when
    nothing depends on anything, kubectl waits that long for the objects to be gone (outcomes
    ``Gone``, see ``Kubectl.delete``)."""
    emit = on_event or _ignore
    groups = deletion_groups(doomed, live)
    if len(groups) <= 1 and settle > 0 and not wait:
        return kubectl.delete(groups[0] if groups else [], wait=True, timeout=timeout, wait_for=settle)
    if len(groups) <= 1:
        return kubectl.delete(groups[0] if groups else [], wait=wait, timeout=timeout)
    deadline = clock() + timeout
    outcomes: list[Outcome] = []
    for n, group in enumerate(groups):
        last = n + 1 == len(groups)
        remaining = max(deadline - clock(), 1.0)
        done = kubectl.delete(group, wait=wait and last, timeout=remaining)
        outcomes += done
        if last:
            break
        deleted = [o.ref for o in done if o.ok]
        stuck = _await_gone(kubectl, deleted, deadline, emit, clock, sleep)
        if stuck or len(deleted) < len(group):
            left = stuck[0].display if stuck else "a dependent that could not be deleted"
            outcomes += [
                Outcome(r, False, None, DEPENDENTS_REMAIN, f"not deleted: {left} that depends on it remains")
                for g in groups[n + 1 :]
                for r in g
            ]
            break
    return outcomes


def _await_gone(
    kubectl: Kubectl,
    refs: Sequence[ObjectRef],
    deadline: float,
    emit: OnEvent,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> list[ObjectRef]:
    """Poll until ``refs`` are gone; those still there at ``deadline``."""
    from kube.k8s.wait import await_gone

    for ref in refs:
        emit(Event(ref, Phase.DELETE_PENDING))
    left = await_gone(
        kubectl,
        refs,
        deadline=deadline,
        on_gone=lambda r: emit(Event(r, Phase.DELETED)),
        clock=clock,
        sleep=sleep,
    )
    for ref in left:
        emit(Event(ref, Phase.DELETE_TIMEOUT))
    return list(left)
