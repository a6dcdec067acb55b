"""The table of kube's commands, and the few helpers both entry paths share (no Click, no Typer).

``kube.cli.app`` builds the Click group from ``COMMANDS``; ``kube.cli.entry``
prints ``kube --help`` from it without Click.
"""

from __future__ import annotations

import os
import sys
from typing import NamedTuple

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
    "template": Command(
        "kube.cli.template",
        "Render a formula as kube install would send it, with no cluster: no kubectl, no kubeconfig.",
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
    "cluster": Command(
        "kube.cli.cluster",
        "Register clusters by name, check them, create and delete them through provisioners, back them up.",
    ),
    "import": Command(
        "kube.cli.importer",
        "Turn plain upstream manifests into a formula: one object per file, images as values, linted.",
    ),
    "index": Command(
        "kube.cli.index", "Publish the archive's search index on a branch, for a fast first `kube update`."
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


def report(exc: BaseException) -> int:
    """What the error boundary prints for ``exc`` (on stderr), and the exit code kube ends with:
    a ``KubeError`` is one line and its documented code (a ``FormulaError`` adds a line per
    finding), Ctrl-C and SIGTERM/SIGHUP (``signals.Terminated``) 130, anything else is a bug:
    a short line, the traceback written to a log file, 70. The full CLI (``kube.cli.app``) and
    the fast path (``kube.cli.entry``) both end here, so they never word an error differently."""
    from kube.cli import console
    from kube.core.errors import ExitCode, FormulaError, KubeError

    if isinstance(exc, KubeError):
        console.error(exc.message, exc.hint)
        for finding in exc.findings if isinstance(exc, FormulaError) else ():
            detail = str(finding)
            if detail != exc.message:
                console.line(f"  {detail}", stderr=True)
        return exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        console.error(str(exc) or "interrupted")
        return ExitCode.INTERRUPTED
    log = _report_crash(exc)
    where = f"; details in {log}" if log else ""
    console.error(f"internal error: {type(exc).__name__}: {exc}{where}", "please report this as a bug")
    return ExitCode.INTERNAL


def _silence_stdout() -> None:
    """Point stdout at /dev/null: the reader is gone, and the interpreter's final
    flush of what is still buffered must not fail (and print) again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real file descriptor (a test runner's buffer)
        pass
