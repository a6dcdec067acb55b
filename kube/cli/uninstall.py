"""Commands: list and uninstall (the releases kube installed, read from their records)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Annotated

import typer

from kube.cli import completers, console, fanout, uninstalling
from kube.cli.choices import TIMEOUT
from kube.cli.options import (
    AllClusters,
    ClusterNames,
    ClusterSelector,
    Context,
    Kubeconfig,
    Output,
    OutputFormat,
    Timeout,
    Wait,
    choose,
    command_app,
    namespace_option,
)
from kube.cli.results import (
    kubectl_for,
    record_json,
    record_row,
)
from kube.core.errors import UsageError
from kube.k8s import releases
from kube.k8s import status as kstatus

app = command_app()

if TYPE_CHECKING:
    from kube.k8s.kubectl import Kubectl
    from kube.k8s.releases import Release, Revision


@app.command("list")
def list_command(
    namespace: Annotated[str | None, namespace_option("Only this namespace.")] = None,
    all_namespaces: Annotated[
        bool, typer.Option("-A", "--all-namespaces", help="Every namespace (the default).")
    ] = False,
    context: Context = None,
    kubeconfig: Kubeconfig = None,
    cluster: ClusterNames = None,
    all_clusters: AllClusters = False,
    cluster_selector: ClusterSelector = None,
    output: Output = None,
    live: Annotated[
        bool,
        typer.Option("--status", help="Read every object live: kstatus per release (exit 1 if not Current)."),
    ] = False,
) -> None:
    """List the releases kube installed in the cluster (the latest revision of each)."""
    if namespace and all_namespaces:
        raise UsageError("choose -n NAMESPACE or -A, not both")
    fmt = choose(output, OutputFormat.json)
    chosen = fanout.choose(cluster, all_clusters, cluster_selector, context, kubeconfig)
    if chosen.many:
        outcomes = fanout.run_on(chosen.many)
        fanout.report(outcomes, verb="list", release="-", as_json=fmt is OutputFormat.json, success="listed")
        return
    context, kubeconfig = chosen.context, chosen.kubeconfig
    kubectl = kubectl_for(context, kubeconfig, namespace)
    listed = releases.list_releases(kubectl, namespace)
    # A record that does not hold together was not written by kube: show nothing it claims.
    for bad in (u for r in listed for u in r.unreadable):
        console.warn(f"ignored: {bad.problem}")
    readable = [r for r in listed if r.latest is not None and not r.problem]
    if live:
        _list_status(kubectl, readable, fmt, namespace)
        return
    found = releases.with_missing(kubectl, [r.latest for r in readable if r.latest is not None])
    if fmt is OutputFormat.json:
        console.print_json([{**record_row(r), "record": record_json(r)} for r in found])
        return
    if not found:
        console.info("nothing installed" + (f" in namespace {namespace}" if namespace else ""))
        return
    console.print_table(_COLUMNS, [_row(r) for r in found])


_COLUMNS = ("NAME", "VERSION", "NAMESPACE", "STATUS", "FORMULA", "REVISION", "INSTALLED AT", "OBJECTS")


def _row(rev: Revision) -> tuple[object, ...]:
    row = record_row(rev)
    return tuple(row[k] for k in ("name", "version", "namespace", "status", "formula", "revision",
                                  "installedAt", "objects"))  # fmt: skip


def _list_status(kubectl: Kubectl, found: list[Release], fmt: OutputFormat, namespace: str | None) -> None:
    """``list --status``: the record's columns, the live kstatus of each release beside them.
    The same reads as ``kube status``, once for every release (missing comes from them too)."""
    statuses = kstatus.read_status(kubectl, [kstatus.release_of(r) for r in found])
    rows = [
        (replace(r.latest, missing=s.missing), s)
        for r, s in zip(found, statuses, strict=True)
        if r.latest is not None
    ]
    if fmt is OutputFormat.json:
        console.print_json(
            [{**record_row(r), "record": record_json(r), "live": s.to_json()} for r, s in rows]
        )
    elif not rows:
        console.info("nothing installed" + (f" in namespace {namespace}" if namespace else ""))
    else:
        console.print_table((*_COLUMNS, "LIVE"), [(*_row(r), s.summary) for r, s in rows])
    if stuck := [s for _, s in rows if not s.current]:
        names = ", ".join(
            f"{s.release.name} ({s.release.namespace}): {s.describe_not_current(1)}" for s in stuck[:3]
        )
        more = f" and {len(stuck) - 3} more" if len(stuck) > 3 else ""
        raise kstatus.NotCurrentError(
            f"{len(stuck)} of {len(rows)} releases not Current: {names}{more}",
            hint="see one with `kube status NAME -n NAMESPACE`",
        )


@app.command("uninstall")
def uninstall_command(
    name: Annotated[
        str,
        typer.Argument(
            metavar="RELEASE",
            help="The release's name (see `kube list`).",
            autocompletion=completers.releases,
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
    wait: Wait = False,
    timeout: Timeout = TIMEOUT,
    output: Output = None,
    force: Annotated[
        bool, typer.Option("--force", help="Uninstall even when other releases depend on this one.")
    ] = False,
) -> None:
    """Delete exactly what a release's records list, newest first, then every revision record."""
    uninstalling.run(
        name,
        namespace=namespace,
        context=context,
        kubeconfig=kubeconfig,
        cluster=cluster,
        all_clusters=all_clusters,
        cluster_selector=cluster_selector,
        wait=wait,
        timeout=timeout,
        output=output,
        force=force,
    )
