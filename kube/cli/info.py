"""Command: info (one kube of the archive, and where the cluster has it; kept light).

Like ``kube search``, ``kube info`` imports no git library, no ruamel.yaml and no
Jinja2; the cluster client is imported only when a kubeconfig is in play. The
work is ``kube.cli.readonly.info``, which the console entry point also runs
directly for the plain forms.

Exit codes: 0 ok; 2 bad option; 3 no such kube; 4 ``--values`` of a kube whose
K3.yaml is invalid; 5 the archive is missing and cloning it failed.
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
    )
