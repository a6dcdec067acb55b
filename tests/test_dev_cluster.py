"""scripts/dev-cluster and the simulated node, against the real local control plane."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import ipaddress
import json
import os
import socket
import subprocess
import tarfile
import time
import uuid
from pathlib import Path
from types import ModuleType

import pytest

from tests.cluster import (
    DEV_CLUSTER_ENGINE,
    Cluster,
    Kubectl,
    dev_cluster,
    dev_cluster_env,
    in_ci,
    run_kubectl,
)


def load_dev_cluster() -> ModuleType:
    # The engine itself: scripts/dev-cluster only runs it (it ships inside the package).
    loader = importlib.machinery.SourceFileLoader("dev_cluster_script", str(DEV_CLUSTER_ENGINE))
    spec = importlib.util.spec_from_loader("dev_cluster_script", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def get_json(kubectl: Kubectl, *args: str) -> dict:  # type: ignore[type-arg]
    return json.loads(kubectl("get", *args, "-o", "json").stdout)


def wait_until(what: str, check, timeout: float = 30.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.3)


def conditions(obj: dict) -> dict[str, str]:  # type: ignore[type-arg]
    return {c["type"]: c["status"] for c in obj.get("status", {}).get("conditions") or []}


# --------------------------------------------------------------------------- the script itself (no cluster)


def test_help_lists_every_command() -> None:
    proc = dev_cluster("--help", timeout=30)
    assert proc.returncode == 0
    for command in ("build", "start", "stop", "status", "env", "logs"):
        assert f"  {command} " in proc.stdout


def test_start_on_a_taken_port_fails_with_one_line(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = dev_cluster_env(KUBE_DEV_CLUSTER_STATE=str(tmp_path))
        proc = dev_cluster("start", "--name", "porttest", "--port", str(port), env=env, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        f"dev-cluster: error: port {port} on 127.0.0.1 is taken; choose another --port, or leave it out"
    ]
    assert not (tmp_path / "porttest").exists()


def test_env_of_a_stopped_cluster_says_how_to_start_it(tmp_path: Path) -> None:
    env = dev_cluster_env(KUBE_DEV_CLUSTER_STATE=str(tmp_path))
    proc = dev_cluster("env", "--name", "absent", env=env, timeout=30)
    assert proc.returncode == 1
    assert "cluster 'absent' is not running" in proc.stderr
    assert "scripts/dev-cluster start --name absent" in proc.stderr
    status = dev_cluster("status", "--name", "absent", env=env, timeout=30)
    assert status.returncode == 3
    assert "not running" in status.stdout


def test_missing_packages_without_root_name_the_apt_command(tmp_path: Path) -> None:
    # The test machine has the packages and runs as root; both are passed in to reach the non-root branch.
    script = load_dev_cluster()
    with pytest.raises(script.DevError) as err:
        script.ensure_packages(
            {"etcd-server": str(tmp_path / "no-etcd")}, log=tmp_path / "apt.log", is_root=False
        )
    assert str(err.value) == (
        "Debian packages needed: etcd-server; run this as root, or first: sudo apt-get install -y etcd-server"
    )


def test_failed_build_names_its_log(tmp_path: Path) -> None:
    script = load_dev_cluster()
    missing = script.missing_packages({**script.RUNTIME_PACKAGES, **script.BUILD_PACKAGES})
    if missing and os.geteuid() != 0:
        message = f"build tools missing ({' '.join(missing)}) and not root"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    # A source tree whose make fails straight away stands in for a broken build.
    tree = tmp_path / "src" / "kubernetes-1.20.2"
    tree.mkdir(parents=True)
    (tree / "Makefile").write_text("all:\n\t@echo compiling kube-apiserver; false\n")
    tarball = tmp_path / "kubernetes_1.20.2.orig.tar.gz"
    with tarfile.open(tarball, "w:gz") as tar:
        tar.add(tree, arcname="kubernetes-1.20.2")
    cache = tmp_path / "cache"
    env = dev_cluster_env(KUBE_DEV_CLUSTER_CACHE=str(cache), KUBE_DEV_CLUSTER_SOURCE=str(tarball))
    proc = dev_cluster("build", env=env, timeout=600)
    log = cache / "1.20.2" / "build.log"
    assert proc.returncode == 1
    assert (
        proc.stderr.strip().splitlines()[-1] == f"dev-cluster: error: build failed (make exited 2); see {log}"
    )
    assert "compiling kube-apiserver" in log.read_text()
    assert not (cache / "1.20.2" / "bin").exists()


# --------------------------------------------------------------------------- the cluster


@pytest.mark.cluster
def test_simulated_node_is_ready_with_realistic_capacity(kubectl: Kubectl) -> None:
    nodes = get_json(kubectl, "nodes")["items"]
    assert len(nodes) == 1
    node = nodes[0]
    assert conditions(node)["Ready"] == "True"
    assert not node["spec"].get("taints")
    assert {k: node["status"]["allocatable"][k] for k in ("cpu", "memory", "pods")} == {
        "cpu": "32",
        "memory": "64Gi",
        "pods": "110",
    }
    classes = get_json(kubectl, "storageclasses")["items"]
    assert [
        c["metadata"]["annotations"].get("storageclass.kubernetes.io/is-default-class") for c in classes
    ] == ["true"]


@pytest.mark.cluster
def test_deployment_rolls_out_within_60_seconds(kubectl: Kubectl, namespace: str) -> None:
    began = time.monotonic()
    kubectl("create", "deployment", "web", "--image=nginx:1.25", "--replicas=2", "-n", namespace)
    kubectl("rollout", "status", "deployment/web", "-n", namespace, "--timeout=60s", timeout=90)
    assert time.monotonic() - began < 60
    pods = get_json(kubectl, "pods", "-n", namespace, "-l", "app=web")["items"]
    assert [p["status"]["phase"] for p in pods] == ["Running", "Running"]
    assert all(conditions(p)["Ready"] == "True" for p in pods)
    assert all("running" in p["status"]["containerStatuses"][0]["state"] for p in pods)
    ips = {p["status"]["podIP"] for p in pods}
    assert len(ips) == 2 and all(ip.startswith("10.244.") for ip in ips)


@pytest.mark.cluster
def test_namespace_fixture_points_kubectl_subprocesses_at_the_cluster(
    namespace: str, cluster: Cluster
) -> None:
    proc = subprocess.run(
        ["kubectl", "get", "namespace", namespace, "-o", "name"], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"namespace/{namespace}"
    assert os.environ["KUBECONFIG"] == str(cluster.kubeconfig)


@pytest.mark.cluster
def test_service_gets_a_cluster_ip_and_ready_endpoints(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "deployment", "api", "--image=nginx:1.25", "-n", namespace)
    kubectl("expose", "deployment", "api", "--port=80", "-n", namespace)
    service = get_json(kubectl, "service", "api", "-n", namespace)
    assert ipaddress.ip_address(service["spec"]["clusterIP"]) in ipaddress.ip_network("10.0.0.0/16")
    kubectl("rollout", "status", "deployment/api", "-n", namespace, "--timeout=60s", timeout=90)
    pod_ip = get_json(kubectl, "pods", "-n", namespace, "-l", "app=api")["items"][0]["status"]["podIP"]

    def endpoint_ips() -> list[str]:
        subsets = get_json(kubectl, "endpoints", "api", "-n", namespace).get("subsets") or []
        return [a["ip"] for s in subsets for a in s.get("addresses") or []]

    assert wait_until("the service's endpoints", endpoint_ips) == [pod_ip]


STATEFULSET = """
apiVersion: v1
kind: Service
metadata: {name: db}
spec:
  clusterIP: None
  selector: {app: db}
  ports: [{port: 5432}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 2
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers:
      - name: postgres
        image: postgres:16
        volumeMounts: [{name: data, mountPath: /var/lib/postgresql/data}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 2Gi}}
"""


@pytest.mark.cluster
def test_statefulset_with_volume_claim_template_becomes_ready(kubectl: Kubectl, namespace: str) -> None:
    kubectl("apply", "-n", namespace, "-f", "-", input=STATEFULSET)
    kubectl("rollout", "status", "statefulset/db", "-n", namespace, "--timeout=90s", timeout=120)
    claims = get_json(kubectl, "pvc", "-n", namespace)["items"]
    assert sorted(c["metadata"]["name"] for c in claims) == ["data-db-0", "data-db-1"]
    assert {c["status"]["phase"] for c in claims} == {"Bound"}
    assert {c["spec"]["storageClassName"] for c in claims} == {"standard"}
    assert {c["status"]["capacity"]["storage"] for c in claims} == {"2Gi"}


@pytest.mark.cluster
def test_job_completes(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "job", "hello", "--image=busybox:1.36", "-n", namespace, "--", "echo", "hi")
    kubectl("wait", "--for=condition=complete", "job/hello", "-n", namespace, "--timeout=60s", timeout=90)
    pods = get_json(kubectl, "pods", "-n", namespace, "-l", "job-name=hello")["items"]
    assert [p["status"]["phase"] for p in pods] == ["Succeeded"]
    assert pods[0]["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 0


@pytest.mark.cluster
def test_restart_never_pod_succeeds(kubectl: Kubectl, namespace: str) -> None:
    kubectl("run", "once", "--image=busybox:1.36", "--restart=Never", "-n", namespace, "--", "true")

    def phase() -> str | None:
        value = get_json(kubectl, "pod", "once", "-n", namespace).get("status", {}).get("phase")
        return value if value in ("Succeeded", "Failed") else None

    assert wait_until("the pod to finish", phase) == "Succeeded"


@pytest.mark.cluster
def test_crd_is_established_and_a_custom_resource_can_be_created(kubectl: Kubectl, namespace: str) -> None:
    group = f"t{uuid.uuid4().hex[:8]}.example.com"
    crd = {
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
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "spec": {"type": "object", "properties": {"size": {"type": "integer"}}}
                            },
                        }
                    },
                }
            ],
        },
    }
    kubectl("apply", "-f", "-", input=json.dumps(crd))
    try:
        kubectl("wait", "--for=condition=established", f"crd/widgets.{group}", "--timeout=30s", timeout=60)
        widget = {
            "apiVersion": f"{group}/v1",
            "kind": "Widget",
            "metadata": {"name": "w1"},
            "spec": {"size": 3},
        }
        kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(widget))
        got = get_json(kubectl, f"widgets.{group}", "w1", "-n", namespace)
        assert got["spec"] == {"size": 3}
        bad = {**widget, "metadata": {"name": "w2"}, "spec": {"size": "big"}}
        rejected = kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(bad), check=False)
        assert rejected.returncode != 0 and "spec.size" in rejected.stderr
    finally:
        kubectl("delete", "crd", f"widgets.{group}", "--wait=false", check=False)


@pytest.mark.cluster
def test_deleting_a_pod_with_a_grace_period_completes_promptly(kubectl: Kubectl, namespace: str) -> None:
    kubectl(
        "run",
        "slow",
        "--image=nginx:1.25",
        "-n",
        namespace,
        "--overrides",
        json.dumps({"spec": {"terminationGracePeriodSeconds": 120}}),
    )
    kubectl("wait", "--for=condition=Ready", "pod/slow", "-n", namespace, "--timeout=30s", timeout=60)
    began = time.monotonic()
    kubectl("delete", "pod", "slow", "-n", namespace, "--timeout=30s", timeout=60)
    assert time.monotonic() - began < 15
    assert kubectl("get", "pod", "slow", "-n", namespace, check=False).returncode != 0


@pytest.mark.cluster
def test_deleting_a_namespace_with_workloads_completes(cluster: Cluster, kubectl: Kubectl) -> None:
    ns = f"doomed-{uuid.uuid4().hex[:6]}"
    kubectl("create", "namespace", ns)
    try:
        wait_until(
            "the default service account",
            lambda: kubectl("get", "sa", "default", "-n", ns, check=False).returncode == 0,
        )
        kubectl("create", "deployment", "web", "--image=nginx:1.25", "--replicas=3", "-n", ns)
        kubectl("run", "solo", "--image=nginx:1.25", "-n", ns)
        kubectl("apply", "-n", ns, "-f", "-", input=STATEFULSET)
        kubectl("rollout", "status", "deployment/web", "-n", ns, "--timeout=60s", timeout=90)
        kubectl("rollout", "status", "statefulset/db", "-n", ns, "--timeout=90s", timeout=120)
        volumes = [
            v["metadata"]["name"]
            for v in get_json(kubectl, "pv")["items"]
            if v["spec"].get("claimRef", {}).get("namespace") == ns
        ]
        assert len(volumes) == 2
        began = time.monotonic()
        kubectl("delete", "namespace", ns, "--timeout=120s", timeout=150)
        assert time.monotonic() - began < 120
        assert kubectl("get", "namespace", ns, check=False).returncode != 0

        def volumes_gone() -> bool:
            names = {v["metadata"]["name"] for v in get_json(kubectl, "pv")["items"]}
            return not names.intersection(volumes)

        wait_until("the released volumes to be deleted", volumes_gone)
    finally:
        kubectl("delete", "namespace", ns, "--wait=false", "--ignore-not-found", check=False)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


@pytest.mark.cluster
def test_second_cluster_runs_alongside_and_restarts(cluster: Cluster, tmp_path: Path) -> None:
    env = dev_cluster_env(KUBE_DEV_CLUSTER_STATE=str(tmp_path / "state"))
    name = "pytest-second"
    try:
        started = dev_cluster("start", "--name", name, "--json", env=env, timeout=600)
        assert started.returncode == 0, started.stderr
        first = json.loads(started.stdout)
        assert first["already_running"] is False
        assert first["server"] != cluster.server
        other = {
            "KUBECONFIG": first["kubeconfig"],
            "PATH": f"{first['bin_dir']}{os.pathsep}{os.environ['PATH']}",
        }

        again = dev_cluster("start", "--name", name, "--json", env=env, timeout=120)
        assert again.returncode == 0, again.stderr
        assert json.loads(again.stdout)["already_running"] is True
        assert json.loads(again.stdout)["server"] == first["server"]

        marker = f"only-second-{uuid.uuid4().hex[:6]}"
        run_kubectl(other, "create", "namespace", marker)
        assert run_kubectl(other, "get", "namespace", marker, check=False).returncode == 0
        assert cluster.kubectl("get", "namespace", marker, check=False).returncode != 0

        exported = dev_cluster("env", "--name", name, env=env, timeout=30)
        assert exported.stdout.startswith(f"export KUBECONFIG={first['kubeconfig']} PATH={first['bin_dir']}:")

        status = json.loads(dev_cluster("status", "--name", name, "--json", env=env, timeout=60).stdout)
        pids = [p["pid"] for p in status["processes"].values()]
        assert len(pids) == 5 and all(_alive(pid) for pid in pids)
        assert sum(status["rss_bytes"].values()) > 0

        stopped = dev_cluster("stop", "--name", name, env=env, timeout=120)
        assert stopped.returncode == 0, stopped.stderr
        assert not any(_alive(pid) for pid in pids)
        assert not (tmp_path / "state" / name).exists()
        assert cluster.kubectl("get", "--raw", "/readyz").stdout == "ok"

        restarted = dev_cluster("start", "--name", name, "--json", env=env, timeout=300)
        assert restarted.returncode == 0, restarted.stderr
        fresh = json.loads(restarted.stdout)
        other["KUBECONFIG"] = fresh["kubeconfig"]
        assert run_kubectl(other, "get", "namespace", marker, check=False).returncode != 0
        nodes = json.loads(run_kubectl(other, "get", "nodes", "-o", "json").stdout)["items"]
        assert [conditions(n)["Ready"] for n in nodes] == ["True"]
    finally:
        dev_cluster("stop", "--name", name, env=env, timeout=120)
