"""The sandboxed Jinja environment formula templates are rendered in.

Jinja's immutable sandbox with ``StrictUndefined`` and no autoescaping.
Templates see the values at top level plus a reserved ``kube`` object
(``kube.formula``, ``kube.version``, ``kube.namespace``, ``kube.release``, ``kube.shards``,
``kube.capabilities``: ``kube.k8s.capabilities``); a value named
``kube`` is an error. Templates cannot include, import or extend other
templates: the loader refuses every name, so a formula's output is always the
sum of its own files. ``trim_blocks`` and ``lstrip_blocks`` are on, so a
``{% if %}`` line leaves no blank line or indentation behind. ``{{ x }}``
writes None as ``null`` and booleans as ``true``/``false``, as YAML and JSON
spell them. Extra filters: ``b64encode``, ``b64decode``, ``toyaml``, ``quote``
(a double-quoted YAML/JSON string), ``sha256``.

Beyond refusing attribute escapes (``''.__class__``...), the environment
bounds what one template may cost (``kube lint`` renders formulas from pull
requests, in CI):

- time: every loop iteration (``for`` over anything, loop filters, recursive
  loops) and every call (macros, ``loop()``, ``caller()``, methods, filters)
  is a step; a template stops after ``STEP_LIMIT`` steps or ``TIME_LIMIT``
  seconds, and calls nest at most ``CALL_DEPTH_LIMIT`` deep. The checks are
  compiled into the template (``_Generator``), so no loop runs without them.
- size: no string a template builds (``~``, ``+``, ``*``, ``%``, ``format``,
  ``replace``, ``join``, ``indent``, padding, macro and ``{% set %}`` bodies,
  any filter or method result, the text of a list or dict) may exceed
  ``OUTPUT_LIMIT`` characters, no list or range ``ITEM_LIMIT`` items, no
  integer ``INT_BITS`` bits; each is refused before it is built where its size
  can be known beforehand. The output stops at ``OUTPUT_LIMIT``.
- memory, as a backstop on Linux: while a template compiles and renders, the
  process may grow by at most ``MEMORY_LIMIT`` bytes of address space.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import itertools
import json
import re
import time
import traceback
import types
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jinja2 import BaseLoader, StrictUndefined, TemplateError, TemplateSyntaxError, UndefinedError, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment, safe_range
from jinja2.utils import Namespace, _PassArg

from kube.core.errors import ClusterError, RenderError, UsageError
from kube.formula.manifests import render_error

if TYPE_CHECKING:
    from jinja2.environment import Environment
    from jinja2.runtime import Context

    from kube.k8s.capabilities import Capabilities

#: Largest output of one template, and largest string a template may build at once.
OUTPUT_LIMIT = 8 * 1024 * 1024
#: Most items in one list, tuple, dict or range a template may build.
ITEM_LIMIT = 100_000
#: Largest integer a template may compute, in bits.
INT_BITS = 65_536
#: Seconds one template may render.
TIME_LIMIT = 30.0
#: Loop iterations and calls one template may make.
STEP_LIMIT = 2_000_000
#: How deep macro calls, ``loop()`` and ``caller()`` may nest.
CALL_DEPTH_LIMIT = 100
#: Address space compiling and rendering one template may add (Linux only).
MEMORY_LIMIT = 160 * 1024 * 1024

# Text filters whose time grows faster than their input, or that are rarely fed much.
_TEXT_WORK_LIMIT = 1024 * 1024
_STRIPTAGS_WORK = 100_000_000
_PADDING_METHODS = frozenset({"center", "ljust", "rjust", "zfill"})
# Filters that turn their value into text: a list holding one big string many times is
# small in memory but huge as text, so its text size is bounded before they run.
_TEXT_FILTERS = frozenset(
    {
        "string", "tojson", "pprint", "toyaml", "quote", "sha256", "b64encode", "b64decode",
        "urlencode", "escape", "e", "forceescape", "upper", "lower", "title", "capitalize",
        "trim", "center", "indent", "wordwrap", "truncate", "replace", "striptags", "urlize",
        "wordcount", "format", "xmlattr",
    }
)  # fmt: skip
# Filters that make a list of their value's items: a long string becomes one item per character.
_LISTING_FILTERS = frozenset({"list", "sort", "unique", "dictsort", "groupby", "batch", "slice", "sum"})
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d*)(?:\.(\*|\d*))?[a-zA-Z%]")
_FORMAT_WIDTH = re.compile(r"\{[^{}]*:[^{}]*?(\d+)")
_NESTED_SPEC = re.compile(r"\{[^{}]*:[^{}]*\{")


class TemplateLimit(SecurityError):
    """A template ran past its time, step, depth or memory budget."""


@dataclass(frozen=True)
class KubeInfo:
    """The reserved ``kube`` object templates see."""

    formula: str
    version: str
    namespace: str
    release: str = ""  # the release name: the formula's name when none was chosen (kube lint too)
    # What ``capabilities`` is (kube.k8s.capabilities), or the function that reads it from the
    # cluster the first time a template asks; the offline defaults when None.
    capabilities_from: Capabilities | Callable[[], Capabilities] | None = field(
        default=None, compare=False, repr=False
    )
    #: Every shard of a sharded formula, in order (kube.formula.shards); () for the others.
    shards: tuple[dict[str, Any], ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        if not self.release:
            object.__setattr__(self, "release", self.formula)

    @functools.cached_property
    def capabilities(self) -> Capabilities:
        from kube.k8s.capabilities import Capabilities, offline

        given = self.capabilities_from
        if given is None:
            return offline()
        return given if isinstance(given, Capabilities) else given()


class _Budget:
    """Steps, wall clock and call depth of one template's render."""

    __slots__ = ("deadline", "depth", "steps")

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """A fresh budget: no steps, no depth, the whole time limit from now."""
        self.deadline = time.monotonic() + TIME_LIMIT
        self.steps = 0
        self.depth = 0

    def tick(self) -> None:
        self.steps += 1
        if self.steps > STEP_LIMIT:
            raise TemplateLimit(f"the template made more than {STEP_LIMIT:,} loop iterations and calls")
        if time.monotonic() > self.deadline:
            raise TemplateLimit(f"the template ran for more than {TIME_LIMIT:g}s")


# -- sizes ----------------------------------------------------------------------------------------


def _too_long(what: str, size: int) -> SecurityError:
    return SecurityError(
        f"{what} would build a string of {size:,} characters (the limit is {OUTPUT_LIMIT:,})"
    )


def _too_many(what: str, count: int) -> SecurityError:
    return SecurityError(f"{what} would build {count:,} items (the limit is {ITEM_LIMIT:,})")


def _text_size(value: Any, limit: int = OUTPUT_LIMIT) -> int:
    """An upper bound of ``len(str(value))``; refused past ``limit`` without building the text.

    Containers are walked (shared items count each time they would be written), and the walk
    stops as soon as the bound passes ``limit``, so it is cheap even for a list that holds
    itself many times over."""
    if type(value) is str:
        return len(value)
    total = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            # repr() of a string inside a container may escape each character (\U0010ffff).
            total += len(item) + 2 if item.isascii() and item.isprintable() else 10 * len(item) + 2
        elif isinstance(item, bytes | bytearray):
            total += 4 * len(item) + 3
        elif item is None or isinstance(item, bool | float):
            total += 5
        elif isinstance(item, int):
            total += item.bit_length() // 3 + 2
        elif isinstance(item, Mapping):
            total += 2 + 4 * len(item)
            for key, val in item.items():
                stack += (key, val)
        elif isinstance(item, list | tuple | set | frozenset | types.MappingProxyType):
            total += 2 + 2 * len(item)
            stack.extend(item)
        elif isinstance(item, Namespace):
            stack.append(item._Namespace__attrs)
        else:  # dict views, generators, macros, KubeInfo...: small reprs, or walked as items
            if isinstance(item, type({}.keys()) | type({}.values()) | type({}.items())):
                stack.extend(item)
            else:
                total += len(object.__repr__(item)) + 64
        if total > limit:
            # ``limit`` is what is left of the budget once the caller's text is counted: the
            # string that would be built is that text and this value together.
            raise _too_long("turning this value into text", OUTPUT_LIMIT - limit + total)
    return total


def _oversized(value: Any) -> bool:
    kind = type(value)
    if kind is str or kind is bytes:
        return len(value) > OUTPUT_LIMIT
    if kind is list or kind is tuple or kind is dict or kind is set or kind is frozenset:
        return len(value) > ITEM_LIMIT
    if kind is int:
        return bool(value.bit_length() > INT_BITS)
    return False


def _check_result(value: Any, what: str) -> Any:
    """Refuse a result past the limits (subclasses of str and the like are not checked: the
    sandbox's own types, Markup and Undefined, never grow)."""
    if _oversized(value):
        if isinstance(value, str | bytes):
            raise _too_long(what, len(value))
        if isinstance(value, int):
            raise SecurityError(f"{what} would build an integer of over {INT_BITS:,} bits")
        raise _too_many(what, len(value))
    return value


def _items(value: Any, what: str, budget: _Budget) -> list[Any]:
    """``value``'s items as a list, refused past ``ITEM_LIMIT`` before they are all built."""
    if isinstance(value, str | bytes | list | tuple | dict | set | frozenset) and len(value) > ITEM_LIMIT:
        raise _too_many(what, len(value))
    if isinstance(value, list):
        return value
    items = []
    for item in value:
        budget.tick()
        items.append(item)
        if len(items) > ITEM_LIMIT:
            raise _too_many(what, len(items))
    return items


def _counted(iterator: Iterator[Any], what: str, budget: _Budget) -> Iterator[Any]:
    """A lazy filter result (``map``, ``select``...): a step per item, ``ITEM_LIMIT`` items at most."""
    for count, item in enumerate(iterator):
        budget.tick()
        if count >= ITEM_LIMIT:
            raise _too_many(what, count + 1)
        yield item


@functools.lru_cache(maxsize=256)
def _format_shape(template: str) -> tuple[int, int]:
    """(total of the widths, number of fields) of a ``%`` or ``str.format`` template."""
    widths = [w for m in _PERCENT_SPEC.finditer(template) for w in m.groups() if w]
    widths += _FORMAT_WIDTH.findall(template)
    if "*" in widths or _NESTED_SPEC.search(template):
        raise SecurityError("format widths that are computed are not allowed in a template")
    return sum(int(w) for w in widths if w.isdigit()), template.count("%") + template.count("{")


def _format_size(template: str, args: Iterable[Any], what: str) -> None:
    """Refuse a ``%`` or ``str.format`` that would build too much: computed or huge widths,
    nested format specs, or more fields times the longest argument than the limit."""
    width_total, fields = _format_shape(template)
    if width_total > OUTPUT_LIMIT:
        raise _too_long(what, width_total)
    if not fields:
        return
    longest = max((_text_size(arg) for arg in args), default=0)
    total = len(template) + width_total + fields * longest
    if total > OUTPUT_LIMIT:
        raise _too_long(what, total)


def _format_args(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> list[Any]:
    found: list[Any] = [*args, *kwargs.values()]
    for arg in args:
        if isinstance(arg, Mapping):
            found.extend(arg.values())
        elif isinstance(arg, tuple):
            found.extend(arg)
    return found


def _replace_size(text: str, old: Any, new: Any, count: Any, what: str) -> None:
    old, new = str(old), str(new)
    times = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        times = min(times, count)
    total = len(text) + times * (len(new) - len(old))
    if total > OUTPUT_LIMIT:
        raise _too_long(what, total)


def _pieces_bound(text: str, sep: Any, maxsplit: Any) -> int:
    if isinstance(maxsplit, int) and maxsplit >= 0:
        return maxsplit + 1
    if isinstance(sep, str) and sep:
        return text.count(sep) + 1
    if len(text) <= ITEM_LIMIT:
        return len(text) + 1
    return sum(1 for _ in re.finditer(r"\S+", text))


def _check_str_method(
    owner: str, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Any, ...]:
    """Refuse a string method call that would build too much; returns the args to call with."""
    what = f"str.{name}"
    if name in _PADDING_METHODS:
        for value in (*args, *kwargs.values()):
            if isinstance(value, int) and not isinstance(value, bool) and value > OUTPUT_LIMIT:
                raise _too_long(what, value)
    elif name == "expandtabs":
        size = args[0] if args else kwargs.get("tabsize", 8)
        if isinstance(size, int) and len(owner) + owner.count("\t") * size > OUTPUT_LIMIT:
            raise _too_long(what, len(owner) + owner.count("\t") * size)
    elif name == "replace" and len(args) >= 2:
        _replace_size(owner, args[0], args[1], args[2] if len(args) > 2 else kwargs.get("count", -1), what)
    elif name == "join" and args:
        items = (
            args[0] if isinstance(args[0], list | tuple) else list(itertools.islice(args[0], ITEM_LIMIT + 1))
        )
        if len(items) > ITEM_LIMIT:
            raise _too_many(what, len(items))
        total = len(owner) * max(len(items) - 1, 0)
        for item in items:
            total += len(item) if isinstance(item, str) else 0
            if total > OUTPUT_LIMIT:
                raise _too_long(what, total)
        return (items, *args[1:])
    elif name in ("format", "format_map"):
        _format_size(owner, _format_args(args, kwargs), what)
    elif name in ("split", "rsplit"):
        sep = args[0] if args else kwargs.get("sep")
        maxsplit = args[1] if len(args) > 1 else kwargs.get("maxsplit", -1)
        if _pieces_bound(owner, sep, maxsplit) > ITEM_LIMIT:
            raise _too_many(what, _pieces_bound(owner, sep, maxsplit))
    elif name == "splitlines" and len(owner) > ITEM_LIMIT:
        count = len(re.findall(r"[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]", owner))
        if count > ITEM_LIMIT:
            raise _too_many(what, count)
    elif name == "translate" and args and isinstance(args[0], Mapping):
        longest = max((len(v) for v in args[0].values() if isinstance(v, str)), default=1)
        if len(owner) * longest > OUTPUT_LIMIT:
            raise _too_long(what, len(owner) * longest)
    return args


def _filter_precheck(
    name: str, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any], budget: _Budget
) -> Any:
    """Refuse a filter call that would build too much or take too long; returns the value to use."""
    what = f"the {name} filter"
    if (name in _LISTING_FILTERS or name == "join") and not isinstance(value, Mapping):
        value = _items(value, what, budget)
    if name in _TEXT_FILTERS:
        size = _text_size(value)
        if name in ("wordwrap", "urlize") and size > _TEXT_WORK_LIMIT:
            raise SecurityError(f"{what} takes at most {_TEXT_WORK_LIMIT:,} characters, not {size:,}")
        text = value if isinstance(value, str) else None
        if name == "replace" and text is not None and len(args) >= 2:
            _replace_size(text, args[0], args[1], args[2] if len(args) > 2 else kwargs.get("count"), what)
        elif name == "indent" and text is not None:
            width = args[0] if args else kwargs.get("width", 4)
            unit = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
            total = len(text) + (text.count("\n") + 1) * unit
            if total > OUTPUT_LIMIT:
                raise _too_long(what, total)
        elif name == "center":
            width = args[0] if args else kwargs.get("width", 80)
            if isinstance(width, int) and width > OUTPUT_LIMIT:
                raise _too_long(what, width)
        elif name == "wordwrap" and text is not None:
            width = args[0] if args else kwargs.get("width", 79)
            wrap = args[2] if len(args) > 2 else kwargs.get("wrapstring")
            lines = len(text) // max(width, 1) + 1 if isinstance(width, int) else len(text)
            total = len(text) + lines * (len(wrap) if isinstance(wrap, str) else 2)
            if total > OUTPUT_LIMIT:
                raise _too_long(what, total)
        elif name == "truncate":
            end = args[2] if len(args) > 2 else kwargs.get("end", "...")
            if isinstance(end, str) and len(end) > OUTPUT_LIMIT:
                raise _too_long(what, len(end))
        elif name == "striptags" and text is not None:
            if (text.count("<") + 1) * len(text) > _STRIPTAGS_WORK:
                raise SecurityError(f"{what} on this much markup would take too long")
        elif name == "format":
            _format_size(str(value), _format_args(args, kwargs), what)
    if name in ("slice", "batch"):
        count = args[0] if args else kwargs.get("slices", kwargs.get("linecount", 0))
        if isinstance(count, int) and count > ITEM_LIMIT:
            raise _too_many(what, count)
    if name == "join":
        sep = args[0] if args else kwargs.get("d", "")
        if kwargs.get("attribute") is None and len(args) < 2:
            total = _text_size(sep) * max(len(value) - 1, 0)
            for item in value:
                total += _text_size(item, OUTPUT_LIMIT - total)
            if total > OUTPUT_LIMIT:
                raise _too_long(what, total)
    if name == "sum":
        start = args[1] if len(args) > 1 else kwargs.get("start", 0)
        if isinstance(start, list | tuple | str):
            total = len(start) + sum(len(i) for i in value if isinstance(i, list | tuple | str))
            if total > (OUTPUT_LIMIT if isinstance(start, str) else ITEM_LIMIT):
                raise _too_many(what, total)
    return value


# Text filters that need more than the size of their value checked.
_SPECIAL_TEXT = frozenset(
    {"replace", "indent", "center", "wordwrap", "truncate", "striptags", "format", "urlize"}
)


def _guard_filter(name: str, func: Callable[..., Any], budget: _Budget) -> Callable[..., Any]:
    skip = 0 if _PassArg.from_obj(func) is None else 1  # context/environment comes first
    what = f"the {name} filter"
    checked = name in _LISTING_FILTERS or name in _TEXT_FILTERS or name in ("join", "slice", "batch")
    plain_text = name in _TEXT_FILTERS and name not in _SPECIAL_TEXT
    summing = name == "sum"
    tick = budget.tick

    @functools.wraps(func)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        tick()
        if checked and len(args) > skip and not (plain_text and type(args[skip]) is str):
            value = _filter_precheck(name, args[skip], args[skip + 1 :], kwargs, budget)
            args = (*args[:skip], value, *args[skip + 1 :])
        if summing and (len(args) > skip + 2 or "start" in kwargs):
            return _check_result(_sum(func, args, kwargs, skip), what)
        result = func(*args, **kwargs)
        if _oversized(result):
            _check_result(result, what)
        if isinstance(result, Iterator):
            return _counted(result, what, budget)
        return result

    return guarded


def _sum(func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], skip: int) -> Any:
    """``sum(start=[])`` flattens lists: chain them (linear) instead of adding (quadratic)."""
    rest = args[skip + 1 :]
    start = rest[1] if len(rest) > 1 else kwargs.get("start", 0)
    attribute = rest[0] if rest else kwargs.get("attribute")
    items = args[skip]
    if isinstance(start, list) and attribute is None and all(isinstance(i, list) for i in items):
        return [*start, *itertools.chain.from_iterable(items)]
    return func(*args, **kwargs)


# -- the environment ------------------------------------------------------------------------------


class _ImportRefused(TemplateError):
    """An include, import or extends: refused whatever the values, so its hint is its own."""


class _NoImports(BaseLoader):
    def get_source(self, environment: Environment, template: str) -> tuple[str, str | None, Any]:
        raise _ImportRefused(
            f"templates cannot include, import or extend other templates (tried {template!r})"
        )


class _Generator(CodeGenerator):
    """Compiles a step into every loop iteration and routes ``~`` through a size check.

    ``environment.kube_step()`` is written first in each ``for`` body and in front of its
    ``if`` filter, so every iteration counts, whatever it iterates; recursive loops re-enter
    the same body. Calls (macros, ``loop()``, ``caller()``, methods) count in
    ``_Sandbox.call``, which the sandbox compiles every call to, and filters in their
    wrappers."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._loop_parts: set[int] = set()  # ids of the bodies and tests of for loops

    def visit_For(self, node: nodes.For, frame: Frame) -> None:
        self._loop_parts.add(id(node.body))
        if node.test is not None:
            self._loop_parts.add(id(node.test))
        super().visit_For(node, frame)

    def blockvisit(self, nodes: Iterable[nodes.Node], frame: Frame) -> None:
        if id(nodes) in self._loop_parts:
            self.writeline("environment.kube_step()")
        super().blockvisit(nodes, frame)

    def visit(self, node: nodes.Node, *args: Any, **kwargs: Any) -> Any:
        if id(node) not in self._loop_parts:
            return super().visit(node, *args, **kwargs)
        self.write("(environment.kube_step() and (")
        super().visit(node, *args, **kwargs)
        self.write("))")
        return None

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        # No constant folding: the parts of a template's own text are small, and a folded
        # filter result was already checked when the filter ran.
        self.write("environment.kube_concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class _Sandbox(ImmutableSandboxedEnvironment):
    code_generator_class = _Generator
    intercepted_binops = frozenset({"+", "*", "**", "%"})
    kube_budget: _Budget

    def kube_step(self) -> bool:
        self.kube_budget.tick()
        return True

    def kube_concat(self, parts: tuple[Any, ...]) -> str:
        total = 0
        for part in parts:
            total += len(part) if type(part) is str else _text_size(part, OUTPUT_LIMIT - total)
            if total > OUTPUT_LIMIT:
                raise _too_long("'~'", total)
        return "".join([part if type(part) is str else str(part) for part in parts])

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        what = f"'{operator}'"
        if operator == "+":
            for kind, limit in ((str, OUTPUT_LIMIT), (list, ITEM_LIMIT), (tuple, ITEM_LIMIT)):
                if isinstance(left, kind) and isinstance(right, kind) and len(left) + len(right) > limit:
                    raise (_too_long if kind is str else _too_many)(what, len(left) + len(right))
        elif operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(times, int):
                    size = len(seq) * times
                    limit = OUTPUT_LIMIT if isinstance(seq, str) else ITEM_LIMIT
                    if size > limit:
                        raise (_too_long if isinstance(seq, str) else _too_many)(what, size)
            if _is_int(left) and _is_int(right) and left.bit_length() + right.bit_length() > INT_BITS:
                raise SecurityError(f"'*' would build an integer of over {INT_BITS:,} bits")
        elif operator == "**" and _is_int(left) and _is_int(right) and right > 1 and abs(left) > 1:
            if max(left.bit_length() - 1, 1) * right > INT_BITS:
                raise SecurityError(f"'**' would build an integer of over {INT_BITS:,} bits")
        elif operator == "%" and isinstance(left, str):
            _format_size(left, _format_args((right,), {}), what)
        result = super().call_binop(context, operator, left, right)
        return _check_result(result, what) if _oversized(result) else result

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        budget = __self.kube_budget
        budget.tick()
        target = getattr(__obj, "__wrapped__", __obj)
        owner = getattr(target, "__self__", None)
        name = getattr(target, "__name__", "")
        if isinstance(owner, str):
            args = _check_str_method(owner, name, args, kwargs)
        if budget.depth >= CALL_DEPTH_LIMIT:
            raise TemplateLimit(f"macros, loop() or caller() nested more than {CALL_DEPTH_LIMIT} calls deep")
        budget.depth += 1
        try:
            result = super().call(__context, __obj, *args, **kwargs)
        finally:
            budget.depth -= 1
        if _oversized(result):
            _check_result(result, f"{name or 'a call'}()")
        return result


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _timed_range(budget: _Budget) -> Callable[..., Iterator[int]]:
    def timed_range(*args: int) -> Iterator[int]:
        items = safe_range(*args)  # refuses more than MAX_RANGE (100,000) items
        if len(items) > ITEM_LIMIT:
            raise _too_many("range", len(items))
        for item in items:
            budget.tick()
            yield item

    return timed_range


def _bounded_concat(chunks: Iterable[str]) -> str:
    """``environment.concat``: the text of a macro, ``caller()``, ``{% set %}`` or filter block."""
    parts = chunks if isinstance(chunks, list) else list(chunks)
    total = 0
    for part in parts:
        total += len(part)
        if total > OUTPUT_LIMIT:
            raise _too_long("a block", total)
    return "".join(parts)


def _finalize(value: Any) -> Any:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if type(value) is not str:
        _text_size(value)
    return value


def _format(value: Any, *args: Any, **kwargs: Any) -> str:
    return str(value) % (kwargs or args)


def _b64encode(value: Any) -> str:
    data = value if isinstance(value, bytes) else str(value).encode()
    return base64.b64encode(data).decode("ascii")


def _b64decode(value: Any) -> str:
    return base64.b64decode(str(value), validate=True).decode()


def _toyaml(value: Any) -> str:
    from io import StringIO

    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    out = StringIO()
    yaml.dump(value, out)
    text = out.getvalue()
    return text[: -len("\n...\n")] if text.endswith("\n...\n") else text.rstrip("\n")


def _quote(value: Any) -> str:
    return json.dumps(str(value), ensure_ascii=False)


def _sha256(value: Any) -> str:
    return hashlib.sha256(str(value).encode()).hexdigest()


def _environment(budget: _Budget) -> _Sandbox:
    env = _Sandbox(
        loader=_NoImports(),
        undefined=StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=_finalize,
    )
    env.kube_budget = budget
    env.concat = _bounded_concat  # type: ignore[method-assign]
    env.globals.pop("lipsum", None)
    env.globals["range"] = _timed_range(budget)
    env.filters.update(
        format=_format,
        b64encode=_b64encode,
        b64decode=_b64decode,
        toyaml=_toyaml,
        quote=_quote,
        sha256=_sha256,
    )
    for name, func in list(env.filters.items()):
        env.filters[name] = _guard_filter(name, func, budget)
    return env


@contextmanager
def _memory_limit() -> Iterator[None]:
    """Let the process grow by at most MEMORY_LIMIT of address space (Linux; elsewhere a no-op).

    The size checks refuse every big value they can see coming; this catches what they
    cannot, such as many distinct big strings kept at once, with a MemoryError."""
    try:
        import resource

        with open("/proc/self/statm", "rb") as statm:
            size = int(statm.read().split()[0]) * resource.getpagesize()
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = size + MEMORY_LIMIT
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        if soft != resource.RLIM_INFINITY and soft <= limit:
            yield  # already held tighter by the user's own ulimit
            return
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ImportError, OSError, ValueError, IndexError):
        yield
        return
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@functools.cache
def _compiler() -> _Sandbox:
    """The environment templates are compiled with: compiling reads only the configuration,
    which every environment shares (its budget is never used), so one serves every template."""
    return _environment(_Budget())


@functools.lru_cache(maxsize=8)
def _compiled(source: str, display: str) -> types.CodeType:
    """The template compiled to Python; every environment is configured alike, so a shard file
    rendered once per shard is compiled once (compiling is most of a small template's cost).
    The code reaches its environment (and so its budget) through ``from_code``."""
    generated = _generated(source) if _PLAIN_NAME.fullmatch(display) and _MARK not in source else None
    if generated is None:
        code = _compiler().compile(source, name=display, filename=display)
    else:
        code = _compiler()._compile(generated.replace(_MARK, display), display)
    assert isinstance(code, types.CodeType)
    return code


# The Python that Jinja writes for a template names the template only where its ``name`` goes:
# the ``name = ...`` line, the positions in runtime messages, include calls (the filename is
# used only in compile errors, which are not kept). So the Python of one template text is
# written once, under a mark no template holds, and each file of that text gets the mark
# replaced by its own name, then compiled: formulas of one archive often share template files,
# and lint renders a dependency's templates under the dependency's name as well. A name that
# is not plain path text (quotes, braces, backslashes, spaces: written differently in each of
# those places) is compiled from the template itself.
_MARK = f"kube-template-{uuid.uuid4().hex}"
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_./+@-]*")


@functools.lru_cache(maxsize=128)
def _generated(source: str) -> str | None:
    """The Python of ``source`` written under the name ``_MARK``, or None (a template that does
    not compile, which ``_compiled`` then compiles under its own name, for its own error)."""
    try:
        generated = _compiler().compile(source, name=_MARK, filename=_MARK, raw=True)
    except Exception:  # the same error comes again, under the file's name, from the plain compile
        return None
    assert isinstance(generated, str)
    return generated


# Environments not rendering now. Building one (fifty filters wrapped around its budget) costs
# more than rendering a small template, so a render takes an idle one and resets its budget:
# a render changes nothing of its environment but that budget (the sandbox is immutable and
# templates can neither set attributes nor reach the filters), and one taken from the list is
# used by that render alone, however renders nest or run in threads.
_IDLE: list[_Sandbox] = []
_IDLE_KEPT = 4


def _take_environment() -> _Sandbox:
    try:
        env = _IDLE.pop()
    except IndexError:
        return _environment(_Budget())
    env.kube_budget.reset()
    return env


def render_template(
    source: str,
    *,
    display: str,
    values: Mapping[str, Any],
    kube: KubeInfo,
    redact: Callable[[str], str] | None = None,
) -> str:
    """Render one template; ``display`` names it in errors (``manifests/x.yaml.tmpl``).

    Raises ``RenderError`` with one Finding at ``display:line``; ``redact`` masks secret
    values in the text of the message (see ``kube.values.secret_masker``). A value named
    ``kube`` raises ``UsageError``: the values are wrong, not the template.
    """
    if "kube" in values:
        # Not the template's fault, nor K3.yaml's (the loader refuses a default named kube): the
        # value came with --set, -f, the carried values of a release, or the pre-install hook.
        raise UsageError(
            "the values hold a top-level `kube`, a name reserved for the templates' kube object",
            hint="remove `kube` from the values given with --set and -f, or from what the hook returns",
        )
    env = _take_environment()
    try:
        return _render(env, source, display, values, kube, redact)
    finally:
        if len(_IDLE) < _IDLE_KEPT:
            _IDLE.append(env)


def _render(
    env: _Sandbox,
    source: str,
    display: str,
    values: Mapping[str, Any],
    kube: KubeInfo,
    redact: Callable[[str], str] | None,
) -> str:
    context = {k: v for k, v in values.items() if isinstance(k, str)}
    context["kube"] = kube
    chunks: list[str] = []
    size = 0
    failure: BaseException | None = None
    with _memory_limit():
        try:
            code = _compiled(source, display)
            template = env.template_class.from_code(env, code, env.make_globals(None))
            for chunk in template.generate(context):
                size += len(chunk)
                if size > OUTPUT_LIMIT:
                    chunks.clear()
                    break
                chunks.append(chunk)
        except Exception as exc:  # a template can raise anything; it is the formula's error, never kube's
            chunks.clear()
            failure = exc
    if isinstance(failure, ClusterError):
        raise failure  # kube.capabilities could not be read: the cluster's error, not the template's
    if failure is not None:
        raise _runtime_error(display, failure, redact or _same) from None
    if size > OUTPUT_LIMIT:
        message = f"output is larger than {OUTPUT_LIMIT} bytes"
        raise render_error(display, 0, "template-output", message, hint=LIMIT_HINT)
    return "".join(chunks)


def _same(text: str) -> str:
    return text


# Fixes for what a template does whatever the values: install and lint give them as they are.
# An undefined value or a failing expression gets no hint here: install points at the values
# given (kube.formula.render), lint at the K3.yaml defaults it renders with.
SYNTAX_HINT = "correct the Jinja syntax of the template at that line"
SANDBOX_HINT = (
    "rewrite that expression of the template: the sandbox refuses it whatever the values; "
    "templates format values and cannot reach Python internals such as __class__"
)
IMPORT_HINT = (
    "copy what the template includes, imports or extends into it: "
    "a template cannot read another, whatever the values"
)
LIMIT_HINT = (
    "make the template do less: fewer loop steps, smaller strings and lists, less nesting; "
    "or give smaller values, where a value sets how much"
)


def _runtime_error(display: str, exc: BaseException, redact: Callable[[str], str]) -> RenderError:
    if isinstance(exc, TemplateSyntaxError):
        message = redact(exc.message or "syntax error")
        return render_error(display, exc.lineno, "template-syntax", message, hint=SYNTAX_HINT)
    line = 0
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == display and frame.lineno:
            line = frame.lineno
    if isinstance(exc, TemplateLimit):
        return render_error(display, line, "template-limit", f"stopped: {exc}", hint=LIMIT_HINT)
    if isinstance(exc, MemoryError):
        limit = f"{MEMORY_LIMIT // (1024 * 1024)} MiB"
        message = f"stopped: the template needed more than {limit} of memory"
        return render_error(display, line, "template-limit", message, hint=LIMIT_HINT)
    if isinstance(exc, RecursionError):
        message = "stopped: the template nested too deep"
        return render_error(display, line, "template-limit", message, hint=LIMIT_HINT)
    if isinstance(exc, SecurityError):
        message = f"not allowed in a template: {redact(str(exc))}"
        return render_error(display, line, "template-sandbox", message, hint=SANDBOX_HINT)
    if isinstance(exc, _ImportRefused):
        return render_error(display, line, "template-error", redact(str(exc)), hint=IMPORT_HINT)
    if isinstance(exc, UndefinedError):
        return render_error(display, line, "template-undefined", redact(str(exc)))
    if isinstance(exc, TemplateError):
        return render_error(display, line, "template-error", redact(str(exc)))
    return render_error(display, line, "template-error", redact(f"{type(exc).__name__}: {exc}"))
