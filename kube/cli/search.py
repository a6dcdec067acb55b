"""Commands: search and info (read the archive's index; kept light).

``kube search`` and ``kube info`` are the commands people run most, so this module
imports only the index and workspace readers: no git, no ruamel.yaml, no Jinja2
(tests/test_cli.py holds it to that). Fetching the archive lives in
``kube.cli.update``.

Exit codes: 0 ok; 2 bad option or bad regex; 3 no kube matched (search) or no
such kube (info); 5 the archive is missing and cloning it failed.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from kube.archive import update as archive
from kube.archive import workspace
from kube.archive.index import Entry
from kube.archive.workspace import FormulaInfo
from kube.cli import console
from kube.cli.options import Context, Kubeconfig, Namespace, Output, OutputFormat, choose, command_app
from kube.core.errors import KubeError, NotFoundError

app = command_app()


def waiting(message: str) -> None:
    console.info(message)


def ensure_archive() -> None:
    """Commands that read the archive clone it first when it is missing, and say so (on stderr)."""

    def first(url: str) -> None:
        console.info(f"There is no kube archive yet; cloning {url} first")

    archive.ensure_archive(on_clone=first, on_wait=waiting)


@app.command("search")
def search_command(
    pattern: Annotated[str, typer.Argument(help="Text to look for (case-insensitive), or a regex with -r.")],
    regex: Annotated[
        bool, typer.Option("-r", "--regex", help="Treat PATTERN as a regular expression.")
    ] = False,
    output: Output = None,
) -> None:
    """Search kubes by name, description, keywords and details (name matches first)."""
    fmt = choose(output, OutputFormat.json)
    ensure_archive()
    index = archive.read_index(on_wait=waiting, on_rebuild=console.info)
    found = index.search(pattern, regex=regex)
    if fmt is OutputFormat.json:
        console.print_json([entry.to_dict() for entry in found])
    elif found:
        console.print_table(("NAME", "VERSION", "DESCRIPTION"), [_row(entry) for entry in found])
    if not found:
        close = index.close_matches(pattern)
        maybe = f"; similar names: {', '.join(close)}" if close else ""
        raise NotFoundError(
            f"no kube matches {pattern!r}{maybe}", hint="run `kube update` to refresh the archive"
        )


def _row(entry: Entry) -> tuple[str, str, str]:
    if not entry.valid:
        return (entry.name, "-", "(invalid K3.yaml: see `kube info " + entry.name + "`)")
    return (entry.name, entry.version, entry.description)


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
    from kube.k8s import records
    from kube.k8s.kubectl import Kubectl

    try:
        kubectl = Kubectl(context=context, kubeconfig=kubeconfig, namespace=namespace, timeout=5)
        if namespace:
            listed = records.list_records(kubectl, namespace)
            found = [(r.namespace, r.version) for r in listed if r.formula == name]
        else:
            found = records.installed_versions(name, kubectl)
    except KubeError:
        return None
    return [f"{version} in {ns}" for ns, version in found]


@app.command("info")
def info_command(
    name: Annotated[str, typer.Argument(help="The kube's name.")],
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
