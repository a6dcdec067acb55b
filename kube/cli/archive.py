"""What the commands that read the archive share: clone it first when it is missing, and say so."""

from __future__ import annotations

from kube.archive import update as archive
from kube.cli import console


def waiting(message: str) -> None:
    console.info(message)


def ensure_archive() -> None:
    """Commands that read the archive clone it first when it is missing, and say so (on stderr)."""

    def first(url: str) -> None:
        console.info(f"There is no kube archive yet; cloning {url} first")

    archive.ensure_archive(on_clone=first, on_wait=waiting)
