"""Lint rules on templates: they render with the formula's default values, and stand alone.

Templates are rendered by the code ``kube install`` uses (``kube.render``),
with the K3.yaml defaults and ``kube.namespace`` = "default"; the hook is not
run, so every value a template reads needs a default in K3.yaml. The output
is then checked like any manifest. A finding in the output points at the
template line that wrote it when that line can be told (the same key at the
same indentation on exactly one template line), else at the template with the
rendered line in the message.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from kube.core.errors import FormulaError, KubeError
from kube.core.findings import Finding
from kube.lint.manifests import parse_text
from kube.lint.rules import finding

if TYPE_CHECKING:
    from kube.formula.load import Formula
    from kube.k8s.objects import KubeObject

LINT_NAMESPACE = "default"
_KEY = re.compile(r"^(\s*(?:- )?[\"']?[A-Za-z0-9_.\-/]+[\"']?:)(?:\s|$)")


def check_includes(text: str, shown: str) -> list[Finding]:
    """A warning for each include/import/extends: templates ought to stand alone (FORMAT.md)."""
    from jinja2 import TemplateSyntaxError, nodes
    from jinja2.sandbox import SandboxedEnvironment

    try:
        tree = SandboxedEnvironment().parse(text)
    except TemplateSyntaxError:
        return []  # rendering reports it, with the line
    found = []
    for node in tree.find_all((nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends)):
        what = {"FromImport": "from ... import", "Extends": "extends"}.get(
            type(node).__name__, type(node).__name__
        )
        found.append(finding("template-include", shown, node.lineno, f"the template uses `{what.lower()}`"))
    return found


def check_template(
    formula: Formula | None, path: Path, shown: str, kube_version: str | None = None
) -> tuple[list[KubeObject], list[Finding]]:
    """Render one template with the default values, for Kubernetes ``kube_version`` (what
    ``kube.capabilities`` says offline); its objects (lines mapped back) and findings."""
    from kube.formula import manifests, render
    from kube.k8s import capabilities

    try:
        source = manifests.read(path, shown)
    except FormulaError as exc:
        return [], [finding("template-render", f.path, f.line, f.message) for f in exc.findings]
    findings = check_includes(source, shown)
    if formula is None:
        return [], findings  # K3.yaml is broken (reported there): no values to render with
    kube = render.KubeInfo(
        formula.name,
        str(formula.version),
        LINT_NAMESPACE,
        capabilities_from=capabilities.offline(kube_version),
    )
    try:
        output = render.render_template(
            source, display=shown, values=render.merge_values(formula.values), kube=kube
        )
    except KubeError as exc:
        inner = list(getattr(exc, "findings", ()))
        findings += [finding("template-render", shown, f.line, f.message) for f in inner] or [
            finding("template-render", shown, 0, exc.message)
        ]
        return [], findings
    docs, problems = parse_text(output, shown, template=True, remap=_mapper(source, output))
    for problem in problems:
        # The reader names the rendered line in the message ("rendered output is not valid YAML at line 6").
        rule = "template-render" if problem.rule == "manifest-parse" else problem.rule
        findings.append(finding(rule, shown, problem.line, problem.message, hint=problem.hint))
    return docs, findings


def _mapper(template: str, output: str) -> dict[int, int]:
    """Rendered line -> template line, for the lines whose key appears on exactly one template line."""
    by_text: dict[str, list[int]] = {}
    by_key: dict[str, list[int]] = {}
    for number, text in enumerate(template.splitlines(), start=1):
        by_text.setdefault(text.rstrip(), []).append(number)
        match = _KEY.match(text)
        if match:
            by_key.setdefault(match.group(1), []).append(number)
    mapping: dict[int, int] = {}
    for number, text in enumerate(output.splitlines(), start=1):
        exact = by_text.get(text.rstrip(), [])
        match = _KEY.match(text)
        keyed = by_key.get(match.group(1), []) if match else []
        if len(exact) == 1:
            mapping[number] = exact[0]
        elif len(keyed) == 1:
            mapping[number] = keyed[0]
    return mapping
