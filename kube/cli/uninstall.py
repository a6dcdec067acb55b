"""Commands: list and uninstall (registered by ``kube.commands.install``)."""

from __future__ import annotations

from typing import Annotated

import typer

from kube.cli.install import (
    Context,
    Kubeconfig,
    TableOrJson,
    Timeout,
    Wait,
    kubectl_for,
    output_format,
    print_objects,
    record_row,
    result_json,
)


def list_command(
    namespace: Annotated[
        str | None, typer.Option("-n", "--namespace", metavar="NS", help="Only this namespace.")
    ] = None,
    all_namespaces: Annotated[
        bool, typer.Option("-A", "--all-namespaces", help="Every namespace (the default).")
    ] = False,
    context: Context = None,
    kubeconfig: Kubeconfig = None,
    output: TableOrJson = None,
) -> None:
    """List what kube installed in the cluster (from install records)."""
    from kube.cli import console
    from kube.core.errors import UsageError
    from kube.k8s import records

    if namespace and all_namespaces:
        raise UsageError("choose -n NAMESPACE or -A, not both")
    fmt = output_format(output, allowed=("table", "json"), default="table")
    kubectl = kubectl_for(context, kubeconfig, namespace)
    listed = records.list_records(kubectl, namespace)
    # A record that does not hold together was not written by kube: show nothing it claims.
    for bad in (r for r in listed if r.outcome == records.UNREADABLE):
        console.warn(f"ignored: {bad.problem}")
    found = records.with_missing(kubectl, [r for r in listed if r.outcome != records.UNREADABLE])
    if fmt == "json":
        console.print_json([{**record_row(r), "record": r.to_json()} for r in found])
        return
    if not found:
        console.info("nothing installed" + (f" in namespace {namespace}" if namespace else ""))
        return
    columns = ("NAME", "VERSION", "NAMESPACE", "STATUS", "INSTALLED AT", "OBJECTS")
    console.print_table(columns, [tuple(record_row(r).values()) for r in found])


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
    output: TableOrJson = None,
) -> None:
    """Delete exactly what an install record lists, newest first, then the record."""
    from kube.cli import console
    from kube.core.errors import ClusterError
    from kube.install import uninstall
    from kube.k8s.wait import parse_duration

    fmt = output_format(output, allowed=("table", "json"), default="table")
    limit = parse_duration(timeout)
    kubectl = kubectl_for(context, kubeconfig, namespace)
    record = uninstall.find_record(kubectl, name, namespace)
    result = uninstall.uninstall(kubectl, record, wait=wait, timeout=limit)
    if fmt == "json":
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
