"""Command: index publish (the search index an archive publishes for its users' first update).

Exit codes: 0 ok; 2 not a clean checkout of an archive, a bad branch name or a branch that
holds something else than an index; 5 git failed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kube.archive.published import BRANCH
from kube.cli import console
from kube.cli.options import command_app

app = command_app()
index_app = command_app()
app.add_typer(index_app, name="index", no_args_is_help=True)


@index_app.callback()
def index_group() -> None:
    """Publish the archive's search index on a branch, for a fast first `kube update`."""


@index_app.command("publish")
def publish_command(
    archive: Annotated[
        Path, typer.Argument(help="A checkout of the archive (its HEAD is what the index describes).")
    ] = Path("."),
    branch: Annotated[str, typer.Option("--branch", help="The branch to write the index to.")] = BRANCH,
) -> None:
    """Build the search index of the checkout's HEAD and commit it, alone, to a branch.

    Run it in the archive's CI after every push to the main branch, then push the branch
    (`git push --force origin kube-index`): a first `kube update` of that archive reads the
    index instead of parsing every formula. It is used for search and info only."""
    from kube.archive import published

    done = published.publish(archive, branch=branch)
    invalid = f" ({done.invalid} invalid)" if done.invalid else ""
    state = "unchanged" if done.unchanged else "written"
    console.line(
        f"{done.ref} {state}: {done.commit[:8]} holds the index of {done.described[:8]}, "
        f"{done.count} kubes{invalid}, {done.size / 1e3:.0f} kB."
    )
    console.info(f"Publish it with `git push --force origin {done.ref.removeprefix('refs/heads/')}`")
