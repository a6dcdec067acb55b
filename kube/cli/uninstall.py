"""Commands: list and uninstall (what kube installed, read from install records)."""

from __future__ import annotations

from typing import Annotated

import typer

from kube.cli import console
from kube.cli.options import Context, Kubeconfig, Output, OutputFormat, Timeout, Wait, choose, command_app
from kube.cli.results import kubectl_for, print_objects, record_row, result_json
from kube.core.errors import ClusterError, UsageError
from kube.install import uninstall
from kube.k8s import records
from kube.k8s.wait import parse_duration

app = command_app()


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
    found = records.with_missing(kubectl, [r for r in listed if r.outcome != records.UNREADABLE])
    if fmt is OutputFormat.json:
        console.print_json([{**record_row(r), "record": r.to_json()} for r in found])
        return
    if not found:
        console.info("nothing installed" + (f" in namespace {namespace}" if namespace else ""))
        return
    columns = ("NAME", "VERSION", "NAMESPACE", "STATUS", "INSTALLED AT", "OBJECTS")
    console.print_table(columns, [tuple(record_row(r).values()) for r in found])


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
    result = uninstall.uninstall(kubectl, record, wait=wait, timeout=limit)
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
