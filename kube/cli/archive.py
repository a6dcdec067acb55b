"""Commands: update, search, info, get (the archive of kubes).

Exit codes: 0 ok; 2 bad option, rejected repository URL or branch, bad regex;
3 no kube matched (search) or no such kube (info, get); 4 the formula is
invalid (get); 5 git failed, the server timed out, local changes would be
lost, or the upstream history was rewritten.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

# The same option definitions as install/list/uninstall: one meaning of -n/--context/--kubeconfig.
from kube.cli.install import Context, Kubeconfig, Namespace

if TYPE_CHECKING:
    from kube.archive.changes import UpdateReport
    from kube.archive.index import Entry
    from kube.archive.workspace import FormulaInfo


class Output(StrEnum):
    text = "text"
    json = "json"


OutputOption = Annotated[Output, typer.Option("-o", "--output", help="text or json.")]


def register(app: typer.Typer) -> None:
    """Add this module's commands to the kube app."""
    app.command("update")(update_command)
    app.command("search")(search_command)
    app.command("info")(info_command)
    app.command("get")(get_command)


def _waiting(message: str) -> None:
    from kube.cli import console

    console.info(message)


def _cloning(url: str) -> None:
    from kube.cli import console

    console.info(f"Cloning the kube archive from {url}")


def _ensure_archive() -> None:
    """Commands that read the archive clone it first when it is missing, and say so (on stderr)."""
    from kube.archive import update as archive
    from kube.cli import console

    def first(url: str) -> None:
        console.info(f"There is no kube archive yet; cloning {url} first")

    archive.ensure_archive(on_clone=first, on_wait=_waiting)


def update_command(
    repo: Annotated[str | None, typer.Option("--repo", help="Archive repository URL (remembered).")] = None,
    branch: Annotated[str | None, typer.Option("--branch", help="Branch to follow (remembered).")] = None,
    reset: Annotated[
        bool,
        typer.Option("--reset", help="Discard local changes in the archive and accept rewritten history."),
    ] = False,
    output: OutputOption = Output.text,
) -> None:
    """Clone the archive of kubes, or fetch and fast-forward it, and report what changed."""
    from kube.archive import update as archive
    from kube.cli import console

    report = archive.update(repo, branch, reset=reset, on_clone=_cloning, on_wait=_waiting)
    if output is Output.json:
        console.print_json(report.to_dict())
        return
    _print_update(report)


def _print_update(report: UpdateReport) -> None:
    from kube.cli import console

    for note in report.notes:
        console.info(note[0].upper() + note[1:])
    for warning in report.warnings:
        console.warn(f"{warning.path} {warning.message}")
    if report.kube_warning:
        console.warn(report.kube_warning)
    if report.cloned:
        console.line(f"Cloned {report.url} ({report.branch}): {report.count} kubes.")
        return
    if report.up_to_date:
        console.line("Already up-to-date.")
        return
    console.line(
        f"Updated the archive from {report.url} ({(report.old_commit or '?')[:8]}..{report.new_commit[:8]})."
    )
    sections: list[tuple[str, list[str]]] = [
        ("New kubes", [f"{name} {version or '(invalid)'}" for name, version in report.new]),
        ("Updated kubes", [_updated(name, old, new) for name, old, new in report.updated]),
        ("Renamed kubes", [f"{old} → {new}" for old, new in report.renamed]),
        ("Deleted kubes", list(report.deleted)),
    ]
    for title, lines in sections:
        if lines:
            console.line(f"==> {title}", style="bold")
            for text in lines:
                console.line(text)
    if not any(lines for _, lines in sections):
        console.line("No kubes changed.")


def _updated(name: str, old: str, new: str) -> str:
    new = new or "(invalid)"
    return f"{name} {old} → {new}" if old and old != new else f"{name} {new}"


def search_command(
    pattern: Annotated[str, typer.Argument(help="Text to look for (case-insensitive), or a regex with -r.")],
    regex: Annotated[
        bool, typer.Option("-r", "--regex", help="Treat PATTERN as a regular expression.")
    ] = False,
    output: OutputOption = Output.text,
) -> None:
    """Search kubes by name, description, keywords and details (name matches first)."""
    from kube.archive import update as archive
    from kube.cli import console
    from kube.core.errors import NotFoundError

    _ensure_archive()
    index = archive.read_index(on_wait=_waiting, on_rebuild=console.info)
    found = index.search(pattern, regex=regex)
    if output is Output.json:
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
    import os
    from pathlib import Path

    in_play = context or kubeconfig or os.environ.get("KUBECONFIG")
    if not in_play and not (Path.home() / ".kube" / "config").exists():
        return None
    from kube.core.errors import KubeError
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


def info_command(
    name: Annotated[str, typer.Argument(help="The kube's name.")],
    output: OutputOption = Output.text,
    namespace: Namespace = None,
    context: Context = None,
    kubeconfig: Kubeconfig = None,
) -> None:
    """Show a kube: description, version, website, files, maintainers, dependencies, where installed."""
    from dataclasses import replace

    from kube.archive import workspace
    from kube.cli import console

    _ensure_archive()
    info = workspace.formula_info(name)
    installed = installed_versions(name, context=context, kubeconfig=kubeconfig, namespace=namespace)
    info = replace(info, installed=installed)
    if output is Output.json:
        console.print_json(info.to_dict())
        return
    _print_info(info)


def _print_info(info: FormulaInfo) -> None:
    from kube.cli import console

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


def get_command(
    name: Annotated[str, typer.Argument(help="The kube to copy.")],
    dest: Annotated[
        Path | None, typer.Option("--dest", help="Copy here instead of $KUBE_HOME/workspace/NAME.")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite files that differ from the archive.")
    ] = False,
) -> None:
    """Copy a kube out of the archive for editing, and print where it is."""
    from kube.archive import workspace
    from kube.cli import console

    _ensure_archive()
    result = workspace.get_formula(name, dest, force=force)
    if result.overwritten:
        console.warn(
            f"overwrote {len(result.overwritten)} file(s) that differed: {', '.join(result.overwritten)}"
        )
    if not result.copied and not result.overwritten:
        console.info(f"{result.path} already matches the archive")
    console.line(str(result.path))
