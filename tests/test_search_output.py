"""``kube search`` with many hits prints exactly what a cell-by-cell table of the index's hits is.

The table of a search is printed without a Python step per cell when no cell holds a character
to escape (``kube.cli.console._safe_cells``), and the lookup index does not read the searched
texts of a literal search. These tests build a real archive (a git repository, a real ``kube
update``) holding hostile and ordinary descriptions, run ``kube search`` as a user does, on the
start-up fast path and through the full CLI, and compare every byte with the table made the
slow way, one ``safe_line`` and one ``ljust`` per cell, from the hits of the JSON index
(``Index.search``, which never opens the lookup file).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from kube.archive import index
from kube.core.text import safe_line
from tests.gitrepo import formula_files, make_repo

REPO = Path(__file__).resolve().parents[1]

#: Descriptions of the formulas named ``data-<i>`` and ``other-<i>``: plain ones, and the
#: hostile text a stranger's formula may hold (escape sequences, C1 controls, bidi overrides,
#: invisible characters, CR/LF, tabs, no-break spaces, wide characters, trailing blanks).
DESCRIPTIONS = [
    "A data store",
    "Data \x1b]0;owned\x07\x1b[31mred",
    "bidi \u202eatad\u202c and \u2066isolates\u2069",
    "zero\u200bwidth\ufeff data\u00ad",
    "CSI \x9b[2J clears the data",
    "carriage\rreturn data",
    "two\r\nlines of data",  # invalid (a description is one line): shown as such
    "tab\tand\u00a0no-break data",
    "日本語のデータ data",
    "trailing blanks data   ",
    "DATA in capitals",
    "ends with a tab data\t",
    "x" * 90 + " data",
]


def _files() -> dict[str, str]:
    files: dict[str, str] = {}
    for i, text in enumerate(DESCRIPTIONS):
        files.update(formula_files(f"data-{i}", f"1.{i}.0", description=text))
        files.update(formula_files(f"other-{i}", f"2.{i}.0", description=f"{text} ({i})", keywords=["db"]))
    files.update(formula_files("data", "0.1.0", description="the exact name"))
    files.update(formula_files("plain", "3.0.0", description="nothing to see", details="big data inside"))
    files.update(formula_files("metadata-x", "1.0.0-rc.1", description=""))
    files["formulas/data-broken/K3.yaml"] = "name: data-broken\nname: again\n"  # invalid
    return files


def _kube(*args: str, home: Path, fast: bool) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "KUBE_HOME": str(home / "kube"), "HOME": str(home)}
    env.pop("KUBECONFIG", None)
    env.pop("KUBE_NO_FAST_PATH", None)
    if not fast:
        env["KUBE_NO_FAST_PATH"] = "1"
    return subprocess.run([sys.executable, "-m", "kube", *args], env=env, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("search-output")
    remote = make_repo(where / "remote", _files())
    done = _kube("update", "--repo", str(remote), home=where, fast=False)
    assert done.returncode == 0, done.stderr
    assert (where / "kube" / "index.sqlite").is_file()  # searches below read the lookup index
    return where


def _table(columns: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain table the slow way: every cell through safe_line, padded with ljust."""
    cells = [[safe_line(cell) for cell in row] for row in rows]
    widths = [len(column) for column in columns]
    for row in cells:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=False)]
    lines = []
    for row in [list(columns), *cells]:
        lines.append("   ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip())
    return "\n".join(lines) + "\n"


def _expected(pattern: str, regex: bool, home: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("KUBE_HOME", str(home / "kube"))
    hits = index.load_index().search(pattern, regex=regex)
    rows = [
        (e.name, e.version, e.description)
        if e.valid
        else (e.name, "-", f"(invalid formula: see `kube info {e.name}`)")
        for e in hits
    ]
    return _table(("NAME", "VERSION", "DESCRIPTION"), rows)


@pytest.mark.parametrize(
    ("args", "pattern", "regex"),
    [
        (["search", "data"], "data", False),
        (["search", "DATA", "-o", "text"], "DATA", False),
        (["search", "db"], "db", False),  # shorter than a trigram: instr over every row
        (["search", "-r", "dat.|日本"], "dat.|日本", True),
        (["search", "data-1", "-o", "table"], "data-1", False),
        (["search", "big data"], "big data", False),  # in the details only
        (["search", "store"], "store", False),  # nothing to escape in any cell
        (["search", "-r", "^(data|other)-(0|7|8|9|11|12)$"], "^(data|other)-(0|7|8|9|11|12)$", True),  # tabs
    ],
)
def test_search_table_is_the_cell_by_cell_table_of_the_hits(
    home: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], pattern: str, regex: bool
) -> None:
    expected = _expected(pattern, regex, home, monkeypatch)
    assert len(expected.splitlines()) >= 2  # the header and at least one hit
    for fast in (True, False):
        done = _kube(*args, home=home, fast=fast)
        assert done.returncode == 0, done.stderr
        assert done.stdout.decode() == expected, ("fast path" if fast else "full CLI", args)


def test_search_table_escapes_hostile_text_and_ranks_names_first(home: Path) -> None:
    done = _kube("search", "data", home=home, fast=True)
    out = done.stdout.decode()
    for raw in ("\x1b", "\x07", "\x9b", "\u202e", "\u2066", "\u200b", "\ufeff", "\u00ad", "\r"):
        assert raw not in out
    assert "carriage\\x0dreturn data" in out  # CR is escaped (safe), LF would be folded
    assert "Data \\x1b]0;owned\\x07\\x1b[31mred" in out and "bidi \\u202eatad\\u202c" in out
    assert "tab\tand\u00a0no-break data" in out
    assert out.count("\n") == len(out.splitlines())  # CR/LF inside a cell never start a row
    names = [line.split()[0] for line in out.splitlines()[1:]]
    assert names[0] == "data"  # the exact name, then every name match, then text matches
    by_name = [n for n in names if "data" in n]
    assert names[: len(by_name)] == by_name and names[len(by_name) :] == sorted(names[len(by_name) :])
    assert "plain" in names[len(by_name) :] and "other-0" in names[len(by_name) :]
    assert "data-broken   -         (invalid formula: see `kube info data-broken`)" in out.splitlines()


def test_search_json_is_the_index_entries(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBE_HOME", str(home / "kube"))
    hits = index.load_index().search("data")
    expected = json.dumps([e.to_dict() for e in hits], indent=2, default=str, ensure_ascii=True) + "\n"
    for fast in (True, False):
        done = _kube("search", "data", "-o", "json", home=home, fast=fast)
        assert done.returncode == 0, done.stderr
        assert done.stdout.decode() == expected
        assert done.stdout.isascii()
