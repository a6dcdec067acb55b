"""Commands: update and get (the archive of kubes: fetch it, copy a kube out of it).

Exit codes: 0 ok; 2 bad option, rejected repository URL or branch; 3 no such kube
(get); 4 the formula is invalid (get); 5 git failed, the server timed out, local
changes would be lost, or the upstream history was rewritten.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kube.archive import update as archive
from kube.archive import workspace
from kube.archive.changes import UpdateReport
from kube.cli import completers, console
from kube.cli.archive import ensure_archive, waiting
from kube.cli.options import Output, OutputFormat, choose, command_app

app = command_app()


def _cloning(url: str) -> None:
    console.info(f"Cloning the kube archive from {url}")


@app.command("update")
def update_command(
    repo: Annotated[str | None, typer.Option("--repo", help="Archive repository URL (remembered).")] = None,
    branch: Annotated[str | None, typer.Option("--branch", help="Branch to follow (remembered).")] = None,
    reset: Annotated[
        bool,
        typer.Option("--reset", help="Discard local changes in the archive and accept rewritten history."),
    ] = False,
    output: Output = None,
) -> None:
    """Clone the archive of kubes, or fetch and fast-forward it, and report what changed."""
    fmt = choose(output, OutputFormat.json)
    report = archive.update(repo, branch, reset=reset, on_clone=_cloning, on_wait=waiting)
    if fmt is OutputFormat.json:
        console.print_json(report.to_dict())
        return
    _print_update(report)


def _print_update(report: UpdateReport) -> None:
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


@app.command("get")
def get_command(
    name: Annotated[str, typer.Argument(help="The kube to copy.", autocompletion=completers.formulas)],
    dest: Annotated[
        Path | None, typer.Option("--dest", help="Copy here instead of $KUBE_HOME/workspace/NAME.")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite files that differ from the archive.")
    ] = False,
) -> None:
    """Copy a kube out of the archive for editing, and print where it is."""
    ensure_archive()
    result = workspace.get_formula(name, dest, force=force)
    if result.overwritten:
        console.warn(
            f"overwrote {len(result.overwritten)} file(s) that differed: {', '.join(result.overwritten)}"
        )
    if not result.copied and not result.overwritten:
        console.info(f"{result.path} already matches the archive")
    console.line(str(result.path))
