"""An update with nothing new (issue 16): one ``git ls-remote`` and no fetch, no GitPython, and
the start-up fast path without Click or Typer; anything else is the full update, as before.
Real repositories served over file://; the full update is what ``KUBE_NO_FAST_PATH`` and a
moved branch give."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kube.archive import update as archive
from tests.gitrepo import commit, formula_files, git, make_repo


@pytest.fixture
def source(tmp_path: Path) -> Path:
    files: dict[str, str | bytes | None] = {"README.md": "The archive\n"}
    files.update(formula_files("nginx", "1.10.0"))
    repo = make_repo(tmp_path / "src", files)
    archive.update(str(repo))
    return repo


def _kube(*args: str, fast: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG", "KUBE_NO_FAST_PATH")}
    if not fast:
        env["KUBE_NO_FAST_PATH"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "kube", *args], capture_output=True, text=True, timeout=120, env=env
    )


def _modules_after_update() -> set[str]:
    probe = (
        "import sys; from kube.cli import entry; sys.argv = ['kube', 'update']\n"
        "try:\n    entry.main()\nexcept SystemExit:\n    pass\n"
        "heavy = ('git', 'click', 'typer', 'ruamel.yaml')\n"
        "print(' '.join(m for m in heavy if m in sys.modules), file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.stdout == "Already up-to-date.\n", done.stderr
    return set(done.stderr.split())


def test_nothing_new_is_reported_alike_by_the_fast_path_and_the_full_cli(source: Path) -> None:
    for args in ((), ("-o", "json"), ("-o", "TEXT")):
        fast, full = _kube("update", *args), _kube("update", *args, fast=False)
        assert fast.returncode == full.returncode == 0, (fast.stderr, full.stderr)
        assert (fast.stdout, fast.stderr) == (full.stdout, full.stderr)
    report = json.loads(_kube("update", "-o", "json").stdout)
    head = git(source, "rev-parse", "HEAD").strip()
    assert report["up_to_date"] and report["old_commit"] == report["new_commit"] == head
    assert report["index"] == "none" and report["notes"] == []


def test_nothing_new_starts_no_gitpython_click_or_typer(source: Path) -> None:
    assert _modules_after_update() == set()


def test_a_moved_branch_is_fetched_as_before(source: Path) -> None:
    new = commit(source, formula_files("redis", "7.0.0"), "redis")
    done = _kube("update")
    assert done.returncode == 0, done.stderr
    assert "==> New kubes\nredis 7.0.0\n" in done.stdout
    clone = Path(os.environ["KUBE_HOME"]) / "archive"
    assert git(clone, "rev-parse", "HEAD").strip() == new
    assert _kube("update").stdout == "Already up-to-date.\n"


def test_what_the_quick_check_cannot_vouch_for_goes_to_the_full_update(source: Path) -> None:
    clone = Path(os.environ["KUBE_HOME"]) / "archive"
    # A stale index: the full update brings it level and says so.
    index_file = Path(os.environ["KUBE_HOME"]) / "index.json"
    index_file.unlink()
    report = archive.update()
    assert report.up_to_date and "rebuilt the search index" in report.notes
    # A tracking ref ahead of HEAD (an update killed after its fetch, before its checkout) while
    # the remote branch is where that fetch found it: the full update checks it out.
    new = commit(source, formula_files("redis", "7.0.0"), "redis")
    git(clone, "fetch", "-q", "origin", "+refs/heads/main:refs/remotes/origin/main")
    report = archive.update()
    assert not report.up_to_date and [n for n, _ in report.new] == ["redis"]
    head = git(clone, "rev-parse", "HEAD").strip()
    assert head == new
    # --reset still discards local changes, which the quick check never looks for.
    (clone / "formulas/nginx/K3.yaml").write_text("name: nginx\nversion: 9.9.9\n")
    report = archive.update(reset=True)
    assert "discarded local changes in 1 file(s)" in report.notes
    assert git(clone, "rev-parse", "HEAD").strip() == head


def test_an_unreachable_archive_fails_as_a_fetch_does(source: Path) -> None:
    moved = source.parent / "gone"
    source.rename(moved)
    fast, full = _kube("update"), _kube("update", fast=False)
    assert fast.returncode == full.returncode == 5
    assert fast.stderr == full.stderr
    assert fast.stderr.startswith("Error: cannot fetch ")


def test_a_remembered_other_url_is_a_new_clone_not_a_no_op(source: Path, tmp_path: Path) -> None:
    other = make_repo(tmp_path / "other", formula_files("etcd", "3.5.0"))
    os.environ["KUBE_REPO"] = str(other)
    try:
        report = archive.update()
    finally:
        del os.environ["KUBE_REPO"]
    assert report.cloned and report.count == 1


def test_a_server_that_never_answers_is_waited_for_once(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The quick check's ls-remote past KUBE_GIT_TIMEOUT is the update's error: no fetch after
    it waits as long again. A real ssh transport that never answers (GIT_SSH_COMMAND sleeps
    and logs each connection); the clone is pointed at it as if it had been cloned from it."""
    from kube.archive import index

    url = "ssh://git.example.invalid/archive.git"
    clone = Path(os.environ["KUBE_HOME"]) / "archive"
    git(clone, "config", "remote.origin.url", url)
    old = index.load_index()
    entries = {n: old.line(n) or b"" for n in old.names()}
    data = index.encode(url=url, branch=old.header.branch, commit=old.header.commit, entries=entries)
    (Path(os.environ["KUBE_HOME"]) / "index.json").write_bytes(data)
    log = tmp_path / "connections.log"
    monkeypatch.setenv("KUBE_REPO", url)
    monkeypatch.setenv("KUBE_GIT_TIMEOUT", "2")
    monkeypatch.setenv("GIT_SSH_COMMAND", f"echo connect >> {log}; sleep 60; :")
    done = _kube("update")
    assert done.returncode == 5, done.stderr
    assert done.stderr.startswith(f"Error: cannot fetch {url}: git did not finish within 2s")
    assert log.read_text() == "connect\n"
