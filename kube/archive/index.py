"""The search index: one compact JSON-lines file built at update time, read by search and info.

File format (``$KUBE_HOME/index.json``): a header line
``{"schema", "url", "branch", "commit", "count", "body", "crc"}``, a line with
the JSON list of formula names (sorted), then one JSON object per formula in
the same order (``kube.indexer`` builds them). ``body`` and ``crc`` are the
length and CRC-32 of everything after the header, so a truncated or damaged
file is noticed without parsing it. A different ``schema`` means the file is
rebuilt, never migrated.

Reading needs nothing but ``json``: no git, no YAML, no templates. ``info``
parses one line; a literal ``search`` parses only the lines whose bytes
contain the pattern (entries are ASCII-only JSON, so a byte match is a
superset of the real matches, checked field by field afterwards).
"""

from __future__ import annotations

import contextlib
import json
import re
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kube.core import paths
from kube.core.errors import ArchiveError, UsageError

SCHEMA = 1
# Same rule as kube.formula.NAME_RE (DNS-1123 label); repeated here so reading
# the index does not import the YAML machinery.
NAME_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
#: A git object id (SHA-1, or SHA-256).
SHA_RE = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")


class IndexUnavailable(ArchiveError):
    """The index is missing, damaged or from another schema: rebuild it."""


@dataclass(frozen=True)
class Header:
    schema: int
    url: str
    branch: str
    commit: str
    count: int
    body: int
    crc: int


@dataclass(frozen=True)
class Entry:
    name: str
    version: str
    description: str
    home: str
    maintainers: tuple[str, ...]
    dependencies: tuple[tuple[str, str], ...]
    details: str
    keywords: tuple[str, ...]
    provides: tuple[str, ...]
    built_commit: str
    built_date: str
    valid: bool
    problems: tuple[str, ...]
    value_count: int | None = None  # how many values can be set; None in an entry that predates it
    #: The default shards' names (K3.yaml ``shards:``, for a release named after the formula);
    #: () when the formula has no shards.
    shards: tuple[str, ...] = ()

    @classmethod
    def from_raw(cls, raw: Mapping[str, Any]) -> Entry:
        built = raw.get("built") or {}
        return cls(
            name=raw["name"],
            version=raw.get("version", ""),
            description=raw.get("description", ""),
            home=raw.get("home", ""),
            maintainers=tuple(raw.get("maintainers", ())),
            dependencies=tuple((d[0], d[1]) for d in raw.get("dependencies", ())),
            details=raw.get("details", ""),
            keywords=tuple(raw.get("keywords", ())),
            provides=tuple(raw.get("provides", ())),
            built_commit=built.get("commit", ""),
            built_date=built.get("date", ""),
            valid=bool(raw.get("valid", False)),
            problems=tuple(raw.get("problems", ())),
            value_count=raw["valueCount"] if isinstance(raw.get("valueCount"), int) else None,
            shards=tuple(str(n) for n in raw.get("shards", ())),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "home": self.home,
            "maintainers": list(self.maintainers),
            "dependencies": [{"name": n, "version": r} for n, r in self.dependencies],
            "details": self.details,
            "keywords": list(self.keywords),
            "provides": list(self.provides),
            "built": {"commit": self.built_commit, "date": self.built_date},
            "valid": self.valid,
            "problems": list(self.problems),
            "valueCount": self.value_count,
            **({"shards": list(self.shards)} if self.shards else {}),
        }


class Index:
    """A loaded index: entries by formula name (parsed on demand), plus where they came from."""

    def __init__(self, header: Header, lines: dict[str, bytes]) -> None:
        self.header = header
        self._lines = lines
        self._raw: dict[str, dict[str, Any]] | None = None

    @property
    def raw(self) -> dict[str, dict[str, Any]]:
        """Every entry as a plain dict (parses the whole file; for update time)."""
        if self._raw is None:
            self._raw = {name: json.loads(line) for name, line in self._lines.items()}
        return self._raw

    def names(self) -> list[str]:
        return list(self._lines)

    def line(self, name: str) -> bytes | None:
        """The entry exactly as stored (JSON, no newline), for copying into a new index."""
        return self._lines.get(name)

    def get(self, name: str) -> Entry | None:
        line = self._lines.get(name)
        return Entry.from_raw(json.loads(line)) if line is not None else None

    def search(self, pattern: str, regex: bool = False) -> list[Entry]:
        """Case-insensitive match on name, description, keywords and details; name matches first."""
        hit = matcher(pattern, regex)
        with regex_budget(pattern, regex):
            return self._search(pattern, regex, hit)

    def _search(self, pattern: str, regex: bool, hit: Callable[[str], bool]) -> list[Entry]:
        raw_needle = _byte_needle(pattern) if not regex else None
        exact: list[Entry] = []
        by_name: list[Entry] = []
        by_text: list[Entry] = []
        for name, line in self._lines.items():
            if raw_needle is not None and raw_needle not in line.lower():
                continue
            if name == pattern.lower():
                exact.append(self._entry(line))
            elif hit(name):
                by_name.append(self._entry(line))
            else:
                raw = json.loads(line)
                if any(hit(text) for text in searched_texts(raw)):
                    by_text.append(Entry.from_raw(raw))
        return [*exact, *by_name, *by_text]

    def search_rows(self, pattern: str, regex: bool = False) -> list[tuple[str, str, str, bool]]:
        """``search``'s results as ``(name, version, description, valid)`` (a table's columns)."""
        return [(e.name, e.version, e.description, e.valid) for e in self.search(pattern, regex)]

    @staticmethod
    def _entry(line: bytes) -> Entry:
        return Entry.from_raw(json.loads(line))

    def close_matches(self, name: str, limit: int = 5) -> list[str]:
        return close_matches(self.names(), name, limit)


#: How similar a name must be to be suggested (``difflib``'s ratio).
CLOSE_CUTOFF = 0.6


def close_matches(names: list[str], name: str, limit: int = 5) -> list[str]:
    """Names like ``name`` (for a "did you mean"), the most similar first, then names that
    contain it: ``difflib.get_close_matches`` over every name, then the substring matches.

    difflib's ratio (2·M/T, M characters matched, T both lengths together) is bounded from
    above without a Python step per character of every name: a length window (its
    ``real_quick_ratio``), then M ≤ Σ over the pattern's characters of min(its count there, its
    count in the name) (its ``quick_ratio``), where a character the pattern holds once counts 1
    if the name has it (one set intersection, in C) and only repeated ones are counted with
    ``str.count``. The names are then scored in order of that bound, highest first, and the
    scoring stops once the bound falls below the ``limit``-th best ratio found: no name left
    could reach it, nor tie it (a tie is broken by the name, as difflib's ``nlargest`` does).
    So the suggestions are exactly difflib's over every name (tests/test_index.py compares them
    on thousands of queries), and a long pattern close to thousands of names (``-operator``)
    is scored against dozens of them, not all of them."""
    import difflib
    import heapq

    if limit < 1:
        return []
    word = name.lower()
    size = len(word)
    once = frozenset(c for c in word if word.count(c) == 1)
    repeated = [(c, word.count(c)) for c in set(word) if c not in once]
    bounded: list[tuple[float, str]] = []
    for candidate in names:
        total = len(candidate) + size
        need = CLOSE_CUTOFF * total - 1e-9  # slack: difflib's float rounding
        if 2 * min(len(candidate), size) < need:
            continue
        shared = len(once.intersection(candidate))
        for char, times in repeated:
            shared += min(times, candidate.count(char))
        if 2 * shared >= need:
            # The same float expression as difflib's ratio, with M's bound: never below it.
            bounded.append((2.0 * shared / total, candidate))
    bounded.sort(reverse=True)
    scorer = difflib.SequenceMatcher()
    scorer.set_seq2(word)
    best: list[tuple[float, str]] = []  # the `limit` best (ratio, name), smallest first
    for bound, candidate in bounded:
        if len(best) == limit and bound < best[0][0]:
            break
        scorer.set_seq1(candidate)
        if scorer.real_quick_ratio() >= CLOSE_CUTOFF and scorer.quick_ratio() >= CLOSE_CUTOFF:
            score = scorer.ratio()
            if score >= CLOSE_CUTOFF:
                if len(best) < limit:
                    heapq.heappush(best, (score, candidate))
                else:
                    heapq.heappushpop(best, (score, candidate))
    close = [candidate for _, candidate in sorted(best, reverse=True)]
    for candidate in names:
        if len(close) >= limit:
            break
        if len(name) >= 3 and word in candidate and candidate not in close:
            close.append(candidate)
    return close


#: How long a ``-r`` search may run. Formula text comes from strangers, and Python's ``re``
#: backtracks: ``(a+)+$`` over forty a's and a "!" would never end. A search of a large archive
#: with a plain pattern takes a fraction of this.
REGEX_SECONDS = 5.0


class _RegexExpired(Exception):
    """Raised by the alarm inside the ``re`` scan (``re`` checks for signals as it backtracks)."""


@contextlib.contextmanager
def regex_budget(pattern: str, regex: bool) -> Iterator[None]:
    """A ``-r`` search inside runs for ``REGEX_SECONDS`` at most, then is a UsageError (exit 2).
    The alarm works in the main thread only; elsewhere (no caller searches there) no budget."""
    if not regex:
        yield
        return
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    armed = True

    def expire(signum: int, frame: object) -> None:
        if armed:  # not once the search is done: the alarm may ring as it is being turned off
            raise _RegexExpired

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, REGEX_SECONDS)
    try:
        yield
        armed = False
    except _RegexExpired:
        raise UsageError(
            f"regex {pattern!r} took longer than {REGEX_SECONDS:g}s: simplify it",
            hint="avoid nested repetition such as (a+)+, or drop -r to search for the text literally",
        ) from None
    finally:
        armed = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def matcher(pattern: str, regex: bool) -> Callable[[str], bool]:
    if regex:
        try:
            compiled = re.compile(pattern, re.IGNORECASE)
        except re.error as exc:
            raise UsageError(
                f"invalid regular expression {pattern!r}: {exc}",
                hint="drop -r/--regex to search for the text literally",
            ) from None
        return lambda text: compiled.search(text) is not None
    needle = pattern.casefold()
    return lambda text: needle in text.casefold()


def _byte_needle(pattern: str) -> bytes | None:
    """The pattern as it appears in the ASCII JSON lines, when that is exact enough to pre-filter."""
    if not pattern.isascii() or any(ch in pattern for ch in '"\\') or not pattern.isprintable():
        return None
    return pattern.lower().encode()


def searched_texts(raw: Mapping[str, Any]) -> Iterable[str]:
    yield raw.get("description", "")
    yield from raw.get("keywords", ())
    yield raw.get("details", "")


def _parse_header(line: bytes) -> Header | None:
    try:
        data = json.loads(line)
        header = Header(
            schema=int(data["schema"]),
            url=str(data["url"]),
            branch=str(data["branch"]),
            commit=str(data["commit"]),
            count=int(data["count"]),
            body=int(data["body"]),
            crc=int(data["crc"]),
        )
    except (ValueError, KeyError, TypeError):
        return None
    return header if header.schema == SCHEMA else None


def read_header(path: Path | None = None) -> Header | None:
    """The header, or None when the file is missing, truncated or of another schema (body not checked)."""
    where = path or paths.index_file()
    try:
        with where.open("rb") as handle:
            line = handle.readline(1 << 16)
            size = where.stat().st_size
    except OSError:
        return None
    header = _parse_header(line)
    if header is None or size != len(line) + header.body:
        return None
    return header


def load_index(path: Path | None = None) -> Index:
    """Read the index; IndexUnavailable when it must be rebuilt."""
    where = path or paths.index_file()
    try:
        data = where.read_bytes()
    except FileNotFoundError:
        raise IndexUnavailable(f"the search index {where} is missing", hint="run `kube update`") from None
    except OSError as exc:
        raise IndexUnavailable(f"cannot read the search index {where}: {exc.strerror}") from None
    return parse(data, where)


def parse(data: bytes, where: Path) -> Index:
    """The index in ``data`` (the bytes of ``where``); IndexUnavailable when they are damaged."""
    cut = data.find(b"\n") + 1
    header = _parse_header(data[:cut]) if cut else None
    body = data[cut:]
    lines = body.split(b"\n")
    try:
        if header is None or len(body) != header.body or zlib.crc32(body) != header.crc:
            raise ValueError("damaged")
        names = json.loads(lines[0])
        if not isinstance(names, list) or len(names) != header.count or len(lines) != header.count + 2:
            raise ValueError("damaged")
    except ValueError:
        raise IndexUnavailable(
            f"the search index {where} is damaged or from another kube version", hint="run `kube update`"
        ) from None
    return Index(header, dict(zip(names, lines[1:-1], strict=True)))


def encode(*, url: str, branch: str, commit: str, entries: Mapping[str, Mapping[str, Any] | bytes]) -> bytes:
    """The index file; an entry given as bytes is a line of an earlier index, copied unchanged."""
    names = sorted(entries)
    lines = [json.dumps(names, separators=(",", ":")).encode() + b"\n"]
    for name in names:
        value = entries[name]
        if isinstance(value, bytes):
            lines.append(value + b"\n")
            continue
        entry = {"name": name, **{k: v for k, v in value.items() if k != "name"}}
        lines.append(json.dumps(entry, separators=(",", ":"), ensure_ascii=True).encode() + b"\n")
    body = b"".join(lines)
    header = {"schema": SCHEMA, "url": url, "branch": branch, "commit": commit, "count": len(names)}
    header.update(body=len(body), crc=zlib.crc32(body))
    return json.dumps(header, separators=(",", ":")).encode() + b"\n" + body
