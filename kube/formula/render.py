"""Render a formula's ``manifests/`` into Kubernetes objects.

Files are read in name order: ``.yaml``/``.yml`` hold one or more YAML
documents (strict YAML 1.2: no tags, no duplicate keys, bounded aliases),
``.json`` one JSON document, ``.yaml.tmpl``/``.json.tmpl`` are Jinja templates
(see ``kube.templating`` for what they can do) whose output is read the same
way. Each document is one object or a ``kind: List`` of them; empty documents
are skipped. Each object needs apiVersion, kind and a string metadata.name.

Every problem becomes a Finding with the file and line (rule ids:
``template-syntax``, ``template-undefined``, ``template-sandbox``,
``template-error``, ``template-output``, ``manifest-object``,
``manifest-json``, ``manifest-file``; YAML parse errors keep the rule of
``kube.yamlsafe``); all of them, across all files, are raised together as one
``RenderError``. A template whose output is not valid YAML is reported against
the template, with the line of the rendered output and that line's text.
Objects read from a template carry the template's name as their source (no
line: a rendered line means nothing in the template). Messages never show a
secret value: every value that did not come from the formula's defaults (and
every value under a key named like a password) is shown as ``<redacted>``
(``kube.values.secret_masker``), in the quoted line too, before it is cut to
length.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kube.core.errors import FormulaError, RenderError
from kube.core.findings import Finding
from kube.formula.templating import OUTPUT_LIMIT, KubeInfo, render_template
from kube.formula.templating import render_error as _render_error
from kube.formula.values import MASK, merge_values, secret_masker
from kube.k8s.objects import KubeObject

if TYPE_CHECKING:
    from kube.formula.load import Formula

__all__ = [
    "MANIFEST_LIMIT",
    "OUTPUT_LIMIT",
    "KubeInfo",
    "merge_values",
    "render_manifests",
    "render_template",
]

#: Largest manifest or template file read.
MANIFEST_LIMIT = 4 * 1024 * 1024


def render_manifests(
    formula: Formula, directory: Path, values: dict[str, Any], *, namespace: str
) -> list[KubeObject]:
    """Every object of the formula in ``directory`` (the staged copy), in file order."""
    from kube.formula.load import manifest_files

    kube = KubeInfo(formula.name, str(formula.version), namespace)
    redact = secret_masker(values, formula.values)
    objects: list[KubeObject] = []
    findings: list[Finding] = []
    for path in manifest_files(directory):
        display = path.relative_to(directory).as_posix()
        try:
            objects.extend(_load_file(directory, display, values, kube, findings, redact))
        except FormulaError as exc:
            findings.extend(exc.findings or [Finding(display, 0, "manifest-file", exc.message)])
    if findings:
        more = f" (and {len(findings) - 1} more problems)" if len(findings) > 1 else ""
        raise RenderError(f"{findings[0]}{more}", findings=findings)
    return objects


Redact = Callable[[str], str]


def _load_file(
    directory: Path,
    display: str,
    values: Mapping[str, Any],
    kube: KubeInfo,
    findings: list[Finding],
    redact: Redact,
) -> Iterator[KubeObject]:
    from kube.formula import yaml_strict as yamlsafe

    path = directory / display
    if path.is_symlink() or not path.resolve().is_relative_to(directory.resolve()):
        raise _render_error(display, 0, "manifest-file", "is a symlink or lies outside the formula")
    text = yamlsafe.read_capped(path, limit=MANIFEST_LIMIT, display=display)
    template = display.endswith(".tmpl")
    if template:
        text = render_template(text, display=display, values=values, kube=kube, redact=redact)
    else:
        redact = _same  # the formula's own file: nothing in it came from the values
    if display.removesuffix(".tmpl").endswith(".json"):
        docs = [(_load_json(text, display, template, redact), _first_line(text))]
    else:
        docs = _load_yaml(text, display, template, redact)
    for number, (doc, line) in enumerate(docs, start=1):
        where = f"document {number} (rendered line {line})" if template else ""
        source = display if template else f"{display}:{line}"
        yield from _objects(doc, display, 0 if template else line, where, source, findings, redact)


def _same(text: str) -> str:
    return text


def _load_yaml(text: str, display: str, rendered: bool, redact: Redact) -> list[tuple[Any, int]]:
    from kube.formula import yaml_strict as yamlsafe

    try:
        nodes = yamlsafe.load_all(text, source=display)
    except FormulaError as exc:
        if not rendered:
            raise
        findings = [_output_finding(display, text, f, redact) for f in exc.findings] or [
            Finding(display, 0, "template-output", redact(exc.message))
        ]
        raise RenderError(str(findings[0]), findings=findings) from None
    return [(yamlsafe.to_plain(node), _line_of(node)) for node in nodes]


# `password: value` in a quoted line: the value is masked whatever its length or source.
_SECRET_LINE = re.compile(
    r"""^(\s*(?:-\s+)?["']?[\w.-]*(?:passw|secret|token|credential|private)[\w.-]*["']?\s*:\s*)\S.*$""",
    re.IGNORECASE,
)


def _output_finding(display: str, text: str, finding: Finding, redact: Redact) -> Finding:
    lines = text.splitlines()
    shown = ""
    if 0 < finding.line <= len(lines):
        # Masked before it is cut, so no part of a secret is left at the cut.
        line = _SECRET_LINE.sub(lambda m: m.group(1) + MASK, redact(lines[finding.line - 1].strip()))
        shown = f": {line[:80]!r}"
    message = f"rendered output is not valid YAML at line {finding.line}{shown}: {redact(finding.message)}"
    return Finding(display, 0, "template-output", message)


def _load_json(text: str, display: str, rendered: bool, redact: Redact) -> Any:
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in items:
            if key in result:
                raise ValueError(f"duplicate key {key!r}")
            result[key] = value
        return result

    def constant(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    rule = "template-output" if rendered else "manifest-json"
    prefix = "rendered output is not valid JSON: " if rendered else ""
    try:
        return json.loads(text, object_pairs_hook=pairs, parse_constant=constant)
    except json.JSONDecodeError as exc:
        raise _render_error(
            display, 0 if rendered else exc.lineno, rule, f"{prefix}line {exc.lineno}: {redact(exc.msg)}"
        ) from None
    except ValueError as exc:
        raise _render_error(display, 0, rule, f"{prefix}{redact(str(exc))}") from None
    except RecursionError:
        raise _render_error(display, 0, rule, f"{prefix}nested too deep") from None


def _first_line(text: str) -> int:
    return text[: len(text) - len(text.lstrip())].count("\n") + 1


def _line_of(node: Any) -> int:
    from kube.formula import yaml_strict as yamlsafe

    try:
        return int(yamlsafe.line_of(node))
    except Exception:  # scalars and None carry no position
        return 0


def _objects(
    doc: Any,
    display: str,
    line: int,
    where: str,
    source: str,
    findings: list[Finding],
    redact: Redact,
) -> Iterator[KubeObject]:
    if doc is None:
        return
    problem = redact(_problem(doc))
    if problem:
        findings.append(
            Finding(display, line, "manifest-object", f"{where + ': ' if where else ''}{problem}")
        )
        return
    if doc["kind"] == "List":
        for index, item in enumerate(doc.get("items") or []):
            item_where = f"{where + ' ' if where else ''}items[{index}]"
            nested = redact(_problem(item)) or (
                "a List cannot contain another List" if item.get("kind") == "List" else ""
            )
            if nested:
                findings.append(Finding(display, line, "manifest-object", f"{item_where}: {nested}"))
            else:
                yield KubeObject(item, source)
        return
    yield KubeObject(doc, source)


def _problem(doc: Any) -> str:
    if not isinstance(doc, dict):
        return f"a document must be a Kubernetes object (a mapping), not {type(doc).__name__}"
    for key in ("apiVersion", "kind"):
        if not isinstance(doc.get(key), str) or not doc[key]:
            return f"missing {key} (every object needs apiVersion, kind and metadata.name)"
    if doc["kind"] == "List":
        return "" if isinstance(doc.get("items", []), list | None) else "a List's items must be a list"
    metadata = doc.get("metadata")
    if not isinstance(metadata, dict):
        return f"{doc['kind']} has no metadata mapping (every object needs metadata.name)"
    name = metadata.get("name")
    if not isinstance(name, str) or not name:
        return f"{doc['kind']} has no metadata.name (a non-empty string)"
    if "namespace" in metadata and not isinstance(metadata["namespace"], str):
        return f"{doc['kind']}/{name}: metadata.namespace must be a string"
    for key in ("labels", "annotations"):
        if metadata.get(key) is not None and not isinstance(metadata[key], dict):
            return f"{doc['kind']}/{name}: metadata.{key} must be a mapping"
    return ""
