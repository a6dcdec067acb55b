"""Command: diff (what ``kube upgrade`` would do to a release, as unified diffs)."""

from __future__ import annotations

from typing import Annotated

import typer

from kube.cli import completers, console
from kube.cli.options import (
    Context,
    Kubeconfig,
    Namespace,
    Output,
    OutputFormat,
    Patches,
    ResetPatches,
    SetStrings,
    SetValues,
    ValuesFiles,
    choose,
    command_app,
)
from kube.cli.results import kubectl_for
from kube.install import diff as release_diff

app = command_app()

#: ``diff``'s convention: 0 no differences, 1 differences; errors keep their documented codes.
EXIT_CHANGES = 1


@app.command("diff")
def diff_command(
    release: Annotated[
        str,
        typer.Argument(
            metavar="RELEASE", help="The installed release's name.", autocompletion=completers.releases
        ),
    ],
    formula: Annotated[
        str | None,
        typer.Argument(
            metavar="[FORMULA|PATH]", help="What to render (default: the formula the release came from)."
        ),
    ] = None,
    values: ValuesFiles = None,
    set_: SetValues = None,
    set_string: SetStrings = None,
    reset_values: Annotated[
        bool,
        typer.Option("--reset-values", help="Start from the formula's defaults, not the release's values."),
    ] = False,
    patch: Patches = None,
    reset_patches: ResetPatches = False,
    show_secrets: Annotated[
        bool, typer.Option("--show-secrets", help="Print the values of Secrets instead of masking them.")
    ] = False,
    namespace: Namespace = None,
    context: Context = None,
    kubeconfig: Kubeconfig = None,
    output: Output = None,
) -> None:
    """Show what kube upgrade would change, object by object, as unified diffs (exit 1 if anything).

    Live objects against the new render, as the API server would merge it (kubectl diff
    --server-side); objects upgrade would create and prune; Secret values masked unless
    --show-secrets. The pre-install hook is not run. Exit 0: no changes; 1: changes."""
    from kube.formula.patches import read_patch_files

    fmt = choose(output, OutputFormat.json)
    options = release_diff.DiffOptions(
        patches=read_patch_files(patch or ()),
        reset_patches=reset_patches,
        value_files=tuple(values or ()),
        sets=tuple(set_ or ()),
        set_strings=tuple(set_string or ()),
        reset_values=reset_values,
        show_secrets=show_secrets,
    )
    kubectl = kubectl_for(context, kubeconfig, namespace)
    result = release_diff.diff_release(kubectl, release, formula, namespace, options)
    for note in result.notes:
        console.info(note)
    for warning in result.warnings:
        console.warn(warning)
    if fmt is OutputFormat.json:
        console.print_json(result.to_json())
    else:
        _print(result)
    if result.changed:
        raise typer.Exit(EXIT_CHANGES)


def _print(result: release_diff.DiffResult) -> None:
    for obj in result.objects:
        for text in obj.diff.splitlines():
            console.line(text, style=_style(text))
    for obj in result.objects:
        if obj.action is not release_diff.Action.UNCHANGED:
            detail = f" ({obj.detail})" if obj.detail else ""
            console.line(f"{obj.ref.display}: {obj.action}{detail}")
    versions = (
        result.version
        if result.version == result.from_version
        else f"{result.from_version} -> {result.version}"
    )
    console.line(
        f"{result.release} ({result.formula} {versions}) in namespace {result.namespace}: {result.summary}"
    )


def _style(text: str) -> str | None:
    if text.startswith(("---", "+++")):
        return "bold"
    return {"+": "green", "-": "red", "@": "cyan"}.get(text[:1])
