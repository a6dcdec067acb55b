"""Patches: edits to the rendered objects that the templates do not parametrize (KPM's patches).

A patch file is YAML or JSON (strict YAML 1.2, ``kube.formula.yaml_strict``: no tags, no
duplicate keys, bounded aliases; at most ``PATCH_FILE_LIMIT`` bytes), a list of entries::

    - target: {kind: Deployment, name: web}       # also group, version, namespace
      patch:                                     # RFC 6902 operations, or
        - {op: replace, path: /spec/replicas, value: 4}
    - target: {kind: ConfigMap, name: web-config}
      merge: {data: {greeting: hi}}              # an RFC 7386 merge patch

Every key a target gives must match: ``kind`` and ``name`` always, ``group`` (``""`` for the
core group) and ``version`` the object's apiVersion, ``namespace`` the namespace the object
is created in (its own, else the install namespace). An entry applies to every object it
matches, in order; entries apply in file order, files in the order given. RFC 6902 runs through
the ``jsonpatch`` library one operation at a time, so an error names the operation.

Anything wrong is a ``FormulaError`` (exit 4) raised before anything reaches the cluster, one
finding at ``file:line`` naming the entry (``[0]``), the operation (``[0].patch[1]``) and the
object: a malformed file or entry, a target that matches no object, a failed ``test``, an
operation whose path does not exist, and a result that is no longer the object (not a mapping,
no apiVersion, kind or metadata.name, or another group, kind, name or namespace).

A ``PatchSet`` is what a revision records (``to_json``/``from_json``): a recorded set is checked
again as it is read back, since a record is as untrusted as a file.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from kube.core.errors import FormulaError
from kube.core.findings import Finding
from kube.core.text import quote
from kube.k8s.objects import KubeObject

__all__ = [
    "MAX_ENTRIES",
    "MAX_OPERATIONS",
    "OBJECT_LIMIT",
    "PATCH_FILE_LIMIT",
    "PatchEntry",
    "PatchSet",
    "Target",
    "apply_patches",
    "merge_patch",
    "parse_patch_set",
    "read_patch_file",
]

#: Largest patch file read.
PATCH_FILE_LIMIT = 1024 * 1024
#: Most entries in one patch file, and most RFC 6902 operations in all its entries together.
MAX_ENTRIES = 1000
MAX_OPERATIONS = 5000
#: Largest object (as compact JSON) a patch may produce; the API server stores at most ~1.5 MiB.
OBJECT_LIMIT = 2 * 1024 * 1024

TARGET_KEYS = ("kind", "name", "group", "version", "namespace")
ENTRY_KEYS = ("target", "patch", "merge")
OPERATIONS = {
    "add": ("path", "value"),
    "remove": ("path",),
    "replace": ("path", "value"),
    "move": ("from", "path"),
    "copy": ("from", "path"),
    "test": ("path", "value"),
}

Line = Callable[..., int]


@dataclass(frozen=True)
class Target:
    kind: str
    name: str
    group: str | None = None
    version: str | None = None
    namespace: str | None = None

    def matches(self, obj: KubeObject, namespace: str | None) -> bool:
        """Whether ``obj``, created in ``namespace`` (None: cluster-scoped), is this target."""
        version = obj.api_version.rpartition("/")[2]
        return (
            obj.kind == self.kind
            and obj.name == self.name
            and (self.group is None or obj.group == self.group)
            and (self.version is None or version == self.version)
            and (self.namespace is None or namespace == self.namespace)
        )

    @property
    def display(self) -> str:
        api = ""
        if self.group is not None or self.version is not None:
            group = "*" if self.group is None else (self.group or "core")
            api = f"{group}/{self.version or '*'} "
        where = f" in namespace {self.namespace}" if self.namespace is not None else ""
        return f"{api}{self.kind}/{self.name}{where}"

    def to_json(self) -> dict[str, str]:
        return {k: v for k in TARGET_KEYS if (v := getattr(self, k)) is not None}


@dataclass(frozen=True)
class PatchEntry:
    """One entry: ``operations`` (RFC 6902) or ``merge`` (RFC 7386), never both."""

    target: Target
    index: int
    line: int = field(default=0, compare=False)
    operations: tuple[Mapping[str, Any], ...] | None = field(default=None, hash=False)
    merge: Any = field(default=None, hash=False)
    op_lines: tuple[int, ...] = field(default=(), compare=False, hash=False)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"target": self.target.to_json()}
        if self.operations is not None:
            out["patch"] = [dict(op) for op in self.operations]
        else:
            out["merge"] = self.merge
        return out


@dataclass(frozen=True)
class PatchSet:
    """The entries of one patch file; ``source`` names it in messages and in the revision."""

    source: str
    entries: tuple[PatchEntry, ...]

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "entries": [e.to_json() for e in self.entries]}

    @classmethod
    def from_json(cls, data: Any, *, what: str = "a recorded patch") -> PatchSet:
        """A set as ``to_json`` wrote it (a revision's ``patches``), checked again."""
        if not isinstance(data, dict) or not isinstance(data.get("source"), str) or not data["source"]:
            raise _error(what, 0, "is not a {source, entries} mapping")
        return parse_patch_set(data.get("entries"), data["source"])


def _error(source: str, line: int, message: str, rule: str = "patch") -> FormulaError:
    finding = Finding(source, line, rule, message)
    return FormulaError(str(finding), findings=[finding], hint="fix the patch file, or drop it")


def _line(node: Any, key: Any = None) -> int:
    from kube.formula.yaml_strict import line_of

    try:
        return int(line_of(node, key))
    except Exception:  # plain JSON data carries no lines
        return 0


def _kind(value: Any) -> str:
    from kube.formula.manifests import what

    return what(value)


def read_patch_file(path: Path, display: str | None = None) -> PatchSet:
    """The patch file at ``path`` (a regular file, not a link), named ``display`` in messages."""
    from kube.formula import yaml_strict

    shown = display or str(path)
    text = yaml_strict.read_capped(path, limit=PATCH_FILE_LIMIT, display=shown)
    # JSON is YAML 1.2: one strict reader for both.
    node = yaml_strict.load_one(text, source=shown)
    return parse_patch_set(node, shown)


def parse_patch_set(node: Any, source: str) -> PatchSet:
    """Check the shape of a patch file's document (ruamel nodes, or plain data) and read it."""
    from kube.formula.yaml_strict import to_plain

    if not isinstance(node, list):
        raise _error(source, _line(node), f"expected a list of {{target, patch}} entries, got {_kind(node)}")
    if len(node) > MAX_ENTRIES:
        raise _error(source, 0, f"holds {len(node)} entries; a patch file may hold at most {MAX_ENTRIES}")
    entries: list[PatchEntry] = []
    operations = 0
    for index, item in enumerate(node):
        entry = _entry(item, index, _line(node, index), source, to_plain)
        operations += len(entry.operations or ())
        if operations > MAX_OPERATIONS:
            raise _error(source, entry.line, f"holds more than {MAX_OPERATIONS} operations")
        entries.append(entry)
    return PatchSet(source, tuple(entries))


def _entry(item: Any, index: int, line: int, source: str, to_plain: Callable[[Any], Any]) -> PatchEntry:
    where = f"[{index}]"
    if not isinstance(item, dict):
        raise _error(
            source, line, f"{where}: expected a mapping with target and patch or merge, got {_kind(item)}"
        )
    for key in item:
        if key not in ENTRY_KEYS:
            raise _error(source, _line(item, key), f"{where}.{key}: unknown key (use target, patch or merge)")
    target = _target(item.get("target"), f"{where}.target", _line(item, "target") or line, source)
    if ("patch" in item) == ("merge" in item):
        raise _error(source, line, f"{where}: give either patch (RFC 6902 operations) or merge (RFC 7386)")
    if "merge" in item:
        return PatchEntry(target, index, line, merge=to_plain(item["merge"]))
    ops_node = item["patch"]
    if not isinstance(ops_node, list):
        got = _kind(ops_node)
        raise _error(source, _line(item, "patch"), f"{where}.patch: expected a list of operations, got {got}")
    ops: list[Mapping[str, Any]] = []
    lines: list[int] = []
    for i, op in enumerate(ops_node):
        op_line = _line(ops_node, i) or line
        ops.append(_operation(to_plain(op), f"{where}.patch[{i}]", op_line, source))
        lines.append(op_line)
    return PatchEntry(target, index, line, operations=tuple(ops), op_lines=tuple(lines))


def _target(node: Any, where: str, line: int, source: str) -> Target:
    if not isinstance(node, dict):
        raise _error(
            source,
            line,
            f"{where}: expected a mapping like {{kind: Deployment, name: web}}, got {_kind(node)}",
        )
    fields: dict[str, str] = {}
    for key, value in node.items():
        if key not in TARGET_KEYS:
            raise _error(
                source, _line(node, key), f"{where}.{key}: unknown key (use {', '.join(TARGET_KEYS)})"
            )
        if not isinstance(value, str) or (not value and key != "group"):
            raise _error(
                source, _line(node, key), f"{where}.{key}: expected a non-empty string, got {_kind(value)}"
            )
        fields[key] = value
    for key in ("kind", "name"):
        if key not in fields:
            raise _error(source, line, f"{where}.{key}: is required")
    return Target(**fields)


def _operation(op: Any, where: str, line: int, source: str) -> Mapping[str, Any]:
    from jsonpointer import JsonPointer, JsonPointerException

    if not isinstance(op, dict):
        raise _error(
            source,
            line,
            f"{where}: expected an operation like {{op: replace, path: /a, value: 1}}, got {_kind(op)}",
        )
    name = op.get("op")
    if name not in OPERATIONS:
        raise _error(source, line, f"{where}.op: expected one of {', '.join(OPERATIONS)}, got {_kind(name)}")
    needed = OPERATIONS[name]
    for key in op:
        if key != "op" and key not in needed:
            raise _error(source, line, f"{where}.{key}: a {name} operation takes only {', '.join(needed)}")
    for key in needed:
        if key not in op:
            raise _error(source, line, f"{where}.{key}: a {name} operation needs it")
        if key in ("path", "from"):
            pointer = op[key]
            if not isinstance(pointer, str):
                raise _error(
                    source,
                    line,
                    f"{where}.{key}: expected a JSON pointer like /spec/replicas, got {_kind(pointer)}",
                )
            try:
                JsonPointer(pointer)
            except JsonPointerException as exc:
                raise _error(
                    source, line, f"{where}.{key}: {quote(pointer)} is not a JSON pointer ({exc})"
                ) from None
    return op


# -- applying -----------------------------------------------------------------------------------


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 section 2, exactly: a mapping merges key by key, null removes a key, anything else
    (a list included) replaces. ``target`` is not changed."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str))


def apply_patches(
    objects: Sequence[KubeObject], sets: Sequence[PatchSet], *, namespace: str
) -> list[KubeObject]:
    """``objects``, to be created in ``namespace``, with every set applied in order. Raises
    ``FormulaError`` as the module docstring says."""
    from kube.k8s.objects import Scopes, ref_of

    scopes = Scopes(objects)

    def namespace_of(obj: KubeObject) -> str | None:
        return ref_of(obj, namespace, scopes).namespace or None

    out = list(objects)
    for patch_set in sets:
        for entry in patch_set.entries:
            hits = [i for i, o in enumerate(out) if entry.target.matches(o, namespace_of(o))]
            if not hits:
                raise _error(
                    patch_set.source, entry.line,
                    f"[{entry.index}]: target {entry.target.display} matches no object of the render",
                )  # fmt: skip
            for i in hits:
                out[i] = _apply_entry(out[i], entry, patch_set.source, namespace_of)
    return out


def _apply_entry(
    obj: KubeObject, entry: PatchEntry, source: str, namespace_of: Callable[[KubeObject], str | None]
) -> KubeObject:
    from kube.formula.manifests import is_list, problem_of

    shown = f"{obj.kind}/{obj.name}"
    where = f"[{entry.index}]"
    if entry.operations is None:
        data: Any = merge_patch(obj.data, entry.merge)
        if _size(data) > OBJECT_LIMIT:
            raise _error(
                source, entry.line, f"{where}.merge on {shown}: the object would pass {OBJECT_LIMIT} bytes"
            )
        line = entry.line
    else:
        data, where, line = _apply_operations(obj, entry, source, shown)
    check, _, problem = problem_of(data)
    if check or is_list(data):
        problem = problem or "a patch cannot turn an object into a List"
        raise _error(source, line, f"{where} on {shown}: the result is no longer an object: {problem}")
    patched = replace(obj, data=data, node=None, remap=None)
    same = (patched.group, patched.kind, patched.name) == (obj.group, obj.kind, obj.name) and namespace_of(
        patched
    ) == namespace_of(obj)
    if not same:
        now = f"{patched.api_version} {patched.kind}/{patched.name}"
        ns = namespace_of(patched)
        now += f" in namespace {ns}" if ns else ""
        raise _error(
            source, line,
            f"{where} on {shown}: the result is {now}, no longer the object it patched "
            "(a patch may not change the group, kind, name or namespace)",
        )  # fmt: skip
    return patched


def _apply_operations(obj: KubeObject, entry: PatchEntry, source: str, shown: str) -> tuple[Any, str, int]:
    import jsonpatch
    from jsonpointer import JsonPointerException, resolve_pointer

    assert entry.operations is not None
    data: Any = copy.deepcopy(obj.data)
    # An upper bound of the object's size: add, replace and copy can only grow it by their value.
    budget = _size(data)
    where, line = f"[{entry.index}]", entry.line
    for i, op in enumerate(entry.operations):
        where = f"[{entry.index}].patch[{i}]"
        line = entry.op_lines[i] if i < len(entry.op_lines) else entry.line
        what = f"{where} ({op['op']} {op['path']})"
        try:
            if op["op"] == "copy":
                budget += _size(resolve_pointer(data, op["from"]))
            elif op["op"] in ("add", "replace"):
                budget += _size(op["value"])
            if budget > OBJECT_LIMIT:
                budget = _size(data)  # the bound ran past the limit: measure what there is
                if budget > OBJECT_LIMIT:
                    raise _error(
                        source, line, f"{what} on {shown}: the object would pass {OBJECT_LIMIT} bytes"
                    )
            data = jsonpatch.JsonPatch([dict(op)]).apply(data, in_place=True)
        except jsonpatch.JsonPatchTestFailed:
            # Not jsonpatch's message: it quotes the object's value, which may be a secret.
            message = f"{what} on {shown}: test failed: the value there is not the one tested"
            raise _error(source, line, message) from None
        except (jsonpatch.JsonPatchException, JsonPointerException) as exc:
            raise _error(source, line, f"{what} on {shown}: {_brief(exc)}") from None
        except (TypeError, ValueError, KeyError, IndexError) as exc:
            raise _error(source, line, f"{what} on {shown}: cannot be applied ({_brief(exc)})") from None
    return data, where, line


def _brief(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:199] + "…"


def carried(
    recorded: Sequence[Any] | None, given: Sequence[PatchSet], *, reset: bool = False
) -> tuple[PatchSet, ...]:
    """The patch sets of an upgrade (or diff): those the revision recorded (none with ``reset``),
    then ``given``; a given file of the same name as a recorded one replaces it."""
    try:
        kept = [] if reset else [PatchSet.from_json(p) for p in recorded or ()]
    except FormulaError as exc:
        raise FormulaError(
            f"the patches the release recorded cannot be read: {exc.message}",
            findings=exc.findings,
            hint="drop them with --reset-patches (and give the files again with --patch)",
        ) from None
    names = {g.source for g in given}
    return (*[k for k in kept if k.source not in names], *given)


def read_patch_files(paths: Sequence[Path]) -> tuple[PatchSet, ...]:
    """``--patch`` files, each named as given on the command line."""
    return tuple(read_patch_file(Path(p), str(p)) for p in paths)
