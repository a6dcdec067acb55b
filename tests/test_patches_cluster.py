"""Patches and kube.capabilities on the real local control plane (Kubernetes 1.20).

kube runs in-process through its CLI; kubectl and the API server are real; nothing is mocked.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from kube.cli.app import app
from tests.test_install import deployment, write_formula

KubectlFixture = Callable[..., Any]
pytestmark = pytest.mark.cluster

JSON_PATCH = """\
- target: {kind: Deployment, name: web, group: apps}
  patch:
    - {op: test, path: /spec/replicas, value: 1}
    - {op: replace, path: /spec/replicas, value: 2}
    - {op: add, path: /spec/template/metadata/annotations, value: {}}
    - {op: add, path: /spec/template/metadata/annotations/example.com~1patched, value: json}
"""
MERGE_PATCH = """\
- target: {kind: Deployment, name: web}
  merge: {metadata: {labels: {tier: front}}, spec: {revisionHistoryLimit: 2}}
"""
FAILING_TEST = """\
- target: {kind: Deployment, name: web}
  patch:
    - {op: test, path: /spec/replicas, value: 5}
"""
PDB = """\
apiVersion: {{ "policy/v1" if kube.capabilities.api_versions.has("policy/v1") else "policy/v1beta1" }}
kind: PodDisruptionBudget
metadata:
  name: web
  annotations:
    served-by: "{{ kube.capabilities.kube_version.git_version }}"
    new-enough: "{{ kube.capabilities.kube_version.at_least('1.21') }}"
spec: {maxUnavailable: 1, selector: {matchLabels: {app: web}}}
"""


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "400")
    monkeypatch.setenv("KUBE_INTERACTIVE", "0")


def kube(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def web(tmp_path: Path, version: str = "1.0.0", **manifests: str) -> Path:
    files = {"deploy.json": deployment("web"), **manifests}
    return write_formula(tmp_path / version, "web", version, manifests=files)


def patch_file(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def live(kubectl: KubectlFixture, namespace: str) -> dict[str, Any]:
    return json.loads(kubectl("get", "deployment", "web", "-n", namespace, "-o", "json").stdout)


def release_secrets(kubectl: KubectlFixture, namespace: str) -> list[str]:
    out = kubectl("get", "secrets", "-n", namespace, "-l", "kube.sh/record", "-o", "name").stdout
    return out.split()


def test_a_json_patch_and_a_merge_patch_on_a_deployment_kept_by_upgrade_and_rollback(
    tmp_path: Path, namespace: str, kubectl: KubectlFixture
) -> None:
    v1, v2 = web(tmp_path, "1.0.0"), web(tmp_path, "2.0.0")
    json_patch = patch_file(tmp_path, "replicas.yaml", JSON_PATCH)
    entry = {
        "target": {"kind": "Deployment", "name": "web"},
        "merge": {"metadata": {"labels": {"tier": "front"}}, "spec": {"revisionHistoryLimit": 2}},
    }
    merge = patch_file(tmp_path, "labels.json", json.dumps([entry]))
    result = kube("install", str(v1), "-n", namespace, "--patch", str(json_patch), "--patch", str(merge))
    assert result.exit_code == 0, result.output
    obj = live(kubectl, namespace)
    assert obj["spec"]["replicas"] == 2 and obj["spec"]["revisionHistoryLimit"] == 2
    assert obj["metadata"]["labels"]["tier"] == "front"
    assert obj["metadata"]["labels"]["kube.sh/release"] == "web", "patched before kube's labels"
    assert obj["spec"]["template"]["metadata"]["annotations"] == {"example.com/patched": "json"}

    # The patch files are gone: the upgrade takes the patches from the revision.
    json_patch.unlink()
    merge.unlink()
    result = kube("upgrade", "web", str(v2), "-n", namespace)
    assert result.exit_code == 0, result.output
    obj = live(kubectl, namespace)
    assert obj["spec"]["replicas"] == 2 and obj["metadata"]["labels"]["tier"] == "front"
    assert obj["metadata"]["labels"]["kube.sh/version"] == "2.0.0"
    history = kube("history", "web", "-n", namespace)
    assert f"(patched: {tmp_path}/replicas.yaml, {tmp_path}/labels.json)" in history.stdout, history.output

    result = kube("upgrade", "web", str(v2), "-n", namespace, "--reset-patches")
    assert result.exit_code == 0, result.output
    # Only replicas can tell: a field the install created stays co-owned by kubectl create's field
    # manager, so server-side apply leaves it when a later revision drops it (README, known limit).
    assert live(kubectl, namespace)["spec"]["replicas"] == 1
    assert "(patched" not in kube("history", "web", "-n", namespace).stdout.splitlines()[-1]

    # Rollback to revision 2 brings the patched objects back, and the next upgrade keeps them.
    result = kube("rollback", "web", "2", "-n", namespace)
    assert result.exit_code == 0, result.output
    assert live(kubectl, namespace)["spec"]["replicas"] == 2
    result = kube("upgrade", "web", str(v2), "-n", namespace)
    assert result.exit_code == 0, result.output
    obj = live(kubectl, namespace)
    assert obj["spec"]["replicas"] == 2 and obj["metadata"]["labels"]["tier"] == "front"


def test_a_patch_given_again_replaces_the_recorded_one(
    tmp_path: Path, namespace: str, kubectl: KubectlFixture
) -> None:
    v1 = web(tmp_path)
    path = patch_file(tmp_path, "p.yaml", MERGE_PATCH)
    assert kube("install", str(v1), "-n", namespace, "--patch", str(path)).exit_code == 0
    path.write_text("- target: {kind: Deployment, name: web}\n  merge: {spec: {replicas: 3}}\n")
    diff = kube("diff", "web", str(v1), "-n", namespace, "--patch", str(path))
    assert diff.exit_code == 1 and "+  replicas: 3" in diff.stdout, diff.output
    assert kube("diff", "web", str(v1), "-n", namespace).exit_code == 0, "the recorded patch, unchanged"
    result = kube("upgrade", "web", str(v1), "-n", namespace, "--patch", str(path))
    assert result.exit_code == 0, result.output
    assert live(kubectl, namespace)["spec"]["replicas"] == 3
    assert kube("history", "web", "-n", namespace).stdout.splitlines()[-1].endswith(f"(patched: {path})")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "- target: {kind: Deployment, name: nope}\n  merge: {}\n",
            "p.yaml:1 [0]: target Deployment/nope matches no object",
        ),
        (
            FAILING_TEST,
            "p.yaml:3 [0].patch[0] (test /spec/replicas) on Deployment/web: test failed",
        ),
    ],
)
def test_a_patch_that_fails_creates_nothing(
    tmp_path: Path, namespace: str, kubectl: KubectlFixture, text: str, expected: str
) -> None:
    path = patch_file(tmp_path, "p.yaml", text)
    result = kube("install", str(web(tmp_path)), "-n", namespace, "--patch", str(path))
    assert result.exit_code == 4, result.output
    assert expected in " ".join(result.output.split())
    assert kubectl("get", "deployments", "-n", namespace, "-o", "name").stdout.strip() == ""
    assert release_secrets(kubectl, namespace) == []


def test_dry_run_shows_the_patched_objects(tmp_path: Path, namespace: str) -> None:
    path = patch_file(tmp_path, "p.yaml", JSON_PATCH)
    result = kube(
        "install", str(web(tmp_path)), "-n", namespace, "--dry-run", "--patch", str(path), "-o", "json"
    )
    assert result.exit_code == 0, result.output
    [obj] = [o for o in json.loads(result.stdout)["items"] if o["kind"] == "Deployment"]
    assert obj["spec"]["replicas"] == 2


def test_capabilities_come_from_the_cluster_and_kube_version_sets_them_offline(
    tmp_path: Path, namespace: str, kubectl: KubectlFixture
) -> None:
    from kube.k8s import capabilities
    from kube.k8s.kubectl import Kubectl

    found = capabilities.read(Kubectl())
    assert found.kube_version.minor == "20" and found.source == "cluster"
    assert found.api_versions.has("policy/v1beta1") and not found.api_versions.has("policy/v1")
    # Other tests add and remove CRDs on the shared cluster: compare the built-in groups only.
    served = set(kubectl("api-versions").stdout.split()) & set(capabilities.SERVED)
    assert set(found.api_versions) & set(capabilities.SERVED) == served
    assert set(capabilities.offline("1.20").api_versions) == served, "the offline table matches 1.20"

    directory = web(tmp_path, **{"pdb.yaml.tmpl": PDB})
    result = kube("install", str(directory), "-n", namespace)
    assert result.exit_code == 0, result.output
    pdb = json.loads(kubectl("get", "pdb", "web", "-n", namespace, "-o", "json").stdout)
    assert pdb["apiVersion"] == "policy/v1beta1"
    assert pdb["metadata"]["annotations"]["served-by"] == found.kube_version.git_version
    assert pdb["metadata"]["annotations"]["new-enough"] == "false"

    result = kube(
        "install", str(directory), "-n", namespace + "-x", "--dry-run", "--kube-version", "1.25", "-o", "json"
    )
    assert result.exit_code == 0, result.output
    [offline] = [o for o in json.loads(result.stdout)["items"] if o["kind"] == "PodDisruptionBudget"]
    assert offline["apiVersion"] == "policy/v1"
    annotations = offline["metadata"]["annotations"]
    assert (annotations["served-by"], annotations["new-enough"]) == ("v1.25.0", "true")
    refused = kube("install", str(directory), "-n", namespace, "--kube-version", "1.25")
    assert refused.exit_code == 2 and "--kube-version is for dry runs" in refused.output


def test_a_dependent_formula_patches_the_dependency_it_installs_with_deps(
    tmp_path: Path, namespace: str, kubectl: KubectlFixture
) -> None:
    from tests.gitrepo import formula_files, make_repo

    db = f"db-{namespace[-6:]}"
    files = {
        **formula_files(db, "1.0.0"),
        **formula_files("app", "1.0.0", dependencies=[{"name": db, "patches": ["patches/db.yaml"]}]),
        "formulas/app/patches/db.yaml": (
            f"- target: {{kind: ConfigMap, name: {db}-config}}\n  merge: {{data: {{database: app}}}}\n"
        ),
    }
    assert kube("update", "--repo", str(make_repo(tmp_path / "remote", files))).exit_code == 0
    # The user's --patch is for app alone: it would match nothing in the dependency.
    mine = patch_file(
        tmp_path, "mine.yaml", "- target: {kind: ConfigMap, name: app-config}\n  merge: {data: {x: y}}\n"
    )
    result = kube("install", "app", "-n", namespace, "--with-deps", "--patch", str(mine))
    assert result.exit_code == 0, result.output

    def data(name: str) -> dict[str, str]:
        out = kubectl("get", "configmap", f"{name}-config", "-n", namespace, "-o", "jsonpath={.data}").stdout
        return dict(json.loads(out))

    assert data(db) == {"version": "1.0.0", "database": "app"}
    assert data("app") == {"version": "1.0.0", "x": "y"}
    history = kube("history", db, "-n", namespace, "-o", "json")
    assert json.loads(history.stdout)[-1]["patches"] == ["app/patches/db.yaml"]
    # Upgrading the dependency on its own keeps what its dependent declared.
    result = kube("upgrade", db, "-n", namespace)
    assert result.exit_code == 0, result.output
    assert data(db)["database"] == "app"
