"""Lint rules on templates: they render with the formula's default values, and stand alone.

Templates are rendered by the code ``kube install`` uses (``kube.render``),
with the K3.yaml defaults and ``kube.namespace`` = "default"; the hook is not
run, so every value a template reads needs a default in K3.yaml. The output
is then checked like any manifest. A finding in the output points at the
template line that wrote it, found by aligning the output with the template
document by document (``_mapper``), else at the template with the rendered
line in the message.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kube.core.errors import FormulaError, KubeError
from kube.core.findings import Finding
from kube.lint.manifests import load_file, parse_text
from kube.lint.rules import ALL_RULES, FORMAT_DOC, doc_anchor, finding

if TYPE_CHECKING:
    from kube.formula.load import Formula
    from kube.k8s.objects import KubeObject

LINT_NAMESPACE = "default"
_KEY = re.compile(r"^(\s*(?:- )?[\"']?[A-Za-z0-9_.\-/]+[\"']?:)(?:\s|$)")


def check_includes(text: str, shown: str) -> list[Finding]:
    """A warning for each include/import/extends: templates ought to stand alone (FORMAT.md)."""
    if not _STATEMENTS.search(text):
        return []  # no name token `include`, `import` or `extends`: no such node, nothing to parse
    from jinja2 import TemplateSyntaxError, nodes

    try:
        tree = _parser().parse(text)
    except TemplateSyntaxError:
        return []  # rendering reports it, with the line
    found = []
    for node in tree.find_all((nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends)):
        what = {"FromImport": "from ... import", "Extends": "extends"}.get(
            type(node).__name__, type(node).__name__
        )
        found.append(finding("template-include", shown, node.lineno, f"the template uses `{what.lower()}`"))
    return found


# Include, Import, FromImport and Extends nodes come only from statements that start with these
# names (``from x import y`` holds ``import``), and a name token is the literal text of the
# template (no line statements, no extensions): a template without any of them has none.
_STATEMENTS = re.compile(r"include|import|extends")


@functools.cache
def _parser() -> Any:
    """The environment ``check_includes`` parses with: parsing reads only its configuration
    (the defaults) and keeps nothing of a template, so one serves every template."""
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment()


def lint_shards(formula: Formula) -> tuple[dict[str, Any], ...]:
    """The default shards (K3.yaml ``shards:``), named after the formula as an unnamed install's."""
    from kube.formula import shards

    return shards.expand(formula.shards, formula.name) if formula.shards is not None else ()


def check_shards(
    formula: Formula, directory: Path, rels: list[str], base: str, kube_version: str | None = None
) -> tuple[list[KubeObject], list[Finding]]:
    """The files of manifests/shards/ rendered once per default shard. A finding at the same line
    of the same file is reported once (for the first shard that has it), and an object two shards
    both render is ``shard-duplicate`` (its later copies are left out of the other checks)."""
    from kube.formula import shards
    from kube.formula.render import shard_key

    docs: list[KubeObject] = []
    findings: list[Finding] = []
    reported: set[tuple[str, int, str]] = set()
    first: dict[tuple[str, str, str, str], str] = {}
    budget = shards.Budget()
    for shard in lint_shards(formula):
        name = str(shard["name"])
        for rel in rels:
            shown = f"{base}/{rel}"
            if rel.endswith(".tmpl"):
                found_docs, found = check_template(formula, directory / rel, shown, kube_version, shard=shard)
            else:
                found_docs, found = load_file(directory / rel, shown)
            stop = budget.spent(len(found_docs))
            if stop is not None:
                hint = f"lower the default of `{shards.VALUE}` in K3.yaml, or render less per shard"
                findings.append(finding("template-render", shown, 0, f"shard {name}: {stop}", hint=hint))
                return docs, findings
            for doc in found_docs:
                other = first.setdefault(shard_key(doc), name)
                if other == name:
                    docs.append(doc)
                    continue
                message = f"{doc.kind}/{doc.name} is also rendered for shard {other}"
                found.append(finding("shard-duplicate", shown, doc.line_of(["metadata", "name"]), message))
            for item in found:
                if (item.path, item.line, item.rule) not in reported:
                    reported.add((item.path, item.line, item.rule))
                    findings.append(replace(item, message=f"shard {name}: {item.message}"))
    return docs, findings


def check_template(
    formula: Formula | None,
    path: Path,
    shown: str,
    kube_version: str | None = None,
    *,
    shard: dict[str, Any] | None = None,
) -> tuple[list[KubeObject], list[Finding]]:
    """Render one template with the default values (and ``shard``, for a file of manifests/shards/),
    for Kubernetes ``kube_version`` (what ``kube.capabilities`` says offline); its objects (lines
    mapped back) and findings."""
    from kube.formula import manifests, templating
    from kube.formula.values import merge_values
    from kube.k8s import capabilities

    try:
        source = manifests.read(path, shown)
    except FormulaError as exc:
        return [], [render_finding(f) for f in exc.findings]
    findings = check_includes(source, shown)
    if formula is None:
        return [], findings  # K3.yaml is broken (reported there): no values to render with
    kube = templating.KubeInfo(
        formula.name,
        str(formula.version),
        LINT_NAMESPACE,
        capabilities_from=capabilities.offline(kube_version),
        shards=lint_shards(formula),
    )
    values = merge_values(formula.values)
    if shard is not None:
        values["shard"] = shard
    try:
        output = templating.render_template(source, display=shown, values=values, kube=kube)
    except KubeError as exc:
        inner = list(getattr(exc, "findings", ()))
        findings += [render_finding(replace(f, path=shown)) for f in inner] or [
            finding("template-render", shown, 0, exc.message, hint=exc.hint)
        ]
        return [], findings
    docs, problems = parse_text(output, shown, template=True, remap=_LineMap(source, output))
    for problem in problems:
        # The reader names the rendered line in the message ("rendered output is not valid YAML at line 6").
        rule = "template-render" if problem.rule == "manifest-parse" else problem.rule
        findings.append(finding(rule, shown, problem.line, problem.message, hint=problem.hint))
    return docs, findings


def render_finding(inner: Finding) -> Finding:
    """A finding of the renderer (or the reader under it) as lint's ``template-render``, with the
    fix its cause calls for: the renderer's own when the cause decides it (the sandbox, an
    include, a budget), else that of the renderer's rule (a default for an undefined value)."""
    hint = inner.hint or (ALL_RULES[inner.rule].hint if inner.rule in ALL_RULES else None)
    if inner.hint and (anchor := doc_anchor("template-render")):
        hint = f"{inner.hint}; see {FORMAT_DOC}#{anchor}"
    return finding("template-render", inner.path, inner.line, inner.message, hint=hint)


class _LineMap(Mapping[int, int]):
    """``_mapper(template, output)``, worked out the first time a finding asks for a line: most
    templates render clean, and the alignment is a third of linting one."""

    def __init__(self, template: str, output: str) -> None:
        self._template, self._output = template, output

    @functools.cached_property
    def _lines(self) -> dict[int, int]:
        return _mapper(self._template, self._output)

    def __getitem__(self, line: int) -> int:
        return self._lines[line]

    def __iter__(self) -> Iterator[int]:
        return iter(self._lines)

    def __len__(self) -> int:
        return len(self._lines)


def _mapper(template: str, output: str) -> dict[int, int]:
    """Rendered line -> template line.

    The output is aligned with the template document by document (at ``---``, when both have
    as many documents), in order: a line matches a template line with the same text, or the
    same key at the same indentation (``image: {{ image }}`` wrote ``image: nginx``). So a
    key that appears on several lines maps to the right one. Between two matched lines, the
    output lines all come from the one template line there (an ``{{ x | indent }}``), or
    one-to-one from as many. Lines that alignment leaves out fall back to a template line
    with their text, or their key, when exactly one has it."""
    t_lines, o_lines = template.splitlines(), output.splitlines()
    t_docs, o_docs = _documents(t_lines), _documents(o_lines)
    if len(t_docs) != len(o_docs):
        t_docs, o_docs = [(0, len(t_lines))], [(0, len(o_lines))]
    mapping: dict[int, int] = {}
    for t_range, o_range in zip(t_docs, o_docs, strict=True):
        _align(t_lines, t_range, o_lines, o_range, mapping)
    for number, target in _unique(t_lines, o_lines).items():
        mapping.setdefault(number, target)
    return mapping


_SEPARATOR = re.compile(r"^---(?:\s|$)")
_CONTROL = re.compile(r"^\s*(?:\{%.*%\}|\{#.*#\})\s*$")
# The alignment's work grows with the pairs of equal lines (a key repeated on thousands of
# lines); past this many, a document uses the fallback alone, so a template cannot stall lint.
_ALIGN_LIMIT = 2_000_000


def _documents(lines: list[str]) -> list[tuple[int, int]]:
    """[start, end) line ranges of the YAML documents (split at ``---`` lines)."""
    ranges: list[tuple[int, int]] = []
    start = 0
    for index, text in enumerate(lines):
        if _SEPARATOR.match(text):
            ranges.append((start, index))
            start = index + 1
    ranges.append((start, len(lines)))
    return ranges


def _signature(text: str) -> str:
    match = _KEY.match(text)
    return "key " + match.group(1) if match else "text " + text.strip()


def _align(
    t_lines: list[str],
    t_range: tuple[int, int],
    o_lines: list[str],
    o_range: tuple[int, int],
    mapping: dict[int, int],
) -> None:
    import difflib
    from collections import Counter

    (t0, t1), (o0, o1) = t_range, o_range
    t_sig = [_signature(t) for t in t_lines[t0:t1]]
    o_sig = [_signature(o) for o in o_lines[o0:o1]]
    t_count, o_count = Counter(t_sig), Counter(o_sig)
    if sum(n * o_count[sig] for sig, n in t_count.items()) > _ALIGN_LIMIT:
        return
    matcher = difflib.SequenceMatcher(None, t_sig, o_sig, autojunk=False)
    t_done = o_done = 0
    for t_at, o_at, size in matcher.get_matching_blocks():
        _gap(t_lines, t0 + t_done, t0 + t_at, o0 + o_done, o0 + o_at, mapping)
        for offset in range(size):
            mapping[o0 + o_at + offset + 1] = t0 + t_at + offset + 1
        t_done, o_done = t_at + size, o_at + size


def _gap(t_lines: list[str], t_from: int, t_to: int, o_from: int, o_to: int, mapping: dict[int, int]) -> None:
    """Output lines ``o_from..o_to`` that came from template lines ``t_from..t_to`` (0-based)."""
    if o_from >= o_to:
        return
    writers = [i for i in range(t_from, t_to) if t_lines[i].strip() and not _CONTROL.match(t_lines[i])]
    if len(writers) == 1:
        for o in range(o_from, o_to):
            mapping[o + 1] = writers[0] + 1
    elif len(writers) == o_to - o_from:
        for o, t in zip(range(o_from, o_to), writers, strict=True):
            mapping[o + 1] = t + 1


def _unique(t_lines: list[str], o_lines: list[str]) -> dict[int, int]:
    """Rendered line -> template line, for the lines whose text or key is on exactly one template line."""
    by_text: dict[str, list[int]] = {}
    by_key: dict[str, list[int]] = {}
    for number, text in enumerate(t_lines, start=1):
        by_text.setdefault(text.rstrip(), []).append(number)
        match = _KEY.match(text)
        if match:
            by_key.setdefault(match.group(1), []).append(number)
    mapping: dict[int, int] = {}
    for number, text in enumerate(o_lines, start=1):
        exact = by_text.get(text.rstrip(), [])
        match = _KEY.match(text)
        keyed = by_key.get(match.group(1), []) if match else []
        if len(exact) == 1:
            mapping[number] = exact[0]
        elif len(keyed) == 1:
            mapping[number] = keyed[0]
    return mapping
