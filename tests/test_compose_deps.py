"""Dependencies composed the KPM way, on the real local control plane: satisfied in the target
namespace, dependency values (rocketchat decides mongodb's database), ``kube info`` ✔ / ✘."""

from __future__ import annotations

import base64
import json
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from kube.cli.app import app
from kube.formula.load import load_formula
from tests.gitrepo import formula_files, make_repo

pytestmark = pytest.mark.cluster
KubectlFixture = Callable[..., Any]
FORMULAS = Path(__file__).resolve().parent.parent / "formulas"


def kube(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


@pytest.fixture
def other_namespace(namespace: str, kubectl: KubectlFixture) -> Iterator[str]:
    """A second namespace of this test's own, deleted after it."""
    name = f"{namespace[:50]}-b"
    kubectl("create", "namespace", name)
    yield name
    kubectl("delete", "namespace", name, "--wait=false", "--ignore-not-found", check=False, timeout=30)


def _secret(kubectl: KubectlFixture, name: str, namespace: str, key: str) -> str:
    data = json.loads(kubectl("get", "secret", name, "-n", namespace, "-o", "json").stdout)["data"]
    return base64.b64decode(data[key]).decode()


def _catalogue_archive(tmp_path: Path, *names: str) -> None:
    files: dict[str, str | bytes | None] = {}
    for name in names:
        for path in (FORMULAS / name).rglob("*"):
            if path.is_file():
                files[f"formulas/{name}/{path.relative_to(FORMULAS / name).as_posix()}"] = path.read_bytes()
    assert kube("update", "--repo", str(make_repo(tmp_path / "remote", files))).exit_code == 0


def test_rocketchat_with_deps_gives_mongodb_its_database_and_the_user_wins(
    namespace: str, other_namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    _catalogue_archive(tmp_path, "rocketchat", "mongodb")
    result = kube("install", "rocketchat", "-n", namespace, "--with-deps", "--set", "replicas=2")
    assert result.exit_code == 0, result.output
    mongodb = load_formula(FORMULAS / "mongodb").version
    assert f"Installing dependency mongodb {mongodb} in namespace {namespace}" in result.stderr
    assert _secret(kubectl, "mongodb", namespace, "database") == "rocketchat"  # rocketchat's K3.yaml
    assert _secret(kubectl, "mongodb", namespace, "username") == "rocketchat"
    # rocketchat's own --set does not reach mongodb; mongodb.* does, over rocketchat's values.
    result = kube(
        "install", "rocketchat", "-n", other_namespace, "--with-deps", "--set", "mongodb.database=chat"
    )
    assert result.exit_code == 0, result.output
    assert _secret(kubectl, "mongodb", other_namespace, "database") == "chat"
    assert _secret(kubectl, "mongodb", other_namespace, "username") == "rocketchat"
    listed = json.loads(kube("list", "-n", namespace, "-o", "json").stdout)
    assert {r["name"] for r in listed} == {"mongodb", "rocketchat"}

    shown = kube("info", "rocketchat", "-n", namespace)
    assert shown.exit_code == 0, shown.output
    wanted = load_formula(FORMULAS / "rocketchat").dependencies[0].range
    assert f"  ✔ mongodb ({wanted}): release mongodb in {namespace}, {mongodb}" in shown.stdout
    data = json.loads(kube("info", "rocketchat", "-n", namespace, "-o", "json").stdout)
    [dep] = data["dependency_status"]["dependencies"]
    assert dep["satisfied"] and dep["by"] == {
        "release": "mongodb",
        "namespace": namespace,
        "version": str(mongodb),
    }


def test_a_dependency_elsewhere_does_not_count_and_with_deps_installs_it_here(
    namespace: str, other_namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    nginx = f"nginx-{uuid.uuid4().hex[:6]}"
    files: dict[str, str | bytes | None] = {}
    files.update(formula_files(nginx, "1.10.0"))
    files.update(
        formula_files("ponycorn", "1.0.3", dependencies=[{"name": nginx, "version": "1.9 < x <= 1.10"}])
    )
    assert kube("update", "--repo", str(make_repo(tmp_path / "remote", files))).exit_code == 0
    assert kube("install", nginx, "-n", other_namespace).exit_code == 0

    shown = kube("info", "ponycorn", "-n", namespace)
    assert (
        f"  ✘ {nginx} (1.9 < x <= 1.10): none in namespace {namespace} (1.10.0 in {other_namespace})"
        in shown.stdout
    )
    refused = kube("install", "ponycorn", "-n", namespace)
    assert refused.exit_code == 6, refused.output
    assert f"none in namespace {namespace}; 1.10.0 in {other_namespace}" in refused.stderr

    result = kube("install", "ponycorn", "-n", namespace, "--with-deps")
    assert result.exit_code == 0, result.output
    assert f"Installing dependency {nginx} 1.10.0 in namespace {namespace}" in result.stderr
    kubectl("get", "configmap", f"{nginx}-config", "-n", namespace)  # the dependency is here now
    shown = kube("info", "ponycorn", "-n", namespace)
    assert f"  ✔ {nginx} (1.9 < x <= 1.10): release {nginx} in {namespace}, 1.10.0" in shown.stdout


def test_dependency_namespace_and_cluster_scope(
    namespace: str, other_namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    db, operator = f"db-{uuid.uuid4().hex[:6]}", f"op-{uuid.uuid4().hex[:6]}"
    files: dict[str, str | bytes | None] = {}
    files.update(formula_files(db, "1.0.0"))
    files.update(formula_files(operator, "2.0.0"))
    needs = [
        {"name": db, "version": "^1", "namespace": other_namespace},
        {"name": operator, "version": "^2", "scope": "cluster"},
    ]
    files.update(formula_files("app", "1.0.0", dependencies=needs))
    assert kube("update", "--repo", str(make_repo(tmp_path / "remote", files))).exit_code == 0
    assert kube("install", operator, "-n", other_namespace).exit_code == 0  # cluster-wide: anywhere counts

    result = kube("install", "app", "-n", namespace, "--with-deps")
    assert result.exit_code == 0, result.output
    assert f"Installing dependency {db} 1.0.0 in namespace {other_namespace}" in result.stderr
    assert operator not in result.stderr
    kubectl("get", "configmap", f"{db}-config", "-n", other_namespace)
    assert kubectl("get", "configmap", f"{db}-config", "-n", namespace, check=False).returncode != 0


def test_info_without_a_reachable_cluster_cannot_know(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = formula_files("needy", "1.0.0", dependencies=[{"name": "base", "version": "^1"}])
    assert kube("update", "--repo", str(make_repo(tmp_path / "remote", files))).exit_code == 0
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-such-kubeconfig"))
    shown = kube("info", "needy", "--installed")
    assert shown.exit_code == 0, shown.output
    assert "  ? base (^1): cannot know, no cluster answered" in shown.stdout
    assert json.loads(kube("info", "needy", "--installed", "-o", "json").stdout)["dependency_status"] is None


def test_rocketchat_formula_passes_strict_lint() -> None:
    assert shutil.which("kubectl") is not None or True
    result = kube("lint", "--strict", str(FORMULAS / "rocketchat"), str(FORMULAS / "mongodb"))
    assert result.exit_code == 0, result.output
