"""config.kubernetes.io/depends-on on the real local control plane: created after what it names is
reconciled (kstatus Current), deleted before it, a target that never reconciles stops the install
with the chain named, and references that cannot work are refused before anything is created."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from kube.cli.app import app
from tests.test_install import write_formula

pytestmark = pytest.mark.cluster
KubectlFixture = Callable[..., Any]
ROOT = Path(__file__).resolve().parent.parent
DEPENDS_ON = "config.kubernetes.io/depends-on"
# A node label no node has: a Pod that asks for it is never scheduled, so never ready.
NOWHERE = {"kube.sh/test-nowhere": "true"}


def statefulset(name: str, node_selector: dict[str, str] | None = None) -> str:
    pod_spec: dict[str, Any] = {"containers": [{"name": "db", "image": "postgres:16"}]}
    if node_selector:
        pod_spec["nodeSelector"] = node_selector
    return json.dumps(
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {"name": name},
            "spec": {
                "serviceName": name,
                "replicas": 1,
                "selector": {"matchLabels": {"app": name}},
                "template": {"metadata": {"labels": {"app": name}}, "spec": pod_spec},
            },
        }
    )


def web(depends_on: str) -> str:
    return json.dumps(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "annotations": {DEPENDS_ON: depends_on}},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]},
                },
            },
        }
    )


def ordered(tmp_path: Path, node_selector: dict[str, str] | None = None) -> Path:
    # web.yaml sorts before db.yaml, and Deployments come before StatefulSets in kind order:
    # without depends-on, kube would create the Deployment first.
    return write_formula(
        tmp_path,
        "ordered",
        manifests={"a-web.yaml": web("apps/StatefulSet/db"), "b-db.yaml": statefulset("db", node_selector)},
    )


def kube(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def kube_process(*args: str) -> subprocess.Popen[str]:
    """kube as the user runs it, in its own process, so the test can watch the cluster meanwhile."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "kube", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def live(kubectl: KubectlFixture, namespace: str, *what: str) -> dict[str, Any] | None:
    out = kubectl("get", *what, "-n", namespace, "-o", "json", "--ignore-not-found").stdout
    return json.loads(out) if out.strip() else None


def until(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := check():
            return found
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout:g}s: {what}")


def stamp(text: str) -> datetime.datetime:
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)


def test_a_deployment_is_created_only_after_the_statefulset_it_depends_on_is_ready(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    # The simulated node reports a Pod ready as soon as it is bound, so the StatefulSet is held
    # back instead: its Pod asks for a node label no node has. The test lets it run after a few
    # seconds (drops the nodeSelector, deletes the pending Pod); kube must not create the
    # Deployment before that, and must create it afterwards without --wait.
    proc = kube_process("install", str(ordered(tmp_path, NOWHERE)), "-n", namespace, "--timeout", "2m")
    try:
        until(lambda: live(kubectl, namespace, "pod", "db-0"), 30, "the StatefulSet's Pod exists")
        time.sleep(3)
        assert proc.poll() is None, proc.communicate()
        assert live(kubectl, namespace, "deployment", "web") is None, "created before db was ready"
        released = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
        patch = '[{"op": "remove", "path": "/spec/template/spec/nodeSelector"}]'
        kubectl("patch", "statefulset", "db", "-n", namespace, "--type=json", "-p", patch)
        kubectl("delete", "pod", "db-0", "-n", namespace, "--wait=false")
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "created" in out
    deployment = live(kubectl, namespace, "deployment", "web")
    db = live(kubectl, namespace, "statefulset", "db")
    assert deployment is not None and db is not None
    pod = live(kubectl, namespace, "pod", "db-0")
    assert pod is not None
    ready = next(c for c in pod["status"]["conditions"] if c["type"] == "Ready")
    created = stamp(deployment["metadata"]["creationTimestamp"])
    assert ready["status"] == "True"
    # Seconds resolution: the Deployment is no older than the moment db became ready.
    assert created >= stamp(ready["lastTransitionTime"])
    assert created >= released
    assert created - stamp(db["metadata"]["creationTimestamp"]) >= datetime.timedelta(seconds=3)


def test_uninstall_deletes_the_dependent_and_waits_until_it_is_gone(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    installed = kube("install", str(ordered(tmp_path)), "-n", namespace)
    assert installed.exit_code == 0, installed.output
    # A finalizer holds the Deployment in deletion until the test removes it: for as long as it is
    # there, the StatefulSet it depends on must not be deleted.
    hold = '{"metadata": {"finalizers": ["kube.sh/test-hold"]}}'
    kubectl("patch", "deployment", "web", "-n", namespace, "--type=merge", "-p", hold)
    proc = kube_process("uninstall", "ordered", "-n", namespace, "--timeout", "2m")
    try:
        until(
            lambda: ((live(kubectl, namespace, "deployment", "web") or {}).get("metadata") or {}).get(
                "deletionTimestamp"
            ),
            30,
            "kube deletes the Deployment",
        )
        for _ in range(6):
            db = live(kubectl, namespace, "statefulset", "db")
            assert db is not None and not db["metadata"].get("deletionTimestamp"), "db deleted too early"
            time.sleep(0.5)
        assert proc.poll() is None, proc.communicate()
        release = '[{"op": "remove", "path": "/metadata/finalizers"}]'
        kubectl("patch", "deployment", "web", "-n", namespace, "--type=json", "-p", release)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert live(kubectl, namespace, "deployment", "web") is None
    until(lambda: live(kubectl, namespace, "statefulset", "db") is None, 30, "db is deleted after web")
    assert "deleted" in out


def test_a_dependency_that_never_reconciles_fails_within_the_timeout_naming_the_chain(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    started = time.monotonic()
    result = kube("install", str(ordered(tmp_path, NOWHERE)), "-n", namespace, "--timeout", "5s")
    elapsed = time.monotonic() - started
    assert result.exit_code == 9, result.output
    assert "Deployment/web waits for StatefulSet/db: 0 of 1 replicas ready after 5s" in result.output
    assert elapsed < 40
    assert live(kubectl, namespace, "deployment", "web") is None
    assert live(kubectl, namespace, "statefulset", "db") is not None
    # The record lists what exists, so uninstall cleans up.
    removed = kube("uninstall", "ordered", "-n", namespace)
    assert removed.exit_code == 0, removed.output
    assert live(kubectl, namespace, "statefulset", "db") is None


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("apps/namespaces/elsewhere/StatefulSet/db", "points outside the release"),
        ("/Secret/nothing", "/Secret/nothing is not an object of this formula"),
        ("apps/Deployment/web", "cycle: Deployment/web -> Deployment/web"),
        ("apps/StatefulSet", 'expected 3 or 5 fields, found 2: "apps/StatefulSet"'),
    ],
    ids=["outside", "nothing", "cycle", "malformed"],
)
def test_a_reference_that_cannot_work_is_refused_before_anything_is_created(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path, reference: str, message: str
) -> None:
    formula = write_formula(
        tmp_path, "ordered", manifests={"a-web.yaml": web(reference), "b-db.yaml": statefulset("db")}
    )
    result = kube("install", str(formula), "-n", namespace)
    assert result.exit_code == 4, result.output
    assert message in result.output
    out = kubectl("get", "all,cm,secret", "-n", namespace, "-o", "name").stdout.split()
    assert [o for o in out if not o.startswith(("secret/default-token", "configmap/kube-root-ca"))] == []


def test_on_a_terminal_progress_is_shown_per_object_as_kpt_does(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    import pty
    import re

    leader, follower = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "kube", "install", str(ordered(tmp_path)), "-n", namespace],
        env=env,
        stdout=subprocess.PIPE,
        stderr=follower,
        text=True,
    )
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the pty is closed once kube exits
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    proc.communicate(timeout=120)
    assert proc.returncode == 0
    lines = re.sub(r"\x1b\[[0-9;]*m", "", shown.decode()).replace("\r", "").splitlines()
    progress = [line for line in lines if line.startswith("StatefulSet/db")]
    assert progress[0] == f"StatefulSet/db -n {namespace} reconcile pending"
    assert progress[-1] == f"StatefulSet/db -n {namespace} reconciled (1 of 1 replicas ready)"


def test_a_dependency_that_fails_stops_the_install_at_once_as_the_cluster_error_it_is(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    # The simulated node ends a Pod annotated with a non-zero exit code as Failed: the Job fails.
    seed = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "seed"},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": {"annotations": {"simnode.kube.sh/exit-code": "3"}},
                "spec": {"restartPolicy": "Never", "containers": [{"name": "seed", "image": "busybox:1.36"}]},
            },
        },
    }
    formula = write_formula(
        tmp_path, "ordered", manifests={"a-web.yaml": web("batch/Job/seed"), "b-seed.yaml": json.dumps(seed)}
    )
    started = time.monotonic()
    result = kube("install", str(formula), "-n", namespace, "--timeout", "2m")
    assert result.exit_code == 8, result.output
    assert "Deployment/web waits for Job/seed: failed: " in result.output
    assert time.monotonic() - started < 60, "a failed target is not waited for until the timeout"
    assert live(kubectl, namespace, "deployment", "web") is None
