"""THE manifest reader: YAML, JSON or template output -> Kubernetes objects with file and line.

``kube install`` (``kube.formula.render``) and ``kube lint`` (``kube.lint.manifests``,
``kube.lint.templates``) both read manifests through here, so they never disagree about
whether a file parses, and say the same thing when it does not.

``.yaml``/``.yml`` text holds one or more YAML documents (strict YAML 1.2, ``kube.formula.
yaml_strict``); ``.json`` text one JSON document, refused on a duplicate key or a
``NaN``/``Infinity`` constant. Each document is one object or a ``kind: List`` of them;
empty documents are skipped. Each object needs a string apiVersion and kind, a
``metadata`` mapping with a non-empty string ``name``, a string ``metadata.namespace``
when set and mappings for labels and annotations.

A parse error raises a ``FormulaError`` (a ``RenderError`` for template output) whose
finding keeps the rule of ``yaml_strict`` (``yaml-*``), or is ``manifest-json``; template
output is reported against the template (rule ``template-output``) with the rendered line
and that line's text, masked by ``redact``. A document that is not an object is not an
error here: it comes back as a ``Refused`` so each caller can report it in its own terms
(install: rule ``manifest-object`` at the document's line; lint: its own rule at the field's
line), with the same message.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kube.core.errors import FormulaError, RenderError
from kube.core.findings import Finding
from kube.formula.values import MASK
from kube.k8s.objects import KubeObject

#: Largest file of a formula that kube reads (manifest, template, tests/ object), for lint and
#: install alike. Real packages' largest files are CRDs: argo-cd's ApplicationSet is 1.4 MB.
FILE_LIMIT = 4 * 1024 * 1024
MANIFEST_LIMIT = FILE_LIMIT
#: Largest formula, all its files together (argo-cd's CRDs and install.yaml come to 3 MB), for
#: lint, for install's render and for the copy a hook runs in.
FORMULA_LIMIT = 32 * 1024 * 1024

Redact = Callable[[str], str]


def same(text: str) -> str:
    return text


@dataclass(frozen=True)
class Refused:
    """A document (or List item) that is not a Kubernetes object kube can create.

    ``field`` is where the problem is (``("kind",)``; ``()`` for the whole document),
    ``check`` the kind of problem (``not-object``, ``api-version``, ``kind``, ``name``,
    ``list``): lint reports each under its own rule, install all under ``manifest-object``.
    """

    display: str
    line: int  # the document's line (the rendered line for template output)
    where: str  # "document 2 (rendered line 8) items[0]" or ""
    check: str
    field: tuple[str | int, ...]
    message: str
    node: Any = None

    @property
    def text(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


def read(path: Path, display: str) -> str:
    """The text of one manifest file (``read_capped`` under ``MANIFEST_LIMIT``)."""
    from kube.formula import yaml_strict

    return yaml_strict.read_capped(path, limit=MANIFEST_LIMIT, display=display)


def is_json(display: str) -> bool:
    return display.removesuffix(".tmpl").endswith(".json")


def parse(
    text: str,
    display: str,
    *,
    template: bool = False,
    redact: Redact = same,
    remap: Mapping[int, int] | None = None,
    nodes: bool = False,
    fast: bool = False,
) -> tuple[list[KubeObject], list[Refused]]:
    """The objects of one manifest's text (``template``: a template's output), and the documents
    refused as objects. ``nodes`` keeps each object's YAML node, so findings can name the line of
    a field (lint); ``remap`` maps rendered lines to template lines. ``fast`` reads YAML with
    libyaml where ``yaml_strict.load_all_fast`` is sure it reads it as ruamel does (the same
    data and lines), and with ruamel otherwise."""
    if not template:
        redact = same  # the formula's own file: nothing in it came from the values
    if is_json(display):
        docs = _load_json(text, display, template, redact, nodes)
    else:
        docs = _load_yaml(text, display, template, redact, nodes, fast)
    objects: list[KubeObject] = []
    refused: list[Refused] = []
    for number, (doc, node, line) in enumerate(docs, start=1):
        where = f"document {number} (rendered line {line})" if template else ""
        source = display if template else f"{display}:{line}"
        _expand(doc, node, display, line, where, source, objects, refused, redact, remap, nodes)
    return objects, refused


def _load_yaml(
    text: str, display: str, rendered: bool, redact: Redact, nodes: bool, fast: bool = False
) -> list[tuple[Any, Any, int]]:
    from kube.formula import yaml_strict

    if fast:
        try:
            quick = yaml_strict.load_all_fast(text)
        except yaml_strict.NeedStrictLoad:
            pass
        else:
            return [(yaml_strict.to_plain(node), node, _line_of(node)) for node in quick]
    try:
        if not nodes:
            # Install needs each document's data and line, no node: libyaml reads it when that is
            # exact, ruamel otherwise (and for every finding).
            return [(doc, None, line) for doc, line in yaml_strict.load_all_plain(text, source=display)]
        found = yaml_strict.load_all(text, source=display)
    except FormulaError as exc:
        if not rendered:
            raise
        findings = [_output_finding(display, text, f, redact) for f in exc.findings] or [
            Finding(display, 0, "template-output", redact(exc.message))
        ]
        raise RenderError(str(findings[0]), findings=findings) from None
    return [(yaml_strict.to_plain(node), node, _line_of(node)) for node in found]


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


def _load_json(
    text: str, display: str, rendered: bool, redact: Redact, nodes: bool
) -> list[tuple[Any, Any, int]]:
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
        data = json.loads(text, object_pairs_hook=pairs, parse_constant=constant)
    except json.JSONDecodeError as exc:
        raise render_error(
            display, 0 if rendered else exc.lineno, rule, f"{prefix}line {exc.lineno}: {redact(exc.msg)}"
        ) from None
    except ValueError as exc:
        raise render_error(display, 0, rule, f"{prefix}{redact(str(exc))}") from None
    except RecursionError:
        raise render_error(display, 0, rule, f"{prefix}nested too deep") from None
    line = _first_line(text)
    if nodes:
        from kube.formula import yaml_strict

        try:
            # JSON is YAML: its nodes know each field's line. Valid JSON that the strict YAML
            # reader refuses (deeper than its limit, say) is still read, without lines.
            [node] = yaml_strict.load_all(text, source=display)
            return [(data, node, line)]
        except (FormulaError, ValueError):
            pass
    return [(data, None, line)]


def _first_line(text: str) -> int:
    return text[: len(text) - len(text.lstrip())].count("\n") + 1


def _line_of(node: Any) -> int:
    from kube.formula import yaml_strict

    try:
        return int(yaml_strict.line_of(node))
    except Exception:  # scalars and None carry no position
        return 0


def _expand(
    doc: Any,
    node: Any,
    display: str,
    line: int,
    where: str,
    source: str,
    objects: list[KubeObject],
    refused: list[Refused],
    redact: Redact,
    remap: Mapping[int, int] | None,
    nodes: bool,
    *,
    nested: bool = False,
) -> None:
    """``doc`` is the plain data of ``node`` (ruamel's, or ``doc`` itself for JSON)."""
    if doc is None and not nested:
        return
    check, field, problem = problem_of(doc)
    if not check and nested and is_list(doc):
        check, field, problem = "list", ("kind",), "a List cannot contain another List"
    kept = node if nodes and hasattr(node, "lc") else None
    if check:
        refused.append(Refused(display, line, where, check, field, redact(problem), kept))
        return
    if not is_list(doc):
        objects.append(KubeObject(doc, source, line=line, node=kept, remap=remap))
        return
    from kube.formula import yaml_strict

    item_nodes = kept.get("items") if kept is not None else None
    for index, item in enumerate(doc.get("items") or []):
        item_node = item_nodes[index] if item_nodes is not None else None
        item_line = (yaml_strict.line_of(item_nodes, index) if item_nodes is not None else 0) or line
        item_where = f"{where + ' ' if where else ''}items[{index}]"
        _expand(item, item_node, display, item_line, item_where, source, objects, refused, redact,
                remap, nodes, nested=True)  # fmt: skip


def is_list(doc: Any) -> bool:
    """Whether ``doc`` is a list of objects: ``kind: List``, or a typed list (``ConfigMapList``,
    ``RoleList``: what ``kubectl get -o yaml`` writes, and what kubectl applies item by item)
    with its ``items``."""
    if not isinstance(doc, dict):
        return False
    kind = doc.get("kind")
    return kind == "List" or (isinstance(kind, str) and kind.endswith("List") and "items" in doc)


def problem_of(doc: Any) -> tuple[str, tuple[str | int, ...], str]:
    """(check, field, message) of a document that is not an object kube can create; ("", (), "")
    for one that is."""
    if not isinstance(doc, dict):
        return "not-object", (), f"a document must be a Kubernetes object (a mapping), not {what(doc)}"
    for key, check in (("apiVersion", "api-version"), ("kind", "kind")):
        if not isinstance(doc.get(key), str) or not doc[key]:
            return check, (key,), f"missing {key} (every object needs apiVersion, kind and metadata.name)"
    kind = doc["kind"]
    if is_list(doc):
        ok = isinstance(doc.get("items", []), list | None)
        return ("", (), "") if ok else ("list", ("items",), f"a {kind}'s items must be a list")
    metadata = doc.get("metadata")
    if not isinstance(metadata, dict):
        return "name", ("metadata",), f"{kind} has no metadata mapping (every object needs metadata.name)"
    name = metadata.get("name")
    if not isinstance(name, str) or not name:
        return "name", ("metadata", "name"), f"{kind} has no metadata.name (a non-empty string)"
    if "namespace" in metadata and not isinstance(metadata["namespace"], str):
        return "name", ("metadata", "namespace"), f"{kind}/{name}: metadata.namespace must be a string"
    for key in ("labels", "annotations"):
        if metadata.get(key) is not None and not isinstance(metadata[key], dict):
            return "name", ("metadata", key), f"{kind}/{name}: metadata.{key} must be a mapping"
    if (found := non_finite(doc)) is not None:
        path, value = found
        dotted = ".".join(str(p) for p in path)
        return (
            "number",
            path,
            (
                f"{kind}/{name}: `{dotted}` is {value}, a number JSON cannot hold, so no Kubernetes object "
                "can: quote it if it is text"
            ),
        )
    return "", (), ""


def non_finite(node: Any, path: tuple[str | int, ...] = ()) -> tuple[tuple[str | int, ...], float] | None:
    """The path and value of the first infinite or NaN number in ``node`` (YAML's ``.inf``, ``.nan``,
    ``1e400``); None when there is none."""
    if isinstance(node, float):
        return None if math.isfinite(node) else (path, node)
    if isinstance(node, dict):
        items: Any = node.items()
    elif isinstance(node, list):
        items = enumerate(node)
    else:
        return None
    for key, value in items:
        if isinstance(value, dict | list | float) and (found := non_finite(value, (*path, key))) is not None:
            return found
    return None


def what(value: Any) -> str:
    """How messages name a value that is not what was expected: ``a list``, ``a number (3)``."""
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


def render_error(path: str, line: int, rule: str, message: str, *, hint: str = "") -> RenderError:
    """A RenderError holding one Finding; ``hint`` is the fix when the cause alone decides it
    (a template the sandbox refuses: no value helps), else the caller picks one."""
    finding = Finding(path, line, rule, message, hint=hint)
    return RenderError(str(finding), findings=[finding], hint=hint or None)
