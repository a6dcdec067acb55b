"""kube diff: what an upgrade would change, on the real local control plane.

Every release is set up with `kube install` (whatever record format it writes), then diffed; the
API server's own merge (kubectl diff --server-side) decides what changes. The unreachable cluster
is a real closed port, the silent one a real socket that accepts and never answers.
"""

from __future__ import annotations

import base64
import json
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from kube.cli.app import app
from tests.test_install import configmap, write_formula

KubectlFixture = Callable[..., Any]
cluster = pytest.mark.cluster

SECRET = (
    "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {{ kube.formula }}-pw\n"
    'stringData:\n  password: "{{ password }}"\n  user: admin\n'
)
CONFIG = (
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ kube.formula }}-config\n"
    'data:\n  greeting: "{{ greeting }}"\n'
)


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "400")


def kube(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def formula(root: Path, name: str, version: str = "1.0.0", **manifests: str) -> Path:
    files = {"config.yaml.tmpl": CONFIG, "secret.yaml.tmpl": SECRET, **manifests}
    return write_formula(
        root / version, name, version, manifests=files, values={"greeting": "hello", "password": "pw-one"}
    )


def installed(tmp_path: Path, namespace: str, **manifests: str) -> tuple[str, Path]:
    name = f"app-{namespace[-6:]}"
    directory = formula(tmp_path, name, **manifests)
    result = kube("install", str(directory), "-n", namespace)
    assert result.exit_code == 0, result.output
    return name, directory


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@cluster
def test_no_change_exits_0_and_says_no_changes(namespace: str, tmp_path: Path) -> None:
    name, directory = installed(tmp_path, namespace)

    result = kube("diff", name, str(directory), "-n", namespace)

    assert result.exit_code == 0, result.output
    # kube's own labels are on both sides: they do not show as changes.
    assert result.stdout.strip().splitlines() == [
        f"{name} ({name} 1.0.0) in namespace {namespace}: no changes (2 objects unchanged)"
    ]
    assert "---" not in result.stdout


DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "nginx:1.27"}]
"""


@cluster
def test_what_the_server_defaulted_at_install_is_no_change(namespace: str, tmp_path: Path) -> None:
    # kubectl create's field manager owns the defaults too (strategy, dnsPolicy...): only what kube
    # sent counts as kube's, or a diff and a dry run after install show the defaults going.
    name, directory = installed(tmp_path, namespace, **{"deployment.yaml": DEPLOYMENT})
    result = kube("diff", name, str(directory), "-n", namespace)
    assert result.exit_code == 0, result.output
    assert "no changes (3 objects unchanged)" in result.stdout
    dry = kube("upgrade", name, str(directory), "-n", namespace, "--dry-run")
    assert dry.exit_code == 0 and "would apply" not in dry.stdout, dry.output


@cluster
def test_a_changed_value_shows_the_configmap_diff_and_exits_1(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    name, directory = installed(tmp_path, namespace)

    result = kube("diff", name, str(directory), "-n", namespace, "--set", "greeting=bye")

    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert f"--- ConfigMap/{name}-config (live)" in lines
    assert f"+++ ConfigMap/{name}-config (new)" in lines
    assert "-  greeting: hello" in lines
    assert "+  greeting: bye" in lines
    assert f"ConfigMap/{name}-config: would change" in lines
    assert f"Secret/{name}-pw" not in result.stdout  # unchanged objects print nothing
    assert lines[-1].endswith("1 to change, 0 to create, 0 to prune, 1 unchanged")
    # A diff changes nothing.
    live = json.loads(kubectl("get", "configmap", f"{name}-config", "-n", namespace, "-o", "json").stdout)
    assert live["data"] == {"greeting": "hello"}

    as_json = kube("diff", name, str(directory), "-n", namespace, "--set", "greeting=bye", "-o", "json")
    assert as_json.exit_code == 1, as_json.output
    data = json.loads(as_json.stdout)
    assert data["changed"] is True
    actions = {(o["kind"], o["name"]): o["action"] for o in data["objects"]}
    assert actions == {("ConfigMap", f"{name}-config"): "change", ("Secret", f"{name}-pw"): "unchanged"}


@cluster
def test_a_secret_change_is_masked_and_shown_with_show_secrets(namespace: str, tmp_path: Path) -> None:
    name, directory = installed(tmp_path, namespace)

    masked = kube("diff", name, str(directory), "-n", namespace, "--set", "password=pw-two")

    assert masked.exit_code == 1, masked.output
    lines = masked.stdout.splitlines()
    assert f"+++ Secret/{name}-pw (new)" in lines
    assert "-  password: <redacted>" in lines
    assert "+  password: '<redacted: changed>'" in lines
    assert "   user: '<redacted: unchanged>'" in lines
    for secret in ("pw-one", "pw-two", b64("pw-one"), b64("pw-two"), b64("admin")):
        assert secret not in masked.output

    shown = kube("diff", name, str(directory), "-n", namespace, "--set", "password=pw-two", "--show-secrets")

    assert shown.exit_code == 1, shown.output
    lines = shown.stdout.splitlines()
    assert f"-  password: {b64('pw-one')}" in lines
    assert f"+  password: {b64('pw-two')}" in lines


@cluster
def test_a_long_value_changes_on_one_line_of_the_diff(namespace: str, tmp_path: Path) -> None:
    # kubectl prints a long string on one line; a diff that folded it (or moved it to the next
    # line after "key: ") would show lines that are not in either object.
    long_word = "sha256:" + "a" * 90
    name, directory = installed(tmp_path, namespace)

    sentence = " ".join(["word"] * 40)
    result = kube("diff", name, str(directory), "-n", namespace, "--set", f"greeting={long_word} {sentence}")

    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert "-  greeting: hello" in lines
    assert f"+  greeting: {long_word} {sentence}" in lines
    assert not [line for line in lines if line != line.rstrip()]


@cluster
def test_an_object_the_new_version_drops_would_be_pruned(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    old = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dropped\ndata:\n  a: '1'\n"
    taken = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: taken\ndata:\n  a: '1'\n"
    kept = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kept\n"
        "  annotations:\n    kube.sh/keep: 'true'\ndata:\n  a: '1'\n"
    )
    name, _ = installed(tmp_path, namespace, **{"old.yaml": old, "taken.yaml": taken, "kept.yaml": kept})
    # Someone took `taken` over: without kube's labels an upgrade must leave it alone.
    kubectl("label", "configmap", "taken", "-n", namespace, "app.kubernetes.io/managed-by-")
    added = json.dumps(configmap("added", b="2"))
    newer = formula(tmp_path, name, "1.1.0", **{"added.json": added})

    result = kube("diff", name, str(newer), "-n", namespace)

    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert "ConfigMap/dropped: would be pruned (in revision 1, not in the new render)" in lines
    assert "--- ConfigMap/dropped (live)" in lines
    assert "+++ ConfigMap/dropped (pruned)" in lines
    assert f"ConfigMap/taken: would not be pruned (it no longer carries the labels of {name})" in lines
    assert "ConfigMap/kept: would be kept (kube.sh/keep: true)" in lines
    assert "ConfigMap/added: would be created" in lines
    assert "+++ ConfigMap/added (new)" in lines
    # The version label changes with the version: that is a real change of every object.
    assert f"ConfigMap/{name}-config: would change" in lines
    assert "+    kube.sh/version: 1.1.0" in lines
    assert f"{name} ({name} 1.0.0 -> 1.1.0) in namespace {namespace}: " in lines[-1]
    assert lines[-1].endswith(
        "2 to change, 1 to create, 1 to prune, 0 unchanged, 1 would be kept, 1 would not be pruned"
    )
    # Nothing was deleted or created.
    names = kubectl("get", "configmaps", "-n", namespace, "-o", "name").stdout.split()
    assert "configmap/dropped" in names
    assert "configmap/added" not in names


@cluster
def test_a_release_that_does_not_exist_is_exit_3(namespace: str) -> None:
    result = kube("diff", "nothing-here", "-n", namespace)

    assert result.exit_code == 3, result.output
    assert result.stderr.strip().splitlines() == [
        f"Error: no release nothing-here in namespace {namespace} "
        f"(hint: run `kube list -n {namespace}` to see the releases there)"
    ]


def kubeconfig_for(tmp_path: Path, port: int) -> Path:
    config = tmp_path / "kubeconfig"
    config.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": f"https://127.0.0.1:{port}"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        "users": [{"name": "u", "user": {"token": "t"}}]}))  # fmt: skip
    return config


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A real server that accepts connections and never says a word."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


@cluster
def test_an_unreachable_cluster_is_exit_8(namespace: str, tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the block ends: nothing listens there
    config = kubeconfig_for(tmp_path, port)

    result = kube("diff", "web", "-n", "default", "--kubeconfig", str(config))

    assert result.exit_code == 8, result.output
    assert "cannot reach the cluster" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@cluster
def test_a_silent_cluster_is_exit_8_within_the_request_timeout(
    namespace: str, tmp_path: Path, silent_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBE_REQUEST_TIMEOUT", "2")
    config = kubeconfig_for(tmp_path, silent_port)
    started = time.monotonic()

    result = kube("diff", "web", "-n", "default", "--kubeconfig", str(config))

    assert result.exit_code == 8, result.output
    assert len(result.stderr.strip().splitlines()) == 1
    assert time.monotonic() - started < 20


HOOK = """\
import json, os, pathlib, secrets
values = json.loads(pathlib.Path(os.environ["KUBE_VALUES_FILE"]).read_text())
# Echo everything back, as many hooks do, with a password generated on every run.
values["password"] = secrets.token_hex(8)
pathlib.Path(os.environ["KUBE_VALUES_OUT"]).write_text(json.dumps(values))
"""


@cluster
def test_values_and_hook_values_carry_over_from_the_deployed_revision(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    from kube.k8s import releases
    from kube.k8s.kubectl import Kubectl

    name = f"hooked-{namespace[-6:]}"
    directory = write_formula(
        tmp_path, name, manifests={"config.yaml.tmpl": CONFIG, "secret.yaml.tmpl": SECRET}, hook=HOOK,
        values={"greeting": "hello", "password": "pw-one"},
    )  # fmt: skip
    result = kube("install", str(directory), "-n", namespace, "--set", "greeting=bye")
    assert result.exit_code == 0, result.output
    secret = json.loads(kubectl("get", "secret", f"{name}-pw", "-n", namespace, "-o", "json").stdout)
    generated = base64.b64decode(secret["data"]["password"]).decode()

    client = Kubectl(namespace=namespace)
    release = releases.read_release(client, name, namespace)
    assert release is not None and release.latest is not None
    first = release.latest
    bare = kube("diff", name, str(directory), "-n", namespace)
    if first.format_version == 1:
        # A round-one record holds neither the values nor what the hook returned: both show.
        assert bare.exit_code == 1, bare.output
        assert "holds no values (a round-one record): starting from the defaults" in bare.stderr
        assert (
            "the pre-install hook is not run by diff, and revision 1 holds no values from it" in bare.stderr
        )
        assert "+  greeting: hello" in bare.stdout.splitlines()
        assert f"Secret/{name}-pw: would change" in bare.stdout.splitlines()
    else:
        # The install recorded both: nothing to change, the generated password included.
        assert bare.exit_code == 0, bare.output
        assert "no changes (2 objects unchanged)" in bare.stdout

    # The record an upgrade writes: the user's values, and the hook's (echoing the user's).
    revision = releases.Revision(
        name, namespace, first.revision + 1, name, "1.0.0", releases.ReleaseStatus.DEPLOYED,
        releases.ReleaseOutcome.COMPLETE, releases.utc_now(), values={"greeting": "bye"},
        hook_values={"greeting": "bye", "password": generated}, manifest=(), objects=first.objects,
    )  # fmt: skip
    if first.format_version != 1:
        releases.supersede(client, first)
    releases.write_revision(client, revision)

    carried = kube("diff", name, str(directory), "-n", namespace)
    assert carried.exit_code == 0, carried.output
    assert "no changes (2 objects unchanged)" in carried.stdout
    note = "the pre-install hook is not run by diff: using the values it returned for revision"
    note += f" {revision.revision}"
    assert note in carried.stderr

    # A value set now wins over the hook's echo of the old one; the generated password stays.
    changed = kube("diff", name, str(directory), "-n", namespace, "--set", "greeting=hi", "-o", "json")
    assert changed.exit_code == 1, changed.output
    actions = {o["kind"]: o["action"] for o in json.loads(changed.stdout)["objects"]}
    assert actions == {"ConfigMap": "change", "Secret": "unchanged"}

    reset = kube("diff", name, str(directory), "-n", namespace, "--reset-values")
    assert reset.exit_code == 1, reset.output
    assert "--reset-values: starting from the defaults" in reset.stderr
    assert "+  greeting: hello" in reset.stdout.splitlines()
    assert f"Secret/{name}-pw" not in reset.stdout


# -- masking (plain data) -----------------------------------------------------------------------


def test_masked_secrets_say_which_values_changed_and_keep_their_keys() -> None:
    from kube.install.diff import mask_secrets

    old = {
        "kind": "Secret",
        "data": {"same": "YQ==", "changed": "Yg==", "removed": "Yw=="},
        "metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{pw}"}},
    }
    new = {"kind": "Secret", "data": {"same": "YQ==", "changed": "ZA==", "added": "ZQ=="}, "metadata": {}}
    masked_old, masked_new = mask_secrets(old, new)

    assert masked_old is not None
    assert masked_old["data"] == {
        "same": "<redacted: unchanged>",
        "changed": "<redacted>",
        "removed": "<redacted>",
    }
    assert masked_new["data"] == {
        "same": "<redacted: unchanged>",
        "changed": "<redacted: changed>",
        "added": "<redacted: added>",
    }
    assert masked_old["metadata"]["annotations"] == {
        "kubectl.kubernetes.io/last-applied-configuration": "<redacted>"
    }
    assert old["data"]["changed"] == "Yg=="  # the inputs are left as they were


@cluster
def test_a_new_crd_and_its_first_object_would_be_created(namespace: str, tmp_path: Path) -> None:
    name, _ = installed(tmp_path, namespace)
    group = f"{namespace[-6:]}.diff.example.com"
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"widgets.{group}"},
        "spec": {"group": group, "scope": "Namespaced",
                 "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                 "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                     "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]},
    }  # fmt: skip
    widget = {"apiVersion": f"{group}/v1", "kind": "Widget", "metadata": {"name": "w1"}, "spec": {"size": 3}}
    newer = formula(
        tmp_path, name, "1.1.0", **{"crd.json": json.dumps(crd), "widget.json": json.dumps(widget)}
    )

    result = kube("diff", name, str(newer), "-n", namespace)

    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert f"CustomResourceDefinition/widgets.{group}: would be created" in lines
    assert (
        "Widget/w1: would be created (as rendered: its CustomResourceDefinition is new, "
        "so the API server cannot check it yet)"
    ) in lines
    assert "+  size: 3" in lines


@cluster
def test_a_service_port_without_protocol_is_no_change(namespace: str, tmp_path: Path) -> None:
    # kubectl create took it and the API server defaulted protocol; a server-side diff of the same
    # port without protocol is refused by Kubernetes up to 1.21 unless kube fills it in as upgrade does.
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
               "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}  # fmt: skip
    name, directory = installed(tmp_path, namespace, **{"service.json": json.dumps(service)})

    result = kube("diff", name, str(directory), "-n", namespace)

    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith("no changes (3 objects unchanged)")
    # And the upgrade the diff foretold changes nothing either: install hashed the Service as an
    # upgrade sends it (kube.sh/content-hash), so no annotation is rewritten.
    upgrade = kube("upgrade", name, str(directory), "-n", namespace, "-o", "json")
    assert upgrade.exit_code == 0, upgrade.output
    statuses = {o["kind"]: o["status"] for o in json.loads(upgrade.stdout)["objects"]}
    assert statuses == {"ConfigMap": "unchanged", "Secret": "unchanged", "Service": "unchanged"}


@cluster
def test_a_named_second_release_is_diffed_on_its_own_objects(namespace: str, tmp_path: Path) -> None:
    named = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ kube.release }}-named\ndata:\n  a: '1'\n"
    name = f"app-{namespace[-6:]}"
    directory = write_formula(tmp_path, name, manifests={"named.yaml.tmpl": named})
    first = kube("install", str(directory), "-n", namespace)
    assert first.exit_code == 0, first.output
    second = kube("install", str(directory), "-n", namespace, "--name", "second")
    if second.exit_code == 2 and "--name" in second.output:
        pytest.skip("kube install has no --name yet: one release per formula")
    assert second.exit_code == 0, second.output

    same = kube("diff", "second", str(directory), "-n", namespace)
    assert same.exit_code == 0, same.output
    assert "no changes (1 object unchanged)" in same.stdout

    result = kube("diff", "second", str(directory), "-n", namespace, "--reset-values", "-o", "json")
    assert result.exit_code == 0, result.output
    assert [o["name"] for o in json.loads(result.stdout)["objects"]] == ["second-named"]


@cluster
def test_objects_of_types_the_cluster_does_not_serve_would_fail_and_the_rest_is_still_diffed(
    namespace: str, tmp_path: Path
) -> None:
    name, _ = installed(tmp_path, namespace)
    widget = "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n"
    gadget = "apiVersion: example.org/v2\nkind: Gadget\nmetadata:\n  name: g\n"
    newer = formula(tmp_path, name, "1.1.0", **{"widget.yaml": widget, "gadget.yaml": gadget})

    result = kube("diff", name, str(newer), "-n", namespace, "--set", "greeting=bye")

    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert (
        "Widget/w: would fail (the cluster serves no example.com/v1 Widget: install the kube or the "
        "CustomResourceDefinition that defines it first)" in lines
    )
    assert any(
        line.startswith("Gadget/g: would fail (the cluster serves no example.org/v2 Gadget") for line in lines
    )
    assert "+  greeting: bye" in lines  # the served objects are diffed as before (and relabelled)
    assert lines[-1].endswith("2 would fail, 2 to change, 0 to create, 0 to prune, 0 unchanged")
    as_json = json.loads(kube("diff", name, str(newer), "-n", namespace, "-o", "json").stdout)
    actions = {o["kind"]: o["action"] for o in as_json["objects"]}
    assert actions == {
        "ConfigMap": "change",
        "Secret": "change",
        "Widget": "unserved",
        "Gadget": "unserved",
    }


STATEFUL = """\
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
spec:
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: db, image: "busybox:1.36"}]
"""


@cluster
def test_an_object_the_server_would_refuse_is_named_and_the_rest_still_diffed(
    namespace: str, tmp_path: Path
) -> None:
    name, _ = installed(tmp_path, namespace, **{"db.yaml": STATEFUL})
    # A StatefulSet's serviceName cannot change: the API server refuses the dry run, as the upgrade.
    moved = formula(
        tmp_path, name, "2.0.0", **{"db.yaml": STATEFUL.replace("serviceName: db", "serviceName: other")}
    )
    result = kube("diff", name, str(moved), "-n", namespace)
    assert result.exit_code == 1, result.output
    said = " ".join(result.stdout.split())
    assert (
        'StatefulSet/db: would fail (the API server refuses it: Invalid: The StatefulSet "db" is invalid'
        in said
    )
    assert "1 would fail, 2 to change" in said  # the ConfigMap and Secret carry the new version label
