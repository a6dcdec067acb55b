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
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kube.core.errors import ArchiveError, ExitCode
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


@pytest.fixture
def updated_home(remote_archive: Path, kube_home: Path) -> Path:
    assert run_kube("update", "--repo", str(remote_archive)).returncode == 0
    return kube_home


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
    from kube.archive import git as gitcmd

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
    from kube.k8s.kubectl import Kubectl

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
    from kube.core.errors import NotFoundError
    from kube.install import pipeline as install

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


# --- 3. kube get writes only into a directory of its own ----------------------------------------


@pytest.fixture
def hostile_remote(tmp_path: Path) -> Path:
    """An archive whose formula ships a file named like the user's ~/.ssh."""
    files = formula_files("evil")
    files["formulas/evil/.ssh"] = "not your keys\n"
    files.update(formula_files("nginx"))
    remote = make_repo(tmp_path / "remote", files)
    assert run_kube("update", "--repo", str(remote)).returncode == 0
    return remote


def tree(root: Path) -> dict[str, bytes | None]:
    return {
        str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))
    }


def test_get_never_writes_into_home_or_root(hostile_remote: Path, isolated_home: Path) -> None:
    ssh = isolated_home / ".ssh"
    ssh.mkdir()
    (ssh / "id_ed25519").write_text("PRIVATE\n")
    before = tree(isolated_home)
    for dest in (str(isolated_home), "~", "/", str(isolated_home / ".")):
        result = run_kube("get", "evil", "--dest", dest, "--force")
        assert result.returncode == ExitCode.USAGE, (dest, result.stderr)
        assert len(result.stderr.splitlines()) == 1 and "--dest" in result.stderr
    assert tree(isolated_home) == before
    assert (ssh / "id_ed25519").read_text() == "PRIVATE\n"


def test_get_refuses_a_non_empty_directory_it_did_not_make(hostile_remote: Path, tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / ".ssh").mkdir(parents=True)
    (project / ".ssh" / "config").write_text("Host *\n")
    (project / "K3.yaml").write_text("mine\n")
    before = tree(project)
    result = run_kube("get", "evil", "--dest", str(project), "--force")
    assert result.returncode == ExitCode.USAGE
    assert "is not empty and is not a copy made by kube get" in result.stderr
    assert tree(project) == before
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run_kube("get", "evil", "--dest", str(empty)).returncode == 0  # an empty one is fine
    assert (empty / ".ssh").read_text() == "not your keys\n"


def test_force_never_replaces_a_directory_or_a_file_get_did_not_write(
    hostile_remote: Path, kube_home: Path
) -> None:
    assert run_kube("get", "nginx").returncode == 0
    copy = kube_home / "workspace" / "nginx"
    (copy / "K3.yaml").write_text((copy / "K3.yaml").read_text() + "# edited\n")
    # The archive's next version adds files where the user already keeps things of their own.
    commit(hostile_remote, {"formulas/nginx/README.md": "# nginx\n", "formulas/nginx/tests/a.yaml": "{}\n"})
    assert run_kube("update").returncode == 0
    (copy / "README.md").write_text("my own readme\n")
    (copy / "tests" / "a.yaml").mkdir(parents=True)
    (copy / "tests" / "a.yaml" / "data").write_text("mine\n")
    result = run_kube("get", "nginx", "--force")
    assert result.returncode == ExitCode.ARCHIVE, result.stderr
    assert "README.md" in result.stderr and "kube get did not write them" in result.stderr
    assert (copy / "README.md").read_text() == "my own readme\n"
    assert (copy / "tests" / "a.yaml" / "data").read_text() == "mine\n"
    assert "# edited" in (copy / "K3.yaml").read_text()  # nothing at all was changed
    (copy / "README.md").unlink()
    import shutil

    shutil.rmtree(copy / "tests")
    result = run_kube("get", "nginx", "--force")
    assert result.returncode == 0, result.stderr
    assert "# edited" not in (copy / "K3.yaml").read_text()  # its own file, replaced as asked
    assert (copy / "README.md").read_text() == "# nginx\n"


# --- full disks: real, small tmpfs mounts ---------------------------------------------------------


@pytest.fixture
def small_disk() -> Iterator[Callable[[Path, str], Path]]:
    """Mount a real tmpfs of the given size at a path (root only); unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs (a real full disk) needs root")
    mounted: list[Path] = []

    def mount(where: Path, size: str) -> Path:
        where.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
        mounted.append(where)
        return where

    yield mount
    for where in reversed(mounted):
        subprocess.run(["umount", "-l", str(where)], check=False)


def big_formula(name: str, size: int) -> dict[str, str | bytes]:
    files: dict[str, str | bytes] = dict(formula_files(name))
    files[f"formulas/{name}/README.md"] = os.urandom(size)
    return files


def test_full_disk_during_get_leaves_no_half_copy(
    small_disk: Callable[[Path, str], Path], tmp_path: Path, kube_home: Path
) -> None:
    from kube.install import pipeline as install

    remote = make_repo(tmp_path / "remote", {**big_formula("big", 400_000), **formula_files("nginx")})
    assert run_kube("update", "--repo", str(remote)).returncode == 0
    workspace = small_disk(kube_home / "workspace", "256k")
    result = run_kube("get", "big")
    assert install.resolve("big").origin == "archive"  # never a half copy taken for the user's
    assert os.listdir(workspace) == []  # neither the copy nor its temporary directory
    assert result.returncode == ExitCode.ERROR, result.stderr
    assert f"disk full at {workspace}" in result.stderr and len(result.stderr.splitlines()) == 1


def test_full_disk_while_refreshing_a_copy_marks_it_unusable(
    small_disk: Callable[[Path, str], Path], tmp_path: Path, kube_home: Path
) -> None:
    from kube.install import pipeline as install

    remote = make_repo(tmp_path / "remote", formula_files("big"))
    assert run_kube("update", "--repo", str(remote)).returncode == 0
    small_disk(kube_home / "workspace", "256k")
    assert run_kube("get", "big").returncode == 0
    copy = kube_home / "workspace" / "big"
    (copy / "K3.yaml").write_text((copy / "K3.yaml").read_text() + "# edited\n")
    commit(remote, {**big_formula("big", 400_000), "formulas/big/manifests/configmap.yaml": "kind: New\n"})
    assert run_kube("update").returncode == 0
    result = run_kube("get", "big", "--force")
    with pytest.raises(ArchiveError, match="incomplete: an earlier `kube get` stopped half way"):
        install.resolve("big")
    assert sorted(os.listdir(copy)) == [".kube-get.json", "K3.yaml", "manifests"]  # no temporary file
    assert result.returncode == ExitCode.ERROR and "disk full at" in result.stderr
    install_run = run_kube("install", "big", "--dry-run")
    assert install_run.returncode == ExitCode.ARCHIVE and "incomplete" in install_run.stderr
    subprocess.run(["mount", "-o", "remount,size=2m", str(kube_home / "workspace")], check=True)
    assert run_kube("get", "big", "--force").returncode == 0  # space again: the copy is finished
    assert install.resolve("big").origin == "workspace"


def leftovers(root: Path) -> list[str]:
    """git's temporary packs and objects, and kube's temporary files, anywhere under ``root``."""
    return [
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.name.startswith(("tmp_", "incoming-")) or p.name.endswith(".tmp")
    ]


def used(root: Path) -> int:
    st = os.statvfs(root)
    return (st.f_blocks - st.f_bfree) * st.f_frsize


def test_full_disk_during_fetch_says_so_and_frees_the_space(
    small_disk: Callable[[Path, str], Path], remote_archive: Path, kube_home: Path
) -> None:
    small_disk(kube_home, "2m")
    assert run_kube("update", "--repo", str(remote_archive)).returncode == 0
    before, archive_head = used(kube_home), git(kube_home / "archive", "rev-parse", "HEAD")
    commit(remote_archive, big_formula("huge", 3_000_000))
    result = run_kube("update")
    assert result.returncode == ExitCode.ARCHIVE, result.stderr
    assert leftovers(kube_home) == []  # no half-received pack keeping the disk full
    assert used(kube_home) - before < 64 * 1024
    assert f"disk full at {kube_home / 'archive'}" in result.stderr
    assert "network" not in result.stderr and len(result.stderr.splitlines()) == 1
    assert git(kube_home / "archive", "rev-parse", "HEAD") == archive_head  # left as it was
    assert run_kube("search", "nginx").returncode == 0


def test_full_disk_while_writing_the_index_never_serves_the_old_one(
    small_disk: Callable[[Path, str], Path], remote_archive: Path, kube_home: Path
) -> None:
    small_disk(kube_home, "8m")
    assert run_kube("update", "--repo", str(remote_archive)).returncode == 0
    # Long details: a few KiB in git's packs, yet ~1 MiB on disk in the work tree and again
    # in the index, so the disk fills after the checkout, while the index is written.
    details = "A web server. " * 17_000
    for n in range(4):
        commit(remote_archive, formula_files(f"wide{n}", details=details))
    filler = kube_home / "filler"
    st = os.statvfs(kube_home)
    filler.write_bytes(b"\0" * (st.f_bavail * st.f_frsize - 1_400_000))
    result = run_kube("update")
    assert result.returncode == ExitCode.ARCHIVE, result.stderr
    assert "disk full at" in result.stderr and "search index could not be written" in result.stderr
    assert leftovers(kube_home) == []
    for _ in range(2):  # the old index is never served as if it were the archive's
        search = run_kube("search", "wide0")
        assert search.returncode == ExitCode.ARCHIVE and "disk full at" in search.stderr, search.stderr
        assert run_kube("info", "nginx").returncode == ExitCode.ARCHIVE
    filler.unlink()
    search = run_kube("search", "wide0")
    assert search.returncode == 0, search.stderr
    assert "wide0" in search.stdout
    assert run_kube("info", "wide3").returncode == 0


# --- 5. bad input: one line, a documented exit code, nothing changed ---------------------------


def test_repo_with_bytes_that_are_not_utf8_is_refused(kube_home: Path) -> None:
    result = run_kube("update", "--repo", os.fsdecode(b"\xff"))
    assert result.returncode == ExitCode.USAGE, result.stderr
    assert "not UTF-8" in result.stderr and len(result.stderr.splitlines()) == 1
    assert not (kube_home / "config.yaml").exists() and not (kube_home / "archive").exists()


@pytest.mark.parametrize("where", ["file", "below-a-file", "not-utf8"])
def test_kube_home_that_cannot_be_a_directory_is_one_line_and_exit_2(
    where: str, remote_archive: Path, tmp_path: Path
) -> None:
    blocker = tmp_path / "state"
    blocker.write_text("someone's file\n")
    home = {
        "file": str(blocker),
        "below-a-file": str(blocker / "kube"),
        "not-utf8": os.fsdecode(bytes(tmp_path / "kube") + b"\xff"),
    }[where]
    commands = [["update", "--repo", str(remote_archive)], ["search", "nginx"], ["info", "nginx"]]
    for command in [*commands, ["get", "nginx"], ["install", "nginx", "--dry-run"]]:
        result = run_kube(*command, env={"KUBE_HOME": home})
        assert result.returncode == ExitCode.USAGE, (command, result.stderr)
        assert len(result.stderr.splitlines()) == 1 and "KUBE_HOME" in result.stderr
    if where == "file":
        assert f"KUBE_HOME {blocker} is a file" in result.stderr
    assert blocker.read_text() == "someone's file\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["remote", "state"]


def test_dest_with_bytes_that_are_not_utf8_is_refused(updated_home: Path, tmp_path: Path) -> None:
    dest = os.fsdecode(bytes(tmp_path / "copy") + b"\xff")
    result = run_kube("get", "nginx", "--dest", dest)
    assert result.returncode == ExitCode.USAGE and "not UTF-8" in result.stderr
    assert not os.path.lexists(dest)


def test_huge_or_odd_timeouts_do_not_crash(updated_home: Path) -> None:
    for value in ("inf", "1e308", "nan"):
        env = {"KUBE_GIT_TIMEOUT": value, "KUBE_LOCK_TIMEOUT": value}
        result = run_kube("update", env=env)
        assert result.returncode == 0, (value, result.stderr)


def test_file_names_that_are_not_utf8_never_reach_the_index(tmp_path: Path, kube_home: Path) -> None:
    remote = make_repo(tmp_path / "remote", formula_files("nginx"))
    (remote / "formulas" / "nginx" / "manifests" / os.fsdecode(b"\xff.yaml")).write_text("kind: X\n")
    (remote / "formulas" / os.fsdecode(b"\xfe")).mkdir()
    (remote / "formulas" / os.fsdecode(b"\xfe") / "K3.yaml").write_text("x\n")
    commit(remote, {})
    result = run_kube("update", "--repo", str(remote))
    assert result.returncode == 0, result.stderr
    info = run_kube("info", "nginx", "-o", "json", env={"PYTHONIOENCODING": "utf-8:strict"})
    assert info.returncode == 0, info.stderr
    assert "the file name is not UTF-8" in info.stdout
    assert (kube_home / "index.json").read_bytes().isascii()


def test_an_update_adding_an_oddly_named_file_reindexes_its_formula(
    updated_home: Path, remote_archive: Path
) -> None:
    """git quotes such paths in its diff; read as is, they named no formula and the old,
    valid entry of nginx stayed in the index."""
    (remote_archive / "formulas" / "nginx" / "manifests" / os.fsdecode(b"\xff.yaml")).write_text("kind: X\n")
    commit(remote_archive, {})
    result = run_kube("update")
    assert result.returncode == 0, result.stderr
    assert "==> Updated kubes\nnginx 1.10.0 → (invalid)" in result.stdout
    import json

    info = json.loads(run_kube("info", "nginx", "-o", "json").stdout)
    assert info["valid"] is False and "not UTF-8" in info["problems"][0]


def test_an_archive_folder_kube_did_not_make_is_never_deleted(remote_archive: Path, tmp_path: Path) -> None:
    home = tmp_path / "mine"
    photo = home / "archive" / "photos" / "2019.jpg"
    photo.parent.mkdir(parents=True)
    photo.write_text("precious")
    result = run_kube("update", "--repo", str(remote_archive), env={"KUBE_HOME": str(home)})
    assert result.returncode == ExitCode.USAGE, result.stderr
    assert f"{home / 'archive'} exists and is not a clone kube made" in result.stderr
    assert photo.read_text() == "precious"


def test_kube_home_at_the_root_or_in_a_missing_home_is_refused(remote_archive: Path, tmp_path: Path) -> None:
    root = run_kube("update", "--repo", str(remote_archive), env={"KUBE_HOME": "/"})
    assert root.returncode == ExitCode.USAGE and "KUBE_HOME / is the filesystem's root" in root.stderr
    assert not Path("/archive").exists()
    missing = tmp_path / "nonexistent"
    env = {"HOME": str(missing), "KUBE_HOME": "", "XDG_DATA_HOME": ""}
    gone = run_kube("update", "--repo", str(remote_archive), env=env)
    assert gone.returncode == ExitCode.USAGE, gone.stderr
    assert f"your home directory {missing} does not exist" in gone.stderr and not missing.exists()


def test_a_relative_kube_home_is_taken_from_where_kube_started(remote_archive: Path, tmp_path: Path) -> None:
    result = run_kube("update", "--repo", str(remote_archive), env={"KUBE_HOME": "state"}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "state" / "archive" / ".git").is_dir()
    found = run_kube("search", "nginx", env={"KUBE_HOME": "state"}, cwd=tmp_path)
    assert found.returncode == 0 and "nginx" in found.stdout, found.stderr


def test_a_hint_quotes_the_name_it_was_given_so_pasting_it_runs_nothing_else(updated_home: Path) -> None:
    result = run_kube("info", "x;touch /tmp/kube-pwned")
    assert result.returncode == ExitCode.NOT_FOUND, result.stderr
    assert "`kube search 'x;touch /tmp/kube-pwned'`" in result.stderr


def test_a_timeout_that_is_no_number_is_a_usage_error_not_ignored(updated_home: Path) -> None:
    for name in ("KUBE_GIT_TIMEOUT", "KUBE_LOCK_TIMEOUT"):
        result = run_kube("update", "--reset", env={name: "soon"})
        assert result.returncode == ExitCode.USAGE, (name, result.stderr)
        assert f"{name}='soon': give a number of seconds" in result.stderr


def test_a_formula_that_is_a_git_submodule_is_named_as_one(tmp_path: Path, kube_home: Path) -> None:
    remote = make_repo(tmp_path / "remote", formula_files("nginx"))
    head = git(remote, "rev-parse", "HEAD").strip()
    git(remote, "update-index", "--add", "--cacheinfo", f"160000,{head},formulas/submod")
    git(remote, "commit", "-q", "-m", "a formula as a submodule")
    assert run_kube("update", "--repo", str(remote)).returncode == 0
    said = "formulas/submod is a git submodule (or an empty directory): kube does not fetch submodules"
    info = run_kube("info", "submod")
    assert said in " ".join(info.stdout.split() + info.stderr.split()), info
    install = run_kube("install", "submod", "--dry-run", "-n", "default")
    assert install.returncode == ExitCode.INVALID_FORMULA, install.stderr
    assert said in install.stderr and "kube update --reset" not in install.stderr
