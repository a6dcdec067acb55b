"""The sandboxed Jinja environment formula templates are rendered in.

Jinja's immutable sandbox with ``StrictUndefined`` and no autoescaping.
Templates see the values at top level plus a reserved ``kube`` object
(``kube.formula``, ``kube.version``, ``kube.namespace``); a value named
``kube`` is an error. Templates cannot include, import or extend other
templates: the loader refuses every name, so a formula's output is always the
sum of its own files. ``trim_blocks`` and ``lstrip_blocks`` are on, so a
``{% if %}`` line leaves no blank line or indentation behind. ``{{ x }}``
writes None as ``null`` and booleans as ``true``/``false``, as YAML and JSON
spell them. Extra filters: ``b64encode``, ``b64decode``, ``toyaml``, ``quote``
(a double-quoted YAML/JSON string), ``sha256``.

Beyond refusing attribute escapes (``''.__class__``...), the environment
guards against templates that would exhaust the machine (``kube lint`` renders
formulas from pull requests): ``range`` is capped at 100,000 items and stops
after ``TIME_LIMIT`` seconds of rendering; ``*``, ``**``, string padding
(``center``, ``ljust``, ``indent``...) and format widths past ``OUTPUT_LIMIT``
are refused; the output stops at ``OUTPUT_LIMIT``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import wraps
from typing import TYPE_CHECKING, Any

from jinja2 import BaseLoader, StrictUndefined, TemplateError, TemplateSyntaxError, UndefinedError
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment, safe_range

from kube.errors import RenderError
from kube.findings import Finding

if TYPE_CHECKING:
    from jinja2.environment import Environment
    from jinja2.runtime import Context

#: Largest output of one template, and largest string a template may build at once.
OUTPUT_LIMIT = 8 * 1024 * 1024
#: Seconds a template's loops may run.
TIME_LIMIT = 30.0
_MAX_POWER = 4096
_PADDING_METHODS = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs"})
_SIZED_FILTERS = ("center", "indent", "wordwrap", "slice", "batch", "truncate")
_PERCENT_WIDTH = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d*)(?:\.(\*|\d*))?")
_FORMAT_WIDTH = re.compile(r"\{[^{}]*:[^{}]*?(\d+)")


@dataclass(frozen=True)
class KubeInfo:
    """The reserved ``kube`` object templates see."""

    formula: str
    version: str
    namespace: str


def _refuse_big(args: tuple[Any, ...], kwargs: Mapping[str, Any], what: str) -> None:
    for value in (*args, *kwargs.values()):
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > OUTPUT_LIMIT:
            raise SecurityError(f"{what} with {value} is too large for a template")


def _refuse_wide_format(text: str) -> None:
    widths = [w for m in _PERCENT_WIDTH.finditer(text) for w in m.groups() if w]
    widths += _FORMAT_WIDTH.findall(text)
    if "*" in widths or any(w.isdigit() and int(w) > OUTPUT_LIMIT for w in widths):
        raise SecurityError("format widths that are computed or this large are not allowed in a template")


class _NoImports(BaseLoader):
    def get_source(self, environment: Environment, template: str) -> tuple[str, str | None, Any]:
        raise TemplateError(
            f"templates cannot include, import or extend other templates (tried {template!r})"
        )


class _Sandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "%"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                sized = isinstance(seq, str | list | tuple) and isinstance(times, int)
                if sized and len(seq) * times > OUTPUT_LIMIT:
                    raise SecurityError(f"'*' would build a value of {len(seq) * times} items")
        if operator == "**" and isinstance(right, int) and right > _MAX_POWER:
            raise SecurityError(f"'**' with an exponent over {_MAX_POWER}")
        if operator == "%" and isinstance(left, str):
            _refuse_wide_format(left)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        target = getattr(__obj, "__wrapped__", __obj)
        owner = getattr(target, "__self__", None)
        name = getattr(target, "__name__", "")
        if isinstance(owner, str) and name in _PADDING_METHODS:
            _refuse_big(args, kwargs, f"str.{name}")
        if isinstance(owner, str) and name in ("format", "format_map"):
            _refuse_wide_format(owner)
        return super().call(__context, __obj, *args, **kwargs)


def _guarded(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(func)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        _refuse_big(args, kwargs, f"the {name} filter")
        return func(*args, **kwargs)

    return guarded


def _timed_range(deadline: float) -> Callable[..., Iterator[int]]:
    def timed_range(*args: int) -> Iterator[int]:
        for count, item in enumerate(safe_range(*args)):
            if count % 1024 == 0 and time.monotonic() > deadline:
                raise SecurityError(f"the template ran for more than {TIME_LIMIT:g}s")
            yield item

    return timed_range


def _finalize(value: Any) -> Any:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    return value


def _format(value: Any, *args: Any, **kwargs: Any) -> str:
    _refuse_wide_format(str(value))
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


def _environment(deadline: float) -> _Sandbox:
    env = _Sandbox(
        loader=_NoImports(),
        undefined=StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=_finalize,
    )
    env.globals.pop("lipsum", None)
    env.globals["range"] = _timed_range(deadline)
    for name in _SIZED_FILTERS:
        env.filters[name] = _guarded(name, env.filters[name])
    env.filters.update(
        format=_format,
        b64encode=_b64encode,
        b64decode=_b64decode,
        toyaml=_toyaml,
        quote=_quote,
        sha256=_sha256,
    )
    return env


def render_template(source: str, *, display: str, values: Mapping[str, Any], kube: KubeInfo) -> str:
    """Render one template; ``display`` names it in errors (``manifests/x.yaml.tmpl``).

    Raises ``RenderError`` with one Finding at ``display:line``.
    """
    if "kube" in values:
        raise render_error(
            display, 0, "template-error", "a value named `kube` would hide the reserved kube object"
        )
    env = _environment(time.monotonic() + TIME_LIMIT)
    try:
        code = env.compile(source, name=display, filename=display)
    except TemplateSyntaxError as exc:
        raise render_error(display, exc.lineno, "template-syntax", exc.message or "syntax error") from None
    template = env.template_class.from_code(env, code, env.make_globals(None))
    context = {k: v for k, v in values.items() if isinstance(k, str)}
    context["kube"] = kube
    chunks: list[str] = []
    size = 0
    try:
        for chunk in template.generate(context):
            size += len(chunk)
            if size > OUTPUT_LIMIT:
                raise render_error(
                    display, 0, "template-output", f"output is larger than {OUTPUT_LIMIT} bytes"
                )
            chunks.append(chunk)
    except RenderError:
        raise
    except Exception as exc:  # a template can raise anything; it is the formula's error, never kube's
        raise _runtime_error(display, exc) from None
    return "".join(chunks)


def _runtime_error(display: str, exc: BaseException) -> RenderError:
    line = 0
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == display and frame.lineno:
            line = frame.lineno
    if isinstance(exc, SecurityError):
        return render_error(display, line, "template-sandbox", f"not allowed in a template: {exc}")
    if isinstance(exc, UndefinedError):
        return render_error(display, line, "template-undefined", str(exc))
    if isinstance(exc, TemplateError):
        return render_error(display, line, "template-error", str(exc))
    return render_error(display, line, "template-error", f"{type(exc).__name__}: {exc}")


def render_error(path: str, line: int, rule: str, message: str) -> RenderError:
    """A RenderError holding one Finding."""
    finding = Finding(path, line, rule, message)
    return RenderError(str(finding), findings=[finding])
