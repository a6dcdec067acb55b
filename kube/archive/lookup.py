"""The lookup index: an SQLite copy of the search index that search and info open instead of reading it.

``$KUBE_HOME/index.json`` (``kube.archive.index``) stays the index an update
reads and rewrites: its entries are copied by the byte from one update to the
next. Reading it costs a read, a CRC-32 and a split of the whole file, which
grows with the archive (about 10 ms per 5,000 kubes). ``index.sqlite`` beside
it is written from the same bytes every time the index is written, and is what
``kube search`` and ``kube info`` open: one table ``entries(name, fold,
entry)`` (``entry`` is the index line as stored, ``fold`` the case-folded
description, keywords and details), and one table ``meta``.

Opening it costs the same at 500 kubes and at 50,000: a ``stat`` of
``index.json`` and one query. It is trusted only while it describes the
``index.json`` next to it: its ``meta`` holds that file's size, modification
time, inode and CRC, and a mismatch (an update killed between the two writes,
an index edited by hand, another kube version) means the caller reads
``index.json`` as before and the lookup file is written again. It holds
nothing the index does not, so a damaged or stale one is never worse than slow.

Search: a literal ASCII pattern of three characters or more finds its
candidates through an FTS5 trigram index of ``name`` and ``fold`` (when this
Python's SQLite has FTS5 and the trigram tokenizer, 3.34 and later), so a rare
word costs the same at any size; shorter or non-ASCII patterns are matched by
SQLite's ``instr`` over the same columns (a C scan, no Python per row); a
regular expression by Python's ``re`` over ``name`` and ``texts``, the entries
decoded only for the hits. Every candidate is then ranked and checked exactly
as ``Index.search`` does (exact name, name matches, text matches), so the
results are the same rows in the same order. A table of results is read
through the index ``shown`` (id, name, version, description, valid, plain):
a row whose name and fold are ASCII without capitals (``plain``) is a
substring match on its trigrams alone, so its large record (fold, texts,
entry) is not read at all; other candidates are checked by ``instr``.

An update changes only the rows whose index line changed, in the lookup file
itself, in one transaction (a rollback journal: a reader sees the rows before
or after, and a write killed half way is undone by the next one); a file of
another schema, or one that cannot be changed, is built again on disk (never
in memory) and renamed into place.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kube.archive import index as idx
from kube.core import paths

if TYPE_CHECKING:
    from collections.abc import Callable

SCHEMA = 4
#: How long a write waits for a search that is reading the lookup file (then it builds a new one).
_BUSY_SECONDS = 2.0


def lookup_file() -> Path:
    return paths.kube_home() / "index.sqlite"


def _stamp(source: os.stat_result) -> str:
    return f"{source.st_size}:{source.st_mtime_ns}:{source.st_ino}"


def _row(name: str, line: bytes) -> tuple[str, str, str, str, str, int, int, bytes]:
    """``(name, fold, texts, version, description, valid, plain, entry)``: the searched texts
    case-folded (for a literal search) and as written (a JSON list, for checking field by
    field), what a table of results shows, whether the trigrams of name and fold are exact
    (``plain``), and the index line itself."""
    raw = json.loads(line)
    texts = list(idx.searched_texts(raw))
    # fold joins with a newline (FTS5 stops at a NUL), so a match may span two fields: search
    # checks every candidate field by field afterwards, in texts.
    fold = "\n".join(t.casefold() for t in texts)
    return (
        name,
        fold,
        json.dumps(texts, ensure_ascii=False),
        str(raw.get("version", "")),
        str(raw.get("description", "")),
        int(bool(raw.get("valid", False))),
        int(_plain(name, fold)),
        line,
    )


def _plain(name: str, fold: str) -> bool:
    """Whether a trigram match of an ASCII pattern in ``name`` or ``fold`` is a substring match
    (instr's): both ASCII and without capitals, which the trigram tokenizer folds (it folds
    nothing else of ASCII), so the pattern's trigrams at consecutive positions are its
    characters there. Other rows are checked by instr."""
    return name.isascii() and fold.isascii() and name == name.lower() and fold == fold.lower()


def _fts_available(db: sqlite3.Connection) -> bool:
    try:
        db.execute("CREATE VIRTUAL TABLE temp.probe USING fts5(x, tokenize='trigram')")
        db.execute("DROP TABLE temp.probe")
    except sqlite3.Error:  # an SQLite built without FTS5, or older than 3.34 (no trigram)
        return False
    return True


def _fresh(db: sqlite3.Connection) -> None:
    db.execute("PRAGMA page_size = 8192")
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute(
        "CREATE TABLE entries (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, fold TEXT NOT NULL,"
        " texts TEXT NOT NULL, version TEXT NOT NULL, description TEXT NOT NULL, valid INTEGER NOT NULL,"
        " plain INTEGER NOT NULL, entry BLOB NOT NULL)"
    )
    # What a table of results shows, by id: a search with many hits reads these small rows
    # (SQLite seeks the large row only for the instr check, which a plain row does not need).
    db.execute("CREATE INDEX shown ON entries (id, name, version, description, valid, plain)")
    if _fts_available(db):
        # Trigrams of name and fold: a literal pattern of 3 or more characters finds its
        # candidate rows without reading the others. Its content is the entries table's.
        db.execute(
            "CREATE VIRTUAL TABLE grams USING fts5(name, fold, content='entries', content_rowid='id',"
            " tokenize='trigram')"
        )


def _has_grams(db: sqlite3.Connection) -> bool:
    found = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'grams'").fetchone()
    return found is not None


#: Every column of ``entries``: a file that cannot run this is of another schema, or damaged.
_COLUMNS = "SELECT id, name, fold, texts, version, description, valid, plain, entry FROM entries"


def _reusable(db: sqlite3.Connection) -> bool:
    """Whether ``db`` (the current lookup file) is of this schema, to change only what changed."""
    try:
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
        db.execute(_COLUMNS + " LIMIT 1")
    except sqlite3.Error:
        return False
    # A file written without trigrams (another SQLite) is built again where they are available.
    return meta.get("schema") == str(SCHEMA) and _has_grams(db) == _fts_available(db)


def _fill(
    db: sqlite3.Connection, header: idx.Header, lines: dict[str, bytes], source: os.stat_result
) -> None:
    """Make ``db`` hold ``lines``: rows whose entry differs are deleted and inserted again."""
    # Imported here, as tempfile and shutil in write: search and info, which only read, do
    # not load them (~3 ms of their start-up).
    from hashlib import blake2b

    def _digest(data: bytes) -> bytes:
        return blake2b(data, digest_size=16).digest()

    grams = _has_grams(db)
    old = {
        name: (rowid, _digest(bytes(entry)))
        for rowid, name, entry in db.execute("SELECT id, name, entry FROM entries")
    }
    gone = [
        (name, rowid)
        for name, (rowid, digest) in old.items()
        if (line := lines.get(name)) is None or _digest(line) != digest
    ]
    for _, rowid in gone:
        if grams:
            db.execute(
                "INSERT INTO grams(grams, rowid, name, fold) SELECT 'delete', id, name, fold FROM entries"
                " WHERE id = ?",
                (rowid,),
            )
        db.execute("DELETE FROM entries WHERE id = ?", (rowid,))
    changed = {name for name, _ in gone}
    fresh = [name for name in lines if name not in old or name in changed]
    db.executemany(
        "INSERT INTO entries (name, fold, texts, version, description, valid, plain, entry)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (_row(name, lines[name]) for name in fresh),
    )
    if grams and fresh:
        if not old:  # a new file: index every row at once
            db.execute("INSERT INTO grams(grams) VALUES ('rebuild')")
        else:
            db.executemany(
                "INSERT INTO grams(rowid, name, fold) SELECT id, name, fold FROM entries WHERE name = ?",
                ((name,) for name in fresh),
            )
    meta = {
        "schema": str(SCHEMA),
        "index_schema": str(header.schema),
        "url": header.url,
        "branch": header.branch,
        "commit": header.commit,
        "count": str(header.count),
        "crc": str(header.crc),
        "body": str(header.body),
        "source": _stamp(source),
    }
    db.execute("DELETE FROM meta")
    db.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
    db.commit()
    if old and len(gone) > len(old) // 4:
        with contextlib.suppress(sqlite3.Error):  # the rows are in; a larger file is only slower
            db.execute("VACUUM")


def _connect(path: str) -> sqlite3.Connection:
    db = sqlite3.connect(path)
    # A temporary file, renamed into place only once complete: no journal needed.
    db.execute("PRAGMA journal_mode = OFF")
    db.execute("PRAGMA synchronous = OFF")
    return db


def write(index: idx.Index, source: Path | None = None) -> None:
    """Write the lookup file for ``index``, which was read from (or just written to) ``source``.

    Changes the current lookup file in place when it is of this schema: only the rows whose
    entry changed are written again (one changed formula costs a comparison of the others'
    digests, not a new file's worth of parsing and full-text indexing, nor a copy of the file),
    in one SQLite transaction, so a reader sees the old rows or the new ones and a write killed
    half way is rolled back by the next. Otherwise, or when that fails, a new file is built
    on disk, not in memory, and renamed into place when it is complete."""
    where = source or paths.index_file()
    stamp = where.stat()
    lines = {n: line for n in index.names() if (line := index.line(n)) is not None}
    target = lookup_file()
    target.parent.mkdir(parents=True, exist_ok=True)
    if _change_in_place(target, index.header, lines, stamp):
        return
    _build(target, index.header, lines, stamp)


def _change_in_place(
    target: Path, header: idx.Header, lines: dict[str, bytes], source: os.stat_result
) -> bool:
    """``_fill`` the lookup file where it is, in one transaction; False when it is not there, of
    another schema or damaged, or cannot be changed (a reader holding it past the busy timeout)."""
    try:
        if not _regular_file(target):
            return False
        db = sqlite3.connect(target, timeout=_BUSY_SECONDS)
    except (OSError, sqlite3.Error):
        return False
    try:
        db.execute("PRAGMA journal_mode = DELETE")  # a rollback journal: the change is atomic
        if not _reusable(db):
            return False
        _fill(db, header, lines, source)
    except sqlite3.Error:
        with contextlib.suppress(sqlite3.Error):
            db.rollback()
        return False
    finally:
        db.close()
    return True


def _regular_file(path: Path) -> bool:
    """A regular file, not a symlink (the lookup file is kube's own, written only by rename)."""
    import stat

    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def _build(target: Path, header: idx.Header, lines: dict[str, bytes], source: os.stat_result) -> None:
    """A new lookup file for ``lines``, renamed over ``target`` once complete."""
    import tempfile

    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        db = _connect(tmp)
        try:
            _fresh(db)
            _fill(db, header, lines, source)
        finally:
            db.close()
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


#: What ``LookupIndex._ranked`` reads, by the column it returns and by whether the searched
#: texts are needed to check a candidate (never built from input). Without them ``NULL``
#: stands in: the texts (a JSON list as long as the details) are not read or decoded.
_SELECT = {
    ("entry", True): "SELECT name, texts, entry FROM entries",
    ("entry", False): "SELECT name, NULL, entry FROM entries",
    ("summary", True): "SELECT name, texts, name, version, description, valid FROM entries",
    ("summary", False): "SELECT name, NULL, name, version, description, valid FROM entries",
}


class LookupIndex:
    """The reading side of ``kube.archive.index.Index`` (header, names, get, search, close
    matches) served from the lookup file."""

    def __init__(self, db: sqlite3.Connection, header: idx.Header) -> None:
        self.header = header
        self._db = db
        self._grams = _has_grams(db)
        self._fallback: idx.Index | None = None

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._db.close()

    def _damaged(self) -> idx.Index:
        """``index.json``, once a query of the lookup file failed (a damaged page, a table that
        went missing after it was opened): what it answers from, and writes the file again from.
        The lookup file holds nothing the index does not, so a damaged one only costs time."""
        if self._fallback is None:
            self.close()
            try:
                self._fallback = idx.load_index()
            except idx.IndexUnavailable as exc:
                from kube.core.errors import ArchiveError

                raise ArchiveError("the search index is damaged", hint="run `kube update`") from exc
            with contextlib.suppress(OSError, sqlite3.Error):
                write(self._fallback)
        return self._fallback

    def names(self) -> list[str]:
        if self._fallback is None:
            with contextlib.suppress(sqlite3.Error):
                return [row[0] for row in self._db.execute("SELECT name FROM entries ORDER BY name")]
        return self._damaged().names()

    def get(self, name: str) -> idx.Entry | None:
        if self._fallback is None:
            with contextlib.suppress(sqlite3.Error):
                row = self._db.execute("SELECT entry FROM entries WHERE name = ?", (name,)).fetchone()
                return idx.Entry.from_raw(json.loads(row[0])) if row is not None else None
        return self._damaged().get(name)

    def search(self, pattern: str, regex: bool = False) -> list[idx.Entry]:
        """As ``Index.search``: case-insensitive, name matches first, ``re`` with ``regex``."""
        if self._fallback is None:
            with contextlib.suppress(sqlite3.Error):
                rows = self._ranked(pattern, regex, "entry")
                return [idx.Entry.from_raw(json.loads(row[0])) for row in rows]
        return self._damaged().search(pattern, regex)

    def search_rows(self, pattern: str, regex: bool = False) -> list[tuple[str, str, str, bool]]:
        """``search``'s results as ``(name, version, description, valid)``, without decoding
        the entries (what a table of results shows)."""
        if self._fallback is None:
            with contextlib.suppress(sqlite3.Error):
                return [(n, v, d, bool(ok)) for n, v, d, ok in self._ranked(pattern, regex, "summary")]
        return self._damaged().search_rows(pattern, regex)

    def _ranked(self, pattern: str, regex: bool, column: str) -> list[tuple[Any, ...]]:
        """The ``column`` values (``entry``, or the ``summary`` columns) of every match: the
        exact name first, then name matches, then text matches."""
        hit = idx.matcher(pattern, regex)  # a bad regex is a UsageError before any query
        with idx.regex_budget(pattern, regex):
            return self._matches(pattern, regex, column, hit)

    def _matches(
        self, pattern: str, regex: bool, column: str, hit: Callable[[str], bool]
    ) -> list[tuple[Any, ...]]:
        # A literal without a newline that instr found in fold lies inside one field (fold joins
        # them with newlines): a text match already, so the texts are not even read. Anything
        # else is checked field by field.
        found_in_fold = not regex and "\n" not in pattern.casefold()
        select = _SELECT[column, not found_in_fold]
        if regex:  # every row, checked field by field below
            rows = self._db.execute(select + " ORDER BY name")
        else:
            needle = pattern.casefold()
            if len(needle) >= 3 and needle.isascii() and self._grams:
                # Trigram candidates (a superset: SQLite folds each character the same way on both
                # sides), checked by instr, unless plain (then they are exact), and then by the
                # exact rule below. Read through the shown index: a plain row's large record
                # (fold, texts, entry) is not even read for a table of results.
                query = (
                    select + " INDEXED BY shown WHERE id IN (SELECT rowid FROM grams WHERE grams MATCH ?2)"  # noqa: S608 (constants only)
                    " AND (plain OR instr(name, ?1) OR instr(fold, ?1)) ORDER BY name"
                )
                args: tuple[str, ...] = (needle, '"' + needle.replace('"', '""') + '"')
            else:
                query = select + " WHERE instr(name, ?1) OR instr(fold, ?1) ORDER BY name"
                args = (needle,)
            rows = self._db.execute(query, args)
        lowered = pattern.lower()
        exact: list[tuple[Any, ...]] = []
        by_name: list[tuple[Any, ...]] = []
        by_text: list[tuple[Any, ...]] = []
        for row in rows:
            name = row[0]
            if name == lowered:
                exact.append(row[2:])
            elif hit(name):
                by_name.append(row[2:])
            elif found_in_fold or any(hit(text) for text in json.loads(row[1])):
                by_text.append(row[2:])
        return [*exact, *by_name, *by_text]

    def close_matches(self, name: str, limit: int = 5) -> list[str]:
        return idx.close_matches(self.names(), name, limit)


def open_lookup() -> LookupIndex | None:
    """The lookup index when it describes the current ``index.json``; None otherwise (read that)."""
    where = lookup_file()
    try:
        source = paths.index_file().stat()
        if not where.is_file():
            return None
        # Read-only, not immutable: an update changes the file in place, in a transaction that
        # SQLite's locks keep a reader out of (it waits, or reads index.json after the timeout).
        db = sqlite3.connect(f"{where.resolve().as_uri()}?mode=ro", uri=True, timeout=_BUSY_SECONDS)
        db.execute("PRAGMA query_only = 1")
    except (OSError, sqlite3.Error):
        return None
    try:
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("schema") != str(SCHEMA) or meta.get("source") != _stamp(source):
            db.close()
            return None
        header = idx.Header(
            schema=int(meta["index_schema"]),
            url=meta["url"],
            branch=meta["branch"],
            commit=meta["commit"],
            count=int(meta["count"]),
            body=int(meta["body"]),
            crc=int(meta["crc"]),
        )
        if header.schema != idx.SCHEMA:
            db.close()
            return None
        # Statements compiled, not run: a file whose meta is right but whose tables are not (one
        # dropped, another tool's schema) fails here, not in the middle of a search.
        db.execute(_COLUMNS + " LIMIT 0")
        if _has_grams(db):
            db.execute("SELECT rowid FROM grams WHERE grams MATCH 'abc' LIMIT 0")
    except (sqlite3.Error, KeyError, ValueError):
        db.close()
        return None
    return LookupIndex(db, header)
