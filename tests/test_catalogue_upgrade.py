"""Catalogue kubes whose hook generates secrets keep them across `kube upgrade` with an image bump.

Each kube of formulas/ listed below is installed on the real local control plane, then upgraded
to the next image tag, once keeping the values and once from the defaults (--reset-values): the
Secret the hook filled must stay byte for byte the same (through KUBE_PREVIOUS_VALUES), and the
workload must run the new tag. The node is simulated, so nothing is pulled; what is checked is
what kube sends to the API server. Kubes with dependencies are left to `kube test`, which
installs those.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from kube.cli.app import app

ROOT = Path(__file__).resolve().parent.parent
KubectlFixture = Callable[..., Any]

# kube -> (kind of its workload, the next image tag)
BUMPS = {
    "clickhouse": ("statefulset", "24.3.6.48"),
    "couchdb": ("statefulset", "3.4.2"),
    "influxdb": ("statefulset", "2.7.7-alpine"),
    "kafka": ("statefulset", "3.7.2"),
    "mariadb": ("statefulset", "11.4.3"),
    "minio": ("statefulset", "RELEASE.2024-07-16T23-46-41Z"),
    "nats": ("statefulset", "2.10.18-alpine"),
    "rabbitmq": ("statefulset", "3.13.6-management-alpine"),
    "registry": ("statefulset", "3.0.0"),
    "valkey": ("statefulset", "7.2.6-alpine"),
}


def kube(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "400")
    monkeypatch.setenv("KUBE_INTERACTIVE", "0")


# Generated values that are not secret live in the workload's environment instead of a Secret.
IN_ENV = {"kafka": "CLUSTER_ID"}


def generated(kubectl: KubectlFixture, namespace: str, name: str) -> dict[str, str]:
    """What the hook generated: the Secret named after the kube, or the variable of IN_ENV."""
    if name in IN_ENV:
        out = kubectl("get", BUMPS[name][0], name, "-n", namespace, "-o", "json").stdout
        env = json.loads(out)["spec"]["template"]["spec"]["containers"][0]["env"]
        return {e["name"]: e.get("value", "") for e in env if e["name"] == IN_ENV[name]}
    out = kubectl("get", "secret", name, "-n", namespace, "-o", "json").stdout
    data: dict[str, str] = json.loads(out)["data"]
    return data


def image(kubectl: KubectlFixture, namespace: str, kind: str, name: str) -> str:
    path = "jsonpath={.spec.template.spec.containers[0].image}"
    return str(kubectl("get", kind, name, "-n", namespace, "-o", path).stdout)


def test_every_listed_kube_has_a_hook_and_no_dependencies() -> None:
    for name in BUMPS:
        formula = ROOT / "formulas" / name
        assert (formula / "scripts" / "pre-install.py").is_file(), name
        assert "dependencies:" not in (formula / "K3.yaml").read_text(encoding="utf-8"), name


@pytest.mark.cluster
@pytest.mark.parametrize("name", sorted(BUMPS))
def test_generated_secrets_survive_an_image_upgrade(
    name: str, namespace: str, kubectl: KubectlFixture
) -> None:
    kind, tag = BUMPS[name]
    path = str(ROOT / "formulas" / name)
    installed = kube("install", path, "-n", namespace)
    assert installed.exit_code == 0, installed.output
    first = generated(kubectl, namespace, name)
    assert first and all(first.values()), f"{name}: the hook left a value empty: {sorted(first)}"

    upgraded = kube("upgrade", name, path, "-n", namespace, "--set", f"image.tag={tag}")
    assert upgraded.exit_code == 0, upgraded.output
    assert image(kubectl, namespace, kind, name).endswith(":" + tag)
    assert generated(kubectl, namespace, name) == first

    # From the defaults again: only the previous revision's hook values can give the secrets back.
    reset = kube("upgrade", name, path, "-n", namespace, "--reset-values")
    assert reset.exit_code == 0, reset.output
    assert generated(kubectl, namespace, name) == first

    gone = kube("uninstall", name, "-n", namespace)
    assert gone.exit_code == 0, gone.output
