"""Shards: a formula's ``manifests/shards/`` rendered once per member (KPM's shards).

K3.yaml ``shards:`` is the default of the value ``shards``: a count (``shards: 3``) or a list of
per-shard mappings (``shards: [{name: a, zone: x}, ...]``). ``--set shards=5`` or a values file
overrides it like any value, so a revision records it and ``kube upgrade`` carries it over.

Each shard is a plain mapping: ``name`` (given, else ``<release>-<index>``), ``index`` (0-based),
``count`` (how many there are) and the entry's own keys. Shard templates see it as ``shard``;
every template sees them all as ``kube.shards``.

The rules, the same for K3.yaml (findings with lines) and for values (one error):

- a count is an integer from 1 to ``MAX_SHARDS`` (a boolean is not a count);
- a list holds 1 to ``MAX_SHARDS`` mappings with string keys; ``index`` and ``count`` are kube's,
  and keys that a mapping's methods would hide in a template (``items``, ``keys``...) are refused;
- a ``name`` is a DNS-1123 label, and no two shards share one (given names and default ones).
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from typing import Any

from kube.core.errors import UsageError
from kube.core.text import quote

#: Most shards a formula may have (each renders every file of manifests/shards/).
MAX_SHARDS = 1000
#: What all shards of one render may take together (each template has its own budgets too):
#: wall clock, objects and rendered text. A real member renders a few KiB in milliseconds.
TIME_LIMIT = 60.0
OBJECT_LIMIT = 5_000
OUTPUT_LIMIT = 64 * 1024 * 1024
#: The directory, inside manifests/, of the files rendered once per shard.
SHARDS_DIR = "shards"
#: The value holding the shards, and the name shard templates see their shard under.
VALUE = "shards"
SHARD = "shard"
#: Keys kube sets on every shard.
KUBE_KEYS = ("index", "count")
# Keys a template would read as the mapping's methods (``shard.items`` is dict.items).
_HIDDEN = frozenset(name for name in dir(dict) if not name.startswith("_"))
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")

Path = tuple[int | str, ...]


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, int | float):
        return f"the number {value}"
    return f"the string {quote(value)}" if isinstance(value, str) else "nothing"


class Budget:
    """The shared budget of one render's shards; ``spent`` says why to stop, or None."""

    def __init__(self) -> None:
        self.deadline = time.monotonic() + TIME_LIMIT
        self.objects = 0
        self.output = 0

    def spent(self, objects: int = 0, output: int = 0) -> str | None:
        self.objects += objects
        self.output += output
        if self.objects > OBJECT_LIMIT:
            return f"stopped: the shards rendered more than {OBJECT_LIMIT:,} objects"
        if self.output > OUTPUT_LIMIT:
            return f"stopped: the shards rendered more than {OUTPUT_LIMIT // (1024 * 1024)} MiB"
        if time.monotonic() > self.deadline:
            return f"stopped: the shards took more than {TIME_LIMIT:g}s to render"
        return None


def default_name(release: str, index: int) -> str:
    """A shard's name when its entry gives none (or the shards are a count)."""
    return f"{release}-{index}"


def problems(spec: object, release: str) -> list[tuple[Path, str]]:
    """Every problem of a shards spec, each with where it is (``(2, "name")`` for shards[2].name);
    ``release`` makes the default names checked for clashes and length."""
    expect = f"a count from 1 to {MAX_SHARDS} or a list of per-shard mappings"
    if isinstance(spec, bool) or not isinstance(spec, int | list | tuple):
        return [((), f"expected {expect}, got {_kind(spec)}")]
    if isinstance(spec, int):
        if not 1 <= spec <= MAX_SHARDS:
            return [((), f"expected {expect}, got {spec}")]
        names: list[tuple[Path, str]] = [((i,), default_name(release, i)) for i in range(spec)]
        return _name_problems(names)
    if not 1 <= len(spec) <= MAX_SHARDS:
        return [((), f"expected 1 to {MAX_SHARDS} shards, got {len(spec)}")]
    found: list[tuple[Path, str]] = []
    names = []
    for i, entry in enumerate(spec):
        if not isinstance(entry, Mapping):
            found.append(((i,), f"expected a mapping of this shard's values, got {_kind(entry)}"))
            continue
        for key in entry:
            if not isinstance(key, str):
                found.append(((i,), f"keys must be strings, got {quote(key)}"))
            elif key in KUBE_KEYS:
                found.append(((i, key), f"{quote(key)} is set by kube (shard.{key}); use another key"))
            elif key in _HIDDEN:
                message = f"{quote(key)} would read as a method in templates (shard.{key}); use another key"
                found.append(((i, key), message))
        name = entry.get("name")
        if name is None:
            names.append(((i,), default_name(release, i)))
        elif not isinstance(name, str):
            found.append(((i, "name"), f"expected a DNS-1123 label, got {_kind(name)}"))
        else:
            names.append(((i, "name"), name))
    return found + _name_problems(names)


def _name_problems(names: Sequence[tuple[Path, str]]) -> list[tuple[Path, str]]:
    found: list[tuple[Path, str]] = []
    seen: dict[str, int] = {}
    for where, name in names:
        if not _LABEL.fullmatch(name):
            message = (
                f"shard name {quote(name)} is not a DNS-1123 label "
                "(lowercase letters, digits and '-', at most 63 characters)"
            )
            found.append((where, message))
        elif name in seen:
            found.append((where, f"shard name {quote(name)} is also the name of shards[{seen[name]}]"))
        else:
            seen[name] = int(where[0])
    return found


def where(path: Path, root: str = VALUE) -> str:
    """``shards[2].name`` for ``(2, "name")``."""
    text = root
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def expand(spec: object, release: str) -> tuple[dict[str, Any], ...]:
    """The shards of a valid spec, in order (see ``problems``)."""
    if isinstance(spec, int):
        count = spec
        entries: Sequence[Mapping[str, Any]] = [{} for _ in range(spec)]
    else:
        entries = list(spec)  # type: ignore[call-overload]
        count = len(entries)
    shards = []
    for index, entry in enumerate(entries):
        shard = {"name": default_name(release, index), **entry, "index": index, "count": count}
        shards.append(shard)
    return tuple(shards)


def from_values(values: Mapping[str, Any], release: str) -> tuple[dict[str, Any], ...]:
    """The shards the values ask for (a sharded formula's ``shards`` value). Raises UsageError
    (exit 2) naming the first problem: the value came from the command line, a values file or a
    revision's carried values, all of which the user chooses."""
    if SHARD in values:
        raise UsageError(
            f"value {quote(SHARD)} is reserved in a sharded formula (shard templates see their shard there)",
            hint="rename the value",
        )
    spec = values.get(VALUE)
    found = problems(spec, release)
    if found:
        path, message = found[0]
        more = f" (and {len(found) - 1} more problems)" if len(found) > 1 else ""
        raise UsageError(
            f"value {where(path)}: {message}{more}",
            hint=f"--set {VALUE}=N (1 to {MAX_SHARDS}) or a values file with a list of mappings",
        )
    return expand(spec, release)
