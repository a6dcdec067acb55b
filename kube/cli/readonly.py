"""What ``kube search`` and ``kube info`` do and print, without the option parser.

``kube.cli.search`` and ``kube.cli.info`` (Typer) call these, and so does the
console entry point's fast path (``kube.cli.entry``), which runs the plain
forms of the two commands without importing Click or Typer: both paths print
the same bytes because they are the same functions. Nothing here imports
Click, Typer, Rich (unless printing to a terminal), git, YAML or templates.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kube.cli import console
from kube.core.errors import KubeError, NotFoundError

if TYPE_CHECKING:
    from kube.archive.workspace import FormulaInfo


def search(pattern: str, *, regex: bool, as_json: bool) -> None:
    """Search kubes by name, description, keywords and details (name matches first)."""
    from kube.archive import update as archive
    from kube.cli.archive import ensure_archive, waiting

    ensure_archive()
    index = archive.read_index(on_wait=waiting, on_rebuild=console.info)
    if as_json:
        found: list[Any] = index.search(pattern, regex=regex)
        console.print_json([entry.to_dict() for entry in found])
    else:
        found = index.search_rows(pattern, regex=regex)
        if found:
            console.print_table(("NAME", "VERSION", "DESCRIPTION"), [_row(*row) for row in found])
    if not found:
        close = index.close_matches(pattern)
        maybe = f"; similar names: {', '.join(close)}" if close else ""
        raise NotFoundError(
            f"no kube matches {pattern!r}{maybe}", hint="run `kube update` to refresh the archive"
        )


def _row(name: str, version: str, description: str, valid: bool) -> tuple[str, str, str]:
    if not valid:
        return (name, "-", "(invalid K3.yaml: see `kube info " + name + "`)")
    return (name, version, description)


def installed_versions(
    name: str,
    *,
    context: str | None = None,
    kubeconfig: str | None = None,
    namespace: str | None = None,
) -> list[str] | None:
    """Where the chosen cluster has ``name`` installed, read from install records.

    The cluster is the one ``--context``/``--kubeconfig`` name, as for every
    other command. None (nothing printed) when no kubeconfig is in play or the
    cluster does not answer within a few seconds: ``kube info`` stays useful,
    and quick, offline. With ``namespace``, only that namespace is read.
    """
    in_play = context or kubeconfig or os.environ.get("KUBECONFIG")
    if not in_play and not (Path.home() / ".kube" / "config").exists():
        return None
    # Imported only when a cluster is in play: the cluster client is ~25 ms that an offline
    # `kube info` does not spend.
    from kube.k8s import releases
    from kube.k8s.kubectl import Kubectl

    try:
        kubectl = Kubectl(context=context, kubeconfig=kubeconfig, namespace=namespace, timeout=5)
        listed = releases.list_releases(kubectl, namespace)
        latest = [r.latest for r in listed if r.latest is not None and not r.problem]
        found = [(r.namespace, r.version) for r in latest if r.formula == name]
    except KubeError:
        return None
    return [f"{version} in {ns}" for ns, version in found]


def info(
    name: str,
    *,
    as_json: bool,
    namespace: str | None = None,
    context: str | None = None,
    kubeconfig: str | None = None,
) -> None:
    """Show a kube: description, version, website, files, maintainers, dependencies, where installed."""
    from kube.archive import workspace
    from kube.cli.archive import ensure_archive

    ensure_archive()
    found = workspace.formula_info(name)
    installed = installed_versions(name, context=context, kubeconfig=kubeconfig, namespace=namespace)
    found = replace(found, installed=installed)
    if as_json:
        console.print_json(found.to_dict())
        return
    _print_info(found)


def _print_info(info: FormulaInfo) -> None:
    entry = info.entry
    console.line(f"==> {entry.name}: {entry.version or '(invalid)'}", style="bold")
    lines: list[str] = []
    if not entry.valid:
        lines.append("This kube's K3.yaml is invalid and it cannot be installed:")
        lines += [f"  {console.safe_line(problem)}" for problem in entry.problems]
    else:
        rows = [
            ("Description", entry.description),
            ("Version", entry.version),
            ("Website", entry.home),
            ("Built", f"{entry.built_date} ({entry.built_commit[:8]})" if entry.built_commit else "unknown"),
            ("Maintainers", ", ".join(entry.maintainers)),
            ("Depends on", ", ".join(f"{n} ({r})" for n, r in entry.dependencies) or "nothing"),
            ("Provides", ", ".join(entry.provides) or "no manifests"),
        ]
        lines += [f"{label + ':':<13}{console.safe_line(value)}" for label, value in rows]
        if entry.details:
            lines.append("Details:")
            lines += [f"  {console.safe_line(text)}" for text in entry.details.strip().splitlines()]
    if info.workspace is None:
        lines.append(f"Workspace:   none (`kube get {entry.name}` makes an editable copy)")
    else:
        state = "differs from the archive" if info.workspace_differs else "same as the archive"
        lines.append(f"Workspace:   {console.safe_line(info.workspace)} ({state})")
    if info.installed is not None:
        lines.append(f"Installed:   {', '.join(info.installed) or 'no'}")
    console.line("\n".join(lines))
