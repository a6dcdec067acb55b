"""The kube command line: parse options, call one domain function, render the result.

This module and ``kube/commands/`` are the only places that print or exit.
``KubeGroup.invoke`` is the single error boundary: a ``KubeError`` prints one
line and exits with its documented code, Ctrl-C exits 130, and anything else
is a bug: a short line, the traceback written to a log file, exit 70.
Heavy libraries are imported inside commands so ``kube --help`` stays fast.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import click
import typer
from typer.core import TyperGroup

from kube import __version__
from kube.errors import ExitCode, FormulaError, KubeError


def _report_crash(exc: BaseException) -> str | None:
    import datetime
    import traceback

    from kube import paths

    try:
        directory = paths.log_dir()
        directory.mkdir(parents=True, exist_ok=True)
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        log = directory / f"crash-{stamp}.log"
        log.write_text("".join(traceback.format_exception(exc)), encoding="utf-8")
        return str(log)
    except OSError:
        return None


class KubeGroup(TyperGroup):
    def invoke(self, ctx: click.Context) -> Any:
        from kube import console

        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except FormulaError as exc:
            console.error(exc.message, exc.hint)
            for finding in exc.findings:
                detail = f"{finding.location} {finding.message}"
                if detail != exc.message:
                    console.line(f"  {detail}", stderr=True)
            ctx.exit(exc.exit_code)
        except KubeError as exc:
            console.error(exc.message, exc.hint)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            console.error("interrupted")
            ctx.exit(ExitCode.INTERRUPTED)
        except Exception as exc:  # the last line of defence: a bug, not a user error
            log = _report_crash(exc)
            where = f"; details in {log}" if log else ""
            console.error(
                f"internal error: {type(exc).__name__}: {exc}{where}", "please report this as a bug"
            )
            ctx.exit(ExitCode.INTERNAL)


app = typer.Typer(
    cls=KubeGroup,
    name="kube",
    help="Homebrew for Kubernetes: find, inspect, install and remove packaged apps (kubes).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain Click help: Rich-formatted help costs ~150 ms of imports on every `--help`.
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"kube {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Homebrew for Kubernetes."""


def _register() -> None:
    from kube.commands import archive, install, lint

    for module in (archive, install, lint):
        module.register(app)
    __import__("kube.commands.site", fromlist=["register"]).register(app)  # `kube site`


_register()


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
        raise KubeError(f"no such command `{command[0]}`", hint="run `kube help` for the list")
    with click.Context(sub, info_name=command[0], parent=root) as sub_ctx:
        typer.echo(sub.get_help(sub_ctx))


def main() -> None:
    sys.exit(app(prog_name="kube"))
