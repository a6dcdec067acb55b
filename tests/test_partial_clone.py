"""The archive as a partial clone with a sparse checkout (issue 16), against real repositories.

A source serves a partial clone only with ``uploadpack.allowFilter``; without it git sends
everything and kube keeps a full checkout.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kube.archive import index
from kube.archive import update as archive
from tests.gitrepo import commit, formula_files, git, make_repo

NOTE = "the server does not support partial clone; made a full clone"


def _files() -> dict[str, str | bytes | None]:
    files: dict[str, str | bytes | None] = {"README.md": "The archive\n", "formulas/README.md": "list\n"}
    files.update(formula_files("nginx", "1.10.0", keywords=["web"]))
    files.update(formula_files("redis", "7.0.0", manifests={"a.yaml": "kind: A\n", "b.json": "{}\n"}))
    files["formulas/redis/README.md"] = "# redis\n"
    files["formulas/nomanifest/manifests/x.yaml"] = "kind: X\n"  # no K3.yaml: invalid
    files.update(formula_files("Bad-Name"))
    return files


@pytest.fixture
def source(tmp_path: Path) -> Path:
    repo = make_repo(tmp_path / "src", _files())
    os.symlink("/etc", repo / "formulas" / "evil")
    commit(repo, formula_files("leaky"), "leaky")
    os.symlink("/etc/passwd", repo / "formulas/leaky/manifests/passwd.yaml")
    (repo / "formulas/leaky/manifests/\udcff.yaml").write_text("kind: Y\n")
    commit(repo, {}, "odd files")
    git(repo, "config", "uploadpack.allowFilter", "true")
    return repo


def _clone() -> Path:
    return Path(os.environ["KUBE_HOME"]) / "archive"


def _entries() -> dict[str, object]:
    loaded = index.load_index()
    return {n: json.loads(line) for n in loaded.names() if (line := loaded.line(n)) is not None}


def _missing(clone: Path) -> list[str]:
    out = git(clone, "rev-list", "--objects", "--no-object-names", "--missing=print", "--all")
    return [line[1:] for line in out.splitlines() if line.startswith("?")]


def run_kube(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kube", *args],
        capture_output=True,
        text=True,
        timeout=180,
        env=dict(os.environ),
    )


def test_first_update_is_partial_and_sparse(source: Path) -> None:
    report = archive.update(f"file://{source}")
    clone = _clone()
    assert NOTE not in report.notes
    assert git(clone, "config", "core.sparseCheckout").strip() == "true"
    blob = git(clone, "rev-parse", "HEAD:formulas/nginx/manifests/configmap.yaml").strip()
    assert blob in _missing(clone)
    assert not (clone / "formulas/nginx/manifests").exists()
    assert (clone / "formulas/nginx/K3.yaml").is_file()
    assert (clone / "formulas/redis/README.md").is_file()
    assert (clone / "README.md").is_file()
    assert git(clone, "status", "--porcelain", "--untracked-files=all") == ""
    found = run_kube("search", "nginx")
    assert found.returncode == 0 and "nginx" in found.stdout, found.stderr
    shown = run_kube("info", "redis")
    assert shown.returncode == 0 and "7.0.0" in shown.stdout, shown.stderr


def test_sparse_and_full_clones_give_the_same_index(source: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    git(source, "config", "--unset", "uploadpack.allowFilter")
    home = Path(os.environ["KUBE_HOME"])
    monkeypatch.setenv("KUBE_HOME", str(home.parent / "full-home"))
    full_report = archive.update(str(source))
    assert NOTE in full_report.notes
    assert not (_clone() / ".git/info/sparse-checkout").exists()
    assert (_clone() / "formulas/nginx/manifests/configmap.yaml").is_file()
    assert _missing(_clone()) == []
    full = _entries()
    full_warnings = sorted((w.path, w.message) for w in full_report.warnings)
    git(source, "config", "uploadpack.allowFilter", "true")
    monkeypatch.setenv("KUBE_HOME", str(home.parent / "sparse-home"))
    sparse_report = archive.update(str(source))
    assert NOTE not in sparse_report.notes and _missing(_clone())
    assert _entries() == full
    assert sorted((w.path, w.message) for w in sparse_report.warnings) == full_warnings
    assert {"formulas/evil", "formulas/leaky", "formulas/nomanifest"} <= {p for p, _ in full_warnings}
    assert full["redis"]["provides"] == ["manifests/a.yaml", "manifests/b.json"]  # type: ignore[index]


def test_update_after_a_change_in_a_sparse_clone(source: Path) -> None:
    archive.update(f"file://{source}")
    patterns = (_clone() / ".git/info/sparse-checkout").read_text()
    commit(source, formula_files("nginx", "1.11.0", keywords=["web"]), "nginx 1.11")
    commit(source, formula_files("mysql", "8.0.0"), "mysql")
    commit(source, {"formulas/redis": None}, "no redis")
    report = archive.update()
    assert NOTE not in report.notes
    assert [(n, o, v) for n, o, v in report.updated] == [("nginx", "1.10.0", "1.11.0")]
    assert [n for n, _ in report.new] == ["mysql"]
    assert list(report.deleted) == ["redis"]
    clone = _clone()
    assert (clone / "formulas/mysql/K3.yaml").is_file() and not (clone / "formulas/mysql/manifests").exists()
    assert not (clone / "formulas/redis").exists()
    assert (clone / ".git/info/sparse-checkout").read_text() == patterns
    assert git(clone, "rev-parse", "HEAD") == git(source, "rev-parse", "HEAD")
    loaded = index.load_index()
    entry = loaded.get("mysql")
    assert entry is not None and entry.valid


def test_incremental_update_reads_the_touched_formulas_of_the_tree_as_a_clone_would(
    source: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An update lists only the touched formulas' part of HEAD's tree: their entries (files,
    provides) and warnings must still be what a fresh clone of the same commit gives."""
    archive.update(f"file://{source}")
    changes: dict[str, str | bytes | None] = {"formulas/nginx/manifests/extra.yaml": "kind: Extra\n"}
    changes.update(formula_files("Bad-Two"))
    commit(source, changes, "nginx gains a manifest, a bad name")
    os.symlink("/etc", source / "formulas" / "evil2")
    commit(source, {"formulas/leaky": None}, "a symlinked formula, no leaky")
    report = archive.update()
    incremental = _entries()
    assert report.rebuilt == "incremental"
    assert "manifests/extra.yaml" in incremental["nginx"]["provides"]  # type: ignore[index]
    warned = {w.path for w in report.warnings}
    assert {"formulas/evil2", "formulas/Bad-Two"} <= warned
    monkeypatch.setenv("KUBE_HOME", str(Path(os.environ["KUBE_HOME"]).parent / "fresh-home"))
    archive.update(f"file://{source}")
    assert incremental == _entries()


def test_fallback_note_once_and_full_checkout(source: Path) -> None:
    git(source, "config", "--unset", "uploadpack.allowFilter")
    first = run_kube("update", "--repo", f"file://{source}")
    assert first.returncode == 0, first.stderr
    assert (first.stdout + first.stderr).lower().count(NOTE) == 1
    assert (_clone() / "formulas/nginx/manifests/configmap.yaml").is_file()
    assert git(_clone(), "config", "--default", "false", "core.sparseCheckout").strip() == "false"
    commit(source, formula_files("mysql", "8.0.0"), "mysql")
    again = run_kube("update")
    assert again.returncode == 0, again.stderr
    assert NOTE not in (again.stdout + again.stderr).lower()
    assert (_clone() / "formulas/mysql/manifests/configmap.yaml").is_file()
