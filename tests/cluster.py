"""Fixtures for tests against a real Kubernetes control plane (scripts/dev-cluster).

``cluster`` (session): reuses the cluster named by ``KUBECONFIG`` when it answers ``/readyz`` and is on this
machine (loopback); otherwise runs ``scripts/dev-cluster start --name pytest`` (building Kubernetes on first
use) and stops it at the end of the session. With ``CI=true`` a cluster that cannot start fails the tests;
elsewhere they are skipped with the reason.

``namespace`` (function): a fresh namespace; ``KUBECONFIG`` and ``PATH`` point at the cluster for the test, so
``kube`` and ``kubectl`` subprocesses use it. Deleted afterwards without waiting.

``kubectl`` (function): ``kubectl(*args, input=None, check=True, timeout=120) -> CompletedProcess[str]``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

import pytest

REPO = Path(__file__).resolve().parents[1]
DEV_CLUSTER = REPO / "scripts" / "dev-cluster"
DEV_CLUSTER_ENGINE = REPO / "kube" / "clusters" / "engine" / "dev-cluster"
CLUSTER_NAME = "pytest"
START_TIMEOUT = 3600  # a first start includes the build (about 7 minutes on 2 idle cores)

# Captured at import, before tests get an isolated HOME: the build cache and cluster state live under the
# real home directory, so they are shared by every test and every session.
REAL_ENV: dict[str, str] = dict(os.environ)
LOOPBACK = {"127.0.0.1", "localhost", "::1"}

Kubectl = Callable[..., "subprocess.CompletedProcess[str]"]


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def dev_cluster_env(**extra: str) -> dict[str, str]:
    """Environment for running scripts/dev-cluster: the real home (for its cache) plus ``extra``."""
    return {**REAL_ENV, **extra}


def dev_cluster(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(DEV_CLUSTER), *args],
        env=env or dev_cluster_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def run_kubectl(
    env: dict[str, str],
    *args: str,
    input: str | None = None,
    check: bool = True,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run kubectl (the cluster's own, first on ``env["PATH"]``) with ``env`` over the current environment."""
    full = {**os.environ, **env}
    exe = shutil.which("kubectl", path=full.get("PATH")) or "kubectl"
    proc = subprocess.run(
        [exe, *args], env=full, input=input, capture_output=True, text=True, timeout=timeout
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"kubectl {' '.join(args)} exited {proc.returncode}\nstdout: {proc.stdout}\nstderr: {proc.stderr}"
        )
    return proc


@dataclass(frozen=True)
class Cluster:
    name: str
    kubeconfig: Path
    env: dict[str, str]  # KUBECONFIG and PATH (the cluster's kubectl first)
    server: str
    started_here: bool

    def kubectl(
        self,
        *args: str,
        input: str | None = None,
        check: bool = True,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        return run_kubectl(self.env, *args, input=input, check=check, timeout=timeout)

    def get_json(self, *args: str) -> Any:
        return json.loads(self.kubectl("get", *args, "-o", "json").stdout)


def _cache_bin_dir() -> Path:
    override = REAL_ENV.get("KUBE_DEV_CLUSTER_CACHE")
    if override:
        root = Path(override).expanduser()
    else:
        xdg = REAL_ENV.get("XDG_CACHE_HOME", "")
        base = (
            Path(xdg)
            if xdg and os.path.isabs(xdg)
            else Path(REAL_ENV.get("HOME", "~")).expanduser() / ".cache"
        )
        root = base / "kube-dev-cluster"
    return root / "1.20.2" / "bin"


def _reuse_kubeconfig() -> Cluster | None:
    kubeconfig = REAL_ENV.get("KUBECONFIG", "")
    if not kubeconfig or os.pathsep in kubeconfig or not Path(kubeconfig).is_file():
        return None
    path = REAL_ENV.get("PATH", "")
    bins = _cache_bin_dir()
    if bins.is_dir() and str(bins) not in path.split(os.pathsep):
        path = os.pathsep.join([str(bins), path])
    env = {"KUBECONFIG": kubeconfig, "PATH": path}
    try:
        view = run_kubectl(
            env,
            "config",
            "view",
            "--minify",
            "-o",
            "jsonpath={.clusters[0].cluster.server}",
            check=False,
            timeout=20,
        )
        server = view.stdout.strip()
        # Tests create and delete namespaces and CRDs: only ever reuse a cluster on this machine.
        if view.returncode != 0 or urlsplit(server).hostname not in LOOPBACK:
            return None
        if run_kubectl(env, "get", "--raw", "/readyz", check=False, timeout=20).returncode != 0:
            return None
    except (OSError, subprocess.TimeoutExpired):
        return None
    return Cluster("KUBECONFIG", Path(kubeconfig), env, server, started_here=False)


def _cannot_start(reason: str) -> NoReturn:
    message = f"no Kubernetes cluster for the tests: {reason}"
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _start_dev_cluster(name: str, config: pytest.Config) -> Cluster:
    status = dev_cluster("status", "--name", name, "--json", timeout=60)
    started_here = status.returncode != 0
    if started_here:
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None and not (_cache_bin_dir() / "kubectl").exists():
            reporter.write_line(
                f"starting cluster '{name}' with scripts/dev-cluster; the first run builds Kubernetes "
                "(about 7 minutes on 2 idle cores)"
            )
        try:
            proc = dev_cluster("start", "--name", name, "--json", timeout=START_TIMEOUT)
        except subprocess.TimeoutExpired:
            _cannot_start(f"scripts/dev-cluster start --name {name} took over {START_TIMEOUT} s")
        if proc.returncode != 0:
            lines = [line for line in proc.stderr.splitlines() if line.strip()]
            _cannot_start(lines[-1] if lines else f"scripts/dev-cluster start exited {proc.returncode}")
        status = dev_cluster("status", "--name", name, "--json", timeout=60)
    try:
        info = json.loads(status.stdout)
    except ValueError:
        _cannot_start(f"scripts/dev-cluster status --name {name}: {status.stderr.strip()}")
    if not info.get("healthy"):
        _cannot_start(f"cluster '{name}' is not healthy; see scripts/dev-cluster logs --name {name}")
    env = dict(info["env"])
    env["PATH"] = os.pathsep.join(
        [
            info["bin_dir"],
            *(p for p in REAL_ENV.get("PATH", "").split(os.pathsep) if p and p != info["bin_dir"]),
        ]
    )
    return Cluster(name, Path(info["kubeconfig"]), env, info["server"], started_here=started_here)


@pytest.fixture(scope="session")
def cluster(pytestconfig: pytest.Config) -> Iterator[Cluster]:
    found = _reuse_kubeconfig() or _start_dev_cluster(CLUSTER_NAME, pytestconfig)
    yield found
    if found.started_here:
        dev_cluster("stop", "--name", found.name, timeout=120)


def _namespace_name(test_name: str) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", test_name.lower()).strip("-")[:40].strip("-") or "test"
    return f"{base}-{uuid.uuid4().hex[:6]}"


@pytest.fixture
def namespace(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Iterator[str]:
    name = _namespace_name(request.node.name)
    manifest = json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": name, "labels": {"kube.sh/test": "true"}},
        }
    )
    cluster.kubectl("create", "-f", "-", input=manifest)
    # Pods can only be created once the namespace's default service account exists.
    deadline = time.monotonic() + 30
    while cluster.kubectl("get", "serviceaccount", "default", "-n", name, check=False).returncode != 0:
        if time.monotonic() > deadline:
            raise AssertionError(f"namespace {name}: no default service account after 30 s")
        time.sleep(0.2)
    monkeypatch.setenv("KUBECONFIG", str(cluster.kubeconfig))
    monkeypatch.setenv("PATH", cluster.env["PATH"])
    yield name
    cluster.kubectl(
        "delete", "namespace", name, "--wait=false", "--ignore-not-found", check=False, timeout=30
    )


@pytest.fixture
def kubectl(cluster: Cluster) -> Kubectl:
    return cluster.kubectl
