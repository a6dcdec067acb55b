"""Object identity, install waves, depends-on and kube's labels."""

from __future__ import annotations

from typing import Any

import pytest

from kube.core.errors import FormulaError
from kube.k8s.objects import (
    FORMULA_LABEL,
    MANAGED_BY_LABEL,
    VERSION_LABEL,
    KubeObject,
    apply_labels,
    is_namespaced,
    label_value,
    order_waves,
    split_source,
)


def obj(
    kind: str,
    name: str,
    api: str = "v1",
    namespace: str | None = None,
    depends: str | None = None,
    **extra: Any,
) -> KubeObject:
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    if depends:
        meta["annotations"] = {"config.kubernetes.io/depends-on": depends}
    return KubeObject(
        {"apiVersion": api, "kind": kind, "metadata": meta, **extra}, f"manifests/{name}.yaml:1"
    )


def crd(group: str, kind: str, scope: str = "Namespaced") -> KubeObject:
    return obj(
        "CustomResourceDefinition",
        f"{kind.lower()}s.{group}",
        api="apiextensions.k8s.io/v1",
        spec={"group": group, "scope": scope, "names": {"kind": kind, "plural": f"{kind.lower()}s"}},
    )


def names(waves: list[list[KubeObject]]) -> list[list[str]]:
    return [[o.display for o in wave] for wave in waves]


def test_identity_properties_come_from_api_version_and_metadata() -> None:
    deploy = obj("Deployment", "web", api="apps/v1", namespace="shop")
    assert (deploy.api_version, deploy.group, deploy.kind, deploy.name, deploy.namespace) == (
        "apps/v1",
        "apps",
        "Deployment",
        "web",
        "shop",
    )
    assert str(deploy.key) == "apps/Deployment/shop/web"
    core = obj("ConfigMap", "cfg")
    assert core.group == "" and core.namespace is None
    assert str(core.key) == "/ConfigMap//cfg"


def test_cluster_scoped_kind_ignores_a_written_namespace() -> None:
    role = obj("ClusterRole", "reader", api="rbac.authorization.k8s.io/v1", namespace="shop")
    assert role.namespace is None
    assert not is_namespaced(role)


def test_custom_resource_scope_comes_from_its_crd_in_the_formula() -> None:
    cluster_crd = crd("example.com", "Tenant", scope="Cluster")
    tenant = obj("Tenant", "acme", api="example.com/v1")
    assert not is_namespaced(tenant, [cluster_crd])
    assert is_namespaced(tenant, [])


def test_one_wave_in_kind_order_when_nothing_needs_a_split() -> None:
    objs = [
        obj("Deployment", "web", api="apps/v1"),
        obj("Service", "web-svc"),
        obj("ConfigMap", "cfg"),
        obj("Ingress", "web-ing", api="networking.k8s.io/v1"),
        obj("ServiceAccount", "sa"),
        obj("Namespace", "shop"),
        obj("PersistentVolumeClaim", "data"),
        obj("RoleBinding", "rb", api="rbac.authorization.k8s.io/v1"),
        obj("Secret", "pw"),
        obj("Job", "migrate", api="batch/v1"),
    ]
    assert names(order_waves(objs)) == [
        [
            "Namespace/shop",
            "ServiceAccount/sa",
            "RoleBinding/rb",
            "ConfigMap/cfg",
            "Secret/pw",
            "PersistentVolumeClaim/data",
            "Service/web-svc",
            "Deployment/web",
            "Job/migrate",
            "Ingress/web-ing",
        ]
    ]


def test_kind_order_keeps_file_order_within_a_kind() -> None:
    objs = [obj("ConfigMap", "b"), obj("ConfigMap", "a"), obj("ConfigMap", "c")]
    assert names(order_waves(objs)) == [["ConfigMap/b", "ConfigMap/a", "ConfigMap/c"]]


def test_custom_resources_wait_one_wave_for_their_crd() -> None:
    objs = [obj("Widget", "w1", api="example.com/v1"), crd("example.com", "Widget"), obj("ConfigMap", "cfg")]
    assert names(order_waves(objs)) == [
        ["CustomResourceDefinition/widgets.example.com", "ConfigMap/cfg"],
        ["Widget/w1"],
    ]


def test_custom_resource_of_a_crd_outside_the_formula_needs_no_extra_wave() -> None:
    objs = [obj("Certificate", "tls", api="cert-manager.io/v1"), obj("Service", "svc")]
    assert names(order_waves(objs)) == [["Service/svc", "Certificate/tls"]]


def test_a_knative_service_is_not_mistaken_for_a_core_service() -> None:
    objs = [obj("Service", "ksvc", api="serving.knative.dev/v1"), obj("Deployment", "d", api="apps/v1")]
    assert names(order_waves(objs)) == [["Deployment/d", "Service/ksvc"]]


def test_depends_on_pushes_an_object_into_a_later_wave() -> None:
    objs = [
        obj("Deployment", "web", api="apps/v1", depends="apps/namespaces/shop/StatefulSet/db"),
        obj("StatefulSet", "db", api="apps/v1", namespace="shop"),
        obj("ConfigMap", "cfg"),
    ]
    assert names(order_waves(objs)) == [["ConfigMap/cfg", "StatefulSet/db"], ["Deployment/web"]]


def test_depends_on_core_group_reference_with_install_namespace() -> None:
    objs = [obj("Pod", "client", depends="/namespaces/shop/Service/db"), obj("Service", "db")]
    assert names(order_waves(objs, namespace="shop")) == [["Service/db"], ["Pod/client"]]
    with pytest.raises(FormulaError, match="its Service/db is not in namespace shop"):
        order_waves(objs, namespace="other")


def test_depends_on_short_form_names_a_namespaced_object_beside_it() -> None:
    objs = [
        obj("Job", "seed", api="batch/v1", depends="apps/StatefulSet/db"),
        obj("StatefulSet", "db", api="apps/v1"),
    ]
    assert names(order_waves(objs)) == [["StatefulSet/db"], ["Job/seed"]]


def test_depends_on_several_references_and_chains_make_several_waves() -> None:
    objs = [
        obj("Job", "c", api="batch/v1", depends="/ConfigMap/b, rbac.authorization.k8s.io/ClusterRole/r"),
        obj("ConfigMap", "b", depends="/Secret/a"),
        obj("Secret", "a"),
        obj("ClusterRole", "r", api="rbac.authorization.k8s.io/v1"),
    ]
    assert names(order_waves(objs)) == [["ClusterRole/r", "Secret/a"], ["ConfigMap/b"], ["Job/c"]]


def test_depends_on_cycle_is_reported_with_the_chain() -> None:
    objs = [obj("ConfigMap", "a", depends="/ConfigMap/b"), obj("ConfigMap", "b", depends="/ConfigMap/a")]
    with pytest.raises(FormulaError, match=r"cycle: ConfigMap/a -> ConfigMap/b -> ConfigMap/a") as err:
        order_waves(objs)
    assert err.value.findings[0].path == "manifests/a.yaml"


def test_depends_on_itself_is_a_cycle() -> None:
    with pytest.raises(FormulaError, match="cycle"):
        order_waves([obj("ConfigMap", "a", depends="/ConfigMap/a")])


def test_depends_on_an_object_outside_the_formula_is_an_error() -> None:
    with pytest.raises(
        FormulaError, match=r"manifests/a.yaml:1 ConfigMap/a: .*/Secret/missing is not an object"
    ):
        order_waves([obj("ConfigMap", "a", depends="/Secret/missing")])


@pytest.mark.parametrize(
    "bad", ["Secret/x", "a/b/c/d", "apps/ns/shop/Deployment/x", "/Secret/", "/Secret/x,"]
)
def test_malformed_depends_on_reference_is_an_error(bad: str) -> None:
    with pytest.raises(FormulaError, match=r"failed to parse object reference \(index: [01]\)"):
        order_waves([obj("ConfigMap", "a", depends=bad), obj("Secret", "x")])


def test_webhooks_go_to_the_last_wave() -> None:
    objs = [
        obj("ValidatingWebhookConfiguration", "hook", api="admissionregistration.k8s.io/v1"),
        obj("Deployment", "web", api="apps/v1", depends="/Service/svc"),
        obj("Service", "svc"),
    ]
    assert names(order_waves(objs)) == [
        ["Service/svc"],
        ["Deployment/web", "ValidatingWebhookConfiguration/hook"],
    ]


def test_no_objects_no_waves() -> None:
    assert order_waves([]) == []


def test_apply_labels_sets_kube_labels_and_keeps_the_formulas_own() -> None:
    original = obj(
        "Deployment", "web", api="apps/v1", spec={"template": {"metadata": {"labels": {"app": "web"}}}}
    )
    original.data["metadata"]["labels"] = {"app": "web", MANAGED_BY_LABEL: "helm"}
    labelled = apply_labels(original, "shop", "1.2.0+build.7")
    assert labelled.metadata["labels"] == {
        "app": "web",
        MANAGED_BY_LABEL: "kube",
        FORMULA_LABEL: "shop",
        VERSION_LABEL: "1.2.0_build.7",
    }
    assert labelled.data["spec"]["template"]["metadata"]["labels"] == {"app": "web"}
    assert original.metadata["labels"][MANAGED_BY_LABEL] == "helm", "the input object is not modified"
    assert labelled.source == original.source


def test_label_value_is_valid_for_long_and_odd_text() -> None:
    value = label_value("1.0.0-" + "a" * 80 + "+x")
    assert len(value) <= 63 and value[0].isalnum() and value[-1].isalnum()
    assert label_value("+1.0+") == "1.0"


def test_split_source() -> None:
    assert split_source("manifests/a.yaml:12") == ("manifests/a.yaml", 12)
    assert split_source("manifests/a.yaml.tmpl") == ("manifests/a.yaml.tmpl", 0)


def test_numbers_where_built_in_kinds_hold_quantities_are_sent_as_strings_and_nothing_else() -> None:
    from kube.install.apply import with_string_quantities

    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "spec": {
            "containers": [{"name": "c",
                            "resources": {"requests": {"cpu": 0.5, "memory": "1Gi"}, "limits": {"cpu": 2}},
                            "ports": [{"containerPort": 80}]}],
            "volumes": [{"name": "v", "emptyDir": {"sizeLimit": 1}}],
            "overhead": {"cpu": 1},
            "priority": 5,
        },
    }  # fmt: skip
    fixed = with_string_quantities(pod)
    spec = fixed["spec"]
    assert spec["containers"][0]["resources"] == {
        "requests": {"cpu": "0.5", "memory": "1Gi"},
        "limits": {"cpu": "2"},
    }
    assert spec["volumes"][0]["emptyDir"] == {"sizeLimit": "1"}
    assert spec["overhead"] == {"cpu": "1"} and spec["priority"] == 5
    assert spec["containers"][0]["ports"] == [{"containerPort": 80}]
    assert pod["spec"]["containers"][0]["resources"]["requests"]["cpu"] == 0.5  # a copy was changed
    quota = {"apiVersion": "v1", "kind": "ResourceQuota", "spec": {"hard": {"pods": 10, "requests.cpu": 4}}}
    assert with_string_quantities(quota)["spec"]["hard"] == {"pods": "10", "requests.cpu": "4"}
    # A custom resource's numbers are its own schema's business.
    custom = {"apiVersion": "example.com/v1", "kind": "Job", "spec": {"resources": {"limits": {"gpus": 2}}}}
    assert with_string_quantities(custom) is custom
    plain = {"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"replicas": 3}}
    assert with_string_quantities(plain) is plain
