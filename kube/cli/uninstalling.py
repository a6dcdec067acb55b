"""What ``kube uninstall`` does and prints, without Typer: the command (``kube.cli.uninstall``)
and the start-up fast path (``kube.cli.entry``, for the plain forms of an uninstall) both call
``run``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from kube.cli import console, fanout
from kube.cli.choices import TIMEOUT, OutputFormat, choose
from kube.cli.results import kubectl_for, print_objects, progress_printer, result_json
from kube.core.durations import format_duration, parse_duration
from kube.core.errors import ClusterError, DependencyError, WaitTimeoutError
from kube.install import uninstall
from kube.k8s import releases
from kube.k8s.release_names import uninstall_reads_ahead

if TYPE_CHECKING:
    from kube.k8s.releases import Release


def run(
    name: str,
    *,
    namespace: str | None = None,
    context: str | None = None,
    kubeconfig: str | None = None,
    cluster: Sequence[str] | None = None,
    all_clusters: bool = False,
    cluster_selector: str | None = None,
    wait: bool = False,
    timeout: str = TIMEOUT,
    output: OutputFormat | None = None,
    force: bool = False,
) -> None:
    """``kube uninstall``, its options as the command's (see ``kube.cli.uninstall``)."""
    fmt = choose(output, OutputFormat.json)
    limit = parse_duration(timeout)
    chosen = fanout.choose(cluster, all_clusters, cluster_selector, context, kubeconfig)
    if chosen.many:
        outcomes = fanout.run_on(chosen.many)
        fanout.report(
            outcomes,
            verb="uninstall",
            release=name,
            as_json=fmt is OutputFormat.json,
            success="uninstalled",
        )
        return
    context, kubeconfig = chosen.context, chosen.kubeconfig
    kubectl = kubectl_for(context, kubeconfig, namespace)
    uninstall_reads_ahead(kubectl)
    # One read for both: the release, and the releases that may depend on it.
    release, others = releases.find_release_and_others(kubectl, name, namespace)
    _confirm_dependents(release, others, force=force)
    on_event = progress_printer() if fmt is not OutputFormat.json else None
    result = uninstall.uninstall(kubectl, release, wait=wait, timeout=limit, on_event=on_event)
    if fmt is OutputFormat.json:
        console.print_json(
            {
                **result_json(result),
                "namespaceDeleted": result.namespace_deleted,
                "namespaceState": result.namespace_state,
                "recordRemoved": result.record_removed,
            }
        )
    else:
        print_objects(result.formula, result.version, result.objects)
        if result.namespace_note:
            console.info(result.namespace_note)
        console.line(result.summary)
    if not result.ok:
        again = f"run `kube uninstall {name} -n {result.namespace}` again"
        if result.stuck:
            # Out of time: exit 9, naming what the API server still holds and why.
            stuck = next((o for o in result.objects if o.status == "stuck"), None)
            what = f"{stuck.ref.display} stuck: {stuck.detail}" if stuck else (
                f"namespace {result.namespace} still Terminating"
            )  # fmt: skip
            raise WaitTimeoutError(
                f"uninstall of {name} incomplete after {format_duration(result.timeout)}: {what}",
                hint=f"see what holds it with `kubectl get -o yaml`; once it is released, {again}",
            )
        failed = next((o for o in result.objects if o.status in ("failed", "not attempted")), None)
        detail = f"{failed.ref.display}: {failed.detail}" if failed else "see the table above"
        raise ClusterError(f"uninstall of {name} incomplete: {detail}", hint=f"fix the cause and {again}")


def _confirm_dependents(release: Release, others: list[Release], *, force: bool) -> None:
    """Warn when other releases in the cluster (``others``: every release the user may list)
    depend on this one, as install warns of unsatisfied dependencies: ask on a terminal,
    ``--force`` skips, no terminal and no --force stops (exit 6)."""
    from kube.install import deps

    dependents = deps.dependents(release, others)
    if not dependents:
        return
    from kube.cli.installing import _interactive  # the install command's modules: only when asking

    for line in dependents:
        console.line(f"!!-> WARNING: {line}", stderr=True)
    console.line(f"!!-> {deps.MAY_NOT_FUNCTION_AFTER}", stderr=True)
    if force:
        return
    names = "; ".join(dependents)
    hint = "uninstall them first, or pass --force"
    if not _interactive():
        raise DependencyError(
            f"other releases depend on {release.name}, and no terminal to ask: {names}", hint=hint
        )
    if not console.confirm("Continue?"):
        raise DependencyError(f"uninstall cancelled: {names}", hint=hint)
