"""The kube command line: a table of commands, the one error boundary, help and version.

``COMMANDS`` (``kube.cli.commands``) names every command, the module that
defines it and the line ``kube --help`` shows for it. ``KubeGroup`` lists
commands from that table without importing anything, and imports a command's
module only when that command runs or its help is asked for. Each command
module defines its own small ``typer.Typer()`` (``options.command_app``),
which the group converts with ``typer.main.get_group``. Adding a command is
one row in ``COMMANDS`` plus its module. The console entry point
(``kube.cli.entry``) answers ``--help`` and the plain forms of ``search`` and
``info`` itself, without Click, and hands everything else to ``main`` here.

This module, ``kube.cli.entry`` and the command modules are the only places
that print or exit.
``KubeGroup.invoke`` is the single error boundary: a ``KubeError`` prints one
line and exits with its documented code, Ctrl-C exits 130, a reader that
closed stdout early (``kube search x | head -1``) ends kube quietly with 141,
and anything else is a bug: a short line, the traceback written to a log
file, exit 70.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from kube import __version__
from kube.cli.commands import COMMANDS as COMMANDS
from kube.cli.commands import EXIT_BROKEN_PIPE as EXIT_BROKEN_PIPE
from kube.cli.commands import HELP as HELP
from kube.cli.commands import Command as Command
from kube.cli.commands import _silence_stdout, report
from kube.core import signals
from kube.core.errors import ExitCode, OutputError

if TYPE_CHECKING:
    import typer

#: Where ``KubeGroup`` keeps the arguments kube was given, in ``click.Context.meta``.
ARGS_KEY = "kube.args"


class KubeGroup(click.Group):
    """kube's root: commands from ``COMMANDS``, loaded on first use; the error boundary."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self._loaded: dict[str, click.Group] = {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        group = self._loaded.get(entry.module)
        if group is None:
            import typer.main

            # __import__, not importlib.import_module: only the former takes the interpreter's
            # own import path, which `python -X importtime` reports.
            __import__(entry.module)
            module = sys.modules[entry.module]
            group = self._loaded[entry.module] = typer.main.get_group(module.app)
        return group.commands.get(cmd_name)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # The command line as given: a command run on many clusters (kube.cli.fanout) runs it again
        # once per cluster, in a child process.
        ctx.meta[ARGS_KEY] = list(args)
        return super().parse_args(ctx, args)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except click.exceptions.NoSuchCommand as exc:
            # Click suggests from the commands already loaded (none): suggest from the table.
            raise click.exceptions.NoSuchCommand(exc.command_name, possibilities=COMMANDS, ctx=ctx) from None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The table's lines, shortened the way Click shortens a command's own help."""
        limit = formatter.width - 6 - max(len(name) for name in COMMANDS)
        # A bare Command shortens the line exactly as the real one would, without loading it.
        rows = [
            (name, click.Command(name, help=entry.help).get_short_help_str(limit))
            for name, entry in COMMANDS.items()
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
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
        except (Exception, KeyboardInterrupt) as exc:
            # A KubeError is the user's; Ctrl-C, SIGTERM and SIGHUP (signals.Terminated) end kube;
            # anything else is a bug: the last line of defence.
            if isinstance(exc, OutputError):
                _silence_stdout()  # what is still buffered would fail again at the last flush
            ctx.exit(report(exc))
        finally:
            # kubectl calls started early for this command and not taken end with it, not at exit:
            # a later command in the same process (tests, a caller of the CLI) must not take them.
            if (kubectl_module := sys.modules.get("kube.k8s.kubectl")) is not None:
                kubectl_module.stop_early()


def _print_version(ctx: click.Context, _: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(f"kube {__version__}")
        ctx.exit()


def _install_completion(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        from kube.cli.completion import install_root_option

        install_root_option(ctx, param, value)


def kube_group() -> KubeGroup:
    """The root command ``kube`` runs (and tests invoke, through ``app``)."""
    version = click.Option(
        ["--version"],
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=_print_version,
        help="Print the version and exit.",
    )
    install_completion = click.Option(
        ["--install-completion"],
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=_install_completion,
        # Hidden: `kube --help` is printed by the entry point's fast path too, and lists only
        # --version and --help; `kube completion --help` and the README document this one.
        hidden=True,
        help="Install completion for the current shell ($SHELL) and exit.",
    )
    return KubeGroup(
        name="kube",
        help=HELP,
        params=[version, install_completion],
        no_args_is_help=True,
        context_settings={"help_option_names": ["-h", "--help"]},
    )


def _typer_app() -> typer.Typer:
    """``kube_group()`` wrapped as a Typer app, for ``typer.testing.CliRunner`` (which takes
    only Typer apps): its single command's class is a factory that returns the real root."""
    import typer

    def root(**_: Any) -> click.Command:
        return kube_group()

    wrapper = typer.Typer(add_completion=False)
    wrapper.command(cls=root)(lambda: None)  # type: ignore[arg-type]
    return wrapper


def __getattr__(name: str) -> typer.Typer:
    # Built on first access only: `kube` itself runs kube_group() and never imports Typer for --help.
    if name == "app":
        app = _typer_app()
        globals()["app"] = app
        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    # SIGTERM and SIGHUP unwind like Ctrl-C, so that clean-ups run; kube then exits 128 + signal.
    signals.install()
    try:
        sys.exit(kube_group()(prog_name="kube"))
    finally:
        if signals.received() is not None:
            sys.exit(signals.exit_code(ExitCode.INTERRUPTED))
