"""Strict YAML for K3.yaml and manifests: YAML 1.2 only, no custom tags, no duplicate keys,
bounded alias expansion and nesting, size-capped UTF-8 files.

Every problem is a ``FormulaError`` carrying one ``Finding`` at ``source:line`` with a
one-line message. ruamel.yaml is imported on first use, so modules that only read the
search index never pay for it.
"""

from __future__ import annotations

import functools
import importlib
import os
import re
import stat
from pathlib import Path
from typing import Any

from kube.core.errors import FormulaError
from kube.core.findings import Finding
from kube.core.text import quote

__all__ = [
    "MAX_DEPTH",
    "MAX_EXTRA_NODES",
    "NeedStrictLoad",
    "line_of",
    "load_all",
    "load_all_fast",
    "load_all_plain",
    "load_one",
    "load_one_fast",
    "read_capped",
    "resolve_plain",
    "to_plain",
]

# Deep enough for real CRD schemas; shallow enough that recursive walkers stay far
# from Python's recursion limit.
MAX_DEPTH = 128
# How many nodes aliases may add on top of the nodes written out; a "billion laughs"
# document adds ~10**9 and is refused after a walk of its few written nodes.
MAX_EXTRA_NODES = 100_000

MAX_NUMBER = 100  # digits; int() of thousands of digits is slow, and refused past 4300
_SIZE_CAP = 1 << 62

_CORE = "tag:yaml.org,2002:"
_NUMBERS = {f"{_CORE}int", f"{_CORE}float"}
_ALLOWED_TAGS = {f"{_CORE}{name}" for name in ("str", "int", "float", "bool", "null", "map", "seq")}
# The YAML 1.2 core schema has no timestamps; ruamel resolves them anyway, and
# "=" to a "value" tag its constructor cannot build. Both stay plain strings.
_AS_STRING = {f"{_CORE}timestamp", f"{_CORE}value"}
# The numbers of the YAML 1.2 core schema (spec 10.3.2), which ``--set`` types by too
# (kube.formula.values). ruamel's 1.2 rules still take YAML 1.1 forms (``1_000``, ``0b101``,
# ``0x_1``, ``+0x1``); those stay strings, so a K3.yaml default and ``--set s=1_000`` agree.
CORE_INT = re.compile(r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+")
CORE_FLOAT = re.compile(
    r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
)


def _core_number(tag: str, value: str) -> bool:
    """Whether ``value``, which ruamel tagged ``tag`` (int or float), is that in the core schema."""
    return bool((CORE_INT if tag == f"{_CORE}int" else CORE_FLOAT).fullmatch(value))


def _error(source: str, line: int, rule: str, message: str) -> FormulaError:
    finding = Finding(source, line, rule, " ".join(message.split()))
    return FormulaError(str(finding), findings=[finding])


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MiB"
    return f"{n / 1024:.0f} KiB" if n >= 1024 else f"{n} bytes"


def read_capped(path: Path, *, limit: int, display: str) -> str:
    """The UTF-8 text of a regular file of at most ``limit`` bytes (a leading BOM dropped)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise _error(display, 0, "file-missing", "does not exist") from None
    except OSError as exc:
        raise _error(display, 0, "file-unreadable", f"cannot be read: {exc.strerror}") from None
    if stat.S_ISLNK(st.st_mode):
        raise _error(display, 0, "file-type", "is a symbolic link; only regular files are allowed")
    if not stat.S_ISREG(st.st_mode):
        raise _error(display, 0, "file-type", "is not a regular file")
    if st.st_size > limit:
        raise _error(display, 0, "file-size", f"is {_size(st.st_size)}, over the {_size(limit)} limit")
    try:
        # O_NOFOLLOW and O_NONBLOCK: the path may have been swapped for a link or a FIFO since lstat.
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise _error(display, 0, "file-unreadable", f"cannot be read: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise _error(display, 0, "file-type", "is not a regular file")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise _error(display, 0, "file-size", f"is over the {_size(limit)} limit")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise _error(
            display, line, "file-encoding", f"is not UTF-8 text (byte 0x{data[exc.start]:02x})"
        ) from None
    return text.removeprefix("\ufeff")


@functools.cache
def _yaml_classes() -> tuple[type[Any], type[Any]]:
    """Composer and Resolver subclasses, built on first use to keep ruamel out of import time."""
    from ruamel.yaml.composer import Composer
    from ruamel.yaml.events import AliasEvent, DocumentStartEvent
    from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode
    from ruamel.yaml.resolver import VersionedResolver
    from ruamel.yaml.tag import Tag

    class StrictResolver(VersionedResolver):
        @property
        def processing_version(self) -> Any:
            return (1, 2)  # a %YAML 1.1 directive is refused, so never switch rules

        def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
            tag = super().resolve(kind, value, implicit)
            if kind is ScalarNode and str(tag) in _AS_STRING:
                return Tag(suffix=f"{_CORE}str")
            # "1_000" is YAML 1.1's; and ruamel reads "-_" as an int, then crashes on it.
            if str(tag) in _NUMBERS and not _core_number(str(tag), value):
                return Tag(suffix=f"{_CORE}str")
            return tag

    class StrictComposer(Composer):
        source = "<yaml>"

        def compose_document(self) -> Any:
            event = self.parser.peek_event()
            if isinstance(event, DocumentStartEvent) and event.version not in (None, (1, 2)):
                major, minor = event.version
                raise _error(
                    self.source,
                    event.start_mark.line + 1,
                    "yaml-version",
                    f"%YAML {major}.{minor} is not supported; only YAML 1.2 is accepted",
                )
            node = super().compose_document()
            _check_graph(node, self.source)
            return node

        def compose_node(self, parent: Any, index: Any) -> Any:
            event = self.parser.peek_event()
            explicit = None if isinstance(event, AliasEvent) else event.ctag
            if explicit is not None and str(explicit) != "!":
                shown = f"{explicit.handle}{explicit.suffix}" if explicit.handle else str(explicit)
                if str(explicit) not in _ALLOWED_TAGS:
                    raise _error(
                        self.source,
                        event.start_mark.line + 1,
                        "yaml-tag",
                        f"tag {quote(shown)} is not allowed; use plain YAML values",
                    )
            node = super().compose_node(parent, index)
            if explicit is not None and str(explicit) != "!":
                self._check_explicit(node, str(explicit), shown)
            elif str(node.tag) == f"{_CORE}merge" and not (isinstance(parent, MappingNode) and index is None):
                node.ctag = Tag(suffix=f"{_CORE}str")  # "<<" means merge only as a key
            return node

        def _check_explicit(self, node: Any, tag: str, shown: str) -> None:
            """A core tag must fit its node (``!!int abc`` fails here, with its line, rather
            than in a constructor); the tag is then stored as if it had been resolved, so
            the round-trip constructor builds a plain value, not a TaggedScalar."""
            kind = {f"{_CORE}map": MappingNode, f"{_CORE}seq": SequenceNode}.get(tag, ScalarNode)
            fits = isinstance(node, kind)
            if fits and kind is ScalarNode and tag != f"{_CORE}str":
                implicit = str(self.resolver.resolve(ScalarNode, node.value, (True, False)))
                fits = implicit == tag or (tag == f"{_CORE}float" and implicit == f"{_CORE}int")
            if not fits:
                what = quote(node.value) if isinstance(node, ScalarNode) else "this value"
                line = node.start_mark.line + 1
                raise _error(self.source, line, "yaml-tag", f"{what} is not a valid {shown}")
            node.ctag = Tag(suffix=tag)

    return StrictComposer, StrictResolver


def _check_graph(root: Any, source: str) -> None:
    """Refuse duplicate keys, collection keys, over-long numbers, recursive aliases and alias
    bombs, on the composed node graph: aliases there are shared nodes, so this walk is linear."""
    from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

    written = 0
    memo: dict[int, tuple[int, int]] = {}  # id(node) -> (expanded nodes, expanded depth)
    active: set[int] = set()

    def fail(node: Any, rule: str, message: str) -> FormulaError:
        return _error(source, node.start_mark.line + 1, rule, message)

    def children(node: Any) -> list[Any]:
        if isinstance(node, SequenceNode):
            return list(node.value)
        if not isinstance(node, MappingNode):
            if str(node.tag) in _NUMBERS and len(node.value) > MAX_NUMBER:
                raise fail(node, "yaml-number", f"a number longer than {MAX_NUMBER} characters")
            return []
        found: list[Any] = []
        seen: dict[tuple[str, str], int] = {}
        for k, v in node.value:
            if not isinstance(k, ScalarNode):
                raise fail(k, "yaml-key", "mapping keys must be plain values")
            ident = (str(k.tag), k.value)
            if ident in seen and ident[0] != f"{_CORE}merge":
                raise fail(
                    k, "yaml-duplicate-key", f"duplicate key {quote(k.value)} (first on line {seen[ident]})"
                )
            seen[ident] = k.start_mark.line + 1
            found += (k, v)
        return found

    def walk(node: Any) -> tuple[int, int]:
        nonlocal written
        if id(node) in memo:
            return memo[id(node)]
        if id(node) in active:
            raise fail(node, "yaml-alias", "an alias refers to itself")
        active.add(id(node))
        written += 1
        size, depth = 1, 1
        for child in children(node):
            child_size, child_depth = walk(child)
            # Capped so a bomb's astronomic count stays a machine-sized int.
            size, depth = min(size + child_size, _SIZE_CAP), max(depth, child_depth + 1)
        if depth > MAX_DEPTH:
            raise fail(
                node, "yaml-depth", f"nested deeper than {MAX_DEPTH} levels (counting what aliases expand to)"
            )
        active.discard(id(node))
        memo[id(node)] = (size, depth)
        return size, depth

    if root is not None and walk(root)[0] - written > MAX_EXTRA_NODES:
        message = f"aliases expand to over {MAX_EXTRA_NODES} extra nodes; reuse anchors less (alias bomb?)"
        raise fail(root, "yaml-alias", message)


def _loader(source: str) -> Any:
    from ruamel.yaml import YAML

    composer, resolver = _yaml_classes()
    yaml: Any = YAML(typ="rt", pure=True)
    yaml.version = (1, 2)
    yaml.allow_duplicate_keys = False
    yaml.max_depth = MAX_DEPTH + 1  # ours, with the line, fires first; this one guards recursion
    yaml.Composer = type("Composer", (composer,), {"source": source})
    yaml.Resolver = resolver
    return yaml


def _translate(exc: Exception, text: str, source: str) -> FormulaError:
    """One line at source:line for any ruamel error (never its multi-line dump)."""
    from ruamel.yaml.constructor import DuplicateKeyError
    from ruamel.yaml.error import MarkedYAMLError
    from ruamel.yaml.reader import ReaderError

    if isinstance(exc, ReaderError):
        line = text[: exc.position].count("\n") + 1
        code = exc.character if isinstance(exc.character, int) else 0xFFFD
        return _error(source, line, "yaml-syntax", f"character U+{code:04X} is not allowed in YAML")
    if isinstance(exc, MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        if isinstance(exc, DuplicateKeyError):
            problem = str(exc.problem).split(" with value")[0].removeprefix("found ")
            return _error(source, line, "yaml-duplicate-key", problem)
        problem = str(exc.problem or "").split("\n")[0]
        if "maximum depth" in problem:
            return _error(source, line, "yaml-depth", f"nested deeper than {MAX_DEPTH} levels")
        context = f"{exc.context}, " if exc.context else ""
        return _error(source, line, "yaml-syntax", f"invalid YAML: {context}{problem}")
    if isinstance(exc, RecursionError):
        return _error(source, 0, "yaml-depth", f"nested deeper than {MAX_DEPTH} levels")
    return _error(
        source, 0, "yaml-syntax", f"invalid YAML: {str(exc).splitlines()[0] if str(exc) else exc!r}"
    )


def _load(text: str, source: str, *, many: bool) -> list[Any]:
    from ruamel.yaml.error import YAMLError

    yaml = _loader(source)
    try:
        return list(yaml.load_all(text)) if many else [yaml.load(text)]
    except FormulaError:
        raise
    except (YAMLError, RecursionError, ValueError, TypeError, OverflowError, LookupError) as exc:
        # The others: ruamel's constructors on input its resolver let through.
        raise _translate(exc, text, source) from None


def load_one(text: str, *, source: str) -> Any:
    """The single document of ``text`` (None when empty), as ruamel CommentedMap/CommentedSeq."""
    return _load(text, source, many=False)[0]


def load_all(text: str, *, source: str) -> list[Any]:
    """Every document of ``text``, in order; an empty document is None."""
    return _load(text, source, many=True)


class NeedStrictLoad(Exception):
    """``load_one_fast`` is not sure it reads the text exactly as ``load_one`` would."""


# Anything the two parsers might read differently: characters ruamel refuses, tabs,
# carriage returns, line separators libyaml folds as breaks, a byte order mark inside.
_FAST_DOUBT = re.compile(r"[^\n\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]|[\u2028\u2029\ufeff]")
_FAST_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
_FAST_OCT = re.compile(r"0o[0-7]+")
_FAST_HEX = re.compile(r"0x[0-9a-fA-F]+")
_FAST_FLOAT = re.compile(r"[-+]?[0-9]+(?:\.[0-9]*(?:[eE][-+]?[0-9]+)?|[eE][-+]?[0-9]+)")
_FAST_DEPTH = 64


class _Lines:
    """Positions (0-based line, column) like ruamel's ``lc``, for ``line_of``."""

    __slots__ = ("_at", "col", "line")

    def __init__(self, line: int, col: int, at: dict[Any, tuple[int, ...]]) -> None:
        self.line, self.col, self._at = line, col, at

    def key(self, key: Any) -> tuple[int, ...]:
        return self._at[key][:2]

    def value(self, key: Any) -> tuple[int, ...]:
        return self._at[key][2:]

    def item(self, index: int) -> tuple[int, ...]:
        return self._at[index]


class _Map(dict[str, Any]):
    __slots__ = ("lc",)
    lc: _Lines


class _Seq(list[Any]):
    __slots__ = ("lc",)
    lc: _Lines


# The implicit scalar rules of YAML 1.2 exactly as ruamel's resolver holds them (its table, in
# its order, by first character; tests/test_yaml_fast.py compares the two), so the fast path
# types a scalar as ``load_one`` does without importing ruamel.
_RULES_1_2: tuple[tuple[str, str, str], ...] = (
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    (
        "float",
        r"""^(?:
         [-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        "-+0123456789.",
    ),
    (
        "int",
        r"""^(?:[-+]?0b[0-1_]+
        |[-+]?0o?[0-7_]+
        |[-+]?[0-9_]+
        |[-+]?0x[0-9a-fA-F_]+)$""",
        "-+0123456789",
    ),
    ("merge", r"^(?:<<)$", "<"),
    ("null", r"""^(?: ~
        |null|Null|NULL
        | )$""", "~nN\0"),
    (
        "timestamp",
        r"""^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
        |[0-9][0-9][0-9][0-9] -[0-9][0-9]? -[0-9][0-9]?
        (?:[Tt]|[ \t]+)[0-9][0-9]?
        :[0-9][0-9] :[0-9][0-9] (?:\.[0-9]*)?
        (?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$""",
        "0123456789",
    ),
    ("value", r"^(?:=)$", "="),
    ("yaml", r"^(?:!|&|\*)$", "!&*"),
)  # fmt: skip


@functools.cache
def _rules() -> dict[str, list[tuple[str, Any]]]:
    """First character ("" for the empty scalar) -> (tag, compiled rule), in the table's order."""
    table: dict[str, list[tuple[str, Any]]] = {}
    for name, pattern, first in _RULES_1_2:
        compiled = re.compile(pattern, re.X)
        for ch in first:
            table.setdefault("" if ch == "\0" else ch, []).append((f"{_CORE}{name}", compiled))
    return table


def resolve_plain(value: str) -> str:
    """The tag ``load_one`` gives the plain scalar ``value``: ruamel's YAML 1.2 rules, then
    ``StrictResolver``'s (timestamps and ``=`` stay strings, numbers are the core schema's)."""
    for tag, rule in _rules().get(value[:1], ()):
        if rule.match(value):
            if tag in _AS_STRING or (tag in _NUMBERS and not _core_number(tag, value)):
                return f"{_CORE}str"
            return tag
    return f"{_CORE}str"


@functools.cache
def _fast_parts() -> tuple[Any, Any] | None:
    """libyaml's event parser and a memo of ``resolve_plain``; None without libyaml."""
    try:
        yaml: Any = importlib.import_module("yaml")
        loader = yaml.CSafeLoader
        events = yaml.events
    except (ImportError, AttributeError):
        return None
    return (loader, events, yaml.YAMLError), functools.lru_cache(maxsize=4096)(resolve_plain)


def _fast_scalar(event: Any, resolve: Any) -> Any:
    if event.anchor is not None or event.tag is not None:
        raise NeedStrictLoad
    value: str = event.value
    if not event.implicit[0]:
        return value  # quoted or block: a string
    tag = resolve(value)
    if tag == f"{_CORE}str":
        return value
    if tag == f"{_CORE}null":
        return None
    if tag == f"{_CORE}bool":
        return value.lower() == "true"
    if len(value) <= MAX_NUMBER and tag == f"{_CORE}int":
        if _FAST_INT.fullmatch(value):
            return int(value)
        if _FAST_OCT.fullmatch(value):
            return int(value[2:], 8)
        if _FAST_HEX.fullmatch(value):
            return int(value[2:], 16)
    if len(value) <= MAX_NUMBER and tag == f"{_CORE}float" and _FAST_FLOAT.fullmatch(value):
        return float(value)
    raise NeedStrictLoad  # merge keys, ".5", "0777", long numbers: leave to ruamel


def _fast_node(event: Any, get: Any, ev: Any, resolve: Any, depth: int, lines: bool) -> Any:
    """The value ``event`` starts. ``lines``: mappings and lists that know their lines (``_Map``,
    ``_Seq``), else plain dicts and lists."""
    kind = type(event)
    if kind is ev.ScalarEvent:
        return _fast_scalar(event, resolve)
    if kind is ev.AliasEvent or event.anchor is not None or event.tag is not None or depth > _FAST_DEPTH:
        raise NeedStrictLoad
    mark = event.start_mark
    at: dict[Any, tuple[int, ...]] = {}
    if kind is ev.SequenceStartEvent:
        seq: list[Any] = _Seq() if lines else []
        item = get()
        while type(item) is not ev.SequenceEndEvent:
            if lines:
                at[len(seq)] = (item.start_mark.line, item.start_mark.column)
            seq.append(_fast_node(item, get, ev, resolve, depth + 1, lines))
            item = get()
        if lines:
            seq.lc = _Lines(mark.line, mark.column, at)  # type: ignore[attr-defined]
        return seq
    if kind is not ev.MappingStartEvent:
        raise NeedStrictLoad
    mapping: dict[str, Any] = _Map() if lines else {}
    key_event = get()
    while type(key_event) is not ev.MappingEndEvent:
        if type(key_event) is not ev.ScalarEvent:
            raise NeedStrictLoad
        key = _fast_scalar(key_event, resolve)
        if type(key) is not str or key in mapping:
            raise NeedStrictLoad  # duplicates get their finding from ruamel
        value_event = get()
        mapping[key] = _fast_node(value_event, get, ev, resolve, depth + 1, lines)
        if lines:
            start, vstart = key_event.start_mark, value_event.start_mark
            at[key] = (start.line, start.column, vstart.line, vstart.column)
        key_event = get()
    if lines:
        mapping.lc = _Lines(mark.line, mark.column, at)  # type: ignore[attr-defined]
    return mapping


def _fast_documents(text: str, *, lines: bool, many: bool) -> list[tuple[Any, int]]:
    """Each document of ``text`` with the line of its root (0 for a scalar, as ``line_of``)."""
    parts = _fast_parts()
    if parts is None or _FAST_DOUBT.search(text):
        raise NeedStrictLoad
    (loader, ev, yaml_error), resolve = parts
    get = loader(text).get_event
    documents: list[tuple[Any, int]] = []
    try:
        if type(get()) is not ev.StreamStartEvent:
            raise NeedStrictLoad
        start = get()
        while type(start) is not ev.StreamEndEvent:
            if type(start) is not ev.DocumentStartEvent or start.version is not None or start.tags:
                raise NeedStrictLoad
            if documents and not many:
                raise NeedStrictLoad
            first = get()
            root = _fast_node(first, get, ev, resolve, 0, lines)
            line = first.start_mark.line + 1 if type(first) is not ev.ScalarEvent else 0
            documents.append((root, line))
            if type(get()) is not ev.DocumentEndEvent:
                raise NeedStrictLoad
            start = get()
    except (yaml_error, RecursionError, ValueError, TypeError, OverflowError, LookupError):
        raise NeedStrictLoad from None
    return documents


def load_one_fast(text: str) -> Any:
    """What ``load_one`` returns for ``text`` (dicts and lists with line positions), read
    with libyaml; raises NeedStrictLoad on anything it is not sure of (anchors, aliases,
    tags, directives, several documents, any error), so ``load_one`` can give the finding."""
    documents = _fast_documents(text, lines=True, many=False)
    if not documents:
        raise NeedStrictLoad  # an empty stream: load_one says None, with ruamel
    return documents[0][0]


def load_all_plain(text: str, *, source: str) -> list[tuple[Any, int]]:
    """Every document of ``text`` as ``to_plain`` data with the line of its root (``line_of``):
    read with libyaml when ``load_one_fast``'s rules say it reads them exactly as ruamel does,
    else with ``load_all`` (so every finding is ruamel's, at its line). Rendered manifests of
    hundreds of objects are read ~20x faster this way."""
    try:
        return _fast_documents(text, lines=False, many=True)
    except NeedStrictLoad:
        pass
    return [(to_plain(node), _root_line(node)) for node in load_all(text, source=source)]


def _root_line(node: Any) -> int:
    lc = getattr(node, "lc", None)
    line = getattr(lc, "line", None) if lc is not None else None
    return int(line) + 1 if line is not None else 0


def load_all_fast(text: str) -> list[Any]:
    """What ``load_all`` returns for ``text`` (nodes with line positions), read with libyaml as
    ``load_one_fast`` reads one document; raises NeedStrictLoad on anything it is not sure of,
    so ``load_all`` can give the finding (lint of an archive parses every manifest: ruamel
    costs most of it)."""
    return [root for root, _line in _fast_documents(text, lines=True, many=True)]


def line_of(node: Any, key: Any = None) -> int:
    """1-based line of ``node`` (or of ``key`` inside it: a mapping key or a list index); 0 if unknown."""
    lc = getattr(node, "lc", None)
    if lc is None:
        return 0
    try:
        if key is not None and isinstance(key, int) and isinstance(node, list):
            return int(lc.item(key)[0]) + 1
        if key is not None:
            return int(lc.key(key)[0]) + 1
    except (KeyError, IndexError, TypeError):
        pass
    line = getattr(lc, "line", None)
    return int(line) + 1 if line is not None else 0


def to_plain(node: Any) -> Any:
    """Plain dicts, lists, str, int, float, bool and None (aliases become copies)."""
    if isinstance(node, dict):
        return {to_plain(k): to_plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [to_plain(v) for v in node]
    if node is None or type(node) in (str, int, float, bool):
        return node
    if isinstance(node, str):
        return str(node)
    if type(node).__name__ == "ScalarBoolean":
        return bool(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    return node
