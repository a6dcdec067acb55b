"""Command: search (the archive's index; kept light).

``kube search`` is run more than any other command, so this module imports only
the index reader: no git library, no ruamel.yaml, no Jinja2, no workspace code
(tests/test_cli.py holds it to that).

Exit codes: 0 ok; 2 bad option or bad regex; 3 no kube matched; 5 the archive is
missing and cloning it failed.
"""

from __future__ import annotations

from typing import Annotated

import typer

from kube.archive import update as archive
from kube.archive.index import Entry
from kube.cli import console
from kube.cli.archive import ensure_archive, waiting
from kube.cli.options import Output, OutputFormat, choose, command_app
from kube.core.errors import NotFoundError

app = command_app()


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
