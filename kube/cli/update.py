"""Commands: update and get (the archive of kubes: fetch it, copy a kube out of it).

Exit codes: 0 ok; 2 bad option, rejected repository URL or branch; 3 no such kube
(get); 4 the formula is invalid (get); 5 git failed, the server timed out, local
changes would be lost, or the upstream history was rewritten.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kube.archive import workspace
from kube.cli import completers, console
from kube.cli.archive import ensure_archive
from kube.cli.options import Output, OutputFormat, choose, command_app
from kube.cli.updating import run_update

app = command_app()


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
    run_update(repo, branch, reset=reset, as_json=fmt is OutputFormat.json)


@app.command("get")
def get_command(
    name: Annotated[str, typer.Argument(help="The kube to copy.", autocompletion=completers.formulas)],
    dest: Annotated[
        Path | None, typer.Option("--dest", help="Copy here instead of $KUBE_HOME/workspace/NAME.")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite files that differ from the archive.")
    ] = False,
    output: Output = None,
) -> None:
    """Copy a kube out of the archive for editing, and print where it is."""
    fmt = choose(output, OutputFormat.json)
    ensure_archive()
    result = workspace.get_formula(name, dest, force=force)
    if fmt is OutputFormat.json:
        console.print_json(
            {
                "name": name,
                "path": str(result.path),
                "copied": list(result.copied),
                "overwritten": list(result.overwritten),
                "unchanged": list(result.unchanged),
            }
        )
        return
    if result.overwritten:
        console.warn(
            f"overwrote {len(result.overwritten)} file(s) that differed: {', '.join(result.overwritten)}"
        )
    if not result.copied and not result.overwritten:
        console.info(f"{result.path} already matches the archive")
    console.line(str(result.path))
