"""Command: search (the archive's index; kept light).

``kube search`` is run more than any other command, so this module imports only
the index reader: no git library, no ruamel.yaml, no Jinja2, no workspace code
(tests/test_cli.py holds it to that). The work is ``kube.cli.readonly.search``,
which the console entry point also runs directly for the plain forms.

Exit codes: 0 ok; 2 bad option or bad regex; 3 no kube matched; 5 the archive is
missing and cloning it failed.
"""

from __future__ import annotations

from typing import Annotated

import typer

from kube.cli import readonly
from kube.cli.options import Output, OutputFormat, choose, command_app

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
    readonly.search(pattern, regex=regex, as_json=fmt is OutputFormat.json)
