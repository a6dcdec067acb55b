"""Template values: K3.yaml defaults < ``--values FILE`` < ``--set`` < ``--set-string``.

Merging is deep for mappings only; any other value (a list, a scalar, null)
replaces what was there. ``--set`` takes exactly one assignment (no comma
splitting, so ``--set hosts=a,b`` sets the string ``"a,b"``); repeat the flag
for more. Its value is typed like a YAML 1.2 core-schema scalar: ``true``,
``42``, ``0x1f``, ``1.5``, ``null``/``~`` and quoted strings (``'1.10'``,
``"on"``); an empty value is the empty string; anything else is a string.
``--set-string`` never types its value. Keys are dotted paths of
``[A-Za-z0-9_/-]`` segments (``\\.`` for a literal dot:
``--set annotations.example\\.com/team=ops``) with optional list
indexes (``hosts[0]=a``; an index may be at most the current length, which
appends), at most ``MAX_DEPTH`` levels deep; values must be UTF-8 text. Error
messages name the key, never the value.

Values can be secrets (``--set-string db.password=...``, a password the hook
generated), so ``secret_masker`` gives render errors a function that replaces
them with ``<redacted>`` before a line of rendered output is quoted.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from kube.core.errors import FormulaError, UsageError
from kube.formula.yaml_strict import MAX_DEPTH

#: Largest accepted ``--values`` file.
VALUES_FILE_LIMIT = 1024 * 1024

_SEGMENT = re.compile(r"((?:[A-Za-z0-9_/-]|\\\.)+)((?:\[\d{1,6}\])*)")
_INDEX = re.compile(r"\[(\d+)\]")
_INT = re.compile(r"[-+]?[0-9]+")
_OCT = re.compile(r"0o[0-7]+")
_HEX = re.compile(r"0x[0-9a-fA-F]+")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_INF = re.compile(r"[-+]?\.(inf|Inf|INF)")
_NAN = re.compile(r"\.(nan|NaN|NAN)")
_SINGLE_QUOTED = re.compile(r"'(?:[^']|'')*'")

PathPart = str | int


MASK = "<redacted>"
#: Shorter values are not masked: they would mask letters and numbers all over a message.
SECRET_MIN_LENGTH = 4
# Values under keys named like these are secrets even when they are the formula's defaults.
_SECRET_KEY = re.compile(r"passw|secret|token|key|credential|auth|private|cert|salt", re.IGNORECASE)
_MISSING = object()


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """A new dict: ``override`` over ``base``, merging nested mappings.

    Raises FormulaError for values nested deeper than ``MAX_DEPTH`` (exit 4), never a
    RecursionError."""
    return _merge(base, override, 1)


def _merge(base: Mapping[str, Any], override: Mapping[str, Any], depth: int) -> dict[str, Any]:
    result: dict[str, Any] = _copy(dict(base), depth)
    for key, value in override.items():
        old = result.get(key)
        if isinstance(old, dict) and isinstance(value, Mapping):
            result[key] = _merge(old, value, depth + 1)
        else:
            result[key] = _copy(value, depth + 1)
    return result


def _copy(value: Any, depth: int) -> Any:
    """A copy of plain data (what deepcopy gives for it, faster, and depth-checked)."""
    if depth > MAX_DEPTH:
        raise FormulaError(f"values are nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, Mapping):
        return {k: _copy(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_copy(v, depth + 1) for v in value]
    return value


def secret_masker(values: Mapping[str, Any], defaults: Mapping[str, Any]) -> Callable[[str], str]:
    """A function replacing every secret value in a text with ``<redacted>``.

    Secret: a string or number of at least ``SECRET_MIN_LENGTH`` characters that is not
    the formula's own default at that place (so it came from ``--values``, ``--set``,
    ``--set-string`` or the hook), or that lies under a key named like a password,
    secret, token, key, credential, auth, private, cert or salt. Each is masked as
    written and as templates commonly write it: base64 (``b64encode``), JSON-escaped
    (``quote``, ``tojson``) and repr-escaped (the quoting of messages). The set is
    built on first use, so rendering without an error never pays for it."""
    masker: list[Callable[[str], str]] = []

    def mask(text: str) -> str:
        if not masker:
            masker.append(_build_masker(values, defaults))
        return masker[0](text)

    return mask


def _build_masker(values: Mapping[str, Any], defaults: Mapping[str, Any]) -> Callable[[str], str]:
    found: set[str] = set()
    stack: list[tuple[Any, Any, bool]] = [(values, defaults, False)]
    while stack:
        value, default, secret = stack.pop()
        if isinstance(value, Mapping):
            for key, item in value.items():
                under = default.get(key, _MISSING) if isinstance(default, Mapping) else _MISSING
                stack.append((item, under, secret or bool(_SECRET_KEY.search(str(key)))))
        elif isinstance(value, list | tuple):
            for index, item in enumerate(value):
                under = default[index] if isinstance(default, list) and index < len(default) else _MISSING
                stack.append((item, under, secret))
        elif isinstance(value, str | int | float) and not isinstance(value, bool):
            text = str(value)
            if len(text) >= SECRET_MIN_LENGTH and (secret or default is _MISSING or default != value):
                found.add(text)
    forms: set[str] = set()
    for text in found:
        forms |= {text, json.dumps(text)[1:-1], json.dumps(text, ensure_ascii=False)[1:-1], repr(text)[1:-1]}
        forms.add(base64.b64encode(text.encode("utf-8", "replace")).decode("ascii"))
    forms = {form for form in forms if len(form) >= SECRET_MIN_LENGTH}
    if not forms:
        return lambda text: text
    pattern = re.compile("|".join(re.escape(form) for form in sorted(forms, key=len, reverse=True)))
    return lambda text: pattern.sub(MASK, text)


def merge_values(
    defaults: Mapping[str, Any],
    *,
    value_files: Sequence[Path] = (),
    sets: Sequence[str] = (),
    set_strings: Sequence[str] = (),
) -> dict[str, Any]:
    """The values a template sees, in precedence order (later wins)."""
    values = deep_merge({}, defaults)
    for path in value_files:
        values = deep_merge(values, load_values_file(path))
    for text in sets:
        keys, raw = parse_assignment(text, "--set")
        _assign(values, keys, parse_scalar(raw, _label(text, "--set")), _label(text, "--set"))
    for text in set_strings:
        keys, raw = parse_assignment(text, "--set-string")
        _assign(values, keys, raw, _label(text, "--set-string"))
    return values


def _label(text: str, flag: str) -> str:
    """How an assignment is named in errors: the flag and the key, never the value."""
    key = text.partition("=")[0]
    return f"{flag} {key if len(key) <= 60 else key[:57] + '...'!r}"


def load_values_file(path: Path) -> dict[str, Any]:
    """A ``--values`` file: strict YAML (or JSON) whose top level is a mapping."""
    from kube.formula import yaml_strict as yamlsafe

    if not path.exists():
        raise UsageError(f"--values {path}: no such file")
    if not path.is_file():  # a directory, a FIFO: what was given on the command line is wrong
        raise UsageError(f"--values {path}: not a regular file", hint="give a YAML or JSON file of values")
    text = yamlsafe.read_capped(path, limit=VALUES_FILE_LIMIT, display=str(path))
    data = yamlsafe.to_plain(yamlsafe.load_one(text, source=str(path)))
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise FormulaError(
            f"{path}:1 --values file must hold a mapping of names to values, not a {_kind(data)}"
        )
    return data


def parse_assignment(text: str, flag: str) -> tuple[list[PathPart], str]:
    """Split ``a.b[0]=value`` into its key path and the raw value."""
    key, sep, raw = text.partition("=")
    label = _label(text, flag)
    if _has_surrogates(text):
        # Python hands bytes that are not UTF-8 over as lone surrogates; they cannot be
        # written to a record or sent to kubectl.
        byte = next((f" (byte 0x{ord(c) - 0xDC00:02x})" for c in text if "\udc80" <= c <= "\udcff"), "")
        what = "value" if _has_surrogates(raw) and sep else "key"
        raise UsageError(f"{label}: the {what} is not UTF-8 text{byte}")
    if not sep or not key:
        shown = text if len(text) <= 60 else text[:57] + "..."
        raise UsageError(f"{flag} {shown!r}: expected KEY=VALUE, for example {flag} image.tag=1.2")
    parts: list[PathPart] = []
    for segment in _split_dots(key):
        match = _SEGMENT.fullmatch(segment)
        if match is None:
            shown = segment if len(segment) <= 60 else segment[:57] + "..."
            raise UsageError(
                f"{label}: bad key {shown!r}; use letters, digits, '_', '-' and '/', "
                "dots between names and [N] for list items"
            )
        parts.append(match.group(1).replace("\\.", "."))
        parts.extend(int(i) for i in _INDEX.findall(match.group(2)))
        if len(parts) > MAX_DEPTH:
            raise UsageError(f"{label}: the key is nested deeper than {MAX_DEPTH} levels")
    return parts, raw


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _split_dots(key: str) -> list[str]:
    return re.split(r"(?<!\\)\.", key)


def parse_scalar(raw: str, where: str = "") -> Any:
    """Type ``raw`` like a plain YAML 1.2 (core schema) scalar."""
    text = raw.strip()
    if text == "":
        return ""
    if text in ("null", "Null", "NULL", "~"):
        return None
    if text in ("true", "True", "TRUE"):
        return True
    if text in ("false", "False", "FALSE"):
        return False
    if _INT.fullmatch(text):
        return int(text)
    if _OCT.fullmatch(text):
        return int(text[2:], 8)
    if _HEX.fullmatch(text):
        return int(text[2:], 16)
    if _FLOAT.fullmatch(text):
        return float(text)
    if _INF.fullmatch(text):
        return -math.inf if text.startswith("-") else math.inf
    if _NAN.fullmatch(text):
        return math.nan
    if len(text) >= 2 and text[0] == text[-1] == '"':
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{where}: bad double-quoted string: {exc.msg}") from None
        if isinstance(value, str):
            return value
    if _SINGLE_QUOTED.fullmatch(text):
        return text[1:-1].replace("''", "'")
    return raw


def _assign(values: dict[str, Any], keys: list[PathPart], value: Any, label: str) -> None:
    node: Any = values
    for depth, key in enumerate(keys):
        last = depth == len(keys) - 1
        following: PathPart | None = None if last else keys[depth + 1]
        fresh: Any = [] if isinstance(following, int) else {}
        where = _display(keys[:depth]) or "the top level"
        if isinstance(key, int):
            if not isinstance(node, list):
                raise UsageError(f"{label}: {where} is a {_kind(node)}, not a list")
            if key > len(node):
                raise UsageError(f"{label}: index {key} is past the end of {where} ({len(node)} items)")
            if key == len(node):
                node.append(fresh)
        else:
            if not isinstance(node, dict):
                raise UsageError(f"{label}: {where} is a {_kind(node)}, not a mapping")
            if key not in node or node[key] is None:
                node[key] = fresh
        if last:
            node[key] = value
        else:
            node = node[key]


def _display(keys: Sequence[PathPart]) -> str:
    out = ""
    for key in keys:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else key)
    return out


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "mapping"
    return type(value).__name__
