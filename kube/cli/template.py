"""Command: template (a formula rendered as kube install would send it, with no cluster).

The command's options; what it does is ``kube.cli.installing.template``. Exit status as
``kube install --dry-run``'s: 0 rendered, 2 a bad option or value, 3 no such formula, 4 the
formula does not load or render, 5 its hook failed."""

from __future__ import annotations

from typing import Annotated

import typer

from kube.cli import installing
from kube.cli.choices import HOOK_TIMEOUT
from kube.cli.options import (
    AllowNamespaces,
    FormulaArgument,
    HookTimeout,
    NoHooks,
    OutputFormat,
    Patches,
    Sandbox,
    SetStrings,
    SetValues,
    ValuesFiles,
    command_app,
    named_namespace,
)

app = command_app()


@app.command("template")
def template_command(
    formula: FormulaArgument,
    namespace: Annotated[
        str | None,
        typer.Option(
            "-n",
            "--namespace",
            metavar="NS",
            help="The install namespace (default: default).",
            callback=named_namespace,
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option("--name", metavar="RELEASE", help="The release's name (default: the formula's)."),
    ] = None,
    output: Annotated[
        OutputFormat | None,
        typer.Option(
            "-o", "--output", metavar="FORMAT", case_sensitive=False, help="yaml (the default) or json."
        ),
    ] = None,
    allow_namespace: AllowNamespaces = None,
    values: ValuesFiles = None,
    set_: SetValues = None,
    set_string: SetStrings = None,
    patch: Patches = None,
    kube_version: Annotated[
        str | None,
        typer.Option(
            "--kube-version",
            metavar="X.Y",
            help="The Kubernetes version templates see as kube.capabilities (default: kube's default).",
        ),
    ] = None,
    no_hooks: NoHooks = False,
    hook_timeout: HookTimeout = HOOK_TIMEOUT,
    sandbox: Sandbox = False,
    show_secrets: Annotated[
        bool, typer.Option("--show-secrets", help="Print the values of Secrets too.")
    ] = False,
) -> None:
    """Render a formula as kube install would send it, with no cluster: no kubectl, no kubeconfig."""
    installing.template(
        formula,
        namespace=namespace,
        name=name,
        output=output,
        allow_namespace=allow_namespace,
        values=values,
        set_=set_,
        set_string=set_string,
        patch=patch,
        kube_version=kube_version,
        no_hooks=no_hooks,
        hook_timeout=hook_timeout,
        sandbox=sandbox,
        show_secrets=show_secrets,
    )
