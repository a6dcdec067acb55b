"""The archive's git engine (GitPython, started kube's way) and what an archive may ask of kube.

Real git repositories in tmp_path and real kube processes; nothing is mocked.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kube.archive import requires
from kube.archive import update as archive
from tests.gitrepo import commit, formula_files, git, make_repo


def run_kube(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, extra: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *extra, "-m", "kube", *args],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=cwd,
        env={**os.environ, **(env or {})},
    )


def warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("Warning: ")]


# --- requires-kube ---------------------------------------------------------------------------


def test_an_archive_that_needs_a_newer_kube_warns_once_and_still_updates(
    remote_archive: Path, kube_home: Path
) -> None:
    commit(remote_archive, {"archive.yaml": 'requires-kube: ">=99.0"\n'})
    result = run_kube("update", "--repo", str(remote_archive))
    assert result.returncode == 0, result.stderr
    assert warnings(result.stderr) == [
        "Warning: this archive needs kube >=99.0 (archive.yaml:1), but this is kube 0.1.0; "
        "upgrade with `pip install -U kube`"
    ]
    assert "Cloned" in result.stdout
    assert (kube_home / "archive" / "formulas" / "nginx").is_dir()
    # And on every later update, up to date or not, until kube is new enough.
    commit(remote_archive, formula_files("redis", "7.0.0"))
    again = run_kube("update", "-o", "json")
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert [n["name"] for n in report["new"]] == ["redis"]
    assert "pip install -U kube" in report["kube_warning"]


def test_an_archive_this_kube_satisfies_says_nothing(remote_archive: Path, kube_home: Path) -> None:
    commit(remote_archive, {"archive.yaml": "# kubes for everyone\nrequires-kube: '>=0.1,<1'\n"})
    result = run_kube("update", "--repo", str(remote_archive))
    assert result.returncode == 0, result.stderr
    assert warnings(result.stderr) == []
    assert archive.update().kube_warning is None


def test_an_invalid_requires_kube_is_a_warning_naming_its_line(remote_archive: Path, kube_home: Path) -> None:
    commit(remote_archive, {"archive.yaml": "# kubes for everyone\nrequires-kube: newest please\n"})
    result = run_kube("update", "--repo", str(remote_archive))
    assert result.returncode == 0, result.stderr
    [line] = warnings(result.stderr)
    assert line.startswith("Warning: archive.yaml:2: requires-kube 'newest please' is not a PEP 440")
    assert "Cloned" in result.stdout


@pytest.mark.parametrize(
    ("text", "running", "warned"),
    [
        ("requires-kube: '>=0.2'\n", "0.1.0", True),
        ("requires-kube: '>=0.2'\n", "0.2.0", False),
        ("requires-kube: '~=0.2'\n", "0.3.1", False),
        ("requires-kube: '>=0.2'\n", "0.2.0rc1", True),  # a pre-release of 0.2 is older than 0.2
        ("requires-kube: '>=0.2.dev0'\n", "0.2.0rc1", False),
        ("name: kubes\n", "0.1.0", False),
        ("requires-kube: 2\n", "0.1.0", True),  # a number, not a specifier
    ],
)
def test_requires_kube_is_a_pep_440_specifier(tmp_path: Path, text: str, running: str, warned: bool) -> None:
    (tmp_path / "archive.yaml").write_text(text)
    assert (requires.check(tmp_path, running) is not None) == warned


def test_an_archive_yaml_that_is_a_symlink_is_not_followed(tmp_path: Path) -> None:
    (tmp_path / "elsewhere.yaml").write_text("requires-kube: '>=0.1'\n")
    (tmp_path / "archive.yaml").symlink_to(tmp_path / "elsewhere.yaml")
    message = requires.check(tmp_path, "0.1.0")
    assert message is not None and "symbolic link" in message


# --- GitPython stays where it is needed -------------------------------------------------------


def imported_modules(stderr: str) -> set[str]:
    """Module names from ``python -X importtime`` (``import time: self | cumulative | name``)."""
    names = set()
    for line in stderr.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            names.add(line.rsplit("|", 1)[1].strip())
    return names


@pytest.mark.parametrize("args", [("search", "x"), ("info", "nginx"), ("--help",)])
def test_search_info_and_help_never_import_gitpython(
    args: tuple[str, ...], remote_archive: Path, kube_home: Path
) -> None:
    assert run_kube("update", "--repo", str(remote_archive)).returncode == 0
    result = run_kube(*args, extra=("-X", "importtime"))
    assert result.returncode in (0, 1), result.stderr  # `search x` finds nothing: exit 1
    loaded = imported_modules(result.stderr)
    assert "kube" in loaded  # the measurement works
    assert {m for m in loaded if m == "git" or m.startswith(("git.", "gitdb"))} == set()


def test_update_does_import_gitpython(remote_archive: Path, kube_home: Path) -> None:
    """The other side of the test above: the measurement sees GitPython when it is there."""
    result = run_kube("update", "--repo", str(remote_archive), extra=("-X", "importtime"))
    assert result.returncode == 0, result.stderr
    assert "git" in imported_modules(result.stderr)


# --- the environment GitPython would have passed on -------------------------------------------


def test_gitpythons_own_environment_variables_do_not_reach_the_users_repository(
    remote_archive: Path, kube_home: Path, tmp_path: Path
) -> None:
    """GitPython's ``Repo`` reads GIT_COMMON_DIR, GIT_WORK_TREE and GIT_OBJECT_DIRECTORY itself
    (refs and objects from another repository) and its ``Git`` copies os.environ into every git."""
    mine = make_repo(tmp_path / "mine", {"notes.txt": "my notes\n"})
    (mine / "notes.txt").write_text("edited\n")
    before = git(mine, "rev-parse", "HEAD"), (mine / "notes.txt").read_text()
    hostile = {
        "GIT_DIR": str(mine / ".git"),
        "GIT_COMMON_DIR": str(mine / ".git"),
        "GIT_WORK_TREE": str(mine),
        "GIT_OBJECT_DIRECTORY": str(mine / ".git" / "objects"),
        "GIT_INDEX_FILE": str(mine / ".git" / "index"),
    }
    assert run_kube("update", "--repo", str(remote_archive), env=hostile, cwd=mine).returncode == 0
    commit(remote_archive, formula_files("redis", "7.0.0"))
    second = run_kube("update", env=hostile, cwd=mine)
    assert second.returncode == 0, second.stderr
    assert "redis 7.0.0" in second.stdout
    assert (git(mine, "rev-parse", "HEAD"), (mine / "notes.txt").read_text()) == before
    assert git(kube_home / "archive", "rev-parse", "HEAD") == git(remote_archive, "rev-parse", "HEAD")


# --- the deadline ends the whole process group ------------------------------------------------


def test_a_fetch_from_a_silent_server_is_ended_with_every_process_it_started(
    remote_archive: Path, kube_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A streamed git (GitPython's Remote.fetch) past KUBE_GIT_TIMEOUT: git and the
    git-remote-https it started both end (GitPython's own kill_after_timeout does nothing
    for a streamed call)."""
    import socket
    import time

    from kube.archive.config import Config, write_config
    from kube.core.errors import ArchiveError
    from tests.test_archive import leftover_processes

    archive.update(str(remote_archive))
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        url = f"https://127.0.0.1:{server.getsockname()[1]}/kubes.git"
        git(kube_home / "archive", "remote", "set-url", "origin", url)
        write_config(Config(repo=url, branch=None))
        monkeypatch.setenv("KUBE_GIT_TIMEOUT", "2")
        started = time.monotonic()
        with pytest.raises(ArchiveError, match=r"cannot fetch .* did not finish within 2s"):
            archive.update()
        assert time.monotonic() - started < 20
        assert leftover_processes(kube_home) == []
