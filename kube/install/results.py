"""What an install or uninstall reports, and its inputs: plan, options, statuses and results.

The pipeline (``kube.install.pipeline``), the creating step (``kube.install.create``) and
uninstall (``kube.install.uninstall``) all speak these types; keeping them here, below all
three, is what lets create roll back through uninstall without either importing the other's
caller. Every status is a ``StrEnum``: its value is the word the user reads (``kube install``
prints ``status.value``), and code compares members, never literals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from kube.core.text import plural
from kube.k8s.kubectl_output import ObjectRef
from kube.k8s.records import Record, RecordOutcome
from kube.k8s.wait import ReadyState

if TYPE_CHECKING:
    from kube.formula.load import Formula
    from kube.install.deps import Unsatisfied
    from kube.k8s.objects import KubeObject
    from kube.k8s.wait import WaitReport


class ObjectState(StrEnum):
    """What an install did with one object."""

    CREATED = "created"
    EXISTS = "exists"
    FAILED = "failed"
    SKIPPED = "not attempted"
    ROLLED_BACK = "rolled back"
    WOULD_CREATE = "would create"


class InstallOutcome(StrEnum):
    INSTALLED = "installed"
    PARTIAL = "partial"
    FAILED = "failed"
    ROLLED_BACK = "rolled back"
    DRY_RUN = "dry run"


class RemovalState(StrEnum):
    """What an uninstall did with one recorded object."""

    DELETED = "deleted"
    GONE = "already gone"
    KEPT = "kept"
    NOT_OURS = "not deleted"
    FAILED = "failed"
    DELETING = "being deleted"


class ApplyState(StrEnum):
    """What an upgrade or rollback did with one object (``kube.install.apply``)."""

    CREATED = "created"
    CHANGED = "changed"
    UNCHANGED = "unchanged"
    PRUNED = "pruned"
    KEPT = "kept"
    TAKEN_OVER = "not pruned (taken over)"
    GONE = "already gone"
    FAILED = "failed"
    SKIPPED = "not attempted"
    ROLLED_BACK = "rolled back"
    WOULD_CREATE = "would create"
    WOULD_CHANGE = "would apply"
    WOULD_PRUNE = "would prune"


# An install object's status; after --wait, created objects carry their readiness instead.
Status = ObjectState | ReadyState | RemovalState | ApplyState


@dataclass(frozen=True)
class Source:
    formula: Formula
    directory: Path
    origin: str  # "path" | "workspace" | "archive": where resolve found it, shown, never compared
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Plan:
    source: Source
    namespace: str
    existing: Record | None
    records: tuple[Record, ...]
    unsatisfied: tuple[Unsatisfied, ...]
    notes: tuple[str, ...] = ()

    @property
    def already_installed(self) -> bool:
        return self.existing is not None and self.existing.outcome == RecordOutcome.COMPLETE


@dataclass(frozen=True)
class InstallOptions:
    value_files: tuple[Path, ...] = ()
    sets: tuple[str, ...] = ()
    set_strings: tuple[str, ...] = ()
    hooks: bool = True
    hook_timeout: float | None = 300.0
    sandbox: bool = False
    interactive: bool = True
    dry_run: bool = False
    wait: float | None = None  # seconds to wait for readiness; None: do not wait
    atomic: bool = False
    allow_namespaces: tuple[str, ...] = ()  # namespaces besides the install namespace (--allow-namespace)


@dataclass(frozen=True)
class Reach:
    """Where a formula's objects go beyond the install namespace: what the user must consent to."""

    namespace: str
    cluster_scoped: tuple[ObjectRef, ...] = ()
    elsewhere: tuple[ObjectRef, ...] = ()  # namespaced objects in a namespace given to --allow-namespace

    @property
    def namespaces(self) -> tuple[str, ...]:
        """Every namespace the objects go to, the install namespace first."""
        others = sorted({r.namespace for r in self.elsewhere} - {self.namespace})
        return (self.namespace, *others)


@dataclass(frozen=True)
class ObjectStatus:
    ref: ObjectRef
    status: Status
    detail: str = ""
    source: str = ""


@dataclass(frozen=True)
class InstallResult:
    formula: str
    version: str
    namespace: str
    outcome: InstallOutcome
    objects: tuple[ObjectStatus, ...]
    created_namespace: bool = False
    record: Record | None = None
    rendered: tuple[KubeObject, ...] = field(default=(), repr=False)
    wait: WaitReport | None = None
    hook_ran: bool = False
    reach: Reach | None = None

    def count(self, status: Status) -> int:
        return sum(1 for o in self.objects if o.status == status)

    @property
    def ok(self) -> bool:
        return self.outcome in (InstallOutcome.INSTALLED, InstallOutcome.DRY_RUN) and (
            self.wait is None or self.wait.ready
        )

    @property
    def summary(self) -> str:
        what = f"{self.formula} {self.version}"
        where = self.where
        made = (
            len(self.record.objects)
            if self.record
            else self.count(ObjectState.CREATED) + self.count(ObjectState.EXISTS)
        )
        created = plural(made, "object")
        if self.outcome == InstallOutcome.DRY_RUN:
            count = plural(len(self.objects), "object")
            return f"{what} would create {count} in {where} (dry run: nothing was sent)"
        failed = self.count(ObjectState.FAILED)
        if self.outcome == InstallOutcome.INSTALLED:
            ready = "" if self.wait is None else (", all ready" if self.wait.ready else ", not all ready")
            return f"{what} installed in {where}: {created}{ready}"
        if self.outcome == InstallOutcome.ROLLED_BACK:
            rolled = plural(self.count(ObjectState.ROLLED_BACK), "object")
            return f"{what} not installed: {failed} failed; rolled back {rolled}"
        if self.outcome == InstallOutcome.FAILED:
            return f"{what} not installed in {where}: {failed} failed, nothing was created"
        skipped = self.count(ObjectState.SKIPPED)
        return (
            f"{what} partly installed in {where}: {created} exist, {failed} failed, {skipped} not attempted; "
            "the install record lists what exists"
        )

    @property
    def where(self) -> str:
        """``namespace web``, and every other place objects went: ``namespace web (also namespace
        monitoring; 2 cluster-scoped objects)``."""
        text = f"namespace {self.namespace}"
        reach = self.reach
        if reach is None:
            return text
        also = [f"namespace {ns}" for ns in reach.namespaces[1:]]
        if reach.cluster_scoped:
            also.append(plural(len(reach.cluster_scoped), "cluster-scoped object"))
        return f"{text} (also {'; '.join(also)})" if also else text


@dataclass(frozen=True)
class UninstallResult:
    formula: str
    version: str
    namespace: str
    objects: tuple[ObjectStatus, ...]
    namespace_deleted: bool = False
    namespace_note: str = ""
    record_removed: bool = True

    @property
    def ok(self) -> bool:
        return self.record_removed

    def count(self, *states: RemovalState) -> int:
        return sum(1 for o in self.objects if o.status in states)

    @property
    def summary(self) -> str:
        deleted = self.count(RemovalState.DELETED)
        gone = self.count(RemovalState.GONE)
        deleting = self.count(RemovalState.DELETING)
        kept = self.count(RemovalState.KEPT, RemovalState.NOT_OURS)
        what = f"{self.formula} {self.version} in namespace {self.namespace}"
        if not self.record_removed:
            failed = self.count(RemovalState.FAILED)
            return f"{what}: {plural(failed, 'object')} could not be deleted; the install record stays"
        text = f"uninstalled {what}: {plural(deleted, 'object')} deleted"
        if gone:
            text += f", {gone} already gone"
        if deleting:
            text += f", {deleting} still being deleted by the API server"
        if kept:
            text += f", {plural(kept, 'object')} left in place"
        if self.namespace_deleted:
            text += f", namespace {self.namespace} deleted"
        return text
