"""Command: help (the root's help, or one command's)."""

from __future__ import annotations

from typing import Annotated

import click
import typer

from kube.cli.options import command_app
from kube.core.errors import UsageError

app = command_app()


@app.command("help")
def help_command(
    ctx: typer.Context,
    command: Annotated[list[str] | None, typer.Argument(help="The command to explain.")] = None,
) -> None:
    """Show help for kube or for one command."""
    root = ctx.find_root()
    group = root.command
    if not command:
        typer.echo(group.get_help(root))
        return
    sub = group.get_command(root, command[0]) if isinstance(group, click.Group) else None
    if sub is None:
        raise UsageError(f"no such command `{command[0]}`", hint="run `kube help` for the list")
    with click.Context(sub, info_name=command[0], parent=root) as sub_ctx:
        typer.echo(sub.get_help(sub_ctx))
