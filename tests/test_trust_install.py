"""What a formula may not do to the cluster, and what kube's records promise, on the real local control plane.

Formulas come from strangers: they may not forge install records, leave the namespace the user chose
without consent, or make `kube list` and `kube uninstall` lose track of what exists.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kube.core.errors import DependencyError, ExitCode
from kube.formula.load import load_formula
from kube.install import deps
from kube.k8s import objects
from kube.k8s.objects import KubeObject
from tests.gitrepo import formula_files, write_tree
from tests.test_cli_install import BROKEN as BROKEN_MANIFESTS
from tests.test_cli_install import gone, kube, managed, row, unique
from tests.test_install import configmap, write_formula

KubectlFixture = Callable[..., Any]


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")


@pytest.fixture
def other_namespace(namespace: str, kubectl: KubectlFixture) -> Iterator[str]:
    """A second namespace, standing in for kube-system: what a formula must not reach unasked."""
    other = f"{namespace[:50]}-other"
    kubectl("create", "namespace", other)
    yield other
    kubectl("delete", "namespace", other, "--wait=false", "--ignore-not-found", check=False)


def record_secret(namespace: str, formula: str, document: dict[str, Any] | str) -> dict[str, Any]:
    """A Secret shaped exactly like kube's install record, written by someone else."""
    text = document if isinstance(document, str) else json.dumps(document)
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kube.sh/install.v1",
        "metadata": {
            "name": f"kube.install.{formula}",
            "namespace": namespace,
            "labels": {
                "app.kubernetes.io/managed-by": "kube",
                "kube.sh/record": "true",
                "kube.sh/formula": formula,
            },
        },
        "data": {"record.json": base64.b64encode(text.encode()).decode()},
    }


def fake_record(namespace: str, formula: str, objects: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "formatVersion": 1,
        "formula": formula,
        "version": "1.0.0",
        "namespace": namespace,
        "outcome": "complete",
        "objects": objects,
        "failed": [],
    }


# -- 1. records are kube's alone ---------------------------------------------------------------


LOOKALIKES = {
    "type": {"apiVersion": "v1", "kind": "Secret", "type": "kube.sh/install.v1", "metadata": {"name": "x"}},
    "name": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kube.install.other"}},
    "label": {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "y", "labels": {"kube.sh/record": "true"}},
    },
}


@pytest.mark.cluster
@pytest.mark.parametrize("shape", sorted(LOOKALIKES))
def test_a_formula_object_shaped_like_an_install_record_is_refused_before_anything_is_created(
    shape: str, namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    manifests = {"a.json": json.dumps(configmap("innocent")), "b.json": json.dumps(LOOKALIKES[shape])}
    result = kube("install", str(write_formula(tmp_path, "forger", manifests=manifests)), "-n", namespace)
    assert result.exit_code == ExitCode.INVALID_FORMULA, result.output
    [line] = [x for x in result.stderr.splitlines() if x.startswith("Error:")]
    name = LOOKALIKES[shape]["metadata"]["name"]
    assert "manifests/b.json" in line and f"/{name} looks like a kube install record" in line
    assert managed(kubectl, namespace) == []


@pytest.mark.cluster
def test_list_and_uninstall_ignore_a_forged_record_that_reaches_into_another_namespace(
    namespace: str, other_namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    # kube installed `victim` in the other namespace; someone who may only write Secrets in `namespace`
    # forges a record there naming the victim's ConfigMap, uid and all.
    assert kube("install", str(write_formula(tmp_path, "victim")), "-n", other_namespace).exit_code == 0
    live = json.loads(kubectl("get", "cm", "victim-config", "-n", other_namespace, "-o", "json").stdout)
    target = {
        "group": "",
        "version": "v1",
        "kind": "ConfigMap",
        "namespace": other_namespace,
        "name": "victim-config",
        "uid": live["metadata"]["uid"],
    }
    kubectl(
        "create",
        "-f",
        "-",
        input=json.dumps(record_secret(namespace, "victim", fake_record(namespace, "victim", [target]))),
    )
    kubectl("create", "-f", "-", input=json.dumps(record_secret(namespace, "garbled", "{not json")))

    listed = kube("list", "-n", namespace, "-o", "json")
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.stdout) == []
    assert f"ignored: install record {namespace}/kube.install.victim is unreadable" in listed.stderr
    assert f"outside {namespace}" in listed.stderr
    assert f"install record {namespace}/kube.install.garbled is unreadable" in listed.stderr

    removed = kube("uninstall", "victim", "-n", namespace)
    assert removed.exit_code == ExitCode.CLUSTER
    assert kubectl("get", "cm", "victim-config", "-n", other_namespace, check=False).returncode == 0


@pytest.mark.cluster
def test_uninstall_leaves_an_object_whose_uid_matches_but_whose_labels_were_taken_off(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    directory = write_formula(tmp_path, "broken", manifests=BROKEN_MANIFESTS)
    assert kube("install", str(directory), "-n", namespace).exit_code == ExitCode.CLUSTER  # a partial record
    kubectl(
        "label", "configmap", "first", "-n", namespace, "app.kubernetes.io/managed-by-", "kube.sh/formula-"
    )
    removed = kube("uninstall", "broken", "-n", namespace)
    assert removed.exit_code == 0, removed.output
    assert "ConfigMap/first: does not carry the labels of broken" in removed.stdout
    assert kubectl("get", "configmap", "first", "-n", namespace, check=False).returncode == 0
    assert kubectl("get", "configmap", "second", "-n", namespace, check=False).returncode != 0


# -- 2. the namespace the user chose -----------------------------------------------------------


@pytest.mark.cluster
def test_an_object_in_another_namespace_is_refused_unless_allowed(
    namespace: str, other_namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    manifests = {
        "a.json": json.dumps(configmap("here")),
        "b.json": json.dumps(configmap("there", other_namespace)),
    }
    directory = write_formula(tmp_path, "roamer", manifests=manifests)

    refused = kube("install", str(directory), "-n", namespace)
    assert refused.exit_code == ExitCode.INVALID_FORMULA, refused.output
    assert (
        f"manifests/b.json:1: ConfigMap/there is in namespace {other_namespace}, not {namespace}"
        in refused.stderr
        and f"--allow-namespace {other_namespace}" in refused.stderr
    )
    assert managed(kubectl, namespace) == [] and managed(kubectl, other_namespace) == []

    allowed = kube("install", str(directory), "-n", namespace, "--allow-namespace", other_namespace)
    assert allowed.exit_code == 0, allowed.output
    assert (
        f"roamer 1.0.0 installed in namespace {namespace} (also namespace {other_namespace})"
        in allowed.stdout
    )
    assert row(allowed, "ConfigMap", "there")[4] == other_namespace
    assert f"  in namespace {other_namespace} (--allow-namespace): ConfigMap/there" in allowed.stderr
    [listed] = json.loads(kube("list", "-n", namespace, "-o", "json").stdout)
    assert listed["record"]["allowedNamespaces"] == [other_namespace] and listed["status"] == "complete"
    assert kube("uninstall", "roamer", "-n", namespace).exit_code == 0
    assert managed(kubectl, other_namespace) == []


def cluster_role(name: str) -> str:
    return json.dumps(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": name},
            "rules": [],
        }
    )


@pytest.mark.cluster
def test_cluster_scoped_objects_need_consent(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    role = unique(namespace, "reader")
    manifests = {"a.json": json.dumps(configmap("here")), "role.json": cluster_role(role)}
    directory = write_formula(tmp_path, "wide", manifests=manifests)

    no_terminal = kube("install", str(directory), "-n", namespace)
    assert no_terminal.exit_code == ExitCode.DEPENDENCY, no_terminal.output
    assert f"cluster-scoped: ClusterRole/{role}" in no_terminal.stderr
    assert "no terminal to ask" in no_terminal.stderr and "--force" in no_terminal.stderr
    monkeypatch.setenv("KUBE_INTERACTIVE", "1")
    declined = kube("install", str(directory), "-n", namespace, input="n\n")
    assert declined.exit_code == ExitCode.DEPENDENCY and "Continue? [y/N]" in declined.stderr
    assert managed(kubectl, namespace) == []
    assert kubectl("get", "clusterrole", role, check=False).returncode != 0

    monkeypatch.setenv("KUBE_INTERACTIVE", "0")
    forced = kube("install", str(directory), "-n", namespace, "--force")
    try:
        assert forced.exit_code == 0, forced.output
        assert f"installed in namespace {namespace} (also 1 cluster-scoped object)" in forced.stdout
        assert kubectl("get", "clusterrole", role, check=False).returncode == 0
        assert kube("uninstall", "wide", "-n", namespace).exit_code == 0
        assert gone(kubectl, "clusterrole", role)
    finally:
        kubectl("delete", "clusterrole", role, "--ignore-not-found", check=False)


@pytest.mark.cluster
def test_two_installs_of_one_release_at_once_leave_one_release_and_no_orphan(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    """The race, made deterministic: both plans are read before either install creates anything
    (two `kube install --name race` started together), then one install runs, then the other."""
    from kube.core.errors import ClusterError
    from kube.install import pipeline
    from kube.install.results import InstallOptions
    from kube.k8s.kubectl import Kubectl

    first = write_formula(tmp_path / "a", "race-a", manifests={"cm.json": json.dumps(configmap("cm-a"))})
    second = write_formula(tmp_path / "b", "race-b", manifests={"cm.json": json.dumps(configmap("cm-b"))})
    cluster = Kubectl()
    options = InstallOptions(interactive=False)
    plans = [
        pipeline.plan(pipeline.resolve(str(d)), cluster, namespace=namespace, release="race")
        for d in (first, second)
    ]
    assert pipeline.install(plans[0], cluster, options).outcome.value == "installed"
    with pytest.raises(
        ClusterError, match=r"another install of release race .* wrote its record first"
    ) as lost:
        pipeline.install(plans[1], cluster, options)
    assert "1 object(s) it had created were deleted again" in lost.value.message
    assert gone(kubectl, "configmap", "cm-b", "-n", namespace), "the loser's object is in no record"
    listed = kube("list", "-n", namespace, "-o", "json")
    assert [(r["name"], r["formula"]) for r in json.loads(listed.stdout)] == [("race", "race-a")]
    assert kube("uninstall", "race", "-n", namespace).exit_code == 0
    assert managed(kubectl, namespace) == []


# -- 3. SIGKILL between waves ------------------------------------------------------------------


@pytest.mark.cluster
def test_an_upgrade_that_adds_a_cluster_scoped_object_needs_consent_too(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    role = unique(namespace, "admin")
    name = unique(namespace, "grows")
    v1 = write_formula(tmp_path / "v1", name, manifests={"a.json": json.dumps(configmap("here"))})
    manifests = {"a.json": json.dumps(configmap("here")), "role.json": cluster_role(role)}
    v2 = write_formula(tmp_path / "v2", name, "1.1.0", manifests=manifests)
    assert kube("install", str(v1), "-n", namespace).exit_code == 0
    try:
        refused = kube("upgrade", name, str(v2), "-n", namespace)
        assert refused.exit_code == ExitCode.DEPENDENCY, refused.output
        assert f"cluster-scoped: ClusterRole/{role}" in refused.stderr
        assert "no terminal to ask" in refused.stderr and "kube upgrade --dry-run" in refused.stderr
        assert kubectl("get", "clusterrole", role, check=False).returncode != 0
        history = json.loads(kube("history", name, "-n", namespace, "-o", "json").stdout)
        assert len(history) == 1, "nothing was written"

        forced = kube("upgrade", name, str(v2), "-n", namespace, "--force")
        assert forced.exit_code == 0, forced.output
        assert kubectl("get", "clusterrole", role, check=False).returncode == 0
        # What the release lists already was agreed to: a later upgrade does not ask again.
        again = kube("upgrade", name, str(v2), "-n", namespace, "--set", "x=1")
        assert again.exit_code == 0, again.output
    finally:
        kube("uninstall", name, "-n", namespace)
        kubectl("delete", "clusterrole", role, "--ignore-not-found", check=False)


def crd_formula(root: Path, group: str) -> Path:
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
                        "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                    },
                }
            ],
        },
    }
    widget = {"apiVersion": f"{group}/v1", "kind": "Widget", "metadata": {"name": "w1"}}
    manifests = {
        "a-crd.json": json.dumps(crd),
        "b-widget.json": json.dumps(widget),
        "c-config.json": json.dumps(configmap("settings")),
    }
    return write_formula(root, "widgets", manifests=manifests)


@pytest.mark.cluster
def test_sigkill_between_waves_leaves_a_pending_record_that_uninstall_cleans_up(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    import shutil

    group = f"{namespace[-6:]}.example.com"
    directory = crd_formula(tmp_path, group)
    # The real kubectl, except that the second `create` (the second wave) says it started and then
    # waits to be let go: kube is killed exactly between its two waves, without a clock.
    real, marks = shutil.which("kubectl"), tmp_path / "marks"
    marks.mkdir()
    wrapper = tmp_path / "kubectl-pausing"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = create ] && [ -e "{marks}/first" ]; then\n'
        f'  touch "{marks}/second"\n'
        f'  while [ ! -e "{marks}/release" ]; do sleep 0.05; done\n'
        "  exit 1\nfi\n"
        f'"{real}" "$@"\nrc=$?\n'
        f'[ "$1" = create ] && touch "{marks}/first"\n'
        "exit $rc\n"
    )
    wrapper.chmod(0o755)
    proc = subprocess.Popen(
        [sys.executable, "-m", "kube", "install", str(directory), "-n", namespace, "--force"],
        env={**os.environ, "KUBE_KUBECTL": str(wrapper), "KUBE_INTERACTIVE": "0"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        while not (marks / "second").exists():
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        (marks / "release").touch()
        assert kubectl("get", "crd", f"widgets.{group}", check=False).returncode == 0  # the first wave exists

        [listed] = json.loads(kube("list", "-n", namespace, "-o", "json").stdout)
        assert listed["name"] == "widgets" and listed["status"].startswith("pending")
        assert {o["name"] for o in listed["record"]["objects"]} == {f"widgets.{group}", "w1", "settings"}

        removed = kube("uninstall", "widgets", "-n", namespace)
        assert removed.exit_code == 0, removed.output
        assert row(removed, "Widget", "w1")[-1] == "already gone"
        assert gone(kubectl, "crd", f"widgets.{group}", timeout=60)
        assert managed(kubectl, namespace) == []
    finally:
        (marks / "release").touch()
        if proc.poll() is None:
            proc.kill()
        kubectl("delete", "crd", f"widgets.{group}", "--ignore-not-found", "--wait=false", check=False)


# -- 4. a dependency counts while its objects exist --------------------------------------------


@pytest.mark.cluster
def test_a_dependency_whose_objects_were_deleted_does_not_count(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    base = unique(namespace, "base")
    assert kube("install", str(write_formula(tmp_path, base)), "-n", namespace).exit_code == 0
    kubectl("delete", "configmap", f"{base}-config", "-n", namespace)

    [listed] = json.loads(kube("list", "-n", namespace, "-o", "json").stdout)
    assert listed["status"] == "complete (1 object missing)"
    table = kube("list", "-n", namespace)
    assert "complete (1 object missing)" in table.stdout

    dependent = write_formula(tmp_path, "needy", dependencies=[{"name": base, "version": "^1"}])
    result = kube("install", str(dependent), "-n", namespace)
    assert result.exit_code == ExitCode.DEPENDENCY, result.output
    assert f"Dependency {base} (^1) does not seem to be satisfied" in result.stderr
    assert "1 object missing" in result.stderr


@pytest.mark.cluster
def test_a_dependency_that_is_recorded_but_not_ready_does_not_count(namespace: str, tmp_path: Path) -> None:
    """A dependency counts when it is ready, not merely recorded: a Deployment no node can run
    (a nodeSelector nothing matches) is installed and complete, but never available."""
    base = unique(namespace, "stuck")
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": base},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": base}},
            "template": {
                "metadata": {"labels": {"app": base}},
                "spec": {
                    "nodeSelector": {"kube.sh/no-such-node": "true"},
                    "containers": [{"name": "c", "image": "nginx:1.25"}],
                },
            },
        },
    }
    manifests = {"d.json": json.dumps(deployment)}
    assert (
        kube("install", str(write_formula(tmp_path, base, manifests=manifests)), "-n", namespace).exit_code
        == 0
    )

    dependent = write_formula(tmp_path, "needy", dependencies=[{"name": base, "version": "^1"}])
    result = kube("install", str(dependent), "-n", namespace)
    assert result.exit_code == ExitCode.DEPENDENCY, result.output
    assert f"Dependency {base} (^1) does not seem to be satisfied" in result.stderr
    assert "1 object not ready" in result.stderr


# -- 5. uninstall's summary --------------------------------------------------------------------


@pytest.mark.cluster
def test_uninstall_counts_what_was_already_gone_apart_from_what_it_deleted(
    namespace: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    manifests = {"a.json": json.dumps(configmap("kept")), "b.json": json.dumps(configmap("lost"))}
    assert (
        kube("install", str(write_formula(tmp_path, "pair", manifests=manifests)), "-n", namespace).exit_code
        == 0
    )
    kubectl("delete", "configmap", "lost", "-n", namespace)
    removed = kube("uninstall", "pair", "-n", namespace)
    assert removed.exit_code == 0, removed.output
    assert (
        f"uninstalled pair 1.0.0 in namespace {namespace}: 1 object deleted, 1 already gone" in removed.stdout
    )
    assert row(removed, "ConfigMap", "lost")[-1] == "already gone"
    assert row(removed, "ConfigMap", "kept")[-1] == "deleted"


# -- 6. many objects ---------------------------------------------------------------------------


def test_more_objects_than_a_formula_may_have_is_a_clear_error(tmp_path: Path) -> None:
    from kube.install.pipeline import MAX_OBJECTS

    template = (
        "{% for i in range(" + str(MAX_OBJECTS + 1) + ") %}---\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: 'c{{ i }}'}\n{% endfor %}"
    )
    directory = write_formula(tmp_path, "huge", manifests={"many.yaml.tmpl": template})
    result = kube("install", str(directory), "-n", "default", "--dry-run")
    assert result.exit_code == ExitCode.INVALID_FORMULA, result.output
    assert (
        f"huge renders {MAX_OBJECTS + 1} objects; a formula may have at most {MAX_OBJECTS}" in result.stderr
    )


def test_a_depends_on_chain_of_thousands_orders_without_recursion() -> None:
    # Each object depends on the next: ordering the first one walks the whole chain.
    chain = []
    for i in range(3000):
        cm = configmap(f"c{i}")
        if i < 2999:
            cm["metadata"]["annotations"] = {objects.DEPENDS_ON: f"/ConfigMap/c{i + 1}"}
        chain.append(KubeObject(cm, f"m.yaml:{i}"))
    waves = objects.order_waves(chain, namespace="web")
    assert len(waves) == 3000 and [w[0].name for w in waves[:3]] == ["c2999", "c2998", "c2997"]


# -- 7. deep dependency chains -----------------------------------------------------------------


def test_a_very_deep_dependency_chain_is_a_clear_error_not_a_recursion_error(tmp_path: Path) -> None:
    files: dict[str, str] = {}
    for i in range(2000):
        files.update(formula_files(f"f{i}", "1.0.0", dependencies=[{"name": f"f{i + 1}", "version": "*"}]))
    files.update(formula_files("f2000", "1.0.0"))
    write_tree(tmp_path, files)
    top = load_formula(tmp_path / "formulas" / "f0")
    with pytest.raises(
        DependencyError, match=r"dependency chain deeper than 64 formulas: f0 -> f1 -> f2 -> \.\.\."
    ) as caught:
        deps.install_order(top, [], lambda name: load_formula(tmp_path / "formulas" / name), "web")
    assert caught.value.exit_code == ExitCode.DEPENDENCY and "\n" not in caught.value.message


# -- 8. dry run and the hook -------------------------------------------------------------------


def test_dry_run_says_the_hook_runs_outside_the_sandbox(tmp_path: Path) -> None:
    directory = write_formula(tmp_path, "hooked", hook="print('hook ran')\n")
    result = kube("install", str(directory), "-n", "default", "--dry-run")
    assert result.exit_code == 0, result.output
    [note] = [x for x in result.stderr.splitlines() if "outside any sandbox" in x]
    assert note.startswith("==> Dry run: running scripts/pre-install.py of hooked on this machine")
    quiet = kube("install", str(directory), "-n", "default", "--dry-run", "--no-hooks")
    assert "sandbox" not in quiet.stderr


def test_dry_run_lists_where_objects_would_go_outside_the_namespace(tmp_path: Path) -> None:
    manifests = {
        "a.json": json.dumps(configmap("here")),
        "b.json": json.dumps(configmap("there", "monitoring")),
        "role.json": cluster_role("reader"),
    }
    directory = write_formula(tmp_path, "wide", manifests=manifests)
    args = ("install", str(directory), "-n", "web", "--dry-run", "--allow-namespace", "monitoring")
    result = kube(*args, "-o", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["namespaces"] == ["web", "monitoring"]
    assert data["clusterScoped"] == [
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "name": "reader"}
    ]
    assert "wide would create objects outside namespace web:" in result.stderr
    assert "  cluster-scoped: ClusterRole/reader" in result.stderr
    assert "  in namespace monitoring (--allow-namespace): ConfigMap/there" in result.stderr
    yaml = kube(*args)
    assert "would create 3 objects in namespace web (also namespace monitoring; 1 cluster-scoped object)" in (
        yaml.stderr
    )


@pytest.mark.cluster
def test_with_deps_stops_a_chain_deeper_than_the_limit_in_one_line(namespace: str, tmp_path: Path) -> None:
    from tests.gitrepo import make_repo

    depth = deps.MAX_DEPTH + 10
    files: dict[str, str] = {}
    for i in range(depth):
        files.update(formula_files(f"f{i}", "1.0.0", dependencies=[{"name": f"f{i + 1}", "version": "*"}]))
    files.update(formula_files(f"f{depth}", "1.0.0"))
    assert kube("update", "--repo", str(make_repo(tmp_path / "remote", files))).exit_code == 0
    result = kube("install", "f0", "-n", namespace, "--with-deps", "--dry-run")
    assert result.exit_code == ExitCode.DEPENDENCY, result.output
    [line] = [x for x in result.stderr.splitlines() if x.startswith("Error:")]
    assert f"dependency chain deeper than {deps.MAX_DEPTH} formulas: f0 -> f1 -> f2 -> ..." in line
    assert "Traceback" not in result.output


def test_a_hook_that_grows_the_formula_past_its_limit_gets_a_plain_line(tmp_path: Path) -> None:
    directory = tmp_path / "grow"
    (directory / "manifests").mkdir(parents=True)
    (directory / "scripts").mkdir()
    (directory / "K3.yaml").write_text(
        "name: grow\nversion: 1.0.0\ndescription: d\nhome: https://example.com\n"
        'maintainers: ["A <a@example.com>"]\n'
    )
    (directory / "manifests" / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
    (directory / "scripts" / "pre-install.py").write_text(
        "for i in range(9):\n    open(f'manifests/blob{i}.txt', 'wb').write(b'x' * 4_000_000)\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "kube", "install", str(directory), "--dry-run", "-n", "x"],
        capture_output=True, text=True, env={**os.environ, "KUBE_KUBECTL": "false"}, timeout=120,
    )  # fmt: skip
    assert result.returncode == 4, result.stderr
    assert "Error: the formula's files add up to 34.3 MiB, over the 32 MiB limit" in result.stderr
