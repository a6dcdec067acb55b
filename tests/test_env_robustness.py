"""kube in a hostile environment: a locale that is not UTF-8, no git on PATH, closed or full
streams, a damaged lookup file, a full disk and a guard file in the way. Every failure is one
line and a documented exit code, never an internal error (70).

The CLI runs as a real process (``python -m kube``) with real streams: a closed descriptor, a
pipe, ``/dev/full``, a PATH without git. What cannot be made real here is said in the test.
"""

from __future__ import annotations

import base64
import errno
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kube.archive import git as gitcmd
from kube.archive import lookup
from kube.archive import update as archive
from kube.cli import console
from kube.clusters import inspect, registry
from kube.clusters.registry import Cluster
from kube.core.errors import ArchiveError, KubeError, NotFoundError
from tests.gitrepo import commit, formula_files, make_repo

#: What an internal error says; none of these tests may see it.
INTERNAL = "internal error"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("KUBE_NO_FAST_PATH", "PYTHONIOENCODING")}
    return {**env, **extra}


def _kube(
    *args: str, env: dict[str, str] | None = None, stdout: object = subprocess.PIPE, stdin: object = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kube", *args],
        stdout=stdout,  # type: ignore[arg-type]
        stderr=subprocess.PIPE,
        stdin=stdin,  # type: ignore[arg-type]
        text=True,
        timeout=120,
        env=env or _env(),
    )


def _shell(script: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``script`` run by sh with ``$0`` the interpreter: redirections such as ``>&-`` are the
    shell's own, exactly as a user writes them."""
    return subprocess.run(
        ["sh", "-c", script, sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env or _env(),
    )


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    files: dict[str, str | bytes | None] = {"README.md": "The archive\n"}
    files.update(formula_files("nginx", "1.10.0", description="Web server \u2192 proxy \u4e2d\u6587"))
    files.update(formula_files("etcd", "3.5.0", description="A key-value store"))
    return make_repo(tmp_path / "remote", files)


@pytest.fixture
def updated(remote: Path) -> Path:
    archive.update(str(remote))
    return remote


# -- bug 1: a locale whose encoding cannot hold every character ------------------------------


def test_a_latin1_stdout_degrades_kubes_arrow_and_formula_text(updated: Path) -> None:
    # PYTHONIOENCODING gives the interpreter the streams a real ISO-8859-1 locale gives it
    # (strict latin-1 encoders); /tmp/sweep-env/locale-bug.sh checks the locale itself.
    latin1 = _env(PYTHONIOENCODING="latin-1")
    commit(updated, formula_files("nginx", "1.11.0", description="Web server \u2192 proxy"), "bump")
    done = _kube("update", env=latin1)
    assert done.returncode == 0, done.stderr
    assert "nginx 1.10.0 -> 1.11.0" in done.stdout
    found = _kube("search", "nginx", env=latin1)
    assert found.returncode == 0, found.stderr
    assert "Web server -> proxy" in found.stdout
    shown = _kube("info", "etcd", env=latin1)
    assert shown.returncode == 0 and INTERNAL not in shown.stderr


def test_characters_a_latin1_stream_lacks_become_ascii_or_a_question_mark() -> None:
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="latin-1")
    wrapped = console._wrapped(stream, quiet=False)
    wrapped.write("a \u2192 b \u2026 \u4e2d \u00e9\n")
    wrapped.flush()
    assert raw.getvalue() == "a -> b ... ? \u00e9\n".encode("latin-1")


def test_a_not_found_search_keeps_its_exit_code_under_latin1(updated: Path) -> None:
    done = _kube("search", "\u4e2d\u6587-nothing", env=_env(PYTHONIOENCODING="latin-1"))
    assert done.returncode == 3 and INTERNAL not in done.stderr
    assert done.stderr.count("\n") == 1


# -- bug 2: no git on PATH -------------------------------------------------------------------


def _no_git_path(tmp_path: Path) -> str:
    bare = tmp_path / "bin-without-git"
    bare.mkdir()
    for tool in ("sh", "env"):
        found = shutil.which(tool)
        if found:
            (bare / tool).symlink_to(found)
    return str(bare)


def test_update_without_git_is_one_line_exit_5_and_clones_nothing(updated: Path, tmp_path: Path) -> None:
    done = _kube("update", env=_env(PATH=_no_git_path(tmp_path)))
    assert done.returncode == 5, done.stderr
    assert done.stderr == "Error: cannot run git: not found on PATH (hint: install git)\n"
    assert "Cloning" not in done.stdout + done.stderr


def test_search_on_a_fresh_home_without_git_is_one_line_exit_5(remote: Path, tmp_path: Path) -> None:
    done = _kube("search", "nginx", env=_env(PATH=_no_git_path(tmp_path), KUBE_REPO=str(remote)))
    assert done.returncode == 5, done.stderr
    assert done.stderr.splitlines()[-1] == "Error: cannot run git: not found on PATH (hint: install git)"
    assert INTERNAL not in done.stderr


def test_an_existing_clone_is_not_taken_for_damaged_without_git(
    updated: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", _no_git_path(tmp_path))
    with pytest.raises(ArchiveError, match="not found on PATH"):
        gitcmd.state(archive._archive())


# -- bug 3: closed and full streams ------------------------------------------------------------


@pytest.mark.parametrize("fast", [True, False], ids=["fast-path", "full-cli"])
def test_a_closed_stdout_ends_quietly_like_a_closed_pipe(updated: Path, fast: bool) -> None:
    env = _env() if fast else _env(KUBE_NO_FAST_PATH="1")
    done = _shell('exec "$0" -m kube search nginx >&-', env=env)
    assert done.returncode == 141, done.stderr
    assert done.stderr == ""


@pytest.mark.parametrize("fast", [True, False], ids=["fast-path", "full-cli"])
def test_stdout_on_dev_full_is_one_line_exit_1(updated: Path, fast: bool) -> None:
    env = _env() if fast else _env(KUBE_NO_FAST_PATH="1")
    with open("/dev/full", "w") as full:
        done = _kube("search", "nginx", env=env, stdout=full)
    assert done.returncode == 1, done.stderr
    assert done.stderr == "Error: cannot write output: No space left on device\n"


def test_help_on_dev_full_or_closed_stdout_is_not_a_traceback() -> None:
    with open("/dev/full", "w") as full:
        done = _kube("--help", stdout=full)
    assert (done.returncode, done.stderr) == (1, "Error: cannot write output: No space left on device\n")
    closed = _shell('exec "$0" -m kube --help >&-')
    assert (closed.returncode, closed.stderr) == (141, "")


def test_a_full_stderr_too_still_exits_with_the_code(updated: Path) -> None:
    done = _shell('exec "$0" -m kube search nginx >/dev/full 2>&1')
    assert done.returncode == 1


def test_a_closed_stdin_is_no_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    # sys.stdin is None exactly when the interpreter started with descriptor 0 closed (`<&-`).
    monkeypatch.setattr(sys, "stdin", None)
    assert console.is_interactive() is False
    assert console.confirm("Continue?") is False
    assert console.confirm("Continue?", default=True) is True


def test_a_closed_stdin_for_the_dependency_question_is_no_terminal(
    namespace: str, remote_archive: Path
) -> None:
    # ponycorn depends on nginx, which is not installed: kube would ask, and stdin is closed.
    archive.update(str(remote_archive))
    done = _shell('exec "$0" -m kube install ponycorn -n "$1" <&-', namespace)
    assert done.returncode == 6, done.stderr
    assert "no terminal to ask" in done.stderr and INTERNAL not in done.stderr
    forced = _shell(
        'exec "$0" -m kube install ponycorn -n "$1" <&-', namespace, env=_env(KUBE_INTERACTIVE="1")
    )
    assert forced.returncode == 6, forced.stderr
    assert "cancelled" in forced.stderr and INTERNAL not in forced.stderr


# -- bug 4: a lookup file missing a table ------------------------------------------------------


def _drop_entries() -> None:
    db = sqlite3.connect(lookup.lookup_file())
    db.execute("DROP TABLE entries")
    db.commit()
    db.close()


def test_search_rebuilds_a_lookup_file_missing_a_table(updated: Path) -> None:
    _drop_entries()
    done = _kube("search", "nginx")
    assert done.returncode == 0, done.stderr
    assert "nginx" in done.stdout
    assert lookup.open_lookup() is not None  # written again by that search


def test_info_answers_from_a_lookup_file_missing_a_table(updated: Path) -> None:
    _drop_entries()
    done = _kube("info", "etcd")
    assert done.returncode == 0, done.stderr
    assert "A key-value store" in done.stdout


def test_update_with_nothing_new_repairs_the_lookup_file(updated: Path) -> None:
    _drop_entries()
    assert lookup.open_lookup() is None
    report = archive.update()
    assert report.old_commit == report.new_commit
    assert any("index.sqlite" in note for note in report.notes)
    found = lookup.open_lookup()
    assert found is not None and found.names() == ["etcd", "nginx"]
    found.close()


def test_a_table_lost_after_opening_falls_back_to_index_json(updated: Path) -> None:
    found = lookup.open_lookup()
    assert found is not None
    _drop_entries()  # another process damages it while this one holds it open
    assert [row[0] for row in found.search_rows("etcd")] == ["etcd"]
    entry = found.get("nginx")
    assert entry is not None and entry.version == "1.10.0"
    again = lookup.open_lookup()
    assert again is not None and again.names() == ["etcd", "nginx"]  # and it was written again
    again.close()


# -- bug 6: cluster add on a full disk, refused credentials, a missing kubeconfig -------------


def _kubeconfig(tmp_path: Path) -> Path:
    path = tmp_path / "kc"
    path.write_text(
        "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:9'}}]\n"
        "users: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n"
        "current-context: x\n",
        encoding="utf-8",
    )
    return path


def test_cluster_add_copy_on_a_full_disk_is_one_line_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kube_home: Path
) -> None:
    # Mocked: filling a disk needs a mount of its own (root); /tmp/sweep-env/fulldisk-cluster.sh
    # does that. The write of the copy fails as a full tmpfs makes it fail.
    def full(path: Path, data: bytes, mode: int | None = None) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(registry.paths, "atomic_write", full)
    with pytest.raises(KubeError) as failed:
        registry.add(Cluster("b", str(_kubeconfig(tmp_path))), copy=True)
    assert failed.value.message.startswith(f"disk full at {kube_home / 'clusters' / 'b' / 'kubeconfig'}")
    assert failed.value.exit_code == 1
    assert not (kube_home / "clusters").exists()
    assert not registry.registry_file().exists()


def _fill(path: Path, *, leave: int = 0) -> None:
    """Fill the disk ``path`` is on, then free ``leave`` bytes again."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)
    if leave:
        os.truncate(path, max(0, os.path.getsize(path) - leave))


def test_cluster_add_copy_on_a_real_full_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(disk)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip("mounting a small tmpfs needs root; the mocked test covers the rest")
    try:
        home = disk / "home"
        home.mkdir()
        monkeypatch.setenv("KUBE_HOME", str(home))
        _fill(disk / "filler")
        config = _kubeconfig(tmp_path)
        with pytest.raises(KubeError, match=r"^disk full at "):
            registry.add(Cluster("b", str(config)), copy=True)
        assert sorted(p.name for p in home.iterdir()) == [".lock"]
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def test_cluster_add_of_a_missing_kubeconfig_names_the_file(tmp_path: Path) -> None:
    done = _kube("cluster", "add", "missing", "--kubeconfig", str(tmp_path / "nonexistent"))
    assert done.returncode == 3, done.stderr
    assert done.stderr.startswith(f"Error: kubeconfig {tmp_path / 'nonexistent'}: no such file")
    assert "current-context" not in done.stderr


def test_cluster_list_keeps_a_row_for_a_kubeconfig_that_went_missing(tmp_path: Path) -> None:
    gone = Cluster("gone", str(tmp_path / "nonexistent"))
    [row] = inspect.summarize_all([gone], timeout=2)
    assert not row.reachable and "no such file" in row.reason


def test_refused_credentials_are_said_as_refused_not_as_silence(
    namespace: str, kubectl: object, tmp_path: Path
) -> None:
    run = kubectl  # tests/cluster.py: kubectl(*args, input=None, check=True) on the shared cluster
    run("-n", namespace, "create", "serviceaccount", "nobody")  # type: ignore[operator]
    # A token Secret the token controller fills (`kubectl create token` is newer than some kubectls).
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "nobody-token", "annotations": {"kubernetes.io/service-account.name": "nobody"}},
        "type": "kubernetes.io/service-account-token",
    }
    run("-n", namespace, "create", "-f", "-", input=json.dumps(secret))  # type: ignore[operator]
    token = ""
    for _ in range(60):
        got = run("-n", namespace, "get", "secret", "nobody-token", "-o", "jsonpath={.data.token}")  # type: ignore[operator]
        if got.stdout:
            token = base64.b64decode(got.stdout).decode()
            break
        time.sleep(0.5)
    assert token, "the token controller never filled the Secret"
    view = json.loads(run("config", "view", "--minify", "--raw", "-o", "json").stdout)  # type: ignore[operator]
    server = view["clusters"][0]["cluster"]
    ca = tmp_path / "ca.crt"
    ca.write_bytes(base64.b64decode(server["certificate-authority-data"]))
    config = tmp_path / "nobody.kc"
    config.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {"name": "c", "cluster": {"server": server["server"], "certificate-authority": str(ca)}}
                ],
                "users": [{"name": "u", "user": {"token": token}}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "x",
            }
        ),
        encoding="utf-8",
    )
    summary = inspect.summarize(Cluster("rg", str(config)), timeout=20)
    assert not summary.reachable and summary.answered
    assert "answered and refused the credentials" in summary.reason and "Forbidden" in summary.reason
    done = _kube("cluster", "add", "rg", "--kubeconfig", str(config))
    assert done.returncode == 8
    assert "answered and refused the credentials" in done.stderr and "does not answer" not in done.stderr


def test_summarize_raises_not_found_for_a_missing_kubeconfig(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="no such file"):
        inspect.summarize(Cluster("x", str(tmp_path / "none")), timeout=2)


# -- bug 7: a fetch onto a full disk, a guard file in the way --------------------------------


def test_gits_out_of_diskspace_is_a_full_disk() -> None:
    # git's own words when index-pack cannot write the pack a fetch received (LC_ALL=C).
    said = (
        "fatal: sha1 file '.git/objects/pack/tmp_idx_6ouqqJ' write error. Out of diskspace\n"
        "fatal: index-pack failed"
    )
    assert gitcmd.is_disk_full(said)
    assert not gitcmd.is_disk_full("fatal: index-pack failed")


def test_a_fetch_onto_a_real_full_disk_says_disk_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(disk)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(
            "mounting a small tmpfs needs root; test_gits_out_of_diskspace_is_a_full_disk covers the words"
        )
    try:
        monkeypatch.setenv("KUBE_HOME", str(disk / "home"))
        source = make_repo(tmp_path / "src", formula_files("nginx", "1.0.0"))
        archive.update(str(source))
        # A large incompressible file: the pack the fetch receives does not fit.
        commit(source, {"formulas/nginx/blob.bin": os.urandom(6 << 20)}, "big")
        _fill(disk / "filler", leave=256 << 10)
        with pytest.raises(ArchiveError) as failed:
            archive.update()
        assert "disk full at" in failed.value.message, failed.value.message
        assert "network" not in (failed.value.hint or "")
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def test_a_guard_file_that_is_a_directory_is_named_in_one_line(remote: Path, kube_home: Path) -> None:
    (kube_home / ".lock-git").mkdir(parents=True)
    with pytest.raises(ArchiveError) as failed:
        archive.update(str(remote))
    assert (
        failed.value.message
        == f"cannot use {kube_home / '.lock-git'} (the lock git runs under): Is a directory"
    )
    assert "Traceback" not in str(failed.value.hint)
    done = _kube("update", "--repo", str(remote))
    assert done.returncode == 5 and done.stderr.count("Error:") == 1 and "Traceback" not in done.stderr
