"""Custom resources checked against their CustomResourceDefinition's ``openAPIV3Schema``.

The CRDs come from the formula itself and from its dependencies (``kube.lint.run``). A
custom resource is validated against the version of its CRD that its apiVersion names,
when the CRD serves that version; the schema is turned into a JSON Schema (draft 4, the
dialect of OpenAPI v3.0 that CRDs use) with the API server's structural-schema rules:

- an object with ``properties`` keeps only those fields: the API server prunes any other
  (or, with strict field validation, rejects the object), unless it says
  ``x-kubernetes-preserve-unknown-fields: true`` (or the CRD is an apiextensions.k8s.io/v1beta1
  one without ``preserveUnknownFields: false``, which keeps every field);
- ``x-kubernetes-int-or-string: true`` takes an integer or a string;
- ``x-kubernetes-embedded-resource: true`` is an object with apiVersion, kind and metadata
  besides its own properties;
- ``nullable: true`` also takes null;
- apiVersion, kind and metadata at the root are always allowed;
- ``pattern`` is not checked (a stranger's regular expression must not hang lint).

Validation itself is ``jsonschema``'s (``kube.lint.schema.collect`` reports every error).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

_CRD = ("apiextensions.k8s.io", "CustomResourceDefinition")
_META = {"apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"}}
_SCHEMA_KEYS = ("items", "additionalProperties", "not")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
# `pattern` is left out: the API server matches it with Go's RE2 (linear time), Python's
# backtracking engine would give a stranger's pattern exponential time on a short value.
_LEFT_OUT = ("nullable", "default", "example", "externalDocs", "pattern", "patternProperties")


@dataclass(frozen=True)
class Crd:
    """One CRD, as lint needs it: group, kind, where it came from, and its versions' schemas."""

    group: str
    kind: str
    source: str  # "formulas/x/manifests/crds.yaml" or "dependency cert-manager-crds"
    served: tuple[str, ...]
    schemas: Mapping[str, Any]  # version name -> openAPIV3Schema (absent: none given)
    pruned: bool = True  # False: apiextensions.k8s.io/v1beta1 keeps unknown fields by default


def is_crd(data: Mapping[str, Any]) -> bool:
    api = str(data.get("apiVersion", ""))
    return (api.split("/")[0] if "/" in api else "", data.get("kind")) == _CRD


def read_crd(data: Mapping[str, Any], source: str) -> Crd | None:
    """The CRD of a CustomResourceDefinition object (apiextensions.k8s.io v1 or v1beta1)."""
    spec = _mapping(data.get("spec"))
    group = spec.get("group")
    kind = _mapping(spec.get("names")).get("kind")
    if not isinstance(group, str) or not isinstance(kind, str):
        return None
    served: list[str] = []
    schemas: dict[str, Any] = {}
    shared = _mapping(spec.get("validation")).get("openAPIV3Schema")  # v1beta1: one for all versions
    versions = spec.get("versions")
    if not isinstance(versions, list) and isinstance(spec.get("version"), str):
        versions = [{"name": spec["version"], "served": True}]
    for entry in versions if isinstance(versions, list) else []:
        entry = _mapping(entry)
        name = entry.get("name")
        if not isinstance(name, str):
            continue
        if entry.get("served", True) is True:
            served.append(name)
        schema = _mapping(entry.get("schema")).get("openAPIV3Schema", shared)
        if isinstance(schema, dict):
            schemas[name] = schema
    beta = str(data.get("apiVersion", "")).endswith("/v1beta1")
    pruned = (
        spec.get("preserveUnknownFields") is False if beta else spec.get("preserveUnknownFields") is not True
    )
    return Crd(group, kind, source, tuple(served), schemas, pruned)


def index(crds: Iterable[Crd]) -> dict[tuple[str, str], Crd]:
    """CRDs by (group, kind); the first one given wins (the formula's own before a dependency's)."""
    found: dict[tuple[str, str], Crd] = {}
    for crd in crds:
        found.setdefault((crd.group, crd.kind), crd)
    return found


def json_schema(schema: Mapping[str, Any], *, pruned: bool = True) -> dict[str, Any]:
    """The JSON Schema of a custom resource whose CRD version has ``schema`` as openAPIV3Schema
    (``pruned``: the API server drops fields the schema does not name)."""
    root: dict[str, Any] = _convert(schema, pruned)
    if root.get("additionalProperties") is False:
        properties = dict(root.get("properties") or {})
        for key, value in _META.items():
            properties.setdefault(key, value)
        root["properties"] = properties
    return root


def _convert(node: Any, pruned: bool = True) -> Any:
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: _convert(sub, pruned) for name, sub in value.items()}
        elif key in _SCHEMA_KEYS and isinstance(value, dict):
            out[key] = _convert(value, pruned)
        elif key in (*_SCHEMA_LISTS, "items") and isinstance(value, list):
            out[key] = [_convert(sub, pruned) for sub in value]
        elif key.startswith("x-kubernetes-") or key in _LEFT_OUT:
            continue  # applied below, advice, or a regular expression (see _LEFT_OUT)
        else:
            out[key] = value
    preserve = node.get("x-kubernetes-preserve-unknown-fields") is True
    if node.get("x-kubernetes-int-or-string") is True:
        out.pop("type", None)
        out.pop("anyOf", None)  # the schema generators spell it anyOf: [integer, string]
        out["type"] = ["integer", "string"]
    if node.get("x-kubernetes-embedded-resource") is True:
        properties = dict(out.get("properties") or {})
        for key, value in _META.items():
            properties.setdefault(key, value)
        out["properties"] = properties
        out.setdefault("type", "object")
    if pruned and "properties" in out and "additionalProperties" not in out and not preserve:
        out["additionalProperties"] = False
    if node.get("nullable") is True and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    return out


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
