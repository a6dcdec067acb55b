"""``kube search -r`` over hostile formula text: a backtracking regex ends at its time budget
with one line and exit 2, and an ordinary regex is not slowed down by the budget."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kube.archive import index as idx
from kube.archive import lookup
from kube.archive import update as archive
from kube.core.errors import UsageError
from tests.gitrepo import formula_files, make_repo

#: ``(a+)+$`` tries 2**40 ways to split these before it gives up.
HOSTILE = "a" * 40 + "!"


@pytest.fixture
def hostile_archive(tmp_path: Path) -> Path:
    files: dict[str, str | bytes | None] = {"README.md": "The archive\n"}
    files.update(formula_files("redos", "1.0.0", details=HOSTILE))
    files.update(formula_files("database", "1.0.0", description="A data base"))
    repo = make_repo(tmp_path / "remote", files)
    archive.update(str(repo))
    return repo


def test_a_backtracking_regex_stops_at_the_budget_in_the_lookup_file(
    hostile_archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(idx, "REGEX_SECONDS", 0.3)
    found = lookup.open_lookup()
    assert found is not None
    began = time.monotonic()
    with pytest.raises(UsageError) as slow:
        found.search_rows("(a+)+$", regex=True)
    assert time.monotonic() - began < 5
    assert slow.value.message == "regex '(a+)+$' took longer than 0.3s: simplify it"
    assert slow.value.exit_code == 2
    found.close()


def test_a_backtracking_regex_stops_at_the_budget_in_index_json(
    hostile_archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(idx, "REGEX_SECONDS", 0.3)
    with pytest.raises(UsageError, match=r"took longer than 0\.3s"):
        idx.load_index().search("(a+)+$", regex=True)


def test_the_alarm_is_put_back_after_a_search(hostile_archive: Path) -> None:
    before = signal.getsignal(signal.SIGALRM)
    assert [row[0] for row in idx.load_index().search_rows("data.*base", regex=True)] == ["database"]
    assert signal.getsignal(signal.SIGALRM) is before
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_the_cli_says_so_in_one_line_with_exit_2(hostile_archive: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "KUBE_NO_FAST_PATH"}
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "kube", "search", "-r", "(a+)+$"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert time.monotonic() - began < idx.REGEX_SECONDS + 10
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(
        f"Error: regex '(a+)+$' took longer than {idx.REGEX_SECONDS:g}s: simplify it (hint: "
    )
    assert done.stderr.count("\n") == 1


def test_an_ordinary_regex_still_finds_its_kubes(hostile_archive: Path) -> None:
    found = lookup.open_lookup()
    assert found is not None
    assert [row[0] for row in found.search_rows("data.*base", regex=True)] == ["database"]
    assert [row[0] for row in found.search_rows("a{40}!", regex=True)] == ["redos"]
    found.close()
