"""What install, list and uninstall print alike: the object table, the JSON of a result, a record's row."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kube.cli import console
from kube.core.text import clip
from kube.install.pipeline import InstallResult, ObjectStatus
from kube.k8s.kubectl import Kubectl

if TYPE_CHECKING:
    from kube.install.depends import Event
    from kube.install.uninstall import UninstallResult
    from kube.k8s.releases import Revision


def kubectl_for(context: str | None, kubeconfig: str | None, namespace: str | None) -> Kubectl:
    return Kubectl(context=context, kubeconfig=kubeconfig, namespace=namespace)


#: Characters of an object's reason shown under the table (``-o json`` has the whole text).
DETAIL_LIMIT = 500

_QUIET = ("created", "exists", "ready", "deleted", "already gone", "would create", "rolled back", "ok",
          "admitted", "would upgrade", "would re-create")  # fmt: skip


def status_text(status: ObjectStatus) -> str:
    if status.status == "stuck" and status.detail:
        return f"stuck: {status.detail}"
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
        # Which releases share a cluster-scoped object is worth a line even when all is well.
        shared_note = o.detail.startswith("shared")
        if o.detail and ((o.status not in _QUIET and o.status != "stuck") or shared_note):
            # A failure names the manifest it came from: that is where the fix goes.
            where = f" ({o.source})" if o.status == "failed" and o.source else ""
            detail = clip(o.detail, DETAIL_LIMIT, "-o json prints them all")
            console.line(f"  {o.ref.display}{where}: {detail}")


def _object_json(status: ObjectStatus) -> dict[str, Any]:
    ref = status.ref
    return {"apiVersion": ref.api_version, "kind": ref.kind, "name": ref.name, "namespace": ref.namespace,
            "status": status.status, "detail": status.detail, "source": status.source}  # fmt: skip


def result_json(result: InstallResult | UninstallResult) -> dict[str, Any]:
    if isinstance(result, InstallResult):
        outcome, record = str(result.outcome), result.record
    else:
        outcome = "uninstalled" if result.record_removed else "uninstalling"
        record = None
    data: dict[str, Any] = {
        "release": result.release or result.formula,
        "formula": result.formula,
        "version": result.version,
        "namespace": result.namespace,
        "outcome": outcome,
        "summary": result.summary,
        "objects": [_object_json(o) for o in result.objects],
    }
    if record is not None:
        data["record"] = record_json(record)
    reach = getattr(result, "reach", None)
    if reach is not None:
        data["namespaces"] = list(reach.namespaces)
        data["clusterScoped"] = [{"apiVersion": r.api_version, "kind": r.kind, "name": r.name}
                                 for r in reach.cluster_scoped]  # fmt: skip
    return data


def record_row(record: Revision) -> dict[str, Any]:
    """A release's row in ``kube list``: its latest revision."""
    return {
        "name": record.release,
        "formula": record.formula,
        "version": record.version,
        "namespace": record.namespace,
        "revision": record.revision,
        "status": record.condition,
        "installedAt": record.time,
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


def record_json(record: Revision) -> dict[str, Any]:
    """What JSON output shows of a revision: never its values, manifest or hook values, which may
    hold secrets (``kubectl get secret`` shows them to whoever may read Secrets)."""
    return {
        "release": record.release,
        "revision": record.revision,
        "formula": record.formula,
        "version": record.version,
        "namespace": record.namespace,
        "status": str(record.status),
        "outcome": str(record.outcome),
        "time": record.time,
        "formatVersion": record.format_version,
        "valuesDigest": record.values_digest,
        "summary": record.summary,
        "patches": list(record.patch_sources),
        "createdNamespace": record.created_namespace,
        "allowedNamespaces": list(record.allowed_namespaces),
        "adopted": [{"apiVersion": r.api_version, "kind": r.kind, "name": r.name} for r in record.adopted],
        "objects": [
            {
                "apiVersion": o.ref.api_version,
                "kind": o.ref.kind,
                "namespace": o.ref.namespace,
                "name": o.ref.name,
                "uid": o.uid,
            }
            for o in record.objects
        ],
        "failed": [
            {
                "apiVersion": f.ref.api_version,
                "kind": f.ref.kind,
                "namespace": f.ref.namespace,
                "name": f.ref.name,
                "reason": f.reason,
                "message": f.message,
            }
            for f in record.failures
        ],
    }
