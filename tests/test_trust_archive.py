"""What the environment and an archive bring cannot reach past kube's own files.

Hostile environments (inherited ``GIT_DIR``), hostile archives (``formulas`` as a
symlink), hostile destinations for ``kube get`` and full disks, each tried on
the real component: real git repositories, real processes, and real small
tmpfs mounts for the full disks (skipped when not root).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kube.errors import ExitCode
from tests.gitrepo import commit, formula_files, git, make_repo


def run_kube(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kube", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env={**os.environ, **(env or {})},
    )


def snapshot(repo: Path) -> tuple[str, str, dict[str, bytes]]:
    """HEAD, status and every file's bytes (untracked ones too), read without the hostile env."""
    files = {
        str(p.relative_to(repo)): p.read_bytes()
        for p in sorted(repo.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(repo).parts
    }
    status = git(repo, "status", "--porcelain", "--untracked-files=all")
    return git(repo, "rev-parse", "HEAD").strip(), status, files


# --- 1. the environment does not steer git ---------------------------------------------------


@pytest.fixture
def user_repo(tmp_path: Path) -> Path:
    """The user's own repository, with an edit and an untracked file git would happily destroy."""
    repo = make_repo(tmp_path / "mine", {"notes.txt": "my notes\n", "src/app.py": "print('hi')\n"})
    (repo / "notes.txt").write_text("my notes, edited\n")
    (repo / "untracked.txt").write_text("not committed anywhere\n")
    (repo / "build").mkdir()
    (repo / "build" / "output.bin").write_bytes(b"\x00\x01")
    return repo


def hostile_git_env(repo: Path, tmp_path: Path) -> dict[str, str]:
    """What a git hook or a CI step exports: every one of these points git somewhere else."""
    bad_global = tmp_path / "hostile.gitconfig"
    bad_global.write_text('[core]\n\thooksPath = /nonexistent\n[url "/nonexistent/"]\n\tinsteadOf = /\n')
    return {
        "GIT_DIR": str(repo / ".git"),
        "GIT_WORK_TREE": str(repo),
        "GIT_INDEX_FILE": str(repo / ".git" / "index"),
        "GIT_OBJECT_DIRECTORY": str(repo / ".git" / "objects"),
        "GIT_CONFIG_GLOBAL": str(bad_global),
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "core.worktree",
        "GIT_CONFIG_VALUE_0": str(repo),
    }


def test_inherited_git_variables_never_touch_the_users_repository(
    remote_archive: Path, user_repo: Path, kube_home: Path, tmp_path: Path
) -> None:
    before = snapshot(user_repo)
    env = hostile_git_env(user_repo, tmp_path)
    first = run_kube("update", "--repo", str(remote_archive), env=env, cwd=user_repo)
    assert first.returncode == 0, first.stderr
    commit(remote_archive, formula_files("redis", "7.0.0"))
    second = run_kube("update", env=env, cwd=user_repo)
    assert second.returncode == 0, second.stderr
    assert "redis 7.0.0" in second.stdout
    (kube_home / "archive" / "stray.txt").write_text("x")
    reset = run_kube("update", "--reset", env=env, cwd=user_repo)
    assert reset.returncode == 0, reset.stderr
    assert snapshot(user_repo) == before
    assert not (kube_home / "archive" / "stray.txt").exists()  # --reset did clean the archive itself
    assert git(kube_home / "archive", "rev-parse", "HEAD") == git(remote_archive, "rev-parse", "HEAD")


def test_git_environment_is_clean_and_explicit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kube import gitcmd

    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_CONFIG_PARAMETERS", "GIT_EXEC_PATH", "GIT_SSL_NO_VERIFY"):
        monkeypatch.setenv(name, "/somewhere")
    monkeypatch.setenv("GIT_SSH_COMMAND", "ssh -i /my/key")
    env = gitcmd.environment()
    assert not {"GIT_DIR", "GIT_WORK_TREE", "GIT_CONFIG_PARAMETERS", "GIT_EXEC_PATH"} & set(env)
    assert "GIT_SSL_NO_VERIFY" not in env
    assert env["GIT_CONFIG_NOSYSTEM"] == "1" and env["GIT_CONFIG_GLOBAL"] == os.devnull
    assert env["GIT_SSH_COMMAND"] == "ssh -i /my/key"  # the user's ssh transport is theirs to choose
    assert env["GIT_TERMINAL_PROMPT"] == "0" and env["GIT_ALLOW_PROTOCOL"] == "file:https:ssh"
    argv = gitcmd.argv(["status"], repo=tmp_path)
    assert f"--git-dir={tmp_path / '.git'}" in argv and f"--work-tree={tmp_path}" in argv


def test_kubectl_gets_kubeconfig_only_when_kube_means_to(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real process stands in for kubectl and reports the environment it was started with."""
    from kube.kubectl import Kubectl

    fake = tmp_path / "kubectl"
    fake.write_text(f"#!{sys.executable}\nimport json, os\nprint(json.dumps(dict(os.environ)))\n")
    fake.chmod(0o755)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "someone-elses-config"))
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy:3128")
    import json

    _, out, _ = Kubectl(kubeconfig=str(tmp_path / "chosen"), binary=str(fake)).run("version")
    chosen = json.loads(out)
    assert "KUBECONFIG" not in chosen  # --kubeconfig alone decides
    assert chosen["KUBECTL_KUBERC"] == "false"  # no preferences adding flags to kube's own calls
    assert chosen["HTTPS_PROXY"] == "http://proxy:3128"  # the user's network setup stays
    _, out, _ = Kubectl(binary=str(fake)).run("version")
    assert json.loads(out)["KUBECONFIG"] == str(tmp_path / "someone-elses-config")


# --- 2. nothing in the archive is followed out of the clone ------------------------------------


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A valid formula outside any archive: what a symlink in a hostile archive points at."""
    from tests.gitrepo import write_tree

    root = tmp_path / "outside"
    write_tree(root, {k.removeprefix("formulas/"): v for k, v in formula_files("secret").items()})
    (root / "secret" / "private.key").write_text("-----BEGIN PRIVATE KEY-----\n")
    return root


def assert_not_reachable(name: str, kube_home: Path) -> None:
    from kube import install
    from kube.errors import NotFoundError

    for command in (["search", name], ["info", name], ["get", name]):
        result = run_kube(*command)
        assert result.returncode == ExitCode.NOT_FOUND, (command, result.stdout, result.stderr)
        assert "BEGIN PRIVATE KEY" not in result.stdout + result.stderr
    with pytest.raises(NotFoundError):
        install.resolve(name)
    assert not (kube_home / "workspace" / name).exists()


def test_formulas_directory_that_is_a_symlink_is_never_followed(
    tmp_path: Path, outside: Path, kube_home: Path
) -> None:
    remote = make_repo(tmp_path / "remote", formula_files("nginx"))
    git(remote, "rm", "-rq", "formulas")
    os.symlink(outside, remote / "formulas")
    commit(remote, {}, "formulas is a symlink now")
    result = run_kube("update", "--repo", str(remote))
    assert result.returncode == 0, result.stderr
    assert "0 kubes" in result.stdout
    assert "formulas skipped: a symbolic link; never followed" in result.stderr
    assert (kube_home / "archive" / "formulas").is_symlink()
    assert_not_reachable("secret", kube_home)
    lint = run_kube("lint", cwd=tmp_path)
    assert "secret" not in lint.stdout + lint.stderr


def test_formulas_directory_turning_into_a_symlink_drops_every_kube(
    tmp_path: Path, outside: Path, kube_home: Path
) -> None:
    remote = make_repo(tmp_path / "remote", formula_files("nginx"))
    assert run_kube("update", "--repo", str(remote)).returncode == 0
    git(remote, "rm", "-rq", "formulas")
    os.symlink(outside, remote / "formulas")
    commit(remote, {}, "formulas is a symlink now")
    result = run_kube("update")
    assert result.returncode == 0, result.stderr
    assert "==> Deleted kubes\nnginx" in result.stdout
    assert_not_reachable("secret", kube_home)
    assert_not_reachable("nginx", kube_home)


def test_formula_directory_that_is_a_symlink_is_never_followed(
    tmp_path: Path, outside: Path, kube_home: Path
) -> None:
    remote = make_repo(tmp_path / "remote", formula_files("nginx"))
    os.symlink(outside / "secret", remote / "formulas" / "secret")
    commit(remote, {}, "a formula that is a symlink")
    result = run_kube("update", "--repo", str(remote))
    assert result.returncode == 0, result.stderr
    assert "1 kubes" in result.stdout and "formulas/secret skipped: a symbolic link" in result.stderr
    assert_not_reachable("secret", kube_home)
