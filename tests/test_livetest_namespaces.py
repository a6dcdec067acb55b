"""kube test --allow-namespace: a formula that must put an object in another namespace is tested
with the same consent kube install asks for, on the real local control plane."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from kube.cli.app import app
from tests.gitrepo import k3, write_tree

pytestmark = pytest.mark.cluster


def formula(tmp_path: Path, other: str) -> Path:
    root = tmp_path / "formulas" / "kt-other-ns"
    write_tree(
        root,
        {
            "K3.yaml": k3("kt-other-ns", "1.0.0"),
            "README.md": "# kt-other-ns\n",
            "manifests/mine.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: kt-mine}\n",
            "manifests/theirs.yaml": (
                f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: kt-theirs, namespace: {other}}}\n"
            ),
        },
    )
    return root


def kube_test(*args: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(app, ["test", *args, "-o", "json", "--timeout", "60s", "--allow-simulated"])
    return result.exit_code, json.loads(result.stdout)


def test_another_namespace_needs_the_same_consent_as_install(
    tmp_path: Path, namespace: str, kubectl: Any
) -> None:
    directory = formula(tmp_path, namespace)
    code, report = kube_test(str(directory))
    steps = {s["step"]: s for s in report["steps"]}
    assert code == 1
    assert steps["install"]["status"] == "failed"
    assert "--allow-namespace" in steps["install"]["detail"]
    code, report = kube_test(str(directory), "--allow-namespace", namespace)
    steps = {s["step"]: s for s in report["steps"]}
    assert code == 0, json.dumps(report, indent=2)
    assert f"also namespace {namespace}" in steps["install"]["detail"]
    assert steps["uninstall"]["status"] == "passed"
    # Uninstalled with the release: nothing is left in the other namespace.
    left = kubectl(
        "get", "configmap", "kt-theirs", "-n", namespace, "--ignore-not-found", "-o", "name"
    ).stdout
    assert left.strip() == ""
