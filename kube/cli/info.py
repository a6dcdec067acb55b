"""Command: info (one kube of the archive, and where the cluster has it; kept light).

Like ``kube search``, ``kube info`` imports no git library, no ruamel.yaml and no
Jinja2, and reads only the local index; the cluster is asked (and its client imported)
only with ``--installed`` or an option that names a cluster or namespace. The
work is ``kube.cli.readonly.info``, which the console entry point also runs
directly for the plain forms.

Exit codes: 0 ok; 2 bad option; 3 no such kube; 4 ``--values`` of a kube whose
formula is invalid; 5 the archive is missing and cloning it failed.
"""

from __future__ import annotations

from typing import Annotated

import typer

from kube.cli import completers, readonly
from kube.cli.options import Context, Kubeconfig, Namespace, Output, OutputFormat, choose, command_app

app = command_app()
installed_versions = readonly.installed_versions


@app.command("info")
def info_command(
    name: Annotated[str, typer.Argument(help="The kube's name.", autocompletion=completers.formulas)],
    output: Output = None,
    namespace: Namespace = None,
    context: Context = None,
    kubeconfig: Kubeconfig = None,
    values: Annotated[
        bool,
        typer.Option(
            "--values", help="Show the values you can set, with the comments beside them in K3.yaml."
        ),
    ] = False,
    installed: Annotated[
        bool,
        typer.Option(
            "--installed",
            help="Also ask the cluster where the kube is installed and how its dependencies stand"
            " (naming a namespace, context or kubeconfig implies it).",
        ),
    ] = False,
) -> None:
    """Show a kube: description, version, website, files, maintainers, dependencies, where installed."""
    fmt = choose(output, OutputFormat.json)
    readonly.info(
        name,
        as_json=fmt is OutputFormat.json,
        namespace=namespace,
        context=context,
        kubeconfig=kubeconfig,
        values=values,
        # Naming a cluster or namespace is asking about the cluster; plain `kube info` is not.
        installed=installed or bool(namespace or context or kubeconfig),
    )
