"""kube template: the objects kube install --dry-run prints, rendered with no cluster at all.

Run as processes, the way a CI job renders for a GitOps repository: a kubectl that records
every call stands in the PATH and KUBE_KUBECTL, so a test fails if anything asks a cluster."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from kube.k8s.capabilities import DEFAULT_KUBE_VERSION

REPO = Path(__file__).resolve().parents[1]
FORMULAS = REPO / "formulas"

K3 = """name: {name}
version: 1.2.0
description: settings for a test
home: https://example.org/{name}
maintainers:
  - Test Example <test@example.org>
"""


def _formula(root: Path, name: str = "settings", k3_extra: str = "") -> Path:
    directory = root / name
    (directory / "manifests").mkdir(parents=True)
    (directory / "K3.yaml").write_text(
        K3.format(name=name) + "values:\n  greeting: hello\n  replicas: 1\n" + k3_extra
    )
    (directory / "manifests" / "settings.yaml.tmpl").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ kube.release }}-settings\n"
        "data:\n  greeting: {{ greeting | quote }}\n"
        "  minor: {{ kube.capabilities.kube_version.minor | quote }}\n"
        "  pdb: {{ kube.capabilities.api_versions.has('policy/v1') | string | quote }}\n"
    )
    (directory / "manifests" / "secret.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: token\nstringData:\n  token: s3cret\n"
    )
    return directory


@pytest.fixture
def trap(tmp_path: Path) -> Path:
    """A kubectl that writes down that it ran, then fails."""
    bin_dir = tmp_path / "trap-bin"
    bin_dir.mkdir()
    kubectl = bin_dir / "kubectl"
    kubectl.write_text(f'#!/bin/sh\necho "$@" >> {tmp_path / "kubectl-called"}\nexit 1\n')
    kubectl.chmod(0o755)
    return tmp_path / "kubectl-called"


def _kube(tmp_path: Path, *args: str, fast: bool = True) -> subprocess.CompletedProcess[str]:
    bin_dir = tmp_path / "trap-bin"
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "KUBE_HOME": str(tmp_path / "kube-home"),
        "HOME": str(tmp_path),
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "KUBE_KUBECTL": str(bin_dir / "kubectl"),
        # A kubeconfig whose context names another namespace: template must not read it.
        "KUBECONFIG": str(tmp_path / "kubeconfig"),
    }
    env.pop("KUBE_NO_FAST_PATH", None)
    if not fast:
        env["KUBE_NO_FAST_PATH"] = "1"
    (tmp_path / "kubeconfig").write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\ncontexts:\n"
        "- name: c\n  context: {cluster: k, user: u, namespace: elsewhere}\n"
        "clusters:\n- name: k\n  cluster: {server: 'https://192.0.2.1:6443'}\nusers:\n- name: u\n  user: {}\n"
    )
    return subprocess.run(
        [sys.executable, "-m", "kube", *args], env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("fast", [True, False], ids=["fast-path", "full-cli"])
def test_template_renders_without_any_cluster_what_a_dry_run_would_send(
    tmp_path: Path, trap: Path, fast: bool
) -> None:
    formula = _formula(tmp_path)
    done = _kube(tmp_path, "template", str(formula), "--name", "web", fast=fast)
    assert done.returncode == 0, done.stderr
    assert not trap.exists(), trap.read_text()
    assert done.stderr == ""  # stdout is the YAML alone: it can be written straight to a file
    docs = list(yaml.safe_load_all(done.stdout))
    assert [(d["kind"], d["metadata"]["name"], d["metadata"]["namespace"]) for d in docs] == [
        ("Secret", "token", "default"),
        ("ConfigMap", "web-settings", "default"),
    ]
    settings = docs[1]
    assert settings["data"]["greeting"] == "hello"
    # The offline defaults, as a dry run that cannot reach the cluster uses them.
    assert (
        settings["data"]["minor"] == DEFAULT_KUBE_VERSION.split(".")[1] and settings["data"]["pdb"] == "True"
    )
    assert settings["metadata"]["labels"]["kube.sh/release"] == "web"
    assert docs[0]["stringData"]["token"] != "s3cret"  # masked, as a dry run masks it
    # The same objects as the dry run, which also asks the cluster (and here cannot reach it).
    dry = _kube(tmp_path, "install", str(formula), "--name", "web", "-n", "default", "--dry-run", fast=fast)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout == done.stdout
    assert "existing releases not checked" in dry.stderr and trap.exists()


def test_template_takes_the_values_patches_and_version_an_install_takes(tmp_path: Path, trap: Path) -> None:
    formula = _formula(tmp_path)
    (tmp_path / "more.yaml").write_text("greeting: from-file\n")
    (tmp_path / "patch.yaml").write_text(
        "- target: {kind: ConfigMap, name: settings-settings}\n"
        "  merge:\n    metadata:\n      annotations: {patched: 'yes'}\n"
    )
    done = _kube(
        tmp_path, "template", str(formula), "-n", "shop", "-f", str(tmp_path / "more.yaml"),
        "--set-string", "replicas=3", "--patch", str(tmp_path / "patch.yaml"), "--kube-version", "1.20",
        "--show-secrets", "-o", "json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert not trap.exists()
    listing = json.loads(done.stdout)
    assert listing["apiVersion"] == "v1" and listing["kind"] == "List"
    secret, settings = listing["items"]
    assert secret["stringData"]["token"] == "s3cret"
    assert settings["metadata"]["namespace"] == "shop"
    assert settings["metadata"]["annotations"]["patched"] == "yes"
    assert settings["data"] == {"greeting": "from-file", "minor": "20", "pdb": "False"}


def test_template_says_it_did_not_check_dependencies(tmp_path: Path, trap: Path) -> None:
    formula = _formula(tmp_path, k3_extra="dependencies:\n  - name: postgres\n    version: '>=1.0'\n")
    done = _kube(tmp_path, "template", str(formula))
    assert done.returncode == 0, done.stderr
    assert "dependencies not checked: kube template does not read the cluster" in done.stderr
    assert not trap.exists()


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["template", "no-such-kube-anywhere"], 3, "no kube named 'no-such-kube-anywhere'"),
        (["template", "{formula}", "-n", "Bad_NS"], 2, "Bad_NS"),
        (["template", "{formula}", "--name", "bad\x1b[31m"], 2, "invalid release name 'bad\\x1b[31m'"),
        (["template", "{formula}", "-o", "github"], 2, "-o github: choose one of"),
        (["template", "{formula}", "--set", "greeting"], 2, "greeting"),
    ],
)
@pytest.mark.parametrize("fast", [True, False], ids=["fast-path", "full-cli"])
def test_bad_input_is_one_line_and_its_exit_code(
    tmp_path: Path, trap: Path, args: list[str], code: int, message: str, fast: bool
) -> None:
    formula = _formula(tmp_path)
    done = _kube(tmp_path, *(a.format(formula=formula) for a in args), fast=fast)
    assert done.returncode == code, done.stderr
    assert message in done.stderr
    assert done.stdout == "" and "Traceback" not in done.stderr
    assert not trap.exists()


def test_every_catalogue_formula_renders_offline_as_its_dry_run(tmp_path: Path, trap: Path) -> None:
    # The bundled formulas are the default archive: template finds them by name, offline.
    for name in ("nginx", "redis", "etcd-standalone"):
        done = _kube(tmp_path, "template", name, "--no-hooks")
        assert done.returncode == 0, (name, done.stderr)
        kinds = [d["kind"] for d in yaml.safe_load_all(done.stdout)]
        assert kinds, name
    assert not trap.exists()
