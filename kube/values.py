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
appends).
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from kube.errors import FormulaError, UsageError

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


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """A new dict: ``override`` over ``base``, merging nested mappings."""
    result = copy.deepcopy(dict(base))
    for key, value in override.items():
        old = result.get(key)
        if isinstance(old, dict) and isinstance(value, Mapping):
            result[key] = deep_merge(old, value)
        else:
            result[key] = copy.deepcopy(value)
    return result


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
        _assign(values, keys, parse_scalar(raw, text), text)
    for text in set_strings:
        keys, raw = parse_assignment(text, "--set-string")
        _assign(values, keys, raw, text)
    return values


def load_values_file(path: Path) -> dict[str, Any]:
    """A ``--values`` file: strict YAML (or JSON) whose top level is a mapping."""
    from kube import yamlsafe

    if not path.exists():
        raise UsageError(f"--values {path}: no such file")
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
    if not sep or not key:
        raise UsageError(f"{flag} {text!r}: expected KEY=VALUE, for example {flag} image.tag=1.2")
    parts: list[PathPart] = []
    for segment in _split_dots(key):
        match = _SEGMENT.fullmatch(segment)
        if match is None:
            raise UsageError(
                f"{flag} {text!r}: bad key {segment!r}; use letters, digits, '_', '-' and '/', "
                "dots between names and [N] for list items"
            )
        parts.append(match.group(1).replace("\\.", "."))
        parts.extend(int(i) for i in _INDEX.findall(match.group(2)))
    return parts, raw


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
            raise UsageError(f"--set {where!r}: bad double-quoted string: {exc.msg}") from None
        if isinstance(value, str):
            return value
    if _SINGLE_QUOTED.fullmatch(text):
        return text[1:-1].replace("''", "'")
    return raw


def _assign(values: dict[str, Any], keys: list[PathPart], value: Any, text: str) -> None:
    node: Any = values
    for depth, key in enumerate(keys):
        last = depth == len(keys) - 1
        following: PathPart | None = None if last else keys[depth + 1]
        fresh: Any = [] if isinstance(following, int) else {}
        where = _display(keys[:depth]) or "the top level"
        if isinstance(key, int):
            if not isinstance(node, list):
                raise UsageError(f"--set {text!r}: {where} is a {_kind(node)}, not a list")
            if key > len(node):
                raise UsageError(
                    f"--set {text!r}: index {key} is past the end of {where} ({len(node)} items)"
                )
            if key == len(node):
                node.append(fresh)
        else:
            if not isinstance(node, dict):
                raise UsageError(f"--set {text!r}: {where} is a {_kind(node)}, not a mapping")
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
