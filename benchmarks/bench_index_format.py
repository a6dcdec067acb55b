"""The search index's formats compared in one process: what a search or an info costs to read.

    python benchmarks/bench_index_format.py KUBE_HOME [--repeat 9] [--synthetic N]

Takes the ``index.json`` of a ``$KUBE_HOME`` (after a ``kube update``; or,
with ``--synthetic N``, one written there from ``archive_gen.py``'s N formulas
without cloning or parsing anything) and
times, as medians: loading the JSON-lines index and reading one entry (what
``kube info`` did), a literal search with many hits and with none, a regex
search; the same through the SQLite lookup file (``kube.archive.lookup``);
and, for comparison, an SQLite FTS5 table with the trigram tokenizer (built
here, not used by kube). Also the size of each file, the time to write it, and
the time to write the lookup file again after one formula changed (an update's share).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def timed(repeat: int, work: Callable[[], Any]) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def write_synthetic(home: Path, count: int) -> None:
    """An index.json of ``archive_gen``'s formulas, entries as the indexer would write them."""
    import random

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from archive_gen import Formula, names_for

    from kube.archive import index as idx

    rng = random.Random(f"16:{count}")
    names = names_for(count, rng)
    entries: dict[str, dict[str, Any]] = {}
    for i, name in enumerate(names):
        f = Formula(name, i, names, rng)
        entries[name] = {
            "name": name,
            "version": f.version,
            "description": f.description,
            "home": f"https://github.com/example/{name}",
            "maintainers": f.maintainers,
            "dependencies": [[d, ">=1.0.0, <99"] for d in f.deps],
            "details": "\n".join(f.details) + "\n",
            "keywords": f.keywords,
            "provides": ["manifests/deployment.yaml.tmpl", "manifests/service.yaml.tmpl"],
            "built": {"commit": "0" * 40, "date": "2026-01-01T00:00:00+00:00"},
            "valid": True,
            "problems": [],
        }
    home.mkdir(parents=True, exist_ok=True)
    (home / "index.json").write_bytes(
        idx.encode(url="file:///x", branch="main", commit="0" * 40, entries=entries)
    )
    (home / "index.sqlite").unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("home", type=Path)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--synthetic", type=int, default=0)
    args = parser.parse_args()
    os.environ["KUBE_HOME"] = str(args.home)
    from kube.archive import index as idx
    from kube.archive import lookup

    if args.synthetic:
        write_synthetic(args.home, args.synthetic)

    source = args.home / "index.json"
    loaded = idx.load_index(source)
    name = loaded.names()[len(loaded.names()) // 2]
    n = len(loaded.names())
    rows: list[tuple[str, float]] = []
    rows.append(("json: load + get(name)", timed(args.repeat, lambda: idx.load_index(source).get(name))))
    rows.append(
        (
            "json: load + search database",
            timed(args.repeat, lambda: idx.load_index(source).search("database")),
        )
    )
    rows.append(
        (
            "json: load + search (no match)",
            timed(args.repeat, lambda: idx.load_index(source).search("zzqqxx")),
        )
    )
    rows.append(
        (
            "json: load + search -r",
            timed(args.repeat, lambda: idx.load_index(source).search("^zz[0-9]+$", True)),
        )
    )
    started = time.perf_counter()
    lookup.write(loaded, source)
    write_ms = (time.perf_counter() - started) * 1000

    def fast() -> lookup.LookupIndex:
        found = lookup.open_lookup()
        assert found is not None
        return found

    # What an update after one changed formula does to the lookup file: the index written again
    # with that entry changed (the others copied as bytes), then lookup.write.
    changed_ms = []
    for i in range(3):
        current = idx.load_index(source)
        entries: dict[str, Any] = {n: current.line(n) for n in current.names()}
        entries[name] = {**json.loads(current.line(name) or b"{}"), "description": f"changed {i}"}
        head = current.header
        source.write_bytes(idx.encode(url=head.url, branch=head.branch, commit=head.commit, entries=entries))
        current = idx.load_index(source)
        started = time.perf_counter()
        lookup.write(current, source)
        changed_ms.append((time.perf_counter() - started) * 1000)
        assert fast().get(name).description == f"changed {i}"  # type: ignore[union-attr]
    rows.append(("sqlite: write after one formula changed", statistics.median(changed_ms)))

    rows.append(("sqlite: open + get(name)", timed(args.repeat, lambda: fast().get(name))))
    rows.append(("sqlite: open + search database", timed(args.repeat, lambda: fast().search("database"))))
    rows.append(("sqlite: open + search (no match)", timed(args.repeat, lambda: fast().search("zzqqxx"))))
    rows.append(("sqlite: open + search -r", timed(args.repeat, lambda: fast().search("^zz[0-9]+$", True))))
    rows.append(("sqlite: open + names (close matches)", timed(args.repeat, lambda: fast().names())))
    rows.append(("close_matches over every name (difflib)", timed(3, lambda: fast().close_matches("zzqqxx"))))
    with tempfile.TemporaryDirectory() as tmp:
        fts = Path(tmp) / "fts.sqlite"
        started = time.perf_counter()
        db = sqlite3.connect(fts)
        db.execute("CREATE VIRTUAL TABLE t USING fts5(name, fold, tokenize='trigram')")
        src = sqlite3.connect(lookup.lookup_file())
        db.executemany("INSERT INTO t VALUES (?, ?)", src.execute("SELECT name, fold FROM entries"))
        db.commit()
        db.close()
        fts_write = (time.perf_counter() - started) * 1000

        def fts_search(pattern: str) -> list[Any]:
            con = sqlite3.connect(f"file:{fts}?mode=ro", uri=True)
            quoted = '"' + pattern.replace('"', '""') + '"'
            return con.execute("SELECT name FROM t WHERE t MATCH ? ORDER BY name", (quoted,)).fetchall()

        rows.append(
            (
                "fts5 trigram: open + match database (names only)",
                timed(args.repeat, lambda: fts_search("database")),
            )
        )
        rows.append(
            ("fts5 trigram: open + match (no match)", timed(args.repeat, lambda: fts_search("zzqqxx")))
        )
        fts_size = fts.stat().st_size
    print(
        f"{n} kubes, Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version},"
        f" load {os.getloadavg()[0]:.1f}"
    )
    print(
        f"index.json {source.stat().st_size / 1e6:.1f} MB;"
        f" index.sqlite {lookup.lookup_file().stat().st_size / 1e6:.1f} MB "
        f"(written in {write_ms:.0f} ms); fts5 trigram {fts_size / 1e6:.1f} MB (built in {fts_write:.0f} ms)"
    )
    for label, ms in rows:
        print(f"  {label:52} {ms:8.1f} ms")


if __name__ == "__main__":
    main()
