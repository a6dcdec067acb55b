"""What no formula may render, whatever the values: install refuses it (exit 4), lint reports it.

Both read these definitions, so ``kube lint`` passes nothing that ``kube install`` refuses for
its content: more than ``MAX_OBJECTS`` objects, or an object shaped like kube's own install
record (``record_lookalike``), which would make ``kube list`` and ``kube uninstall`` trust it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kube.k8s import release_names
from kube.k8s.objects import RECORD_NAME_PREFIX, RESERVED_PREFIX
from kube.k8s.release_names import NAME_PREFIX, RECORD_LABEL

if TYPE_CHECKING:
    from kube.k8s.objects import KubeObject

__all__ = ["MAX_OBJECTS", "RECORD_PREFIXES", "record_lookalike", "too_many"]

# Most objects one formula may render (defined beside the record names: a record listing more is
# refused too).
MAX_OBJECTS = release_names.MAX_OBJECTS

#: The names of install records: format 1 (``kube.install.``) and format 2 (``kube.release.``).
RECORD_PREFIXES = (RECORD_NAME_PREFIX, NAME_PREFIX)


def too_many(name: str, count: int) -> str:
    """Why formula ``name`` may not render ``count`` objects ("" when it may)."""
    if count <= MAX_OBJECTS:
        return ""
    return f"{name} renders {count} objects; a formula may have at most {MAX_OBJECTS}"


def record_lookalike(obj: KubeObject) -> str:
    """Why ``obj`` looks like a kube install record ("" when it does not): a Secret of a
    ``kube.sh/`` type, a name of a record's format, or the record label."""
    secret_type = obj.data.get("type") if (obj.group, obj.kind) == ("", "Secret") else None
    if isinstance(secret_type, str) and secret_type.startswith(RESERVED_PREFIX):
        return f"type {secret_type}"
    if reserved := next((p for p in RECORD_PREFIXES if obj.name.startswith(p)), ""):
        return f"a name starting with {reserved}"
    labels = obj.metadata.get("labels")
    if isinstance(labels, dict) and RECORD_LABEL in labels:
        return f"the label {RECORD_LABEL}"
    return ""
