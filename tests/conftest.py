"""Shared fixtures: an isolated home for every test, and real git archives.

The cluster fixtures (``cluster``, ``namespace``) live in ``tests/cluster.py``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cluster import cluster, kubectl, namespace  # noqa: F401  (fixtures)
from tests.gitrepo import formula_files, make_repo

REAL_HOME = Path(os.path.expanduser("~"))
_GUARDED = [
    REAL_HOME / ".local" / "share" / "kube",
    REAL_HOME / ".kube" / "kube",
    REAL_HOME / ".config" / "kube",
]


def _snapshot() -> dict[str, float | None]:
    return {str(p): (p.stat().st_mtime if p.exists() else None) for p in _GUARDED}


@pytest.fixture(autouse=True)
def isolated_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """Every test gets its own HOME and KUBE_HOME; writing kube state into the
    real home directory fails the test."""
    before = _snapshot()
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("KUBE_HOME", str(home / "kube-home"))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.delenv("KUBE_REPO", raising=False)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Test")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "test@example.com")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Test")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "test@example.com")
    yield home
    assert _snapshot() == before, "test wrote kube state into the real home directory"


@pytest.fixture
def kube_home(isolated_home: Path) -> Path:
    return isolated_home / "kube-home"


@pytest.fixture
def remote_archive(tmp_path: Path) -> Path:
    """A real git repository with two small formulas, usable as ``--repo``."""
    files: dict[str, str] = {}
    files.update(formula_files("nginx", "1.10.0", keywords=["web", "proxy"]))
    files.update(
        formula_files(
            "ponycorn",
            "1.0.3",
            dependencies=[{"name": "nginx", "version": "1.9 < x <= 1.10"}],
            details="Needs an nginx server.",
        )
    )
    return make_repo(tmp_path / "remote", files)
