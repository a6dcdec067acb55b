"""Commands: upgrade (a release to a new render, applied and pruned) and rollback (to a stored revision)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from kube.cli import completers, console, fanout
from kube.cli.choices import HOOK_TIMEOUT, TIMEOUT
from kube.cli.options import (
    AllClusters,
    AllowNamespaces,
    ClusterNames,
    ClusterSelector,
    Context,
    HookTimeout,
    Kubeconfig,
    KubeVersion,
    Namespace,
    Output,
    OutputFormat,
    Patches,
    ResetPatches,
    Sandbox,
    SetStrings,
    SetValues,
    Timeout,
    ValuesFiles,
    Wait,
    capabilities_option,
    choose,
    command_app,
)
from kube.cli.results import kubectl_for, print_objects
from kube.core.durations import parse_duration
from kube.core.errors import ClusterError, HookError, UsageError, WaitTimeoutError
from kube.install.deps import MAY_NOT_FUNCTION
from kube.install.results import ApplyState, ObjectStatus
from kube.install.upgrade import UpgradeOptions, UpgradeOutcome, UpgradeResult
from kube.k8s.kubectl import validate_namespace

app = command_app()

_HISTORY_MAX = typer.Option(
    "--history-max", metavar="N", help="Revisions kept per release (0: no limit).", show_default=True
)


@app.command("upgrade")
def upgrade_command(
    release: Annotated[
        str,
        typer.Argument(metavar="RELEASE", help="The release to upgrade.", autocompletion=completers.releases),
    ],
    formula: Annotated[
        str | None,
        typer.Argument(
            metavar="[FORMULA|PATH]", help="The formula to upgrade to (default: the release's own, latest)."
        ),
    ] = None,
    namespace: Namespace = None,
    context: Context = None,
    kubeconfig: Kubeconfig = None,
    cluster: ClusterNames = None,
    all_clusters: AllClusters = False,
    cluster_selector: ClusterSelector = None,
    output: Output = None,
    values: ValuesFiles = None,
    set_: SetValues = None,
    set_string: SetStrings = None,
    reset_values: Annotated[
        bool,
        typer.Option(
            "--reset-values", help="Start from the formula's defaults, not the release's last values."
        ),
    ] = False,
    patch: Patches = None,
    reset_patches: ResetPatches = False,
    kube_version: KubeVersion = None,
    version: Annotated[
        str | None,
        typer.Option("--version", metavar="V", help="Refuse unless the formula found is version V."),
    ] = None,
    allow_namespace: AllowNamespaces = None,
    no_hooks: Annotated[
        bool, typer.Option("--no-hooks", help="Do not run scripts/pre-install.py (its last values are kept).")
    ] = False,
    hook_timeout: HookTimeout = HOOK_TIMEOUT,
    sandbox: Sandbox = False,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Say what would change (the API server's dry run); change nothing."),
    ] = False,
    wait: Wait = False,
    timeout: Timeout = TIMEOUT,
    atomic: Annotated[
        bool, typer.Option("--atomic", help="On failure, go back to the previous revision's objects.")
    ] = False,
    history_max: Annotated[int, _HISTORY_MAX] = 10,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Create cluster-scoped objects new to the release without asking; change shared ones "
            "for the other releases that use them too.",
        ),
    ] = False,
) -> None:
    """Upgrade a release: render the new version with its values, apply server-side, prune what left it."""
    from kube.cli.installing import _interactive, confirm_reach, show_hook_output
    from kube.formula.patches import read_patch_files

    fmt = choose(output, OutputFormat.json)
    options = UpgradeOptions(
        patches=read_patch_files(patch or ()),
        reset_patches=reset_patches,
        capabilities=capabilities_option(kube_version, dry_run=dry_run),
        value_files=tuple(values or ()),
        sets=tuple(set_ or ()),
        set_strings=tuple(set_string or ()),
        reset_values=reset_values,
        hooks=not no_hooks,
        hook_timeout=parse_duration(hook_timeout, "--hook-timeout"),
        sandbox=sandbox,
        interactive=_interactive() and fmt is OutputFormat.table,
        dry_run=dry_run,
        wait=parse_duration(timeout) if wait else None,
        atomic=atomic,
        allow_namespaces=tuple(validate_namespace(n) for n in allow_namespace or ()),
        version=version or "",
        max_history=history_max,
        on_hook_output=show_hook_output,
        confirm=lambda reach: confirm_reach(reach, release, force=force, command="upgrade"),
        change_shared=force,
    )
    chosen = fanout.choose(cluster, all_clusters, cluster_selector, context, kubeconfig)
    if chosen.many:
        outcomes = fanout.run_on(chosen.many)
        fanout.report(
            outcomes, verb="upgrade", release=release, as_json=fmt is OutputFormat.json, success="upgraded"
        )
        return
    context, kubeconfig = chosen.context, chosen.kubeconfig
    kubectl = kubectl_for(context, kubeconfig, namespace)
    from kube.install import upgrade

    try:
        result = upgrade.upgrade(kubectl, release, formula, options, namespace=namespace)
    except HookError as exc:
        if exc.output:
            console.line(exc.output, stderr=True)
        raise
    _show(result, fmt)


@app.command("rollback")
def rollback_command(
    release: Annotated[
        str,
        typer.Argument(
            metavar="RELEASE", help="The release to roll back.", autocompletion=completers.releases
        ),
    ],
    revision: Annotated[
        int | None,
        typer.Argument(metavar="[REVISION]", help="The revision to go back to (default: the one before)."),
    ] = None,
    namespace: Namespace = None,
    context: Context = None,
    kubeconfig: Kubeconfig = None,
    output: Output = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Say what would change (the API server's dry run); change nothing."),
    ] = False,
    wait: Wait = False,
    timeout: Timeout = TIMEOUT,
    history_max: Annotated[int, _HISTORY_MAX] = 10,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Change shared cluster-scoped objects for the other releases that use them too."
        ),
    ] = False,
) -> None:
    """Roll a release back: apply a stored revision's manifest again as a new revision, prune the rest."""
    fmt = choose(output, OutputFormat.json)
    if revision is not None and revision < 1:
        raise UsageError(f"revision {revision}: revisions are numbered from 1", hint="see `kube history`")
    kubectl = kubectl_for(context, kubeconfig, namespace)
    from kube.install import upgrade

    result = upgrade.rollback(
        kubectl, release, revision, namespace=namespace, dry_run=dry_run,
        wait=parse_duration(timeout) if wait else None, max_history=history_max, change_shared=force,
    )  # fmt: skip
    _show(result, fmt)


def _show(result: UpgradeResult, fmt: OutputFormat) -> None:
    for note in result.notes:
        console.info(note)
    for warning in result.warnings:
        console.warn(warning)
    for missing in result.unsatisfied:
        console.line(f"!!-> WARNING: {missing.warning}", stderr=True)
    if result.unsatisfied:
        console.line(f"!!-> {MAY_NOT_FUNCTION}", stderr=True)
    if fmt is OutputFormat.json:
        console.print_json(_json(result))
    else:
        print_objects(result.release, result.version, result.objects)
        if result.failure:
            console.line(f"{result.action} failed: {console.safe(result.failure)}")
        if result.restored:
            console.line(f"rolling back to revision {result.previous_revision}:")
            print_objects(result.release, result.previous_version, result.restored)
        console.line(result.summary)
    if result.outcome in (UpgradeOutcome.FAILED, UpgradeOutcome.ROLLED_BACK):
        hint = f"see `kube history {result.release} -n {result.namespace}`"
        immutable = next(
            (o for o in result.objects if o.status is ApplyState.FAILED and "field is immutable" in o.detail),
            None,
        )
        if immutable is not None:
            # Helm's --force answer, said rather than done: the object must be made again.
            ref = immutable.ref
            where = f" -n {ref.namespace}" if ref.namespace else ""
            hint = (
                f"the API server never changes that field of an existing {ref.kind}: delete it "
                f"(`kubectl delete {ref.kind.lower()} {ref.name}{where}`) and run the {result.action} "
                f"again, which creates it anew; {hint}"
            )
        message = f"{result.action} of {result.release} failed: {result.failure}"
        if result.wait is not None and result.wait.timed_out:
            raise WaitTimeoutError(message, hint=hint)  # the cause's code: --wait ran past --timeout
        raise ClusterError(message, hint=hint)
    refused = [o for o in result.objects if o.status is ApplyState.FAILED]
    if result.outcome is UpgradeOutcome.DRY_RUN and refused:
        # The API server's dry run refused what the real one would: the same code as the real one.
        first = refused[0]
        more = f" and {len(refused) - 1} more" if len(refused) > 1 else ""
        raise ClusterError(
            f"the {result.action} of {result.release} would fail: {first.ref.display}: {first.detail}{more}",
            hint="fix what is refused before running it for real",
        )
    if result.wait is not None:
        result.wait.raise_for_status()


def _json(result: UpgradeResult) -> dict[str, Any]:
    def rows(statuses: tuple[ObjectStatus, ...]) -> list[dict[str, Any]]:
        return [
            {"apiVersion": s.ref.api_version, "kind": s.ref.kind, "name": s.ref.name,
             "namespace": s.ref.namespace, "status": str(s.status), "detail": s.detail, "source": s.source}
            for s in statuses
        ]  # fmt: skip

    return {
        "action": result.action,
        "release": result.release,
        "namespace": result.namespace,
        "formula": result.formula,
        "version": result.version,
        "previousVersion": result.previous_version,
        "revision": result.revision,
        "previousRevision": result.previous_revision,
        "outcome": str(result.outcome),
        "failure": result.failure,
        "summary": result.summary,
        "objects": rows(result.objects),
        "restored": rows(result.restored),
    }
