"""What an install or uninstall reports, and its inputs: plan, options, statuses and results.

The pipeline (``kube.install.pipeline``), the creating step (``kube.install.create``) and
uninstall (``kube.install.uninstall``) all speak these types; keeping them here, below all
three, is what lets create roll back through uninstall without either importing the other's
caller. Every status is a ``StrEnum``: its value is the word the user reads (``kube install``
prints ``status.value``), and code compares members, never literals.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kube.core.errors import KubeError
from kube.core.text import plural
from kube.k8s.kubectl_output import ObjectRef
from kube.k8s.release_format import ReleaseOutcome, Revision
from kube.k8s.wait import ReadyState

if TYPE_CHECKING:
    from kube.formula.load import Formula
    from kube.formula.patches import PatchSet
    from kube.install.depends import OnEvent
    from kube.install.deps import Unsatisfied
    from kube.k8s.capabilities import Capabilities
    from kube.k8s.objects import KubeObject
    from kube.k8s.releases import Release
    from kube.k8s.wait import WaitReport


class ObjectState(StrEnum):
    """What an install did with one object."""

    CREATED = "created"
    EXISTS = "exists"
    FAILED = "failed"
    SKIPPED = "not attempted"
    ROLLED_BACK = "rolled back"
    WOULD_CREATE = "would create"
    OK = "ok"  # a re-install found the object as kube last sent it
    CHANGED = "changed"  # a re-install found the object edited since kube sent it (left as it is)
    RECREATED = "re-created"  # a re-install found the object deleted and created it again
    WOULD_RECREATE = "would re-create"
    WOULD_UPGRADE = "would upgrade"  # a dry run over a release of another version or other values
    ADMITTED = "admitted"  # --dry-run=server: the API server accepted it (and stored nothing)


class InstallOutcome(StrEnum):
    INSTALLED = "installed"
    PARTIAL = "partial"
    FAILED = "failed"
    ROLLED_BACK = "rolled back"
    DRY_RUN = "dry run"
    UNCHANGED = "already installed"  # a re-install of the same version and values (drift repaired)


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
    """What the cluster has for an install: ``existing``, the release of this name in the namespace
    with its history; ``records``, the latest revision of every release kube may list (for the
    dependencies); ``release``, the name chosen (``--name``; the formula's name when "")."""

    source: Source
    namespace: str
    existing: Release | None
    records: tuple[Revision, ...]
    unsatisfied: tuple[Unsatisfied, ...]
    notes: tuple[str, ...] = ()
    release: str = ""

    @property
    def release_name(self) -> str:
        return self.release or self.source.formula.name

    @property
    def latest(self) -> Revision | None:
        return self.existing.latest if self.existing is not None else None

    @property
    def already_installed(self) -> bool:
        latest = self.latest
        return latest is not None and latest.outcome == ReleaseOutcome.COMPLETE


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
    timeout: float = 300.0  # --timeout: bounds the depends-on waits, with or without --wait
    on_event: OnEvent | None = field(default=None, compare=False)  # depends-on progress, for the CLI
    server_dry_run: bool = False  # --dry-run=server: the API server admits and validates, stores nothing
    # --patch files (and a dependent formula's patches), applied after the render and recorded.
    patches: tuple[PatchSet, ...] = field(default=(), hash=False)
    # --kube-version: what templates see as kube.capabilities, instead of asking the cluster.
    capabilities: Capabilities | None = field(default=None, hash=False)


@dataclass(frozen=True)
class Inputs:
    """What a revision records of an install besides its objects: ``values`` the user gave
    (K3.yaml's defaults, ``-f``, ``--set`` merged), ``hook_values`` the values after the hook
    (what it generated survives upgrades), ``manifest`` the objects as sent."""

    values: Mapping[str, Any] = field(default_factory=dict, hash=False)
    hook_values: Mapping[str, Any] = field(default_factory=dict, hash=False)
    manifest: tuple[Mapping[str, Any], ...] = field(default=(), hash=False)
    patches: tuple[Mapping[str, Any], ...] = field(default=(), hash=False)  # PatchSet.to_json() each


class ReleaseExistsError(KubeError):
    """The release exists with another formula version or other values: ``kube upgrade`` changes it."""

    exit_code = 11


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
    record: Revision | None = None
    rendered: tuple[KubeObject, ...] = field(default=(), repr=False)
    wait: WaitReport | None = None
    hook_ran: bool = False
    reach: Reach | None = None
    release: str = ""
    note: str = ""  # one line said before the summary (a dry run over an existing release)

    def count(self, status: Status) -> int:
        return sum(1 for o in self.objects if o.status == status)

    @property
    def ok(self) -> bool:
        return self.outcome in (
            InstallOutcome.INSTALLED,
            InstallOutcome.DRY_RUN,
            InstallOutcome.UNCHANGED,
        ) and (self.wait is None or self.wait.ready)

    @property
    def summary(self) -> str:
        what = f"{self.formula} {self.version}"
        if self.release and self.release != self.formula:
            what = f"{self.release} ({what})"
        where = self.where
        made = (
            len(self.record.objects)
            if self.record
            else self.count(ObjectState.CREATED) + self.count(ObjectState.EXISTS)
        )
        created = plural(made, "object")
        if self.outcome == InstallOutcome.DRY_RUN:
            count = plural(len(self.objects), "object")
            if self.note:
                return f"{what} in {where}: {self.note} (dry run: nothing was changed)"
            return f"{what} would create {count} in {where} (dry run: nothing was sent)"
        if self.outcome == InstallOutcome.UNCHANGED:
            recreated = self.count(ObjectState.RECREATED)
            changed = self.count(ObjectState.CHANGED)
            text = f"{what} is already installed in {where}: {plural(len(self.objects), 'object')}"
            if recreated:
                text += f", {recreated} re-created"
            if changed:
                text += f", {changed} changed by hand (left as they are; `kube upgrade` sets them back)"
            would = self.count(ObjectState.WOULD_RECREATE)
            if would:
                text += f", {would} would be re-created"
            text += "" if recreated or changed or would else ", all ok"
            return f"{text} (dry run: {self.note})" if self.note else text
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
    release: str = ""

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
        if self.release and self.release != self.formula:
            what = f"{self.release} ({self.formula} {self.version}) in namespace {self.namespace}"
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
