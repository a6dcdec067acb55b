"""Command: info (one kube of the archive, and where the cluster has it; kept light).

Like ``kube search``, ``kube info`` imports no git library, no ruamel.yaml and no
Jinja2; the cluster client is imported only when a kubeconfig is in play.

Exit codes: 0 ok; 2 bad option; 3 no such kube; 5 the archive is missing and
cloning it failed.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from kube.archive import workspace
from kube.archive.workspace import FormulaInfo
from kube.cli import completers, console
from kube.cli.archive import ensure_archive
from kube.cli.options import Context, Kubeconfig, Namespace, Output, OutputFormat, choose, command_app
from kube.core.errors import KubeError

app = command_app()


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


@app.command("info")
def info_command(
    name: Annotated[str, typer.Argument(help="The kube's name.", autocompletion=completers.formulas)],
    output: Output = None,
    namespace: Namespace = None,
    context: Context = None,
    kubeconfig: Kubeconfig = None,
) -> None:
    """Show a kube: description, version, website, files, maintainers, dependencies, where installed."""
    fmt = choose(output, OutputFormat.json)
    ensure_archive()
    info = workspace.formula_info(name)
    installed = installed_versions(name, context=context, kubeconfig=kubeconfig, namespace=namespace)
    info = replace(info, installed=installed)
    if fmt is OutputFormat.json:
        console.print_json(info.to_dict())
        return
    _print_info(info)


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
