"""Options that mean the same thing in every command, defined once; the one ``-o`` vocabulary.

``-o`` takes ``table``, ``text``, ``json``, ``yaml`` and ``github``. ``table`` and
``text`` both ask for the output meant for people (a table where the command
prints one, lines where it does not), so every command takes both; ``json`` is
accepted everywhere; ``yaml`` (``install --dry-run``) and ``github`` (``lint``)
only where they make sense, and a name the command cannot honour is one usage
line (exit 2) that lists those it can.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from kube.cli import completers

# Defined where the start-up fast path (kube.cli.entry) can import them without Typer.
from kube.cli.choices import HUMAN as HUMAN
from kube.cli.choices import OutputFormat as OutputFormat
from kube.cli.choices import capabilities_option as capabilities_option
from kube.cli.choices import choose as choose


def command_app() -> typer.Typer:
    """The small Typer app a command module defines its commands on (see ``kube.cli.app``)."""
    # Plain Click help: Rich-formatted help costs ~150 ms of imports on every `--help`.
    return typer.Typer(add_completion=False, rich_markup_mode=None, pretty_exceptions_enable=False)


def output_option(*machine: OutputFormat, note: str = "") -> Any:
    """``-o/--output``, its help naming what this command takes: table or text, then ``machine``."""
    names = ", ".join(["table", "text", *machine[:-1]]) + (f" or {machine[-1]}" if machine else "")
    return typer.Option(
        "-o", "--output", metavar="FORMAT", case_sensitive=False, help=f"{names}{note}.", show_default=False
    )


def namespace_option(help: str) -> Any:
    """``-n/--namespace``, with what it means for this command (its default) in ``help``."""
    return typer.Option(
        "-n",
        "--namespace",
        metavar="NS",
        help=help,
        autocompletion=completers.namespaces,
        callback=named_namespace,
    )


def named_namespace(value: str | None) -> str | None:
    """``-n ""`` is refused rather than read as "no -n": kubectl takes it for the context's
    namespace, so a script's unset ``-n "$NS"`` would silently act on another namespace."""
    if value is not None and not value.strip():
        raise typer.BadParameter("empty namespace: name one, or leave -n out for the context's namespace")
    return value


# Where a command runs (kube.cli.fanout): one registered cluster, several, or all of them.
ClusterNames = Annotated[
    list[str] | None,
    typer.Option(
        "--cluster",
        metavar="NAME",
        help="A registered cluster (repeatable: runs on each), in place of a kubeconfig and context.",
        autocompletion=completers.clusters,
    ),
]
AllClusters = Annotated[bool, typer.Option("--all-clusters", help="Run on every registered cluster.")]
ClusterSelector = Annotated[
    str | None,
    typer.Option(
        "--cluster-selector", metavar="K=V[,K=V]", help="Run on the registered clusters with these labels."
    ),
]

Output = Annotated[OutputFormat | None, output_option(OutputFormat.json)]
Namespace = Annotated[
    str | None, namespace_option("Namespace (default: the kubeconfig context's, or default).")
]
Context = Annotated[
    str | None, typer.Option("--context", metavar="NAME", help="The kubeconfig context to use.")
]
Kubeconfig = Annotated[
    str | None, typer.Option("--kubeconfig", metavar="FILE", help="The kubeconfig file to use.")
]
Timeout = Annotated[
    str, typer.Option("--timeout", metavar="DURATION", help="How long --wait waits, e.g. 90s, 5m.")
]
Wait = Annotated[bool, typer.Option("--wait", help="Wait until every object is ready (or deleted).")]

# The values of a render, the same on install, upgrade and diff.
ValuesFiles = Annotated[
    list[Path] | None,
    typer.Option("-f", "--values", metavar="FILE", help="A YAML file of values (repeatable; later wins)."),
]
SetValues = Annotated[
    list[str] | None,
    typer.Option("--set", metavar="KEY=VALUE", help="Set a value: a.b=c, typed like YAML."),
]
SetStrings = Annotated[
    list[str] | None,
    typer.Option("--set-string", metavar="KEY=VALUE", help="Set a value, always as a string."),
]
# Patches to the rendered objects, the same on install, upgrade and diff (kube.formula.patches).
Patches = Annotated[
    list[Path] | None,
    typer.Option(
        "--patch",
        metavar="FILE",
        help="A patch file (YAML or JSON: RFC 6902 or RFC 7386 patches by target) applied to the "
        "rendered objects (repeatable; recorded, so upgrade and rollback keep it).",
    ),
]
ResetPatches = Annotated[
    bool, typer.Option("--reset-patches", help="Drop the patches the release recorded; keep only --patch.")
]
#: What templates see as kube.capabilities, offline: lint, and dry runs.
KubeVersion = Annotated[
    str | None,
    typer.Option(
        "--kube-version",
        metavar="X.Y",
        help="With --dry-run: the Kubernetes version templates see as kube.capabilities, instead of "
        "asking the cluster.",
    ),
]
# The hook's options and the namespaces besides -n, the same on install, upgrade and template.
AllowNamespaces = Annotated[
    list[str] | None,
    typer.Option(
        "--allow-namespace",
        metavar="NS",
        help="Let the formula create objects in NS too, besides -n (repeatable).",
    ),
]
HookTimeout = Annotated[
    str, typer.Option("--hook-timeout", metavar="DURATION", help="Time limit of the hook.")
]
Sandbox = Annotated[
    bool, typer.Option("--sandbox", help="Run the hook without network and with a throw-away HOME.")
]
#: The formula of install and template: a name in the archive, or a folder.
FormulaArgument = Annotated[
    str,
    typer.Argument(
        metavar="FORMULA",
        help="A formula name, or a path to a formula directory.",
        autocompletion=completers.formulas,
    ),
]
NoHooks = Annotated[bool, typer.Option("--no-hooks", help="Do not run scripts/pre-install.py.")]
