"""kube install / list / uninstall as a user runs them, against the real local control plane."""

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
from tests.gitrepo import formula_files, make_repo
from tests.test_install import configmap, deployment, logging_kubectl, write_formula

pytestmark = pytest.mark.cluster
KubectlFixture = Callable[..., Any]
MANAGED = "app.kubernetes.io/managed-by=kube"
KEEP = "kube.sh/resource-policy"
MAY_NOT = "!!-> This package may not function correctly."

WEB_TEMPLATE = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ kube.formula }}-settings
data:
  greeting: {{ greeting | quote }}
  namespace: {{ kube.namespace }}
---
apiVersion: v1
kind: Secret
metadata:
  name: {{ kube.formula }}-login
stringData:
  password: {{ password | quote }}
"""
# Generates a password for the template, writes an extra manifest, and counts its runs in a file
# named by a value (so a test can tell whether it ran).
WEB_HOOK = """\
import json, os, secrets
values = json.load(open(os.environ["KUBE_VALUES_FILE"]))
with open(values["counter"], "a") as counter:
    counter.write("ran\\n")
with open(os.environ["KUBE_VALUES_OUT"], "w") as out:
    json.dump({"password": secrets.token_hex(12)}, out)
with open("manifests/generated.yaml", "w") as extra:
    extra.write("apiVersion: v1\\nkind: Secret\\nmetadata: {name: generated-key}\\nstringData: {key: k}\\n")
"""


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables fold long cells at the terminal's width; the test namespaces' names are long."""
    monkeypatch.setenv("COLUMNS", "250")


def kube(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(app, list(args), input=input)


def row(result: Result, kind: str, name: str) -> list[str]:
    """The cells of the table row for one object (app version kind name namespace status)."""
    for line in result.stdout.splitlines():
        cells = line.split(None, 5)
        if len(cells) == 6 and cells[2:4] == [kind, name]:
            return [*cells[:5], cells[5].strip()]
    raise AssertionError(f"no row for {kind}/{name} in:\n{result.stdout}")


def web_formula(tmp_path: Path) -> Path:
    return write_formula(
        tmp_path, "web", "1.2.0", manifests={"web.yaml.tmpl": WEB_TEMPLATE}, hook=WEB_HOOK,
        values={"greeting": "hello", "counter": str(tmp_path / "hook-runs")},
    )  # fmt: skip


def unique(namespace: str, name: str) -> str:
    """A formula name no other test uses: dependencies are satisfied by records in any namespace,
    and other tests' namespaces (and records) may still be on their way out."""
    return f"{name}-{namespace[-6:]}"


def warning(dependency: str) -> str:
    return f"!!-> WARNING: Dependency {dependency} (1.9 < x <= 1.10) does not seem to be satisfied."


def ponycorn(tmp_path: Path, dependency: str) -> Path:
    return write_formula(
        tmp_path, "ponycorn", "1.0.3", dependencies=[{"name": dependency, "version": "1.9 < x <= 1.10"}]
    )


def managed(kubectl: KubectlFixture, namespace: str) -> list[str]:
    out = kubectl("get", "all,cm,secret", "-n", namespace, "-l", MANAGED, "-o", "name").stdout
    return sorted(out.split())


def everything(kubectl: KubectlFixture, namespace: str) -> list[str]:
    out = kubectl("get", "all,cm,secret,sa,role,rolebinding", "-n", namespace, "-o", "name").stdout
    return sorted(out.split())


def gone(kubectl: KubectlFixture, *args: str, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if kubectl("get", *args, check=False).returncode != 0:
            return True
        time.sleep(0.3)
    return False


# -- install ------------------------------------------------------------------------------------


def test_install_runs_the_hook_renders_templates_and_records_every_object(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    result = kube("install", str(web_formula(tmp_path)), "-n", namespace, "--set", "greeting=hi there")
    assert result.exit_code == 0, result.output
    assert "web 1.2.0 installed in namespace " + namespace in result.stdout
    for kind, name in (("ConfigMap", "web-settings"), ("Secret", "web-login"), ("Secret", "generated-key")):
        assert row(result, kind, name) == ["web", "1.2.0", kind, name, namespace, "created"]
    settings = json.loads(kubectl("get", "configmap", "web-settings", "-n", namespace, "-o", "json").stdout)
    assert settings["data"] == {"greeting": "hi there", "namespace": namespace}
    assert settings["metadata"]["labels"]["kube.sh/formula"] == "web"
    login = json.loads(kubectl("get", "secret", "web-login", "-n", namespace, "-o", "json").stdout)
    assert len(login["data"]["password"]) > 20  # generated by the hook
    listed = json.loads(kube("list", "-n", namespace, "-o", "json").stdout)
    [record] = [r["record"] for r in listed]
    # Secrets and ConfigMaps share a place in the kind order; then file order (generated.yaml, web.yaml.tmpl).
    assert [(o["kind"], o["name"]) for o in record["objects"]] == [
        ("Secret", "generated-key"), ("ConfigMap", "web-settings"), ("Secret", "web-login"),
    ]  # fmt: skip
    assert record["outcome"] == "complete" and record["createdNamespace"] is False
    assert "hi there" not in json.dumps(record) and record["valuesDigest"].startswith("sha256:")


def test_installing_what_is_installed_says_so_and_touches_nothing(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    directory = web_formula(tmp_path)
    assert kube("install", str(directory), "-n", namespace).exit_code == 0
    before = kubectl(
        "get", "secret", "web-login", "-n", namespace, "-o", "jsonpath={.metadata.resourceVersion}"
    ).stdout
    again = kube("install", str(directory), "-n", namespace)
    assert again.exit_code == 0
    assert f"web 1.2.0 is already installed in namespace {namespace}: 3 objects, all ok" in again.stdout
    assert row(again, "Secret", "web-login")[-1] == "ok"
    assert (tmp_path / "hook-runs").read_text() == "ran\n"
    after = kubectl(
        "get", "secret", "web-login", "-n", namespace, "-o", "jsonpath={.metadata.resourceVersion}"
    ).stdout
    assert before == after


def test_dry_run_prints_the_objects_and_changes_nothing(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    before = everything(kubectl, namespace)
    result = kube("install", str(web_formula(tmp_path)), "-n", namespace, "--dry-run")
    assert result.exit_code == 0, result.output
    docs = result.stdout.split("\n---\n")
    assert len(docs) == 3 and "name: web-settings" in docs[1] and f"namespace: {namespace}" in docs[1]
    assert "would create 3 objects" in result.stderr
    table = kube("install", str(web_formula(tmp_path)), "-n", namespace, "--dry-run", "-o", "table")
    assert table.stdout.count("would create") == 4  # three rows and the summary
    assert everything(kubectl, namespace) == before
    assert kube("list", "-n", namespace, "-o", "json").stdout.strip() == "[]"


def test_install_json_output_lists_each_object(namespace: str, tmp_path: Path) -> None:
    result = kube("install", str(write_formula(tmp_path, "plain")), "-n", namespace, "-o", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["outcome"] == "installed" and data["namespace"] == namespace
    expected = {"apiVersion": "v1", "kind": "ConfigMap", "name": "plain-config", "namespace": namespace,
                "status": "created", "detail": "", "source": "manifests/configmap.yaml:1"}  # fmt: skip
    assert data["objects"] == [expected]


# -- dependencies -------------------------------------------------------------------------------


def test_missing_dependency_without_a_terminal_stops_before_anything_is_created(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    result = kube("install", str(ponycorn(tmp_path, unique(namespace, "nginx"))), "-n", namespace)
    assert result.exit_code == 6
    assert result.stderr.splitlines()[:2] == [warning(unique(namespace, "nginx")), MAY_NOT]
    assert "no terminal to ask" in result.stderr and "--force" in result.stderr
    assert managed(kubectl, namespace) == []


def test_missing_dependency_answered_no_installs_nothing(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBE_INTERACTIVE", "1")  # CliRunner's stdin is no terminal; answers come from input
    result = kube(
        "install", str(ponycorn(tmp_path, unique(namespace, "nginx"))), "-n", namespace, input="n\n"
    )
    assert result.exit_code == 6
    assert result.stderr.splitlines()[:2] == [warning(unique(namespace, "nginx")), MAY_NOT]
    assert "Continue? [y/N]" in result.stderr and "installation cancelled" in result.stderr
    assert managed(kubectl, namespace) == []


def test_missing_dependency_answered_yes_installs(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBE_INTERACTIVE", "1")
    result = kube(
        "install", str(ponycorn(tmp_path, unique(namespace, "nginx"))), "-n", namespace, input="y\n"
    )
    assert result.exit_code == 0, result.output
    assert "Continue? [y/N]" in result.stderr
    assert managed(kubectl, namespace) == ["configmap/ponycorn-config", "secret/kube.release.ponycorn.v1"]


def test_force_installs_despite_missing_dependency_without_asking(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    result = kube("install", str(ponycorn(tmp_path, unique(namespace, "nginx"))), "-n", namespace, "--force")
    assert result.exit_code == 0, result.output
    assert warning(unique(namespace, "nginx")) in result.stderr and "Continue?" not in result.stderr
    assert "configmap/ponycorn-config" in managed(kubectl, namespace)


def test_installed_dependency_in_range_needs_no_question(namespace: str, tmp_path: Path) -> None:
    nginx = write_formula(tmp_path, unique(namespace, "nginx"), "1.10.0")
    assert kube("install", str(nginx), "-n", namespace).exit_code == 0
    result = kube("install", str(ponycorn(tmp_path, unique(namespace, "nginx"))), "-n", namespace)
    assert result.exit_code == 0, result.output
    assert "WARNING" not in result.stderr


def test_with_deps_installs_dependencies_from_the_archive_first(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    nginx, base = unique(namespace, "nginx"), unique(namespace, "base")
    files: dict[str, str] = {}
    files.update(formula_files(nginx, "1.10.0", dependencies=[{"name": base, "version": "^1"}]))
    files.update(formula_files(base, "1.4.0"))
    files.update(
        formula_files("ponycorn", "1.0.3", dependencies=[{"name": nginx, "version": "1.9 < x <= 1.10"}])
    )
    repo = make_repo(tmp_path / "remote", files)
    assert kube("update", "--repo", str(repo)).exit_code == 0

    result = kube("install", "ponycorn", "-n", namespace, "--with-deps")
    assert result.exit_code == 0, result.output
    assert "WARNING" not in result.stderr
    assert result.stderr.index(f"Installing dependency {base} 1.4.0") < result.stderr.index(
        f"Installing dependency {nginx} 1.10.0"
    )
    listed = {r["name"]: r["version"] for r in json.loads(kube("list", "-n", namespace, "-o", "json").stdout)}
    assert listed == {base: "1.4.0", nginx: "1.10.0", "ponycorn": "1.0.3"}
    created = [json.loads(kubectl("get", "cm", f"{n}-config", "-n", namespace, "-o", "json").stdout)
               for n in (base, nginx, "ponycorn")]  # fmt: skip
    stamps = [c["metadata"]["creationTimestamp"] for c in created]
    assert stamps == sorted(stamps)


def test_with_deps_reports_a_dependency_cycle(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    files: dict[str, str] = {}
    files.update(formula_files("left", "1.0.0", dependencies=[{"name": "right", "version": "*"}]))
    files.update(formula_files("right", "1.0.0", dependencies=[{"name": "left", "version": "*"}]))
    assert kube("update", "--repo", str(make_repo(tmp_path / "remote", files))).exit_code == 0
    result = kube("install", "left", "-n", namespace, "--with-deps")
    assert result.exit_code == 6
    assert "dependency cycle: left -> right -> left" in result.stderr
    assert managed(kubectl, namespace) == []


# -- failures -----------------------------------------------------------------------------------

BROKEN = {
    "a-first.yaml": json.dumps(configmap("first")),
    "b-bad.yaml": "apiVersion: v1\nkind: Service\nmetadata: {name: bad}\nspec:\n  ports: [{port: 99999}]\n",
    "c-second.yaml": json.dumps(configmap("second")),
    "d-later.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: later\n  annotations:\n"
    "    config.kubernetes.io/depends-on: /Service/bad\n",
}


def test_rejected_object_leaves_a_partial_record_that_uninstall_cleans_up(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    before = everything(kubectl, namespace)
    result = kube("install", str(write_formula(tmp_path, "broken", manifests=BROKEN)), "-n", namespace)
    assert result.exit_code == 8
    assert row(result, "ConfigMap", "first")[-1] == "created"
    assert row(result, "ConfigMap", "second")[-1] == "created"
    assert row(result, "Service", "bad")[-1] == "failed (Invalid)"
    assert row(result, "ConfigMap", "later")[-1] == "not attempted"
    # The failure names the manifest it came from.
    assert "Service/bad (manifests/b-bad.yaml:1): Invalid:" in result.stdout and "99999" in result.stdout
    failed = "Error: install of broken failed: Service/bad (manifests/b-bad.yaml:1) failed (Invalid)"
    assert failed in result.stderr
    [listed] = json.loads(kube("list", "-n", namespace, "-o", "json").stdout)
    assert listed["status"] == "partial" and listed["objects"] == 2
    assert listed["record"]["failed"][0]["reason"] == "Invalid"

    removed = kube("uninstall", "broken", "-n", namespace)
    assert removed.exit_code == 0, removed.output
    assert managed(kubectl, namespace) == []
    assert everything(kubectl, namespace) == before


def test_atomic_deletes_what_the_failed_install_created(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    result = kube(
        "install", str(write_formula(tmp_path, "broken", manifests=BROKEN)), "-n", namespace, "--atomic"
    )
    assert result.exit_code == 8
    assert "rolled back 2 objects" in result.stdout
    assert managed(kubectl, namespace) == []


def test_atomic_into_a_new_namespace_removes_the_namespace_too(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    fresh = f"{namespace}-new"
    result = kube(
        "install", str(write_formula(tmp_path, "broken", manifests=BROKEN)), "-n", fresh, "--atomic"
    )
    assert result.exit_code == 8
    assert gone(kubectl, "namespace", fresh)


def test_a_hook_that_hangs_is_stopped_and_nothing_is_created(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    directory = write_formula(
        tmp_path, "sleepy", hook="import time\nprint('thinking', flush=True)\ntime.sleep(120)\n"
    )
    started = time.monotonic()
    result = kube("install", str(directory), "-n", namespace, "--hook-timeout", "1s")
    assert time.monotonic() - started < 20
    assert result.exit_code == 7
    assert "did not finish within 1s" in result.stderr and "thinking" in result.stderr
    assert managed(kubectl, namespace) == []


def test_a_failing_hook_shows_the_end_of_its_output(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    directory = write_formula(
        tmp_path, "grumpy", hook="import sys\nprint('no certificate authority found')\nsys.exit(3)\n"
    )
    result = kube("install", str(directory), "-n", namespace)
    assert result.exit_code == 7
    assert "no certificate authority found" in result.stderr and "exit code 3" in result.stderr
    assert managed(kubectl, namespace) == []


def test_no_hooks_skips_the_hook(namespace: str, tmp_path: Path) -> None:
    directory = write_formula(tmp_path, "grumpy", hook="import sys\nsys.exit(3)\n")
    assert kube("install", str(directory), "-n", namespace, "--no-hooks").exit_code == 0


def test_a_template_that_tries_to_escape_the_sandbox_is_refused(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    escape = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"
        "data:\n  x: \"{{ ''.__class__.__mro__[1].__subclasses__() }}\"\n"
    )
    directory = write_formula(tmp_path, "sneaky", manifests={"cm.yaml.tmpl": escape})
    result = kube("install", str(directory), "-n", namespace)
    assert result.exit_code == 4
    assert "manifests/cm.yaml.tmpl" in result.stderr
    assert managed(kubectl, namespace) == []


# -- list and uninstall -------------------------------------------------------------------------


def test_install_list_uninstall_leaves_the_namespace_as_it_was(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    before = everything(kubectl, namespace)
    assert kube("install", str(web_formula(tmp_path)), "-n", namespace).exit_code == 0
    listed = kube("list", "-n", namespace)
    assert listed.exit_code == 0
    [row] = [line.split() for line in listed.stdout.splitlines() if line.startswith("web ")]
    assert row[:4] == ["web", "1.2.0", namespace, "complete"] and row[-1] == "3"

    removed = kube("uninstall", "web", "-n", namespace)
    assert removed.exit_code == 0, removed.output
    assert f"uninstalled web 1.2.0 in namespace {namespace}: 3 objects deleted" in removed.stdout
    assert everything(kubectl, namespace) == before
    assert kubectl("get", "namespace", namespace, check=False).returncode == 0


def test_namespace_created_by_install_goes_with_uninstall(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    fresh = f"{namespace}-own"
    result = kube("install", str(write_formula(tmp_path, "solo")), "-n", fresh)
    assert result.exit_code == 0, result.output
    labels = json.loads(kubectl("get", "namespace", fresh, "-o", "json").stdout)["metadata"]["labels"]
    assert labels["app.kubernetes.io/managed-by"] == "kube"
    [listed] = json.loads(kube("list", "-n", fresh, "-o", "json").stdout)
    assert listed["record"]["createdNamespace"] is True
    removed = kube("uninstall", "solo")  # no -n: the only record of that name is found
    assert removed.exit_code == 0, removed.output
    # Without --wait, the namespace is read back once: still Terminating, so not yet "deleted".
    assert f"namespace {fresh} deleting (Terminating)" in removed.stdout
    assert gone(kubectl, "namespace", fresh)


def test_a_namespace_kube_created_is_kept_while_something_else_lives_in_it(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    """What else lives there is read while the release's objects are deleted: those do not count
    (told apart by uid), nor what they own (the Deployment's ReplicaSet), but the user's own do."""
    manifests = {"cm.json": json.dumps(configmap("settings")), "deploy.json": deployment("web")}
    fresh = f"{namespace[:50]}-own"
    assert (
        kube("install", str(write_formula(tmp_path, "app", manifests=manifests)), "-n", fresh).exit_code == 0
    )
    kubectl("create", "configmap", "mine", "--from-literal=k=v", "-n", fresh)
    removed = kube("uninstall", "app", "-n", fresh)
    assert removed.exit_code == 0, removed.output
    assert f"namespace {fresh} was kept: ConfigMap/mine still lives in it" in removed.output, removed.output
    assert kubectl("get", "configmap", "mine", "-n", fresh, "-o", "name").stdout.strip() == "configmap/mine"
    assert (
        kubectl("get", "configmap", "settings", "-n", fresh, "--ignore-not-found", "-o", "name").stdout == ""
    )
    kubectl("delete", "namespace", fresh, "--wait=false")


def test_uninstall_takes_few_kubectl_processes(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifests = {f"cm{i}.json": json.dumps(configmap(f"cm{i}")) for i in range(4)}
    manifests["deploy.json"] = deployment("web")
    directory = write_formula(tmp_path, "quick", manifests=manifests)
    wrapper, log = logging_kubectl(tmp_path)
    monkeypatch.setenv("KUBE_KUBECTL", str(wrapper))
    fresh = f"{namespace[:50]}-own"
    for where in (namespace, fresh):
        assert kube("install", str(directory), "-n", where).exit_code == 0
        log.write_text("")
        removed = kube("uninstall", "quick", "-n", where)
        assert removed.exit_code == 0, removed.output
        assert "5 objects deleted" in removed.stdout
        calls = log.read_text().splitlines()
        verbs = [line.split()[0] for line in calls]
        # The records of the cluster (the release, and whatever may depend on it); the objects (and
        # the namespace) read; one delete, in which kubectl waits until a read says they are gone;
        # the records. Nothing about the namespace: kube did not create this one.
        expected = ["get", "get", "delete", "delete"]
        if where == fresh:
            # Once the records say kube created the namespace: the server's types and what else
            # lives there (no hint yet: read while the objects are deleted, with the server's
            # list); the records with the namespace; a read of it. The calls log as they end,
            # and the reads that overlap may end in either order.
            expected = ["api-resources", "delete", "delete", "get", "get", "get", "get"]
            assert f"namespace {fresh} deleting (Terminating)" in removed.stdout
            verbs = sorted(verbs)
            assert calls[-2].startswith("delete") and calls[-1].startswith("get --filename=-"), calls
        assert calls[0].startswith("get secrets") and "--all-namespaces" in calls[0]
        assert verbs == expected, calls
        assert "--wait=true" in next(c for c in calls if c.startswith("delete"))
        assert kubectl("get", "configmaps,deployments", "-l", MANAGED, "-n", where, "-o", "name").stdout == ""
    assert gone(kubectl, "namespace", fresh)


def test_uninstall_keeps_objects_annotated_keep(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    kept = json.dumps({**configmap("data"), "metadata": {"name": "data", "annotations": {KEEP: "keep"}}})
    directory = write_formula(
        tmp_path, "careful", manifests={"a.yaml": kept, "b.yaml": json.dumps(configmap("tmp"))}
    )
    assert kube("install", str(directory), "-n", namespace).exit_code == 0
    removed = kube("uninstall", "careful", "-n", namespace)
    assert removed.exit_code == 0, removed.output
    assert "1 object left in place" in removed.stdout
    assert kubectl("get", "configmap", "data", "-n", namespace, check=False).returncode == 0
    assert kubectl("get", "configmap", "tmp", "-n", namespace, check=False).returncode != 0


def test_uninstall_leaves_an_object_made_again_by_someone_else(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    assert kube("install", str(write_formula(tmp_path, "plain")), "-n", namespace).exit_code == 0
    kubectl("delete", "configmap", "plain-config", "-n", namespace)
    kubectl("create", "configmap", "plain-config", "-n", namespace, "--from-literal=mine=yes")
    removed = kube("uninstall", "plain", "-n", namespace)
    assert removed.exit_code == 0, removed.output
    assert "ConfigMap/plain-config: does not carry the labels of plain" in removed.stdout
    assert kubectl("get", "configmap", "plain-config", "-n", namespace, check=False).returncode == 0


def test_uninstall_of_what_is_not_installed_says_so(namespace: str) -> None:
    result = kube("uninstall", "nothing-here", "-n", namespace)
    assert result.exit_code == 3
    assert f"nothing-here is not installed in namespace {namespace}" in result.stderr


def test_object_deleted_by_hand_is_not_an_error_for_uninstall(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    assert kube("install", str(write_formula(tmp_path, "plain")), "-n", namespace).exit_code == 0
    kubectl("delete", "configmap", "plain-config", "-n", namespace)
    removed = kube("uninstall", "plain", "-n", namespace)
    assert removed.exit_code == 0, removed.output
    assert "already gone" in removed.stdout
    assert managed(kubectl, namespace) == []


def test_list_shows_every_namespace_by_default(namespace: str, tmp_path: Path) -> None:
    assert kube("install", str(write_formula(tmp_path, "plain")), "-n", namespace).exit_code == 0
    rows = json.loads(kube("list", "-o", "json").stdout)
    assert any(r["name"] == "plain" and r["namespace"] == namespace for r in rows)
    assert kube("list", "-n", namespace, "-A").exit_code == 2


# -- wait ---------------------------------------------------------------------------------------


def test_wait_reports_a_deployment_ready(namespace: str, tmp_path: Path) -> None:
    directory = write_formula(tmp_path, "app", manifests={"deploy.json": deployment("app", replicas=2)})
    result = kube("install", str(directory), "-n", namespace, "--wait", "--timeout", "60s")
    assert result.exit_code == 0, result.output
    assert row(result, "Deployment", "app")[-1] == "ready"
    assert "all ready" in result.stdout


def test_wait_fails_at_the_timeout_naming_what_is_not_ready(namespace: str, tmp_path: Path) -> None:
    stuck = deployment("stuck", nodeSelector={"no": "such-node"})
    directory = write_formula(tmp_path, "stuck", manifests={"deploy.json": stuck})
    result = kube("install", str(directory), "-n", namespace, "--wait", "--timeout", "3s")
    assert result.exit_code == 9
    assert "not ready after 3s: Deployment/stuck (0 of 1 replicas available)" in result.stderr


def test_objects_left_by_an_attempt_that_never_recorded_them_are_taken_over(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    # What an install stopped by Ctrl-C between `kubectl create` and writing its record leaves behind.
    leftover = configmap("plain-config", namespace)
    leftover["metadata"]["labels"] = {"app.kubernetes.io/managed-by": "kube", "kube.sh/formula": "plain",
                                      "kube.sh/release": "plain"}  # fmt: skip
    kubectl("create", "-f", "-", input=json.dumps(leftover))
    stranger = configmap("taken", namespace)
    kubectl("create", "-f", "-", input=json.dumps(stranger))
    manifests = {"a.yaml": json.dumps(configmap("plain-config")), "b.yaml": json.dumps(configmap("taken"))}

    result = kube("install", str(write_formula(tmp_path, "plain", manifests=manifests)), "-n", namespace)

    assert result.exit_code == 8
    assert row(result, "ConfigMap", "plain-config")[-1] == "exists"
    assert row(result, "ConfigMap", "taken")[-1] == "failed (AlreadyExists)"
    [listed] = json.loads(kube("list", "-n", namespace, "-o", "json").stdout)
    assert [o["name"] for o in listed["record"]["objects"]] == ["plain-config"]
    assert kube("uninstall", "plain", "-n", namespace).exit_code == 0
    assert kubectl("get", "configmap", "taken", "-n", namespace, check=False).returncode == 0


def test_uninstall_tells_a_remade_object_by_the_uid_a_partial_record_keeps(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    assert (
        kube("install", str(write_formula(tmp_path, "broken", manifests=BROKEN)), "-n", namespace).exit_code
        == 8
    )
    [listed] = json.loads(kube("list", "-n", namespace, "-o", "json").stdout)
    assert all(o["uid"] for o in listed["record"]["objects"])
    live = json.loads(kubectl("get", "configmap", "first", "-n", namespace, "-o", "json").stdout)
    kubectl("delete", "configmap", "first", "-n", namespace)
    remade = configmap("first", namespace)
    remade["metadata"]["labels"] = live["metadata"]["labels"]  # the same labels, but not the same object
    kubectl("create", "-f", "-", input=json.dumps(remade))

    removed = kube("uninstall", "broken", "-n", namespace)

    assert removed.exit_code == 0, removed.output
    assert "ConfigMap/first: made again since the install (uid differs)" in removed.stdout
    assert kubectl("get", "configmap", "first", "-n", namespace, check=False).returncode == 0
    assert kubectl("get", "configmap", "second", "-n", namespace, check=False).returncode != 0


def test_ctrl_c_while_kubectl_runs_records_what_exists(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    import os
    import shutil
    import signal
    import subprocess
    import sys

    # A stand-in around the real kubectl that, once `create` has done its work, says so in a file and
    # then hangs until it is ended: a real kubectl cannot be made to hang on demand, and Ctrl-C must
    # land while it runs. The test waits for that file, not for a clock, so load cannot reorder it.
    real = shutil.which("kubectl")
    created = tmp_path / "created"
    slow = tmp_path / "slow-kubectl"
    slow.write_text(
        f'#!/bin/sh\n"{real}" "$@"\nrc=$?\n'
        f'if [ "$1" = create ]; then touch "{created}"; while :; do sleep 1; done; fi\nexit $rc\n'
    )
    slow.chmod(0o755)
    directory = write_formula(
        tmp_path, "plain", manifests={f"{n}.json": json.dumps(configmap(n)) for n in "abc"}
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "kube", "install", str(directory), "-n", namespace],
        env={**os.environ, "KUBE_KUBECTL": str(slow)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    while not created.exists():
        assert proc.poll() is None, "the install ended before creating its objects"
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    # Only a safety net against a hang: kube ends as soon as it has recorded what exists.
    _, err = proc.communicate(timeout=600)

    assert proc.returncode == 130, err
    [listed] = json.loads(kube("list", "-n", namespace, "-o", "json").stdout)
    assert [o["name"] for o in listed["record"]["objects"]] == ["a", "b", "c"]
    assert kube("uninstall", "plain", "-n", namespace).exit_code == 0
    assert managed(kubectl, namespace) == []


def _kube_process(*args: str, fast: bool) -> tuple[int, str, str]:
    """``kube ARGS`` as a user runs it (a process, the console script's entry point); ``fast``
    False forces the full CLI (``KUBE_NO_FAST_PATH``)."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    env.pop("KUBE_NO_FAST_PATH", None)
    if not fast:
        env["KUBE_NO_FAST_PATH"] = "1"
    done = subprocess.run(
        [sys.executable, "-m", "kube", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return done.returncode, done.stdout, done.stderr


def test_a_plain_install_and_uninstall_print_on_the_fast_path_what_the_full_cli_prints(
    tmp_path: Path, kubectl: KubectlFixture, namespace: str
) -> None:
    """The same formula installed and uninstalled twice in the namespace: by the entry point's
    fast path (no Click) and by the full CLI. Each step exits 0 and prints the same, and
    nothing of the release is left after either uninstall."""
    directory = write_formula(
        tmp_path,
        "shop",
        manifests={"a.yaml": json.dumps(configmap("shop-a")), "b.yaml": json.dumps(configmap("shop-b"))},
    )
    shown: dict[bool, list[tuple[int, str, str]]] = {}
    for fast in (True, False):
        steps = [
            _kube_process("install", str(directory), "-n", namespace, "--wait", fast=fast),
            _kube_process("uninstall", "shop", "-n", namespace, "-o", "json", fast=fast),
        ]
        assert [code for code, _, _ in steps] == [0, 0], steps
        removed = json.loads(steps[1][1])
        assert {o["status"] for o in removed["objects"]} == {"deleted"}, removed
        assert managed(kubectl, namespace) == []
        shown[fast] = steps
    assert shown[True] == shown[False]


def _overlap_kubectl(tmp_path: Path) -> tuple[Path, Path]:
    """A wrapper around the real kubectl whose read of the records (``get secrets``) waits, for up
    to five seconds, until a template has asked for the server's version (``get --raw /version``,
    made while the formula renders), and leaves a file behind when it saw that happen. Waiting on a
    file, not a clock: under any load the read ends only once the render has begun, or never saw it."""
    import shutil

    real = shutil.which("kubectl")
    rendering, overlapped = tmp_path / "rendering", tmp_path / "overlapped"
    wrapper = tmp_path / "kubectl-overlap"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'case "$*" in\n'
        f'  "get --raw /version"*) touch "{rendering}" ;;\n'
        f'  "get secrets"*) i=0\n'
        f'    while [ ! -e "{rendering}" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done\n'
        f'    [ -e "{rendering}" ] && touch "{overlapped}" ;;\n'
        "esac\n"
        f'exec "{real}" "$@"\n'
    )
    wrapper.chmod(0o755)
    return wrapper, overlapped


CAPABILITIES_TEMPLATE = (
    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: seen}\n"
    'data: {minor: "{{ kube.capabilities.kube_version.minor }}"}\n'
)


@pytest.mark.parametrize("dry_run", [False, True])
def test_the_formula_renders_while_the_release_is_read(
    dry_run: bool, namespace: str, kubectl: KubectlFixture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A formula without a hook renders while the read of its release, started first, is under way:
    the first wave goes out as soon as that read is back, instead of after a render that waited."""
    directory = write_formula(tmp_path, "ahead", manifests={"seen.yaml.tmpl": CAPABILITIES_TEMPLATE})
    wrapper, overlapped = _overlap_kubectl(tmp_path)
    monkeypatch.setenv("KUBE_KUBECTL", str(wrapper))
    result = kube("install", str(directory), "-n", namespace, *(["--dry-run"] if dry_run else []))
    assert result.exit_code == 0, result.output
    assert overlapped.exists(), "the render waited for the release read"
    if not dry_run:
        minor = kubectl("get", "configmap", "seen", "-n", namespace, "-o", "jsonpath={.data.minor}").stdout
        assert minor and minor.isdigit(), minor
        assert kube("uninstall", "ahead", "-n", namespace).exit_code == 0


def test_a_hook_still_runs_only_after_the_release_was_read(
    namespace: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A formula with a hook is not rendered ahead: the hook runs once the plan allowed the install,
    so a release already installed under that name never runs it."""
    counter = tmp_path / "runs"
    hook = (
        "import json, os\n"
        'values = json.load(open(os.environ["KUBE_VALUES_FILE"]))\n'
        'open(values["counter"], "a").write("ran\\n")\n'
    )
    directory = write_formula(
        tmp_path, "hooked", manifests={"seen.yaml.tmpl": CAPABILITIES_TEMPLATE}, hook=hook,
        values={"counter": str(counter)},
    )  # fmt: skip
    assert kube("install", str(directory), "-n", namespace).exit_code == 0
    assert counter.read_text() == "ran\n"
    wrapper, overlapped = _overlap_kubectl(tmp_path)
    monkeypatch.setenv("KUBE_KUBECTL", str(wrapper))
    again = kube("install", str(directory), "-n", namespace, "--set", "other=1")
    assert again.exit_code == 11, again.output  # installed already, with other values: kube upgrade
    assert counter.read_text() == "ran\n", "the hook ran for a release that was already installed"
    assert not overlapped.exists()
    assert kube("uninstall", "hooked", "-n", namespace).exit_code == 0


def test_an_install_without_a_namespace_reads_the_kubeconfigs_once(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without ``-n`` the install goes to the kubeconfig context's namespace, read with one
    kubectl, though the render made ahead and the plan both ask for it."""
    import shutil

    config = tmp_path / "kubeconfig"
    shutil.copyfile(os.environ["KUBECONFIG"], config)
    monkeypatch.setenv("KUBECONFIG", str(config))
    kubectl("config", "set-context", "--current", f"--namespace={namespace}", f"--kubeconfig={config}")
    wrapper, log = logging_kubectl(tmp_path)
    monkeypatch.setenv("KUBE_KUBECTL", str(wrapper))
    directory = write_formula(tmp_path, "where", manifests={"seen.yaml.tmpl": CAPABILITIES_TEMPLATE})
    result = kube("install", str(directory))
    assert result.exit_code == 0, result.output
    assert f"installed in namespace {namespace}" in result.stdout, result.stdout
    reads = [c for c in log.read_text().splitlines() if c.startswith("config view")]
    assert len(reads) == 1, reads
    assert kube("uninstall", "where", "-n", namespace).exit_code == 0
