"""The record ``kube get`` keeps in each copy it makes (``.kube-get.json``), read on its own.

``kube.archive.update`` needs it to refuse a half-written copy and ``kube.archive.workspace``
to write and update copies; it lives here so neither imports the other.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from kube.core.errors import UsageError

MANIFEST = ".kube-get.json"


def read_manifest(target: Path) -> dict[str, Any] | None:
    """The record of a ``kube get`` copy; None when there is none. A damaged one is refused:
    it no longer says which files are kube's."""
    path = target / MANIFEST
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            raise ValueError("not a regular file")
        data = json.loads(path.read_bytes())
        if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
            raise ValueError("not a kube get record")
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise UsageError(
            f"{path} is damaged ({exc}); kube get cannot tell which files it wrote",
            hint=f"move {target} away, or choose another --dest",
        ) from None
    return data


def copy_state(directory: Path) -> str:
    """``complete``, ``incomplete`` (an update of it stopped half way) or ``unrecorded`` (no record)."""
    try:
        data = read_manifest(directory)
    except UsageError:
        return "incomplete"
    if data is None:
        return "unrecorded"
    return "complete" if data.get("complete") is True else "incomplete"
