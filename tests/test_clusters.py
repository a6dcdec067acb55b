"""Many clusters: the registry, `kube cluster add|list|info|rm|create|delete|backup|restore`, and
install/upgrade/uninstall/status/list on several clusters at once.

The cluster tests create two real control planes of their own with the local provisioner
(``kube cluster create h13a --provisioner local``; about 10 s each once Kubernetes is built) and
delete them at the end of the module, whatever happens. Every `kube` runs as a real child process
with its own ``KUBE_HOME``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kube.cli.fanout import child_args
from kube.clusters.inspect import ca_fingerprint, credential_kind, memory_text, pod_requests, quantity
from kube.clusters.registry import Cluster
from tests.cluster import DEV_CLUSTER, REAL_ENV, dev_cluster_env
from tests.gitrepo import k3, write_tree

A, B = "h13a", "h13b"
TOKEN = "s3cret-token-never-printed"
REAL_CACHE = Path(REAL_ENV.get("HOME", str(Path.home()))) / ".cache" / "kube-dev-cluster"


def kube(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kube", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def base_env(home: Path) -> dict[str, str]:
    env = {**os.environ, "KUBE_HOME": str(home), "KUBE_INTERACTIVE": "0"}
    # The local engine's Kubernetes build and cluster state stay where every session keeps them.
    env.setdefault("KUBE_DEV_CLUSTER_CACHE", os.environ.get("KUBE_DEV_CLUSTER_CACHE", str(REAL_CACHE)))
    bin_dir = REAL_CACHE / "1.20.2" / "bin"
    env["PATH"] = os.pathsep.join([str(bin_dir), env.get("PATH", "")])
    env.pop("KUBECONFIG", None)
    return env


def dead_kubeconfig(path: Path, port: int) -> Path:
    path.write_text(
        textwrap.dedent(f"""\
        apiVersion: v1
        kind: Config
        clusters:
        - name: dead
          cluster: {{server: "https://127.0.0.1:{port}", insecure-skip-tls-verify: true}}
        users:
        - name: u
          user: {{token: {TOKEN}}}
        contexts:
        - name: dead
          context: {{cluster: dead, user: u}}
        current-context: dead
        """)
    )
    return path


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- no cluster needed ------------------------------------------------------------------------


def test_registry_add_copy_rm_and_no_credentials_printed(tmp_path: Path) -> None:
    env = base_env(tmp_path / "home")
    config = dead_kubeconfig(tmp_path / "dead.kubeconfig", closed_port())
    refused = kube("cluster", "add", "dead", "--kubeconfig", str(config), env=env)
    assert refused.returncode == 8, refused.stderr
    assert "does not answer" in refused.stderr
    added = kube("cluster", "add", "dead", "--kubeconfig", str(config), "--no-check", "--copy",
                 "--label", "env=prod", env=env)  # fmt: skip
    assert added.returncode == 0, added.stderr
    copy = tmp_path / "home" / "clusters" / "dead" / "kubeconfig"
    assert copy.stat().st_mode & 0o777 == 0o600
    registry = (tmp_path / "home" / "clusters.yaml").read_text()
    assert TOKEN not in registry and str(copy) in registry
    listed = kube("cluster", "list", "-o", "json", env=env)
    assert [c["name"] for c in json.loads(listed.stdout)] == ["dead"]
    info = kube("cluster", "info", "dead", env=env)
    assert info.returncode == 8
    for proc in (added, listed, info):
        assert TOKEN not in proc.stdout + proc.stderr
    both = kube("status", "x", "--cluster", "dead", "--context", "other", env=env)
    assert both.returncode == 2 and "replace --context/--kubeconfig" in both.stderr
    unknown = kube("list", "--cluster", "nope", env=env)
    assert unknown.returncode == 3 and "no cluster named 'nope'" in unknown.stderr
    none = kube("list", "--cluster-selector", "env=dev", env=env)
    assert none.returncode == 3 and "no cluster matches env=dev" in none.stderr
    assert kube("cluster", "rm", "dead", env=env).returncode == 0
    assert not copy.exists()
    assert json.loads(kube("cluster", "list", "-o", "json", env=env).stdout) == []


def test_child_args_drop_cluster_options() -> None:
    cluster = Cluster("a", "/k/a", "ctx-a")
    args = [
        "install",
        "x",
        "--cluster",
        "a",
        "--cluster=b",
        "--all-clusters",
        "--cluster-selector",
        "e=p",
        "-n",
        "y",
    ]
    assert child_args(args, cluster) == ["install", "x", "-n", "y", "--kubeconfig=/k/a", "--context=ctx-a"]
    after = ["status", "--cluster", "a", "--", "--cluster"]
    assert child_args(after, cluster) == ["status", "--kubeconfig=/k/a", "--context=ctx-a", "--", "--cluster"]


def test_kubeconfig_facts() -> None:
    assert credential_kind({"token": "x"}) == "token"
    assert credential_kind({"client-certificate-data": "x", "client-key-data": "y"}) == "client certificate"
    assert credential_kind({"exec": {"command": "/usr/bin/gke-gcloud-auth-plugin"}}) == (
        "exec plugin (gke-gcloud-auth-plugin)"
    )
    assert credential_kind({}) == "none"
    assert ca_fingerprint({"insecure-skip-tls-verify": True}) == "none (TLS not verified)"
    assert ca_fingerprint({"certificate-authority-data": "bm90IGEgY2VydA=="}) == "unreadable"
    assert quantity("250m") * 1000 == 250 and quantity("64Gi") == 64 * 2**30 and quantity("1e3") == 1000
    assert memory_text(quantity("128Mi")) == "128Mi"
    main = [{"resources": {"requests": {"cpu": "100m", "memory": "1Mi"}}},
            {"resources": {"requests": {"cpu": "200m"}}}]  # fmt: skip
    init = [{"resources": {"requests": {"cpu": "1", "memory": "0"}}}]
    pod = {"spec": {"containers": main, "initContainers": init}}
    cpu, memory = pod_requests(pod)
    assert cpu == 1 and memory == 2**20


def _plugin(root: Path, body: str) -> dict[str, str]:
    """A provisioner package on sys.path of the child kube: a module plus a tiny dist-info whose
    entry_points.txt names it in group kube.provisioners. Entry points are found only through
    installed distributions' metadata, so this is the smallest real installation of a plugin;
    it is put on PYTHONPATH of a subprocess so that this test process stays untouched."""
    root.mkdir(parents=True)
    (root / "testprov.py").write_text(textwrap.dedent(body))
    dist = root / "testprov-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: testprov\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(
        "[kube.provisioners]\nhang = testprov:Hang\nbroken = testprov:Broken\nspawner = testprov:Spawner\n"
    )
    return {"PYTHONPATH": str(root)}


def test_a_hanging_or_failing_provisioner_is_bounded_and_one_line(tmp_path: Path) -> None:
    extra = _plugin(
        tmp_path / "plugin",
        """\
        import time

        class Hang:
            def create(self, name, options, timeout):
                time.sleep(3600)

            def delete(self, name):
                time.sleep(3600)

            def status(self, name):
                return "hanging"

        class Spawner(Hang):
            def create(self, name, options, timeout):
                from kube.core import process

                process.run(["sleep", "3607"])  # in a session of its own, as every kube child

        class Broken:
            def create(self, name, options, timeout):
                raise RuntimeError("no quota left in region x\\nsecond line")

            def delete(self, name):
                pass

            def status(self, name):
                return "broken"
        """,
    )
    env = {**base_env(tmp_path / "home"), **extra}
    began = time.monotonic()
    hung = kube("cluster", "create", "x1", "--provisioner", "hang", "--timeout", "3s", env=env, timeout=60)
    took = time.monotonic() - began
    assert hung.returncode == 9, hung.stderr
    errors = [line for line in hung.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "did not finish within 3s" in errors[0]
    assert took < 20  # the 3 s limit plus interpreter starts and the process group's end
    spawned = kube(
        "cluster", "create", "x4", "--provisioner", "spawner", "--timeout", "3s", env=env, timeout=60
    )
    assert spawned.returncode == 9, spawned.stderr
    time.sleep(1)
    # What the provisioner started in a session of its own ended with it.
    assert not [p for p in Path("/proc").glob("[0-9]*") if _cmdline(p) == "sleep 3607"]
    broken = kube("cluster", "create", "x2", "--provisioner", "broken", env=env, timeout=60)
    assert broken.returncode == 8
    assert "failed: RuntimeError: no quota left in region x second line" in broken.stderr
    missing = kube("cluster", "create", "x3", "--provisioner", "nope", env=env)
    assert missing.returncode == 3 and "no provisioner named 'nope'" in missing.stderr
    assert json.loads(kube("cluster", "list", "-o", "json", env=env).stdout) == []


def _cmdline(proc: Path) -> str:
    try:
        return (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


# -- two local clusters of our own --------------------------------------------------------------


def _stop_engine(name: str) -> None:
    subprocess.run([str(DEV_CLUSTER), "stop", f"--name={name}"], env=dev_cluster_env(), capture_output=True,
                   timeout=120, check=False)  # fmt: skip


@pytest.fixture(scope="module")
def two(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    if not (REAL_CACHE / "1.20.2" / "bin" / "kube-apiserver").exists():
        pytest.skip("the local engine's Kubernetes build is not cached (scripts/dev-cluster build)")
    env = base_env(tmp_path_factory.mktemp("clusters-home"))
    try:
        for name in (A, B):
            made = kube("cluster", "create", name, "--provisioner", "local", "--label", "env=test", env=env,
                        timeout=600)  # fmt: skip
            assert made.returncode == 0, made.stderr
        yield env
    finally:
        for name in (A, B):
            kube("cluster", "delete", name, env=env, timeout=180)
            _stop_engine(name)  # whatever the delete did, never leave a control plane running


def formula(root: Path, name: str, *, hook: str | None = None) -> Path:
    tree = {
        "K3.yaml": k3(name),
        "manifests/web.yaml": textwrap.dedent(f"""\
            apiVersion: apps/v1
            kind: Deployment
            metadata: {{name: {name}-web}}
            spec:
              replicas: 2
              selector: {{matchLabels: {{app: {name}}}}}
              template:
                metadata: {{labels: {{app: {name}}}}}
                spec:
                  containers:
                  - name: web
                    image: nginx:1.25
                    resources: {{requests: {{cpu: 250m, memory: 64Mi}}}}
            """),
        "manifests/secret.yaml": f"apiVersion: v1\nkind: Secret\nmetadata: {{name: {name}-pw}}\n"
        "stringData: {password: hunter2-very-secret}\n",
    }
    if hook:
        tree["scripts/pre-install.py"] = textwrap.dedent(hook)
    write_tree(root / name, tree)
    return root / name


@pytest.mark.cluster
def test_create_list_with_dead_clusters_info(two: dict[str, str], tmp_path: Path) -> None:
    env = two
    listed = json.loads(kube("cluster", "list", "-o", "json", env=env).stdout)
    assert [(c["name"], c["reachable"], c["nodesReady"]) for c in listed] == [(A, True, 1), (B, True, 1)]
    # Two dead clusters: one refuses connections (a closed loopback port), one accepts and never answers.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    home = Path(env["KUBE_HOME"])
    for name, port in (("refused", closed_port()), ("silent", silent.getsockname()[1])):
        config = dead_kubeconfig(tmp_path / f"{name}.kubeconfig", port)
        assert kube("cluster", "add", name, "--kubeconfig", str(config), "--no-check", "--timeout", "1s",
                    env=env).returncode == 0  # fmt: skip
    try:
        began = time.monotonic()
        proc = kube("cluster", "list", "-o", "json", "--timeout", "4s", env=env)
        took = time.monotonic() - began
    finally:
        silent.close()
        for name in ("refused", "silent"):
            kube("cluster", "rm", name, env=env)
    found = {c["name"]: c for c in json.loads(proc.stdout)}
    assert proc.returncode == 0
    assert found[A]["reachable"] and found[B]["reachable"]
    assert not found["refused"]["reachable"] and "refused" in found["refused"]["reason"]
    assert not found["silent"]["reachable"] and "did not answer within 4s" in found["silent"]["reason"]
    # In parallel: the silent cluster costs its timeout once, not once per cluster or per call.
    assert took < 4 * 2, took
    assert TOKEN not in proc.stdout + proc.stderr
    assert "clusters.yaml" not in os.listdir(home / "clusters") if (home / "clusters").exists() else True

    info = json.loads(kube("cluster", "info", A, "-o", "json", env=env).stdout)
    assert info["credentials"] == "token" and len(info["caFingerprint"]) == 95
    assert info["provisioner"] == "local" and info["provisionerStatus"] == "running, healthy"
    assert info["version"] == "v1.20.2" and info["platform"].startswith("linux/")
    [node] = info["nodes"]
    assert node["capacity"] == {"cpu": "32", "memory": "64Gi"}


@pytest.mark.cluster
def test_install_on_both_info_backup_restore_uninstall(two: dict[str, str], tmp_path: Path) -> None:
    env = two
    path = formula(tmp_path, "mcweb")
    proc = kube("install", str(path), "--cluster", A, "--cluster", B, "-n", "h13-web", "--wait", env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"== cluster {A}" in proc.stdout and f"== cluster {B}" in proc.stdout
    summary = proc.stdout.split("CLUSTER")[1]
    assert f"{A}" in summary and f"{B}" in summary and summary.count("installed") == 2
    info = json.loads(kube("cluster", "info", A, "-o", "json", env=env).stdout)
    [node] = info["nodes"]
    assert node["requestedMillicores"] >= 500 and node["requestedBytes"] >= 128 * 2**20
    assert info["podsRunning"].get("h13-web") == 2
    assert ("mcweb", "h13-web") in {(r["name"], r["namespace"]) for r in info["releases"]}

    listed = kube("list", "--all-clusters", "-o", "json", env=env)
    assert listed.returncode == 0
    per = {c["cluster"]: [r["name"] for r in c["result"]] for c in json.loads(listed.stdout)["clusters"]}
    assert "mcweb" in per[A] and "mcweb" in per[B]

    # Back up A, uninstall from B, restore B from A's backup.
    plain, full = tmp_path / "plain", tmp_path / "full"
    assert kube("cluster", "backup", A, "--out", str(plain), env=env).returncode == 0
    text = "".join(p.read_text() for p in plain.rglob("*") if p.is_file())
    assert "hunter2-very-secret" not in text and "mcweb-web" in text
    assert kube("cluster", "backup", A, "--out", str(full), "--include-secrets", env=env).returncode == 0
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in full.rglob("*") if p.is_file())
    refused = kube("cluster", "restore", B, "--from", str(plain), env=env)
    assert refused.returncode == 2 and "--include-secrets" in refused.stderr
    exists = kube("cluster", "restore", B, "--from", str(full), env=env)
    assert exists.returncode == 2 and "already on this cluster: h13-web/mcweb" in exists.stderr
    skipped = kube("cluster", "restore", B, "--from", str(full), "--skip-existing", env=env)
    assert skipped.returncode == 0 and "skipped (exists)" in skipped.stdout
    # --wait: the namespace it made must be gone before objects can be made in it again.
    gone = kube("uninstall", "mcweb", "-n", "h13-web", "--cluster", B, "--wait", env=env)
    assert gone.returncode == 0, gone.stderr
    restored = kube("cluster", "restore", B, "--from", str(full), env=env)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "restored 1 of 1" in restored.stdout
    status = kube("status", "mcweb", "-n", "h13-web", "--cluster", A, "--cluster", B, "-o", "json", env=env)
    assert status.returncode == 0, status.stdout
    results = {c["cluster"]: c["result"]["status"] for c in json.loads(status.stdout)["clusters"]}
    assert results == {A: "Current", B: "Current"}
    secret = subprocess.run(
        ["kubectl", f"--kubeconfig={_kubeconfig(env, B)}", "get", "secret", "mcweb-pw", "-n", "h13-web",
         "-o", "jsonpath={.data.password}"], env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert secret.stdout  # the Secret came back with its data

    both = kube("uninstall", "mcweb", "-n", "h13-web", "--all-clusters", env=env)
    assert both.returncode == 0, both.stdout + both.stderr
    left = kube("list", "--cluster-selector", "env=test", "-o", "json", env=env)
    assert all(c["result"] == [] for c in json.loads(left.stdout)["clusters"])


def _kubeconfig(env: dict[str, str], name: str) -> str:
    doc: dict[str, Any] = json.loads((Path(env["KUBE_HOME"]) / "clusters.yaml").read_text().split("\n", 1)[1])
    return str(doc["clusters"][name]["kubeconfig"])


@pytest.mark.cluster
def test_missing_dependency_is_asked_once_for_every_cluster(two: dict[str, str], tmp_path: Path) -> None:
    env = two
    path = formula(tmp_path, "needy")
    k3_file = path / "K3.yaml"
    k3_file.write_text(k3_file.read_text() + 'dependencies: [{"name": "h13-absent", "version": ">=1.0"}]\n')
    where = ["-n", "h13-needy", "--cluster", A, "--cluster", B]
    refused = kube("install", str(path), *where, env=env)
    assert refused.returncode == 6, refused.stderr
    assert f"cluster {A}: h13-absent" in refused.stderr and f"cluster {B}: h13-absent" in refused.stderr
    assert "no terminal to ask" in refused.stderr
    asked = subprocess.run(
        [sys.executable, "-m", "kube", "install", str(path), *where],
        env={**env, "KUBE_INTERACTIVE": "1"}, input="y\n", capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert asked.returncode == 0, asked.stdout + asked.stderr
    assert asked.stderr.count("Continue on every cluster?") == 1  # once, not once per cluster
    assert "Continue?" not in asked.stderr.replace("Continue on every cluster?", "")
    assert asked.stdout.split("CLUSTER")[1].count("installed") == 2
    upgraded = kube("upgrade", "needy", str(path), *where, env=env)
    assert upgraded.returncode == 0, upgraded.stdout + upgraded.stderr
    assert upgraded.stdout.split("CLUSTER")[1].count("upgraded") == 2
    gone = kube("uninstall", "needy", *where, env=env)
    assert gone.returncode == 0, gone.stdout + gone.stderr


@pytest.mark.cluster
def test_one_cluster_stopped_midway_the_other_succeeds(two: dict[str, str], tmp_path: Path) -> None:
    """Runs last: it stops cluster B (the fixture's teardown deletes both anyway)."""
    env = two
    markers = tmp_path / "markers"
    markers.mkdir()
    hook = f"""\
        import os, pathlib, time
        pathlib.Path({str(markers)!r}, str(os.getpid())).write_text("in the hook")
        time.sleep(6)
        """
    path = formula(tmp_path, "slow", hook=hook)
    result: dict[str, subprocess.CompletedProcess[str]] = {}
    runner = threading.Thread(
        target=lambda: result.setdefault(
            "proc", kube("install", str(path), "--all-clusters", "-n", "h13-slow", env=env)
        )
    )
    runner.start()
    deadline = time.monotonic() + 60
    while len(list(markers.iterdir())) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(list(markers.iterdir())) == 2, "both installs should be in their hook by now"
    _stop_engine(B)  # B goes away after its install read the cluster, before it creates anything
    runner.join(timeout=240)
    proc = result["proc"]
    assert proc.returncode == 12, proc.stdout + proc.stderr  # partial: some clusters succeeded
    rows = {line.split()[0]: line for line in proc.stdout.split("CLUSTER")[1].splitlines()[1:] if line}
    assert "installed" in rows[A]
    assert "failed (exit 8)" in rows[B]
    assert "install succeeded on 1 of 2 clusters; failed on h13b (exit 8)" in proc.stderr
    stopped = kube("cluster", "info", B, env=env)
    assert stopped.returncode == 8 and "its provisioner says: not running" in stopped.stderr
    assert kube("uninstall", "slow", "-n", "h13-slow", "--cluster", A, env=env).returncode == 0
