"""The kube command line: parse options, call one domain function, render the result.

This module and ``kube/commands/`` are the only places that print or exit.
``KubeGroup.invoke`` is the single error boundary: a ``KubeError`` prints one
line and exits with its documented code, Ctrl-C exits 130, a reader that
closed stdout early (``kube search x | head -1``) ends kube quietly with 141,
and anything else is a bug: a short line, the traceback written to a log
file, exit 70.
Heavy libraries are imported inside commands so ``kube --help`` stays fast.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import click
import typer
from typer.core import TyperGroup

from kube import __version__
from kube.core.errors import ExitCode, FormulaError, KubeError, UsageError

#: 128 + SIGPIPE: what the shell reports for coreutils and git when the reader of
#: their output goes away (`yes | head -1`; `git log | head -1`).
EXIT_BROKEN_PIPE = 141


def _report_crash(exc: BaseException) -> str | None:
    import datetime
    import traceback

    from kube.core import paths

    try:
        directory = paths.log_dir()
        directory.mkdir(parents=True, exist_ok=True)
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        log = directory / f"crash-{stamp}.log"
        log.write_text("".join(traceback.format_exception(exc)), encoding="utf-8")
        return str(log)
    except OSError:
        return None


def _silence_stdout() -> None:
    """Point stdout at /dev/null: the reader is gone, and the interpreter's final
    flush of what is still buffered must not fail (and print) again."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real file descriptor (a test runner's buffer)
        pass


class KubeGroup(TyperGroup):
    def invoke(self, ctx: click.Context) -> Any:
        from kube.cli import console

        try:
            result = super().invoke(ctx)
            # Piped output is block-buffered: flush inside the boundary, so a reader
            # that has already gone is noticed here and not at interpreter exit.
            sys.stdout.flush()
            return result
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except BrokenPipeError:
            # The reader of stdout went away (`| head -1`): not an error of kube's,
            # and nobody is left to read a message. Exit like coreutils and git do.
            _silence_stdout()
            ctx.exit(EXIT_BROKEN_PIPE)
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
    # Click already says "Did you mean 'update'?"; Typer's own suggestion repeated it.
    suggest_commands=False,
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
    from kube.cli import archive, install, lint

    for module in (archive, install, lint):
        module.register(app)
    __import__("kube.cli.status", fromlist=["register"]).register(app)


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
        raise UsageError(f"no such command `{command[0]}`", hint="run `kube help` for the list")
    with click.Context(sub, info_name=command[0], parent=root) as sub_ctx:
        typer.echo(sub.get_help(sub_ctx))


def main() -> None:
    from kube.core import signals

    # SIGTERM and SIGHUP unwind like Ctrl-C, so that clean-ups run; kube then exits 128 + signal.
    signals.install()
    try:
        sys.exit(app(prog_name="kube"))
    finally:
        if signals.received() is not None:
            sys.exit(signals.exit_code(ExitCode.INTERRUPTED))
