"""kube import of live objects (``kubectl get ... -o yaml``): what the cluster made or chose is
left out, said once per reason with a count, and the formula installs into a fresh namespace.

The static exports in tests/data/import-export are real ones (its README says how they were
made); the last test makes its own on the local control plane and installs what it imports.
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from kube.cli.app import app
from kube.formula.load import load_formula
from kube.formula.render import render_manifests
from tests.cluster import Cluster

EXPORTS = Path(__file__).parent / "data" / "import-export"
WEB = EXPORTS / "web-namespace.yaml"
WEB_BY_KUBE = EXPORTS / "web-namespace-installed-by-kube.yaml"
SHOP = EXPORTS / "shop-namespace.yaml"
SHOP_VOLUME = EXPORTS / "shop-volume.yaml"
OWNER = (
    "--home", "https://example.org/web", "--maintainer", "Kube Formula Team <formulas@kube.sh>",
    "--description", "An exported namespace",
)  # fmt: skip
#: What a cluster writes into every live object; none of it may reach a formula.
SERVER_WRITTEN = (
    "uid:", "resourceVersion", "managedFields", "creationTimestamp", "selfLink", "ownerReferences",
    "status:", "clusterIP", "volumeName", "last-applied-configuration", "deployment.kubernetes.io/",
    "pv.kubernetes.io/", "storage-provisioner", "nodeName", "-token-", "imp-src",
)  # fmt: skip


def kube(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def imported(tmp_path: Path, *sources: Path, name: str) -> tuple[Result, Path]:
    result = kube("import", *map(str, sources), "--into", str(tmp_path), "--name", name, *OWNER)
    assert result.exit_code == 0, result.output
    return result, tmp_path / name


def left_out(output: str) -> list[str]:
    return [
        line.removeprefix("==> left out ") for line in output.splitlines() if line.startswith("==> left out")
    ]


def manifests(directory: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted((directory / "manifests").iterdir())}


def rendered(
    directory: Path, namespace: str, values: dict[str, Any] | None = None
) -> dict[str, dict[str, Any]]:
    formula = load_formula(directory)
    objects = render_manifests(formula, directory, values or dict(formula.values), namespace=namespace)
    return {o.display: o.data for o in objects}


def test_a_namespace_export_imports_only_the_objects_someone_wrote(tmp_path: Path) -> None:
    _, directory = imported(tmp_path, WEB, name="web")
    files = manifests(directory)
    # No ReplicaSet, Pod, Endpoints, token Secrets, default ServiceAccount or kube-root-ca.crt.
    assert sorted(files) == [
        "configmap-web-settings.yaml",
        "deployment-web.yaml.tmpl",
        "persistentvolumeclaim-web-data.yaml",
        "secret-web-credentials.yaml",
        "service-web.yaml",
        "serviceaccount-web.yaml",
    ]
    for name, text in files.items():
        assert not [word for word in SERVER_WRITTEN if word in text], (name, text)
    assert files["service-web.yaml"] == (
        "apiVersion: v1\nkind: Service\nmetadata:\n  labels:\n    app.kubernetes.io/name: web\n  name: web\n"
        "spec:\n  ports:\n    - name: http\n      port: 80\n      protocol: TCP\n      targetPort: 80\n"
        "  selector:\n    app.kubernetes.io/name: web\n  sessionAffinity: None\n  type: ClusterIP\n"
    )
    # The claim names no volume and, as kubectl's last-applied configuration shows nobody chose
    # `standard`, no class: the new cluster's default provisions it.
    assert files["persistentvolumeclaim-web-data.yaml"] == (
        "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  labels:\n    app.kubernetes.io/name: web\n"
        "  name: web-data\nspec:\n  accessModes:\n    - ReadWriteOnce\n  resources:\n    requests:\n"
        "      storage: 1Gi\n  volumeMode: Filesystem\n"
    )
    assert files["serviceaccount-web.yaml"] == (
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  labels:\n    app.kubernetes.io/name: web\n"
        "  name: web\n"
    )
    deployment = rendered(directory, "elsewhere")["Deployment/web"]
    assert "creationTimestamp" not in deployment["spec"]["template"]["metadata"]
    assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == "web"


def test_what_an_export_leaves_out_is_one_line_per_reason_with_a_count(tmp_path: Path) -> None:
    result, directory = imported(tmp_path, WEB, name="web")
    lines = left_out(result.output)
    assert lines == [
        "1 ReplicaSet, 1 Pod a controller made for another object: the controller makes them again "
        "for the one installed",
        "1 Endpoints of Services with a selector: the cluster keeps them from the Pods the selector picks",
        "2 objects every namespace has of its own (ConfigMap/kube-root-ca.crt, ServiceAccount/default): "
        "installing them fails with AlreadyExists",
        "2 service-account token Secrets: the new cluster issues its own tokens",
        "status, uid, resourceVersion, generation, creationTimestamp, managedFields, finalizers "
        "from 6 objects: the API server records them; the new one records its own",
        "deployment.kubernetes.io/revision, kubectl.kubernetes.io/last-applied-configuration from 6 objects: "
        "kubectl and controllers wrote them about the old objects",
        "spec.clusterIP, spec.clusterIPs from 1 Service: addresses the old cluster allocated; the new one "
        "allocates from its own range",
        "spec.storageClassName from 1 PersistentVolumeClaim: the old cluster filled them in (they are not in "
        "kubectl's last-applied configuration); the new one fills in its own",
        "secrets from 1 ServiceAccount: they name the old cluster's token Secrets",
        "pv.kubernetes.io/bind-completed, pv.kubernetes.io/bound-by-controller, "
        "volume.beta.kubernetes.io/storage-provisioner, spec.volumeName from 1 PersistentVolumeClaim: the "
        "volume the old cluster bound; the new one provisions or binds its own",
    ]
    assert "web-78b867dd48" not in result.output  # counted, not listed object by object
    readme = (directory / "README.md").read_text()
    assert all(f"- {line}" in readme for line in lines)  # the author reads them later too

    # -o json says the same, and names each object.
    plan = json.loads(kube("import", str(WEB), "--dry-run", "-o", "json").stdout)
    assert [entry["message"] for entry in plan["dropped"]] == lines
    by_reason = {entry["reason"]: entry for entry in plan["dropped"]}
    assert by_reason["made-by-controller"]["objects"] == [
        "ReplicaSet/web-78b867dd48",
        "Pod/web-78b867dd48-kxtt2",
    ]
    assert by_reason["made-by-controller"]["count"] == 2 and by_reason["made-by-controller"]["fields"] == []
    assert by_reason["service-account-token"]["objects"] == [
        "Secret/default-token-xwsc4",
        "Secret/web-token-g6x68",
    ]
    assert by_reason["cluster-ip"] == {
        "reason": "cluster-ip",
        "message": lines[6],
        "count": 1,
        "objects": ["Service/web"],
        "fields": ["spec.clusterIP", "spec.clusterIPs"],
    }


def test_an_image_without_a_tag_gets_a_tag_value_of_the_latest_it_pulls_and_says_so(tmp_path: Path) -> None:
    result, directory = imported(tmp_path, WEB, name="web")
    formula = load_formula(directory)
    assert formula.values["images"] == {
        "nginx": {"repository": "nginx", "tag": "latest", "digest": ""},
        "busybox": {"repository": "busybox", "tag": "1.36", "digest": ""},
    }
    assert "value images.nginx = nginx:latest  (no tag upstream: latest is what it pulls)" in result.output
    assert "value images.busybox = busybox:1.36\n" in result.output
    assert (
        "to decide: images.nginx.tag: latest stands in; `nginx` names no tag, so it runs whatever latest is "
        "when a node pulls it (set a version)" in result.output
    )
    assert (
        '# Upstream names no tag: latest is what it pulls. Set a version.\n      tag: "latest"'
        in (directory / "K3.yaml").read_text()
    )
    # The sidecar's tag is not the release's version.
    assert str(formula.version) == "0.1.0"

    def images(values: dict[str, Any]) -> list[str]:
        spec = rendered(directory, "x", values)["Deployment/web"]["spec"]["template"]["spec"]
        return [c["image"] for c in spec["containers"]]

    assert images(dict(formula.values)) == ["nginx:latest", "busybox:1.36"]
    values = copy.deepcopy(dict(formula.values))
    values["images"]["nginx"]["tag"] = "1.27.3"  # what `--set images.nginx.tag=1.27.3` does
    assert images(values) == ["nginx:1.27.3", "busybox:1.36"]


def test_nginx_and_nginx_latest_are_one_value_and_a_digest_alone_gets_no_tag(tmp_path: Path) -> None:
    digest = "sha256:" + "4f2a9d8c" * 8
    source = tmp_path / "app.json"
    containers = [{"name": "a", "image": "nginx"}, {"name": "b", "image": "nginx:latest"}]
    containers.append({"name": "c", "image": f"registry.example.org/tool@{digest}"})
    source.write_text(
        json.dumps(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "app"},
                "spec": {"template": {"spec": {"containers": containers}}},
            }
        )
    )
    result, directory = imported(tmp_path / "out", source, name="app")
    assert load_formula(directory).values["images"] == {
        "nginx": {"repository": "nginx", "tag": "latest", "digest": ""},
        "tool": {"repository": "registry.example.org/tool", "tag": "", "digest": digest},
    }
    # One container names the tag, so `latest` is upstream's, not a stand-in.
    assert "to decide: images." not in result.output
    spec = rendered(directory, "x")["Deployment/app"]["spec"]["template"]["spec"]
    assert [c["image"] for c in spec["containers"]] == [
        "nginx:latest",
        "nginx:latest",
        f"registry.example.org/tool@{digest}",
    ]


PINNED = "sha256:" + "594ceea7" * 8
NEW_DIGEST = "sha256:" + "0123abcd" * 8


def test_every_image_form_renders_back_and_an_emptied_tag_or_digest_leaves_no_separator(
    tmp_path: Path,
) -> None:
    """ingress-nginx pins its controller as ``repo:tag@digest``: a node pulls by digest, so a new
    tag alone runs the old image. The import says so, and emptying the digest (or the tag) must
    give a valid reference, never ``repo:tag@``."""
    upstream = {
        "controller": f"registry.k8s.io/ingress-nginx/controller:v1.15.1@{PINNED}",
        "local": "localhost:5000/team/app:1.2",
        "tool": f"registry.example.org/tool@{PINNED}",
        "busybox": "busybox:1.36",
        "nginx": "nginx",
    }
    containers = [{"name": name, "image": image} for name, image in upstream.items()]
    source = tmp_path / "app.json"
    source.write_text(
        json.dumps(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "app"},
                "spec": {"template": {"spec": {"containers": containers}}},
            }
        )
    )
    result, directory = imported(tmp_path / "out", source, name="app")
    formula = load_formula(directory)
    assert formula.values["images"]["controller"] == {
        "repository": "registry.k8s.io/ingress-nginx/controller",
        "tag": "v1.15.1",
        "digest": PINNED,
    }
    assert formula.values["images"]["app"] == {
        "repository": "localhost:5000/team/app",
        "tag": "1.2",
        "digest": "",
    }

    def images(**changes: dict[str, str]) -> dict[str, str]:
        values = copy.deepcopy(dict(formula.values))
        for key, change in changes.items():
            values["images"][key].update(change)
        spec = rendered(directory, "x", values)["Deployment/app"]["spec"]["template"]["spec"]
        return {c["name"]: c["image"] for c in spec["containers"]}

    assert images() == {**upstream, "nginx": "nginx:latest"}
    changed = images(
        controller={"tag": "v1.16.0", "digest": ""},  # a new tag: the digest emptied with it
        tool={"tag": "2.0", "digest": ""},  # a digest alone replaced by a tag
        app={"digest": NEW_DIGEST},  # a tagged image pinned
        busybox={"tag": ""},  # no tag: what the node pulls as latest
        nginx={"tag": "", "digest": NEW_DIGEST},  # a digest alone
    )
    assert changed == {
        "controller": "registry.k8s.io/ingress-nginx/controller:v1.16.0",
        "local": f"localhost:5000/team/app:1.2@{NEW_DIGEST}",
        "tool": "registry.example.org/tool:2.0",
        "busybox": "busybox",
        "nginx": f"nginx@{NEW_DIGEST}",
    }
    assert images(controller={"tag": ""}, tool={"digest": ""})["controller"] == (
        f"registry.k8s.io/ingress-nginx/controller@{PINNED}"
    )
    assert images(tool={"digest": ""})["tool"] == "registry.example.org/tool"
    # Where a digest pins the image, the import, K3.yaml and README say it wins over the tag.
    assert (
        "value images.controller = registry.k8s.io/ingress-nginx/controller:v1.15.1@"
        f"{PINNED}  (the digest wins over the tag: change or empty images.controller.digest with it)"
    ) in result.output
    assert "value images.busybox = busybox:1.36\n" in result.output
    k3 = (directory / "K3.yaml").read_text()
    assert (
        '      tag: "v1.15.1"\n'
        "      # The digest wins over the tag: a node pulls by digest, whatever the tag says.\n"
    ) in k3
    assert k3.count("The digest wins over the tag") == 2  # controller and tool, not the tagged ones
    readme = (directory / "README.md").read_text()
    assert (
        "`images.controller`, `images.tool` are pinned by digest, and the digest wins over the tag: a node "
        "pulls by digest, so a new tag alone still runs the old image. Change the digest with the tag, or "
        "empty it: `--set-string images.controller.tag=NEW --set-string images.controller.digest=`."
    ) in readme


def test_a_statefulset_export_leaves_claims_revisions_endpoints_and_events_to_the_cluster(
    tmp_path: Path,
) -> None:
    result, directory = imported(tmp_path, SHOP, SHOP_VOLUME, name="shop")
    assert left_out(result.output)[:6] == [
        "2 Pods, 1 PersistentVolumeClaim, 1 ControllerRevision a controller made for another object: the "
        "controller makes them again for the one installed",
        "3 Endpoints, 4 EndpointSlices of Services with a selector: the cluster keeps them from the Pods the "
        "selector picks",
        "2 objects every namespace has of its own (ServiceAccount/default, ConfigMap/kube-root-ca.crt): "
        "installing them fails with AlreadyExists",
        "2 service-account token Secrets: the new cluster issues its own tokens",
        "10 Events: a record of what happened, not something to install",
        "1 PersistentVolume a provisioner made: the new cluster provisions volumes for its own claims",
    ]
    assert sorted(manifests(directory)) == [
        "job-migrate.yaml.tmpl",
        "pod-toolbox.yaml.tmpl",
        "secret-ci-long-lived.yaml",
        "service-db.yaml",
        "service-front.yaml",
        "service-legacy.yaml",
        "serviceaccount-ci.yaml",
        "statefulset-db.yaml.tmpl",
    ]
    got = rendered(directory, "shop")
    # A headless Service stays headless.
    assert (got["Service/db"]["spec"]["clusterIP"], got["Service/db"]["spec"]["clusterIPs"]) == (
        "None",
        ["None"],
    )
    # The nodePort someone wrote stays, the one the cluster chose goes: the last-applied
    # configuration says which is which.
    assert [p.get("nodePort") for p in got["Service/front"]["spec"]["ports"]] == [30480, None]
    assert "clusterIP" not in got["Service/front"]["spec"]
    # Made with kubectl create, nothing says who chose this one: kept, and left to the author.
    assert got["Service/legacy"]["spec"]["ports"][0]["nodePort"] == 31893
    assert (
        "to decide: Service/legacy: nodePort 31893 kept as exported, as nothing says whether a person or the "
        "cluster chose it; if the cluster did, delete it: another cluster may have it taken" in result.output
    )
    # The Job's generated selector and labels go: the API server refuses ones it did not make.
    job = got["Job/migrate"]["spec"]
    assert "selector" not in job and "metadata" not in job["template"]
    # The bare Pod loses the old node, its priority and the old cluster's token volume.
    pod = got["Pod/toolbox"]["spec"]
    assert not {"nodeName", "priority", "preemptionPolicy", "volumes"} & set(pod)
    assert "volumeMounts" not in pod["containers"][0]
    # A token Secret someone asked for is kept as the request, without the old token and uid.
    assert got["Secret/ci-long-lived"] == {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "annotations": {"kubernetes.io/service-account.name": "ci"},
            "labels": {"app.kubernetes.io/name": "shop"},
            "name": "ci-long-lived",
        },
        "type": "kubernetes.io/service-account-token",
    }
    claim = got["StatefulSet/db"]["spec"]["volumeClaimTemplates"][0]
    assert "status" not in claim and "creationTimestamp" not in claim["metadata"]
    assert (
        "spec.selector, spec.template.metadata.labels[controller-uid], "
        "spec.template.metadata.labels[job-name] from 1 Job" in result.output
    )
    assert (
        "spec.nodeName, spec.priority, spec.preemptionPolicy, the service-account token volume from 1 Pod"
        in result.output
    )


def test_an_export_of_a_release_kube_installed_leaves_out_its_record_and_marks(tmp_path: Path) -> None:
    result, directory = imported(tmp_path, WEB_BY_KUBE, name="web")
    lines = left_out(result.output)
    assert (
        "1 install record of kube or Helm (Secret/kube.release.web.v1): they record a release of the old "
        "namespace; kube install records its own" in lines
    )
    assert (
        "kube.sh/content-hash, kube.sh/formula, kube.sh/version, kube.sh/release, "
        "app.kubernetes.io/managed-by from 6 objects: kube or Helm marked them as a release of the old "
        "namespace; kube install marks them anew" in lines
    )
    files = manifests(directory)
    assert len(files) == 6
    assert not [name for name, text in files.items() if "kube.sh/" in text or "managed-by" in text]
    # Created by kube, not kubectl apply: nothing says the class was the cluster's choice.
    assert "storageClassName: standard" in files["persistentvolumeclaim-web-data.yaml"]
    lint = [line.split()[3] for line in result.output.splitlines() if line.startswith("  lint: ")]
    assert lint == ["manifest-image-tag:"]  # `nginx:latest`; no install-record look-alike


def _live(kind: str, name: str, **fields: Any) -> dict[str, Any]:
    api = {"Deployment": "apps/v1", "StatefulSet": "apps/v1", "Job": "batch/v1"}.get(kind, "v1")
    metadata = {"name": name, "namespace": "prod", "uid": f"uid-{name}", "resourceVersion": "7"}
    metadata.update(fields.pop("metadata", {}))
    return {"apiVersion": api, "kind": kind, "metadata": metadata, **fields}


def _applied(data: dict[str, Any]) -> dict[str, str]:
    return {"kubectl.kubernetes.io/last-applied-configuration": json.dumps(data)}


def _export(tmp_path: Path, *items: dict[str, Any]) -> Path:
    path = tmp_path / "export.json"
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": list(items)}))
    return path


def test_what_a_person_may_have_written_is_kept_unless_the_export_says_the_cluster_chose_it(
    tmp_path: Path,
) -> None:
    lb_spec = {"type": "LoadBalancer", "ports": [{"port": 443, "nodePort": 30443}], "selector": {"a": "b"}}
    source = _export(
        tmp_path,
        # Bound by a person to a volume they made: the volume stays; the controller's annotation goes.
        _live("PersistentVolumeClaim", "static",
              metadata={"annotations": {"pv.kubernetes.io/bind-completed": "yes"}},
              spec={"volumeName": "nfs-share", "storageClassName": ""}),
        # Applied with its class: the class stays.
        _live("PersistentVolumeClaim", "fast",
              metadata={"annotations": _applied({"spec": {"storageClassName": "ssd"}})},
              spec={"storageClassName": "ssd"}),
        # The nodePort was in what kubectl applied, and so was the health-check port.
        _live("Service", "edge",
              metadata={"annotations": _applied({"spec": {**lb_spec, "healthCheckNodePort": 32000}})},
              spec={**lb_spec, "clusterIP": "10.0.0.9", "healthCheckNodePort": 32000,
                    "externalTrafficPolicy": "Local"}),
        # A ClusterIP Service cannot have node ports, whoever wrote them.
        _live("Service", "inner", spec={"ports": [{"port": 80, "nodePort": 31000}], "selector": {"a": "b"}}),
        # A namespace's own ServiceAccount, changed by someone: left out, and the author told what was lost.
        _live("ServiceAccount", "default", imagePullSecrets=[{"name": "registry"}]),
        # Helm's record of a release.
        _live("Secret", "sh.helm.release.v1.shop.v3", type="helm.sh/release.v1", data={"release": "H4sI"}),
    )  # fmt: skip
    result, directory = imported(tmp_path / "out", source, name="kept")
    got = rendered(directory, "x")
    assert got["PersistentVolumeClaim/static"]["spec"] == {"volumeName": "nfs-share", "storageClassName": ""}
    assert "annotations" not in got["PersistentVolumeClaim/static"]["metadata"]
    assert got["PersistentVolumeClaim/fast"]["spec"] == {"storageClassName": "ssd"}
    assert got["Service/edge"]["spec"]["ports"] == [{"port": 443, "nodePort": 30443}]
    assert got["Service/edge"]["spec"]["healthCheckNodePort"] == 32000
    assert "clusterIP" not in got["Service/edge"]["spec"]
    assert got["Service/inner"]["spec"]["ports"] == [{"port": 80}]
    assert sorted(got) == [
        "PersistentVolumeClaim/fast",
        "PersistentVolumeClaim/static",
        "Service/edge",
        "Service/inner",
    ]
    assert (
        "spec.ports[].nodePort from 1 Service of a type without node ports: the API refuses node ports there"
        in left_out(result.output)
    )
    assert "1 install record of kube or Helm (Secret/sh.helm.release.v1.shop.v3)" in result.output
    assert (
        "to decide: ServiceAccount/default was left out with its imagePullSecrets: set them on the "
        "install namespace's own (kubectl patch serviceaccount default), or give the formula a "
        "ServiceAccount of its own" in result.output
    )


def test_upstream_manifests_keep_what_only_looks_like_a_cluster_s(tmp_path: Path) -> None:
    # Written by a person, not exported: a token Secret asked for by annotation (the way since
    # Kubernetes 1.24) and listed by its ServiceAccount, a fixed address and a node port are
    # theirs; nothing is left out and nothing is to decide.
    documents = [
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: ci\nsecrets:\n  - name: ci-token\n",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: ci-token\n  annotations:\n"
        "    kubernetes.io/service-account.name: ci\ntype: kubernetes.io/service-account-token\n",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  type: NodePort\n"
        "  clusterIP: 10.96.0.10\n  ports:\n    - port: 80\n      nodePort: 30080\n",
    ]
    source = tmp_path / "release.yaml"
    source.write_text("---\n".join(documents))
    result, directory = imported(tmp_path / "out", source, name="rel")
    assert left_out(result.output) == []
    assert "nodePort" not in " ".join(line for line in result.output.splitlines() if "to decide" in line)
    files = manifests(directory)
    assert [
        files["serviceaccount-ci.yaml"],
        files["secret-ci-token.yaml"],
        files["service-web.yaml"],
    ] == documents


# --------------------------------------------------------------------------- on the cluster

SOURCE = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: web-settings, labels: {app.kubernetes.io/name: web}}
data: {greeting: hello}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: web, labels: {app.kubernetes.io/name: web}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: web-data, labels: {app.kubernetes.io/name: web}}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app.kubernetes.io/name: web}}
spec:
  replicas: 1
  selector: {matchLabels: {app.kubernetes.io/name: web}}
  template:
    metadata: {labels: {app.kubernetes.io/name: web}}
    spec:
      serviceAccountName: web
      containers:
        - {name: web, image: nginx, envFrom: [{configMapRef: {name: web-settings}}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, labels: {app.kubernetes.io/name: web}}
spec:
  selector: {app.kubernetes.io/name: web}
  ports: [{name: http, port: 80, targetPort: 80}]
"""


@pytest.fixture
def fresh_namespace(cluster: Cluster, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], str]]:
    """Makes namespaces ``imp-<what>-<random>`` on the shared cluster, deleted afterwards."""
    made: list[str] = []

    def make(what: str) -> str:
        name = f"imp-{what}-{uuid.uuid4().hex[:6]}"
        manifest = {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": name, "labels": {"kube.sh/test": "true"}},
        }
        cluster.kubectl("create", "-f", "-", input=json.dumps(manifest))
        made.append(name)
        account = ("get", "serviceaccount", "default", "-n", name)
        _until(
            lambda: cluster.kubectl(*account, check=False).returncode == 0,
            f"{name}: no default ServiceAccount",
        )
        return name

    monkeypatch.setenv("KUBECONFIG", str(cluster.kubeconfig))
    monkeypatch.setenv("PATH", cluster.env["PATH"])
    yield make
    for name in made:
        cluster.kubectl(
            "delete", "namespace", name, "--wait=false", "--ignore-not-found", check=False, timeout=30
        )


def _until(done: Callable[[], bool], what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} after {timeout:.0f} s")
        time.sleep(0.5)


@pytest.mark.cluster
def test_an_export_of_a_live_namespace_installs_into_a_fresh_namespace(
    tmp_path: Path, cluster: Cluster, fresh_namespace: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    source = fresh_namespace("src")
    cluster.kubectl("apply", "-n", source, "-f", "-", input=SOURCE)

    def settled() -> bool:
        endpoints = cluster.get_json("endpoints", "web", "-n", source)
        pods = cluster.get_json("pods", "-n", source)["items"]
        return bool(endpoints.get("subsets")) and len(pods) == 1

    _until(settled, f"{source}: no Pod behind Service/web")
    export = tmp_path / "export.yaml"
    export.write_text(
        cluster.kubectl(
            "get", "deploy,svc,cm,sa,secret,pvc,rs,pod,endpoints", "-n", source, "-o", "yaml"
        ).stdout
    )

    result, directory = imported(tmp_path / "formulas", export, name="web")
    assert sorted(manifests(directory)) == [
        "configmap-web-settings.yaml",
        "deployment-web.yaml.tmpl",
        "persistentvolumeclaim-web-data.yaml",
        "service-web.yaml",
        "serviceaccount-web.yaml",
    ]
    lines = left_out(result.output)
    assert "1 ReplicaSet, 1 Pod a controller made for another object: the controller makes them again " \
        "for the one installed" in lines  # fmt: skip
    assert any(line.startswith("1 Endpoints of Services with a selector") for line in lines)
    assert any(line.startswith("2 objects every namespace has of its own (ConfigMap/kube-root-ca.crt, "
                               "ServiceAccount/default)") for line in lines)  # fmt: skip
    assert any(line.startswith("spec.clusterIP, spec.clusterIPs from 1 Service") for line in lines)
    if "kubernetes.io/service-account-token" in export.read_text():  # Kubernetes before 1.24
        assert any(line.endswith(" service-account token Secrets: the new cluster issues its own tokens")
                   for line in lines)  # fmt: skip
    assert len(lines) == len({line.split(": ", 1)[1] for line in lines})  # one line per reason

    target = fresh_namespace("dst")
    installed = kube("install", str(directory), "-n", target)
    try:
        assert installed.exit_code == 0, installed.output
        assert f"web 0.1.0 installed in namespace {target}: 5 objects" in installed.output
        assert "failed" not in installed.output
        service = cluster.get_json("service", "web", "-n", target)
        assert (
            service["spec"]["clusterIP"]
            != cluster.get_json("service", "web", "-n", source)["spec"]["clusterIP"]
        )
        deployment = cluster.get_json("deployment", "web", "-n", target)
        assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:latest"

        # The ServiceAccount names the new namespace's token Secrets, none of the old one's.
        def tokens(namespace: str) -> set[str]:
            account = cluster.get_json("serviceaccount", "web", "-n", namespace)
            return {s["name"] for s in account.get("secrets", [])}

        assert not tokens(source) & tokens(target)
    finally:
        done = kube("uninstall", "web", "-n", target)
    assert done.exit_code == 0, done.output
    gone = cluster.kubectl(
        "get", "deployment,service,configmap/web-settings", "-n", target, "-o", "name", check=False
    )
    assert "deployment.apps/web" not in gone.stdout and "service/web" not in gone.stdout
