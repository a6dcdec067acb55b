"""Lint rules on Kubernetes objects: documents parse, identity fields, names, duplicates, schema, tests/.

Files are read by ``kube.formula.manifests``, the reader ``kube install`` uses: a file lint
passes parses for install, and a broken one gets the same message from both.

Static manifests keep their YAML nodes, so a schema error points at the line
of the offending field; objects rendered from templates point at their
document's line in the template.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from kube.core.errors import FormulaError
from kube.core.findings import Finding
from kube.formula.manifests import Refused, what
from kube.k8s.objects import KubeObject
from kube.lint import crds as lint_crds
from kube.lint import schema as lint_schema
from kube.lint import security as lint_security
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
# The reader's checks of a document (kube.formula.manifests.problem_of) -> lint's rule for them.
_REFUSED_RULES = {
    "not-object": "manifest-not-object",
    "api-version": "manifest-api-version",
    "kind": "manifest-kind",
    "name": "manifest-name",
    "list": "manifest-not-object",
    "number": "manifest-schema",
}


def load_file(path: Path, shown: str) -> tuple[list[KubeObject], list[Finding]]:
    """Parse one static manifest (or tests/ file) into objects; List items become objects."""
    from kube.formula import manifests

    try:
        text = manifests.read(path, shown)
    except FormulaError as exc:
        return [], parse_findings(exc, shown)
    docs, findings = parse_text(text, shown)
    if not docs and not findings:
        findings.append(finding("manifest-empty", shown, 0, "no Kubernetes objects in this file"))
    return docs, findings


def parse_text(
    text: str, shown: str, *, template: bool = False, remap: Mapping[int, int] | None = None
) -> tuple[list[KubeObject], list[Finding]]:
    """Objects of a manifest's text (``template``: a template's output), read by the reader
    ``kube install`` uses, so both agree on what parses and say the same when it does not."""
    from kube.formula import manifests

    try:
        docs, refused = manifests.parse(text, shown, template=template, remap=remap, nodes=True, fast=True)
    except FormulaError as exc:
        return [], parse_findings(exc, shown)
    return docs, [_refused(r, remap) for r in refused]


def _refused(refused: Refused, remap: Mapping[int, int] | None) -> Finding:
    obj = KubeObject({}, refused.display, line=refused.line, node=refused.node, remap=remap)
    return finding(_REFUSED_RULES[refused.check], refused.display, obj.line_of(refused.field), refused.text)


def parse_findings(exc: FormulaError, shown: str) -> list[Finding]:
    found = [finding("manifest-parse", f.path or shown, f.line, f.message) for f in exc.findings]
    return found or [finding("manifest-parse", shown, 0, exc.message)]


def check_objects(
    docs: Sequence[KubeObject],
    tests: Sequence[KubeObject],
    kube_version: lint_schema.Schemas | str,
    *,
    dependency_crds: Sequence[lint_crds.Crd] = (),
) -> list[Finding]:
    """Every object rule over a formula's manifests and tests/ objects; custom resources are
    checked against the CRDs of the formula and then of its dependencies."""
    findings: list[Finding] = []
    everything = [*docs, *tests]
    own = [lint_crds.read_crd(d.data, d.path) for d in everything if (d.group, d.kind) == _CRD]
    crds = _Crds(lint_crds.index([*(c for c in own if c is not None), *dependency_crds]))
    namespaces = {str(d.metadata.get("name")) for d in everything if (d.group, d.kind) == ("", "Namespace")}
    accounts = {
        str(d.metadata["name"]): d.metadata.get("namespace")
        for d in docs
        if (d.group, d.kind) == ("", "ServiceAccount") and isinstance(d.metadata.get("name"), str)
    }
    seen: dict[tuple[str, str, str, str], KubeObject] = {}
    for doc in everything:
        problems = list(_identity(doc))
        findings.extend(problems)
        if problems:
            continue
        findings.extend(_name_format(doc))
        findings.extend(_namespace(doc, namespaces))
        findings.extend(lint_security.check(doc))
        findings.extend(_schema(doc, kube_version, crds))
        findings.extend(_subjects(doc, accounts))
        findings.extend(_empty_selector(doc))
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
    if not findings:
        findings.extend(_depends_on(docs))
    selectors = [(d, s) for d in docs if (s := _selector(d))]
    for doc in tests:
        findings.extend(_test_object(doc))
        findings.extend(_test_labels(doc, selectors))
    return findings


def _depends_on(docs: Sequence[KubeObject]) -> list[Finding]:
    """depends-on references, by the same check ``kube install`` makes before it creates anything
    (kube.k8s.objects.dependencies): they parse, name objects of the formula where those are, and
    form no cycle. The install namespace is not known here, so a reference may give any namespace
    to an object that sets none."""
    from kube.k8s.objects import order_waves

    try:
        order_waves(docs)
    except FormulaError as exc:
        return [finding(f.rule, f.path, f.line, f.message) for f in exc.findings]
    return []


def _identity(doc: KubeObject) -> Iterator[Finding]:
    """apiVersion and kind in the form Kubernetes accepts (the reader made sure they are strings
    and that metadata.name is one)."""
    if not _API_VERSION_RE.match(doc.api_version):
        yield finding(
            "manifest-api-version",
            doc.path,
            doc.line_of(["apiVersion"]),
            f"apiVersion is malformed ({what(doc.api_version)})",
        )
    if not _KIND_RE.match(doc.kind):
        yield finding(
            "manifest-kind", doc.path, doc.line_of(["kind"]), f"kind is malformed ({what(doc.kind)})"
        )


def _name_format(doc: KubeObject) -> Iterator[Finding]:
    from kube.core.errors import UsageError
    from kube.k8s.kubectl import check_object_name

    name = str(doc.metadata["name"])
    problem = name_problem(doc.group, doc.kind, name, doc.data)
    try:
        check_object_name(name, doc.path)  # what install refuses for any kind, RBAC's included
    except UsageError:
        problem = problem or "is refused by kube install: it starts with '-', or is unprintable or too long"
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


def _namespace(doc: KubeObject, created: set[str]) -> Iterator[Finding]:
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


class _Crds:
    """The CRDs a formula's custom resources are checked against, with their JSON Schemas
    built once per CRD version."""

    def __init__(self, by_kind: dict[tuple[str, str], lint_crds.Crd]) -> None:
        self.by_kind = by_kind
        self._checks: dict[tuple[str, str, str], Any] = {}

    def check(self, crd: lint_crds.Crd, version: str) -> Any:
        key = (crd.group, crd.kind, version)
        if key not in self._checks:
            import jsonschema

            schema = lint_crds.json_schema(crd.schemas[version], pruned=crd.pruned)
            validator = jsonschema.Draft4Validator(schema)

            def check(work: dict[str, Any]) -> None:
                error = jsonschema.exceptions.best_match(validator.iter_errors(work))
                if error is not None:
                    raise error

            self._checks[key] = check
        return self._checks[key]


_PRUNED = " (the API server prunes it, or rejects the object under strict field validation)"


def _schema(doc: KubeObject, kube_version: lint_schema.Schemas | str, crds: _Crds) -> Iterator[Finding]:
    from kube.k8s.objects import BUILTIN_GROUPS

    label = f"{doc.kind}/{doc.metadata['name']}"
    try:
        problems = lint_schema.validate(doc.data, kube_version)
    except lint_schema.NoSchema:
        api = doc.data["apiVersion"]
        crd = crds.by_kind.get((doc.group, doc.kind))
        if doc.group == "" or doc.group in BUILTIN_GROUPS:
            served = lint_schema.served_api_versions(doc.kind, kube_version)
            on_cluster = isinstance(kube_version, lint_schema.Schemas) and kube_version.openapi is not None
            target = "this cluster" if on_cluster else f"Kubernetes {kube_version}"
            listing = ", ".join(f"`{a}`" for a in served)
            where = (
                f"{target} serves {doc.kind} in {listing}: use {'it' if len(served) == 1 else 'one of them'}"
                if served
                else f"{target} serves no {doc.kind} at all"
            )
            other = (
                ""
                if on_cluster
                else "; for a cluster of another version, lint with --kube-version or --cluster"
            )
            yield finding(
                "manifest-unknown-api",
                doc.path,
                doc.line_of(["apiVersion"]),
                f"{label}: Kubernetes {kube_version} serves no {doc.kind} in `{api}`",
                hint=where + other,
            )
        elif crd is None:
            yield finding(
                "manifest-custom-resource",
                doc.path,
                doc.line_of(["kind"]),
                f"{label}: custom resource `{api}` not validated: its CRD is neither in this formula "
                "nor in its dependencies",
            )
        else:
            yield from _custom(doc, crd, crds)
        return
    for problem in problems:
        yield finding(
            "manifest-schema",
            doc.path,
            doc.line_of(problem.path),
            f"{label}: {problem.message}",
            hint=problem.hint or None,
        )


def _custom(doc: KubeObject, crd: lint_crds.Crd, crds: _Crds) -> Iterator[Finding]:
    """A custom resource against the schema of its CRD's version that its apiVersion names."""
    label = f"{doc.kind}/{doc.metadata['name']}"
    version = doc.api_version.rpartition("/")[2]
    if version not in crd.served:
        served = ", ".join(f"`{crd.group}/{v}`" for v in crd.served) or "no version"
        yield finding(
            "manifest-schema",
            doc.path,
            doc.line_of(["apiVersion"]),
            f"{label}: its CRD ({crd.source}) serves no `{doc.api_version}`; it serves {served}",
            hint=f"use apiVersion {crd.group}/{crd.served[-1]}" if crd.served else None,
        )
        return
    if version not in crd.schemas:
        return  # a CRD without a schema takes anything (apiextensions.k8s.io/v1 requires one)
    try:
        check = crds.check(crd, version)
        problems = lint_schema.collect(doc.data, check, unknown=_PRUNED)
    except Exception as exc:  # a stranger's schema that jsonschema cannot use
        message = f"{label}: cannot check it against its CRD ({crd.source}): {str(exc).splitlines()[0][:160]}"
        yield finding("manifest-schema", doc.path, doc.line_of(["kind"]), message)
        return
    for problem in problems:
        hint = problem.hint
        if not hint or hint.startswith("`kubectl explain"):
            hint = f"see the schema of {crd.kind} {version} in its CRD ({crd.source})"
        yield finding(
            "manifest-schema",
            doc.path,
            doc.line_of(problem.path),
            f"{label}: {problem.message}",
            hint=hint or None,
        )


_SELECTED = frozenset(
    {("apps", "Deployment"), ("apps", "ReplicaSet"), ("apps", "StatefulSet"), ("apps", "DaemonSet")}
)


def _empty_selector(doc: KubeObject) -> Iterator[Finding]:
    """A workload of ``apps/v1`` whose selector selects nothing (``matchLabels: null`` and no
    ``matchExpressions``): the schema lets it pass, the API server refuses it ("empty selector
    is invalid for deployment")."""
    if (doc.group, doc.kind) not in _SELECTED or not doc.data.get("apiVersion", "").endswith("/v1"):
        return
    spec = doc.data.get("spec")
    selector = spec.get("selector") if isinstance(spec, dict) else None
    if not isinstance(selector, dict) or selector.get("matchLabels") or selector.get("matchExpressions"):
        return
    yield finding(
        "manifest-schema",
        doc.path,
        doc.line_of(["spec", "selector"]),
        f"{doc.kind}/{doc.metadata['name']}: spec.selector selects nothing, which the API server refuses",
        hint="give spec.selector.matchLabels the labels of spec.template.metadata.labels",
    )


def _subjects(doc: KubeObject, accounts: dict[str, Any]) -> Iterator[Finding]:
    """A RoleBinding or ClusterRoleBinding whose ServiceAccount subject names a namespace that
    is not where the formula puts that ServiceAccount (kube installs into -n, so a hard-coded
    namespace binds the role to an account that is elsewhere, or to nobody)."""
    if (doc.group, doc.kind) not in (
        ("rbac.authorization.k8s.io", "RoleBinding"),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ):
        return
    subjects = doc.data.get("subjects")
    for index, subject in enumerate(subjects if isinstance(subjects, list) else []):
        if not isinstance(subject, dict) or subject.get("kind") != "ServiceAccount":
            continue
        namespace, name = subject.get("namespace"), subject.get("name")
        if not namespace and isinstance(name, str):
            # The API server refuses it ("subjects[0].namespace: Required value"); no schema says so.
            yield finding(
                "manifest-schema",
                doc.path,
                doc.line_of(["subjects", index]),
                f"{doc.kind}/{doc.metadata['name']}: subject ServiceAccount/{name} names no namespace, "
                "which the API server requires",
                hint="add `namespace: {{ kube.namespace }}` to the subject (a .yaml.tmpl), or the namespace "
                "the ServiceAccount lives in",
            )
            continue
        if not isinstance(namespace, str) or not isinstance(name, str):
            continue
        if doc.rendered and namespace == "default":  # what `{{ kube.namespace }}` renders to in lint
            continue
        if name in accounts and accounts[name] == namespace:
            continue  # the formula puts that ServiceAccount in that namespace itself
        where = (
            "the formula's ServiceAccount of that name goes into the install namespace"
            if name in accounts and not accounts[name]
            else "kube installs into the namespace given with -n"
        )
        yield finding(
            "manifest-rbac-subject-namespace",
            doc.path,
            doc.line_of(["subjects", index, "namespace"]),
            f"{doc.kind}/{doc.metadata['name']}: subject ServiceAccount/{name} hard-codes namespace "
            f"`{namespace}`, but {where}",
        )


def _test_object(doc: KubeObject) -> Iterator[Finding]:
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


def _selector(doc: KubeObject) -> dict[str, Any]:
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


def _test_labels(
    doc: KubeObject, selectors: Sequence[tuple[KubeObject, dict[str, Any]]]
) -> Iterator[Finding]:
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


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
