"""Lint rules on Kubernetes objects: documents parse, identity fields, names, duplicates, schema, tests/.

Static manifests keep their YAML nodes, so a schema error points at the line
of the offending field; objects rendered from templates point at their
document's line in the template.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kube.core.errors import FormulaError
from kube.core.findings import Finding
from kube.lint import schema as lint_schema
from kube.lint import security as lint_security
from kube.lint.files import SIZE_LIMIT
from kube.lint.rules import finding

_API_VERSION_RE = re.compile(r"^(?:[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?/)?[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$")
_KIND_RE = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
_LABEL = r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?"
_DNS1123_LABEL = re.compile(rf"^{_LABEL}$")
_DNS1123_SUBDOMAIN = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$")
_DNS1035_LABEL = re.compile(r"^[a-z](?:[-a-z0-9]*[a-z0-9])?$")
_PATH_SEGMENT_KINDS = {
    ("rbac.authorization.k8s.io", k) for k in ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")
}
_CRD = ("apiextensions.k8s.io", "CustomResourceDefinition")
_TEST_KINDS = {("", "Pod"), ("batch", "Job")}


@dataclass(frozen=True)
class Doc:
    """One object to check: plain ``data``, and the YAML ``node`` when line numbers are known.

    Rendered documents carry ``remap`` (rendered line -> template line); a line
    it does not know becomes the document's own line, or 0.
    """

    data: dict[str, Any]
    node: Any
    path: str
    line: int
    remap: dict[int, int] | None = None

    @property
    def rendered(self) -> bool:
        return self.remap is not None

    @property
    def group(self) -> str:
        return str(self.data.get("apiVersion", "")).rpartition("/")[0]

    @property
    def kind(self) -> str:
        return str(self.data.get("kind", ""))

    @property
    def metadata(self) -> dict[str, Any]:
        meta = self.data.get("metadata")
        return meta if isinstance(meta, dict) else {}

    def line_of(self, path: Sequence[str | int] = ()) -> int:
        """The line of the deepest existing field along ``path`` (the document's line otherwise)."""
        from kube.formula import yaml_strict as yamlsafe

        line, node = self.line, self.node
        for step in path:
            if node is None:
                break
            try:
                found = node[step]
                line = yamlsafe.line_of(node, step) or line
            except (KeyError, IndexError, TypeError, AttributeError):
                break
            node = found
        if self.remap is None:
            return line
        return self.remap.get(line) or self.remap.get(self.line) or 0


def load_file(path: Path, shown: str) -> tuple[list[Doc], list[Finding]]:
    """Parse one static manifest (or tests/ file) into documents; List items become documents."""
    from kube.formula import yaml_strict as yamlsafe

    try:
        text = yamlsafe.read_capped(path, limit=SIZE_LIMIT, display=shown)
    except FormulaError as exc:
        return [], parse_findings(exc, shown)
    docs, findings = parse_text(text, shown, is_json=shown.endswith(".json"))
    if not docs and not findings:
        findings.append(finding("manifest-empty", shown, 0, "no Kubernetes objects in this file"))
    return docs, findings


def parse_text(
    text: str, shown: str, *, is_json: bool = False, remap: dict[int, int] | None = None
) -> tuple[list[Doc], list[Finding]]:
    """Documents of a manifest's text; ``.json`` is one JSON document, read as ``kube install`` reads it."""
    from kube.formula import yaml_strict as yamlsafe

    if is_json:
        problem = _json_problem(text, shown)
        if problem:
            return [], [problem]
    try:
        nodes = yamlsafe.load_all(text, source=shown)
    except FormulaError as exc:
        if not is_json:
            return [], parse_findings(exc, shown)
        nodes = [json.loads(text)]  # valid JSON that ruamel refuses: no line numbers
    docs: list[Doc] = []
    findings: list[Finding] = []
    for node in nodes:
        if node is None:
            continue
        line = yamlsafe.line_of(node) or 1
        for item in _expand(yamlsafe.to_plain(node), node, shown, line, remap):
            if isinstance(item, Doc):
                docs.append(item)
            else:
                findings.append(item)
    return docs, findings


def _json_problem(text: str, shown: str) -> Finding | None:
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [key for key, _ in items]
        duplicates = sorted({key for key in keys if keys.count(key) > 1})
        if duplicates:
            raise ValueError(f"duplicate key {duplicates[0]!r}")
        return dict(items)

    def constant(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    try:
        json.loads(text, object_pairs_hook=pairs, parse_constant=constant)
    except json.JSONDecodeError as exc:
        return finding("manifest-parse", shown, exc.lineno, f"invalid JSON: {exc.msg}")
    except ValueError as exc:
        return finding("manifest-parse", shown, 0, f"invalid JSON: {exc}")
    return None


def parse_findings(exc: FormulaError, shown: str) -> list[Finding]:
    found = [finding("manifest-parse", f.path or shown, f.line, f.message) for f in exc.findings]
    return found or [finding("manifest-parse", shown, 0, exc.message)]


def _expand(
    data: Any, node: Any, shown: str, line: int, remap: dict[int, int] | None
) -> Iterator[Doc | Finding]:
    if not isinstance(data, dict):
        where = remap.get(line, 0) if remap is not None else line
        yield finding("manifest-not-object", shown, where, f"a document must be a mapping, not {_what(data)}")
        return
    items = data.get("items")
    if str(data.get("kind", "")).endswith("List") and isinstance(items, list):
        from kube.formula import yaml_strict as yamlsafe

        item_nodes = node.get("items") if hasattr(node, "get") else None
        for index, item in enumerate(items):
            item_node = item_nodes[index] if item_nodes is not None else None
            item_line = (yamlsafe.line_of(item_nodes, index) if item_nodes is not None else 0) or line
            yield from _expand(item, item_node, shown, item_line, remap)
        return
    yield Doc(data, node if hasattr(node, "lc") else None, shown, line, remap)


def check_objects(docs: Sequence[Doc], tests: Sequence[Doc], kube_version: str) -> list[Finding]:
    """Every object rule over a formula's manifests and tests/ objects."""
    findings: list[Finding] = []
    everything = [*docs, *tests]
    crd_kinds = {_crd_group_kind(d) for d in everything if (d.group, d.kind) == _CRD}
    namespaces = {str(d.metadata.get("name")) for d in everything if (d.group, d.kind) == ("", "Namespace")}
    seen: dict[tuple[str, str, str, str], Doc] = {}
    for doc in everything:
        problems = list(_identity(doc))
        findings.extend(problems)
        if problems:
            continue
        findings.extend(_name_format(doc))
        findings.extend(_namespace(doc, namespaces))
        findings.extend(lint_security.check(doc))
        findings.extend(_schema(doc, kube_version, crd_kinds))
        key = (doc.group, doc.kind, str(doc.metadata.get("namespace") or ""), str(doc.metadata["name"]))
        if key in seen:
            first = seen[key]
            findings.append(
                finding(
                    "manifest-duplicate",
                    doc.path,
                    doc.line_of(["metadata", "name"]),
                    f"{doc.kind}/{key[3]} is defined twice (first at {first.path}:{first.line})",
                )
            )
        else:
            seen[key] = doc
    selectors = [(d, s) for d in docs if (s := _selector(d))]
    for doc in tests:
        findings.extend(_test_object(doc))
        findings.extend(_test_labels(doc, selectors))
    return findings


def _identity(doc: Doc) -> Iterator[Finding]:
    api_version = doc.data.get("apiVersion")
    if not isinstance(api_version, str) or not _API_VERSION_RE.match(api_version):
        what = "missing" if api_version is None else f"malformed ({_what(api_version)})"
        yield finding("manifest-api-version", doc.path, doc.line_of(["apiVersion"]), f"apiVersion is {what}")
    kind = doc.data.get("kind")
    if not isinstance(kind, str) or not _KIND_RE.match(kind):
        what = "missing" if kind is None else f"malformed ({_what(kind)})"
        yield finding("manifest-kind", doc.path, doc.line_of(["kind"]), f"kind is {what}")
    name = doc.metadata.get("name")
    if not isinstance(name, str) or not name:
        where = doc.line_of(["metadata", "name"])
        text = (
            "metadata.name is missing"
            if name is None
            else f"metadata.name must be a string, not {_what(name)}"
        )
        yield finding("manifest-name", doc.path, where, f"{doc.kind or 'object'}: {text}")


def _name_format(doc: Doc) -> Iterator[Finding]:
    name = str(doc.metadata["name"])
    problem = name_problem(doc.group, doc.kind, name, doc.data)
    if problem:
        yield finding(
            "manifest-name-format",
            doc.path,
            doc.line_of(["metadata", "name"]),
            f"{doc.kind} name `{name}` {problem}",
        )


def name_problem(group: str, kind: str, name: str, data: dict[str, Any]) -> str:
    """Why Kubernetes would refuse ``name`` for this kind ("" when it would not)."""
    if (group, kind) in _PATH_SEGMENT_KINDS:
        if name in (".", "..") or "/" in name or "%" in name:
            return "may not be '.' or '..' nor contain '/' or '%'"
        return ""
    if (group, kind) == ("", "Service"):
        ok = len(name) <= 63 and _DNS1035_LABEL.match(name)
        return (
            "" if ok else "must be a DNS-1035 label: at most 63 of a-z, 0-9 and '-', starting with a letter"
        )
    if (group, kind) == ("", "Namespace"):
        ok = len(name) <= 63 and _DNS1123_LABEL.match(name)
        return "" if ok else "must be a DNS-1123 label: at most 63 of a-z, 0-9 and '-'"
    if len(name) > 253 or not _DNS1123_SUBDOMAIN.match(name):
        return "must be a DNS-1123 subdomain: lower case a-z, 0-9, '-' and '.', at most 253"
    if (group, kind) == ("batch", "CronJob") and len(name) > 52:
        return "must be at most 52 characters (its Jobs add a suffix)"
    if (group, kind) == _CRD:
        spec = _mapping(data.get("spec"))
        names = _mapping(spec.get("names"))
        expected = f"{names.get('plural', '')}.{spec.get('group', '')}"
        if name != expected:
            return f"must be `<spec.names.plural>.<spec.group>` (`{expected}`)"
    return ""


def _namespace(doc: Doc, created: set[str]) -> Iterator[Finding]:
    from kube.k8s.objects import is_cluster_scoped

    namespace = doc.metadata.get("namespace")
    if not namespace or is_cluster_scoped(doc.group, doc.kind) or namespace in created:
        return
    if doc.rendered and namespace == "default":  # what `{{ kube.namespace }}` renders to in lint
        return
    yield finding(
        "manifest-namespace",
        doc.path,
        doc.line_of(["metadata", "namespace"]),
        f"{doc.kind}/{doc.metadata['name']} hard-codes namespace `{namespace}`: "
        f"install refuses it unless given --allow-namespace {namespace}",
    )


def _schema(doc: Doc, kube_version: str, crd_kinds: set[tuple[str, str]]) -> Iterator[Finding]:
    from kube.k8s.objects import BUILTIN_GROUPS

    label = f"{doc.kind}/{doc.metadata['name']}"
    try:
        problems = lint_schema.validate(doc.data, kube_version)
    except lint_schema.NoSchema:
        api = doc.data["apiVersion"]
        if doc.group == "" or doc.group in BUILTIN_GROUPS:
            yield finding(
                "manifest-unknown-api",
                doc.path,
                doc.line_of(["apiVersion"]),
                f"{label}: Kubernetes {kube_version} serves no {doc.kind} in `{api}`",
                hint="use a current apiVersion (`kubectl api-resources` lists them), or pick --kube-version",
            )
        elif (doc.group, doc.kind) not in crd_kinds:
            yield finding(
                "manifest-custom-resource",
                doc.path,
                doc.line_of(["kind"]),
                f"{label}: custom resource `{api}` not validated: its CRD is not in this formula",
            )
        return
    for problem in problems:
        yield finding(
            "manifest-schema",
            doc.path,
            doc.line_of(problem.path),
            f"{label}: {problem.message}",
            hint=problem.hint or None,
        )


def _test_object(doc: Doc) -> Iterator[Finding]:
    if (doc.group, doc.kind) not in _TEST_KINDS:
        yield finding(
            "test-kind",
            doc.path,
            doc.line_of(["kind"]),
            f"{doc.kind} in tests/: only Pods and Jobs are run as tests",
        )
        return
    path: list[str | int] = ["spec", "restartPolicy"]
    if doc.kind == "Job":
        path = ["spec", "template", "spec", "restartPolicy"]
    value: Any = doc.data
    for step in path:
        value = value.get(step) if isinstance(value, dict) else None
    if value not in ("Never", "OnFailure"):
        shown = "unset (Always)" if value is None else f"`{value}`"
        yield finding(
            "test-restart-policy",
            doc.path,
            doc.line_of(path),
            f"{doc.kind}/{doc.metadata['name']}: restartPolicy is {shown}, so it can never succeed",
        )


def _selector(doc: Doc) -> dict[str, Any]:
    """A Service's selector, when it sends traffic to numbered ports (a named target port only
    reaches Pods that declare that name, which a test Pod does not)."""
    if (doc.group, doc.kind) != ("", "Service"):
        return {}
    spec = _mapping(doc.data.get("spec"))
    ports = spec.get("ports")
    if not isinstance(ports, list):
        return {}
    numbered = any(not isinstance(_mapping(p).get("targetPort"), str) for p in ports)
    return _mapping(spec.get("selector")) if numbered else {}


def _test_labels(doc: Doc, selectors: Sequence[tuple[Doc, dict[str, Any]]]) -> Iterator[Finding]:
    """A test Pod that a Service of the formula selects gets a share of the Service's traffic."""
    path: list[str | int] = ["metadata", "labels"]
    if doc.kind == "Job":
        path = ["spec", "template", "metadata", "labels"]
    labels: Any = doc.data
    for step in path:
        labels = _mapping(labels).get(str(step))
    labels = _mapping(labels)
    for service, selector in selectors:
        if all(labels.get(key) == value for key, value in selector.items()):
            yield finding(
                "test-selector",
                doc.path,
                doc.line_of(path),
                f"{doc.kind}/{doc.metadata.get('name')}: its Pod matches the selector of "
                f"Service/{service.metadata.get('name')}, so the test gets a share of the traffic it sends",
            )


def _crd_group_kind(doc: Doc) -> tuple[str, str]:
    spec = _mapping(doc.data.get("spec"))
    return str(spec.get("group", "")), str(_mapping(spec.get("names")).get("kind", ""))


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _what(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"a number ({value})"
    if isinstance(value, str):
        return f'"{value[:40]}"'
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__
