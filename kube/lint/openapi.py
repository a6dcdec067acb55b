"""Schemas from a live cluster: its ``/openapi/v2``, fetched once and cached by server version.

``kube lint --cluster`` asks the cluster of the kubeconfig for its version
(``kubectl version``) and for its OpenAPI document (``kubectl get --raw /openapi/v2``, a
few MB of JSON that lists every kind the server serves, CRDs included), once per run, and
keeps it in ``$KUBE_HOME/schemas/openapi-v<minor>.json``. ``--kube-version <minor>``
without a cluster reads that cache when the minor is not bundled.

The document is the API server's own, so it knows exactly the kinds and fields that server
accepts. Its definitions become a JSON Schema the way ``kubectl`` client validation reads
them: every object definition with ``properties`` allows only those fields (as
``kubectl create --validate=strict`` does), IntOrString takes an integer or a string, and a
Quantity a string or a number; RawExtension takes anything.
"""

from __future__ import annotations

import functools
import json
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kube.core.errors import ClusterError

if TYPE_CHECKING:
    from kube.k8s.kubectl import Kubectl

CACHE_DIR = "schemas"
#: Largest OpenAPI document read (a 1.30 server with a few hundred CRDs serves ~40 MB).
OPENAPI_LIMIT = 256 * 1024 * 1024
_REFETCH = "run `kube lint --cluster` against that cluster again"
_MINOR_RE = re.compile(r"^(\d+)\D*$")
_LOOSE = {
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": {"type": ["integer", "string"]},
    "io.k8s.apimachinery.pkg.api.resource.Quantity": {"type": ["string", "number"]},
    "io.k8s.apimachinery.pkg.runtime.RawExtension": {},
}


def cache_dir() -> Path:
    from kube.core import paths

    return paths.kube_home() / CACHE_DIR


def cache_file(minor: str) -> Path:
    return cache_dir() / f"openapi-v{minor}.json"


def cached(minor: str) -> Path | None:
    """The cached OpenAPI document of Kubernetes ``minor`` ("1.20"), if a cluster gave one."""
    path = cache_file(minor)
    return path if path.is_file() and not path.is_symlink() else None


def server_minor(kubectl: Kubectl) -> str:
    """``1.20`` for a cluster whose API server runs v1.20.x."""
    _, out, err = kubectl.run("version", "--output=json", read=True)
    try:
        server = json.loads(out).get("serverVersion") or {}
    except ValueError:
        server = {}
    major = _MINOR_RE.match(str(server.get("major", "")))
    minor = _MINOR_RE.match(str(server.get("minor", "")))
    if not major or not minor:
        raise _failed(kubectl, "version", err or "the server did not say its version")
    return f"{int(major.group(1))}.{int(minor.group(1))}"


def fetch(kubectl: Kubectl) -> tuple[str, Path]:
    """The server's minor and its OpenAPI document, fetched now (so CRDs installed since the
    last run are in it) into the cache of that minor."""
    minor = server_minor(kubectl)
    code, out, err = kubectl.run("get", "--raw", "/openapi/v2", timeout=120)
    if code != 0:
        raise _failed(kubectl, "get --raw /openapi/v2", err or out)
    try:
        document = json.loads(out)
    except ValueError:
        raise ClusterError("the cluster's /openapi/v2 is not JSON") from None
    if not isinstance(document, dict) or not isinstance(document.get("definitions"), dict):
        raise ClusterError("the cluster's /openapi/v2 holds no definitions")
    path = cache_file(minor)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".openapi-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(out)
    os.replace(temporary, path)
    return minor, path


def _failed(kubectl: Kubectl, verb: str, stderr: str) -> ClusterError:
    from kube.core.process import last_line
    from kube.k8s.kubectl import CLUSTER_HINT
    from kube.k8s.kubectl_output import is_unreachable, without_warnings

    text = last_line(without_warnings(stderr))
    if is_unreachable(stderr):
        return ClusterError(f"cannot reach the cluster: {text} ({kubectl.describe()})", hint=CLUSTER_HINT)
    return ClusterError(f"kube lint --cluster: kubectl {verb} failed: {text}", hint=CLUSTER_HINT)


@functools.cache
def _load(path: Path) -> tuple[dict[str, Any], dict[tuple[str, str, str], str]]:
    """The document's definitions made strict, and its kinds: (group, version, kind) -> name."""
    with path.open("rb") as handle:
        raw = handle.read(OPENAPI_LIMIT + 1)
    if len(raw) > OPENAPI_LIMIT:
        raise ClusterError(f"{path}: larger than {OPENAPI_LIMIT // (1024 * 1024)} MiB")
    try:
        document = json.loads(raw)
    except ValueError:
        raise ClusterError(f"{path}: not JSON", hint=_REFETCH) from None
    definitions = document.get("definitions") if isinstance(document, dict) else None
    if not isinstance(definitions, dict):
        raise ClusterError(f"{path}: holds no definitions", hint=_REFETCH)
    kinds: dict[tuple[str, str, str], str] = {}
    strict: dict[str, Any] = {}
    for name, definition in definitions.items():
        if not isinstance(definition, dict):
            continue
        for gvk in definition.get("x-kubernetes-group-version-kind") or []:
            if isinstance(gvk, dict):
                key = (str(gvk.get("group", "")), str(gvk.get("version", "")), str(gvk.get("kind", "")))
                kinds.setdefault(key, name)
        strict[name] = _LOOSE[name] if name in _LOOSE else _strict(definition)
    return strict, kinds


def _strict(node: Any) -> Any:
    if isinstance(node, list):
        return [_strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: _strict(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "allOf", "anyOf", "oneOf", "not"):
            out[key] = _strict(value)
        elif key == "format" and value == "int-or-string":
            out.pop("type", None)
            out["type"] = ["integer", "string"]
        elif key == "$ref" and isinstance(value, str):
            out[key] = value
        elif key.startswith("x-") or key in ("description", "example", "pattern", "patternProperties"):
            continue
        elif not (key == "type" and "type" in out):
            out[key] = value
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not node.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


@functools.cache
def _checker(path: Path, name: str) -> Any:
    import jsonschema

    definitions, _ = _load(path)
    return jsonschema.Draft4Validator({"$ref": f"#/definitions/{name}", "definitions": definitions})


def api_versions_of(path: Path, kind: str) -> list[str]:
    """The apiVersions in which the cluster's document serves ``kind`` ("policy/v1beta1")."""
    kinds = _load(path)[1]
    return sorted(f"{g}/{v}" if g else v for g, v, k in kinds if k == kind)


def validator(path: Path, obj: dict[str, Any]) -> Callable[[dict[str, Any]], None] | None:
    """A check of ``obj``'s kind against the cluster's document (``kube.lint.schema.collect``
    runs it); None when the server serves no such kind."""
    import jsonschema

    kinds = _load(path)[1]
    api = str(obj.get("apiVersion", ""))
    group, _, version = api.rpartition("/")
    name = kinds.get((group, version, str(obj.get("kind", ""))))
    if name is None:
        return None
    checker = _checker(path, name)

    def check(work: dict[str, Any]) -> None:
        error = jsonschema.exceptions.best_match(checker.iter_errors(work))
        if error is not None:
            raise error

    return check
