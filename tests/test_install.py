"""The kubectl layer, the kstatus rules, and the install pipeline's domain functions.

Everything that talks to a cluster runs against the real local control plane;
the only stand-in is a kubectl that never answers (a real one cannot be made to hang).
"""

from __future__ import annotations

import json
import os
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kube.core.durations import parse_duration
from kube.core.errors import ClusterError, UsageError
from kube.install import pipeline as install
from kube.k8s import wait
from kube.k8s.kubectl import Kubectl, ObjectRef
from tests.gitrepo import formula_files, write_tree

KubectlFixture = Callable[..., Any]


def write_formula(root: Path, name: str, version: str = "1.0.0", *, manifests: dict[str, str] | None = None,
                  hook: str | None = None, **extra: object) -> Path:  # fmt: skip
    """A formula directory under ``root/formulas/<name>`` (a ConfigMap ``<name>-config`` by default)."""
    files = formula_files(name, version, manifests=manifests, **extra)
    if hook is not None:
        files[f"formulas/{name}/scripts/pre-install.py"] = hook
    write_tree(root, files)
    return root / "formulas" / name


def configmap(name: str, namespace: str | None = None, **data: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data}


def deployment(name: str, replicas: int = 1, **pod_spec: Any) -> str:
    spec = {"containers": [{"name": "app", "image": "nginx:1.19"}], **pod_spec}
    return json.dumps(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app": name}},
                "template": {"metadata": {"labels": {"app": name}}, "spec": spec},
            },
        }
    )


def logging_kubectl(directory: Path) -> tuple[Path, Path]:
    """A wrapper that logs each call when kube makes it, then runs the real kubectl (found on
    PATH now). A call is made once its input has arrived: one that kube started waiting for its
    input (``Kubectl.start_waiting``) is logged when it gets it, and not at all when it never does."""
    import shutil

    real = shutil.which("kubectl")
    assert real, "kubectl is not on PATH"
    log = directory / "kubectl.log"
    wrapper = directory / "kubectl-logged"
    wrapper.write_text(
        f'#!/bin/sh\nin=$(mktemp)\ncat > "$in"\necho "$*" >> "{log}"\n'
        f'"{real}" "$@" < "$in"\nrc=$?\nrm -f "$in"\nexit $rc\n'
    )
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    return wrapper, log


# -- durations and kstatus rules (pure) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"), [("300", 300), ("90s", 90), ("5m", 300), ("1h30m", 5400), ("1.5m", 90)]
)
def test_durations_accept_the_usual_forms(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5 minutes", "-1s", "0", "m5"])
def test_durations_refuse_anything_else(text: str) -> None:
    with pytest.raises(UsageError, match="--timeout"):
        parse_duration(text)


def _deploy(generation: int = 2, observed: int = 2, **status: int) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"generation": generation},
            "spec": {"replicas": 3}, "status": {"observedGeneration": observed, **status}}  # fmt: skip


def test_deployment_is_ready_only_when_every_replica_is_updated_and_available() -> None:
    assert wait.assess(_deploy(replicas=3, updatedReplicas=3, availableReplicas=3))[0] == wait.READY
    assert wait.assess(_deploy(observed=1, replicas=3, updatedReplicas=3, availableReplicas=3)) == (
        wait.PENDING, "waiting for the controller to see generation 2")  # fmt: skip
    assert wait.assess(_deploy(replicas=3, updatedReplicas=2, availableReplicas=3)) == (
        wait.PENDING, "2 of 3 replicas updated")  # fmt: skip
    assert wait.assess(_deploy(replicas=4, updatedReplicas=3, availableReplicas=3))[1] == (
        "1 old replicas pending termination")  # fmt: skip
    assert wait.assess(_deploy(replicas=3, updatedReplicas=3, availableReplicas=1))[0] == wait.PENDING


def test_deployment_past_its_progress_deadline_has_failed() -> None:
    obj = _deploy(replicas=3)
    message = 'ReplicaSet "web-1" has timed out progressing.'
    obj["status"]["conditions"] = [
        {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": message}
    ]
    assert wait.assess(obj) == (wait.FAILED, 'ReplicaSet "web-1" has timed out progressing.')


def test_job_complete_is_ready_and_failed_is_an_error() -> None:
    job: dict[str, Any] = {"apiVersion": "batch/v1", "kind": "Job", "status": {"active": 1}}
    assert wait.assess(job) == (wait.PENDING, "1 active, 0 succeeded")
    job["status"] = {"conditions": [{"type": "Complete", "status": "True"}], "succeeded": 1}
    assert wait.assess(job)[0] == wait.READY
    job["status"] = {"conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                                     "message": "Job has reached the specified backoff limit"}]}  # fmt: skip
    assert wait.assess(job) == (wait.FAILED, "Job has reached the specified backoff limit")


@pytest.mark.parametrize(
    ("obj", "state"),
    [
        ({"apiVersion": "apps/v1", "kind": "StatefulSet", "spec": {"replicas": 2},
          "status": {"readyReplicas": 1}}, wait.PENDING),
        ({"apiVersion": "apps/v1", "kind": "StatefulSet", "spec": {"replicas": 2},
          "status": {"readyReplicas": 2}}, wait.READY),
        ({"apiVersion": "apps/v1", "kind": "DaemonSet", "status": {"desiredNumberScheduled": 2,
          "updatedNumberScheduled": 2, "numberReady": 1, "numberAvailable": 1}}, wait.PENDING),
        ({"apiVersion": "apps/v1", "kind": "DaemonSet", "status": {"desiredNumberScheduled": 2,
          "updatedNumberScheduled": 2, "numberReady": 2, "numberAvailable": 2}}, wait.READY),
        ({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "status": {"phase": "Pending"}}, wait.PENDING),
        ({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "status": {"phase": "Bound"}}, wait.READY),
        ({"apiVersion": "v1", "kind": "Service", "spec": {"type": "LoadBalancer", "clusterIP": "10.0.0.9"}},
         wait.READY),
        ({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
          "status": {"conditions": [{"type": "Established", "status": "False"}]}}, wait.PENDING),
        ({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
          "status": {"conditions": [{"type": "Established", "status": "True"}]}}, wait.READY),
        ({"apiVersion": "v1", "kind": "ConfigMap"}, wait.READY),
    ],
)  # fmt: skip
def test_kstatus_rules_per_kind(obj: dict[str, Any], state: str) -> None:
    assert wait.assess(obj)[0] == state


# -- kubectl against the real control plane -----------------------------------------------------


@pytest.mark.cluster
def test_create_reports_every_object_of_a_partly_failed_call(namespace: str, kubectl: KubectlFixture) -> None:
    kubectl("create", "-f", "-", input=json.dumps(configmap("taken", namespace)))
    bad_service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "bad", "namespace": namespace},
                   "spec": {"ports": [{"port": 99999}]}}  # fmt: skip
    unknown = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w", "namespace": namespace},
    }
    objects = [configmap("one", namespace), configmap("taken", namespace), bad_service, unknown,
               configmap("two", namespace)]  # fmt: skip

    outcomes = Kubectl().create(objects)

    assert [(o.ref.name, o.ok, o.reason) for o in outcomes] == [
        ("one", True, ""),
        ("taken", False, "AlreadyExists"),
        ("bad", False, "Invalid"),
        ("w", False, "NoMatch"),
        ("two", True, ""),
    ]
    assert "99999" in outcomes[2].message
    assert outcomes[0].live is not None and outcomes[0].live["metadata"]["uid"]
    names = kubectl("get", "configmaps", "-n", namespace, "-o", "name").stdout.split()
    assert {"configmap/one", "configmap/two", "configmap/taken"} <= set(names)


@pytest.mark.cluster
def test_a_lone_invalid_object_is_still_named(namespace: str) -> None:
    bad = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "bad", "namespace": namespace},
           "spec": {"ports": [{"port": 0}]}}  # fmt: skip
    [outcome] = Kubectl().create([bad])
    assert (outcome.ok, outcome.reason) == (False, "Invalid")
    assert "spec.ports[0].port" in outcome.message


@pytest.mark.cluster
def test_get_and_delete_take_every_object_in_one_call(namespace: str, tmp_path: Path) -> None:
    wrapper, log = logging_kubectl(tmp_path)
    kubectl = Kubectl(binary=str(wrapper))
    kubectl.create([configmap("a", namespace), configmap("b", namespace)])
    refs = [ObjectRef("", "v1", "ConfigMap", namespace, n) for n in ("a", "b", "missing")]
    log.write_text("")

    got = kubectl.get(refs)
    assert [(o.ref.name, o.ok) for o in got] == [("a", True), ("b", True), ("missing", False)]
    assert [o.ok for o in kubectl.delete(list(reversed(refs)))] == [True, True, True]
    assert [o.ok for o in kubectl.get(refs)] == [False, False, False]
    assert len(log.read_text().splitlines()) == 3


@pytest.mark.cluster
def test_unreachable_cluster_is_one_line_with_a_hint(cluster: Any, tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = tmp_path / "kubeconfig"
    config.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: dead\n"
        f"clusters: [{{name: dead, cluster: {{server: 'https://127.0.0.1:{port}'}}}}]\n"
        "users: [{name: u, user: {token: x}}]\n"
        "contexts: [{name: dead, context: {cluster: dead, user: u}}]\n"
    )
    os.environ["PATH"] = cluster.env["PATH"] + os.pathsep + os.environ["PATH"]
    with pytest.raises(ClusterError) as caught:
        Kubectl(kubeconfig=str(config)).list_objects("secrets", namespace=None)
    assert caught.value.message.startswith("cannot reach the cluster:")
    assert "\n" not in caught.value.message
    assert (
        caught.value.hint and "kubectl cluster-info" in caught.value.hint and "--context" in caught.value.hint
    )


def test_kubectl_that_hangs_is_stopped_at_its_timeout(tmp_path: Path) -> None:
    # A stand-in: no real kubectl can be made to hang on demand. It also forks a child that must die with it.
    fake = tmp_path / "kubectl"
    fake.write_text("#!/bin/sh\nsleep 60 &\nsleep 60\n")
    fake.chmod(0o755)
    started = time.monotonic()
    with pytest.raises(ClusterError, match=r"kubectl create did not answer within 1s"):
        Kubectl(binary=str(fake), timeout=1).create([configmap("x", "default")])
    assert time.monotonic() - started < 10


def test_a_read_for_deleted_objects_that_never_answers_is_not_gone_and_not_a_failure(tmp_path: Path) -> None:
    # A stand-in again: the read after an uninstall's delete that took over 5 s (kubectl reading the
    # API groups again once a CRD went) made the whole uninstall exit 8 with every object deleted.
    fake = tmp_path / "kubectl"
    fake.write_text("#!/bin/sh\nexec sleep 60\n")
    fake.chmod(0o755)
    ref = ObjectRef("", "v1", "ConfigMap", "default", "x")
    left = wait.await_gone(Kubectl(binary=str(fake), timeout=1), [ref], deadline=time.monotonic())
    assert left == {ref: {}}  # not known to be gone: the uninstall says deleting, and keeps the record


def test_missing_kubectl_says_how_to_get_one(tmp_path: Path) -> None:
    with pytest.raises(ClusterError, match="cannot run kubectl") as caught:
        Kubectl(binary=str(tmp_path / "nowhere" / "kubectl")).current_namespace()
    assert caught.value.hint and "KUBE_KUBECTL" in caught.value.hint


# -- wait ---------------------------------------------------------------------------------------


@pytest.mark.cluster
def test_wait_sees_a_deployment_become_available(namespace: str, kubectl: KubectlFixture) -> None:
    kubectl("create", "-n", namespace, "-f", "-", input=deployment("web", replicas=2))
    ref = ObjectRef("apps", "v1", "Deployment", namespace, "web")
    report = wait.wait_ready(Kubectl(), [ref], timeout=60)
    assert report.ready and not report.timed_out
    assert report.statuses[0].message == "2 of 2 replicas available"
    report.raise_for_status()


@pytest.mark.cluster
def test_wait_times_out_naming_what_is_not_ready(namespace: str, kubectl: KubectlFixture) -> None:
    kubectl("create", "-n", namespace, "-f", "-", input=deployment("stuck", nodeSelector={"no": "such-node"}))
    kubectl("create", "-n", namespace, "-f", "-", input=json.dumps(configmap("fine")))
    refs = [
        ObjectRef("apps", "v1", "Deployment", namespace, "stuck"),
        ObjectRef("", "v1", "ConfigMap", namespace, "fine"),
    ]
    started = time.monotonic()
    report = wait.wait_ready(Kubectl(), refs, timeout=3)
    assert time.monotonic() - started < 15
    assert report.timed_out and [s.state for s in report.statuses] == [wait.PENDING, wait.READY]
    with pytest.raises(
        Exception, match=r"not ready after 3s: Deployment/stuck \(0 of 1 replicas available\)"
    ) as caught:
        report.raise_for_status()
    assert caught.value.exit_code == 9  # type: ignore[attr-defined]


# -- the pipeline, called as a library ----------------------------------------------------------


def test_resolve_takes_a_path_when_the_argument_looks_like_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_formula(tmp_path, "demo", "2.0.0")
    monkeypatch.chdir(tmp_path / "formulas")
    source = install.resolve("./demo")
    assert (source.origin, source.formula.name, str(source.formula.version)) == ("path", "demo", "2.0.0")


def test_resolve_reports_a_path_without_a_formula(tmp_path: Path) -> None:
    from kube.core.errors import NotFoundError

    with pytest.raises(NotFoundError, match="no formula there"):
        install.resolve(str(tmp_path / "empty"))


@pytest.mark.cluster
def test_dry_run_renders_and_only_reads_the_release(namespace: str, tmp_path: Path) -> None:
    directory = write_formula(tmp_path, "demo", manifests={"cm.yaml.tmpl": "apiVersion: v1\nkind: ConfigMap\n"
                              "metadata: {name: demo}\ndata: {ns: '{{ kube.namespace }}'}\n"})  # fmt: skip
    wrapper, log = logging_kubectl(tmp_path)
    kubectl = Kubectl(binary=str(wrapper))
    the_plan = install.plan(install.resolve(str(directory)), kubectl, namespace=namespace, dry_run=True)
    result = install.install(the_plan, kubectl, install.InstallOptions(dry_run=True))
    # One read of the release (both record formats), so that a dry run can say
    # "already installed" or "would upgrade"; never a write.
    calls = log.read_text().splitlines()
    assert result.outcome == "dry run" and [c.split()[0] for c in calls] == ["get"], calls
    [obj] = result.rendered
    assert obj.data["metadata"]["namespace"] == namespace and obj.data["data"] == {"ns": namespace}
    assert obj.data["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "kube"


@pytest.mark.cluster
def test_install_uses_one_kubectl_call_per_wave(namespace: str, tmp_path: Path) -> None:
    manifests = {f"cm{i}.yaml": json.dumps(configmap(f"cm{i}")) for i in range(10)}
    manifests["deploy.json"] = deployment("web")
    directory = write_formula(tmp_path, "many", manifests=manifests)
    wrapper, log = logging_kubectl(tmp_path)
    kubectl = Kubectl(binary=str(wrapper))
    the_plan = install.plan(install.resolve(str(directory)), kubectl, namespace=namespace)
    result = install.install(the_plan, kubectl, install.InstallOptions(interactive=False))
    assert result.outcome == "installed" and result.count(install.CREATED) == 11
    verbs = [line.split()[0] for line in log.read_text().splitlines()]
    # The record lookup; the one wave, carrying the pending record before its objects; the record
    # completed with the uids the API server gave.
    assert verbs == ["get", "create", "replace"]
    # kubectl checks the formula's objects against the server's schema; kube's own record it does not
    # (that check alone costs a process a fetch of the whole OpenAPI document).
    create, replace = log.read_text().splitlines()[1:]
    assert "--validate=false" not in create and "--validate=false" in replace
    assert result.record is not None and len(result.record.objects) == 11
    assert all(o.uid for o in result.record.objects) and result.record.outcome == "complete"


def test_resolve_prefers_the_workspace_copy_and_warns_when_the_archive_is_newer(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from kube.cli.app import app
    from tests.gitrepo import commit, make_repo

    repo = make_repo(tmp_path / "remote", formula_files("nginx", "1.10.0"))
    runner = CliRunner()
    assert runner.invoke(app, ["update", "--repo", str(repo)]).exit_code == 0
    assert runner.invoke(app, ["get", "nginx"]).exit_code == 0
    assert install.resolve("nginx").origin == "workspace"
    assert install.resolve("nginx").warnings == ()

    commit(repo, formula_files("nginx", "1.11.0"))
    assert runner.invoke(app, ["update"]).exit_code == 0
    source = install.resolve("nginx")

    assert (source.origin, str(source.formula.version)) == ("workspace", "1.10.0")
    assert source.notes[0].startswith("Using your edited copy of nginx in ")
    assert "the archive holds nginx 1.11.0, newer than your edited copy (1.10.0)" in source.warnings[-1]


def test_resolve_falls_back_to_the_archive(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from kube.cli.app import app
    from tests.gitrepo import make_repo

    repo = make_repo(tmp_path / "remote", formula_files("nginx", "1.10.0"))
    assert CliRunner().invoke(app, ["update", "--repo", str(repo)]).exit_code == 0
    source = install.resolve("nginx")
    assert (source.origin, str(source.formula.version)) == ("archive", "1.10.0")
