"""Command: status (the live kstatus of every object of a release)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from kube.cli.install import Context, Kubeconfig, TableOrJson, kubectl_for, output_format

if TYPE_CHECKING:
    from kube.k8s.status import ObjectStatus, ReleaseStatus


WatchTimeout = Annotated[
    str, typer.Option("--timeout", metavar="DURATION", help="How long --watch watches, e.g. 90s, 5m.")
]


def register(app: typer.Typer) -> None:
    """Add this module's commands to the kube app."""
    app.command("status")(status_command)


def status_command(
    release: Annotated[str, typer.Argument(metavar="RELEASE", help="The installed release's name.")],
    namespace: Annotated[
        str | None,
        typer.Option(
            "-n", "--namespace", metavar="NS", help="Its namespace (default: where its only record is)."
        ),
    ] = None,
    context: Context = None,
    kubeconfig: Kubeconfig = None,
    watch: Annotated[
        bool, typer.Option("--watch", help="Read again until every object is Current, or --timeout.")
    ] = False,
    timeout: WatchTimeout = "5m",
    output: TableOrJson = None,
) -> None:
    """Show the live status of every object of a release: Current, InProgress, Failed, Terminating,
    NotFound, with the reason (exit 1 when one is not Current)."""
    from kube.cli import console
    from kube.core.errors import WaitTimeoutError
    from kube.k8s import status as kstatus
    from kube.k8s.status import NotCurrentError
    from kube.k8s.wait import format_duration, parse_duration

    fmt = output_format(output, allowed=("table", "json"), default="table")
    limit = parse_duration(timeout)
    kubectl = kubectl_for(context, kubeconfig, namespace)
    found = kstatus.find_release(kubectl, release, namespace)
    if watch:
        show = _progress_line if fmt == "table" else (lambda _status: None)
        result = kstatus.watch(kubectl, found, timeout=limit, on_change=show)
        live = result.status
    else:
        [live] = kstatus.read_status(kubectl, [found])
    if fmt == "json":
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
            hint=f"follow it with `kube status {found.name} -n {found.namespace} --watch`",
        )


def _progress_line(status: ObjectStatus) -> None:
    """One line per change, in kpt's words: ``reconcile pending`` -> ``reconciled``."""
    from kube.cli import console
    from kube.k8s import status as kstatus

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
    from kube.cli import console

    release = live.release
    rows = [(o.ref.kind, o.ref.name, o.ref.namespace or "-", o.status, o.reason) for o in live.objects]
    console.print_table(("KIND", "NAME", "NAMESPACE", "STATUS", "REASON"), rows)
    console.line(f"{release.name} {release.version} in namespace {release.namespace}: {live.summary}")
