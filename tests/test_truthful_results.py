"""Results that tell the truth, on the real local control plane: uninstall says ``deleted`` only
once the API server answers NotFound (finalizers make objects ``deleting`` or ``stuck``, the
record stays and a re-run resumes); a batch kubectl stops at an object its validation refuses
marks the rest ``not attempted``; ``--atomic --wait`` names what was not ready; a formula's own
Namespace that exists already is ``adopted`` and left by uninstall."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kube.k8s.kubectl import Kubectl, ObjectRef
from kube.k8s.kubectl_output import Reason, assign_batch_errors
from kube.livetest import run as livetest
from kube.livetest.steps import StepFailed
from tests.test_cli_install import kube, row
from tests.test_install import write_formula

KubectlFixture = Callable[..., Any]
HOLD = "example.com/hold"
RELEASE_HOLD = '{"metadata": {"finalizers": null}}'

HELD = f"""\
apiVersion: v1
kind: ConfigMap
metadata:
  name: held
  finalizers: [{HOLD}]
data: {{a: "1"}}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: free
data: {{a: "1"}}
"""


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")


def listed(namespace: str) -> list[dict[str, Any]]:
    result = kube("list", "-n", namespace, "-o", "json")
    assert result.exit_code == 0, result.output
    data: list[dict[str, Any]] = json.loads(result.stdout)
    return data


def exists(kubectl: KubectlFixture, *args: str) -> bool:
    return bool(kubectl("get", *args, check=False).returncode == 0)


# -- uninstall ------------------------------------------------------------------------------------


@pytest.mark.cluster
def test_a_finalizer_that_never_completes_is_stuck_and_the_record_stays_until_a_rerun_finishes(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    directory = write_formula(tmp_path, "hold", manifests={"cm.yaml": HELD})
    assert kube("install", str(directory), "-n", namespace).exit_code == 0
    try:
        started = time.monotonic()
        removed = kube("uninstall", "hold", "-n", namespace, "--wait", "--timeout", "5")
        elapsed = time.monotonic() - started
        assert removed.exit_code == 9, removed.output
        assert elapsed < 30  # --timeout bounds the whole uninstall
        assert row(removed, "ConfigMap", "held")[-1] == f"stuck: finalizer {HOLD}"
        assert row(removed, "ConfigMap", "free")[-1] == "deleted"
        assert "ConfigMap/held stuck: finalizer example.com/hold" in removed.stderr
        assert "the release record stays (status uninstalling)" in removed.stdout
        # The object is still there, being deleted; the record lists it and only it.
        held = json.loads(kubectl("get", "configmap", "held", "-n", namespace, "-o", "json").stdout)
        assert held["metadata"]["deletionTimestamp"]
        [release] = listed(namespace)
        assert release["status"] == "uninstalling" and release["objects"] == 1
        table = kube("list", "-n", namespace)
        assert "uninstalling" in table.stdout

        # Without --wait, a re-run says the deletion is requested and under way, not done.
        again = kube("uninstall", "hold", "-n", namespace)
        assert again.exit_code == 0, again.output
        assert row(again, "ConfigMap", "held")[-1] == "deleting"
        assert f"ConfigMap/held: deletion requested; finalizer {HOLD}" in again.stdout
        assert listed(namespace)[0]["status"] == "uninstalling"
        # Installing over an uninstall under way would build on objects on their way out.
        over = kube("install", str(directory), "-n", namespace)
        assert over.exit_code == 8, over.output
        assert f"release hold in namespace {namespace} is being uninstalled" in over.stderr
    finally:
        kubectl(
            "patch", "configmap", "held", "-n", namespace, "--type=merge", "-p", RELEASE_HOLD, check=False
        )
    done = kube("uninstall", "hold", "-n", namespace, "--wait", "--timeout", "30")
    assert done.exit_code == 0, done.output
    assert row(done, "ConfigMap", "held")[-1] == "deleted"
    assert f"uninstalled hold 1.0.0 in namespace {namespace}: 1 object deleted" in done.stdout
    assert listed(namespace) == []
    assert not exists(kubectl, "configmap", "held", "-n", namespace)


DEPENDENT_HELD = f"""\
apiVersion: v1
kind: ConfigMap
metadata:
  name: db
data: {{a: "1"}}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: web
  finalizers: [{HOLD}]
  annotations: {{config.kubernetes.io/depends-on: /ConfigMap/db}}
data: {{a: "1"}}
"""


@pytest.mark.cluster
def test_what_a_stuck_dependent_names_is_not_attempted_and_a_rerun_finishes(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    directory = write_formula(tmp_path, "pair", manifests={"cm.yaml": DEPENDENT_HELD})
    assert kube("install", str(directory), "-n", namespace).exit_code == 0
    try:
        removed = kube("uninstall", "pair", "-n", namespace, "--timeout", "4")  # no --wait: depends-on waits
        assert removed.exit_code == 9, removed.output
        assert row(removed, "ConfigMap", "web")[-1] == f"stuck: finalizer {HOLD}"
        assert row(removed, "ConfigMap", "db")[-1] == "not attempted"
        assert exists(kubectl, "configmap", "db", "-n", namespace)
        [release] = listed(namespace)
        assert release["status"] == "uninstalling" and release["objects"] == 2
    finally:
        kubectl("patch", "configmap", "web", "-n", namespace, "--type=merge", "-p", RELEASE_HOLD, check=False)
    done = kube("uninstall", "pair", "-n", namespace, "--wait", "--timeout", "30")
    assert done.exit_code == 0, done.output
    assert row(done, "ConfigMap", "web")[-1] == "deleted" and row(done, "ConfigMap", "db")[-1] == "deleted"
    assert listed(namespace) == []


@pytest.mark.cluster
def test_uninstall_without_wait_reports_a_held_object_as_deleting(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    directory = write_formula(tmp_path, "hold", manifests={"cm.yaml": HELD})
    assert kube("install", str(directory), "-n", namespace).exit_code == 0
    try:
        removed = kube("uninstall", "hold", "-n", namespace, "-o", "json")
        assert removed.exit_code == 0, removed.output
        data = json.loads(removed.stdout)
        states = {o["name"]: (o["status"], o["detail"]) for o in data["objects"]}
        assert states["held"] == ("deleting", f"deletion requested; finalizer {HOLD}")
        assert states["free"] == ("deleted", "")
        assert data["outcome"] == "uninstalling" and data["recordRemoved"] is False
    finally:
        kubectl(
            "patch", "configmap", "held", "-n", namespace, "--type=merge", "-p", RELEASE_HOLD, check=False
        )


@pytest.mark.cluster
def test_many_objects_that_go_at_once_are_read_back_by_kube_not_waited_for_one_by_one(
    namespace: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # kubectl's own wait takes one object after another, a fifth of a second each past its
    # client's burst: past SETTLE_OBJECTS, kube deletes without it and reads back itself.
    from kube.install.uninstall import SETTLE_OBJECTS
    from tests.test_install import logging_kubectl

    count = SETTLE_OBJECTS + 5
    docs = "---\n".join(f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c{i}}}\n" for i in range(count))
    directory = write_formula(tmp_path, "many", manifests={"cms.yaml": docs})
    assert kube("install", str(directory), "-n", namespace).exit_code == 0
    wrapper, log = logging_kubectl(tmp_path)
    monkeypatch.setenv("KUBE_KUBECTL", str(wrapper))
    removed = kube("uninstall", "many", "-n", namespace, "-o", "json")
    assert removed.exit_code == 0, removed.output
    data = json.loads(removed.stdout)
    assert [o["status"] for o in data["objects"]] == ["deleted"] * count and data["recordRemoved"] is True
    deletes = [line for line in log.read_text().splitlines() if line.startswith("delete ")]
    assert "--wait=false" in deletes[0] and "--wait=true" not in deletes[0], deletes
    assert not Kubectl().list_objects("configmaps", namespace=namespace, selector="kube.sh/release=many")


@pytest.mark.cluster
def test_a_namespace_kube_created_is_deleted_only_once_the_api_server_no_longer_has_it(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    fresh = f"{namespace}-own"
    assert kube("install", str(write_formula(tmp_path, "solo")), "-n", fresh).exit_code == 0
    removed = kube("uninstall", "solo", "-n", fresh, "--wait", "--timeout", "60")
    assert removed.exit_code == 0, removed.output
    assert f"namespace {fresh} deleted" in removed.stdout
    assert not exists(kubectl, "namespace", fresh)


@pytest.mark.cluster
def test_kube_test_cleanup_fails_while_the_namespace_is_still_terminating(
    namespace: str, kubectl: KubectlFixture
) -> None:
    scratch = f"{namespace}-t"
    kubectl("create", "namespace", scratch)
    held = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "held", "finalizers": [HOLD]}}
    kubectl("create", "-n", scratch, "-f", "-", input=json.dumps(held))
    try:
        with pytest.raises(StepFailed) as failed:
            # The namespace controller sets its conditions a few seconds into the deletion.
            livetest._delete_namespace(Kubectl(), scratch, timeout=12)
        assert f"namespace {scratch} still Terminating after 12s" in failed.value.message
        assert HOLD in failed.value.message  # the namespace's condition names the finalizer
    finally:
        kubectl("patch", "configmap", "held", "-n", scratch, "--type=merge", "-p", RELEASE_HOLD, check=False)
    detail, _ = livetest._delete_namespace(Kubectl(), scratch, timeout=60)
    assert detail == f"namespace {scratch} deleted"
    assert not exists(kubectl, "namespace", scratch)


# -- per-object results -----------------------------------------------------------------------------

BATCH = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: one}
data: {a: "1"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: two}
data: {a: "1"}
bogus: 1
---
apiVersion: v1
kind: ConfigMap
metadata: {name: three}
data: {a: "1"}
---
apiVersion: v1
kind: Service
metadata: {name: four}
spec:
  ports: [{port: 80}]
"""


@pytest.mark.cluster
def test_objects_after_one_kubectl_validation_refuses_are_not_attempted(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    directory = write_formula(tmp_path, "batch", manifests={"all.yaml": BATCH})
    result = kube("install", str(directory), "-n", namespace)
    assert result.exit_code == 8, result.output
    assert row(result, "ConfigMap", "one")[-1] == "created"
    assert row(result, "ConfigMap", "two")[-1] == "failed (kubectl validation)"
    assert row(result, "ConfigMap", "three")[-1] == "not attempted"
    assert row(result, "Service", "four")[-1] == "not attempted"
    assert (
        "ConfigMap/two (manifests/all.yaml:6): kubectl validation: "
        'ValidationError(ConfigMap): unknown field "bogus"' in result.stdout
    )
    assert "Unknown" not in result.stdout
    assert "1 object exists, 1 failed, 2 not attempted" in result.stdout
    assert not exists(kubectl, "configmap", "three", "-n", namespace)
    # status tells of all four: what was never attempted is the release's too, and not there.
    status = kube("status", "batch", "-n", namespace)
    assert status.exit_code == 1, status.output
    assert "(3 of 4 objects not Current)" in status.stdout, status.output
    assert "not created: not attempted (the install stopped at an earlier object)" in status.stdout
    removed = kube("uninstall", "batch", "-n", namespace)
    assert removed.exit_code == 0, removed.output
    assert "1 object deleted" in removed.stdout


def test_a_first_object_kubectl_refuses_leaves_no_release_and_no_namespace(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    first = BATCH.split("---\n")[1]  # ConfigMap/two, with a field kubectl's validation refuses
    directory = write_formula(tmp_path, "empty", manifests={"cm.yaml": first})
    target = f"{namespace}-none"
    result = kube("install", str(directory), "-n", target)
    assert result.exit_code == 8, result.output
    assert row(result, "Namespace", target)[-1] == "rolled back"
    assert "nothing was created" in result.stdout
    listed = kube("list", "-n", target)
    assert "nothing installed" in listed.output, listed.output
    gone = kubectl("get", "namespace", target, "-o", "jsonpath={.status.phase}", check=False)
    assert gone.returncode != 0 or gone.stdout == "Terminating"


def test_each_failure_of_a_stopped_batch_keeps_its_own_reason() -> None:
    """kubectl 1.20's own output (captured from the local control plane) for five objects: a
    exists, e is refused by the API server, d fails kubectl's validation, g was never sent."""
    stderr = (
        'Error from server (AlreadyExists): error when creating "STDIN": configmaps "a" already exists\n'
        'Error from server (BadRequest): error when creating "STDIN": ConfigMap in version "v1" cannot be '
        'handled as a ConfigMap: v1.ConfigMap.ObjectMeta: ... bigger context ...|{"apiVersion":"v1",'
        '"data":{"x":1},"kind":"ConfigMap","metadata":{"name":"e","names|...\n'
        'error validating "STDIN": error validating data: ValidationError(Service.spec.ports[0].port): '
        'invalid type for io.k8s.api.core.v1.ServicePort.port: got "string", expected "integer"; if you '
        "choose to ignore these errors, turn validation off with --validate=false\n"
    )
    refs = [ObjectRef("", "v1", k, "ns", n) for k, n in
            [("ConfigMap", "a"), ("ConfigMap", "e"), ("Service", "d"), ("ConfigMap", "g")]]  # fmt: skip
    errors = assign_batch_errors(refs, stderr)
    assert errors[refs[0]][0] == "AlreadyExists"
    assert errors[refs[1]][0] == "BadRequest"
    assert errors[refs[2]] == (
        Reason.VALIDATION,
        "ValidationError(Service.spec.ports[0].port): invalid type for io.k8s.api.core.v1.ServicePort.port: "
        'got "string", expected "integer"',
    )
    assert errors[refs[3]][0] == Reason.NOT_ATTEMPTED


NEVER_READY = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {a: "1"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      nodeSelector: {kube.sh/test-nowhere: "true"}
      containers: [{name: app, image: "nginx:1.19"}]
"""


@pytest.mark.cluster
def test_atomic_wait_says_which_object_was_not_ready_before_rolling_back(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    directory = write_formula(tmp_path, "never", manifests={"d.yaml": NEVER_READY})
    result = kube("install", str(directory), "-n", namespace, "--atomic", "--wait", "--timeout", "5s")
    assert result.exit_code == 9, result.output
    why = "Deployment/web not ready after 5s: 0 of 1 replicas available"
    lines = result.stdout.splitlines()
    cause = next(i for i, line in enumerate(lines) if why in line and "rolling back" in line)
    first_row = next(i for i, line in enumerate(lines) if "rolled back" in line and "Deployment" in line)
    assert cause < first_row  # the reason comes before the rollback's rows
    assert f"never 1.0.0 not installed: {why}; rolled back 2 objects" in result.stdout
    assert "install of never rolled back: not ready after 5s: Deployment/web" in result.stderr
    assert not exists(kubectl, "deployment", "web", "-n", namespace)
    assert listed(namespace) == []


# -- formulas that own their namespace --------------------------------------------------------------

OWN_NAMESPACE = """\
apiVersion: v1
kind: Namespace
metadata:
  name: {{ kube.namespace }}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {a: "1"}
"""


@pytest.mark.cluster
def test_a_formulas_own_namespace_that_exists_is_adopted_and_left_by_uninstall(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    directory = write_formula(tmp_path, "ownns", manifests={"ns.yaml.tmpl": OWN_NAMESPACE})
    result = kube("install", str(directory), "-n", namespace)
    assert result.exit_code == 0, result.output
    assert row(result, "Namespace", namespace)[-1] == "adopted"
    assert f"namespace {namespace} adopted (existed already; uninstall leaves it)" in result.stdout
    [release] = listed(namespace)
    assert release["record"]["adopted"] == [{"apiVersion": "v1", "kind": "Namespace", "name": namespace}]
    assert release["record"]["createdNamespace"] is False and release["objects"] == 1
    # An upgrade keeps it adopted: not applied, not recorded, so still no uninstall deletes it.
    upgraded = kube("upgrade", "ownns", str(directory), "-n", namespace, "--set", "x=1")
    assert upgraded.exit_code == 0, upgraded.output
    [release] = listed(namespace)
    assert release["revision"] == 2 and release["objects"] == 1
    assert release["record"]["adopted"] == [{"apiVersion": "v1", "kind": "Namespace", "name": namespace}]
    removed = kube("uninstall", "ownns", "-n", namespace, "--wait", "--timeout", "30")
    assert removed.exit_code == 0, removed.output
    assert row(removed, "ConfigMap", "cfg")[-1] == "deleted"
    assert row(removed, "Namespace", namespace)[-1] == "kept"
    ns = json.loads(kubectl("get", "namespace", namespace, "-o", "json").stdout)
    assert ns["status"]["phase"] == "Active" and not ns["metadata"].get("deletionTimestamp")


@pytest.mark.cluster
def test_a_formulas_own_namespace_kube_creates_is_recorded_and_deleted(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    fresh = f"{namespace}-own"
    directory = write_formula(tmp_path, "ownns", manifests={"ns.yaml.tmpl": OWN_NAMESPACE})
    result = kube("install", str(directory), "-n", fresh)
    assert result.exit_code == 0, result.output
    assert row(result, "Namespace", fresh)[-1] == "created"
    assert listed(fresh)[0]["objects"] == 2
    removed = kube("uninstall", "ownns", "-n", fresh, "--wait", "--timeout", "60")
    assert removed.exit_code == 0, removed.output
    assert row(removed, "Namespace", fresh)[-1] == "deleted"
    assert not exists(kubectl, "namespace", fresh)


# -- know the values --------------------------------------------------------------------------------

COMMENTED = """\
name: vals
version: "1.0.0"
description: Values with comments.
home: https://example.com/vals
maintainers: ["Jane Doe <jane@example.com>"]
values:
  # How many copies of the web server run.
  # At least 2 for a rolling update without downtime.
  replicas: 2          # an integer
  image:               # the container image
    repository: nginx  # where it comes from
    tag: "1.19"        # "a quoted # is text"
  greeting: "hello # world"
# the hook's needs
hook:
  python: ">=3.9"
"""


def test_info_values_shows_what_can_be_set_with_the_authors_comments(remote_archive: Path) -> None:
    from tests.gitrepo import commit
    from tests.test_cli_archive import kube as kube_offline

    commit(remote_archive, {"formulas/vals/K3.yaml": COMMENTED})
    assert kube_offline("update", "--repo", str(remote_archive)).exit_code == 0
    shown = kube_offline("info", "vals", "--values")
    assert shown.exit_code == 0, shown.output
    assert shown.stdout == (
        "# How many copies of the web server run.\n"
        "# At least 2 for a rolling update without downtime.\n"
        "replicas: 2          # an integer\n"
        "image:               # the container image\n"
        "  repository: nginx  # where it comes from\n"
        '  tag: "1.19"        # "a quoted # is text"\n'
        'greeting: "hello # world"\n'
    )
    data = json.loads(kube_offline("info", "vals", "--values", "-o", "json").stdout)
    by_path = {v["path"]: v for v in data["values"]}
    assert by_path["replicas"]["default"] == 2
    assert by_path["replicas"]["comment"] == (
        "How many copies of the web server run.\n"
        "At least 2 for a rolling update without downtime.\n"
        "an integer"
    )
    assert by_path["image.tag"] == {"path": "image.tag", "default": "1.19", "comment": '"a quoted # is text"',
                                    "line": 12}  # fmt: skip
    assert by_path["greeting"]["comment"] == "" and by_path["greeting"]["default"] == "hello # world"
    plain = kube_offline("info", "vals")
    assert "Values:      4 (`kube info vals --values` shows them)" in plain.stdout.splitlines()
    assert json.loads(kube_offline("info", "vals", "-o", "json").stdout)["valueCount"] == 4


HOOK_SAYS = """\
import json, os
print("generated a password for the admin user")
print("\\x1b[31mred\\x1b[0m")
with open(os.environ["KUBE_VALUES_OUT"], "w") as out:
    json.dump({}, out)
"""


@pytest.mark.cluster
def test_a_hooks_output_is_shown_prefixed_when_stdout_is_not_a_terminal(
    namespace: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBE_INTERACTIVE", "0")
    directory = write_formula(tmp_path, "talky", hook=HOOK_SAYS)
    result = kube("install", str(directory), "-n", namespace)
    assert result.exit_code == 0, result.output
    assert "hook: generated a password for the admin user" in result.stderr.splitlines()
    assert "\x1b" not in result.stderr  # a hook is a stranger's code: its escapes are shown, not run


def test_output_that_is_not_json_is_an_error_not_no_objects() -> None:
    from kube.core.errors import ClusterError
    from kube.k8s.kubectl_output import json_objects

    assert json_objects('{"kind": "ConfigMap"}\n{"kind": "Secret"}\n') == [
        {"kind": "ConfigMap"},
        {"kind": "Secret"},
    ]
    assert json_objects("  \n") == []
    with pytest.raises(ClusterError, match="not JSON where kube asked for JSON: 'hello, not json'"):
        json_objects("hello, not json\n")
    with pytest.raises(ClusterError, match="not JSON"):
        json_objects('{"kind": "ConfigMap"}\ntrailing words')


def test_a_kubectl_that_prints_no_json_never_makes_a_release_not_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stand-in for kubectl (a real one cannot be made to print this): exit 0, words on stdout.
    Read as an empty list, kube said "nothing installed" and "not installed" (exit 3)."""
    fake = tmp_path / "kubectl"
    fake.write_text('#!/bin/sh\necho "hello, not json"\n')
    fake.chmod(0o755)
    monkeypatch.setenv("KUBE_KUBECTL", str(fake))
    for args in (["list", "-n", "any"], ["status", "app", "-n", "any"], ["uninstall", "app", "-n", "any"]):
        result = kube(*args)
        assert result.exit_code == 8, (args, result.output)
        assert "kubectl printed something that is not JSON" in result.stderr


@pytest.mark.cluster
def test_an_install_into_a_namespace_being_deleted_says_to_wait_and_creates_nothing(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    # A finalizer keeps the namespace Terminating for as long as the test needs.
    kubectl("create", "configmap", "hold", "-n", namespace)
    kubectl(
        "patch", "configmap", "hold", "-n", namespace, "-p", json.dumps({"metadata": {"finalizers": [HOLD]}})
    )
    kubectl("delete", "namespace", namespace, "--wait=false")
    directory = write_formula(tmp_path, "late", manifests={"cm.yaml": HELD.split("---\n")[1]})
    try:
        result = kube("install", str(directory), "-n", namespace)
        assert result.exit_code == 8, result.output
        assert f"namespace {namespace} is being deleted (Terminating)" in result.stderr
        assert f"wait until `kubectl get namespace {namespace}` says NotFound" in result.stderr
        assert not exists(kubectl, "configmap", "free", "-n", namespace)
    finally:
        kubectl("patch", "configmap", "hold", "-n", namespace, "-p", RELEASE_HOLD, check=False)


@pytest.mark.parametrize(
    "args",
    [
        ["install", "nginx", "-n", ""],
        ["uninstall", "app", "--namespace", " "],
        ["list", "-n", ""],
        ["template", "nginx", "-n", ""],
        ["status", "app", "-n", ""],
    ],
)
def test_an_empty_namespace_is_refused_not_taken_for_the_context_s(args: list[str]) -> None:
    result = kube(*args)
    assert result.exit_code == 2, result.output
    assert "empty namespace: name one, or leave -n out" in result.output


def test_a_create_error_that_names_no_object_is_quoted_for_each_object_it_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stand-in for kubectl (a real API server cannot be made to fail a batch this way on
    demand): exit 1, nothing created, one error line naming no object."""
    fake = tmp_path / "kubectl"
    fake.write_text(
        '#!/bin/sh\ncat >/dev/null\necho "error: admission plugin said no to everything" >&2\nexit 1\n'
    )
    fake.chmod(0o755)
    monkeypatch.setenv("KUBE_KUBECTL", str(fake))
    objects = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "ns"}}
        for name in ("a", "b")
    ]
    outcomes = Kubectl().create(objects)
    assert [o.ok for o in outcomes] == [False, False]
    assert {o.message for o in outcomes} == {
        "not created; kubectl's error names no object: error: admission plugin said no to everything"
    }


@pytest.mark.cluster
def test_an_object_of_a_type_the_cluster_lacks_points_at_its_definition_not_only_the_formula(
    namespace: str, tmp_path: Path
) -> None:
    widget = "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n"
    directory = write_formula(
        tmp_path, "needs-crd", manifests={"cm.yaml": HELD.split("---\n")[1], "w.yaml": widget}
    )
    # A hint from an earlier run says the cluster serves example.com/v1 (a CRD deleted since):
    # kube spares its read of the server's versions, and kubectl's create meets the missing type.
    from kube.k8s import type_cache

    type_cache.remember(Kubectl(), ["v1", "example.com/v1"], type_cache.GROUP_VERSIONS)
    result = kube("install", str(directory), "-n", namespace)
    assert result.exit_code == 8, result.output
    assert "install of needs-crd failed: Widget/w (manifests/w.yaml:1) failed (NoMatch)" in result.stderr
    assert 'unable to recognize: no matches for kind "Widget"' in result.stdout  # not kubectl's "STDIN"
    assert (
        "the cluster serves no example.com/v1 Widget: install the kube or CustomResourceDefinition that "
        "defines it (or fix the apiVersion), then run `kube install` again, or remove what exists with "
        f"`kube uninstall needs-crd -n {namespace}`" in " ".join(result.stderr.split())
    )


def test_a_go_value_in_an_invalid_error_is_cut_to_its_type_and_the_reason_stays() -> None:
    from kube.k8s.kubectl_output import assign_errors

    ref = ObjectRef("batch", "v1", "Job", "ns", "migrate")
    dump = (
        'core.PodTemplateSpec{ObjectMeta:v1.ObjectMeta{Name:"", Labels:map[string]string{'
        + "x" * 3000
        + "}}}"
    )
    line = f'The Job "migrate" is invalid: spec.template: Invalid value: {dump}: field is immutable'
    [(reason, message)] = assign_errors([ref], f"Error from server (Invalid): {line}\n").values()
    assert reason == "Invalid"
    assert message.endswith("...}: field is immutable") and len(message) < 200, message
    assert message.startswith(
        'The Job "migrate" is invalid: spec.template: Invalid value: core.PodTemplateSpec{'
    )


@pytest.mark.cluster
def test_objects_of_api_versions_the_cluster_lacks_are_refused_before_anything_is_created(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    widget = "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n"
    future = "apiVersion: apps/v9\nkind: Deployment\nmetadata:\n  name: later\n"
    crd = json.dumps({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "gadgets.example.org"},
        "spec": {"group": "example.org", "scope": "Namespaced",
                 "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
                 "versions": [{"name": "v1", "served": True, "storage": True,
                               "schema": {"openAPIV3Schema": {"type": "object"}}}]},
    })  # fmt: skip
    gadget = "apiVersion: example.org/v1\nkind: Gadget\nmetadata:\n  name: g\n"
    manifests = {"cm.yaml": HELD.split("---\n")[1], "w.yaml": widget, "d.yaml": future,
                 "crd.json": crd, "g.yaml": gadget}  # fmt: skip
    directory = write_formula(tmp_path, "too-new", manifests=manifests)
    target = f"{namespace}-new"  # kube would create it: nothing may be
    result = kube("install", str(directory), "-n", target, "--force")
    assert result.exit_code == 8, result.output
    said = " ".join(result.stderr.split())
    assert (
        "Error: the cluster serves no apps/v9 (Deployment/later at manifests/d.yaml:1); no example.com/v1 "
        "(Widget/w at manifests/w.yaml:1): nothing was created" in said
    )
    assert "the cluster serves apps/v1: change the apiVersion to one it serves" in said
    assert "example.org" not in said  # defined by the formula's own CRD
    assert not exists(kubectl, "namespace", target)
    assert not exists(kubectl, "customresourcedefinition", "gadgets.example.org")
    # The served list is kept: the next install of served versions asks nothing more.
    from kube.k8s import type_cache

    assert "apps/v1" in type_cache.hinted(Kubectl(), type_cache.GROUP_VERSIONS)


def test_a_kind_its_group_version_came_to_later_is_refused_before_anything_is_created(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    # batch/v1 is served from Kubernetes 1.2, its CronJob only from 1.21: the local control plane
    # (1.20) serves batch/v1 Jobs but no batch/v1 CronJob.
    from kube.k8s import capabilities

    if capabilities.read(Kubectl()).kube_version.at_least("1.21"):
        pytest.skip("the cluster serves batch/v1 CronJob")
    cron = (
        "apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: nightly\nspec:\n  schedule: '0 3 * * *'\n"
        "  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: Never\n"
        "          containers: [{name: run, image: busybox}]\n"
    )
    manifests = {"cm.yaml": HELD.split("---\n")[1], "cron.yaml": cron}
    directory = write_formula(tmp_path, "cron", manifests=manifests)
    target = f"{namespace}-cron"
    result = kube("install", str(directory), "-n", target)
    assert result.exit_code == 8, result.output
    said = " ".join(result.stderr.split())
    assert (
        "the cluster serves no CronJob in batch/v1 (CronJob/nightly at manifests/cron.yaml:1): nothing was "
        "created" in said
    )
    assert not exists(kubectl, "namespace", target)
