"""Render a formula's ``manifests/`` into Kubernetes objects.

Files are read in name order, by the reader ``kube lint`` uses too
(``kube.formula.manifests``): ``.yaml``/``.yml`` hold one or more YAML
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
``RenderError``, whose hint fits the first one's cause (``render_hint``): the values only
where a value can be at fault. A template whose output is not valid YAML is reported against
the template, with the line of the rendered output and that line's text.
Objects read from a template carry the template's name as their source (no
line: a rendered line means nothing in the template). Messages never show a
secret value: every value that did not come from the formula's defaults (and
every value under a key named like a password) is shown as ``<redacted>``
(``kube.values.secret_masker``), in the quoted line too, before it is cut to
length.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kube.core.errors import FormulaError, RenderError
from kube.core.findings import Finding
from kube.formula import manifests
from kube.formula import shards as shard_rules
from kube.formula.manifests import FORMULA_LIMIT, MANIFEST_LIMIT, Redact
from kube.formula.manifests import render_error as _render_error
from kube.formula.values import merge_values, secret_masker
from kube.k8s.objects import KubeObject

# Jinja (kube.formula.templating) and the patch engine are imported where a template or a
# patch is met: a formula of plain YAML renders without loading either.
if TYPE_CHECKING:
    from kube.formula.load import Formula
    from kube.formula.patches import PatchSet
    from kube.formula.templating import KubeInfo
    from kube.k8s.capabilities import Capabilities

__all__ = [
    "FORMULA_LIMIT",
    "MANIFEST_LIMIT",
    "merge_values",
    "render_manifests",
]


def render_manifests(
    formula: Formula,
    directory: Path,
    values: dict[str, Any],
    *,
    namespace: str,
    release: str | None = None,
    patches: Sequence[PatchSet] = (),
    capabilities: Capabilities | Callable[[], Capabilities] | None = None,
) -> list[KubeObject]:
    """Every object of the formula in ``directory`` (the staged copy), in file order, then the
    files of ``manifests/shards/`` once per shard (a sharded formula: see ``kube.formula.shards``).
    ``kube.release`` is ``release``, or the formula's name when none is given (``kube lint``, an
    unnamed install).

    Then the formula's own patches (K3.yaml ``patches``, files in ``directory``) and ``patches``
    (``--patch`` files, a dependent formula's) are applied, in that order (``kube.formula.patches``)."""
    from kube.formula.load import formula_files, manifest_files

    total = sum(path.lstat().st_size for path in formula_files(directory))
    if total > FORMULA_LIMIT:
        size = f"{total / 1048576:.1f} MiB"
        message = f"the formula's files add up to {size}, over the {FORMULA_LIMIT // 1048576} MiB limit"
        hint = "keep the formula small: fetch large data at run time, not from its files"
        raise _render_error(".", 0, "file-too-large", message, hint=hint)
    release = release or formula.name
    shards = shard_rules.from_values(values, release) if formula.shards is not None else ()
    read: list[Capabilities] = []

    def kube(text: str) -> KubeInfo:
        """The ``kube`` object of a template. The cluster's capabilities are read once, before the
        first template that names them renders: templates render under a memory limit that
        kubectl, started from inside one, would inherit. No other template makes kube ask."""
        from kube.formula.templating import KubeInfo

        found = capabilities
        if callable(found):
            if CAPABILITIES_WORD not in text:
                found = _unnamed
            else:
                read[:] = read or [found()]
                found = read[0]
        return KubeInfo(formula.name, str(formula.version), namespace, release, found, shards=shards)

    redact = secret_masker(values, formula.values)
    objects: list[KubeObject] = []
    findings: list[Finding] = []
    for path in manifest_files(directory):
        display = path.relative_to(directory).as_posix()
        try:
            objects.extend(_load_file(directory, display, values, kube, findings, redact))
        except FormulaError as exc:
            findings.extend(exc.findings or [Finding(display, 0, "manifest-file", exc.message)])
    if shards:
        files = [p.relative_to(directory).as_posix() for p in manifest_files(directory, shards=True)]
        objects.extend(_render_shards(directory, files, values, kube, shards, findings, redact))
    if findings:
        more = f" (and {len(findings) - 1} more problems)" if len(findings) > 1 else ""
        hint = render_hint(findings[0], formula.name)
        raise RenderError(f"{findings[0]}{more}", findings=findings, hint=hint)
    own = [formula_patch_set(directory, rel) for rel in formula.patches]
    if own or patches:
        from kube.formula.patches import apply_patches

        objects = apply_patches(objects, [*own, *patches], namespace=namespace)
    return objects


#: What a template's output or expression can fail on because of a value (one given with --set
#: or -f, or one the formula expects to be set): an undefined name, a type error, output that a
#: value broke (a ": " or a newline written unquoted), a document a value left without a kind.
_VALUE_RULES = frozenset({"template-undefined", "template-error", "template-output", "manifest-object"})


def render_hint(first: Finding, name: str) -> str:
    """What to do about the render error ``first`` of formula ``name``: the finding's own fix when
    its cause decides it (the sandbox, an include, a budget), the values when a template may have
    failed on one, else the file itself: a static manifest is the same whatever the values."""
    if first.hint:
        return first.hint
    if first.path.endswith(".tmpl") and first.rule in _VALUE_RULES:
        return f"check the values given with --set and -f against {name}'s own (`kube info {name} --values`)"
    return f"fix {first.path}, a file no value changes; `kube lint {name}` lists every problem"


CAPABILITIES_WORD = "capabilities"


def _unnamed() -> Capabilities:
    raise ValueError(
        "kube.capabilities is read from the cluster only for a template that names it: "
        "write kube.capabilities out"
    )


def formula_patch_set(directory: Path, rel: str, *, shown: str | None = None) -> PatchSet:
    """The patch file ``rel`` (a path K3.yaml gave, checked by the loader) of the formula in
    ``directory``: a regular file inside it, reached through no symbolic link."""
    path = directory / rel
    display = shown or rel
    here = directory.resolve()
    for part in [path, *path.parents]:
        if part == directory or not part.is_relative_to(directory):
            break
        if part.is_symlink():
            raise _render_error(display, 0, "patch-file", "is reached through a symbolic link")
    if not path.resolve().is_relative_to(here):
        raise _render_error(display, 0, "patch-file", "lies outside the formula")
    from kube.formula.patches import read_patch_file

    return read_patch_file(path, display)


def shard_key(obj: KubeObject) -> tuple[str, str, str, str]:
    """What must differ between two shards' objects: group, kind, namespace (as written), name."""
    return (obj.group, obj.kind, obj.namespace or "", obj.name)


def _render_shards(
    directory: Path,
    files: list[str],
    values: Mapping[str, Any],
    kube: Callable[[str], KubeInfo],
    shards: Sequence[dict[str, Any]],
    findings: list[Finding],
    redact: Redact,
) -> list[KubeObject]:
    """Each shard file once per shard, with ``shard`` beside the values. An object name that two
    shards both render is an error naming the file and both shards."""
    objects: list[KubeObject] = []
    first: dict[tuple[str, str, str, str], str] = {}
    budget = shard_rules.Budget()
    for shard in shards:
        name = str(shard["name"])
        context = {**values, shard_rules.SHARD: shard}
        for display in files:
            inner: list[Finding] = []
            sizes: list[int] = []
            try:
                found = list(_load_file(directory, display, context, kube, inner, redact, sizes))
            except FormulaError as exc:
                found = []
                inner.extend(exc.findings or [Finding(display, 0, "manifest-file", exc.message)])
            findings.extend(replace(f, message=f"shard {name}: {f.message}") for f in inner)
            stop = budget.spent(len(found), sum(sizes))
            if stop is not None:
                hint = f"ask for fewer shards (the `{shard_rules.VALUE}` value), or render less per shard"
                findings.append(Finding(display, 0, "template-limit", f"shard {name}: {stop}", hint=hint))
                return objects
            for obj in found:
                key = shard_key(obj)
                other = first.setdefault(key, name)
                if other != name:
                    message = (
                        f"shard {name}: {obj.kind}/{obj.name} is also rendered for shard {other}; "
                        "name each shard's objects after shard.name"
                    )
                    hint = f"fix {display}: put {{{{ shard.name }}}} in the names of its objects"
                    findings.append(Finding(display, 0, "shard-duplicate", message, hint=hint))
            objects.extend(found)
    return objects


def _load_file(
    directory: Path,
    display: str,
    values: Mapping[str, Any],
    kube: Callable[[str], KubeInfo],
    findings: list[Finding],
    redact: Redact,
    sizes: list[int] | None = None,
) -> Iterator[KubeObject]:
    path = directory / display
    if path.is_symlink() or not path.resolve().is_relative_to(directory.resolve()):
        raise _render_error(display, 0, "manifest-file", "is a symlink or lies outside the formula")
    text = manifests.read(path, display)
    template = display.endswith(".tmpl")
    if template:
        from kube.formula.templating import render_template

        text = render_template(text, display=display, values=values, kube=kube(text), redact=redact)
    if sizes is not None:
        sizes.append(len(text))
    objects, refused = manifests.parse(text, display, template=template, redact=redact)
    findings.extend(Finding(r.display, 0 if template else r.line, "manifest-object", r.text) for r in refused)
    return iter(objects)
