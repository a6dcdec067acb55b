"""What an install or uninstall reports, and its inputs: plan, options, statuses and results.

The pipeline (``kube.install.pipeline``), the creating step (``kube.install.create``) and
uninstall (``kube.install.uninstall``) all speak these types; keeping them here, below all
three, is what lets create roll back through uninstall without either importing the other's
caller. Every status is a ``StrEnum``: its value is the word the user reads (``kube install``
prints ``status.value``), and code compares members, never literals.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kube.core.errors import KubeError
from kube.core.text import plural
from kube.k8s.kubectl_output import ObjectRef

if TYPE_CHECKING:
    from typing import TypeAlias

    from kube.formula.load import Formula
    from kube.formula.patches import PatchSet
    from kube.install.depends import OnEvent
    from kube.install.deps import Unsatisfied
    from kube.k8s.capabilities import Capabilities
    from kube.k8s.objects import KubeObject
    from kube.k8s.release_format import Revision
    from kube.k8s.releases import Release
    from kube.k8s.wait import ReadyState, WaitReport


#: How a re-run of ``kube install`` details a recorded object that was made again (another uid).
REMADE = "made again by someone else"


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
    ADOPTED = "adopted"  # a Namespace the formula ships existed already: needed, not created, never deleted


class InstallOutcome(StrEnum):
    INSTALLED = "installed"
    PARTIAL = "partial"
    FAILED = "failed"
    ROLLED_BACK = "rolled back"
    DRY_RUN = "dry run"
    UNCHANGED = "already installed"  # a re-install of the same version and values (drift repaired)


class RemovalState(StrEnum):
    """What an uninstall did with one recorded object. ``deleted`` only once a read of the API
    server answered NotFound; ``deleting`` when its deletion was requested and the API server
    still has it (finalizers at work); ``stuck`` when it still has it at the end of ``--wait``."""

    DELETED = "deleted"
    GONE = "already gone"
    KEPT = "kept"
    NOT_OURS = "not deleted"
    FAILED = "failed"
    DELETING = "deleting"
    STUCK = "stuck"
    NOT_ATTEMPTED = "not attempted"  # not deleted: something that depends on it remains


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


if TYPE_CHECKING:
    # An install object's status; after --wait, created objects carry their readiness instead.
    # For the type checker only: the readiness types (kube.k8s.wait) load when a wait begins.
    Status: TypeAlias = ObjectState | ReadyState | RemovalState | ApplyState


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
    def resumable(self) -> Revision | None:
        """The latest revision when it is an unfinished install (pending or partial): a new
        attempt carries its objects over instead of starting another release."""
        latest = self.latest
        if latest is None:
            return None
        from kube.k8s.release_format import ReleaseOutcome

        return latest if latest.outcome in (ReleaseOutcome.PENDING, ReleaseOutcome.PARTIAL) else None

    @property
    def already_installed(self) -> bool:
        latest = self.latest
        if latest is None:
            return False
        from kube.k8s.release_format import ReleaseOutcome

        return latest.outcome == ReleaseOutcome.COMPLETE


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
    # What a hook run without a terminal printed, handed over as soon as it ends (the CLI shows it).
    on_hook_output: Callable[[str], None] | None = field(default=None, compare=False)
    # --patch files (and a dependent formula's patches), applied after the render and recorded.
    patches: tuple[PatchSet, ...] = field(default=(), hash=False)
    # --kube-version: what templates see as kube.capabilities, instead of asking the cluster.
    capabilities: Capabilities | None = field(default=None, hash=False)
    # kube template: a dry run that never asks the cluster (capabilities: the defaults).
    offline: bool = False


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
    cause: str = ""  # why an --atomic install was rolled back: the object that failed or was not ready

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
            remade = sum(
                1 for o in self.objects if o.status == ObjectState.CHANGED and o.detail.startswith(REMADE)
            )
            changed = self.count(ObjectState.CHANGED) - remade
            text = f"{what} is already installed in {where}: {plural(len(self.objects), 'object')}"
            if recreated:
                text += f", {recreated} re-created"
            if changed:
                text += f", {changed} changed by hand (left as they are; `kube upgrade` sets them back)"
            if remade:
                text += (
                    f", {remade} made again by someone else (not this release's now: delete them, "
                    "and `kube install` makes them again)"
                )
            would = self.count(ObjectState.WOULD_RECREATE)
            if would:
                text += f", {would} would be re-created"
            text += "" if recreated or changed or would else ", all ok"
            return f"{text} (dry run: {self.note})" if self.note else text
        failed = self.count(ObjectState.FAILED)
        adopted = [o.ref.name for o in self.objects if o.status == ObjectState.ADOPTED]
        if adopted:
            word = "namespace" if len(adopted) == 1 else "namespaces"
            created += f", {word} {', '.join(adopted)} adopted (existed already; uninstall leaves it)"
        if self.outcome == InstallOutcome.INSTALLED:
            ready = "" if self.wait is None else (", all ready" if self.wait.ready else ", not all ready")
            return f"{what} installed in {where}: {created}{ready}"
        if self.outcome == InstallOutcome.ROLLED_BACK:
            rolled = plural(self.count(ObjectState.ROLLED_BACK), "object")
            if self.wait is not None and not self.wait.ready:
                return f"{what} not installed: {self.cause}; rolled back {rolled}"
            return f"{what} not installed: {failed} failed; rolled back {rolled}"
        if self.outcome == InstallOutcome.FAILED:
            return f"{what} not installed in {where}: {failed} failed, nothing was created"
        skipped = self.count(ObjectState.SKIPPED)
        return (
            f"{what} partly installed in {where}: {created} {'exists' if made == 1 else 'exist'}, "
            f"{failed} failed, {skipped} not attempted; "
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
    """``record_removed``: every object is gone and the release's records were deleted; otherwise
    they stay, the latest marked ``uninstalling`` and listing what is left, for a re-run to finish.
    ``namespace_state``: what became of the install namespace kube had created: "" (left alone),
    ``deleted``, ``deleting`` (Terminating) or ``stuck`` (still Terminating at the deadline)."""

    formula: str
    version: str
    namespace: str
    objects: tuple[ObjectStatus, ...]
    namespace_deleted: bool = False
    namespace_note: str = ""
    record_removed: bool = True
    release: str = ""
    namespace_state: str = ""
    timeout: float = 0.0

    @property
    def ok(self) -> bool:
        """Nothing failed and nothing outlasted ``--wait`` (an object or the namespace ``stuck``).
        Deletions requested without ``--wait`` and still under way are no failure."""
        return not self.count(RemovalState.FAILED, RemovalState.STUCK, RemovalState.NOT_ATTEMPTED) and (
            self.namespace_state != "stuck"
        )

    @property
    def stuck(self) -> bool:
        return bool(self.count(RemovalState.STUCK)) or self.namespace_state == "stuck"

    def count(self, *states: RemovalState) -> int:
        return sum(1 for o in self.objects if o.status in states)

    @property
    def summary(self) -> str:
        deleted = self.count(RemovalState.DELETED)
        gone = self.count(RemovalState.GONE)
        deleting = self.count(RemovalState.DELETING)
        stuck = self.count(RemovalState.STUCK)
        failed = self.count(RemovalState.FAILED)
        waiting = self.count(RemovalState.NOT_ATTEMPTED)
        kept = self.count(RemovalState.KEPT, RemovalState.NOT_OURS)
        what = f"{self.formula} {self.version} in namespace {self.namespace}"
        if self.release and self.release != self.formula:
            what = f"{self.release} ({self.formula} {self.version}) in namespace {self.namespace}"
        parts = [f"{plural(deleted, 'object')} deleted"]
        if gone:
            parts.append(f"{gone} already gone")
        if deleting:
            parts.append(f"{deleting} deleting (deletion requested; the API server still has them)")
        if stuck:
            parts.append(f"{stuck} stuck")
        if failed:
            parts.append(f"{failed} failed")
        if waiting:
            parts.append(f"{waiting} not attempted")
        if kept:
            parts.append(f"{plural(kept, 'object')} left in place")
        if self.namespace_state == "deleted":
            parts.append(f"namespace {self.namespace} deleted")
        elif self.namespace_state == "deleting":
            parts.append(f"namespace {self.namespace} deleting (Terminating)")
        elif self.namespace_state == "stuck":
            parts.append(f"namespace {self.namespace} stuck (still Terminating)")
        if not self.record_removed:
            name = self.release or self.formula
            return (
                f"{what} not yet uninstalled: {', '.join(parts)}; the release record stays (status "
                f"uninstalling) until they are gone: run `kube uninstall {name} -n {self.namespace}` again"
            )
        return f"uninstalled {what}: {', '.join(parts)}"


def uninstalling_error(rev: Revision) -> KubeError:
    """An uninstall has begun and waits for objects the API server still has: upgrading or
    installing over it would build on objects on their way out."""
    from kube.core.errors import ClusterError

    return ClusterError(
        f"release {rev.release} in namespace {rev.namespace} is being uninstalled "
        f"({plural(len(rev.objects), 'object')} still being deleted)",
        hint=f"finish it with `kube uninstall {rev.release} -n {rev.namespace} --wait`, then install again",
    )
