"""What shared options mean, without Typer (``kube.cli.options`` declares them): the one ``-o``
vocabulary and ``--kube-version``. The start-up fast path (``kube.cli.entry``) reads them too."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from kube.core.errors import UsageError

#: The default of ``--timeout`` (how long ``--wait`` waits) on install, upgrade and uninstall.
TIMEOUT = "5m"
#: The default of --hook-timeout (install, upgrade, template).
HOOK_TIMEOUT = "300s"


class OutputFormat(StrEnum):
    table = "table"
    text = "text"
    json = "json"
    yaml = "yaml"
    github = "github"


#: The two names of the output for people.
HUMAN = (OutputFormat.table, OutputFormat.text)


def choose(
    value: OutputFormat | None, *machine: OutputFormat, default: OutputFormat = OutputFormat.table
) -> OutputFormat:
    """The format to print: ``table`` for either human name, else one of ``machine``."""
    chosen = value or default
    if chosen in HUMAN:
        return OutputFormat.table
    if chosen in machine:
        return chosen
    allowed = ", ".join(["table", "text", *machine])
    raise UsageError(f"-o {chosen}: choose one of {allowed}")


def capabilities_option(kube_version: str | None, *, dry_run: bool) -> Any:
    """The ``kube.capabilities`` ``--kube-version`` names (None: ask the cluster); only a dry run
    may pretend the cluster is another version."""
    if kube_version is None:
        return None
    if not dry_run:
        raise UsageError(
            "--kube-version is for dry runs: a real install renders for the cluster it installs into",
            hint="add --dry-run, or drop --kube-version",
        )
    from kube.k8s import capabilities

    return capabilities.offline(kube_version)
