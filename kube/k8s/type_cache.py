"""The namespaced types a cluster listed last time: a hint, never the answer.

Before kube deletes a namespace it created, it asks every namespaced type the server lists what
else lives there (``kube.install.uninstall``). That is two kubectl calls one after the other:
``api-resources`` (every API group read from the server, ~85 ms) and a ``get`` of every type
(~115 ms). With the types this cluster listed the last time, kube starts the second call at
once, beside the first; when the server's fresh list names a type the hint did not, that type is
read too, and a hint naming a type the server no longer has makes kubectl refuse the whole read,
which is then made again with the fresh list. So a stale, foreign or damaged hint costs one
read, never a missed resident.

The same holds the group/versions the cluster served last time (``kube.install.served``).

One file per kubeconfig, context and list (``$KUBE_HOME/cache/namespaced-types-<key>``,
``group-versions-<key>``), one entry per line, replaced by rename, written without the home's
lock: two kubes racing leave one complete list.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from kube.core import paths

if TYPE_CHECKING:
    from kube.k8s.kubectl import Kubectl

#: Beyond any real cluster's count (a few hundred): a longer file is not a list kube wrote.
_MAX_TYPES = 5000
#: Incidental wherever they are (``kube.install.uninstall``): listing them changes no verdict.
_SKIPPED = ("events", "endpoints")
_SKIPPED_GROUPS = (".events.k8s.io", ".metrics.k8s.io")


def resident_types(types: Sequence[str]) -> list[str]:
    """The types worth listing to see what lives in a namespace."""
    return [t for t in types if t not in _SKIPPED and not t.endswith(_SKIPPED_GROUPS)]


#: The lists kept: the namespaced types (uninstall), the group/versions served (install).
NAMESPACED_TYPES = "namespaced-types"
GROUP_VERSIONS = "group-versions"


def _file(kubectl: Kubectl, what: str) -> Path:
    chosen = kubectl.kubeconfig or os.environ.get("KUBECONFIG", "")
    key = hashlib.sha256(f"{chosen}\0{kubectl.context or ''}".encode("utf-8", "surrogateescape"))
    return paths.kube_home() / "cache" / f"{what}-{key.hexdigest()[:16]}"


def hinted(kubectl: Kubectl, what: str = NAMESPACED_TYPES) -> list[str]:
    """The namespaced types (or ``what``) this cluster listed last time (empty when unknown)."""
    try:
        text = _file(kubectl, what).read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    types = text.split()
    # Names go to kubectl's argv: nothing that could be read as an option or a second argument.
    if len(types) > _MAX_TYPES or not all(t[0].isalnum() and t.isprintable() and "," not in t for t in types):
        return []
    return types


def remember(kubectl: Kubectl, types: Sequence[str], what: str = NAMESPACED_TYPES) -> None:
    """Keep ``types`` (the server's fresh list) as this cluster's hint, when it changed."""
    if list(types) == hinted(kubectl, what):
        return
    # A read-only or full home: the hint is only an optimisation.
    with contextlib.suppress(OSError):
        paths.atomic_write(_file(kubectl, what), "".join(f"{t}\n" for t in types).encode("utf-8"))
