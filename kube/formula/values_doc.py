"""The values a user can set, with the comments the author wrote beside them in K3.yaml.

What ``kube info NAME --values`` shows, as ``helm show values`` shows a chart's values.yaml:
``values_block`` is the ``values:`` section of K3.yaml as written (comments, order and
quoting kept, the indentation taken off); ``documented_values`` is one ``Value`` per key,
nested keys by their dotted path (what ``--set a.b=c`` addresses), with its default and its
comment: the full-line comments right above the key (up to a blank line) and the one at the
end of its line. The file is read with the strict loader (``yaml_strict``): a K3.yaml it
refuses is refused here with the same finding.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kube.formula.yaml_strict import line_of, load_one, read_capped, to_plain

__all__ = ["Value", "count_values", "documented_values", "values_block"]


@dataclass(frozen=True)
class Value:
    path: str  # ``image.tag``
    default: Any  # plain data; a mapping for a key with nested keys
    comment: str  # the author's words, one line per comment line, without the ``#``
    line: int  # 1-based line in K3.yaml

    @property
    def leaf(self) -> bool:
        return not (isinstance(self.default, Mapping) and self.default)

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "default": self.default, "comment": self.comment, "line": self.line}


def count_values(values: Mapping[str, Any]) -> int:
    """How many values can be set one by one: the keys whose value is not a non-empty mapping."""
    total = 0
    for value in values.values():
        total += count_values(value) if isinstance(value, Mapping) and value else 1
    return total


def _read(k3: Path) -> tuple[str, Any]:
    from kube.formula.load import K3_LIMIT

    text = read_capped(k3, limit=K3_LIMIT, display=str(k3))
    return text, load_one(text, source=str(k3))


def documented_values(k3: Path) -> list[Value]:
    """Every key under ``values:`` of the K3.yaml at ``k3``, in the order written."""
    text, doc = _read(k3)
    values = doc.get("values") if isinstance(doc, Mapping) else None
    if not isinstance(values, Mapping):
        return []
    lines = text.splitlines()
    found: list[Value] = []
    _walk(values, "", lines, found)
    return found


def _walk(node: Mapping[str, Any], prefix: str, lines: list[str], found: list[Value]) -> None:
    for key, value in node.items():
        path = f"{prefix}{key}"
        line = line_of(node, key)
        comment = [*_above(lines, line), *_beside(node, key, line)]
        found.append(Value(path, to_plain(value), "\n".join(comment), line))
        if isinstance(value, Mapping):
            _walk(value, f"{path}.", lines, found)


def _above(lines: list[str], line: int) -> list[str]:
    """The full-line comments right above line ``line`` (1-based), nearest last."""
    taken: list[str] = []
    index = line - 2
    while index >= 0 and lines[index].lstrip().startswith("#"):
        taken.append(lines[index].lstrip()[1:].strip())
        index -= 1
    return list(reversed(taken))


def _beside(node: Any, key: Any, line: int) -> list[str]:
    """The comment at the end of the key's line (ruamel keeps it with the key, knowing quotes)."""
    items = getattr(getattr(node, "ca", None), "items", {}) or {}
    for token in items.get(key) or ():
        tokens = token if isinstance(token, list) else [token]
        for tok in tokens:
            value = getattr(tok, "value", None)
            mark = getattr(tok, "start_mark", None)
            if isinstance(value, str) and mark is not None and mark.line + 1 == line:
                first = value.strip().splitlines()[0] if value.strip() else ""
                if first.startswith("#"):
                    return [first[1:].strip()]
    return []


def values_block(k3: Path) -> str:
    """The ``values:`` section of K3.yaml as written, dedented; "" when there are no values. A
    section written in flow style (``values: {a: 1}``) is given as that one line's mapping."""
    text, doc = _read(k3)
    if not isinstance(doc, Mapping) or not isinstance(doc.get("values"), Mapping) or not doc["values"]:
        return ""
    lines = text.splitlines()
    start = line_of(doc, "values")  # 1-based: the block begins on the line after
    later = sorted(n for k in doc if (n := line_of(doc, k)) > start)
    end = (later[0] - 1) if later else len(lines)
    block = lines[start:end]
    # Comments at the left margin just before the next key are about that key, not a value.
    while block and (not block[-1].strip() or block[-1].startswith("#")):
        block.pop()
    if not block:
        head = lines[start - 1]
        return head.split(":", 1)[1].strip() if ":" in head else ""
    indent = min(len(x) - len(x.lstrip()) for x in block if x.strip())
    return "\n".join(x[indent:] if x.strip() else "" for x in block)
