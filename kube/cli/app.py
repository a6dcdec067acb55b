"""The kube command line: a table of commands, the one error boundary, help and version.

``COMMANDS`` names every command, the module that defines it and the line
``kube --help`` shows for it. ``KubeGroup`` lists commands from that table
without importing anything, and imports a command's module only when that
command runs or its help is asked for: ``kube --help`` loads Click and this
module, not Typer, Rich or any domain module. Each command module defines its
own small ``typer.Typer()`` (``options.command_app``), which the group converts
with ``typer.main.get_group``. Adding a command is one row in ``COMMANDS`` plus
its module.

This module and the command modules are the only places that print or exit.
``KubeGroup.invoke`` is the single error boundary: a ``KubeError`` prints one
line and exits with its documented code, Ctrl-C exits 130, a reader that
closed stdout early (``kube search x | head -1``) ends kube quietly with 141,
and anything else is a bug: a short line, the traceback written to a log
file, exit 70.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any, NamedTuple

import click

from kube import __version__
from kube.core import signals
from kube.core.errors import ExitCode, FormulaError, KubeError

if TYPE_CHECKING:
    import typer

#: 128 + SIGPIPE: what the shell reports for coreutils and git when the reader of
#: their output goes away (`yes | head -1`; `git log | head -1`).
EXIT_BROKEN_PIPE = 141

HELP = "Homebrew for Kubernetes: find, inspect, install and remove packaged apps (kubes)."


class Command(NamedTuple):
    """One row of the command table: where the command lives, and its line in ``kube --help``."""

    module: str
    help: str


#: Every command, in the order ``kube --help`` lists them. ``help`` must be the first
#: line of the command's docstring (tests/test_cli.py compares them).
COMMANDS: dict[str, Command] = {
    "update": Command(
        "kube.cli.update",
        "Clone the archive of kubes, or fetch and fast-forward it, and report what changed.",
    ),
    "search": Command(
        "kube.cli.search", "Search kubes by name, description, keywords and details (name matches first)."
    ),
    "info": Command(
        "kube.cli.info",
        "Show a kube: description, version, website, files, maintainers, dependencies, where installed.",
    ),
    "get": Command("kube.cli.update", "Copy a kube out of the archive for editing, and print where it is."),
    "install": Command(
        "kube.cli.install",
        "Install a formula into the cluster: dependencies, hook, templates, kubectl create, install record.",
    ),
    "list": Command(
        "kube.cli.uninstall", "List the releases kube installed in the cluster (the latest revision of each)."
    ),
    "uninstall": Command(
        "kube.cli.uninstall",
        "Delete exactly what a release's records list, newest first, then every revision record.",
    ),
    "upgrade": Command(
        "kube.cli.upgrade",
        "Upgrade a release: render the new version with its values, apply server-side, prune what left it.",
    ),
    "rollback": Command(
        "kube.cli.upgrade",
        "Roll a release back: apply a stored revision's manifest again as a new revision, prune the rest.",
    ),
    "history": Command("kube.cli.history", "List the revisions of a release, oldest first."),
    "status": Command(
        "kube.cli.status",
        "Read every object of a release from the cluster now and give its kstatus, with the reason.",
    ),
    "diff": Command(
        "kube.cli.diff",
        "Show what kube upgrade would change, object by object, as unified diffs (exit 1 if anything).",
    ),
    "lint": Command(
        "kube.cli.lint",
        "Check formulas offline: K3.yaml, manifests against the Kubernetes schema, templates, hooks, files.",
    ),
    "test": Command(
        "kube.cli.livetest",
        "Install a formula into a fresh namespace, wait until ready, run its tests/, uninstall, clean up.",
    ),
    "import": Command(
        "kube.cli.importer",
        "Turn plain upstream manifests into a formula: one object per file, images as values, linted.",
    ),
    "site": Command("kube.cli.site", "Build the static web catalogue of the archive, or preview it."),
    "completion": Command(
        "kube.cli.completion",
        "Print the shell completion script for bash, zsh or fish (or install it with --install).",
    ),
    "help": Command("kube.cli.help", "Show help for kube or for one command."),
}


def _report_crash(exc: BaseException) -> str | None:
    import datetime  # a crash only: kept off every command's path
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
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real file descriptor (a test runner's buffer)
        pass


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
        # Here, not at the top: `kube --help` ends before invoke and needs neither json nor pathlib.
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
        except KeyboardInterrupt as exc:
            # SIGTERM and SIGHUP arrive as signals.Terminated, which names the signal.
            console.error(str(exc) or "interrupted")
            ctx.exit(ExitCode.INTERRUPTED)
        except Exception as exc:  # the last line of defence: a bug, not a user error
            log = _report_crash(exc)
            where = f"; details in {log}" if log else ""
            console.error(
                f"internal error: {type(exc).__name__}: {exc}{where}", "please report this as a bug"
            )
            ctx.exit(ExitCode.INTERNAL)


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
