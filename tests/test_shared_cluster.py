"""Cluster-scoped objects shared by the releases of one formula in several namespaces
(``kube.install.shared``), on the real local control plane. Every CRD and ClusterRole name is
unique to the test (a random group), so parallel runs never meet."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from kube.cli.app import app
from kube.install.shared import SHARED_BY
from tests.test_install import logging_kubectl, write_formula

pytestmark = pytest.mark.cluster
KubectlFixture = Callable[..., Any]


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables fold long cells at the terminal's width; the test namespaces' names are long."""
    monkeypatch.setenv("COLUMNS", "300")


def kube(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def _crd(group: str) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"widgets.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                    },
                }
            ],
        },
    }


def _role(group: str) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": f"widget-reader-{group.split('.')[0]}"},
        "rules": [{"apiGroups": [group], "resources": ["widgets"], "verbs": ["get", "list"]}],
    }


@pytest.fixture
def group(kubectl: KubectlFixture) -> Iterator[str]:
    name = f"t{uuid.uuid4().hex[:8]}.example.com"
    yield name
    for obj in (
        f"customresourcedefinition/widgets.{name}",
        f"clusterrole/widget-reader-{name.split('.')[0]}",
    ):
        kubectl("delete", obj, "--ignore-not-found", "--wait=false", check=False)


@pytest.fixture
def second(namespace: str, kubectl: KubectlFixture) -> Iterator[str]:
    name = f"{namespace[:50]}-b"
    kubectl("create", "namespace", name)
    yield name
    kubectl("delete", "namespace", name, "--wait=false", "--ignore-not-found", check=False, timeout=30)


def _operator(tmp_path: Path, group: str) -> Path:
    manifests = {"crd.yaml": json.dumps(_crd(group)), "role.yaml": json.dumps(_role(group))}
    return write_formula(tmp_path, "widgets", manifests=manifests)


def _users(kubectl: KubectlFixture, what: str) -> list[str]:
    done = kubectl("get", what, "-o", "json", check=False)
    if done.returncode != 0:
        return ["<gone>"]
    text = (json.loads(done.stdout)["metadata"].get("annotations") or {}).get(SHARED_BY, "")
    return sorted(u for u in text.split(",") if u)


def _exists(kubectl: KubectlFixture, what: str) -> bool:
    done = kubectl("get", what, "-o", "json", check=False)
    return done.returncode == 0 and not json.loads(done.stdout)["metadata"].get("deletionTimestamp")


@pytest.mark.parametrize("first_out", ["first", "second"])
def test_a_crd_formula_in_two_namespaces_shares_it_until_the_last_uninstall(
    first_out: str, namespace: str, second: str, group: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    formula = str(_operator(tmp_path, group))
    crd, role = f"crd/widgets.{group}", f"clusterrole/widget-reader-{group.split('.')[0]}"
    one = kube("install", formula, "-n", namespace, "--force")
    assert one.exit_code == 0, one.output
    two = kube("install", formula, "-n", second, "--force")
    assert two.exit_code == 0, two.output
    assert f"shared with {namespace}/widgets" in two.stdout
    assert (
        _users(kubectl, crd) == sorted([f"{namespace}/widgets", f"{second}/widgets"]) == _users(kubectl, role)
    )

    gone_first, gone_last = (namespace, second) if first_out == "first" else (second, namespace)
    out = kube("uninstall", "widgets", "-n", gone_first)
    assert out.exit_code == 0, out.output
    assert f"still used by {gone_last}/widgets" in out.stdout
    assert _exists(kubectl, crd) and _exists(kubectl, role)
    assert _users(kubectl, crd) == [f"{gone_last}/widgets"]

    out = kube("uninstall", "widgets", "-n", gone_last)
    assert out.exit_code == 0, out.output
    assert not _exists(kubectl, crd) and not _exists(kubectl, role)


def test_a_crd_with_custom_resources_left_is_not_deleted(
    namespace: str, group: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    formula = str(_operator(tmp_path, group))
    assert kube("install", formula, "-n", namespace, "--force").exit_code == 0
    widget = {
        "apiVersion": f"{group}/v1",
        "kind": "Widget",
        "metadata": {"name": "mine", "namespace": namespace},
    }
    kubectl("create", "-f", "-", input=json.dumps(widget))
    out = kube("uninstall", "widgets", "-n", namespace)
    assert out.exit_code != 0
    assert f"1 custom resource of it remain ({namespace}/mine)" in out.output
    assert _exists(kubectl, f"crd/widgets.{group}")
    kubectl("delete", f"widgets.{group}", "mine", "-n", namespace)
    out = kube("uninstall", "widgets", "-n", namespace)
    assert out.exit_code == 0, out.output
    assert not _exists(kubectl, f"crd/widgets.{group}")


def test_a_cluster_object_kube_did_not_create_is_not_adopted(
    namespace: str, group: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    kubectl("create", "-f", "-", input=json.dumps(_role(group)))
    checked = kube(
        "install", str(_operator(tmp_path, group)), "-n", namespace, "--server-dry-run", "-o", "json"
    )
    assert checked.exit_code == 8
    details = {o["kind"]: o["detail"] for o in json.loads(checked.stdout)["objects"]}
    assert "was not created by kube, which does not adopt it" in details["ClusterRole"]
    out = kube("install", str(_operator(tmp_path, group)), "-n", namespace, "--force")
    assert out.exit_code == 8, out.output
    assert "was not created by kube, which does not adopt it" in out.output
    assert _users(kubectl, f"clusterrole/widget-reader-{group.split('.')[0]}") == []


def test_an_upgrade_that_drops_a_shared_crd_leaves_it_to_the_other_release(
    namespace: str, second: str, group: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    formula = str(_operator(tmp_path, group))
    crd = f"crd/widgets.{group}"
    assert kube("install", formula, "-n", namespace, "--force").exit_code == 0
    checked = kube("install", formula, "-n", second, "--server-dry-run", "-o", "json")
    assert checked.exit_code == 0, checked.output
    details = {o["kind"]: o["detail"] for o in json.loads(checked.stdout)["objects"]}
    assert details["CustomResourceDefinition"] == f"shared: would join {namespace}/widgets"
    assert kube("install", formula, "-n", second, "--force").exit_code == 0
    # Version 2 of the formula no longer ships the CRD and the ClusterRole.
    newer = str(write_formula(tmp_path / "v2", "widgets", "2.0.0"))
    out = kube("upgrade", "widgets", newer, "-n", namespace)
    assert out.exit_code == 0, out.output
    assert f"still used by {second}/widgets" in out.output
    assert _exists(kubectl, crd) and _users(kubectl, crd) == [f"{second}/widgets"]
    # The other release upgrades too: it is the last user, so the prune deletes the CRD.
    out = kube("upgrade", "widgets", newer, "-n", second)
    assert out.exit_code == 0, out.output
    assert not _exists(kubectl, crd)


def test_the_custom_resources_of_several_crds_are_read_in_one_call(
    namespace: str, group: str, kubectl: KubectlFixture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gadgets = json.loads(json.dumps(_crd(group)).replace("widget", "gadget").replace("Widget", "Gadget"))
    manifests = {"crd.yaml": json.dumps(_crd(group)), "gadgets.yaml": json.dumps(gadgets)}
    formula = str(write_formula(tmp_path, "widgets", manifests=manifests))
    assert kube("install", formula, "-n", namespace, "--force").exit_code == 0
    kubectl("create", "-f", "-", input=json.dumps(
        {"apiVersion": f"{group}/v1", "kind": "Gadget", "metadata": {"name": "mine", "namespace": namespace}}
    ))  # fmt: skip
    wrapper, log = logging_kubectl(tmp_path)  # the real kubectl, each call's arguments logged
    monkeypatch.setenv("KUBE_KUBECTL", str(wrapper))
    out = kube("uninstall", "widgets", "-n", namespace)
    assert out.exit_code != 0
    remain = f"1 custom resource of it remain ({namespace}/mine)"
    assert f"CustomResourceDefinition/gadgets.{group}: not deleted: {remain}" in out.output
    assert not _exists(kubectl, f"crd/widgets.{group}")  # nothing of it remained: deleted
    reads = [line for line in log.read_text().splitlines() if f".{group}" in line and line.startswith("get ")]
    assert len(reads) == 1 and f"widgets.{group}" in reads[0] and f"gadgets.{group}" in reads[0], reads
    kubectl("delete", f"gadgets.{group}", "mine", "-n", namespace)
    kubectl(
        "delete",
        f"customresourcedefinition/gadgets.{group}",
        "--ignore-not-found",
        "--wait=false",
        check=False,
    )
