"""The formula model: strict ``K3.yaml`` loading into frozen dataclasses, and safe file listing.

Every problem is collected, never just the first: each is a ``Finding`` at ``file:line``
with a breadcrumb (``dependencies[0].version: ...``). Unknown keys are warnings.
"""

from __future__ import annotations

import difflib
import os
import re
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kube.core.errors import FormulaError, NotFoundError
from kube.core.findings import Finding, Severity, errors
from kube.core.paths import METADATA_FILE
from kube.core.text import quote
from kube.formula import shards as shard_rules
from kube.formula.hook_needs import PYTHON_EXAMPLE, REQUIRES_EXAMPLE, HookNeed, HookNeeds
from kube.formula.versions import Version, VersionError, VersionRange
from kube.formula.yaml_strict import NeedStrictLoad, line_of, load_one, load_one_fast, read_capped, to_plain

NAME_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
K3_LIMIT = 256 * 1024  # a real K3.yaml is a few KiB; a 50 MB one fails before it is read
MAX_FILES = 10_000
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json", ".yaml.tmpl", ".json.tmpl")
REQUIRED_KEYS = ("name", "version", "home", "description", "maintainers")
KNOWN_KEYS = (
    *REQUIRED_KEYS,
    "dependencies",
    "details",
    "keywords",
    "values",
    "hook",
    "lint",
    "patches",
    "shards",
)
IGNORE_KEYS = ("rule", "file", "reason")
HOOK_KEYS = ("python", "requires")
RESERVED_VALUES = ("kube",)  # templates see the reserved ``kube`` object beside the values

_CONTACT = r"(?:[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+|(?:https?|git|ssh)://[^\s<>]+)"
_MAINTAINER_RE = re.compile(rf"(?P<name>[^<>\x00-\x1f\x7f]*[^<>\s\x00-\x1f\x7f])\s+<{_CONTACT}>")
_HOME_RE = re.compile(rf"{_CONTACT}|mailto:[^@\s<>]+@\S+|[^<>\x00-\x1f\x7f]*\S\s+<{_CONTACT}>", re.IGNORECASE)
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def is_valid_name(name: object) -> bool:
    """A DNS-1123 label: lowercase letters, digits and '-', at most 63, alphanumeric at both ends."""
    return isinstance(name, str) and NAME_RE.fullmatch(name) is not None


DEPENDENCY_KEYS = ("name", "version", "namespace", "scope", "values", "patches")
SCOPES = ("namespace", "cluster")


@dataclass(frozen=True)
class Dependency:
    """One ``dependencies`` entry. Satisfied by a release in the dependent's namespace, or in
    ``namespace`` when given; ``scope: cluster`` (an operator, a CRD provider) by one anywhere.
    ``values`` are given to it when ``--with-deps`` installs it."""

    name: str
    range: VersionRange
    line: int
    namespace: str | None = None
    scope: str = "namespace"
    values: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    # Patch files of the dependent formula applied to the dependency when --with-deps installs it.
    patches: tuple[str, ...] = ()

    @property
    def cluster_wide(self) -> bool:
        return self.scope == "cluster"

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "version": str(self.range)}
        if self.namespace:
            data["namespace"] = self.namespace
        if self.cluster_wide:
            data["scope"] = self.scope
        if self.values:
            data["values"] = self.values
        if self.patches:
            data["patches"] = list(self.patches)
        return data


_RULE_ID = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")


@dataclass(frozen=True)
class LintIgnore:
    """One ``lint.ignore`` entry: findings of ``rule`` in ``file`` (a path inside the formula,
    e.g. ``manifests/daemonset.yaml``; None for the whole formula) are not reported, for ``reason``."""

    rule: str
    file: str | None
    reason: str
    line: int


@dataclass(frozen=True)
class Formula:
    name: str
    version: Version
    home: str
    description: str
    maintainers: tuple[str, ...]
    dependencies: tuple[Dependency, ...]
    details: str
    keywords: tuple[str, ...]
    values: dict[str, Any] = field(compare=False)
    path: Path
    warnings: tuple[Finding, ...]
    lint_ignores: tuple[LintIgnore, ...] = ()
    hook: HookNeeds | None = None
    # Patch files (paths inside the formula) applied to its own rendered objects, in order.
    patches: tuple[str, ...] = ()
    #: K3.yaml ``shards:`` (a count or a list of mappings), the default of the value ``shards``;
    #: None when the formula has no shards (kube.formula.shards).
    shards: int | list[dict[str, Any]] | None = field(default=None, compare=False)

    @property
    def k3_path(self) -> Path:
        return self.path / METADATA_FILE

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready metadata (for ``-o json`` and the search index)."""
        return {
            "name": self.name,
            "version": str(self.version),
            "home": self.home,
            "description": self.description,
            "maintainers": list(self.maintainers),
            "dependencies": [d.to_dict() for d in self.dependencies],
            "details": self.details,
            "keywords": list(self.keywords),
            "values": self.values,
            **({"shards": self.shards} if self.shards is not None else {}),
        }


def _crumb(key: object) -> str:
    """A key as a breadcrumb part; quoted (so escaped) unless it is a plain word."""
    text = str(key)
    return text if re.fullmatch(r"[\w.-]{1,60}", text, re.ASCII) else quote(text)


def _kind(value: object) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "a string" if isinstance(value, str) else "nothing"


def _display(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return path.relative_to(root).as_posix()
        except ValueError:
            pass
    return str(path)


def _raise(findings: list[Finding]) -> None:
    errs = errors(findings)
    if errs:
        more = f" (and {len(errs) - 1} more problems)" if len(errs) > 1 else ""
        raise FormulaError(f"{errs[0]}{more}", findings=errs)


class _Checker:
    """Collects findings for one K3.yaml; ``where`` is the breadcrumb, e.g. ``maintainers[1]``."""

    def __init__(self, display: str, text: str) -> None:
        self.display = display
        self.lines = text.splitlines()
        self.findings: list[Finding] = []

    def add(self, line: int, rule: str, where: str, message: str, *, warn: bool = False) -> None:
        severity = Severity.WARNING if warn else Severity.ERROR
        text = f"{where}: {message}" if where else message
        self.findings.append(Finding(self.display, line, rule, text, severity))

    def source_text(self, node: Any, key: Any) -> str:
        """The scalar as written, e.g. ``1.10`` for a value YAML read as the float 1.1."""
        try:
            lc = getattr(node, "lc")  # noqa: B009  (node is Any; keep mypy from narrowing it)
            row, col = lc.value(key) if isinstance(node, dict) else lc.item(key)
            match = re.match(r"[^\s,\]}#]+", self.lines[row][col:])
        except (AttributeError, KeyError, IndexError, TypeError):
            match = None
        return match.group(0) if match else str(node[key])

    def string(
        self, node: Any, key: Any, where: str, *, required: bool, multiline: bool = False
    ) -> str | None:
        value = node[key] if isinstance(node, list) else node.get(key)
        line = line_of(node, key)
        if value is None:
            if required:
                self.add(line, "k3-required", where, "is required")
            return None
        if isinstance(value, bool | int | float):
            written = self.source_text(node, key)
            what = "a boolean" if isinstance(value, bool) else f"the number {value}"
            self.add(line, "k3-type", where, f'YAML reads {written} as {what}; quote it: "{written}"')
            return None
        if not isinstance(value, str):
            self.add(line, "k3-type", where, f"expected a string, got {_kind(value)}")
            return None
        text = str(value).strip("\n") if multiline else str(value).strip()
        if not text.strip():
            self.add(line, "k3-required", where, "must not be empty")
            return None
        if not multiline and "\n" in text:
            self.add(line, "k3-single-line", where, "must be a single line")
            return None
        if _CONTROL_RE.search(text):
            self.add(line, "k3-control-chars", where, "contains control characters", warn=True)
        return text

    def items(self, node: Any, key: str, what: str) -> list[Any]:
        value = node.get(key)
        if value is None or isinstance(value, list):
            return value or []
        self.add(line_of(node, key), "k3-type", key, f"expected a list of {what}, got {_kind(value)}")
        return []


def _check_maintainers(c: _Checker, doc: Any) -> tuple[str, ...]:
    line, value = line_of(doc, "maintainers"), doc.get("maintainers")
    if value is None or value == []:
        c.add(line, "k3-required", "maintainers", 'needs at least one "Name <email-or-url>"')
    seq = c.items(doc, "maintainers", '"Name <email-or-url>"')
    found: list[str] = []
    for i in range(len(seq)):
        text = c.string(seq, i, f"maintainers[{i}]", required=True)
        if text is not None and _MAINTAINER_RE.fullmatch(text):
            found.append(text)
        elif text is not None:
            message = f'expected "Name <email-or-url>", got {quote(text)}'
            c.add(line_of(seq, i), "k3-maintainer", f"maintainers[{i}]", message)
    return tuple(found)


def _check_dependency(
    c: _Checker, item: Any, where: str, own: str | None, seen: dict[str, str]
) -> str | None:
    """The dependency's name, when it is a usable one."""
    for key in item:
        if key not in DEPENDENCY_KEYS:
            c.add(line_of(item, key), "k3-unknown-key", f"{where}.{_crumb(key)}", "unknown key", warn=True)
    name = c.string(item, "name", f"{where}.name", required=True)
    line = line_of(item, "name")
    if name is None:
        return None
    if not is_valid_name(name):
        c.add(line, "k3-name", f"{where}.name", f"{quote(name)} is not a valid formula name")
        return None
    if name == own:
        c.add(line, "k3-dependency", f"{where}.name", "a formula cannot depend on itself")
    elif name in seen:
        c.add(line, "k3-dependency", f"{where}.name", f"{quote(name)} is already listed as {seen[name]}")
    seen.setdefault(name, where)
    return name


def _check_dependencies(c: _Checker, doc: Any, own: str | None) -> tuple[Dependency, ...]:
    deps: list[Dependency] = []
    seen: dict[str, str] = {}
    seq = c.items(doc, "dependencies", "{name, version} mappings")
    for i, item in enumerate(seq):
        where, line = f"dependencies[{i}]", line_of(seq, i)
        if not isinstance(item, dict):
            c.add(line, "k3-type", where, f"expected a mapping with name and version, got {_kind(item)}")
            continue
        name = _check_dependency(c, item, where, own, seen)
        # FORMAT.md: an empty range, like `*`, admits any version.
        blank = isinstance(item.get("version"), str) and not item["version"].strip()
        text = None if blank else c.string(item, "version", f"{where}.version", required=False)
        vline, version_range = line_of(item, "version"), VersionRange.any()
        if text is not None:
            try:
                version_range = VersionRange.parse(text)
            except VersionError as exc:
                c.add(vline, "k3-range", f"{where}.version", str(exc))
                continue
            if not version_range.is_satisfiable():
                c.add(vline, "k3-range-empty", f"{where}.version", f"no version can satisfy {quote(text)}")
        patches = _check_patch_files(c, item, "patches", f"{where}.patches")
        if name is not None:
            deps.append(Dependency(name, version_range, line, *_check_placement(c, item, where), patches))
    return tuple(deps)


def _check_placement(c: _Checker, item: Any, where: str) -> tuple[str | None, str, dict[str, Any]]:
    """A dependency's ``namespace``, ``scope`` and ``values``."""
    namespace = c.string(item, "namespace", f"{where}.namespace", required=False)
    if namespace is not None and not is_valid_name(namespace):
        c.add(
            line_of(item, "namespace"),
            "k3-name",
            f"{where}.namespace",
            f"{quote(namespace)} is not a valid namespace",
        )
        namespace = None
    scope = c.string(item, "scope", f"{where}.scope", required=False) or "namespace"
    if scope not in SCOPES:
        c.add(
            line_of(item, "scope"),
            "k3-type",
            f"{where}.scope",
            f"expected namespace or cluster, got {quote(scope)}",
        )
        scope = "namespace"
    elif scope == "cluster" and namespace is not None:
        message = (
            "scope: cluster is satisfied in any namespace; namespace only says where --with-deps installs it"
        )
        c.add(line_of(item, "scope"), "k3-dependency", f"{where}.scope", message, warn=True)
    values = item.get("values")
    if values is None:
        return namespace, scope, {}
    if not isinstance(values, dict) or not all(isinstance(k, str) for k in values):
        c.add(
            line_of(item, "values"), "k3-type", f"{where}.values", f"expected a mapping, got {_kind(values)}"
        )
        return namespace, scope, {}
    plain = to_plain(values)
    return namespace, scope, plain if isinstance(plain, dict) else {}


def _check_patch_files(c: _Checker, node: Any, key: str, where: str) -> tuple[str, ...]:
    """``patches: [patches/x.yaml]``: relative POSIX paths inside the formula (kube.formula.patches)."""
    if node.get(key) is None:
        return ()
    if isinstance(node.get(key), str):
        c.add(
            line_of(node, key), "k3-type", where, "expected a list like [patches/replicas.yaml], got a string"
        )
        return ()
    value = node.get(key)
    if not isinstance(value, list):
        c.add(line_of(node, key), "k3-type", where, f"expected a list of patch files, got {_kind(value)}")
        return ()
    found: list[str] = []
    for i in range(len(value)):
        text = c.string(value, i, f"{where}[{i}]", required=True)
        if text is None:
            continue
        parts = text.split("/")
        if text.startswith("/") or "\\" in text or any(part in ("", ".", "..") for part in parts):
            message = f"{quote(text)} is not a path inside the formula, like patches/replicas.yaml"
            c.add(line_of(value, i), "k3-patch", f"{where}[{i}]", message)
        elif text in found:
            c.add(line_of(value, i), "k3-patch", f"{where}[{i}]", f"{quote(text)} is listed twice")
        else:
            found.append(text)
    return tuple(found)


def _check_keywords(c: _Checker, doc: Any) -> tuple[str, ...]:
    if isinstance(doc.get("keywords"), str):
        c.add(
            line_of(doc, "keywords"), "k3-type", "keywords", "expected a list like [web, demo], got a string"
        )
        return ()
    seq = c.items(doc, "keywords", "strings")
    texts = [c.string(seq, i, f"keywords[{i}]", required=True) for i in range(len(seq))]
    return tuple(t for t in texts if t is not None)


def _check_values(c: _Checker, doc: Any) -> dict[str, Any]:
    values = doc.get("values")
    if values is None:
        return {}
    if not isinstance(values, dict):
        c.add(line_of(doc, "values"), "k3-type", "values", f"expected a mapping, got {_kind(values)}")
        return {}
    ok = True
    for key in values:
        if not isinstance(key, str):
            c.add(line_of(values, key), "k3-type", "values", f"keys must be strings, got {quote(key)}")
            ok = False
        elif key in RESERVED_VALUES:
            message = f"{quote(key)} is reserved for the templates' own {key} object"
            c.add(line_of(values, key), "k3-reserved", f"values.{key}", message)
            ok = False
    plain = to_plain(values)
    return plain if ok and isinstance(plain, dict) else {}


def _check_shards(c: _Checker, doc: Any, values: dict[str, Any]) -> int | list[dict[str, Any]] | None:
    """``shards:``, a count or a list of per-shard mappings (kube.formula.shards); it becomes the
    default of the value ``shards``, added to ``values``."""
    spec = doc.get("shards")
    if spec is None:
        return None
    found = shard_rules.problems(spec, str(doc.get("name") or "shard"))
    for path, message in found:
        node: Any = spec
        for part in path[:-1]:
            node = node[part]
        line = line_of(node, path[-1]) if path else line_of(doc, "shards")
        c.add(line, "k3-shards", shard_rules.where(path), message)
    for key in (shard_rules.VALUE, shard_rules.SHARD):
        if key in values:
            message = f"{quote(key)} is reserved in a sharded formula; set the default with shards:"
            c.add(line_of(doc.get("values"), key), "k3-reserved", f"values.{key}", message)
    plain = to_plain(spec)
    if found or not isinstance(plain, int | list):
        return None
    values[shard_rules.VALUE] = plain
    return plain


def _unknown_keys(c: _Checker, node: Any, known: tuple[str, ...], where: str) -> None:
    for key in node:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f"; did you mean {quote(close[0])}?" if close else ""
            crumb = f"{where}.{_crumb(key)}" if where else _crumb(key)
            c.add(line_of(node, key), "k3-unknown-key", crumb, f"unknown key{hint}", warn=True)


def _ignore_file(c: _Checker, item: Any, where: str) -> tuple[bool, str | None]:
    """(usable, file) for the ``file`` of one ignore entry: a relative POSIX path inside the formula."""
    if item.get("file") is None:
        return True, None
    text = c.string(item, "file", f"{where}.file", required=False)
    if text is None:
        return False, None
    parts = text.split("/")
    if text.startswith("/") or "\\" in text or any(part in ("", ".", "..") for part in parts):
        message = f"{quote(text)} is not a path inside the formula, like manifests/daemonset.yaml"
        c.add(line_of(item, "file"), "k3-lint", f"{where}.file", message)
        return False, None
    return True, text


def _ignore_rule(c: _Checker, item: Any, where: str) -> str | None:
    # Whether the id names a rule, and one that may be ignored, is kube lint's business
    # (kube.lint.run.apply_ignores): the loader only checks the shape, so that a formula naming a
    # rule of a newer kube lint still installs with this one.
    rule = c.string(item, "rule", f"{where}.rule", required=True)
    if rule is None:
        return None
    if not _RULE_ID.fullmatch(rule):
        message = f"{quote(rule)} is not a rule id, like manifest-hostpath"
        c.add(line_of(item, "rule"), "k3-lint", f"{where}.rule", message)
        return None
    return rule


def _check_lint(c: _Checker, doc: Any) -> tuple[LintIgnore, ...]:
    """``lint: {ignore: [{rule, file, reason}]}``: warnings the formula declares why it needs."""
    lint = doc.get("lint")
    if lint is None:
        return ()
    if not isinstance(lint, dict):
        c.add(
            line_of(doc, "lint"),
            "k3-type",
            "lint",
            f"expected a mapping like {{ignore: [...]}}, got {_kind(lint)}",
        )
        return ()
    _unknown_keys(c, lint, ("ignore",), "lint")
    seq = c.items(lint, "ignore", "{rule, file, reason} mappings")
    found: list[LintIgnore] = []
    seen: dict[tuple[str, str | None], str] = {}
    for i, item in enumerate(seq):
        where = f"lint.ignore[{i}]"
        if not isinstance(item, dict):
            c.add(
                line_of(seq, i),
                "k3-type",
                where,
                f"expected a mapping with rule and reason, got {_kind(item)}",
            )
            continue
        _unknown_keys(c, item, IGNORE_KEYS, where)
        rule = _ignore_rule(c, item, where)
        usable, file = _ignore_file(c, item, where)
        reason = c.string(item, "reason", f"{where}.reason", required=True)
        if rule is None or not usable or reason is None:
            continue
        key = (rule, file)
        if key in seen:
            message = (
                f"{quote(rule)} for {quote(file or 'the whole formula')} is already ignored by {seen[key]}"
            )
            c.add(line_of(seq, i), "k3-lint", where, message)
            continue
        seen[key] = where
        found.append(LintIgnore(rule, file, reason, line_of(seq, i)))
    return tuple(found)


def _check_hook(c: _Checker, doc: Any) -> HookNeeds | None:
    """``hook: {python, requires}``: the shape only. Whether the texts are valid PEP 440 is for
    kube lint and for the hook runner to say (``kube.formula.hook_needs``), which keeps
    ``packaging`` out of every command that merely reads formulas."""
    hook = doc.get("hook")
    if hook is None:
        return None
    line = line_of(doc, "hook")
    if not isinstance(hook, dict):
        example = f"{{python: {PYTHON_EXAMPLE}, requires: [{REQUIRES_EXAMPLE}]}}"
        c.add(line, "k3-type", "hook", f"expected a mapping like {example}, got {_kind(hook)}")
        return None
    _unknown_keys(c, hook, HOOK_KEYS, "hook")
    python_text = c.string(hook, "python", "hook.python", required=False)
    python = HookNeed(python_text, line_of(hook, "python")) if python_text is not None else None
    if isinstance(hook.get("requires"), str):
        message = f"expected a list like [{REQUIRES_EXAMPLE}], got a string"
        c.add(line_of(hook, "requires"), "k3-type", "hook.requires", message)
        return HookNeeds(python, (), line)
    seq = c.items(hook, "requires", f"requirements like {REQUIRES_EXAMPLE}")
    requires: list[HookNeed] = []
    for i in range(len(seq)):
        text = c.string(seq, i, f"hook.requires[{i}]", required=True)
        if text is not None:
            requires.append(HookNeed(text, line_of(seq, i)))
    return HookNeeds(python, tuple(requires), line)


def _check_doc(c: _Checker, doc: Any, dir_name: str) -> dict[str, Any] | None:
    """The validated fields, or None when the document is not a mapping at all."""
    if not isinstance(doc, dict):
        rule, got = ("k3-empty", "nothing") if doc is None else ("k3-type", _kind(doc))
        c.add(line_of(doc), rule, "", f"expected a mapping with {', '.join(REQUIRED_KEYS)}; got {got}")
        return None
    _unknown_keys(c, doc, KNOWN_KEYS, "")
    name = c.string(doc, "name", "name", required=True)
    if name is not None and not is_valid_name(name):
        message = f"{quote(name)} is not a valid name (lowercase letters, digits and '-', at most 63)"
        c.add(line_of(doc, "name"), "k3-name", "name", message)
    elif name is not None and name != dir_name:
        message = f"{quote(name)} does not match the directory name {quote(dir_name)}"
        c.add(line_of(doc, "name"), "k3-name", "name", message)
    version = None
    version_text = c.string(doc, "version", "version", required=True)
    if version_text is not None:
        try:
            version = Version.parse(version_text)
        except VersionError as exc:
            c.add(line_of(doc, "version"), "k3-version", "version", str(exc))
    home = c.string(doc, "home", "home", required=True)
    if home is not None and not _HOME_RE.fullmatch(home):
        example = '"https://example.com/x" or "Jane <jane@example.com>"'
        message = f"expected a URL or contact like {example}, got {quote(home)}"
        c.add(line_of(doc, "home"), "k3-home", "home", message)
    values = _check_values(c, doc)
    return {
        "name": name,
        "version": version,
        "home": home,
        "description": c.string(doc, "description", "description", required=True),
        "maintainers": _check_maintainers(c, doc),
        "dependencies": _check_dependencies(c, doc, name),
        "details": c.string(doc, "details", "details", required=False, multiline=True) or "",
        "keywords": _check_keywords(c, doc),
        "values": values,
        "lint_ignores": _check_lint(c, doc),
        "hook": _check_hook(c, doc),
        "patches": _check_patch_files(c, doc, "patches", "patches"),
        "shards": _check_shards(c, doc, values),
    }


def _dir_problem(directory: Path, display: str) -> Finding | None:
    try:
        st = os.lstat(directory)
    except FileNotFoundError:
        raise NotFoundError(f"formula directory {display} does not exist") from None
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
        kind = "a symbolic link" if stat.S_ISLNK(st.st_mode) else "not a directory"
        return Finding(display, 0, "formula-path", f"is {kind}; a formula is a directory")
    return None


def _fast_fields(text: str, display: str, dir_name: str) -> dict[str, Any] | None:
    """The validated fields when libyaml reads ``text`` and they hold no finding at all (errors and
    warnings need ruamel's exact lines); None means: take the ruamel path."""
    try:
        doc = load_one_fast(text)
    except NeedStrictLoad:
        return None
    checker = _Checker(display, text)
    fields = _check_doc(checker, doc, dir_name)
    return None if checker.findings else fields


def _check(
    directory: Path, display_root: Path | None, *, tree: bool, fast: bool = False
) -> tuple[Formula | None, list[Finding]]:
    display = _display(directory, display_root)
    dir_name = directory.name or directory.resolve().name  # "." names the current directory
    if not is_valid_name(dir_name):
        message = f"directory name {quote(dir_name)} is not a formula name (lowercase letters, digits, '-')"
        return None, [Finding(display, 0, "formula-name", message)]
    problem = _dir_problem(directory, display)
    if problem is not None:
        return None, [problem]
    k3_display = f"{display}/{METADATA_FILE}"
    findings: list[Finding] = []
    fields: dict[str, Any] | None = None
    try:
        text = read_capped(directory / METADATA_FILE, limit=K3_LIMIT, display=k3_display)
        fields = _fast_fields(text, k3_display, dir_name) if fast else None
        if fields is not None and not tree:
            return Formula(path=directory, warnings=(), **fields), []
        if fields is None:  # a finding, or a text libyaml may read otherwise: ruamel, with lines
            checker = _Checker(k3_display, text)
            fields = _check_doc(checker, load_one(text, source=k3_display), dir_name)
            findings += sorted(checker.findings, key=lambda f: f.line)
    except FormulaError as exc:
        findings += exc.findings
    if tree:
        try:
            formula_files(directory, display_root=display_root)
        except FormulaError as exc:
            findings += exc.findings
    if fields is None or errors(findings):
        return None, findings
    return Formula(path=directory, warnings=tuple(findings), **fields), findings


def check_formula(
    directory: Path, *, display_root: Path | None = None, fast: bool = False
) -> tuple[Formula | None, list[Finding]]:
    """Every finding (errors and warnings, K3.yaml and the file tree); the Formula when there is no error.

    With ``fast``, a K3.yaml that holds no finding is read with libyaml (as ``load_formula``
    does); one with a finding always takes the ruamel path, so the findings are the same."""
    return _check(directory, display_root, tree=True, fast=fast)


def load_formula(directory: Path, *, display_root: Path | None = None, fast: bool = True) -> Formula:
    """The formula in ``directory`` (its K3.yaml only; the file tree is checked by ``formula_files``).

    A K3.yaml without any finding is read with libyaml when it can be (``fast``); anything
    else, or ``fast=False``, takes the ruamel path, which gives the same result with lines.
    Raises FormulaError with every error, or NotFoundError when the directory is missing."""
    formula, findings = _check(directory, display_root, tree=False, fast=fast)
    _raise(findings)
    if formula is None:  # no errors, yet no formula: cannot happen, but never return None
        raise FormulaError(f"{_display(directory, display_root)} could not be loaded")
    return formula


def _tree_problem(entry: os.DirEntry[str], where: str) -> Finding | None:
    """Why ``entry`` may not be in a formula, if it may not; directories and regular files may."""
    if ".." in entry.name or _CONTROL_RE.search(entry.name) or "\\" in entry.name:
        return Finding(where, 0, "formula-path", "has a file name not allowed in a formula")
    if entry.is_symlink():
        message = (
            f"is a symbolic link (to {quote(os.readlink(entry.path))}); formulas hold only regular files"
        )
        return Finding(where, 0, "formula-symlink", message)
    if entry.is_dir(follow_symlinks=False) or entry.is_file(follow_symlinks=False):
        return None
    message = "is not a regular file (a device, FIFO or socket); formulas hold only regular files"
    return Finding(where, 0, "formula-special-file", message)


def formula_files(directory: Path, *, display_root: Path | None = None) -> list[Path]:
    """Every regular file under ``directory``, sorted by relative path (a top-level ``.git`` is skipped).

    Symlinks (wherever they point), devices, FIFOs, sockets and names with ".." or
    control characters are errors. Nothing is followed, so nothing listed can resolve
    outside ``directory``."""
    display = _display(directory, display_root)
    problem = _dir_problem(directory, display)
    _raise([problem] if problem else [])
    files: list[tuple[str, Path]] = []
    findings: list[Finding] = []
    pending: list[tuple[Path, str]] = [(directory, "")]
    while pending and len(files) <= MAX_FILES:
        folder, prefix = pending.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError as exc:
            findings.append(
                Finding(f"{display}/{prefix}", 0, "formula-path", f"cannot be read: {exc.strerror}")
            )
            continue
        for entry in entries:
            rel = prefix + entry.name
            where = f"{display}/{quote(rel)[1:-1]}"  # escaped: a name may hold control characters
            try:
                found = _tree_problem(entry, where)
                if found is None and entry.is_dir(follow_symlinks=False):
                    if rel != ".git":
                        pending.append((Path(entry.path), rel + "/"))
                elif found is None:
                    files.append((rel, Path(entry.path)))
            except OSError as exc:  # the tree changed under us
                found = Finding(where, 0, "formula-path", f"cannot be read: {exc.strerror}")
            if found is not None:
                findings.append(found)
    if len(files) > MAX_FILES:
        findings.append(Finding(display, 0, "formula-size", f"holds more than {MAX_FILES} files"))
    _raise(sorted(findings))
    return [path for _, path in sorted(files)]


def formula_files_in_tree(
    directory: Path,
    listing: Sequence[tuple[str, int, str]],
    *,
    link_target: Callable[[str], str],
    display_root: Path | None = None,
) -> list[Path]:
    """``formula_files`` for a formula read from git's tree instead of the disk (a sparse
    checkout holds only some of its files): ``listing`` is ``(path in the formula, mode,
    object)`` of every blob, symlink and submodule under it. The same files and the same
    findings as ``formula_files`` on a full checkout of that tree."""
    display = _display(directory, display_root)
    files: list[tuple[str, Path]] = []
    findings: set[Finding] = set()
    for rel, mode, obj in listing:
        parts = rel.split("/")
        bad = next(
            (i for i, part in enumerate(parts) if ".." in part or _CONTROL_RE.search(part) or "\\" in part),
            None,
        )
        if bad is not None:  # the walk stops at the first bad name, a directory's included
            where = f"{display}/{quote('/'.join(parts[: bad + 1]))[1:-1]}"
            findings.add(Finding(where, 0, "formula-path", "has a file name not allowed in a formula"))
            continue
        where = f"{display}/{quote(rel)[1:-1]}"
        if stat.S_ISLNK(mode):
            message = f"is a symbolic link (to {quote(link_target(obj))}); formulas hold only regular files"
            findings.add(Finding(where, 0, "formula-symlink", message))
        elif stat.S_ISREG(mode):
            files.append((rel, directory / rel))
        # a submodule (160000) is an empty directory in a checkout: nothing to list
    if len(files) > MAX_FILES:
        findings.add(Finding(display, 0, "formula-size", f"holds more than {MAX_FILES} files"))
        files = sorted(files)[: MAX_FILES + 1]
    _raise(sorted(findings))
    return [path for _, path in sorted(files)]


def manifest_files(directory: Path, *, display_root: Path | None = None, shards: bool = False) -> list[Path]:
    """The files directly in ``manifests/`` with an allowed suffix, in name order (the whole
    formula is checked as ``formula_files`` does); ``shards``: those of ``manifests/shards/``."""
    manifests = directory / "manifests"
    if shards:
        manifests = manifests / shard_rules.SHARDS_DIR
    return [
        path
        for path in formula_files(directory, display_root=display_root)
        if path.parent == manifests and path.name.endswith(MANIFEST_SUFFIXES)
    ]
