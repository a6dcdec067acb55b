"""kube import: real upstream release manifests (tests/fixtures/import, sources in its README)
become formulas that load, lint with only the findings a human must decide, render back to the
upstream objects, and install on the real local control plane."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from kube.cli.app import app
from kube.formula import importer
from kube.formula.load import load_formula
from kube.formula.manifests import parse
from kube.formula.render import render_manifests
from kube.lint import run as lint

FIXTURES = Path(__file__).parent / "fixtures" / "import"
METRICS_SERVER = FIXTURES / "metrics-server-v0.7.2"
KSM = FIXTURES / "kube-state-metrics-v2.20.0"
REDIS_OPERATOR = FIXTURES / "redis-operator-v1.2.4"
OWNER = ("--home", "https://example.org/project", "--maintainer", "Kube Formula Team <formulas@kube.sh>")


def kube(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def upstream(folder: Path) -> dict[str, dict[str, Any]]:
    """The upstream objects, by kind/name, as kubectl would read them."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        objects, refused = parse(path.read_text(), path.name)
        assert not refused
        found.update({f"{o.kind}/{o.name}": o.data for o in objects})
    return found


def rendered(directory: Path, namespace: str) -> dict[str, dict[str, Any]]:
    formula = load_formula(directory)
    objects = render_manifests(formula, directory, dict(formula.values), namespace=namespace)
    return {f"{o.kind}/{o.name}": o.data for o in objects}


def without_namespace(data: dict[str, Any], main: str, install: str) -> dict[str, Any]:
    """``data`` as kube renders it into ``install``: the upstream namespace ``main`` gone from
    metadata, and every reference to it naming ``install``."""
    data = copy.deepcopy(data)
    if data["metadata"].get("namespace") == main and data["kind"] != "RoleBinding":
        del data["metadata"]["namespace"]
    text = json.dumps(data).replace(f'"namespace": "{main}"', f'"namespace": "{install}"')
    data = json.loads(text)
    if data["kind"] == "RoleBinding":
        data["metadata"]["namespace"] = main  # bound to a Role that exists only in kube-system
    return data


def test_metrics_server_release_file_becomes_a_formula_that_renders_back(tmp_path: Path) -> None:
    result = kube("import", str(METRICS_SERVER / "components.yaml"), "--into", str(tmp_path), *OWNER)
    assert result.exit_code == 0, result.output
    directory = tmp_path / "metrics-server"
    formula = load_formula(directory)
    assert (formula.name, str(formula.version)) == ("metrics-server", "0.7.2")  # from the image tag
    assert formula.values["images"] == {
        "metrics_server": {
            "repository": "registry.k8s.io/metrics-server/metrics-server",
            "tag": "v0.7.2",
            "digest": "",
        }
    }
    files = sorted(p.name for p in (directory / "manifests").iterdir())
    assert len(files) == 9  # one object per file
    assert "deployment-metrics-server.yaml.tmpl" in files
    assert "clusterrole-system-metrics-server.yaml" in files
    # Rendered into another namespace, every object is upstream's, moved there.
    got = rendered(directory, "monitoring")
    want = {
        key: without_namespace(data, "kube-system", "monitoring")
        for key, data in upstream(METRICS_SERVER).items()
    }
    assert got == want
    # The RoleBinding to kube-system's authentication reader must stay there, and lint says so.
    report = lint.lint([str(directory)])
    assert [(f.rule, Path(f.path).name) for f in report.findings] == [
        ("manifest-namespace", "rolebinding-metrics-server-auth-reader.yaml.tmpl")
    ]


def test_kube_state_metrics_folder_lints_clean_and_keeps_its_version(tmp_path: Path) -> None:
    result = kube(
        "import", str(KSM), "--into", str(tmp_path), *OWNER, "--description", "Cluster state metrics"
    )
    assert result.exit_code == 0, result.output
    assert "kustomization.yaml: a kustomization" in result.output  # passed over, and said so
    directory = tmp_path / "kube-state-metrics"
    assert str(load_formula(directory).version) == "2.20.0"  # app.kubernetes.io/version
    report = lint.lint([str(directory)])
    assert report.passed(strict=True), report.findings
    binding = (directory / "manifests" / "clusterrolebinding-kube-state-metrics.yaml.tmpl").read_text()
    assert "namespace: {{ kube.namespace | quote }}" in binding


def test_operator_install_yaml_leaves_the_human_decisions_to_lint(tmp_path: Path) -> None:
    result = kube("import", str(REDIS_OPERATOR), "--into", str(tmp_path), "--name", "redis-operator", *OWNER)
    assert result.exit_code == 0, result.output
    directory = tmp_path / "redis-operator"
    formula = load_formula(directory)
    assert formula.values["images"]["redis_operator"] == {
        "repository": "quay.io/spotahome/redis-operator",
        "tag": "latest",
        "digest": "",
    }
    rules = {f.rule for f in lint.lint([str(directory)]).findings}
    # Wildcard RBAC, Prometheus' custom resources and the `latest` image are the author's call, not import's.
    assert rules == {"manifest-rbac-wildcard", "manifest-custom-resource", "manifest-image-tag"}
    assert "to decide: description" in result.output
    # Upstream binds the ServiceAccount it ships in `default`; the binding follows the install namespace.
    binding = (directory / "manifests" / "clusterrolebinding-redisoperator.yaml.tmpl").read_text()
    assert "namespace: {{ kube.namespace | quote }}" in binding


def test_values_and_namespace_from_the_command_line_drive_the_rendered_objects(tmp_path: Path) -> None:
    assert kube("import", str(KSM), "--into", str(tmp_path), *OWNER).exit_code == 0
    directory = tmp_path / "kube-state-metrics"
    formula = load_formula(directory)
    values = copy.deepcopy(dict(formula.values))
    values["images"]["kube_state_metrics"]["tag"] = "v2.21.0"
    objects = render_manifests(formula, directory, values, namespace="obs")
    deployment = next(o for o in objects if o.kind == "Deployment")
    assert deployment.data["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":v2.21.0")
    binding = next(o for o in objects if o.kind == "ClusterRoleBinding")
    assert binding.data["subjects"][0]["namespace"] == "obs"


def test_text_that_looks_like_jinja_renders_back_unchanged(tmp_path: Path) -> None:
    source = tmp_path / "app.yaml"
    source.write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  annotations:\n"
        "    template: '{{ .Values.x }} {% if %} {# note #}'\nspec:\n  selector: {matchLabels: {app: web}}\n"
        "  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers:\n"
        "        - {name: web, image: 'nginx:1.27.0@sha256:" + "a" * 64 + "'}\n"
    )
    assert (
        kube("import", str(source), "--into", str(tmp_path / "out"), "--name", "web", *OWNER).exit_code == 0
    )
    directory = tmp_path / "out" / "web"
    got = rendered(directory, "x")["Deployment/web"]
    assert got["metadata"]["annotations"]["template"] == "{{ .Values.x }} {% if %} {# note #}"
    assert got["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27.0@sha256:" + "a" * 64
    assert load_formula(directory).values["images"]["nginx"]["digest"] == "sha256:" + "a" * 64


def test_what_a_cluster_wrote_into_an_export_is_left_out(tmp_path: Path) -> None:
    source = tmp_path / "export.yaml"
    source.write_text(
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n"
        "    name: settings\n    namespace: prod\n    uid: 0d5b\n    resourceVersion: '42'\n"
        "    creationTimestamp: '2026-01-01T00:00:00Z'\n    managedFields: [{manager: kubectl}]\n"
        "    annotations: {kubectl.kubernetes.io/last-applied-configuration: '{}'}\n"
        "  data: {a: b}\n  status: {phase: x}\n"
    )
    assert kube("import", str(source), "--into", str(tmp_path), "--name", "settings", *OWNER).exit_code == 0
    text = (tmp_path / "settings" / "manifests" / "configmap-settings.yaml").read_text()
    assert text == "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: b\n"


FLANNEL_NAMESPACE = """\
kind: Namespace
apiVersion: v1
metadata:
  name: kube-flannel
  labels:
    k8s-app: flannel
    pod-security.kubernetes.io/enforce: privileged
    kubernetes.io/metadata.name: kube-flannel
  annotations:
    scheduler.alpha.kubernetes.io/node-selector: "role=net ops"
    kubectl.kubernetes.io/last-applied-configuration: '{}'
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: flannel
  namespace: kube-flannel
"""


def test_the_labels_of_the_release_namespace_left_out_are_named_and_left_to_decide(tmp_path: Path) -> None:
    """flannel's Namespace carries ``pod-security.kubernetes.io/enforce: privileged``; without it
    on the install namespace a cluster enforcing Pod Security refuses its DaemonSet's Pods."""
    source = tmp_path / "kube-flannel.yml"
    source.write_text(FLANNEL_NAMESPACE)
    result = kube("import", str(source), "--into", str(tmp_path / "out"), "--name", "flannel", *OWNER)
    assert result.exit_code == 0, result.output
    marks = (
        "Namespace/kube-flannel with its labels k8s-app=flannel, "
        "pod-security.kubernetes.io/enforce=privileged and annotations "
        "scheduler.alpha.kubernetes.io/node-selector=role=net ops"
    )
    left = f"{marks}: kube install -n decides the namespace; set them on that namespace (see to decide)"
    assert f"==> left out {left}\n" in result.output
    decide = (
        "the install namespace: Namespace/kube-flannel was left out with its labels k8s-app=flannel, "
        "pod-security.kubernetes.io/enforce=privileged and annotations "
        "scheduler.alpha.kubernetes.io/node-selector=role=net ops, and kube install creates a missing "
        "namespace without them (a pod-security.kubernetes.io label decides which Pods the namespace "
        "admits); create and label and annotate the one you install into before kube install -n NS: "
        "kubectl create namespace NS; "
        "kubectl label namespace NS k8s-app=flannel pod-security.kubernetes.io/enforce=privileged; "
        "kubectl annotate namespace NS 'scheduler.alpha.kubernetes.io/node-selector=role=net ops'"
    )
    assert f"  to decide: {decide}\n" in result.output
    readme = (tmp_path / "out" / "flannel" / "README.md").read_text()
    assert f"## To decide\n\n- {decide}\n" in readme
    assert f"## Left out of the source\n\n- {left}\n" in readme

    plan = json.loads(
        kube("import", str(source), "--name", "flannel", "--dry-run", "-o", "json", *OWNER).stdout
    )
    assert plan["dropped"] == [
        {
            "reason": "release-namespace",
            "message": left,
            "count": 1,
            "objects": ["Namespace/kube-flannel"],
            "fields": [
                "labels.k8s-app=flannel",
                "labels.pod-security.kubernetes.io/enforce=privileged",
                "annotations.scheduler.alpha.kubernetes.io/node-selector=role=net ops",
            ],
        }
    ]
    assert decide in plan["to_decide"]


def test_a_release_namespace_without_labels_is_left_out_with_the_one_line_it_always_had(
    tmp_path: Path,
) -> None:
    source = tmp_path / "app.yaml"
    source.write_text(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: app\n"
        "  labels: {kubernetes.io/metadata.name: app}\n"
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg, namespace: app}\n"
    )
    result = kube("import", str(source), "--into", str(tmp_path / "out"), "--name", "app", *OWNER)
    assert result.exit_code == 0, result.output
    assert "==> left out Namespace/app: kube install -n decides the namespace\n" in result.output
    assert "install namespace" not in result.output
    assert "install namespace" not in (tmp_path / "out" / "app" / "README.md").read_text()


def test_a_helm_chart_template_is_refused_with_its_line_and_nothing_is_written(tmp_path: Path) -> None:
    chart = tmp_path / "templates"
    chart.mkdir()
    (chart / "deployment.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Values.name }}\n"
    )
    result = kube("import", str(chart), "--into", str(tmp_path / "out"), "--name", "x")
    assert result.exit_code == 4, result.output
    assert "deployment.yaml:4" in result.output
    assert "render Helm charts or kustomizations first" in result.output
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_an_existing_directory_is_never_overwritten(tmp_path: Path) -> None:
    existing = tmp_path / "kube-state-metrics"
    existing.mkdir()
    (existing / "mine.txt").write_text("keep")
    result = kube("import", str(KSM), "--into", str(tmp_path), *OWNER)
    assert result.exit_code == 2, result.output
    assert "already exists" in result.output
    assert [p.name for p in existing.iterdir()] == ["mine.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["kube-state-metrics"]  # no staging left behind


def test_symbolic_links_in_a_source_folder_are_not_followed(tmp_path: Path) -> None:
    folder = tmp_path / "src"
    folder.mkdir()
    secret = tmp_path / "secret.yaml"
    secret.write_text("apiVersion: v1\nkind: Secret\nmetadata: {name: stolen}\nstringData: {k: v}\n")
    (folder / "link.yaml").symlink_to(secret)
    (folder / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: real}\n")
    result = kube("import", str(folder), "--into", str(tmp_path / "out"), "--name", "app", *OWNER)
    assert result.exit_code == 0, result.output
    assert "link.yaml: not a regular file" in result.output
    assert [p.name for p in (tmp_path / "out" / "app" / "manifests").iterdir()] == ["configmap-real.yaml"]


def test_dry_run_writes_nothing_and_json_describes_the_plan(tmp_path: Path) -> None:
    result = kube("import", str(METRICS_SERVER), "--into", str(tmp_path), "--dry-run", "-o", "json")
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert plan["written"] is False and plan["namespace_removed"] == "kube-system"
    assert plan["images"] == {"metrics_server": "registry.k8s.io/metrics-server/metrics-server:v0.7.2"}
    assert {"object": "RoleBinding/metrics-server-auth-reader", "namespace": "kube-system"} in plan[
        "kept_namespaces"
    ]
    assert not list(tmp_path.iterdir())


def test_no_objects_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "empty.yaml").write_text("---\n# nothing\n")
    result = kube("import", str(tmp_path / "empty.yaml"), "--into", str(tmp_path), "--name", "x")
    assert result.exit_code == 4
    assert "no Kubernetes objects" in result.output


def test_semver_of_upstream_versions() -> None:
    assert importer.semver_of("v0.7.2") == "0.7.2"
    assert importer.semver_of("2.4") == "2.4.0"
    assert importer.semver_of("latest") is None
    assert importer.semver_of("1.2.3.4") is None


@pytest.mark.cluster
def test_an_imported_formula_installs_into_any_namespace(
    tmp_path: Path, namespace: str, kubectl: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    assert kube("import", str(KSM), "--into", str(tmp_path), *OWNER).exit_code == 0
    directory = tmp_path / "kube-state-metrics"
    result = kube("install", str(directory), "-n", namespace, "--force")  # consent to the cluster-scoped RBAC
    try:
        assert result.exit_code == 0, result.output
        binding = json.loads(kubectl("get", "clusterrolebinding", "kube-state-metrics", "-o", "json").stdout)
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": "kube-state-metrics", "namespace": namespace}
        ]
        image = kubectl(
            "get", "deployment", "kube-state-metrics", "-n", namespace, "-o",
            "jsonpath={.spec.template.spec.containers[0].image}",
        ).stdout  # fmt: skip
        assert image == "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.20.0"
    finally:
        done = kube("uninstall", "kube-state-metrics", "-n", namespace)
    assert done.exit_code == 0, done.output
    gone = kubectl("get", "clusterrolebinding", "kube-state-metrics", check=False)
    assert gone.returncode != 0 and "NotFound" in gone.stderr


def _write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


def test_one_object_in_two_files_is_refused_naming_both_and_nothing_is_written(tmp_path: Path) -> None:
    # kubectl apply -f keeps whichever comes last; kube install would refuse the formula.
    source = _write(
        tmp_path / "src",
        {
            "gce.yaml": "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: slow}\n"
            "provisioner: kubernetes.io/gce-pd\n",
            "aws.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: keep}\n---\n"
            "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: slow}\n"
            "provisioner: kubernetes.io/aws-ebs\n",
        },
    )
    out = tmp_path / "out"
    result = kube("import", str(source), "--into", str(out), "--name", "storage", *OWNER)
    assert result.exit_code == 4, result.output
    assert (
        f"{source / 'gce.yaml'}:1 StorageClass/slow is also defined at {source / 'aws.yaml'}:5"
        in result.output
    )
    assert "import only the files you want" in result.output
    assert not out.exists()


def test_one_name_in_two_namespaces_is_two_objects_but_the_release_namespace_is_the_install_one(
    tmp_path: Path,
) -> None:
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: settings{ns}}}\n"
    two = _write(
        tmp_path / "two",
        {"a.yaml": cm.format(ns=", namespace: one"), "b.yaml": cm.format(ns=", namespace: two")},
    )
    assert kube("import", str(two), "--into", str(tmp_path / "o1"), "--name", "two", *OWNER).exit_code == 0
    # The release namespace is taken out, so an object in it and one with none become one object.
    same = _write(
        tmp_path / "same",
        {
            "a.yaml": cm.format(ns=", namespace: app"),
            "b.yaml": cm.format(ns=""),
            "c.yaml": cm.format(ns=", namespace: app").replace("settings", "other"),
        },
    )
    result = kube("import", str(same), "--into", str(tmp_path / "o2"), "--name", "same", *OWNER)
    assert result.exit_code == 4, result.output
    assert "ConfigMap/settings is also defined at" in result.output


def test_folders_inside_a_folder_are_read_only_with_recursive_as_kubectl_does(tmp_path: Path) -> None:
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}}}\n"
    source = _write(
        tmp_path / "guestbook",
        {
            "frontend.yaml": cm.format(name="frontend"),
            "all-in-one/frontend.yaml": cm.format(name="frontend"),
            "extra/deeper/more.yaml": cm.format(name="more"),
            "docs/README.md": "no manifests here\n",
        },
    )
    elsewhere = _write(tmp_path / "elsewhere", {"secret.yaml": cm.format(name="outside")})
    (source / "linked").symlink_to(elsewhere, target_is_directory=True)
    plain = kube("import", str(source), "--into", str(tmp_path / "o1"), "--name", "gb", *OWNER)
    assert plain.exit_code == 0, plain.output
    assert f"skipped {source / 'all-in-one'}: a folder inside a folder (kube import -R" in plain.output
    assert f"{source / 'extra'}: a folder inside a folder" in plain.output
    assert "docs" not in plain.output  # nothing to read there: no note
    assert "linked" not in plain.output  # a symbolic link is not looked through, even for a note
    assert [p.name for p in (tmp_path / "o1" / "gb" / "manifests").iterdir()] == ["configmap-frontend.yaml"]
    (source / "extra" / "linked").symlink_to(elsewhere, target_is_directory=True)
    nested = kube(
        "import", "-R", str(source / "extra"), "--into", str(tmp_path / "o2"), "--name", "more", *OWNER
    )
    assert nested.exit_code == 0, nested.output
    assert f"skipped {source / 'extra' / 'linked'}: not a regular folder" in nested.output
    assert [p.name for p in (tmp_path / "o2" / "more" / "manifests").iterdir()] == ["configmap-more.yaml"]
    # -R over the whole folder meets the alternative in all-in-one/, and passes over the link.
    both = kube("import", "-R", str(source), "--into", str(tmp_path / "o3"), "--name", "gb", *OWNER)
    assert both.exit_code == 4, both.output
    assert "outside" not in both.output
    assert "ConfigMap/frontend is also defined at" in both.output


def _deployment(name: str, image: str, labels: dict[str, str]) -> str:
    return json.dumps(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "labels": labels},
            "spec": {"template": {"spec": {"containers": [{"name": name, "image": image}]}}},
        }
    )


def test_a_release_of_several_components_is_named_after_the_application_they_are_part_of(
    tmp_path: Path,
) -> None:
    # Argo CD's install.yaml: each component its own app.kubernetes.io/name, all part-of argocd,
    # and the one image with a version tag is Dex's, another project's.
    part = {"app.kubernetes.io/part-of": "argocd"}
    source = _write(
        tmp_path / "src",
        {
            "server.json": _deployment("argocd-server", "quay.io/argoproj/argocd:latest",
                                       {**part, "app.kubernetes.io/name": "argocd-server"}),
            "repo.json": _deployment("argocd-repo-server", "quay.io/argoproj/argocd:latest",
                                     {**part, "app.kubernetes.io/name": "argocd-repo-server"}),
            "dex.json": _deployment("argocd-dex-server", "ghcr.io/dexidp/dex:v2.45.1",
                                    {**part, "app.kubernetes.io/name": "argocd-dex-server"}),
        },
    )  # fmt: skip
    done = kube("import", str(source), "--dry-run", "-o", "json")
    assert done.exit_code == 0, done.output
    plan = json.loads(done.stdout)
    assert (plan["name"], plan["version"]) == ("argocd", "0.1.0")
    assert "version: 0.1.0 stands in; the manifests do not say theirs (K3.yaml)" in plan["to_decide"]
    # The release's own image names its version; a name label on most objects names it.
    (source / "server.json").write_text(
        _deployment("argocd-server", "quay.io/argoproj/argocd:v3.1.0", {"app.kubernetes.io/name": "argocd"})
    )
    (source / "repo.json").write_text(
        _deployment(
            "argocd-repo-server", "quay.io/argoproj/argocd:v3.1.0", {"app.kubernetes.io/name": "argocd"}
        )
    )
    plan = json.loads(kube("import", str(source), "--dry-run", "-o", "json").stdout)
    assert (plan["name"], plan["version"]) == ("argocd", "3.1.0")
    assert not [item for item in plan["to_decide"] if item.startswith("version")]


def test_a_folder_whose_manifests_are_all_in_folders_inside_it_says_to_add_recursive(tmp_path: Path) -> None:
    source = _write(
        tmp_path / "release",
        {
            "crds/crd.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
            "v1: old/crd.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n",
            "README.md": "docs\n",
        },
    )
    done = kube("import", str(source), "--into", str(tmp_path / "out"), "--name", "rel", *OWNER)
    assert done.exit_code == 4, done.output
    folders = f"{source / 'crds'}, {source / 'v1: old'}"
    assert f"the manifests are in folders inside it ({folders}): add -R" in " ".join(done.output.split())
    assert not (tmp_path / "out").exists()


# What `helm template web ./web` prints for a chart made by `helm create`, cut down: the chart's
# objects, its test hook and a pre-install hook.
HELM_RENDERED = """\
---
# Source: web/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: web
  labels: {helm.sh/chart: web-0.1.0, app.kubernetes.io/name: web, app.kubernetes.io/version: "1.16.0"}
spec:
  ports: [{port: 80, targetPort: http, protocol: TCP, name: http}]
  selector: {app.kubernetes.io/name: web}
---
# Source: web/templates/migrate.yaml
apiVersion: batch/v1
kind: Job
metadata:
  name: web-migrate
  annotations: {"helm.sh/hook": "pre-install,pre-upgrade", "helm.sh/hook-delete-policy": hook-succeeded}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: migrate, image: "nginx:1.16.0", command: ["true"]}]
---
# Source: web/templates/tests/test-connection.yaml
apiVersion: v1
kind: Pod
metadata:
  name: "web-test-connection"
  annotations:
    "helm.sh/hook": test
spec:
  containers: [{name: wget, image: busybox, command: ['wget'], args: ['web:80']}]
  restartPolicy: Never
"""


def test_a_rendered_helm_chart_leaves_its_test_hook_out_and_names_the_other_hooks(tmp_path: Path) -> None:
    source = tmp_path / "rendered.yaml"
    source.write_text(HELM_RENDERED)
    result = kube("import", str(source), "--into", str(tmp_path), "--name", "web", *OWNER)
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "left out 1 Helm test hook (Pod/web-test-connection): `helm test` runs them" in said
    assert "Job/web-migrate is a Helm pre-install, pre-upgrade hook: kube runs no Helm hooks" in said
    written = sorted(p.name for p in (tmp_path / "web" / "manifests").iterdir())
    assert written == ["job-web-migrate.yaml.tmpl", "service-web.yaml"]  # its image is a value
    as_json = kube("import", str(source), "--into", str(tmp_path / "again"), "--dry-run", "-o", "json")
    [left] = json.loads(as_json.stdout)["dropped"]
    assert (left["reason"], left["objects"]) == ("helm-test-hook", ["Pod/web-test-connection"])
