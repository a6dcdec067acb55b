"""A formula of the archive is checked against HEAD before it is used, and fetched first in a sparse clone.

Both kinds of archive ``kube update`` makes are used: a partial clone with a sparse checkout (the
server filters: ``uploadpack.allowFilter``) and a full clone (it does not). The fetch itself is
``tests/test_fetch_on_use.py``'s; here are what it costs in git processes (counted by a git on
PATH that logs every call), lint of the whole archive, a fetch past ``KUBE_GIT_TIMEOUT``, and
the check of the files on disk (``kube.archive.verify``), on the local control plane too.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from kube.archive import materialize
from kube.cli.app import app
from kube.core.errors import ExitCode
from tests.cluster import Cluster
from tests.gitrepo import git


def kube(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def _update(remote: str) -> None:
    result = kube("update", "--repo", remote)
    assert result.exit_code == 0, result.stderr


def blobs_missing(archive: Path) -> set[str]:
    """Objects the partial clone knows of but has not fetched (``--missing=print`` marks them ``?``)."""
    out = git(archive, "rev-list", "--objects", "--all", "--missing=print")
    return {line[1:] for line in out.splitlines() if line.startswith("?")}


@pytest.fixture
def archive(kube_home: Path) -> Path:
    return kube_home / "archive"


@pytest.fixture
def sparse(remote_archive: Path, archive: Path) -> Path:
    """A partial clone with a sparse checkout: what ``kube update`` makes of a server that filters."""
    git(remote_archive, "config", "uploadpack.allowFilter", "true")
    _update(f"file://{remote_archive}")
    assert patterns(archive), "the clone should be sparse"
    return archive


@pytest.fixture
def full(remote_archive: Path, archive: Path) -> Path:
    """A full clone: the server does not filter."""
    _update(str(remote_archive))
    assert not (archive / ".git/info/sparse-checkout").exists()
    return archive


@pytest.fixture(params=["full", "sparse"])
def either(request: pytest.FixtureRequest) -> Path:
    return Path(request.getfixturevalue(request.param))


@pytest.fixture
def git_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every git kube starts, logged by a ``git`` first on PATH that then runs the real one.

    A wrapper rather than a count of processes: kube starts git in three ways (``kube.core.process``,
    streamed through GitPython, under the guard that execs it), and all three look git up on PATH;
    the wrapper sees each of them and says which command it was."""
    real = shutil.which("git")
    assert real is not None
    bin_dir, log = tmp_path / "git-wrapper", tmp_path / "git-calls.log"
    bin_dir.mkdir()
    wrapper = bin_dir / "git"
    wrapper.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{log}"\nexec "{real}" "$@"\n')
    wrapper.chmod(0o755)
    log.write_text("")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return log


def calls(log: Path) -> list[str]:
    return [line for line in log.read_text().splitlines() if line]


def patterns(archive: Path) -> list[str]:
    path = archive / ".git/info/sparse-checkout"
    return path.read_text().splitlines() if path.exists() else []


def head(archive: Path) -> str:
    return git(archive, "rev-parse", "HEAD").strip()


# --- fetch on use --------------------------------------------------------------------------------


def test_sparse_clone_holds_only_manifests_of_formulas_until_one_is_used(sparse: Path) -> None:
    assert (sparse / "formulas/nginx/K3.yaml").is_file()
    assert not (sparse / "formulas/nginx/manifests").exists()
    assert blobs_missing(sparse)  # a real partial clone: the manifests' blobs are not here


def test_get_fetches_the_formula_into_the_workspace_copy(sparse: Path, kube_home: Path) -> None:
    result = kube("get", "ponycorn")
    assert result.exit_code == 0, result.stderr
    assert (kube_home / "workspace/ponycorn/manifests/configmap.yaml").is_file()
    assert (sparse / "formulas/ponycorn/manifests/configmap.yaml").is_file()


def test_lint_of_one_formula_fetches_it_and_its_dependencies(
    sparse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no formulas/ around the current directory: the archive is used
    result = kube("lint", "ponycorn")
    assert result.exit_code == 0, result.stdout + result.stderr
    lines = patterns(sparse)
    assert "/formulas/ponycorn/" in lines and "/formulas/nginx/" in lines  # nginx: its CRDs are read


def test_lint_all_of_the_archive_fetches_every_formula(
    sparse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = kube("lint", "--all")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert (sparse / "formulas/nginx/manifests/configmap.yaml").is_file()
    assert (sparse / "formulas/ponycorn/manifests/configmap.yaml").is_file()
    assert not blobs_missing(sparse)
    assert materialize.missing(sparse, ["nginx", "ponycorn"]) == []


def test_nothing_to_fetch_starts_no_git_process(either: Path, git_log: Path) -> None:
    if patterns(either):
        assert materialize.materialize(either, ["nginx"]) == ["nginx"]
        assert any("sparse-checkout add /formulas/nginx/" in line for line in calls(git_log))
        git_log.write_text("")
    assert materialize.materialize(either, ["nginx", "nginx"]) == []  # a full clone, or already whole
    assert kube("get", "nginx").exit_code == 0
    assert calls(git_log) == []


def test_install_of_a_fetched_formula_runs_only_the_tree_read(sparse: Path, git_log: Path) -> None:
    assert kube("install", "nginx", "-n", "fou-dry", "--dry-run").exit_code == 0
    git_log.write_text("")
    result = kube("install", "nginx", "-n", "fou-dry", "--dry-run")
    assert result.exit_code == 0, result.stderr
    ran = calls(git_log)
    assert len(ran) == 1 and " ls-tree -r -z --full-tree " in ran[0]  # the verification, no fetch


def test_search_and_info_fetch_nothing(sparse: Path, git_log: Path) -> None:
    assert kube("search", "nginx").exit_code == 0
    assert kube("info", "ponycorn").exit_code == 0
    assert calls(git_log) == []
    assert not (sparse / "formulas/ponycorn/manifests").exists()


def test_a_fetch_past_the_git_timeout_is_one_line(
    sparse: Path, remote_archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A remote that never answers: git's upload-pack is a program that sleeps.
    slow = tmp_path / "slow-upload-pack"
    slow.write_text("#!/bin/sh\nsleep 30\n")
    slow.chmod(0o755)
    git(sparse, "config", "remote.origin.uploadpack", str(slow))
    monkeypatch.setenv("KUBE_GIT_TIMEOUT", "2")
    result = kube("get", "ponycorn")
    assert result.exit_code == ExitCode.ARCHIVE, result.stderr
    assert "did not finish within 2s" in result.stderr
    git(sparse, "config", "--unset", "remote.origin.uploadpack")
    monkeypatch.delenv("KUBE_GIT_TIMEOUT")
    result = kube("get", "ponycorn")  # the killed git's index.lock is recovered first
    assert result.exit_code == 0, result.stderr


# --- verification ------------------------------------------------------------------------------


def _edit(path: Path) -> None:
    path.write_text(path.read_text() + "# mine\n")


def _add(path: Path) -> None:
    (path.parent / "extra.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n")


def _remove(path: Path) -> None:
    path.unlink()


def _chmod(path: Path) -> None:
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def _symlink(path: Path) -> None:
    # Same bytes behind the link: only its type differs from the archive's.
    copy = path.parent.parent / "copy-of-configmap"
    copy.write_bytes(path.read_bytes())
    path.unlink()
    path.symlink_to(copy)


@pytest.mark.parametrize(
    ("change", "file", "said"),
    [
        (_edit, "manifests/configmap.yaml", "edited"),
        (_add, "manifests/extra.yaml", "added"),
        (_remove, "manifests/configmap.yaml", "missing"),
        (_chmod, "manifests/configmap.yaml", "made executable"),
        (_symlink, "manifests/configmap.yaml", "is a symlink, not a file"),
    ],
    ids=["edited", "added", "removed", "chmod", "symlink"],
)
def test_install_refuses_a_formula_whose_files_are_not_the_archives(
    either: Path, change: object, file: str, said: str
) -> None:
    assert kube("install", "nginx", "-n", "fou-v", "--dry-run").exit_code == 0  # fetched, and clean
    assert callable(change)
    change(either / "formulas/nginx/manifests/configmap.yaml")
    result = kube("install", "nginx", "-n", "fou-v", "--dry-run")
    assert result.exit_code == ExitCode.ARCHIVE, result.stdout + result.stderr
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1
    assert f"formulas/nginx/{file} {said}" in message
    assert f"commit {head(either)[:12]}" in message
    assert "kube update --reset" in message and "kube get nginx" in message
    assert "nginx-config" not in result.stdout  # nothing was rendered
    result = kube("update", "--reset")
    assert result.exit_code == 0, result.stderr
    assert kube("install", "nginx", "-n", "fou-v", "--dry-run").exit_code == 0


def test_a_dependency_taken_from_the_archive_is_checked(full: Path) -> None:
    # What --with-deps (and `kube test`) load a dependency through; diff and upgrade are below.
    from kube.core.errors import LocalChangesError
    from kube.install import pipeline

    _edit(full / "formulas/nginx/K3.yaml")
    with pytest.raises(LocalChangesError, match=r"formulas/nginx/K3\.yaml edited"):
        pipeline.load_from_archive("nginx")


def test_edits_kept_with_get_are_installed_from_the_workspace(either: Path, kube_home: Path) -> None:
    assert kube("get", "nginx").exit_code == 0  # get copies whatever is there: it never checks
    _edit(either / "formulas/nginx/manifests/configmap.yaml")
    assert kube("get", "nginx", "--force").exit_code == 0
    copy = kube_home / "workspace/nginx/manifests/configmap.yaml"
    assert copy.read_text().endswith("# mine\n")
    result = kube("install", "nginx", "-n", "fou-v", "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert "Using your edited copy of nginx" in result.stderr


def test_a_local_path_is_never_checked(either: Path) -> None:
    materialize.materialize(either, ["nginx"])
    _add(either / "formulas/nginx/manifests/configmap.yaml")
    result = kube("install", str(either / "formulas/nginx"), "-n", "fou-v", "--dry-run")
    assert result.exit_code == 0, result.stderr


def test_a_file_checked_out_through_eol_attributes_is_not_an_edit(tmp_path: Path, archive: Path) -> None:
    # .gitattributes makes git write CRLF: the bytes differ from the blob, the file is not edited.
    from tests.gitrepo import formula_files, make_repo

    files: dict[str, str] = dict(formula_files("nginx", "1.10.0"))
    files[".gitattributes"] = "*.yaml text eol=crlf\n"
    remote = make_repo(tmp_path / "crlf-remote", files)
    assert kube("update", "--repo", str(remote)).exit_code == 0
    assert b"\r\n" in (archive / "formulas/nginx/manifests/configmap.yaml").read_bytes()
    result = kube("install", "nginx", "-n", "fou-v", "--dry-run")
    assert result.exit_code == 0, result.stderr
    _edit(archive / "formulas/nginx/manifests/configmap.yaml")
    assert kube("install", "nginx", "-n", "fou-v", "--dry-run").exit_code == ExitCode.ARCHIVE


# --- on the local control plane ----------------------------------------------------------------


@pytest.fixture
def fou_namespace(cluster: Cluster, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    name = f"fou-{uuid.uuid4().hex[:8]}"
    cluster.kubectl("create", "namespace", name)
    monkeypatch.setenv("KUBECONFIG", str(cluster.kubeconfig))
    monkeypatch.setenv("PATH", cluster.env["PATH"])
    yield name
    cluster.kubectl("delete", "namespace", name, "--wait=false", "--ignore-not-found", check=False)


def test_install_with_deps_from_a_sparse_archive_on_the_cluster(
    sparse: Path, fou_namespace: str, cluster: Cluster
) -> None:
    result = kube("install", "ponycorn", "--with-deps", "-n", fou_namespace, "--force")
    assert result.exit_code == 0, result.stdout + result.stderr
    names = json.loads(cluster.kubectl("get", "configmaps", "-n", fou_namespace, "-o", "json").stdout)
    found = {item["metadata"]["name"] for item in names["items"]}
    assert {"nginx-config", "ponycorn-config"} <= found
    lines = patterns(sparse)
    assert "/formulas/ponycorn/" in lines and "/formulas/nginx/" in lines
    # An edit in the archive is refused before anything is rendered or reaches the cluster again.
    _edit(sparse / "formulas/nginx/manifests/configmap.yaml")
    for args in (["upgrade", "nginx"], ["diff", "nginx"], ["install", "nginx", "--dry-run"]):
        result = kube(*args, "-n", fou_namespace)
        assert result.exit_code == ExitCode.ARCHIVE, (args, result.stdout + result.stderr)
        assert "formulas/nginx/manifests/configmap.yaml edited" in result.stderr
    data = cluster.kubectl("get", "configmap", "nginx-config", "-n", fou_namespace, "-o", "json").stdout
    assert "# mine" not in data
