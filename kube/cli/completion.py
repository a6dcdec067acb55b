"""Command: completion (shell completion scripts), and the completers the commands use.

Completion is Click's own: the shell calls ``kube`` again with ``_KUBE_COMPLETE`` set and the
words typed so far, and Click answers from the command tree. Nothing of it runs on a normal
command: the root group loads only the command being completed, as it does when it runs.

What completes: command names and options (from Click), formula names (from the archive's
index; no network), release names and namespaces (from the cluster, with a short timeout so a
dead cluster never blocks the prompt), and registered cluster names: see ``completers``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import click
import typer

from kube.cli import console
from kube.cli.options import command_app
from kube.core.errors import ExitCode, KubeError, UsageError

app = command_app()

SHELLS = ("bash", "zsh", "fish")
_COMPLETE_VAR = "_KUBE_COMPLETE"


def script(shell: str, root: click.Command) -> str:
    """The completion script for ``shell``, as Click writes it for the ``kube`` program ``root``."""
    from click.shell_completion import get_completion_class

    cls = get_completion_class(shell)
    if cls is None:
        raise UsageError(f"unknown shell {shell!r}", hint=f"choose one of {', '.join(SHELLS)}")
    return cls(root, {}, "kube", _COMPLETE_VAR).source()


def install_path(shell: str) -> Path:
    """Where ``--install`` writes the script: the places each shell reads completions from
    without editing a start-up file (bash-completion's user directory, fish's), and for zsh a
    directory the user adds to ``fpath`` once."""
    home = Path.home()
    data = Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share")
    config = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
    if shell == "bash":
        return data / "bash-completion" / "completions" / "kube"
    if shell == "zsh":
        return data / "zsh" / "site-functions" / "_kube"
    return config / "fish" / "completions" / "kube.fish"


def install(shell: str, root: click.Command) -> Path:
    path = install_path(shell)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(script(shell, root), encoding="utf-8")
    temporary.replace(path)
    return path


def detect_shell() -> str:
    shell = Path(os.environ.get("SHELL", "")).name
    if shell not in SHELLS:
        raise UsageError(
            "cannot tell which shell this is from $SHELL", hint="run kube completion bash|zsh|fish"
        )
    return shell


@app.command("completion")
def completion_command(
    shell: Annotated[
        str,
        typer.Argument(metavar="SHELL", help="bash, zsh or fish.", autocompletion=lambda: list(SHELLS)),
    ],
    install_it: Annotated[
        bool,
        typer.Option("--install", help="Write the script where the shell finds it, instead of printing it."),
    ] = False,
) -> None:
    """Print the shell completion script for bash, zsh or fish (or install it with --install).

    bash: `source <(kube completion bash)` in ~/.bashrc, or `kube completion bash --install`
    (needs the bash-completion package). zsh: `kube completion zsh --install`, then add
    ~/.local/share/zsh/site-functions to fpath before compinit. fish: `kube completion fish --install`.
    """
    if shell not in SHELLS:
        raise UsageError(f"unknown shell {shell!r}", hint=f"choose one of {', '.join(SHELLS)}")
    root = click.get_current_context().find_root().command
    if not install_it:
        console.line(script(shell, root).rstrip("\n"))
        return
    path = install(shell, root)
    console.info(f"{shell} completion written to {path}")
    if shell == "zsh":
        console.line(f"add to ~/.zshrc, before compinit: fpath=({path.parent} $fpath)")
    else:
        console.line("start a new shell to use it")


def install_root_option(ctx: click.Context, _: click.Parameter, value: bool) -> None:
    """``kube --install-completion``: the same as ``kube completion <$SHELL> --install``."""
    if not value or ctx.resilient_parsing:
        return
    try:
        path = install(detect_shell(), ctx.find_root().command)
    except (KubeError, OSError) as exc:  # before the group's error boundary: report it here
        console.error(str(exc), getattr(exc, "hint", None))
        ctx.exit(ExitCode.USAGE if isinstance(exc, KubeError) else ExitCode.ERROR)
    click.echo(f"completion installed in {path}")
    ctx.exit()
