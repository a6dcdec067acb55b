"""Command: install (a formula into the cluster, with --with-deps its dependencies first).

The command's options; what it does is ``kube.cli.installing.run``."""

from __future__ import annotations

from typing import Annotated

import typer

from kube.cli import installing
from kube.cli.choices import HOOK_TIMEOUT, TIMEOUT
from kube.cli.options import (
    AllClusters,
    AllowNamespaces,
    ClusterNames,
    ClusterSelector,
    Context,
    FormulaArgument,
    HookTimeout,
    Kubeconfig,
    KubeVersion,
    Namespace,
    NoHooks,
    OutputFormat,
    Patches,
    Sandbox,
    SetStrings,
    SetValues,
    Timeout,
    ValuesFiles,
    Wait,
    command_app,
    output_option,
)

app = command_app()


@app.command("install")
def install_command(
    formula: FormulaArgument,
    namespace: Namespace = None,
    name: Annotated[
        str | None,
        typer.Option(
            "--name",
            metavar="RELEASE",
            help="The release's name (default: the formula's); another name installs a second copy.",
        ),
    ] = None,
    context: Context = None,
    kubeconfig: Kubeconfig = None,
    cluster: ClusterNames = None,
    all_clusters: AllClusters = False,
    cluster_selector: ClusterSelector = None,
    output: Annotated[
        OutputFormat | None,
        output_option(OutputFormat.json, OutputFormat.yaml, note=" (yaml with --dry-run)"),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Install even if dependencies are not satisfied, and create cluster-scoped objects "
            "without asking.",
        ),
    ] = False,
    allow_namespace: AllowNamespaces = None,
    with_deps: Annotated[
        bool, typer.Option("--with-deps", help="Install missing dependencies from the archive first.")
    ] = False,
    values: ValuesFiles = None,
    set_: SetValues = None,
    set_string: SetStrings = None,
    patch: Patches = None,
    kube_version: KubeVersion = None,
    no_hooks: NoHooks = False,
    hook_timeout: HookTimeout = HOOK_TIMEOUT,
    sandbox: Sandbox = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print what would be created; change nothing in the cluster.")
    ] = False,
    server_dry_run: Annotated[
        bool,
        typer.Option(
            "--server-dry-run",
            help="Send every object to the API server with --dry-run=server: admission and validation, "
            "nothing stored.",
        ),
    ] = False,
    wait: Wait = False,
    timeout: Timeout = TIMEOUT,
    atomic: Annotated[
        bool, typer.Option("--atomic", help="On failure, delete what this install created.")
    ] = False,
    show_secrets: Annotated[
        bool, typer.Option("--show-secrets", help="With --dry-run: print the values of Secrets too.")
    ] = False,
) -> None:
    """Install a formula into the cluster: dependencies, hook, templates, kubectl create, install record."""
    installing.run(
        formula,
        namespace=namespace,
        name=name,
        context=context,
        kubeconfig=kubeconfig,
        cluster=cluster,
        all_clusters=all_clusters,
        cluster_selector=cluster_selector,
        output=output,
        force=force,
        allow_namespace=allow_namespace,
        with_deps=with_deps,
        values=values,
        set_=set_,
        set_string=set_string,
        patch=patch,
        kube_version=kube_version,
        no_hooks=no_hooks,
        hook_timeout=hook_timeout,
        sandbox=sandbox,
        dry_run=dry_run,
        server_dry_run=server_dry_run,
        wait=wait,
        timeout=timeout,
        atomic=atomic,
        show_secrets=show_secrets,
    )
