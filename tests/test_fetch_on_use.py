"""Fetch on use (issue 16): a sparse archive clone checks a formula out in full when kube needs
its files (install, get, lint), and not before; a full clone is left alone. Real repositories
served over file:// with ``uploadpack.allowFilter``, so the clone is a real partial one."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kube.archive import materialize
from kube.archive import update as archive
from kube.core.errors import ArchiveError
from tests.gitrepo import commit, formula_files, git, make_repo


@pytest.fixture
def source(tmp_path: Path) -> Path:
    files: dict[str, str | bytes | None] = {"README.md": "The archive\n"}
    files.update(formula_files("nginx", "1.10.0"))
    files.update(formula_files("redis", "7.0.0"))
    repo = make_repo(tmp_path / "src", files)
    git(repo, "config", "uploadpack.allowFilter", "true")
    return repo


def _clone() -> Path:
    return Path(os.environ["KUBE_HOME"]) / "archive"


def _kube(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    return subprocess.run(
        [sys.executable, "-m", "kube", *args], capture_output=True, text=True, timeout=180, env=env
    )


def _missing(clone: Path) -> set[str]:
    out = git(clone, "rev-list", "--objects", "--no-object-names", "--missing=print", "--all")
    return {line[1:] for line in out.splitlines() if line.startswith("?")}


def test_install_dry_run_fetches_the_formula_it_renders(source: Path) -> None:
    archive.update(f"file://{source}")
    clone = _clone()
    manifest = clone / "formulas/nginx/manifests/configmap.yaml"
    blob = git(clone, "rev-parse", "HEAD:formulas/nginx/manifests/configmap.yaml").strip()
    assert not manifest.exists() and blob in _missing(clone)

    done = _kube("install", "nginx", "--dry-run", "-n", "web", "-o", "json")
    assert done.returncode == 0, done.stderr
    assert "nginx-config" in done.stdout  # the ConfigMap was rendered from the fetched file
    assert manifest.is_file() and blob not in _missing(clone)
    # Only the formula in use: redis's manifest is still on the server.
    assert not (clone / "formulas/redis/manifests").exists()
    assert "/formulas/nginx/" in (clone / ".git/info/sparse-checkout").read_text()
    assert git(clone, "status", "--porcelain").strip() == ""


def test_get_and_lint_fetch_the_formula_and_an_update_keeps_it_whole(source: Path) -> None:
    archive.update(f"file://{source}")
    clone = _clone()
    got = _kube("get", "redis")
    assert got.returncode == 0, got.stderr
    copy = Path(os.environ["KUBE_HOME"]) / "workspace/redis/manifests/configmap.yaml"
    assert copy.is_file()
    linted = _kube("lint", "redis")
    assert linted.returncode == 0, linted.stdout + linted.stderr

    # A later update brings the new version of a fetched formula's files, and keeps the pattern.
    commit(source, formula_files("redis", "7.2.0"), "redis 7.2.0")
    archive.update()
    assert '"7.2.0"' in (clone / "formulas/redis/manifests/configmap.yaml").read_text()
    assert not (clone / "formulas/nginx/manifests").exists()


def test_nothing_to_fetch_starts_no_git(source: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive.update(f"file://{source}")
    clone = _clone()
    assert materialize.materialize(clone, ["nginx"]) == ["nginx"]

    # Stands in for git to prove a second use of a whole formula asks git nothing: a real git
    # cannot tell whether it was started.
    def no_git(*_: object) -> None:
        raise AssertionError("git was started")

    monkeypatch.setattr(materialize.gitcmd, "sparse_add", no_git)
    monkeypatch.setattr(materialize.gitcmd, "is_sparse", no_git)
    assert materialize.materialize(clone, ["nginx", "../etc", "Bad"]) == []


def test_a_full_clone_is_left_alone(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "plain", formula_files("nginx"))  # no allowFilter: a full clone
    archive.update(str(repo))
    clone = _clone()
    assert (clone / "formulas/nginx/manifests/configmap.yaml").is_file()
    assert not (clone / ".git/info/sparse-checkout").exists()
    assert materialize.missing(clone, ["nginx"]) == []


def test_a_server_gone_away_is_one_error_and_the_archive_stays_usable(source: Path) -> None:
    archive.update(f"file://{source}")
    shutil.rmtree(source)
    with pytest.raises(ArchiveError) as caught:
        archive.formula_dir("nginx")
    assert "cannot fetch the formula's files" in caught.value.message
    assert caught.value.hint
    assert caught.value.exit_code == 5
    found = _kube("search", "nginx", "-o", "json")
    assert found.returncode == 0, found.stderr
    assert [e["name"] for e in json.loads(found.stdout)] == ["nginx"]


def test_info_compares_a_workspace_copy_with_the_commit_when_the_clone_holds_only_k3(source: Path) -> None:
    """A workspace copy outlives a re-clone (another URL of the same archive), whose sparse
    checkout holds only the formula's K3.yaml and README.md: info compares the copy with the
    commit's tree, not with that directory, and says `same` until the copy is edited."""
    from kube.archive import workspace

    archive.update(f"file://{source}")
    copy = workspace.get_formula("nginx").path
    archive.update(str(source))  # a new URL: a fresh sparse clone, the workspace kept
    assert materialize.missing(_clone(), ["nginx"]) == ["nginx"]
    assert not (_clone() / "formulas/nginx/manifests").exists()
    assert workspace.formula_info("nginx").workspace_differs is False
    assert materialize.missing(_clone(), ["nginx"]) == ["nginx"]  # and nothing was fetched for it

    (copy / "manifests/configmap.yaml").write_text("kind: ConfigMap\n")
    assert workspace.formula_info("nginx").workspace_differs is True
    (copy / "manifests/configmap.yaml").unlink()
    assert workspace.formula_info("nginx").workspace_differs is True  # a file fewer
