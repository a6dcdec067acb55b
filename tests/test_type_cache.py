"""The namespaced types a cluster listed last time (``kube.k8s.type_cache``) and the names kube
gives them (``kube.k8s.kubectl.resource_names``): a hint that starts an uninstall's read of what
lives in a namespace early, never a reason to miss a resident."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from kube.k8s import kubectl as kubectl_module
from kube.k8s import type_cache
from kube.k8s.kubectl import Kubectl, resource_names
from tests.cluster import Cluster
from tests.test_install import write_formula

# As kubectl 1.20 prints it (tabwriter columns; SHORTNAMES may be empty).
_TABLE = """\
NAME                              SHORTNAMES   APIVERSION                        NAMESPACED   KIND
configmaps                        cm           v1                                true         ConfigMap
podtemplates                                   v1                                true         PodTemplate
deployments                       deploy       apps/v1                           true         Deployment
leases                                         coordination.k8s.io/v1            true         Lease
crontabs                          ct           stable.example.com/v1             true         CronTab
"""
# As kubectl 1.19 and older print it: the group, no version.
_OLD_TABLE = """\
NAME          SHORTNAMES   APIGROUP              NAMESPACED   KIND
configmaps    cm                                 true         ConfigMap
deployments   deploy       apps                  true         Deployment
leases                     coordination.k8s.io   true         Lease
"""


@pytest.fixture(autouse=True)
def _nothing_left_ahead() -> object:
    yield
    kubectl_module.stop_early()


def test_types_are_named_with_their_version_so_kubectl_maps_them_at_once() -> None:
    assert resource_names(_TABLE) == [
        "configmaps", "podtemplates", "deployments.v1.apps", "leases.v1.coordination.k8s.io",
        "crontabs.v1.stable.example.com",
    ]  # fmt: skip
    assert resource_names(_OLD_TABLE) == ["configmaps", "deployments.apps", "leases.coordination.k8s.io"]
    assert resource_names("configmaps\ndeployments.apps\n") == ["configmaps", "deployments.apps"]
    assert resource_names("") == []


def test_the_hint_is_kept_per_kubeconfig_and_context(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBE_HOME", str(tmp_path / "home"))
    one, other = Kubectl(context="one"), Kubectl(context="one", kubeconfig=str(tmp_path / "other"))
    assert type_cache.hinted(one) == []
    type_cache.remember(one, ["configmaps", "deployments.v1.apps"])
    assert type_cache.hinted(one) == ["configmaps", "deployments.v1.apps"]
    assert type_cache.hinted(other) == []
    assert type_cache.hinted(Kubectl(context="two")) == []


def test_a_hint_that_kube_did_not_write_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The names go to kubectl's argv: one that reads as an option, or a list of two, is refused."""
    monkeypatch.setenv("KUBE_HOME", str(tmp_path / "home"))
    kubectl = Kubectl()
    type_cache.remember(kubectl, ["configmaps"])
    [hint] = (tmp_path / "home" / "cache").iterdir()
    for text in ("configmaps\n--kubeconfig=/etc/passwd\n", "configmaps,secrets\n", "\x00\n"):
        hint.write_text(text)
        assert type_cache.hinted(kubectl) == [], text
    hint.write_bytes(b"\xff\xfe\n")
    assert type_cache.hinted(kubectl) == []


def test_a_home_that_cannot_be_written_loses_only_the_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "home").write_text("a file where the home should be")
    monkeypatch.setenv("KUBE_HOME", str(tmp_path / "home"))
    type_cache.remember(Kubectl(), ["configmaps"])  # no error
    assert type_cache.hinted(Kubectl()) == []


def test_events_and_endpoints_are_not_listed_for_residents() -> None:
    listed = [
        "configmaps",
        "endpoints",
        "events",
        "events.v1.events.k8s.io",
        "pods.v1beta1.metrics.k8s.io",
        "pods",
    ]
    assert type_cache.resident_types(listed) == ["configmaps", "pods"]


@pytest.mark.cluster
def test_the_servers_types_are_all_accepted_by_one_get(cluster: Cluster) -> None:
    kubectl = Kubectl(kubeconfig=cluster.kubeconfig)
    types = kubectl.namespaced_resources()
    assert "deployments.v1.apps" in types and "configmaps" in types
    assert kubectl.list_many_or_none(types, "kube-system") is not None
    # A type the server does not have: kubectl refuses the whole read.
    assert kubectl.list_many_or_none(["configmaps", "crontabs.v1.stable.example.com"], "kube-system") is None


def _logging_kubectl(tmp_path: Path, real: str, log: Path) -> Path:
    """Logs each call as it starts, but a ``delete`` once kube has sent it its objects: one
    started waiting for its input (``Kubectl.start_waiting``) is sent only after a read whose
    answer it needs, so the order logged is the order of kube's steps, not of two processes
    that started a millisecond apart."""
    wrapper = tmp_path / "kubectl"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" != delete ]; then echo "$*" >> "{log}"; exec "{real}" "$@"; fi\n'
        f'in=$(mktemp)\ncat > "$in"\necho "$*" >> "{log}"\n'
        f'"{real}" "$@" < "$in"\nrc=$?\nrm -f "$in"\nexit $rc\n'
    )
    wrapper.chmod(0o755)
    return wrapper


@pytest.mark.cluster
@pytest.mark.parametrize(
    "hint",
    [
        pytest.param("fresh", id="the-servers-own-list"),
        pytest.param("without-configmaps", id="a-hint-lacking-the-residents-type"),
        pytest.param("with-a-gone-type", id="a-hint-naming-a-type-the-server-lacks"),
    ],
)
def test_an_uninstall_started_from_a_hint_still_sees_every_resident(
    cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hint: str
) -> None:
    """The namespace kube created is kept while a ConfigMap someone else made lives in it,
    whatever the hint said, and deleted when nothing else lives there; the residents read from
    the hint starts once the records are read, before the objects' delete, and the server's
    list replaces the hint."""
    real = shutil.which("kubectl", path=cluster.env["PATH"])
    assert real is not None
    log = tmp_path / "calls.log"
    formula = write_formula(tmp_path, "hinted")
    # The hint is keyed by the kubeconfig kube's kubectl is given: the cluster's, in KUBECONFIG.
    monkeypatch.setenv("KUBE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KUBECONFIG", cluster.env["KUBECONFIG"])
    env = {**os.environ, **cluster.env, "KUBE_KUBECTL": str(_logging_kubectl(tmp_path, real, log))}
    fresh = Kubectl().namespaced_resources()
    written = {
        "fresh": fresh,
        "without-configmaps": [t for t in fresh if t != "configmaps"],
        "with-a-gone-type": [*fresh, "crontabs.v1.stable.example.com"],
    }[hint]
    hinted_read = f"get {','.join(type_cache.resident_types(written))} "

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "kube", *args], env=env, capture_output=True, text=True, timeout=120
        )

    kept, emptied = f"hint-{uuid.uuid4().hex[:8]}", f"hint-{uuid.uuid4().hex[:8]}"
    try:
        assert run("install", str(formula), "-n", kept).returncode == 0
        cluster.kubectl("create", "configmap", "mine", "-n", kept)
        type_cache.remember(Kubectl(), written)
        log.write_text("")
        done = run("uninstall", "hinted", "-n", kept)
        assert done.returncode == 0, done.stderr
        assert f"namespace {kept} was kept: ConfigMap/mine still lives in it" in done.stderr, done.stderr
        assert cluster.kubectl("get", "namespace", kept).returncode == 0
        calls = log.read_text().splitlines()
        started = [i for i, c in enumerate(calls) if c.startswith(hinted_read)]
        # Started before the objects' delete is sent (after the read that decides it). Without
        # a hint it waits for the server's list, and starts after the delete.
        deletes = [i for i, c in enumerate(calls) if c.startswith("delete ")]
        assert started and deletes and started[0] < deletes[0], calls
        assert type_cache.hinted(Kubectl()) == fresh

        assert run("install", str(formula), "-n", emptied).returncode == 0
        type_cache.remember(Kubectl(), written)
        done = run("uninstall", "hinted", "-n", emptied)
        assert done.returncode == 0, done.stderr
        assert (
            f"namespace {emptied} deleting (Terminating)" in done.stdout
            or f"namespace {emptied} deleted" in done.stdout
        ), done.stdout
    finally:
        for ns in (kept, emptied):
            cluster.kubectl("delete", "namespace", ns, "--wait=false", "--ignore-not-found", check=False)
