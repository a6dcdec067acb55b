"""Cluster-scoped objects shared by the releases of one formula in several namespaces
(``kube.install.shared``), on the real local control plane. Every CRD and ClusterRole name is
unique to the test (a random group), so parallel runs never meet."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from kube.cli.app import app
from kube.install.shared import SHARED_BY
from kube.k8s import releases
from kube.k8s.kubectl import Kubectl
from tests.test_install import logging_kubectl, write_formula

pytestmark = pytest.mark.cluster
KubectlFixture = Callable[..., Any]


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables fold long cells at the terminal's width; the test namespaces' names are long."""
    monkeypatch.setenv("COLUMNS", "300")


def kube(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def _crd(group: str) -> dict[str, Any]:
    return {
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


def _role(group: str) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": f"widget-reader-{group.split('.')[0]}"},
        "rules": [{"apiGroups": [group], "resources": ["widgets"], "verbs": ["get", "list"]}],
    }


@pytest.fixture
def group(kubectl: KubectlFixture) -> Iterator[str]:
    name = f"t{uuid.uuid4().hex[:8]}.example.com"
    yield name
    for obj in (
        f"customresourcedefinition/widgets.{name}",
        f"clusterrole/widget-reader-{name.split('.')[0]}",
        f"clusterrolebinding/widget-reader-{name.split('.')[0]}",
    ):
        kubectl("delete", obj, "--ignore-not-found", "--wait=false", check=False)


@pytest.fixture
def second(namespace: str, kubectl: KubectlFixture) -> Iterator[str]:
    name = f"{namespace[:50]}-b"
    kubectl("create", "namespace", name)
    yield name
    kubectl("delete", "namespace", name, "--wait=false", "--ignore-not-found", check=False, timeout=30)


def _operator(tmp_path: Path, group: str) -> Path:
    manifests = {"crd.yaml": json.dumps(_crd(group)), "role.yaml": json.dumps(_role(group))}
    return write_formula(tmp_path, "widgets", manifests=manifests)


def _binding(group: str) -> dict[str, Any]:
    """A ClusterRoleBinding of the install namespace's ServiceAccount, as the kubernetes dashboard
    formula ships one: its subject is rendered from ``kube.namespace``, its name is not."""
    name = f"widget-reader-{group.split('.')[0]}"
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
        # An empty apiGroup is what the API server drops (omitempty): not a difference.
        "subjects": [
            {"kind": "ServiceAccount", "name": "widgets", "namespace": "{{ kube.namespace }}", "apiGroup": ""}
        ],
    }


def _dashboard(tmp_path: Path, group: str) -> Path:
    """A ServiceAccount, a ClusterRole every namespace renders the same (with an empty
    ``resourceNames``, which the API server drops) and a ClusterRoleBinding naming the
    ServiceAccount of the namespace it is installed in."""
    role = _role(group)
    role["rules"][0]["resourceNames"] = []
    account = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "widgets"}}
    manifests = {
        "account.yaml": json.dumps(account),
        "role.yaml": json.dumps(role),
        "binding.json.tmpl": json.dumps(_binding(group)),
    }
    return write_formula(tmp_path, "widgets", manifests=manifests)


def _subject_namespace(kubectl: KubectlFixture, group: str) -> str:
    binding = f"clusterrolebinding/widget-reader-{group.split('.')[0]}"
    return str(json.loads(kubectl("get", binding, "-o", "json").stdout)["subjects"][0]["namespace"])


def _users(kubectl: KubectlFixture, what: str) -> list[str]:
    done = kubectl("get", what, "-o", "json", check=False)
    if done.returncode != 0:
        return ["<gone>"]
    text = (json.loads(done.stdout)["metadata"].get("annotations") or {}).get(SHARED_BY, "")
    return sorted(u for u in text.split(",") if u)


def _exists(kubectl: KubectlFixture, what: str) -> bool:
    done = kubectl("get", what, "-o", "json", check=False)
    return done.returncode == 0 and not json.loads(done.stdout)["metadata"].get("deletionTimestamp")


@pytest.mark.parametrize("first_out", ["first", "second"])
def test_a_crd_formula_in_two_namespaces_shares_it_until_the_last_uninstall(
    first_out: str, namespace: str, second: str, group: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    formula = str(_operator(tmp_path, group))
    crd, role = f"crd/widgets.{group}", f"clusterrole/widget-reader-{group.split('.')[0]}"
    one = kube("install", formula, "-n", namespace, "--force")
    assert one.exit_code == 0, one.output
    two = kube("install", formula, "-n", second, "--force")
    assert two.exit_code == 0, two.output
    assert f"shared with {namespace}/widgets" in two.stdout
    assert (
        _users(kubectl, crd) == sorted([f"{namespace}/widgets", f"{second}/widgets"]) == _users(kubectl, role)
    )

    gone_first, gone_last = (namespace, second) if first_out == "first" else (second, namespace)
    out = kube("uninstall", "widgets", "-n", gone_first)
    assert out.exit_code == 0, out.output
    assert f"still used by {gone_last}/widgets" in out.stdout
    assert _exists(kubectl, crd) and _exists(kubectl, role)
    assert _users(kubectl, crd) == [f"{gone_last}/widgets"]

    out = kube("uninstall", "widgets", "-n", gone_last)
    assert out.exit_code == 0, out.output
    assert not _exists(kubectl, crd) and not _exists(kubectl, role)


def test_a_crd_with_custom_resources_left_is_not_deleted(
    namespace: str, group: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    formula = str(_operator(tmp_path, group))
    assert kube("install", formula, "-n", namespace, "--force").exit_code == 0
    widget = {
        "apiVersion": f"{group}/v1",
        "kind": "Widget",
        "metadata": {"name": "mine", "namespace": namespace},
    }
    kubectl("create", "-f", "-", input=json.dumps(widget))
    out = kube("uninstall", "widgets", "-n", namespace)
    assert out.exit_code != 0
    assert f"1 custom resource of it remain ({namespace}/mine)" in out.output
    assert _exists(kubectl, f"crd/widgets.{group}")
    kubectl("delete", f"widgets.{group}", "mine", "-n", namespace)
    out = kube("uninstall", "widgets", "-n", namespace)
    assert out.exit_code == 0, out.output
    assert not _exists(kubectl, f"crd/widgets.{group}")


def test_a_cluster_object_kube_did_not_create_is_not_adopted(
    namespace: str, group: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    kubectl("create", "-f", "-", input=json.dumps(_role(group)))
    checked = kube(
        "install", str(_operator(tmp_path, group)), "-n", namespace, "--server-dry-run", "-o", "json"
    )
    assert checked.exit_code == 8
    details = {o["kind"]: o["detail"] for o in json.loads(checked.stdout)["objects"]}
    assert "was not created by kube, which does not adopt it" in details["ClusterRole"]
    out = kube("install", str(_operator(tmp_path, group)), "-n", namespace, "--force")
    assert out.exit_code == 8, out.output
    assert "was not created by kube, which does not adopt it" in out.output
    assert _users(kubectl, f"clusterrole/widget-reader-{group.split('.')[0]}") == []


def test_an_upgrade_that_drops_a_shared_crd_leaves_it_to_the_other_release(
    namespace: str, second: str, group: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    formula = str(_operator(tmp_path, group))
    crd = f"crd/widgets.{group}"
    assert kube("install", formula, "-n", namespace, "--force").exit_code == 0
    checked = kube("install", formula, "-n", second, "--server-dry-run", "-o", "json")
    assert checked.exit_code == 0, checked.output
    details = {o["kind"]: o["detail"] for o in json.loads(checked.stdout)["objects"]}
    assert details["CustomResourceDefinition"] == f"shared: would join {namespace}/widgets"
    assert kube("install", formula, "-n", second, "--force").exit_code == 0
    # Version 2 of the formula no longer ships the CRD and the ClusterRole.
    newer = str(write_formula(tmp_path / "v2", "widgets", "2.0.0"))
    out = kube("upgrade", "widgets", newer, "-n", namespace)
    assert out.exit_code == 0, out.output
    assert f"still used by {second}/widgets" in out.output
    assert _exists(kubectl, crd) and _users(kubectl, crd) == [f"{second}/widgets"]
    # The other release upgrades too: it is the last user, so the prune deletes the CRD.
    out = kube("upgrade", "widgets", newer, "-n", second)
    assert out.exit_code == 0, out.output
    assert not _exists(kubectl, crd)


def test_the_custom_resources_of_several_crds_are_read_in_one_call(
    namespace: str, group: str, kubectl: KubectlFixture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gadgets = json.loads(json.dumps(_crd(group)).replace("widget", "gadget").replace("Widget", "Gadget"))
    manifests = {"crd.yaml": json.dumps(_crd(group)), "gadgets.yaml": json.dumps(gadgets)}
    formula = str(write_formula(tmp_path, "widgets", manifests=manifests))
    assert kube("install", formula, "-n", namespace, "--force").exit_code == 0
    kubectl("create", "-f", "-", input=json.dumps(
        {"apiVersion": f"{group}/v1", "kind": "Gadget", "metadata": {"name": "mine", "namespace": namespace}}
    ))  # fmt: skip
    wrapper, log = logging_kubectl(tmp_path)  # the real kubectl, each call's arguments logged
    monkeypatch.setenv("KUBE_KUBECTL", str(wrapper))
    out = kube("uninstall", "widgets", "-n", namespace)
    assert out.exit_code != 0
    remain = f"1 custom resource of it remain ({namespace}/mine)"
    assert f"CustomResourceDefinition/gadgets.{group}: not deleted: {remain}" in out.output
    assert not _exists(kubectl, f"crd/widgets.{group}")  # nothing of it remained: deleted
    reads = [line for line in log.read_text().splitlines() if f".{group}" in line and line.startswith("get ")]
    assert len(reads) == 1 and f"widgets.{group}" in reads[0] and f"gadgets.{group}" in reads[0], reads
    kubectl("delete", f"gadgets.{group}", "mine", "-n", namespace)
    kubectl(
        "delete",
        f"customresourcedefinition/gadgets.{group}",
        "--ignore-not-found",
        "--wait=false",
        check=False,
    )


def _refused_binding(group: str, first: str, second: str) -> str:
    name = f"widget-reader-{group.split('.')[0]}"
    return (
        f"ClusterRoleBinding/{name} (manifests/binding.json.tmpl): AlreadyExists: it exists (shared by "
        f"{first}/widgets) and differs "
        f'from this release\'s: subjects[0].namespace is "{first}", this release renders "{second}"; '
        "make its name unique per install (template it with {{ kube.namespace }}), "
        f"or install into namespace {first}, which has it"
    )


def test_a_cluster_object_rendered_otherwise_in_another_namespace_is_not_joined(
    namespace: str, second: str, group: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    formula = str(_dashboard(tmp_path, group))
    short = group.split(".")[0]
    binding, role = f"clusterrolebinding/widget-reader-{short}", f"clusterrole/widget-reader-{short}"
    one = kube("install", formula, "-n", namespace, "--force")
    assert one.exit_code == 0, one.output
    # The server dry run says what the install does: the binding is refused, the role joined.
    checked = kube("install", formula, "-n", second, "--server-dry-run", "-o", "json")
    assert checked.exit_code == 8, checked.output
    details = {o["kind"]: o["detail"] for o in json.loads(checked.stdout)["objects"]}
    refused = _refused_binding(group, namespace, second).partition("(manifests/binding.json.tmpl): ")[2]
    assert details["ClusterRoleBinding"] == refused
    assert details["ClusterRole"] == f"shared: would join {namespace}/widgets"
    assert _users(kubectl, binding) == [f"{namespace}/widgets"] == _users(kubectl, role)
    two = kube("install", formula, "-n", second, "--force")
    assert two.exit_code == 8, two.output
    assert _refused_binding(group, namespace, second) in two.output
    assert f"ClusterRole/widget-reader-{short}: shared with {namespace}/widgets" in two.output
    # The binding is the first release's, as it was; the role, the same for both, is shared.
    assert _subject_namespace(kubectl, group) == namespace
    assert _users(kubectl, binding) == [f"{namespace}/widgets"]
    assert _users(kubectl, role) == sorted([f"{namespace}/widgets", f"{second}/widgets"])
    # The second release's record is partial: it lists what exists and the binding as a failure.
    release = releases.read_release(Kubectl(namespace=second), "widgets", second)
    assert release is not None and release.latest is not None
    latest = release.latest
    assert latest.outcome == "partial"
    assert sorted(o.ref.kind for o in latest.objects) == ["ClusterRole", "ServiceAccount"]
    assert [(f.ref.kind, f.reason) for f in latest.failures] == [("ClusterRoleBinding", "AlreadyExists")]
    # Its uninstall leaves the first release's binding (and the role it still uses) alone.
    out = kube("uninstall", "widgets", "-n", second)
    assert out.exit_code == 0, out.output
    assert _exists(kubectl, binding) and _subject_namespace(kubectl, group) == namespace
    assert _users(kubectl, binding) == [f"{namespace}/widgets"] == _users(kubectl, role)


def test_an_atomic_install_refused_a_cluster_object_leaves_nothing_behind(
    namespace: str, second: str, group: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    formula = str(_dashboard(tmp_path, group))
    short = group.split(".")[0]
    binding, role = f"clusterrolebinding/widget-reader-{short}", f"clusterrole/widget-reader-{short}"
    assert kube("install", formula, "-n", namespace, "--force").exit_code == 0
    two = kube("install", formula, "-n", second, "--force", "--atomic")
    assert two.exit_code == 8, two.output
    assert _refused_binding(group, namespace, second) in two.output
    assert "rolling back (--atomic)" in two.output
    assert releases.read_release(Kubectl(namespace=second), "widgets", second) is None
    assert kubectl("get", "serviceaccount", "widgets", "-n", second, check=False).returncode != 0
    assert _subject_namespace(kubectl, group) == namespace
    # The role it had joined is the first release's alone again.
    assert _users(kubectl, binding) == [f"{namespace}/widgets"] == _users(kubectl, role)
    assert f"ClusterRole/widget-reader-{short}: shared: left to {namespace}/widgets" in two.output
    # The first release is the last that exists: its uninstall deletes both.
    out = kube("uninstall", "widgets", "-n", namespace)
    assert out.exit_code == 0, out.output
    assert not _exists(kubectl, binding) and not _exists(kubectl, role)


@pytest.mark.parametrize("schema", ["the same", "changed"])
def test_another_version_of_the_formula_joins_a_crd_only_when_it_renders_it_the_same(
    schema: str, namespace: str, second: str, group: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    crd = f"crd/widgets.{group}"
    assert kube("install", str(_operator(tmp_path, group)), "-n", namespace, "--force").exit_code == 0
    newer = _crd(group)
    if schema == "changed":
        newer["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["description"] = "widgets v2"
    manifests = {"crd.yaml": json.dumps(newer), "role.yaml": json.dumps(_role(group))}
    v2 = str(write_formula(tmp_path / "v2", "widgets", "2.0.0", manifests=manifests))
    out = kube("install", v2, "-n", second, "--force")
    if schema == "the same":
        assert out.exit_code == 0, out.output
        assert f"CustomResourceDefinition/widgets.{group}: shared with {namespace}/widgets" in out.output
        assert _users(kubectl, crd) == sorted([f"{namespace}/widgets", f"{second}/widgets"])
        return
    assert out.exit_code == 8, out.output
    assert (
        f"CustomResourceDefinition/widgets.{group} (manifests/crd.yaml:1): AlreadyExists: it exists "
        f"(shared by {namespace}/widgets) and differs from this release's "
        "(widgets 2.0.0; it was made by widgets 1.0.0): "
        "spec.versions[0].schema.openAPIV3Schema.description is not set, this release renders "
        '"widgets v2"; a CustomResourceDefinition is one per cluster, and an install does not change it '
        f"under another release: install widgets 1.0.0 here, or upgrade {namespace}/widgets to 2.0.0 first"
    ) in out.output
    live = json.loads(kubectl("get", crd, "-o", "json").stdout)
    assert "description" not in live["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    assert _users(kubectl, crd) == [f"{namespace}/widgets"]


def _bound_in(tmp_path: Path, group: str, version: str, subject_namespace: str) -> str:
    """The dashboard formula at ``version``, its ClusterRoleBinding's subject in
    ``subject_namespace`` whatever namespace it is installed in (the same in every one)."""
    binding = json.dumps(_binding(group)).replace("{{ kube.namespace }}", subject_namespace)
    account = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": "widgets", "labels": {"v": version}},
    }
    manifests = {"binding.json": binding, "account.yaml": json.dumps(account)}
    return str(write_formula(tmp_path / version, "widgets", version, manifests=manifests))


def _rebound(tmp_path: Path, group: str) -> str:
    """Version 2.0.0 of the dashboard formula: the subject is each install namespace's own."""
    manifests = {"binding.json.tmpl": json.dumps(_binding(group))}
    return str(write_formula(tmp_path / "2.0.0", "widgets", "2.0.0", manifests=manifests))


def test_an_upgrade_does_not_change_a_shared_object_for_the_other_releases_unless_forced(
    namespace: str, second: str, group: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    short = group.split(".")[0]
    binding = f"clusterrolebinding/widget-reader-{short}"
    v1 = _bound_in(tmp_path, group, "1.0.0", namespace)
    for ns in (namespace, second):
        assert kube("install", v1, "-n", ns, "--force").exit_code == 0
    both = sorted([f"{namespace}/widgets", f"{second}/widgets"])
    assert _users(kubectl, binding) == both
    # A new version that renders the binding the same upgrades as before.
    same = kube("upgrade", "widgets", _bound_in(tmp_path, group, "1.1.0", namespace), "-n", second)
    assert same.exit_code == 0, same.output
    v2 = _rebound(tmp_path, group)
    changes = (
        f"ClusterRoleBinding/widget-reader-{short}: AlreadyExists: shared with {namespace}/widgets; the "
        f'upgrade would change it for them: subjects[0].namespace is "{namespace}", this release renders '
        f'"{second}"; --force changes it for them too'
    )
    diff = kube("diff", "widgets", v2, "-n", second)
    assert diff.exit_code == 1, diff.output
    assert f"{changes.replace(': AlreadyExists', ': would be refused (AlreadyExists', 1)})" in diff.stdout
    dry = kube("upgrade", "widgets", v2, "-n", second, "--dry-run")
    assert dry.exit_code == 8, dry.output
    assert changes in " ".join(dry.stderr.split())
    refused = kube("upgrade", "widgets", v2, "-n", second)
    assert refused.exit_code == 8, refused.output
    assert f"upgrade failed: {changes}" in refused.output
    assert _subject_namespace(kubectl, group) == namespace
    # --force: applied, and said to have changed for the first release too.
    forced = kube("upgrade", "widgets", v2, "-n", second, "--force")
    assert forced.exit_code == 0, forced.output
    assert (
        f"ClusterRoleBinding/widget-reader-{short}: shared: changed for {namespace}/widgets too"
        in forced.output
    )
    assert _subject_namespace(kubectl, group) == second
    assert _users(kubectl, binding) == both


def test_the_last_release_that_still_exists_upgrades_a_shared_object_as_before(
    namespace: str, second: str, group: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    binding = f"clusterrolebinding/widget-reader-{group.split('.')[0]}"
    v1 = _bound_in(tmp_path, group, "1.0.0", namespace)
    for ns in (namespace, second):
        assert kube("install", v1, "-n", ns, "--force").exit_code == 0
    assert kube("uninstall", "widgets", "-n", namespace).exit_code == 0
    # A user named on the object whose release is gone (deleted by hand) does not count.
    kubectl(
        "annotate", binding, f"{SHARED_BY}={second}/widgets,nowhere-{namespace[:40]}/widgets", "--overwrite"
    )
    out = kube("upgrade", "widgets", _rebound(tmp_path, group), "-n", second)
    assert out.exit_code == 0, out.output
    assert _subject_namespace(kubectl, group) == second


def test_a_rollback_does_not_change_a_shared_crd_under_another_release(
    namespace: str, second: str, group: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    crd = f"crd/widgets.{group}"

    def version(number: str) -> str:
        described = _crd(group)
        described["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["description"] = f"widgets {number}"
        return str(
            write_formula(tmp_path / number, "widgets", number, manifests={"crd.yaml": json.dumps(described)})
        )

    def description() -> str:
        live = json.loads(kubectl("get", crd, "-o", "json").stdout)
        return str(live["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["description"])

    assert kube("install", version("1.0.0"), "-n", namespace, "--force").exit_code == 0
    # Its only user: the upgrade changes the schema as it always did.
    up = kube("upgrade", "widgets", version("2.0.0"), "-n", namespace)
    assert up.exit_code == 0, up.output
    assert kube("install", version("2.0.0"), "-n", second, "--force").exit_code == 0
    assert _users(kubectl, crd) == sorted([f"{namespace}/widgets", f"{second}/widgets"])
    back = kube("rollback", "widgets", "-n", namespace)
    assert back.exit_code == 8, back.output
    assert (
        f"CustomResourceDefinition/widgets.{group}: AlreadyExists: shared with {second}/widgets; the upgrade "
        "would change it for them: spec.versions[0].schema.openAPIV3Schema.description is "
        '"widgets 2.0.0", this release renders "widgets 1.0.0"'
    ) in back.output
    assert description() == "widgets 2.0.0"
    # --force: the rollback changes it for the other release too, and says so.
    forced = kube("rollback", "widgets", "-n", namespace, "--force")
    assert forced.exit_code == 0, forced.output
    assert f"shared: changed for {second}/widgets too" in forced.output
    assert description() == "widgets 1.0.0"


def test_an_upgrade_that_drops_a_field_of_a_shared_object_is_refused_unless_forced(
    namespace: str, second: str, group: str, kubectl: KubectlFixture, tmp_path: Path
) -> None:
    name = f"widgets-{group.split('.')[0]}"

    def version(number: str, **fields: Any) -> str:
        priority = {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": name}}
        manifests = {"priority.json": json.dumps({**priority, "value": 1000, **fields})}
        return str(write_formula(tmp_path / number, "widgets", number, manifests=manifests))

    def live() -> dict[str, Any]:
        found: dict[str, Any] = json.loads(kubectl("get", f"priorityclass/{name}", "-o", "json").stdout)
        return found

    try:
        v1 = version("1.0.0", description="for widgets")
        for ns in (namespace, second):
            assert kube("install", v1, "-n", ns, "--force").exit_code == 0
        # 2.0.0 leaves the description out: the apply would remove it for the first release too
        # (kubectl create's fields are handed to kube's apply before it, see field_owners).
        v2 = version("2.0.0")
        refused = kube("upgrade", "widgets", v2, "-n", second)
        assert refused.exit_code == 8, refused.output
        assert (
            f"shared with {namespace}/widgets; the upgrade would change it for them: description is "
            '"for widgets", this release renders not set'
        ) in " ".join(refused.output.split())
        assert live()["description"] == "for widgets"
        forced = kube("upgrade", "widgets", v2, "-n", second, "--force")
        assert forced.exit_code == 0, forced.output
        assert "description" not in live()
        assert _users(kubectl, f"priorityclass/{name}") == sorted(
            [f"{namespace}/widgets", f"{second}/widgets"]
        )
    finally:
        kubectl("delete", f"priorityclass/{name}", "--ignore-not-found", "--wait=false", check=False)
