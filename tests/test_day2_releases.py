"""Day two: named releases, history, idempotent re-install with drift repair, dry runs that know
what is installed, and uninstall warning about dependents; on the real local control plane."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kube.k8s import records
from kube.k8s.kubectl import Kubectl, ObjectRef
from kube.k8s.records import Record, RecordedObject
from tests.test_cli_install import KubectlFixture, kube, managed, row, unique, wide_terminal
from tests.test_install import write_formula

pytestmark = pytest.mark.cluster
__all__ = ["wide_terminal"]  # the autouse fixture, so tables are not folded

APP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ kube.release }}-settings
data:
  greeting: {{ greeting | quote }}
---
apiVersion: v1
kind: Secret
metadata:
  name: {{ kube.release }}-login
stringData:
  password: fixed
"""


def app_formula(tmp_path: Path, version: str = "1.0.0", name: str = "app", **extra: object) -> Path:
    return write_formula(
        tmp_path / version, name, version, manifests={"app.yaml.tmpl": APP}, values={"greeting": "hello"},
        **extra,
    )  # fmt: skip


def live(kubectl: KubectlFixture, kind: str, name: str, namespace: str) -> dict[str, object]:
    return json.loads(kubectl("get", kind, name, "-n", namespace, "-o", "json").stdout)  # type: ignore[no-any-return]


def test_two_releases_of_one_formula_live_side_by_side_and_uninstall_alone(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    directory = app_formula(tmp_path)
    assert kube("install", str(directory), "-n", namespace).exit_code == 0
    second = kube("install", str(directory), "-n", namespace, "--name", "sessions")
    assert second.exit_code == 0, second.output
    assert f"sessions (app 1.0.0) installed in namespace {namespace}: 2 objects" in second.stdout
    settings = live(kubectl, "configmap", "sessions-settings", namespace)
    assert settings["metadata"]["labels"]["kube.sh/release"] == "sessions"  # type: ignore[index]
    listed = json.loads(kube("list", "-n", namespace, "-o", "json").stdout)
    assert [(r["name"], r["formula"], r["revision"]) for r in listed] == [
        ("app", "app", 1),
        ("sessions", "app", 1),
    ]

    gone = kube("uninstall", "sessions", "-n", namespace)
    assert gone.exit_code == 0, gone.output
    assert managed(kubectl, namespace) == [
        "configmap/app-settings", "secret/app-login", "secret/kube.release.app.v1",
    ]  # fmt: skip


def test_a_bad_release_name_is_a_usage_error(namespace: str, tmp_path: Path) -> None:
    result = kube("install", str(app_formula(tmp_path)), "-n", namespace, "--name", "Not_A_Name")
    assert result.exit_code == 2
    assert "invalid release name 'Not_A_Name'" in result.stderr


def test_history_lists_the_revision_an_install_wrote(namespace: str, tmp_path: Path) -> None:
    assert kube("install", str(app_formula(tmp_path)), "-n", namespace, "--name", "hist").exit_code == 0
    table = kube("history", "hist", "-n", namespace)
    assert table.exit_code == 0, table.output
    [line] = [line.split() for line in table.stdout.splitlines() if line.startswith("1 ")]
    assert line[2:6] == ["app", "1.0.0", "deployed", "complete"]
    assert "install of app 1.0.0" in table.stdout
    [rev] = json.loads(kube("history", "hist", "-n", namespace, "-o", "json").stdout)
    assert rev["revision"] == 1 and rev["formatVersion"] == 2 and rev["status"] == "deployed"
    missing = kube("history", "nothing-here", "-n", namespace)
    assert missing.exit_code == 3 and "nothing-here is not installed" in missing.stderr


def test_reinstall_reports_ok_recreates_what_was_deleted_and_names_what_was_edited(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    directory = app_formula(tmp_path)
    assert kube("install", str(directory), "-n", namespace).exit_code == 0
    same = kube("install", str(directory), "-n", namespace)
    assert same.exit_code == 0, same.output
    assert row(same, "ConfigMap", "app-settings")[-1] == "ok" and row(same, "Secret", "app-login")[-1] == "ok"
    assert "already installed" in same.stdout and "all ok" in same.stdout

    kubectl("delete", "secret", "app-login", "-n", namespace)
    kubectl(
        "patch",
        "configmap",
        "app-settings",
        "-n",
        namespace,
        "--type=merge",
        "-p",
        '{"data":{"greeting":"hacked"}}',
    )
    repaired = kube("install", str(directory), "-n", namespace)
    assert repaired.exit_code == 0, repaired.output
    assert row(repaired, "Secret", "app-login")[-1] == "re-created"
    assert row(repaired, "ConfigMap", "app-settings")[-1] == "changed"
    assert "1 re-created, 1 changed by hand" in repaired.stdout
    # The edit is left alone (an upgrade sets it back); the deleted Secret is back, with its uid recorded.
    assert live(kubectl, "configmap", "app-settings", namespace)["data"] == {"greeting": "hacked"}
    uid = live(kubectl, "secret", "app-login", namespace)["metadata"]["uid"]  # type: ignore[index]
    [listed] = json.loads(kube("list", "-n", namespace, "-o", "json").stdout)
    assert {o["name"]: o["uid"] for o in listed["record"]["objects"]}["app-login"] == uid
    # A label added by hand is not an edit of what kube sent.
    kubectl(
        "patch",
        "configmap",
        "app-settings",
        "-n",
        namespace,
        "--type=merge",
        "-p",
        '{"data":{"greeting":"hello"}}',
    )
    kubectl("label", "configmap", "app-settings", "-n", namespace, "team=blue")
    again = kube("install", str(directory), "-n", namespace)
    assert again.exit_code == 0 and row(again, "ConfigMap", "app-settings")[-1] == "ok", again.output


# What the API server keeps of an object is not always what it was sent: empty values are
# omitted, fields its version does not know are dropped, Quantities are written its own way.
STORED_OTHERWISE = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: empty}
data: null
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  ipFamilyPolicy: SingleStack
  selector: {app: web}
  ports: [{port: 80}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  minReadySeconds: 0
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: c
        image: nginx:1.25
        resources: {requests: {cpu: 0.5, memory: 1000Mi}, limits: {cpu: 1}}
      volumes: [{name: scratch, emptyDir: {sizeLimit: 1}}]
"""


def test_what_the_server_stores_in_its_own_words_is_not_an_edit_and_upgrades_apply(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    directory = write_formula(tmp_path / "1", "stored", "1.0.0", manifests={"all.yaml": STORED_OTHERWISE})
    assert kube("install", str(directory), "-n", namespace).exit_code == 0
    same = kube("install", str(directory), "-n", namespace)
    assert same.exit_code == 0, same.output
    assert "3 objects, all ok" in same.stdout, same.output
    # Quantities go as strings: a server-side apply before 1.27 refuses numbers there.
    sent = live(kubectl, "deployment", "web", namespace)["spec"]["template"]["spec"]  # type: ignore[index]
    assert sent["containers"][0]["resources"] == {
        "requests": {"cpu": "500m", "memory": "1000Mi"},
        "limits": {"cpu": "1"},
    }
    newer = write_formula(tmp_path / "2", "stored", "1.1.0", manifests={"all.yaml": STORED_OTHERWISE})
    upgraded = kube("upgrade", "stored", str(newer), "-n", namespace)
    assert upgraded.exit_code == 0, upgraded.output
    # A real edit of a field kube sent is still one.
    kubectl("patch", "deployment", "web", "-n", namespace, "--type=json",
            "-p", json.dumps([{"op": "replace", "path": "/spec/template/spec/containers/0/image",
                               "value": "nginx:1.26"}]))  # fmt: skip
    edited = kube("install", str(newer), "-n", namespace)
    assert edited.exit_code == 0, edited.output
    assert row(edited, "Deployment", "web")[-1] == "changed"
    assert row(edited, "ConfigMap", "empty")[-1] == "ok" and row(edited, "Service", "web")[-1] == "ok"


def test_reinstall_with_other_values_or_version_points_at_upgrade(namespace: str, tmp_path: Path) -> None:
    assert kube("install", str(app_formula(tmp_path)), "-n", namespace).exit_code == 0
    values = kube("install", str(app_formula(tmp_path)), "-n", namespace, "--set", "greeting=hi")
    assert values.exit_code == 11
    assert f"release app exists in namespace {namespace} with app other values" in values.stderr
    assert "kube upgrade app" in values.stderr
    newer = kube("install", str(app_formula(tmp_path, "1.1.0")), "-n", namespace)
    assert newer.exit_code == 11 and "version 1.0.0, not 1.1.0" in newer.stderr
    # A dry run says so too, and exits 0: it is a question, not an install.
    dry = kube("install", str(app_formula(tmp_path, "1.1.0")), "-n", namespace, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "`kube upgrade` would upgrade it" in dry.output and "would create" not in dry.output
    same = kube("install", str(app_formula(tmp_path)), "-n", namespace, "--dry-run")
    assert (
        same.exit_code == 0 and "already installed" in same.output and "nothing would change" in same.output
    )


def test_server_dry_run_is_admitted_by_the_api_server_and_stores_nothing(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    before = managed(kubectl, namespace)
    good = kube("install", str(app_formula(tmp_path)), "-n", namespace, "--server-dry-run", "-o", "json")
    assert good.exit_code == 0, good.output
    data = json.loads(good.stdout)
    assert {o["status"] for o in data["objects"]} == {"admitted"}
    assert "nothing was stored" in data["summary"]
    bad = write_formula(tmp_path / "bad", "bad", manifests={"cm.yaml": "apiVersion: v1\nkind: ConfigMap\n"
                        "metadata: {name: bad}\ndata: {key: {nested: no}}\n"})  # fmt: skip
    refused = kube("install", str(bad), "-n", namespace, "--server-dry-run", "-o", "json")
    assert refused.exit_code == 8
    assert managed(kubectl, namespace) == before


def test_round_one_records_still_list_reinstall_and_uninstall(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    # What round one's kube left: an object with its labels and a kube.install.<formula> record.
    name = unique(namespace, "legacy")
    labels = {"app.kubernetes.io/managed-by": "kube", "kube.sh/formula": name}
    meta = {"name": f"{name}-config", "namespace": namespace, "labels": labels}
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta}
    created = json.loads(kubectl("create", "-o", "json", "-f", "-", input=json.dumps(obj)).stdout)
    ref = ObjectRef("", "v1", "ConfigMap", namespace, f"{name}-config")
    record = Record(name, "1.0.0", namespace, objects=(RecordedObject(ref, created["metadata"]["uid"]),),
                    values_digest=records.values_digest({}), installed_at="2026-01-01T00:00:00Z")  # fmt: skip
    records.write_record(Kubectl(), record, replace=False)

    [listed] = json.loads(kube("list", "-n", namespace, "-o", "json").stdout)
    assert (listed["name"], listed["version"], listed["status"]) == (name, "1.0.0", "complete")
    history = json.loads(kube("history", name, "-n", namespace, "-o", "json").stdout)
    assert [(h["revision"], h["formatVersion"]) for h in history] == [(1, 1)]
    status = kube("status", name, "-n", namespace)
    assert status.exit_code == 0, status.output

    gone = kube("uninstall", name, "-n", namespace)
    assert gone.exit_code == 0, gone.output
    assert managed(kubectl, namespace) == []


def test_uninstall_warns_when_another_release_depends_on_it(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    base = unique(namespace, "base")
    assert kube("install", str(write_formula(tmp_path / "b", base, "1.10.0")), "-n", namespace).exit_code == 0
    needy = write_formula(tmp_path / "n", "needy", "1.0.0", dependencies=[{"name": base, "version": ">=1.0"}])
    assert kube("install", str(needy), "-n", namespace).exit_code == 0

    refused = kube("uninstall", base, "-n", namespace)  # no terminal, no --force
    assert refused.exit_code == 6
    assert f"!!-> WARNING: Release needy in namespace {namespace} depends on {base} (>=1.0)" in refused.stderr
    assert f"configmap/{base}-config" in managed(kubectl, namespace)

    forced = kube("uninstall", base, "-n", namespace, "--force")
    assert forced.exit_code == 0, forced.output
    assert f"configmap/{base}-config" not in managed(kubectl, namespace)
    # The dependent's own uninstall has nothing to warn about.
    assert kube("uninstall", "needy", "-n", namespace).exit_code == 0


def test_edited_means_a_field_kube_sent_changed_never_one_the_server_added() -> None:
    from kube.k8s.releases_drift import CONTENT_HASH_ANNOTATION, annotate, edited

    pod = {"containers": [{"name": "c", "image": "nginx"}]}
    meta = {"name": "web", "labels": {"a": "1"}}
    sent = annotate(
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": {"template": {"spec": pod}}}
    )
    assert sent["metadata"]["annotations"][CONTENT_HASH_ANNOTATION].startswith("sha256:")
    server = json.loads(json.dumps(sent))
    server["metadata"].update(uid="u", labels={"a": "1", "added": "by-hand"})
    server["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = "Always"  # a default
    server["status"] = {"replicas": 1}
    assert not edited(server, sent)
    server["spec"]["template"]["spec"]["containers"][0]["image"] = "httpd"
    assert edited(server, sent)
    lost = json.loads(json.dumps(sent))
    del lost["metadata"]["labels"]["a"]  # a field kube sent, removed
    assert edited(lost, sent)
    secret = annotate(
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"k": "v"}}
    )
    stored = {**secret, "data": {"k": "dg=="}}
    del stored["stringData"]  # the API server keeps stringData as data
    assert not edited(stored, secret)
