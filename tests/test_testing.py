"""kube test: the live tier. Most tests run against the real local control plane (scripts/dev-cluster).

The simulated node marks every Pod it runs Ready, and Pods of Jobs Succeeded, without running anything:
kube test reports tests that ran there `not run (simulated node)` (exit 10, 0 with --allow-simulated),
never passed. Failures are made the way a real cluster makes them: a Pod that asks for more CPU than the
node has is never scheduled (a readiness that never comes), and a test Job whose Pod cannot be scheduled
hits its activeDeadlineSeconds and is marked Failed by the Job controller.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kube.cli.app import app
from kube.livetest import pods as testing_pods
from kube.livetest import run as testing
from kube.livetest import steps as steps_module
from kube.livetest.steps import EXIT_TESTS_NOT_RUN, FAILED, NOT_RUN, PASSED, SKIPPED, TestReport, TestStep
from tests.cluster import Cluster
from tests.gitrepo import k3, write_tree

STEPS = list(steps_module.STEPS)

CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {name}-config
data:
  greeting: "{{{{ greeting }}}}"
"""

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  replicas: 2
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
        - name: web
          image: nginx:1.25.3
          resources:
            requests: {{cpu: "{cpu}", memory: 32Mi}}
"""

TEST_JOB = """\
apiVersion: batch/v1
kind: Job
metadata:
  name: {name}-check
spec:
  backoffLimit: 0
  {extra}
  template:
    metadata:
      annotations: {annotations}
    spec:
      restartPolicy: Never
      {pod_extra}
      containers:
        - name: check
          image: busybox:1.36
          command: {command}
"""
WGET = '["wget", "-q", "-O-", "http://{name}"]'


def make_formula(
    root: Path,
    name: str,
    *,
    cpu: str = "10m",
    job_extra: str = "",
    pod_extra: str = "",
    annotations: str = "{}",
    command: str = WGET,
    hook: str | None = None,
    **k3_extra: object,
) -> Path:
    files = {
        "K3.yaml": k3(name, "1.0.0", values={"greeting": "hello"}, **k3_extra),
        "README.md": f"# {name}\n",
        "manifests/configmap.yaml.tmpl": CONFIGMAP.format(name=name),
        "manifests/deployment.yaml": DEPLOYMENT.format(name=name, cpu=cpu),
        "tests/check.yaml": TEST_JOB.format(
            name=name,
            extra=job_extra,
            pod_extra=pod_extra,
            annotations=annotations,
            command=command.format(name=name),
        ),
    }
    if hook is not None:
        files["scripts/pre-install.py"] = textwrap.dedent(hook)
    write_tree(root / "formulas" / name, files)
    return root / "formulas" / name


def kube_test(*args: str) -> tuple[int, dict[str, object], str]:
    result = CliRunner().invoke(app, ["test", *args, "-o", "json"])
    return result.exit_code, json.loads(result.stdout), result.stderr


def steps_of(report: dict[str, object]) -> dict[str, dict[str, object]]:
    return {s["step"]: s for s in report["steps"]}  # type: ignore[attr-defined,index]


# -- without a cluster ---------------------------------------------------------------------------


def test_namespace_name_is_fresh_and_a_valid_label() -> None:
    first, second = testing.namespace_for("a" * 63), testing.namespace_for("a" * 63)
    assert first != second
    assert len(first) <= 63
    assert first.startswith("kube-test-aaa")


def test_report_fails_when_any_step_failed() -> None:
    ok = TestReport("web", "1.0.0", "ns", (TestStep("install", PASSED, 1.0), TestStep("tests", SKIPPED, 0.0)))
    bad = TestReport("web", "1.0.0", "ns", (TestStep("install", FAILED, 1.0, "boom"),))
    assert ok.passed and not bad.passed
    simulated = TestReport(
        "web", "1.0.0", "ns", (TestStep("tests", NOT_RUN, 0.1, "not run (simulated node)"),)
    )
    assert not simulated.passed and not simulated.failed, "a test that did not run is no pass"
    assert simulated.to_json()["notRun"] == ["tests"]
    assert bad.to_json()["steps"] == [
        {"step": "install", "status": "failed", "seconds": 1.0, "detail": "boom"}
    ]


def test_test_objects_get_kube_labels_and_the_namespace(tmp_path: Path) -> None:
    from kube.formula.load import load_formula

    formula = load_formula(make_formula(tmp_path, "web"))
    objects = testing_pods.load_tests(formula)
    prepared = testing_pods._prepare(objects[0], "web", "kube-test-web-1", "run1")
    expected = {"app.kubernetes.io/managed-by": "kube", "kube.sh/formula": "web", "kube.sh/test": "run1"}
    assert prepared["metadata"]["namespace"] == "kube-test-web-1"
    assert prepared["metadata"]["labels"] == expected
    assert prepared["spec"]["template"]["metadata"]["labels"] == expected
    assert "labels" not in objects[0]["metadata"], "the formula's own data is not changed"


def test_unreachable_cluster_fails_at_the_namespace_step(tmp_path: Path) -> None:
    formula = make_formula(tmp_path, "web")
    code, report, _ = kube_test(str(formula), "--kubeconfig", str(tmp_path / "missing-kubeconfig"))
    assert code == 1
    steps = steps_of(report)
    assert steps["resolve"]["status"] == PASSED
    assert steps["namespace"]["status"] == FAILED
    assert "missing-kubeconfig" in str(steps["namespace"]["detail"])
    assert steps["install"]["status"] == SKIPPED
    assert (steps["cleanup"]["status"], steps["cleanup"]["detail"]) == (SKIPPED, "no namespace was created")


def test_unknown_formula_fails_at_resolve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, report, _ = kube_test("./no-such-formula")
    assert code == 1
    steps = steps_of(report)
    assert list(steps) == STEPS
    assert steps["resolve"]["status"] == FAILED
    assert "no-such-formula" in str(steps["resolve"]["detail"])
    assert {s["status"] for name, s in steps.items() if name != "resolve"} == {SKIPPED}


# -- on the local control plane ------------------------------------------------------------------


@pytest.fixture
def on_cluster(cluster: Cluster, monkeypatch: pytest.MonkeyPatch) -> Cluster:
    monkeypatch.setenv("KUBECONFIG", str(cluster.kubeconfig))
    monkeypatch.setenv("PATH", cluster.env["PATH"])
    return cluster


def labelled(cluster: Cluster, formula: str) -> list[str]:
    """Everything in the cluster that carries kube's labels for ``formula``."""
    selector = f"app.kubernetes.io/managed-by=kube,kube.sh/formula={formula}"
    kinds = "all,configmaps,secrets,jobs,persistentvolumeclaims,serviceaccounts"
    out = cluster.kubectl("get", kinds, "--all-namespaces", "-l", selector, "-o", "name").stdout
    return out.split()


def namespace_exists(cluster: Cluster, name: str) -> bool:
    found = cluster.kubectl("get", "namespace", name, "--ignore-not-found", "-o", "name").stdout
    return bool(found.strip())


@pytest.mark.cluster
def test_passing_formula_passes_end_to_end_and_leaves_nothing(on_cluster: Cluster, tmp_path: Path) -> None:
    hook = """\
        import json, os
        with open(os.environ["KUBE_VALUES_OUT"], "w") as out:
            json.dump({"greeting": "hello from the hook"}, out)
    """
    formula = make_formula(tmp_path, "kt-pass", hook=hook)
    code, report, stderr = kube_test(str(formula), "--timeout", "90s", "--allow-simulated")
    steps = steps_of(report)
    assert code == 0, json.dumps(report, indent=2)
    assert list(steps) == STEPS
    assert all(s["status"] == PASSED for name, s in steps.items() if name != "tests")
    assert steps["install"]["detail"].startswith("hook ran sandboxed; kt-pass 1.0.0 installed")  # type: ignore[union-attr]
    # The local control plane's node runs no containers: its "complete" is no test result.
    assert steps["tests"]["status"] == NOT_RUN
    assert str(steps["tests"]["detail"]).startswith(
        "not run (simulated node): 1 of 1 tests were given to node "
    )
    assert report["passed"] is False and report["notRun"] == ["tests"]
    assert report["namespace"].startswith("kube-test-kt-pass-")  # type: ignore[union-attr]
    assert not namespace_exists(on_cluster, str(report["namespace"]))
    assert labelled(on_cluster, "kt-pass") == []
    assert "==> install" in stderr


@pytest.mark.cluster
def test_readiness_that_never_comes_fails_with_the_reason(on_cluster: Cluster, tmp_path: Path) -> None:
    # The simulated node has 32 CPUs: a Pod asking for 64 is never scheduled.
    formula = make_formula(tmp_path, "kt-unready", cpu="64")
    code, report, _ = kube_test(str(formula), "--timeout", "8s")
    steps = steps_of(report)
    assert code == 1
    assert steps["install"]["status"] == PASSED
    assert steps["ready"]["status"] == FAILED
    detail = str(steps["ready"]["detail"])
    assert detail.startswith(
        "not ready after 8s: Deployment/kt-unready (0 of 2 replicas available); pod kt-unready-"
    )
    assert "Unschedulable" in detail and "Insufficient cpu" in detail
    assert steps["tests"]["status"] == SKIPPED
    for step in ("uninstall", "leftovers", "cleanup"):
        assert steps[step]["status"] == PASSED, step
    assert labelled(on_cluster, "kt-unready") == []
    assert not namespace_exists(on_cluster, str(report["namespace"]))


@pytest.mark.cluster
def test_failing_test_job_fails_and_shows_why(on_cluster: Cluster, tmp_path: Path) -> None:
    """A failure the cluster itself makes (no node for the test's Pod, the Job's deadline passes)
    fails the step, simulated node or not."""
    formula = make_formula(
        tmp_path,
        "kt-badtest",
        job_extra="activeDeadlineSeconds: 5",
        pod_extra="nodeSelector: {kube.sh/no-such-node: 'true'}",
    )
    code, report, _ = kube_test(str(formula), "--timeout", "60s")
    steps = steps_of(report)
    assert code == 1
    assert steps["ready"]["status"] == PASSED
    assert steps["tests"]["status"] == FAILED
    detail = str(steps["tests"]["detail"])
    assert detail.startswith("1 of 1 tests failed: Job/kt-badtest-check: failed: "), detail
    assert "active longer than specified deadline" in detail
    assert "Unschedulable" in detail, "the pod's state explains the failure"
    for step in ("uninstall", "leftovers", "cleanup"):
        assert steps[step]["status"] == PASSED, step
    assert labelled(on_cluster, "kt-badtest") == []


@pytest.mark.cluster
@pytest.mark.parametrize("how", ["exit 1", "simnode exit code"])
def test_test_that_fails_on_a_simulated_node_is_not_run_not_passed(
    on_cluster: Cluster, tmp_path: Path, how: str
) -> None:
    """A test Job that runs `exit 1` "completes" on a node that runs no containers: not a pass."""
    if how == "exit 1":
        formula = make_formula(tmp_path, "kt-exit1", command='["sh", "-c", "exit 1"]')
    else:
        formula = make_formula(tmp_path, "kt-exit3", annotations="{simnode.kube.sh/exit-code: '3'}")
    code, report, _ = kube_test(str(formula), "--timeout", "60s")
    steps = steps_of(report)
    assert code == EXIT_TESTS_NOT_RUN, json.dumps(report, indent=2)
    assert steps["tests"]["status"] == NOT_RUN
    assert str(steps["tests"]["detail"]).startswith("not run (simulated node): ")
    assert report["passed"] is False
    for step in ("install", "ready", "uninstall", "leftovers", "cleanup"):
        assert steps[step]["status"] == PASSED, step

    table = CliRunner().invoke(app, ["test", str(formula), "--timeout", "60s", "--allow-simulated"])
    assert table.exit_code == 0, table.output
    assert re.search(r"^tests +not run +[\d.]+ +not run \(simulated node\)", table.stdout, re.MULTILINE)
    assert "NOT RUN (tests: simulated node runs no containers)" in table.stderr


def test_simulated_node_is_recognised_by_label_or_runtime() -> None:
    from kube.k8s.kubectl import Kubectl

    class Nodes(Kubectl):
        def __init__(self, nodes: list[dict[str, object]]) -> None:
            super().__init__()
            self.nodes = nodes

        def list_objects(self, resource: str, **_: object) -> list[dict[str, object]]:  # type: ignore[override]
            assert resource == "nodes"
            return self.nodes

    labelled = {"metadata": {"name": "a", "labels": {"kube.sh/simulated-node": "true"}}}
    by_runtime = {
        "metadata": {"name": "b"},
        "status": {"nodeInfo": {"containerRuntimeVersion": "simulated://1.0"}},
    }
    real = {
        "metadata": {"name": "c"},
        "status": {"nodeInfo": {"containerRuntimeVersion": "containerd://1.7"}},
    }
    assert testing_pods.simulated_nodes(Nodes([labelled, by_runtime])) == ({"a", "b"}, True)
    assert testing_pods.simulated_nodes(Nodes([labelled, real])) == ({"a"}, False)
    assert testing_pods.simulated_nodes(Nodes([real])) == (set(), False)


@pytest.mark.cluster
def test_dependencies_come_from_the_same_archive_and_are_removed(on_cluster: Cluster, tmp_path: Path) -> None:
    make_formula(tmp_path, "kt-db")
    app_dir = make_formula(tmp_path, "kt-app", dependencies=[{"name": "kt-db", "version": "^1"}])
    code, report, _ = kube_test(str(app_dir), "--timeout", "90s", "--allow-simulated")
    steps = steps_of(report)
    assert code == 0, json.dumps(report, indent=2)
    assert str(steps["dependencies"]["detail"]).startswith("kt-db 1.0.0 (from ")
    assert "kt-db" in str(steps["uninstall"]["detail"])
    assert labelled(on_cluster, "kt-db") == [] and labelled(on_cluster, "kt-app") == []


@pytest.mark.cluster
def test_hook_runs_without_network(on_cluster: Cluster, tmp_path: Path) -> None:
    hook = """\
        import socket, sys
        try:
            socket.create_connection(("1.1.1.1", 53), timeout=3).close()
        except OSError as exc:
            sys.exit(f"no network: {exc}")
    """
    formula = make_formula(tmp_path, "kt-nonet", hook=hook)
    code, report, _ = kube_test(str(formula), "--timeout", "30s")
    steps = steps_of(report)
    assert code == 1
    assert steps["install"]["status"] == FAILED
    assert "pre-install hook" in str(steps["install"]["detail"])
    assert "no network" in str(steps["install"]["detail"]), "failed for its network, not the sandbox"
    assert steps["cleanup"]["status"] == PASSED
    assert not namespace_exists(on_cluster, str(report["namespace"]))


@pytest.mark.cluster
def test_a_namespace_given_with_n_is_made_and_deleted(on_cluster: Cluster, tmp_path: Path) -> None:
    formula = make_formula(tmp_path, "kt-named")
    code, report, _ = kube_test(str(formula), "-n", "kt-named-here", "--timeout", "60s", "--allow-simulated")
    steps = steps_of(report)
    assert code == 0, json.dumps(report, indent=2)
    assert report["namespace"] == "kt-named-here"
    assert steps["install"]["status"] == PASSED and steps["cleanup"]["status"] == PASSED
    assert not namespace_exists(on_cluster, "kt-named-here")


@pytest.mark.cluster
def test_a_namespace_that_exists_is_used_and_kept(on_cluster: Cluster, tmp_path: Path) -> None:
    """As for a user who may only work in a namespace of theirs: the release goes, the namespace stays."""
    on_cluster.kubectl("create", "namespace", "kt-mine")
    on_cluster.kubectl("create", "configmap", "theirs", "-n", "kt-mine")
    try:
        formula = make_formula(tmp_path, "kt-kept")
        code, report, _ = kube_test(str(formula), "-n", "kt-mine", "--timeout", "60s", "--allow-simulated")
        steps = steps_of(report)
        assert code == 0, json.dumps(report, indent=2)
        assert steps["namespace"]["detail"] == "kt-mine (it exists: used, and kept afterwards)"
        assert steps["uninstall"]["status"] == PASSED and steps["leftovers"]["status"] == PASSED
        assert steps["cleanup"] == {**steps["cleanup"], "status": SKIPPED}
        assert "existed before the test: kept" in str(steps["cleanup"]["detail"])
        assert labelled(on_cluster, "kt-kept") == []
        theirs = on_cluster.kubectl("get", "configmap", "theirs", "-n", "kt-mine", "-o", "name").stdout
        assert theirs.strip() == "configmap/theirs"
    finally:
        on_cluster.kubectl("delete", "namespace", "kt-mine", "--wait=false")


def test_a_bad_namespace_is_a_usage_error() -> None:
    result = CliRunner().invoke(app, ["test", "whatever", "-n", "Not_A_Label"])
    assert result.exit_code == 2
    assert "invalid namespace 'Not_A_Label'" in result.stderr


@pytest.mark.cluster
def test_ci_formulas_on_the_local_control_plane_says_not_run(on_cluster: Cluster) -> None:
    """scripts/ci-formulas: strict by default (as in the kind workflow); --allow-simulated here."""
    import os
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(repo)}

    def pipeline(*args: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, str(repo / "scripts" / "ci-formulas"), "formulas/memcached", *args]
        return subprocess.run(argv, cwd=repo, env=env, capture_output=True, text=True, timeout=600)

    strict = pipeline()
    assert strict.returncode == 1, strict.stderr[-2000:]
    assert re.search(r"formulas/memcached +passed +not run \(simulated node\)", strict.stdout + strict.stderr)
    assert "==> 1 of 1 formula FAILED" in strict.stderr
    allowed = pipeline("--allow-simulated")
    assert allowed.returncode == 0, allowed.stderr[-2000:]
    assert "tests not run on 1 (simulated node)" in allowed.stderr
