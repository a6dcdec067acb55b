"""Command: history (the revisions of a release, read from its records)."""

from __future__ import annotations

from typing import Annotated

import typer

from kube.cli import completers, console
from kube.cli.options import Context, Kubeconfig, Output, OutputFormat, choose, command_app, namespace_option
from kube.cli.results import kubectl_for, record_json
from kube.k8s import releases

app = command_app()


@app.command("history")
def history_command(
    release: Annotated[
        str,
        typer.Argument(
            metavar="RELEASE",
            help="The release's name (see `kube list`).",
            autocompletion=completers.releases,
        ),
    ],
    namespace: Annotated[
        str | None, namespace_option("Its namespace (default: where its only release is).")
    ] = None,
    context: Context = None,
    kubeconfig: Kubeconfig = None,
    output: Output = None,
) -> None:
    """List the revisions of a release, oldest first.

    Number, time, formula version, status, outcome and a one-line summary of each; a record that
    cannot be read is listed with the reason, never trusted."""
    fmt = choose(output, OutputFormat.json)
    kubectl = kubectl_for(context, kubeconfig, namespace)
    found = releases.find_release(kubectl, release, namespace)
    entries: list[releases.Revision | releases.Unreadable] = [*found.revisions, *found.unreadable]
    entries.sort(key=lambda r: r.revision)
    if fmt is OutputFormat.json:
        console.print_json([_entry_json(r) for r in entries])
        return
    rows = [_row(r) for r in entries]
    console.print_table(("REVISION", "TIME", "FORMULA", "STATUS", "OUTCOME", "SUMMARY"), rows)


def _entry_json(rev: releases.Revision | releases.Unreadable) -> dict[str, object]:
    if isinstance(rev, releases.Revision):
        return record_json(rev)
    return {"release": rev.release, "revision": rev.revision, "status": "unreadable", "problem": rev.problem}


def _row(rev: releases.Revision | releases.Unreadable) -> tuple[object, ...]:
    if isinstance(rev, releases.Revision):
        return (
            rev.revision,
            rev.time,
            f"{rev.formula} {rev.version}",
            rev.status,
            rev.condition,
            rev.summary + (f" (patched: {', '.join(rev.patch_sources)})" if rev.patch_sources else ""),
        )
    return (rev.revision, "-", "-", "unreadable", "-", rev.problem)
