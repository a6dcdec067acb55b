"""kube status and kube list --status: the live kstatus of every recorded object, on the real control plane.

The kstatus rules themselves are checked on objects as the API server returns them (plain data);
everything else runs kube against the shared local cluster. One stand-in: the simulated node runs
no containers, so no image can fail to pull; the ImagePullBackOff test writes the Pod status a
kubelet would write (through the API server's own status endpoint) for a Pod bound to a node that
no kubelet serves.
"""

from __future__ import annotations

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
from kube.k8s import status as kstatus
from kube.k8s import wait
from tests.test_install import configmap, deployment, logging_kubectl, write_formula

KubectlFixture = Callable[..., Any]
REPO = Path(__file__).resolve().parents[1]
cluster = pytest.mark.cluster


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "400")


def kube(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def unique(namespace: str, name: str) -> str:
    return f"{name}-{namespace[-6:]}"


def status_row(result: Result, kind: str, name: str) -> tuple[str, str]:
    """(STATUS, REASON) of one object in the `kube status` table."""
    for line in result.stdout.splitlines():
        cells = line.split(None, 4)
        if len(cells) >= 4 and cells[:2] == [kind, name]:
            return cells[3], cells[4].strip() if len(cells) > 4 else ""
    raise AssertionError(f"no row for {kind}/{name} in:\n{result.stdout}")


def install(tmp_path: Path, namespace: str, name: str, manifests: dict[str, str], *extra: str) -> None:
    directory = write_formula(tmp_path / name, name, manifests=manifests)
    result = kube("install", str(directory), "-n", namespace, *extra)
    assert result.exit_code == 0, result.output


def stuck_deployment(name: str, replicas: int = 2) -> str:
    return deployment(name, replicas=replicas, nodeSelector={"no": "such-node"})


# -- the rules (plain data) ---------------------------------------------------------------------


def test_an_object_being_deleted_is_terminating() -> None:
    obj = configmap("web")
    obj["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    assert wait.assess(obj)[0] == wait.TERMINATING


def test_generic_conditions_decide_for_any_kind() -> None:
    def custom(**status: Any) -> dict[str, Any]:
        return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"generation": 3},
                "status": status}  # fmt: skip

    assert wait.assess(custom()) == (wait.READY, "exists")
    assert wait.assess(custom(observedGeneration=2)) == (
        wait.PENDING, "waiting for the controller to see generation 3")  # fmt: skip
    reconciling = {"type": "Reconciling", "status": "True", "reason": "Progressing", "message": "syncing"}
    assert wait.assess(custom(conditions=[reconciling])) == (wait.PENDING, "Progressing: syncing")
    stalled = {"type": "Stalled", "status": "True", "reason": "BadSpec", "message": "no such bucket"}
    assert wait.assess(custom(conditions=[stalled])) == (wait.FAILED, "BadSpec: no such bucket")
    not_ready = {"type": "Ready", "status": "False", "reason": "Waiting", "message": "on the bucket"}
    assert wait.assess(custom(conditions=[not_ready])) == (wait.PENDING, "Waiting: on the bucket")
    assert wait.assess(custom(conditions=[{"type": "Ready", "status": "True"}]))[0] == wait.READY


def test_a_crash_looping_pod_has_failed() -> None:
    waiting = {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s"}}
    pod = {"apiVersion": "v1", "kind": "Pod", "status": {"phase": "Running", "containerStatuses": [
        {"name": "app", "ready": False, "state": waiting}]}}  # fmt: skip
    assert wait.assess(pod) == (wait.FAILED, "containers in CrashLoopBackOff: app")


def test_pods_belong_to_a_deployment_through_its_replicaset_name() -> None:
    workload = {"kind": "Deployment", "metadata": {"name": "web", "namespace": "a", "uid": "d1"}}

    def pod(owner: str, namespace: str = "a", template_hash: str = "5d9") -> dict[str, Any]:
        return {"metadata": {"name": f"{owner}-x", "namespace": namespace,
                             "labels": {"pod-template-hash": template_hash},
                             "ownerReferences": [{"kind": "ReplicaSet", "name": owner, "uid": "r1"}]},
                "status": {"phase": "Pending", "containerStatuses": [{"name": "app", "state": {
                    "waiting": {"reason": "ErrImagePull", "message": "not found"}}}]}}  # fmt: skip

    assert kstatus.owned_by(pod("web-5d9"), workload)
    assert not kstatus.owned_by(pod("web-5d9", namespace="b"), workload)
    assert not kstatus.owned_by(pod("webber-5d9"), workload)
    assert not kstatus.owned_by(pod("web-5d9", template_hash="777"), workload)
    assert kstatus.pod_reason(workload, [pod("web-5d9"), pod("other-1")]) == (
        "pod web-5d9-x: ErrImagePull: not found")  # fmt: skip


# -- kube status on the cluster -----------------------------------------------------------------


@cluster
def test_a_deployment_that_never_becomes_available_is_in_progress_with_its_reason(
    namespace: str, tmp_path: Path
) -> None:
    name = unique(namespace, "stuck")
    manifests = {"deploy.json": stuck_deployment("stuck"), "cm.json": json.dumps(configmap("stuck-cfg"))}
    install(tmp_path, namespace, name, manifests)

    result = kube("status", name, "-n", namespace)

    assert result.exit_code == 1, result.output
    assert status_row(result, "ConfigMap", "stuck-cfg") == ("Current", "exists")
    state, reason = status_row(result, "Deployment", "stuck")
    assert state == "InProgress"
    assert reason.startswith("0 of 2 replicas available; pod stuck-")
    assert "Unschedulable: 0/1 nodes are available" in reason
    assert f"{name} in namespace {namespace}: 1 of 2 objects not Current: Deployment/stuck (InProgress" in (
        result.stderr
    )
    assert len(result.stderr.strip().splitlines()) == 1


@cluster
def test_an_image_that_cannot_be_pulled_is_the_reason(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    name = unique(namespace, "pull")
    # Bound to a node no kubelet serves: nothing but this test writes the Pod's status.
    install(tmp_path, namespace, name, {"deploy.json": deployment("pull", replicas=1, nodeName="no-kubelet")})
    deadline = time.monotonic() + 30
    while not (pods := json.loads(kubectl("get", "pods", "-n", namespace, "-o", "json").stdout)["items"]):
        assert time.monotonic() < deadline, "the Deployment made no Pod"
        time.sleep(0.3)
    pod = pods[0]
    message = 'Back-off pulling image "nginx:1.19"'
    pod["status"] = {"phase": "Pending", "containerStatuses": [{
        "name": "app", "image": "nginx:1.19", "imageID": "", "ready": False, "restartCount": 0,
        "state": {"waiting": {"reason": "ImagePullBackOff", "message": message}}}]}  # fmt: skip
    uri = f"/api/v1/namespaces/{namespace}/pods/{pod['metadata']['name']}/status"
    kubectl("replace", "--raw", uri, "-f", "-", input=json.dumps(pod))

    result = kube("status", name, "-n", namespace, "-o", "json")

    assert result.exit_code == 1, result.output
    [obj] = json.loads(result.stdout)["objects"]
    assert obj["status"] == "InProgress"
    assert (
        obj["reason"]
        == f"0 of 1 replicas available; pod {pod['metadata']['name']}: ImagePullBackOff: {message}"
    )


@cluster
def test_an_object_deleted_by_hand_is_not_found(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    name = unique(namespace, "gone")
    manifests = {"a.json": json.dumps(configmap("gone-a")), "b.json": json.dumps(configmap("gone-b"))}
    install(tmp_path, namespace, name, manifests)
    kubectl("delete", "configmap", "gone-b", "-n", namespace)

    result = kube("status", name, "-n", namespace)

    assert result.exit_code == 1, result.output
    assert status_row(result, "ConfigMap", "gone-a") == ("Current", "exists")
    assert status_row(result, "ConfigMap", "gone-b") == ("NotFound", "not in the cluster")
    assert "NotFound (1 of 2 objects not Current)" in result.stdout


@cluster
def test_a_partial_install_is_not_current_and_names_what_it_could_not_create(
    namespace: str, tmp_path: Path
) -> None:
    name = unique(namespace, "part")
    bad = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "bad"},
           "spec": {"type": "Bogus", "ports": [{"port": 80, "protocol": "TCP"}]}}  # fmt: skip
    manifests = {"a.json": json.dumps(configmap("part-a")), "svc.json": json.dumps(bad)}
    directory = write_formula(tmp_path / name, name, manifests=manifests)
    assert kube("install", str(directory), "-n", namespace).exit_code == 8

    result = kube("status", name, "-n", namespace)

    assert result.exit_code == 1, result.output
    assert status_row(result, "ConfigMap", "part-a") == ("Current", "exists")
    state, reason = status_row(result, "Service", "bad")
    assert state == "NotFound" and reason.startswith("not created: Invalid:"), reason
    assert "NotFound (1 of 2 objects not Current)" in result.stdout
    assert f"kube upgrade {name}" in result.stderr


@cluster
def test_an_object_held_by_a_finalizer_after_its_deletion_is_terminating(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    name = unique(namespace, "held")
    install(tmp_path, namespace, name, {"cm.json": json.dumps(configmap("held-cfg"))})
    hold = '{"metadata": {"finalizers": ["kube.sh/test-hold"]}}'
    kubectl("patch", "configmap", "held-cfg", "-n", namespace, "--type=merge", "-p", hold)
    kubectl("delete", "configmap", "held-cfg", "-n", namespace, "--wait=false")
    try:
        result = kube("status", name, "-n", namespace)
    finally:
        kubectl("patch", "configmap", "held-cfg", "-n", namespace, "--type=merge",
                "-p", '{"metadata": {"finalizers": null}}')  # fmt: skip

    assert result.exit_code == 1, result.output
    state, reason = status_row(result, "ConfigMap", "held-cfg")
    assert state == "Terminating"
    assert reason.startswith("being deleted since ")


@cluster
def test_everything_is_current_after_an_install_that_waited(namespace: str, tmp_path: Path) -> None:
    name = unique(namespace, "ready")
    manifests = {
        "deploy.json": deployment("ready", replicas=2),
        "cm.json": json.dumps(configmap("ready-cfg")),
    }
    install(tmp_path, namespace, name, manifests, "--wait", "--timeout", "60s")

    result = kube("status", name, "-n", namespace, "-o", "json")

    assert result.exit_code == 0, result.output
    live = json.loads(result.stdout)
    assert (live["name"], live["namespace"], live["status"], live["current"]) == (
        name,
        namespace,
        "Current",
        True,
    )
    assert {(o["kind"], o["status"], o["reason"]) for o in live["objects"]} == {
        ("ConfigMap", "Current", "exists"),
        ("Deployment", "Current", "2 of 2 replicas available"),
    }
    table = kube("status", name)  # no -n: the only release of that name
    assert table.exit_code == 0, table.output
    assert f"{name} 1.0.0 in namespace {namespace}: Current" in table.stdout


@cluster
def test_status_of_what_is_not_installed_is_exit_3(namespace: str) -> None:
    result = kube("status", "nothing-here", "-n", namespace)
    assert result.exit_code == 3
    assert f"nothing-here is not installed in namespace {namespace}" in result.stderr


def test_status_when_the_cluster_does_not_answer_is_exit_8(tmp_path: Path) -> None:
    config = tmp_path / "kubeconfig"
    config.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        "users": [{"name": "u", "user": {"token": "t"}}]}))  # fmt: skip
    result = kube("status", "web", "-n", "default", "--kubeconfig", str(config))
    assert result.exit_code == 8, result.output
    assert "cannot reach the cluster" in result.stderr


# -- --watch ------------------------------------------------------------------------------------


@cluster
def test_watch_prints_each_change_until_everything_is_current(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    name = unique(namespace, "later")
    install(tmp_path, namespace, name, {"deploy.json": stuck_deployment("later", replicas=1)})
    watcher = subprocess.Popen(
        [sys.executable, "-m", "kube", "status", name, "-n", namespace, "--watch", "--timeout", "90s"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    try:
        assert watcher.stdout is not None
        first = watcher.stdout.readline()
        assert first.startswith("Deployment/later reconcile pending: 0 of 1 replicas available"), first
        # What someone fixing the Deployment by hand does: the Pods can now be scheduled.
        kubectl("patch", "deployment", "later", "-n", namespace, "--type=json",
                "-p", '[{"op": "remove", "path": "/spec/template/spec/nodeSelector"}]')  # fmt: skip
        out, err = watcher.communicate(timeout=90)
    finally:
        watcher.kill()
    assert watcher.returncode == 0, err
    lines = [first.strip(), *out.strip().splitlines()]
    assert lines[-2:] == ["Deployment/later reconciled", f"{name}: all 1 objects Current"]


@cluster
def test_watch_stops_at_the_timeout_with_exit_9_naming_what_is_not_current(
    namespace: str, tmp_path: Path
) -> None:
    name = unique(namespace, "never")
    install(
        tmp_path,
        namespace,
        name,
        {"deploy.json": stuck_deployment("never"), "cm.json": json.dumps(configmap("never-cfg"))},
    )
    started = time.monotonic()

    result = kube("status", name, "-n", namespace, "--watch", "--timeout", "3s")

    assert result.exit_code == 9, result.output
    assert time.monotonic() - started < 20
    assert "ConfigMap/never-cfg reconciled" in result.stdout
    assert "Deployment/never reconcile pending: 0 of 2 replicas available" in result.stdout
    assert f"{name} in namespace {namespace}: not Current after 3s: Deployment/never (InProgress: 0 of 2" in (
        result.stderr
    )
    assert "ConfigMap" not in result.stderr


# -- kube list --status -------------------------------------------------------------------------


@cluster
def test_list_status_reads_every_release_in_a_few_kubectl_calls(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = f"{namespace[:50]}-two"
    kubectl("create", "namespace", other)
    kubectl("label", "namespace", other, "kube.sh/test=true")
    try:
        names = [unique(namespace, f"rel{i}") for i in range(5)]
        for index, name in enumerate(names):
            where = namespace if index % 2 == 0 else other
            manifests = {"cm.json": json.dumps(configmap(f"{name}-cfg"))}
            if index == 3:
                manifests["deploy.json"] = stuck_deployment(f"{name}-app")
            install(tmp_path, where, name, manifests)
        wrapper, log = logging_kubectl(tmp_path)
        monkeypatch.setenv("KUBE_KUBECTL", str(wrapper))

        result = kube("list", "--status", "-o", "json")

        # Records, then every recorded object, then the Pods (a workload is not Current): three calls
        # for the whole cluster, however many releases it holds.
        calls = log.read_text().splitlines()
        assert len(calls) == 3, calls
        assert result.exit_code == 1, result.output
        rows = {r["name"]: r for r in json.loads(result.stdout)}
        assert {n: rows[n]["live"]["status"] for n in names} == {
            n: ("InProgress" if i == 3 else "Current") for i, n in enumerate(names)}  # fmt: skip
        stuck = rows[names[3]]["live"]["objects"]
        assert any("Unschedulable" in o["reason"] for o in stuck if o["kind"] == "Deployment")

        log.unlink()
        table = kube("list", "--status", "-n", namespace)
        assert len(log.read_text().splitlines()) == 2  # nothing stuck there: no Pods read
        assert table.exit_code == 0, table.output
        assert "LIVE" in table.stdout
        for name in names[::2]:
            assert f"{name} " in table.stdout
    finally:
        kubectl("delete", "namespace", other, "--wait=false", check=False)
