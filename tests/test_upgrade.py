"""kube upgrade and kube rollback on the real local control plane: apply, prune, ownership, atomic.

Formulas are plain directories in tmp_path, one per version (an upgrade to a path is an upgrade to
that directory's version). Nothing is mocked: kube runs in-process through its CLI, kubectl and the
API server are real, and the hook is a real Python process.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from kube.cli.app import app
from tests.test_install import write_formula

KubectlFixture = Callable[..., Any]
cluster = pytest.mark.cluster

# A hook that makes a password only when the previous revision's hook values hold none, and
# refuses the upgrade when told to (a value the formula's next version cannot migrate from).
HOOK = """\
import json, os, secrets, sys
previous = {}
path = os.environ.get("KUBE_PREVIOUS_VALUES")
if path:
    with open(path) as f:
        previous = json.load(f)
with open(os.environ["KUBE_VALUES_FILE"]) as f:
    values = json.load(f)
if values.get("refuse"):
    print("cannot upgrade from this version: migrate the data first", file=sys.stderr)
    sys.exit(3)
password = previous.get("password") or secrets.token_hex(12)
with open(os.environ["KUBE_VALUES_OUT"], "w") as f:
    json.dump({"password": password}, f)
"""

SECRET = """\
apiVersion: v1
kind: Secret
metadata:
  name: app-secret
stringData:
  password: "{{ password }}"
"""


def cm(name: str, **data: str) -> str:
    return json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data})


def kube(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "400")
    monkeypatch.setenv("KUBE_INTERACTIVE", "0")


def version_dir(tmp_path: Path, name: str, version: str, manifests: dict[str, str], **extra: Any) -> Path:
    return write_formula(tmp_path / version, name, version, manifests=manifests, hook=HOOK, **extra)


def row(result: Result, kind: str, name: str) -> str:
    """The STATUS cell of one object in a result table."""
    for line in result.stdout.splitlines():
        cells = line.split()
        if len(cells) >= 6 and cells[2:4] == [kind, name]:
            return " ".join(cells[5:])
    raise AssertionError(f"no row for {kind}/{name} in:\n{result.output}")


def names(kubectl: KubectlFixture, namespace: str, kind: str = "configmaps") -> set[str]:
    out = kubectl("get", kind, "-n", namespace, "-o", "json").stdout
    return {i["metadata"]["name"] for i in json.loads(out)["items"]} - {"kube-root-ca.crt"}


def password(kubectl: KubectlFixture, namespace: str) -> str:
    import base64

    out = kubectl("get", "secret", "app-secret", "-n", namespace, "-o", "jsonpath={.data.password}").stdout
    return base64.b64decode(out).decode()


def install(directory: Path, namespace: str, *extra: str) -> None:
    result = kube("install", str(directory), "-n", namespace, *extra)
    assert result.exit_code == 0, result.output


def releases_of(kubectl: KubectlFixture, namespace: str) -> dict[int, str]:
    out = kubectl("get", "secrets", "-n", namespace, "-l", "kube.sh/release", "-o", "json").stdout
    return {
        int(i["metadata"]["labels"]["kube.sh/revision"]): i["metadata"]["labels"]["kube.sh/status"]
        for i in json.loads(out)["items"]
        if "kube.sh/revision" in i["metadata"]["labels"]
    }


V1 = {"secret.yaml.tmpl": SECRET, "a.json": cm("keep-a", v="1"), "b.json": cm("drop-b", v="1")}
V2 = {"secret.yaml.tmpl": SECRET, "a.json": cm("keep-a", v="2"), "c.json": cm("add-c", v="2")}
# A Service the API server refuses: an upgrade that adds it fails in its wave.
BAD_SERVICE = json.dumps(
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "bad"},
     "spec": {"type": "Bogus", "ports": [{"port": 80, "protocol": "TCP"}]}}
)  # fmt: skip


@cluster
def test_upgrade_creates_changes_prunes_and_keeps_the_generated_password(
    tmp_path: Path, namespace: str, kubectl: KubectlFixture
) -> None:
    v1 = version_dir(tmp_path, "app", "1.0.0", V1)
    v2 = version_dir(tmp_path, "app", "2.0.0", V2)
    install(v1, namespace)
    first = password(kubectl, namespace)
    result = kube("upgrade", "app", str(v2), "-n", namespace)
    assert result.exit_code == 0, result.output
    assert row(result, "ConfigMap", "add-c") == "created"
    assert row(result, "ConfigMap", "keep-a") == "changed"
    assert row(result, "Secret", "app-secret") == "changed"  # its kube.sh/version label
    assert row(result, "ConfigMap", "drop-b") == "pruned"
    assert names(kubectl, namespace) == {"keep-a", "add-c"}
    assert password(kubectl, namespace) == first
    assert releases_of(kubectl, namespace)[2] == "deployed"
    # Nothing changed: every object unchanged, and the password still the first one.
    again = kube("upgrade", "app", str(v2), "-n", namespace)
    assert again.exit_code == 0, again.output
    assert "3 unchanged" in again.stdout and "created" not in again.stdout, again.output
    assert password(kubectl, namespace) == first
    statuses = releases_of(kubectl, namespace)
    assert statuses[3] == "deployed" and statuses[2] == "superseded"
    # Uninstall removes what the upgrades left, by the deployed revision's uids, and every record.
    gone = kube("uninstall", "app", "-n", namespace)
    assert gone.exit_code == 0, gone.output
    assert names(kubectl, namespace) == set() and releases_of(kubectl, namespace) == {}


@cluster
def test_an_object_taken_over_by_hand_is_not_pruned_and_keep_is_kept(
    tmp_path: Path, namespace: str, kubectl: KubectlFixture
) -> None:
    kept = json.dumps(
        {"apiVersion": "v1", "kind": "ConfigMap", "data": {"v": "1"},
         "metadata": {"name": "kept-k", "annotations": {"kube.sh/keep": "true"}}}
    )  # fmt: skip
    v1 = version_dir(tmp_path, "app", "1.0.0", {**V1, "k.json": kept})
    v2 = version_dir(tmp_path, "app", "2.0.0", V2)
    install(v1, namespace)
    labels = ("app.kubernetes.io/managed-by-", "kube.sh/formula-", "kube.sh/release-")
    kubectl("label", "configmap", "drop-b", "-n", namespace, *labels)
    result = kube("upgrade", "app", str(v2), "-n", namespace)
    assert result.exit_code == 0, result.output
    assert row(result, "ConfigMap", "drop-b") == "not pruned (taken over)"
    assert row(result, "ConfigMap", "kept-k") == "kept"
    assert names(kubectl, namespace) == {"keep-a", "add-c", "drop-b", "kept-k"}


@cluster
def test_atomic_upgrade_that_fails_halfway_restores_the_exact_previous_objects(
    tmp_path: Path, namespace: str, kubectl: KubectlFixture
) -> None:
    v1 = version_dir(tmp_path, "app", "1.0.0", V1)
    # The ConfigMaps go in the first wave, the Service (refused by the API server) in a later one.
    v2 = version_dir(tmp_path, "app", "2.0.0", {**V2, "svc.json": BAD_SERVICE})
    install(v1, namespace)
    before = json.loads(kubectl("get", "configmap", "keep-a", "-n", namespace, "-o", "json").stdout)
    result = kube("upgrade", "app", str(v2), "-n", namespace, "--atomic")
    assert result.exit_code == 8, result.output
    out = result.output
    assert out.index("upgrade failed: Service/bad") < out.index("rolling back to revision 1"), out
    assert 'Unsupported value: "Bogus"' in out
    assert names(kubectl, namespace) == {"keep-a", "drop-b"}
    after = json.loads(kubectl("get", "configmap", "keep-a", "-n", namespace, "-o", "json").stdout)
    assert after["data"] == before["data"] == {"v": "1"}
    assert after["metadata"]["uid"] == before["metadata"]["uid"]
    # As Helm records its rollback: the failed attempt, then a revision of what runs again.
    statuses = releases_of(kubectl, namespace)
    assert (statuses.get(1, "superseded"), statuses[2], statuses[3]) == ("superseded", "failed", "deployed")
    [listed] = json.loads(kube("list", "-n", namespace, "-o", "json").stdout)
    assert (listed["version"], listed["revision"], listed["objects"]) == ("1.0.0", 3, 3)
    status = kube("status", "app", "-n", namespace)
    assert "app 1.0.0" in status.output, status.output


@cluster
def test_rollback_to_revision_1_recreates_what_2_pruned_and_history_shows_it(
    tmp_path: Path, namespace: str, kubectl: KubectlFixture
) -> None:
    v1 = version_dir(tmp_path, "app", "1.0.0", V1)
    v2 = version_dir(tmp_path, "app", "2.0.0", V2)
    install(v1, namespace)
    first = password(kubectl, namespace)
    assert kube("upgrade", "app", str(v2), "-n", namespace).exit_code == 0
    result = kube("rollback", "app", "1", "-n", namespace)
    assert result.exit_code == 0, result.output
    assert row(result, "ConfigMap", "drop-b") == "created"
    assert row(result, "ConfigMap", "add-c") == "pruned"
    assert row(result, "ConfigMap", "keep-a") == "changed"
    assert names(kubectl, namespace) == {"keep-a", "drop-b"}
    assert password(kubectl, namespace) == first
    statuses = releases_of(kubectl, namespace)
    assert statuses[3] == "deployed" and statuses[2] == "superseded"
    # The next upgrade starts from revision 3, a copy of 1: its hook values too.
    assert kube("upgrade", "app", str(v2), "-n", namespace).exit_code == 0
    assert password(kubectl, namespace) == first
    history = kube("history", "app", "-n", namespace)
    assert history.exit_code == 0, history.output
    lines = [line.split() for line in history.stdout.splitlines()]
    revisions = {cells[0]: " ".join(cells) for cells in lines if cells and cells[0].isdigit()}
    assert sorted(revisions) == ["1", "2", "3", "4"], history.output
    assert "rollback to revision 1" in revisions["3"] and "deployed" in revisions["4"], history.output


@cluster
def test_a_named_release_upgrades_alone(tmp_path: Path, namespace: str, kubectl: KubectlFixture) -> None:
    named = {"a.yaml.tmpl": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ kube.release }}-a\n"
             "data:\n  v: \"{{ kube.version }}\"\n"}  # fmt: skip
    v1 = write_formula(tmp_path / "1", "app", "1.0.0", manifests=named)
    v2 = write_formula(tmp_path / "2", "app", "2.0.0", manifests=named)
    install(v1, namespace, "--name", "one")
    install(v1, namespace, "--name", "two")
    result = kube("upgrade", "two", str(v2), "-n", namespace)
    assert result.exit_code == 0, result.output
    assert row(result, "ConfigMap", "two-a") == "changed"
    data = {n: kubectl("get", "configmap", n, "-n", namespace, "-o", "jsonpath={.data.v}").stdout
            for n in ("one-a", "two-a")}  # fmt: skip
    assert data == {"one-a": "1.0.0", "two-a": "2.0.0"}


@cluster
def test_a_hook_may_refuse_the_upgrade(tmp_path: Path, namespace: str, kubectl: KubectlFixture) -> None:
    v1 = version_dir(tmp_path, "app", "1.0.0", V1)
    v2 = version_dir(tmp_path, "app", "2.0.0", V2)
    install(v1, namespace)
    result = kube("upgrade", "app", str(v2), "-n", namespace, "--set", "refuse=true")
    assert result.exit_code == 7, result.output
    assert "migrate the data first" in result.output
    assert names(kubectl, namespace) == {"keep-a", "drop-b"}
    assert 2 not in releases_of(kubectl, namespace)


@cluster
def test_dry_run_says_what_would_change_and_changes_nothing(
    tmp_path: Path, namespace: str, kubectl: KubectlFixture
) -> None:
    v1 = version_dir(tmp_path, "app", "1.0.0", V1)
    v2 = version_dir(tmp_path, "app", "2.0.0", V2)
    install(v1, namespace)
    result = kube("upgrade", "app", str(v2), "-n", namespace, "--dry-run")
    assert result.exit_code == 0, result.output
    assert row(result, "ConfigMap", "add-c") == "would create"
    assert row(result, "ConfigMap", "keep-a") == "would apply"
    assert row(result, "Secret", "app-secret") == "would apply"  # its kube.sh/version label
    assert row(result, "ConfigMap", "drop-b") == "would prune"
    assert names(kubectl, namespace) == {"keep-a", "drop-b"}
    assert 2 not in releases_of(kubectl, namespace)
    as_json = kube("upgrade", "app", str(v2), "-n", namespace, "--dry-run", "-o", "json")
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.stdout)
    assert data["outcome"] == "dry run" and data["revision"] == 2
    assert {o["name"]: o["status"] for o in data["objects"]}["drop-b"] == "would prune"


@cluster
def test_upgrade_of_a_release_that_does_not_exist_is_one_line(namespace: str) -> None:
    result = kube("upgrade", "nothing-here", "-n", namespace)
    assert result.exit_code == 3, result.output
    assert f"no release nothing-here in namespace {namespace}" in result.output


# -- offline: the rules -------------------------------------------------------------------------


def test_ports_without_protocol_get_the_api_servers_default_and_nothing_else_changes() -> None:
    from kube.install.apply import with_default_protocols

    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
           "spec": {"ports": [{"port": 80}, {"port": 53, "protocol": "UDP"}]}}  # fmt: skip
    filled = with_default_protocols(svc)
    assert filled["spec"]["ports"] == [{"port": 80, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}]
    assert svc["spec"]["ports"][0] == {"port": 80}  # the caller's object is not touched
    pod = {"containers": [{"name": "c", "ports": [{"containerPort": 8080}]}]}
    deploy = {"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"template": {"spec": pod}}}
    assert with_default_protocols(deploy)["spec"]["template"]["spec"]["containers"][0]["ports"] == [
        {"containerPort": 8080, "protocol": "TCP"}
    ]
    custom = {"apiVersion": "example.com/v1", "kind": "Thing", "spec": {"ports": [{"port": 1}]}}
    assert with_default_protocols(custom) is custom
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "data": {"ports": "80"}}
    assert with_default_protocols(cm) is cm


def test_ownership_needs_kubes_labels_the_release_and_the_recorded_uid() -> None:
    from kube.install.apply import owned_by

    labels = {"app.kubernetes.io/managed-by": "kube", "kube.sh/formula": "app", "kube.sh/release": "app"}
    live = {"metadata": {"uid": "u1", "labels": labels}}
    assert owned_by(live, "app", "app", "u1") == ""
    assert owned_by(live, "app", "app", "") == ""  # listed by a pending revision: labels decide
    assert "uid differs" in owned_by(live, "app", "app", "u2")
    assert "release app" in owned_by(live, "other", "app", "u1")
    taken = {"metadata": {"uid": "u1", "labels": {"kube.sh/formula": "app"}}}
    assert "labels of app" in owned_by(taken, "app", "app", "u1")


def test_objects_of_a_later_failed_attempt_are_managed_too() -> None:
    from kube.install.upgrade import managed
    from kube.k8s.kubectl import ObjectRef
    from kube.k8s.releases import RecordedObject, Release, ReleaseStatus, Revision

    a, b = (ObjectRef("", "v1", "ConfigMap", "ns", n) for n in ("a", "b"))
    deployed = Revision(
        "app", "ns", 1, "app", "1.0.0", ReleaseStatus.DEPLOYED, objects=(RecordedObject(a, "1"),)
    )
    failed = Revision("app", "ns", 2, "app", "2.0.0", ReleaseStatus.FAILED,
                      objects=(RecordedObject(a, "1"), RecordedObject(b, "2")))  # fmt: skip
    release = Release("app", "ns", (deployed, failed))
    assert [o.ref.name for o in managed(release, deployed)] == ["a", "b"]


@cluster
def test_atomic_upgrade_that_never_gets_ready_rolls_back_with_the_timeout_code(
    tmp_path: Path, namespace: str, kubectl: KubectlFixture
) -> None:
    from tests.test_install import deployment

    v1 = version_dir(tmp_path, "app", "1.0.0", V1)
    # No node matches its selector: this Deployment never becomes available.
    v2 = version_dir(
        tmp_path,
        "app",
        "2.0.0",
        {**V2, "web.json": deployment("web", nodeSelector={"kube.sh/no-such-node": "x"})},
    )
    install(v1, namespace)
    result = kube("upgrade", "app", str(v2), "-n", namespace, "--atomic", "--wait", "--timeout", "3s")
    assert result.exit_code == 9, result.output
    out = result.output
    assert out.index("upgrade failed: not ready after") < out.index("rolling back to revision 1"), out
    assert names(kubectl, namespace) == {"keep-a", "drop-b"}
    assert "web" not in names(kubectl, namespace, "deployments")
    assert releases_of(kubectl, namespace)[2] == "failed"


@cluster
def test_upgrade_never_takes_over_an_object_it_did_not_make(
    tmp_path: Path, namespace: str, kubectl: KubectlFixture
) -> None:
    v1 = version_dir(tmp_path, "app", "1.0.0", V1)
    v2 = version_dir(tmp_path, "app", "2.0.0", V2)
    install(v1, namespace)
    kubectl("create", "configmap", "add-c", "-n", namespace, "--from-literal=mine=yes")
    # The dry run and the diff say so too, with the real upgrade's code and a diff's "changes".
    dry = kube("upgrade", "app", str(v2), "-n", namespace, "--dry-run")
    assert dry.exit_code == 8, dry.output
    assert "the upgrade of app would fail: ConfigMap/add-c: AlreadyExists" in dry.stderr
    diff = kube("diff", "app", str(v2), "-n", namespace)
    assert diff.exit_code == 1, diff.output
    assert (
        "ConfigMap/add-c: would be refused (AlreadyExists: it exists and is not made by kube" in diff.stdout
    )
    assert ": 1 would be refused (not this release's), " in diff.stdout
    result = kube("upgrade", "app", str(v2), "-n", namespace)
    assert result.exit_code == 8, result.output
    assert "ConfigMap/add-c: AlreadyExists: it exists and is not made by kube" in result.output
    mine = kubectl("get", "configmap", "add-c", "-n", namespace, "-o", "jsonpath={.data.mine}").stdout
    assert mine == "yes"
    assert names(kubectl, namespace) == {"keep-a", "drop-b", "add-c"}
    assert releases_of(kubectl, namespace)[2] == "failed"


@cluster
def test_upgrade_never_takes_back_an_object_made_again_by_someone_else(
    tmp_path: Path, namespace: str, kubectl: KubectlFixture
) -> None:
    """keep-a is in the record with the uid kube's install got; someone deletes it and makes
    their own of that name: it is theirs now, as uninstall and status already say."""
    v1 = version_dir(tmp_path, "app", "1.0.0", V1)
    v2 = version_dir(tmp_path, "app", "2.0.0", V2)
    install(v1, namespace)
    kubectl("delete", "configmap", "keep-a", "-n", namespace)
    kubectl("create", "configmap", "keep-a", "-n", namespace, "--from-literal=theirs=yes")
    result = kube("upgrade", "app", str(v2), "-n", namespace)
    assert result.exit_code == 8, result.output
    assert "ConfigMap/keep-a: AlreadyExists: it was made again since the release recorded it" in result.output
    live = json.loads(kubectl("get", "configmap", "keep-a", "-n", namespace, "-o", "json").stdout)
    assert live["data"] == {"theirs": "yes"}
    assert "app.kubernetes.io/managed-by" not in (live["metadata"].get("labels") or {})
    # Edited by hand, same uid: still the release's, and the upgrade sets it back.
    kubectl("delete", "configmap", "keep-a", "-n", namespace)
    assert kube("install", str(v1), "-n", namespace).exit_code == 0  # makes it again, recorded
    kubectl("label", "configmap", "keep-a", "-n", namespace, "app.kubernetes.io/managed-by-")
    again = kube("upgrade", "app", str(v2), "-n", namespace)
    assert again.exit_code == 0, again.output


@cluster
def test_upgrade_never_takes_an_object_that_carries_another_releases_label(
    tmp_path: Path, namespace: str, kubectl: KubectlFixture
) -> None:
    v1 = version_dir(tmp_path, "app", "1.0.0", V1)
    v2 = version_dir(tmp_path, "app", "2.0.0", V2)
    install(v1, namespace)
    kubectl("label", "configmap", "keep-a", "-n", namespace, "kube.sh/release=other", "--overwrite")
    result = kube("upgrade", "app", str(v2), "-n", namespace)
    assert result.exit_code == 8, result.output
    assert "ConfigMap/keep-a: AlreadyExists: it carries release other's label" in result.output


@cluster
def test_failed_upgrades_keep_every_object_of_the_release_in_its_record(
    tmp_path: Path, namespace: str, kubectl: KubectlFixture
) -> None:
    """A refused Service in the same wave as the ConfigMaps: kubectl prints no object, and the
    ConfigMaps it applied unchanged are confirmed by nothing. They are still the release's."""
    v1 = version_dir(tmp_path, "app", "1.0.0", V1)
    v2 = version_dir(tmp_path, "app", "2.0.0", {**V1, "svc.json": BAD_SERVICE})
    install(v1, namespace)
    for _ in range(2):
        failed = kube("upgrade", "app", str(v2), "-n", namespace)
        assert failed.exit_code == 8, failed.output
        [listed] = json.loads(kube("list", "-n", namespace, "-o", "json").stdout)
        assert listed["objects"] == 3, listed
    assert kube("uninstall", "app", "-n", namespace).exit_code == 0
    assert names(kubectl, namespace) == set()
    assert "app-secret" not in names(kubectl, namespace, "secrets")


@cluster
def test_an_atomic_upgrade_to_another_formula_that_fails_leaves_the_first_uninstallable(
    tmp_path: Path, namespace: str, kubectl: KubectlFixture
) -> None:
    one = write_formula(tmp_path / "one", "one", manifests={"a.json": cm("one-a", v="1")})
    two = write_formula(tmp_path / "two", "two", manifests={"svc.json": BAD_SERVICE})
    install(one, namespace, "--name", "rel")
    result = kube("upgrade", "rel", str(two), "-n", namespace, "--atomic")
    assert result.exit_code == 8, result.output
    [listed] = json.loads(kube("list", "-n", namespace, "-o", "json").stdout)
    assert (listed["formula"], listed["objects"], listed["status"]) == ("one", 1, "complete"), listed
    gone = kube("uninstall", "rel", "-n", namespace)
    assert gone.exit_code == 0, gone.output
    assert "1 object deleted" in gone.output, gone.output
    assert names(kubectl, namespace) == set()


def job(image: str) -> str:
    return json.dumps({
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "migrate"},
        "spec": {"template": {"spec": {"restartPolicy": "Never",
                                       "containers": [{"name": "m", "image": image}]}}},
    })  # fmt: skip


@cluster
def test_a_refused_object_of_a_wave_is_the_only_one_failed_and_the_hint_says_to_remake_it(
    namespace: str, tmp_path: Path
) -> None:
    def release(version: str, image: str) -> Path:
        manifests = {"cm.json": cm("settings", a="1"), "sa.json": json.dumps(
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "worker"}}
        ), "job.json": job(image)}  # fmt: skip
        return write_formula(tmp_path / version, "jobs", version, manifests=manifests)

    assert kube("install", str(release("1.0.0", "busybox:1.35")), "-n", namespace).exit_code == 0
    # After one upgrade kube owns the fields, so the next apply of an unchanged object writes nothing.
    assert kube("upgrade", "jobs", str(release("1.0.0", "busybox:1.35")), "-n", namespace).exit_code == 0
    result = kube("upgrade", "jobs", str(release("1.0.0", "busybox:1.36")), "-n", namespace)

    assert result.exit_code == 8, result.output
    assert row(result, "Job", "migrate").startswith("failed")
    assert row(result, "ConfigMap", "settings") == "unchanged"
    assert row(result, "ServiceAccount", "worker") == "unchanged"
    assert "field is immutable" in result.output
    assert "core.PodTemplateSpec{ObjectMeta" not in result.output or len(result.output) < 3000
    assert "the API server never changes that field of an existing Job: delete it " in " ".join(
        result.stderr.split()
    )
    assert f"`kubectl delete job migrate -n {namespace}`" in result.stderr


@cluster
def test_an_upgrade_to_api_versions_the_cluster_lacks_changes_nothing(namespace: str, tmp_path: Path) -> None:
    first = write_formula(tmp_path / "1", "newer-apis", "1.0.0", manifests={"cm.json": cm("settings", a="1")})
    assert kube("install", str(first), "-n", namespace).exit_code == 0
    widget = "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n"
    second = write_formula(
        tmp_path / "2", "newer-apis", "2.0.0", manifests={"cm.json": cm("settings", a="2"), "w.yaml": widget}
    )
    result = kube("upgrade", "newer-apis", str(second), "-n", namespace)
    assert result.exit_code == 8, result.output
    assert "the cluster serves no example.com/v1 (Widget/w at manifests/w.yaml:1): nothing was changed" in (
        " ".join(result.stderr.split())
    )
    history = json.loads(kube("history", "newer-apis", "-n", namespace, "-o", "json").stdout)
    assert [r["revision"] for r in history] == [1]  # no failed revision: nothing was sent
    status = kube("status", "newer-apis", "-n", namespace, "-o", "json")
    assert json.loads(status.stdout)["version"] == "1.0.0", status.output


def _annotated_cm(name: str, annotations: dict[str, str], **data: str) -> str:
    meta = {"name": name, "annotations": annotations}
    return json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data})


@cluster
def test_a_field_the_next_version_drops_is_removed_on_the_first_upgrade_and_back_on_rollback(
    tmp_path: Path, namespace: str, kubectl: KubectlFixture
) -> None:
    # Install writes with `kubectl create` (fields owned by kubectl-create); an upgrade applies as
    # kube. Without the hand-over, the key and annotation v2 drops would stay for good.
    v1 = version_dir(tmp_path, "app", "1.0.0", {"a.json": _annotated_cm("conf", {"team": "a"}, a="1", b="2")})
    v2 = version_dir(tmp_path, "app", "2.0.0", {"a.json": _annotated_cm("conf", {}, a="1")})
    install(v1, namespace)

    def live() -> dict[str, Any]:
        found: dict[str, Any] = json.loads(
            kubectl("get", "configmap", "conf", "-n", namespace, "-o", "json").stdout
        )
        return found

    assert live()["data"] == {"a": "1", "b": "2"}
    # The same version without the key: only the dropped fields differ. The dry runs write
    # nothing, yet say what the upgrade would remove.
    same_version = write_formula(
        tmp_path / "1.0.0-less", "app", "1.0.0", manifests={"a.json": cm("conf", a="1")}
    )
    dry = kube("upgrade", "app", str(same_version), "-n", namespace, "--dry-run")
    assert dry.exit_code == 0 and row(dry, "ConfigMap", "conf") == "would apply", dry.output
    shown = kube("diff", "app", str(same_version), "-n", namespace)
    assert shown.exit_code == 1, shown.output
    assert '-  b: "2"' in shown.stdout and "-    team: a" in shown.stdout, shown.output
    assert live()["data"] == {"a": "1", "b": "2"}
    upgraded = kube("upgrade", "app", str(v2), "-n", namespace)
    assert upgraded.exit_code == 0, upgraded.output
    assert row(upgraded, "ConfigMap", "conf") == "changed"
    assert live()["data"] == {"a": "1"}
    assert "team" not in (live()["metadata"].get("annotations") or {})
    back = kube("rollback", "app", "-n", namespace)
    assert back.exit_code == 0, back.output
    assert live()["data"] == {"a": "1", "b": "2"} and live()["metadata"]["annotations"]["team"] == "a"
    # Once kube applied it, dropping the key again needs no hand-over: the apply removes it.
    again = kube("upgrade", "app", str(v2), "-n", namespace)
    assert again.exit_code == 0, again.output
    assert live()["data"] == {"a": "1"}
    # A second upgrade to what is there changes nothing.
    same = kube("upgrade", "app", str(v2), "-n", namespace)
    assert same.exit_code == 0 and row(same, "ConfigMap", "conf") == "unchanged", same.output


def _apiservice(group: str, priority: int) -> str:
    return json.dumps(
        {"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService", "metadata": {"name": f"v1.{group}"},
         "spec": {"group": group, "version": "v1", "groupPriorityMinimum": 100, "versionPriority": priority,
                  "insecureSkipTLSVerify": True, "service": {"name": "nothing", "namespace": "default"}}}
    )  # fmt: skip


@cluster
def test_an_apiservice_the_server_cannot_apply_is_updated_and_diffed_instead(
    tmp_path: Path, namespace: str, kubectl: KubectlFixture
) -> None:
    # Kubernetes 1.20's aggregator keeps no managed fields for APIService objects, and its API server
    # panics on a server-side apply of one (HTTP/2 INTERNAL_ERROR): every upgrade of a formula with
    # one (metrics-server) failed as "cannot reach the cluster".
    group = f"{namespace[-8:]}.example.com"
    name = f"apiservice/v1.{group}"
    v1 = version_dir(tmp_path, "app", "1.0.0", {"api.json": _apiservice(group, 100)})
    v2 = version_dir(tmp_path, "app", "2.0.0", {"api.json": _apiservice(group, 200)})
    try:
        kube("install", str(v1), "-n", namespace, "--force")
        shown = kube("diff", "app", str(v2), "-n", namespace)
        assert shown.exit_code == 1, shown.output
        assert "-  versionPriority: 100" in shown.stdout and "+  versionPriority: 200" in shown.stdout
        upgraded = kube("upgrade", "app", str(v2), "-n", namespace, "--force")
        assert upgraded.exit_code == 0, upgraded.output
        assert row(upgraded, "APIService", f"v1.{group}") == "changed"
        live = json.loads(kubectl("get", name, "-o", "json").stdout)
        assert live["spec"]["versionPriority"] == 200
        assert live["metadata"]["annotations"]["kube.sh/shared-by"] == f"{namespace}/app"
        back = kube("rollback", "app", "-n", namespace)
        assert back.exit_code == 0, back.output
        assert json.loads(kubectl("get", name, "-o", "json").stdout)["spec"]["versionPriority"] == 100
        assert kube("uninstall", "app", "-n", namespace).exit_code == 0
    finally:
        kubectl("delete", name, "--ignore-not-found", check=False)
