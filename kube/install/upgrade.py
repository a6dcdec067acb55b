"""Upgrade a release to a new render, and roll a release back to a stored revision.

``upgrade``: the release's deployed revision is read (one kubectl call); the formula is
resolved as ``kube install`` does (a path, the workspace copy, the archive; by default the
formula the release was installed from); the values are the previous revision's user values
with the new ``-f``/``--set`` over them (``reset_values``: from the formula's defaults alone),
under the new version's K3.yaml defaults. The patches are the deployed revision's recorded
``--patch`` sets (none with ``reset_patches``), then the new ones; a new file of the same name
replaces a recorded one (``kube.formula.patches.carried``). The hook runs again in a private staged copy, with
what it returned last time in ``KUBE_PREVIOUS_VALUES``, so a generated password survives; a
hook that exits non-zero stops the upgrade before anything is written (``HookError``, exit 7).
Then revision N+1 is written ``pending`` (listing every object it will have), the waves are
applied and what left the release is pruned (what the deployed revision lists, and what a
later failed or unfinished attempt lists: ``managed``) (``kube.install.apply``), the revision is
completed (``deployed``, with uids), the previous one ``superseded``, and old history pruned.

On a failure (an object the API server refuses, or with ``wait`` one that never gets ready)
revision N+1 is recorded ``failed``. With ``atomic`` the previous revision's stored manifest is
applied again and what the failed attempt created is pruned, so the cluster holds exactly the
previous revision's objects and that revision stays ``deployed``.

``rollback``: a stored revision's manifest (no render, no hook) is applied as revision N+1, and
what it does not have is pruned; its values and hook values are carried, so the next upgrade
starts from them. Default: the revision before the deployed one.

Dry runs read the release and send the waves to ``kubectl apply --dry-run=server``; they
write nothing (no revision, no prune). The dependency check is ``kube install``'s, against the
new version's ranges, and warning-only: the caller shows ``unsatisfied``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kube.core.errors import ClusterError, NotFoundError, UsageError
from kube.install.apply import ApplyReport, Key, apply_release, key_of, with_default_protocols
from kube.install.results import ApplyState, ObjectStatus
from kube.k8s import releases
from kube.k8s.kubectl import Kubectl, ObjectRef
from kube.k8s.releases import RecordedObject, Release, ReleaseOutcome, ReleaseStatus, Revision

if TYPE_CHECKING:
    from kube.formula.patches import PatchSet
    from kube.install.deps import Unsatisfied
    from kube.install.results import Reach
    from kube.k8s.capabilities import Capabilities
    from kube.k8s.wait import WaitReport

__all__ = ["UpgradeOptions", "UpgradeOutcome", "UpgradeResult", "read", "rollback", "upgrade"]


class UpgradeOutcome(StrEnum):
    UPGRADED = "upgraded"
    ROLLED_BACK = "rolled back"  # --atomic: the attempt failed and the previous revision was restored
    FAILED = "failed"
    DRY_RUN = "dry run"


@dataclass(frozen=True)
class UpgradeOptions:
    value_files: tuple[Path, ...] = ()
    sets: tuple[str, ...] = ()
    set_strings: tuple[str, ...] = ()
    reset_values: bool = False
    hooks: bool = True
    hook_timeout: float | None = 300.0
    sandbox: bool = False
    interactive: bool = True
    dry_run: bool = False
    wait: float | None = None
    atomic: bool = False
    allow_namespaces: tuple[str, ...] = ()
    version: str = ""  # --version: the version the resolved formula must have
    max_history: int = releases.DEFAULT_MAX_HISTORY
    # What a hook run without a terminal printed, handed over as soon as it ends (the CLI shows it).
    on_hook_output: Callable[[str], None] | None = field(default=None, compare=False)
    patches: tuple[PatchSet, ...] = field(default=(), hash=False)  # --patch files, after the recorded ones
    reset_patches: bool = False  # --reset-patches: drop the patches the deployed revision recorded
    capabilities: Capabilities | None = field(default=None, hash=False)  # --kube-version (dry runs)
    # Shown the cluster-scoped objects the release did not list before; raises to stop the
    # upgrade before anything is written (the consent kube install asks for).
    confirm: Callable[[Reach], None] | None = field(default=None, compare=False)
    # --force: apply a shared cluster-scoped object even when that changes it for the other
    # releases that use it (``kube.install.apply``); without it the upgrade is refused.
    change_shared: bool = False


@dataclass(frozen=True)
class UpgradeResult:
    """``action``: "upgrade" or "rollback". ``objects``: what the attempt did; ``restored``: what
    the rollback of a failed ``--atomic`` attempt did; ``failure``: why the attempt failed."""

    action: str
    release: str
    namespace: str
    formula: str
    version: str
    previous_version: str
    revision: int
    previous_revision: int
    outcome: UpgradeOutcome
    objects: tuple[ObjectStatus, ...]
    restored: tuple[ObjectStatus, ...] = ()
    failure: str = ""
    unsatisfied: tuple[Unsatisfied, ...] = ()
    wait: WaitReport | None = None
    hook_ran: bool = False
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return self.outcome in (UpgradeOutcome.UPGRADED, UpgradeOutcome.DRY_RUN) and (
            self.wait is None or self.wait.ready
        )

    def count(self, *states: ApplyState) -> int:
        return sum(1 for o in self.objects if o.status in states)

    @property
    def counts(self) -> str:
        parts = [
            (ApplyState.CREATED, "created"), (ApplyState.CHANGED, "changed"),
            (ApplyState.UNCHANGED, "unchanged"), (ApplyState.PRUNED, "pruned"), (ApplyState.KEPT, "kept"),
            (ApplyState.TAKEN_OVER, "not pruned (taken over)"), (ApplyState.WOULD_CREATE, "would be created"),
            (ApplyState.WOULD_CHANGE, "would be applied"), (ApplyState.WOULD_PRUNE, "would be pruned"),
            (ApplyState.FAILED, "failed"), (ApplyState.SKIPPED, "not attempted"),
        ]  # fmt: skip
        text = ", ".join(f"{self.count(state)} {word}" for state, word in parts if self.count(state))
        return text or "no objects"

    @property
    def summary(self) -> str:
        what = f"{self.release} ({self.formula} {self.version})"
        where = f"namespace {self.namespace}"
        if self.action == "rollback":
            done = f"rolled back to revision {self.previous_revision}"
        else:
            done = f"upgraded from {self.previous_version}"
        if self.outcome is UpgradeOutcome.DRY_RUN:
            verb = "rollback" if self.action == "rollback" else "upgrade"
            return (
                f"{what} in {where}, {verb} as revision {self.revision}: {self.counts} "
                "(dry run: nothing was changed)"
            )
        if self.outcome is UpgradeOutcome.UPGRADED:
            return f"{what} {done} in {where}, revision {self.revision}: {self.counts}"
        if self.outcome is UpgradeOutcome.ROLLED_BACK:
            return (
                f"{self.action} of {self.release} to {self.formula} {self.version} failed; rolled back to "
                f"revision {self.previous_revision} ({self.previous_version}); revision {self.revision} "
                "is recorded as failed"
            )
        return (
            f"{self.action} of {self.release} to {self.formula} {self.version} failed in {where}: "
            f"{self.counts}; revision {self.revision} is recorded as failed"
        )


def read(kubectl: Kubectl, name: str, namespace: str | None) -> tuple[Release, Revision]:
    """The release ``name`` and the revision an upgrade starts from (its deployed one)."""
    ns = kubectl.namespace_or_current(namespace)
    release = releases.read_release(kubectl, releases.validate_release_name(name), ns)
    if release is None:
        raise NotFoundError(
            f"no release {name} in namespace {ns}",
            hint=f"see `kube list -n {ns}`, or install it with `kube install`",
        )
    if release.problem:
        raise ClusterError(
            f"release {name} in namespace {ns}: its newest record cannot be trusted: {release.problem}",
            hint=f"see `kube history {name} -n {ns}`",
        )
    latest = release.latest
    if latest is not None and latest.status is ReleaseStatus.UNINSTALLING:
        from kube.install.results import uninstalling_error

        raise uninstalling_error(latest)
    current = release.deployed or release.latest
    if current is None:
        raise NotFoundError(f"release {name} in namespace {ns} has no readable revision")
    return release, current


def managed(release: Release, current: Revision) -> tuple[RecordedObject, ...]:
    """What the release may have in the cluster: ``current``'s objects, and those of any later
    revision that failed or never finished (an attempt stopped by an error, Ctrl-C or a crash
    may have created objects only it lists). The prune considers all of them."""
    seen: dict[Key, RecordedObject] = {key_of(o.ref): o for o in current.objects}
    for later in release.revisions:
        if later.revision > current.revision:
            for obj in later.objects:
                if key_of(obj.ref) not in seen or (obj.uid and not seen[key_of(obj.ref)].uid):
                    seen[key_of(obj.ref)] = obj
    return tuple(seen.values())


# -- upgrade ------------------------------------------------------------------------------------


def upgrade(
    kubectl: Kubectl,
    name: str,
    ref: str | None,
    options: UpgradeOptions,
    *,
    namespace: str | None = None,
) -> UpgradeResult:
    """Render the new version over the deployed revision and apply it; see the module docstring."""
    from kube import __version__
    from kube.install import pipeline
    from kube.k8s.objects import Scopes, as_sent

    release, current = read(kubectl, name, namespace)
    ns = release.namespace
    source = pipeline.resolve(ref or current.formula)
    formula = source.formula
    if options.version and str(formula.version) != options.version.removeprefix("v"):
        raise NotFoundError(
            f"{formula.name} {options.version} is not available: {source.origin} {source.directory} "
            f"holds {formula.version}",
            hint="run `kube update` for the archive's latest, or give the path of that version",
        )
    from kube.formula.patches import carried

    user = _user_values(current, formula.values, options)
    patch_sets = carried(current.patches, options.patches, reset=options.reset_patches)
    rendered, hook_values, hook_ran = _render(source, current, user, ns, name, options, patch_sets, kubectl)
    allowed = tuple(sorted({*current.allowed_namespaces, *options.allow_namespaces}))
    scopes = Scopes(rendered)
    waves = pipeline._waves(rendered, formula, ns, scopes, allowed, name)
    if not options.dry_run:
        from kube.install.served import refuse_unserved

        # As install: kubectl would stop there only after the waves before it were applied.
        refuse_unserved(kubectl, [o for w in waves for o in w], untouched="changed")
    sent = [[as_sent(o, ns, scopes) for o in w] for w in waves]
    sources = {
        key_of(ObjectRef.of(d)): o.source
        for w, ws in zip(waves, sent, strict=True)
        for o, d in zip(w, ws, strict=True)
    }
    # What the install adopted (the formula's own Namespace, found existing) stays the release's
    # dependency: never applied, recorded or pruned by an upgrade, so no uninstall deletes it.
    adopted_keys = {key_of(r) for r in current.adopted}
    adopted = tuple(
        r for r in current.adopted if any(key_of(ObjectRef.of(d)) == key_of(r) for w in sent for d in w)
    )
    sent = [kept for w in sent if (kept := [d for d in w if key_of(ObjectRef.of(d)) not in adopted_keys])]
    if options.confirm is not None and not options.dry_run:
        # What install's consent covers (pipeline.reach_of), less what the release had: agreed to then.
        had = adopted_keys | {key_of(o.ref) for o in managed(release, current)}
        reach = pipeline.reach_of([o for w in waves for o in w], ns, scopes)
        if new := tuple(r for r in reach.cluster_scoped if key_of(r) not in had):
            options.confirm(replace(reach, cluster_scoped=new, elsewhere=()))
    unsatisfied: tuple[Unsatisfied, ...] = ()
    if formula.dependencies:
        unsatisfied = pipeline.plan(
            source, kubectl, namespace=ns, dry_run=options.dry_run, release=name
        ).unsatisfied
    base = UpgradeResult(
        "upgrade", name, ns, formula.name, str(formula.version), current.version, release.next_revision,
        current.revision, UpgradeOutcome.DRY_RUN, (), unsatisfied=unsatisfied, hook_ran=hook_ran,
        notes=source.notes, warnings=source.warnings,
    )  # fmt: skip
    if options.dry_run:
        report = apply_release(
            kubectl,
            managed(release, current),
            sent,
            release=name,
            formula=current.formula,
            sources=sources,
            dry_run=True,
            namespace=ns,
            change_shared=options.change_shared,
            sent_before=sent_by(current),
        )
        return replace(base, objects=report.statuses)
    pending = Revision(
        release=name, namespace=ns, revision=release.next_revision, formula=formula.name,
        version=str(formula.version), status=ReleaseStatus.PENDING, outcome=ReleaseOutcome.PENDING,
        time=releases.utc_now(), values=user, hook_values=hook_values,
        patches=tuple(p.to_json() for p in patch_sets), manifest=tuple(d for w in sent for d in w),
        objects=tuple(RecordedObject(ObjectRef.of(d)) for w in sent for d in w),
        allowed_namespaces=allowed, created_namespace=current.created_namespace,
        summary=f"upgrade from {current.formula} {current.version} to {formula.name} {formula.version}",
        kube_version=__version__,
        dependencies=tuple(f"{d.name} {d.range}" for d in formula.dependencies), adopted=adopted,
    )  # fmt: skip
    return _carry_out(kubectl, release, current, pending, sent, sources, options, base)


def _user_values(
    current: Revision, formula_values: Mapping[str, Any], options: UpgradeOptions
) -> dict[str, Any]:
    """The values the revision records, as ``kube install`` records them (defaults, ``-f`` and
    ``--set`` merged): the new version's defaults, under the previous revision's values (unless
    ``reset_values``), under the new ``-f``/``--set``."""
    from kube.formula import render
    from kube.formula.values import deep_merge

    carried: Mapping[str, Any] = {} if options.reset_values or current.values is None else current.values
    return render.merge_values(
        deep_merge(formula_values, carried),
        value_files=options.value_files,
        sets=options.sets,
        set_strings=options.set_strings,
    )


def generated(values: Mapping[str, Any], hook_values: Mapping[str, Any]) -> dict[str, Any]:
    """What the hook added to ``values`` (a revision keeps both): the keys it set or changed."""
    out: dict[str, Any] = {}
    for key, value in hook_values.items():
        given = values.get(key)
        if isinstance(value, Mapping) and isinstance(given, Mapping):
            inner = generated(given, value)
            if inner:
                out[key] = inner
        elif key not in values or given != value:
            out[key] = value
    return out


def _render(
    source: Any,
    current: Revision,
    values: Mapping[str, Any],
    ns: str,
    name: str,
    options: UpgradeOptions,
    patch_sets: Sequence[PatchSet],
    kubectl: Kubectl,
) -> tuple[list[Any], dict[str, Any], bool]:
    """Stage, hook, render. Returns the objects, the values after the hook (recorded as the
    revision's hook values: {} when the formula has no hook) and whether the hook ran."""
    from kube.formula import render
    from kube.formula.values import deep_merge
    from kube.install import hooks, staging

    formula = source.formula
    previous = dict(current.hook_values or {})
    after: dict[str, Any] = {}
    hook_ran = False
    with tempfile.TemporaryDirectory(prefix="kube-upgrade-") as tmp:
        staged = staging.stage_formula(source.directory, Path(tmp))
        if options.hooks:
            hook = hooks.run_pre_install(
                staged, formula=formula, namespace=ns, values=values, timeout=options.hook_timeout,
                sandbox=options.sandbox, interactive=options.interactive, previous_values=previous,
            )  # fmt: skip
            hook_ran = hook.ran
            after = hook.values if hook.ran else {}
            if hook.output and options.on_hook_output is not None:
                options.on_hook_output(hook.output)
        elif previous:
            # --no-hooks: what the hook generated last time still holds (a password must not vanish).
            after = deep_merge(values, generated(current.values or {}, previous))
        from kube.install.pipeline import capabilities_for

        found = capabilities_for(kubectl, options.capabilities, dry_run=options.dry_run)
        objs = render.render_manifests(
            formula, staged, after or dict(values), namespace=ns, release=name, patches=patch_sets,
            capabilities=found,
        )  # fmt: skip
    return objs, after, hook_ran


def _carry_out(
    kubectl: Kubectl,
    release: Release,
    current: Revision,
    pending: Revision,
    sent: Sequence[Sequence[Mapping[str, Any]]],
    sources: Mapping[Key, str],
    options: UpgradeOptions,
    base: UpgradeResult,
) -> UpgradeResult:
    """Write ``pending``, apply ``sent`` over ``current``, prune, and complete or fail the revision."""
    from kube.core.durations import format_duration
    from kube.k8s import wait

    releases.check_size(pending)
    pending = releases.write_revision(kubectl, pending)
    previous = managed(release, current)
    # With --wait the prune waits too: nothing leaves the cluster before the new objects are ready,
    # so an --atomic rollback never has to make again (with new uids) what the old revision lists.
    waiting = options.wait is not None
    report = apply_release(
        kubectl,
        previous,
        sent,
        release=release.name,
        formula=current.formula,
        sources=sources,
        sent_before=sent_by(current),
        prune=not waiting,
        namespace=release.namespace,
        change_shared=options.change_shared,
    )
    applied = tuple(RecordedObject(ref, uid) for ref, uid in report.applied)
    result = replace(base, objects=report.statuses)
    failure = _failure(report)
    if not failure and options.wait is not None:
        waited = wait.wait_ready(kubectl, [r.ref for r in applied], timeout=options.wait)
        result = replace(result, objects=_with_readiness(result.objects, waited), wait=waited)
        if not waited.ready and options.atomic:
            verb = f"not ready after {format_duration(waited.timeout)}" if waited.timed_out else "failed"
            failure = f"{verb}: " + ", ".join(f"{s.ref.display} ({s.message})" for s in waited.not_ready[:3])
        else:
            kept = {key_of(r.ref) for r in applied}
            pruned = apply_release(
                kubectl, [p for p in previous if key_of(p.ref) not in kept], [], release=release.name,
                formula=current.formula, namespace=release.namespace,
            )  # fmt: skip
            result = replace(result, objects=(*result.objects, *pruned.statuses))
            failure = _failure(pruned)
    if failure and (report.failed or options.atomic):
        return _fail(kubectl, release, current, pending, applied, report, options, result, failure, previous)
    done = replace(pending, status=ReleaseStatus.DEPLOYED, outcome=ReleaseOutcome.COMPLETE, objects=applied)
    done = releases.write_revision(kubectl, done, replace_existing=True)
    history = release.with_revision(done)
    if current.status is ReleaseStatus.DEPLOYED:
        history = history.with_revision(releases.supersede(kubectl, current))
    releases.prune_history(kubectl, history, options.max_history)
    return replace(result, outcome=UpgradeOutcome.UPGRADED)


def _failure(report: ApplyReport) -> str:
    first = report.first_failure
    if first is None:
        return ""
    more = report.count(ApplyState.FAILED) - 1
    return f"{first.ref.display}: {first.detail}" + (f" (and {more} more)" if more > 0 else "")


def _fail(
    kubectl: Kubectl,
    release: Release,
    current: Revision,
    pending: Revision,
    applied: tuple[RecordedObject, ...],
    report: ApplyReport,
    options: UpgradeOptions,
    result: UpgradeResult,
    failure: str,
    previous: Sequence[RecordedObject] = (),
) -> UpgradeResult:
    from kube.k8s.releases import Failure

    failures = tuple(
        Failure(s.ref, s.detail.partition(":")[0] or "Failed", s.detail)
        for s in report.statuses
        if s.status is ApplyState.FAILED
    )
    result = replace(result, failure=failure, outcome=UpgradeOutcome.FAILED)
    if options.atomic:
        restore = _restore(kubectl, current, applied, release.name, pending.formula, options.change_shared)
        restored = _as_rolled_back(restore.statuses)
        result = replace(result, restored=restored, outcome=UpgradeOutcome.ROLLED_BACK)
        failed = replace(
            pending, status=ReleaseStatus.FAILED, outcome=ReleaseOutcome.FAILED, objects=(), failures=failures
        )
        failed = releases.write_revision(kubectl, failed, replace_existing=True)
        if not restore.failed and current.manifest is not None:
            _record_restored(kubectl, release, current, failed, restore)
        return result
    # Nothing was pruned: what the release had is there still, beside what this attempt applied
    # (an object a failed wave left as it was is confirmed by no answer, yet it is the release's).
    done = {key_of(o.ref) for o in applied}
    kept = (*applied, *(o for o in previous if key_of(o.ref) not in done))
    failed = replace(
        pending, status=ReleaseStatus.FAILED, outcome=ReleaseOutcome.FAILED, objects=kept, failures=failures
    )
    releases.write_revision(kubectl, failed, replace_existing=True)
    return result


def _record_restored(
    kubectl: Kubectl, release: Release, current: Revision, failed: Revision, restore: ApplyReport
) -> None:
    """After ``--atomic`` put ``current``'s objects back, that is what the release runs: a new
    revision says so (as Helm's rollback does), so ``kube list``, ``status`` and ``uninstall``
    read it from the newest revision, and the failed attempt stays in the history before it."""
    from kube import __version__

    uids = {key_of(ref): uid for ref, uid in restore.applied}
    objects = tuple(replace(o, uid=uids.get(key_of(o.ref), o.uid)) for o in current.objects)
    back = replace(
        current, revision=failed.revision + 1, status=ReleaseStatus.DEPLOYED, outcome=ReleaseOutcome.COMPLETE,
        time=releases.utc_now(), objects=objects, failures=(), resource_version="", kube_version=__version__,
        summary=f"rollback to revision {current.revision}: the upgrade of revision {failed.revision} failed",
    )  # fmt: skip
    releases.write_revision(kubectl, back)
    if current.status is ReleaseStatus.DEPLOYED:
        releases.supersede(kubectl, current)


def _restore(
    kubectl: Kubectl,
    target: Revision,
    attempted: Sequence[RecordedObject],
    name: str,
    formula: str,
    change_shared: bool = False,
) -> ApplyReport:
    """Apply ``target``'s stored manifest again and prune what ``attempted`` has beyond it; a
    shared object the attempt changed with ``change_shared`` is changed back the same way."""
    if target.manifest is None:
        # A round-one record holds no manifest: undo what the attempt created, nothing more.
        keys = {key_of(o.ref) for o in target.objects}
        extra = [o for o in attempted if key_of(o.ref) not in keys]
        return apply_release(kubectl, extra, [], release=name, formula=formula, namespace=target.namespace)
    waves, _ = manifest_waves(target)
    return apply_release(
        kubectl, attempted, waves, release=name, formula=formula, namespace=target.namespace,
        change_shared=change_shared,
    )  # fmt: skip


def _as_rolled_back(statuses: Sequence[ObjectStatus]) -> tuple[ObjectStatus, ...]:
    back = ApplyState.ROLLED_BACK
    return tuple(replace(s, status=back) if s.status is ApplyState.PRUNED else s for s in statuses)


def _with_readiness(objects: Sequence[ObjectStatus], waited: WaitReport) -> tuple[ObjectStatus, ...]:
    by_ref = {s.ref: s for s in waited.statuses}
    out = []
    for status in objects:
        ready = by_ref.get(status.ref)
        if ready is not None and ready.state != "ready":
            status = replace(status, detail=f"{ready.state}: {ready.message}")
        out.append(status)
    return tuple(out)


def sent_by(rev: Revision) -> dict[Key, Mapping[str, Any]]:
    """The objects as ``rev`` sent them, by key (none for a round-one record, which keeps no
    manifest): what ``kubectl create`` wrote of them, when ``rev`` created them."""
    return {key_of(ObjectRef.of(m)): m for m in rev.manifest or ()}


def manifest_waves(rev: Revision) -> tuple[list[list[Mapping[str, Any]]], dict[Key, str]]:
    """A stored manifest in waves (no render): the objects exactly as they were sent."""
    from kube.k8s.objects import KubeObject, Scopes, order_waves

    assert rev.manifest is not None
    objs = [KubeObject(dict(m), f"revision {rev.revision}") for m in rev.manifest]
    scopes = Scopes(objs)
    waves = order_waves(objs, namespace=rev.namespace, scopes=scopes)
    sent = [[with_default_protocols(o.data) for o in w] for w in waves]
    return sent, {key_of(ObjectRef.of(o.data)): o.source for w in waves for o in w}


# -- rollback -----------------------------------------------------------------------------------


def rollback(
    kubectl: Kubectl,
    name: str,
    revision: int | None,
    *,
    namespace: str | None = None,
    dry_run: bool = False,
    wait: float | None = None,
    max_history: int = releases.DEFAULT_MAX_HISTORY,
    change_shared: bool = False,
) -> UpgradeResult:
    """Apply a stored revision's manifest again as a new revision; see the module docstring.
    ``change_shared`` (``--force``): as for an upgrade, apply a shared object even when that
    changes it for the other releases that use it."""
    from kube import __version__

    release, current = read(kubectl, name, namespace)
    ns = release.namespace
    number = revision if revision is not None else current.revision - 1
    target = release.revision(number) if number > 0 else None
    if target is None:
        kept = ", ".join(str(r.revision) for r in release.revisions)
        raise NotFoundError(
            f"release {name} in namespace {ns} has no revision {number} (it keeps {kept})"
            if number > 0
            else f"release {name} has only revision {current.revision}: nothing to roll back to",
            hint=f"see `kube history {name} -n {ns}`",
        )
    if target.manifest is None or target.values is None:
        raise UsageError(
            f"revision {number} of {name} is a round-one install record: it holds no manifest to apply again",
            hint=f"run `kube upgrade {name} --version {target.version}` to render that version instead",
        )
    sent, sources = manifest_waves(target)
    base = UpgradeResult(
        "rollback", name, ns, target.formula, target.version, current.version, release.next_revision,
        number, UpgradeOutcome.DRY_RUN, (),
    )  # fmt: skip
    if dry_run:
        report = apply_release(
            kubectl,
            managed(release, current),
            sent,
            release=name,
            formula=current.formula,
            sources=sources,
            dry_run=True,
            namespace=ns,
            change_shared=change_shared,
            sent_before=sent_by(current),
        )
        return replace(base, objects=report.statuses)
    pending = replace(
        target, revision=release.next_revision, status=ReleaseStatus.PENDING, outcome=ReleaseOutcome.PENDING,
        time=releases.utc_now(), objects=tuple(RecordedObject(ObjectRef.of(d)) for w in sent for d in w),
        failures=(), summary=f"rollback to revision {number}", kube_version=__version__,
        created_namespace=current.created_namespace, resource_version="",
    )  # fmt: skip
    options = UpgradeOptions(wait=wait, max_history=max_history, change_shared=change_shared)
    return _carry_out(kubectl, release, current, pending, sent, sources, options, base)
