"""Commands: list and uninstall (what kube installed, read from install records)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Annotated

import typer

from kube.cli import console
from kube.cli.options import Context, Kubeconfig, Output, OutputFormat, Timeout, Wait, choose, command_app
from kube.cli.results import kubectl_for, print_objects, progress_printer, record_row, result_json
from kube.core.errors import ClusterError, UsageError
from kube.install import uninstall
from kube.k8s import records
from kube.k8s import status as kstatus
from kube.k8s.wait import parse_duration

app = command_app()

if TYPE_CHECKING:
    from kube.k8s.kubectl import Kubectl
    from kube.k8s.records import Record


@app.command("list")
def list_command(
    namespace: Annotated[
        str | None, typer.Option("-n", "--namespace", metavar="NS", help="Only this namespace.")
    ] = None,
    all_namespaces: Annotated[
        bool, typer.Option("-A", "--all-namespaces", help="Every namespace (the default).")
    ] = False,
    context: Context = None,
    kubeconfig: Kubeconfig = None,
    output: Output = None,
    live: Annotated[
        bool,
        typer.Option("--status", help="Read every object live: kstatus per release (exit 1 if not Current)."),
    ] = False,
) -> None:
    """List what kube installed in the cluster (from install records)."""
    if namespace and all_namespaces:
        raise UsageError("choose -n NAMESPACE or -A, not both")
    fmt = choose(output, OutputFormat.json)
    kubectl = kubectl_for(context, kubeconfig, namespace)
    listed = records.list_records(kubectl, namespace)
    # A record that does not hold together was not written by kube: show nothing it claims.
    for bad in (r for r in listed if r.outcome == records.UNREADABLE):
        console.warn(f"ignored: {bad.problem}")
    readable = [r for r in listed if r.outcome != records.UNREADABLE]
    if live:
        _list_status(kubectl, readable, fmt, namespace)
        return
    found = records.with_missing(kubectl, readable)
    if fmt is OutputFormat.json:
        console.print_json([{**record_row(r), "record": r.to_json()} for r in found])
        return
    if not found:
        console.info("nothing installed" + (f" in namespace {namespace}" if namespace else ""))
        return
    columns = ("NAME", "VERSION", "NAMESPACE", "STATUS", "INSTALLED AT", "OBJECTS")
    console.print_table(columns, [tuple(record_row(r).values()) for r in found])


def _list_status(kubectl: Kubectl, found: list[Record], fmt: OutputFormat, namespace: str | None) -> None:
    """``list --status``: the record's columns, the live kstatus of each release beside them.
    The same reads as ``kube status``, once for every release (missing comes from them too)."""
    statuses = kstatus.read_status(kubectl, [kstatus.release_of(r) for r in found])
    rows = [(replace(r, missing=s.missing), s) for r, s in zip(found, statuses, strict=True)]
    if fmt is OutputFormat.json:
        console.print_json([{**record_row(r), "record": r.to_json(), "live": s.to_json()} for r, s in rows])
    elif not rows:
        console.info("nothing installed" + (f" in namespace {namespace}" if namespace else ""))
    else:
        columns = ("NAME", "VERSION", "NAMESPACE", "STATUS", "INSTALLED AT", "OBJECTS", "LIVE")
        console.print_table(columns, [(*record_row(r).values(), s.summary) for r, s in rows])
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
    name: Annotated[str, typer.Argument(metavar="NAME", help="The installed formula's name.")],
    namespace: Annotated[
        str | None,
        typer.Option(
            "-n", "--namespace", metavar="NS", help="Its namespace (default: where its only record is)."
        ),
    ] = None,
    context: Context = None,
    kubeconfig: Kubeconfig = None,
    wait: Wait = False,
    timeout: Timeout = "5m",
    output: Output = None,
) -> None:
    """Delete exactly what an install record lists, newest first, then the record."""
    fmt = choose(output, OutputFormat.json)
    limit = parse_duration(timeout)
    kubectl = kubectl_for(context, kubeconfig, namespace)
    record = uninstall.find_record(kubectl, name, namespace)
    on_event = progress_printer() if fmt is not OutputFormat.json else None
    result = uninstall.uninstall(kubectl, record, wait=wait, timeout=limit, on_event=on_event)
    if fmt is OutputFormat.json:
        console.print_json({**result_json(result), "namespaceDeleted": result.namespace_deleted})
    else:
        print_objects(result.formula, result.version, result.objects)
        if result.namespace_note:
            console.info(result.namespace_note)
        console.line(result.summary)
    if not result.ok:
        failed = next((o for o in result.objects if o.status == "failed"), None)
        detail = f"{failed.ref.display}: {failed.detail}" if failed else "see the table above"
        raise ClusterError(f"uninstall of {name} incomplete: {detail}", hint="fix the cause and run it again")
