"""The search index: its file format, search rules, damage detection, and building entries."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from kube.archive import index, indexer
from kube.core.errors import UsageError
from tests.gitrepo import formula_files, write_tree


def entry(name: str, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": name,
        "version": "1.0.0",
        "description": f"The {name} server",
        "home": f"https://example.com/{name}",
        "maintainers": ["Jane Doe <jane@example.com>"],
        "dependencies": [],
        "details": "",
        "keywords": [],
        "provides": ["manifests/configmap.yaml"],
        "built": {"commit": "abc", "date": "2024-01-01T00:00:00+00:00"},
        "valid": True,
        "problems": [],
    }
    base.update(fields)
    return base


def write_index(path: Path, entries: dict[str, dict[str, Any]]) -> Path:
    path.write_bytes(index.encode(url="file:///r", branch="main", commit="c0ffee", entries=entries))
    return path


@pytest.fixture
def small_index(tmp_path: Path) -> index.Index:
    entries = {
        "nginx": entry("nginx", keywords=["web", "proxy"]),
        "ponycorn": entry(
            "ponycorn", details="Needs an NGINX server.", dependencies=[["nginx", "1.9 < x <= 1.10"]]
        ),
        "nginx-standard": entry("nginx-standard", description="Opinionated web server"),
        "redis": entry("redis", description="Key-value store", details="Café-grade caching"),
        "etcd": entry("etcd", description='A "quoted" store\nwith a second line'),
    }
    return index.load_index(write_index(tmp_path / "index.json", entries))


def names(found: list[index.Entry]) -> list[str]:
    return [e.name for e in found]


def test_index_round_trips_every_field(tmp_path: Path) -> None:
    raw = entry("ponycorn", dependencies=[["nginx", "1.9 < x <= 1.10"]], keywords=["web"], details="x\ny")
    loaded = index.load_index(write_index(tmp_path / "index.json", {"ponycorn": raw}))
    got = loaded.get("ponycorn")
    assert got is not None
    assert got.dependencies == (("nginx", "1.9 < x <= 1.10"),)
    assert got.details == "x\ny"
    assert got.built_date == "2024-01-01T00:00:00+00:00"
    assert loaded.header.commit == "c0ffee"
    assert loaded.names() == ["ponycorn"]
    assert loaded.get("nginx") is None


def test_search_is_case_insensitive_over_description_keywords_and_details(small_index: index.Index) -> None:
    assert names(small_index.search("PROXY")) == ["nginx"]
    assert names(small_index.search("key-VALUE")) == ["redis"]
    assert names(small_index.search("opinionated")) == ["nginx-standard"]


def test_search_lists_exact_then_name_matches_before_text_matches(small_index: index.Index) -> None:
    assert names(small_index.search("nginx")) == ["nginx", "nginx-standard", "ponycorn"]


def test_search_does_not_match_fields_outside_the_searched_ones(small_index: index.Index) -> None:
    # every entry's home and maintainers contain "example.com" / "jane"
    assert small_index.search("example.com") == []
    assert small_index.search("jane") == []


def test_search_finds_text_that_json_escapes(small_index: index.Index) -> None:
    assert names(small_index.search("café")) == ["redis"]
    assert names(small_index.search('"quoted"')) == ["etcd"]
    assert names(small_index.search("second line")) == ["etcd"]


def test_search_with_regex(small_index: index.Index) -> None:
    assert names(small_index.search(r"^nginx(-\w+)?$", regex=True)) == ["nginx", "nginx-standard"]
    assert names(small_index.search(r"store$", regex=True)) == ["redis"]


def test_invalid_regex_is_a_usage_error(small_index: index.Index) -> None:
    with pytest.raises(UsageError, match="invalid regular expression"):
        small_index.search("(", regex=True)


def test_close_matches_suggest_similar_names(small_index: index.Index) -> None:
    assert "nginx" in small_index.close_matches("ngnix")
    assert small_index.close_matches("zzzzzz") == []


def test_truncated_index_is_unavailable(tmp_path: Path) -> None:
    path = write_index(tmp_path / "index.json", {"nginx": entry("nginx")})
    path.write_bytes(path.read_bytes()[:-10])
    assert index.read_header(path) is None
    with pytest.raises(index.IndexUnavailable, match="damaged"):
        index.load_index(path)


def test_index_with_a_flipped_byte_is_unavailable(tmp_path: Path) -> None:
    path = write_index(tmp_path / "index.json", {"nginx": entry("nginx")})
    data = bytearray(path.read_bytes())
    data[-5] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(index.IndexUnavailable):
        index.load_index(path)


def test_index_of_another_schema_is_unavailable(tmp_path: Path) -> None:
    path = write_index(tmp_path / "index.json", {"nginx": entry("nginx")})
    header, _, body = path.read_bytes().partition(b"\n")
    data = json.loads(header)
    data["schema"] = index.SCHEMA + 1
    path.write_bytes(json.dumps(data).encode() + b"\n" + body)
    assert index.read_header(path) is None
    with pytest.raises(index.IndexUnavailable):
        index.load_index(path)


def test_missing_index_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(index.IndexUnavailable, match="missing"):
        index.load_index(tmp_path / "nope.json")


def archive_with(tmp_path: Path, files: dict[str, str | bytes | None]) -> Path:
    root = tmp_path / "clone"
    write_tree(root, files)
    return root


def test_build_entry_reads_metadata_and_lists_manifests(tmp_path: Path) -> None:
    root = archive_with(tmp_path, formula_files("nginx", "1.10.0", keywords=["web"]))
    built, warnings = indexer.build_entry(root, "nginx")
    assert warnings == []
    assert built is not None
    assert built["version"] == "1.10.0"
    assert built["keywords"] == ["web"]
    assert built["provides"] == ["manifests/configmap.yaml"]
    assert built["valid"] is True


def test_build_entry_marks_bad_k3_invalid_with_its_problems(tmp_path: Path) -> None:
    root = archive_with(tmp_path, {"formulas/broken/K3.yaml": "name: broken\nname: again\n"})
    built, warnings = indexer.build_entry(root, "broken")
    assert built is not None and built["valid"] is False
    assert any("K3.yaml:2" in p for p in built["problems"])
    assert len(warnings) == 1 and "is invalid" in warnings[0].message


def test_build_entry_skips_a_symlinked_formula_directory(tmp_path: Path) -> None:
    root = archive_with(tmp_path, formula_files("nginx"))
    os.symlink("/etc", root / "formulas" / "evil")
    built, warnings = indexer.build_entry(root, "evil")
    assert built is None
    assert "symbolic link" in warnings[0].message and "never followed" in warnings[0].message


def test_build_entry_marks_a_formula_holding_a_symlink_invalid(tmp_path: Path) -> None:
    root = archive_with(tmp_path, formula_files("leaky"))
    os.symlink("/etc/passwd", root / "formulas" / "leaky" / "manifests" / "passwd.yaml")
    built, warnings = indexer.build_entry(root, "leaky")
    assert built is not None and built["valid"] is False
    assert "symbolic link" in warnings[0].message


@pytest.mark.parametrize("name", ["..x", ".hidden", "Bad_Name", "x" * 64, "trailing-"])
def test_build_entry_skips_directories_that_are_not_kube_names(tmp_path: Path, name: str) -> None:
    root = archive_with(tmp_path, {f"formulas/{name}/K3.yaml": "name: x\n"})
    built, warnings = indexer.build_entry(root, name)
    assert built is None
    assert "not a kube name" in warnings[0].message


@pytest.mark.parametrize(
    "name", ["a", "nginx", "a-b-1", "0x", "x" * 63, "..", "A", "-a", "a-", "a_b", "a.b", ""]
)
def test_index_name_rule_is_the_formula_name_rule(name: str) -> None:
    from kube.formula.load import is_valid_name

    assert (index.NAME_RE.fullmatch(name) is not None) == is_valid_name(name)


def test_parallel_build_gives_the_same_entries_as_one_by_one(tmp_path: Path) -> None:
    files: dict[str, str | bytes | None] = {}
    for i in range(130):
        files.update(formula_files(f"f{i:03d}", f"1.0.{i}"))
    files["formulas/f007/K3.yaml"] = "name: [\n"
    root = archive_with(tmp_path, files)
    names_ = indexer.formula_dir_names(root)
    together, warnings = indexer.build_entries(root, names_)
    one_by_one = {n: e for n in names_ for e in [indexer.build_entry(root, n)[0]] if e is not None}
    assert together == one_by_one
    assert len(together) == 130
    assert [w.path for w in warnings] == ["formulas/f007"]


def test_parse_log_keeps_the_newest_change_of_each_formula() -> None:
    log = (
        "\x01new 2024-02-02\n\nformulas/a/K3.yaml\n"
        "\x01old 2024-01-01\n\nformulas/a/x\nformulas/b/K3.yaml\nREADME\n"
    )
    assert indexer.parse_log(log) == {"a": ("new", "2024-02-02"), "b": ("old", "2024-01-01")}


def lookup_of(tmp_path: Path, loaded: index.Index, monkeypatch: pytest.MonkeyPatch) -> Any:
    from kube.archive import lookup

    monkeypatch.setenv("KUBE_HOME", str(tmp_path))
    source = tmp_path / "index.json"
    lookup.write(loaded, source)
    found = lookup.open_lookup()
    assert found is not None
    return found


@pytest.mark.parametrize(
    ("pattern", "regex"),
    [
        ("nginx", False),
        ("NGINX", False),
        ("proxy", False),
        ("café", False),
        ("CAFÉ", False),
        ('"quoted"', False),
        ("second line", False),
        ("server\nweb", False),  # spans two fields: never a match
        ("ver", False),
        ("example.com", False),
        ("e", False),
        ("", False),
        (r"^nginx(-\w+)?$", True),
        (r"store$", True),
        (r"with a", True),
        (r"quoted.*second", True),  # never across two lines of one field? it is one field here
    ],
)
def test_lookup_index_searches_exactly_like_the_index(
    small_index: index.Index, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pattern: str, regex: bool
) -> None:
    fast = lookup_of(tmp_path, small_index, monkeypatch)
    assert fast.search(pattern, regex=regex) == small_index.search(pattern, regex=regex)
    assert fast.search_rows(pattern, regex=regex) == small_index.search_rows(pattern, regex=regex)


def test_lookup_index_keeps_fields_apart_even_when_they_hold_nul(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entries = {
        "odd": entry("odd", description="a\x00b", keywords=["x\ny"], valid=False),
        "plain": entry("plain", description="a b"),
    }
    loaded = index.load_index(write_index(tmp_path / "index.json", entries))
    fast = lookup_of(tmp_path, loaded, monkeypatch)
    for pattern in (r"a.b", r"^b", r"x.y", r"a\x00b", r"server$"):
        assert fast.search(pattern, regex=True) == loaded.search(pattern, regex=True), pattern
        assert fast.search_rows(pattern, regex=True) == loaded.search_rows(pattern, regex=True), pattern


def test_lookup_index_gets_names_and_entries_like_the_index(
    small_index: index.Index, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = lookup_of(tmp_path, small_index, monkeypatch)
    assert fast.names() == small_index.names()
    assert fast.header == small_index.header
    for name in small_index.names():
        assert fast.get(name) == small_index.get(name)
    assert fast.get("nope") is None
    assert fast.close_matches("ngnix") == small_index.close_matches("ngnix")
    with pytest.raises(UsageError, match="invalid regular expression"):
        fast.search("(", regex=True)


def test_lookup_index_is_not_used_once_the_index_changed(
    small_index: index.Index, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kube.archive import lookup

    lookup_of(tmp_path, small_index, monkeypatch)
    source = tmp_path / "index.json"
    write_index(source, {"nginx": entry("nginx")})  # a newer index, its lookup not yet written
    assert lookup.open_lookup() is None
    source.unlink()
    assert lookup.open_lookup() is None


def test_damaged_lookup_index_is_not_used(
    small_index: index.Index, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kube.archive import lookup

    lookup_of(tmp_path, small_index, monkeypatch)
    lookup.lookup_file().write_bytes(b"not a database" * 100)
    assert lookup.open_lookup() is None
    lookup.lookup_file().write_bytes(b"")
    assert lookup.open_lookup() is None


def test_lookup_index_written_over_an_older_one_changes_only_what_changed(
    small_index: index.Index, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kube.archive import lookup

    lookup_of(tmp_path, small_index, monkeypatch)
    entries = {name: small_index.raw[name] for name in small_index.names() if name != "redis"}
    entries["nginx"] = entry("nginx", version="2.0.0", keywords=["gateway"])
    entries["memcached"] = entry("memcached", description="A memory cache")
    newer = index.load_index(write_index(tmp_path / "index.json", entries))
    lookup.write(newer)
    fast = lookup.open_lookup()
    assert fast is not None
    assert fast.names() == newer.names()
    for pattern in ("nginx", "proxy", "gateway", "memory cache", "store", "redis", "e"):
        assert fast.search(pattern) == newer.search(pattern), pattern
    assert fast.get("nginx") == newer.get("nginx")


def test_a_lookup_write_changes_the_file_in_place(
    small_index: index.Index, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One changed formula rewrites its rows, not a copy of the whole file (250 MB at 50,000)."""
    from kube.archive import lookup

    lookup_of(tmp_path, small_index, monkeypatch)
    before = lookup.lookup_file().stat().st_ino
    entries = {name: small_index.raw[name] for name in small_index.names()}
    entries["nginx"] = entry("nginx", version="2.0.0", keywords=["gateway"])
    newer = index.load_index(write_index(tmp_path / "index.json", entries))
    lookup.write(newer)
    assert lookup.lookup_file().stat().st_ino == before
    fast = lookup.open_lookup()
    assert fast is not None and fast.get("nginx") == newer.get("nginx")
    assert fast.search("gateway") == newer.search("gateway") != []
    assert not list(tmp_path.glob(".index.sqlite.*"))


def test_a_lookup_write_killed_in_its_transaction_shows_no_half_change(
    small_index: index.Index, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer killed after changing rows, before its commit, leaves a hot journal: readers then
    see the old rows or read index.json (never half a change), and the next write rolls it back
    and completes."""
    import subprocess
    import sys

    from kube.archive import lookup

    lookup_of(tmp_path, small_index, monkeypatch)
    target = lookup.lookup_file()
    # Rows deleted in a transaction, the cache spilled to the file, then the process dies.
    killed = (
        "import os, sqlite3, sys\n"
        "db = sqlite3.connect(sys.argv[1])\n"
        "db.execute('PRAGMA cache_size = 1')\n"
        "db.execute('DELETE FROM entries')\n"
        "db.execute(\"UPDATE meta SET value = 'x' WHERE key = 'commit'\")\n"
        "os._exit(9)\n"
    )
    assert subprocess.run([sys.executable, "-c", killed, str(target)], check=False).returncode == 9
    assert Path(f"{target}-journal").exists()
    seen = lookup.open_lookup()
    if seen is not None:  # a reader that could roll it back sees the old rows
        assert seen.names() == small_index.names()
        assert seen.header.commit == small_index.header.commit
    entries = {name: small_index.raw[name] for name in small_index.names() if name != "redis"}
    newer = index.load_index(write_index(tmp_path / "index.json", entries))
    lookup.write(newer)
    fast = lookup.open_lookup()
    assert fast is not None
    assert fast.names() == newer.names()
    assert fast.search("e") == newer.search("e")


def test_a_lookup_write_killed_half_way_leaves_a_temporary_that_a_later_update_removes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kube.archive import recovery

    monkeypatch.setenv("KUBE_HOME", str(tmp_path))
    dead = tmp_path / ".index.sqlite.abc123.tmp"
    recent = tmp_path / ".index.sqlite.def456.tmp"
    dead.write_bytes(b"half a database")
    recent.write_bytes(b"another kube is writing this one")
    os.utime(dead, (1_000_000_000, 1_000_000_000))
    recovery.recover([])
    assert not dead.exists() and recent.exists()


def _close_matches_over_every_name(names: list[str], name: str, limit: int = 5) -> list[str]:
    """What close_matches was before its prefilter: difflib over every name, then substrings."""
    import difflib

    close = difflib.get_close_matches(name.lower(), names, n=limit, cutoff=0.6)
    for candidate in names:
        if len(close) >= limit:
            break
        if len(name) >= 3 and name.lower() in candidate and candidate not in close:
            close.append(candidate)
    return close


def test_close_matches_are_difflib_over_every_name() -> None:
    """close_matches scores only the names two upper bounds of difflib's ratio let through: on
    1,000 names from the benchmark's generator and queries of every kind (typos, insertions,
    reversed tails, prefixes, words of names, repeated letters, nonsense, upper case), it
    suggests exactly what difflib over every name suggests."""
    import random

    from benchmarks.archive_gen import names_for

    rng = random.Random(16)
    all_names = sorted(names_for(1000, rng))
    queries = ["ngnix", "nginx", "postgress", "redis", "xyzzy", "a", "ab", "", "DataBase", "Mongo-Operator"]
    for _ in range(80):
        picked = rng.choice(all_names)
        i = rng.randrange(len(picked))
        queries += [
            picked[:i] + picked[i + 1 :],  # a letter dropped
            picked[:i] + rng.choice("abcdefghijklmnopqrstuvwxyz-") + picked[i:],  # one added
            picked[:i] + picked[i:][::-1],  # a tail reversed
            picked[: max(i, 3)].upper(),  # a prefix, in capitals
            rng.choice(picked.split("-")) * rng.randint(1, 2),  # a word of it, maybe twice
            "".join(rng.choice("aeiouxyz-") for _ in range(rng.randint(1, 14))),
        ]
    differ = [
        (q, index.close_matches(all_names, q), _close_matches_over_every_name(all_names, q)) for q in queries
    ]
    assert [d for d in differ if d[1] != d[2]] == []
    assert sum(1 for d in differ if d[2]) > len(queries) // 2  # most queries have suggestions to compare


def test_close_matches_stop_scoring_where_no_name_left_could_enter(monkeypatch: pytest.MonkeyPatch) -> None:
    """Thousands of names of one shape (``<word>-operator``, many of one length, so many ratios
    tie): the suggestions, ties broken by name as difflib breaks them, are difflib's over every
    name, and difflib scores only the names whose bound could still enter the best five."""
    import difflib
    import random

    rng = random.Random(7)
    letters = "abcdefghijklmnopqrstuvwxyz"
    names = sorted(
        {"".join(rng.choice(letters) for _ in range(rng.randint(3, 6))) + "-operator" for _ in range(3000)}
    )
    queries = ["databse-operator", "redis-operatr", "operator", "-operator", "xx-operator", "opera-tor"]
    queries += [rng.choice(names)[:-1] for _ in range(20)] + [
        rng.choice(names).replace("-", "") for _ in range(20)
    ]
    differ = [(q, index.close_matches(names, q), _close_matches_over_every_name(names, q)) for q in queries]
    assert [d for d in differ if d[1] != d[2]] == []
    assert all(len(d[2]) == 5 for d in differ)

    scored = []
    ratio = difflib.SequenceMatcher.ratio

    def counted(self: difflib.SequenceMatcher[str]) -> float:
        scored.append(self.a)
        return ratio(self)

    monkeypatch.setattr(difflib.SequenceMatcher, "ratio", counted)
    index.close_matches(names, "databse-operator")
    bounded = len(scored)
    scored.clear()
    _close_matches_over_every_name(names, "databse-operator")
    assert 0 < bounded < len(scored) // 10, (bounded, len(scored))


def test_lookup_rows_skip_instr_only_where_their_trigrams_are_exact(
    small_index: index.Index, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``plain`` rows (ASCII, no capitals) are taken on their trigram match alone; every other
    row is still checked by instr, and a table of results is read through the small index."""
    from kube.archive import lookup

    fast = lookup_of(tmp_path, small_index, monkeypatch)
    plain = dict(fast._db.execute("SELECT name, plain FROM entries"))
    assert plain == {"nginx": 1, "ponycorn": 1, "nginx-standard": 1, "redis": 0, "etcd": 1}
    assert lookup._plain("a", "x y") and not lookup._plain("a", "café") and not lookup._plain("A", "x")
    assert not lookup._plain("a", "K\u212a")  # the Kelvin sign: not ASCII
    plan = " ".join(
        str(row)
        for row in fast._db.execute(
            "EXPLAIN QUERY PLAN " + lookup._SELECT["summary", False] + " INDEXED BY shown WHERE id = 1"
        )
    )
    assert "COVERING INDEX shown" in plan
    for pattern in ("cafe", "café", "grade", "nginx", "store"):
        assert fast.search_rows(pattern) == small_index.search_rows(pattern), pattern
