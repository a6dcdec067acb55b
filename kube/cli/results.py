"""What install, list and uninstall print alike: the object table, the JSON of a result, a record's row."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kube.cli import console
from kube.install.pipeline import InstallResult, ObjectStatus
from kube.install.uninstall import UninstallResult
from kube.k8s.kubectl import Kubectl
from kube.k8s.records import Record

if TYPE_CHECKING:
    from kube.install.depends import Event


def kubectl_for(context: str | None, kubeconfig: str | None, namespace: str | None) -> Kubectl:
    return Kubectl(context=context, kubeconfig=kubeconfig, namespace=namespace)


_QUIET = ("created", "exists", "ready", "deleted", "already gone", "would create", "rolled back")


def status_text(status: ObjectStatus) -> str:
    if status.status == "failed" and ":" in status.detail:
        return f"failed ({status.detail.split(':', 1)[0]})"
    return status.status


def print_objects(formula: str, version: str, objects: tuple[ObjectStatus, ...]) -> None:
    """The result table; the long reasons (API server messages) follow it, one line each."""
    rows = [
        (formula, version, o.ref.kind, o.ref.name, o.ref.namespace or "-", status_text(o)) for o in objects
    ]
    console.print_table(("APP", "VERSION", "KIND", "NAME", "NAMESPACE", "STATUS"), rows)
    for o in objects:
        if o.detail and o.status not in _QUIET:
            console.line(f"  {o.ref.display}: {o.detail}")


def _object_json(status: ObjectStatus) -> dict[str, Any]:
    ref = status.ref
    return {"apiVersion": ref.api_version, "kind": ref.kind, "name": ref.name, "namespace": ref.namespace,
            "status": status.status, "detail": status.detail, "source": status.source}  # fmt: skip


def result_json(result: InstallResult | UninstallResult) -> dict[str, Any]:
    if isinstance(result, InstallResult):
        outcome, record = str(result.outcome), result.record
    else:
        outcome, record = ("uninstalled" if result.ok else "partly uninstalled"), None
    data: dict[str, Any] = {
        "formula": result.formula,
        "version": result.version,
        "namespace": result.namespace,
        "outcome": outcome,
        "summary": result.summary,
        "objects": [_object_json(o) for o in result.objects],
    }
    if record is not None:
        data["record"] = record.to_json()
    reach = getattr(result, "reach", None)
    if reach is not None:
        data["namespaces"] = list(reach.namespaces)
        data["clusterScoped"] = [{"apiVersion": r.api_version, "kind": r.kind, "name": r.name}
                                 for r in reach.cluster_scoped]  # fmt: skip
    return data


def record_row(record: Record) -> dict[str, Any]:
    return {
        "name": record.formula,
        "version": record.version,
        "namespace": record.namespace,
        "status": record.status,
        "installedAt": record.installed_at,
        "objects": len(record.objects),
    }


def progress_printer() -> Callable[[Event], None] | None:
    """depends-on progress (``StatefulSet/db reconcile pending`` -> ``reconciled``), as kpt live
    shows it: on stderr, and only on a terminal, so piped output and -o json stay as they were."""
    if not sys.stderr.isatty():
        return None

    def show(event: Event) -> None:
        console.line(str(event), stderr=True)

    return show
