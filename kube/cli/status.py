"""Command: status (the live kstatus of every object of a release)."""

from __future__ import annotations

from typing import Annotated

import typer

from kube.cli import completers, console, fanout
from kube.cli.options import (
    AllClusters,
    ClusterNames,
    ClusterSelector,
    Context,
    Kubeconfig,
    Output,
    OutputFormat,
    choose,
    command_app,
    namespace_option,
)
from kube.cli.results import kubectl_for
from kube.core.durations import format_duration, parse_duration
from kube.core.errors import WaitTimeoutError
from kube.k8s import status as kstatus
from kube.k8s.kubectl_output import Reason
from kube.k8s.status import NotCurrentError, ObjectStatus, Release, ReleaseStatus

app = command_app()


WatchTimeout = Annotated[
    str, typer.Option("--timeout", metavar="DURATION", help="How long --watch watches, e.g. 90s, 5m.")
]


@app.command("status")
def status_command(
    release: Annotated[
        str,
        typer.Argument(
            metavar="RELEASE", help="The installed release's name.", autocompletion=completers.releases
        ),
    ],
    namespace: Annotated[
        str | None, namespace_option("Its namespace (default: where its only record is).")
    ] = None,
    context: Context = None,
    kubeconfig: Kubeconfig = None,
    cluster: ClusterNames = None,
    all_clusters: AllClusters = False,
    cluster_selector: ClusterSelector = None,
    watch: Annotated[
        bool, typer.Option("--watch", help="Read again until every object is Current, or --timeout.")
    ] = False,
    timeout: WatchTimeout = "5m",
    output: Output = None,
) -> None:
    """Read every object of a release from the cluster now and give its kstatus, with the reason.

    Current, InProgress, Failed, Terminating or NotFound; exit 1 when one is not Current."""
    fmt = choose(output, OutputFormat.json)
    limit = parse_duration(timeout)
    chosen = fanout.choose(cluster, all_clusters, cluster_selector, context, kubeconfig)
    if chosen.many:
        outcomes = fanout.run_on(chosen.many)
        fanout.report(
            outcomes, verb="status", release=release, as_json=fmt is OutputFormat.json, success="current"
        )
        return
    context, kubeconfig = chosen.context, chosen.kubeconfig
    kubectl = kubectl_for(context, kubeconfig, namespace)
    found = kstatus.find_release(kubectl, release, namespace)
    if watch:
        show = _progress_line if fmt is OutputFormat.table else (lambda _status: None)
        result = kstatus.watch(kubectl, found, timeout=limit, on_change=show)
        live = result.status
    else:
        [live] = kstatus.read_status(kubectl, [found])
    if fmt is OutputFormat.json:
        console.print_json(live.to_json())
    elif watch:
        if live.current:
            console.line(f"{found.name}: all {len(live.objects)} objects Current")
    else:
        _print_status(live)
    where = f"{found.name} in namespace {found.namespace}"
    if watch and not live.current:
        raise WaitTimeoutError(
            f"{where}: not Current after {format_duration(limit)}: {live.describe_not_current()}",
            hint=f"look at it with `kube status {found.name} -n {found.namespace}`, "
            "or watch longer with --timeout",
        )
    if not live.current:
        raise NotCurrentError(
            f"{where}: {len(live.not_current)} of {len(live.objects)} objects not Current: "
            f"{live.describe_not_current(3)}",
            hint=_not_current_hint(found),
        )


def _not_current_hint(found: Release) -> str:
    """What to do about a release not Current: wait, finish an install that stopped, or fix the
    formula of what the API server or kubectl refused."""
    if not found.not_created:
        return f"follow it with `kube status {found.name} -n {found.namespace} --watch`"
    stopped = ("not created: not attempted", f"not created: {Reason.INTERRUPTED}")
    if all(message.startswith(stopped) for _, message in found.not_created):
        # Interrupted, or never reached: nothing is wrong with the formula, the install resumes.
        return "run the same `kube install` again: it resumes and creates what is missing"
    return (
        f"what the install could not create needs a fixed formula: `kube upgrade {found.name} "
        f"-n {found.namespace}` with it"
    )


def _progress_line(status: ObjectStatus) -> None:
    """One line per change, in kpt's words: ``reconcile pending`` -> ``reconciled``."""
    words = {
        kstatus.CURRENT: "reconciled",
        kstatus.IN_PROGRESS: "reconcile pending",
        kstatus.FAILED: "reconcile failed",
        kstatus.TERMINATING: "terminating",
        kstatus.NOT_FOUND: "not found",
        kstatus.UNKNOWN: "status unknown",
    }
    detail = "" if status.current else f": {status.reason}"
    console.line(f"{status.ref.display} {words.get(status.status, status.status)}{detail}")


def _print_status(live: ReleaseStatus) -> None:
    release = live.release
    rows = [(o.ref.kind, o.ref.name, o.ref.namespace or "-", o.status, o.reason) for o in live.objects]
    console.print_table(("KIND", "NAME", "NAMESPACE", "STATUS", "REASON"), rows)
    console.line(f"{release.name} {release.version} in namespace {release.namespace}: {live.summary}")
