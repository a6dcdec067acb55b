"""The fields a cluster chose in the live objects of an export, kind by kind: each rule takes
them out of an object's data and yields (why, field) for what it took."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from kube.formula.left_out import Tally, Why
from kube.k8s.objects import CONTAINER_LISTS, KubeObject

#: Annotations the volume controllers write when they bind or provision. Not
#: ``volume.beta.kubernetes.io/storage-class``: that one is a person's choice of class.
_BINDING_ANNOTATIONS = (
    "volume.beta.kubernetes.io/storage-provisioner",
    "volume.kubernetes.io/storage-provisioner",
    "volume.kubernetes.io/selected-node",
)
BINDING_PREFIX = "pv.kubernetes.io/"
_SA_UID = "kubernetes.io/service-account.uid"
#: What the token controller (before 1.24) and the ServiceAccount admission plugin name things.
_TOKEN_SUFFIX = re.compile(r"-token-[a-z0-9]{5}$")
_API_ACCESS_VOLUME = re.compile(r"^kube-api-access-[a-z0-9]{5}$")
_ACCOUNT_MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
_JOB_LABELS = (
    "controller-uid",
    "job-name",
    "batch.kubernetes.io/controller-uid",
    "batch.kubernetes.io/job-name",
)


def dig(node: Any, *path: str | int) -> Any:
    """``node[path[0]][path[1]]...``, or None where a step is missing or of the wrong type."""
    for step in path:
        if isinstance(step, int):
            node = node[step] if isinstance(node, list) and len(node) > step else None
        else:
            node = node.get(step) if isinstance(node, dict) else None
    return node


def as_list(node: Any) -> list[Any]:
    return node if isinstance(node, list) else []


def generated_token(name: str, account: object) -> bool:
    """Whether ``name`` is what the token controller calls the Secret it makes for ``account``."""
    return (
        isinstance(account, str) and name.startswith(f"{account}-token-") and bool(_TOKEN_SUFFIX.search(name))
    )


def pop_annotations(data: dict[str, Any], names: Iterable[str], *, prefix: str | None = None) -> list[str]:
    annotations = dig(data, "metadata", "annotations")
    if not isinstance(annotations, dict):
        return []
    gone = [key for key in list(annotations) if key in names or (prefix and key.startswith(prefix))]
    for key in gone:
        del annotations[key]
    if not annotations:
        data["metadata"].pop("annotations", None)
    return gone


def unwritten(applied: dict[str, Any] | None, *path: str | int) -> bool:
    """Whether kubectl's last-applied configuration shows nobody wrote the field at ``path``."""
    return applied is not None and dig(applied, *path) is None


def service_fields(
    data: dict[str, Any], applied: dict[str, Any] | None, live: bool, display: str, tally: Tally
) -> Iterator[tuple[Why, str]]:
    spec = data.get("spec")
    if not isinstance(spec, dict):
        return
    # A person may fix an address (a cluster's DNS Service); in an export the cluster chose it.
    for key in ("clusterIP", "clusterIPs"):
        if live and key in spec and spec[key] not in ("None", ["None"]):  # headless stays headless
            del spec[key]
            yield Why.CLUSTER_IP, f"spec.{key}"
    kind = spec.get("type", "ClusterIP")
    with_node_ports = kind in ("NodePort", "LoadBalancer")
    ports = as_list(spec.get("ports"))
    applied_ports = dig(applied, "spec", "ports")
    kept: list[str] = []
    for port in ports:
        if not isinstance(port, dict) or "nodePort" not in port:
            continue
        if not with_node_ports:
            del port["nodePort"]
            yield Why.NODE_PORT, "spec.ports[].nodePort"
        elif applied is not None and not _applied_node_port(port, applied_ports):
            del port["nodePort"]
            yield Why.DEFAULTED, "spec.ports[].nodePort"
        elif applied is None and live:
            kept.append(str(port["nodePort"]))
    if "healthCheckNodePort" in spec and (
        kind != "LoadBalancer" or unwritten(applied, "spec", "healthCheckNodePort")
    ):
        del spec["healthCheckNodePort"]
        yield (Why.DEFAULTED if kind == "LoadBalancer" else Why.NODE_PORT), "spec.healthCheckNodePort"
    for key in ("ipFamilies", "ipFamilyPolicy"):
        if key in spec and unwritten(applied, "spec", key):
            del spec[key]
            yield Why.DEFAULTED, f"spec.{key}"
    if kept:
        it = "it" if len(kept) == 1 else "them"
        tally.to_decide.append(
            f"{display}: nodePort {', '.join(kept)} kept as exported, as nothing says whether a person "
            f"or the cluster chose {it}; if the cluster did, delete {it}: another cluster may have "
            f"{it} taken"
        )


def _applied_node_port(port: dict[str, Any], applied_ports: Any) -> bool:
    """Whether the last-applied port that ``port`` came from names a nodePort."""
    for candidate in applied_ports if isinstance(applied_ports, list) else ():
        if not isinstance(candidate, dict):
            continue
        same = candidate.get("port") == port.get("port") and candidate.get("protocol", "TCP") == port.get(
            "protocol", "TCP"
        )
        if same:
            return "nodePort" in candidate
    return False


def volume_fields(
    data: dict[str, Any], obj: KubeObject, applied: dict[str, Any] | None
) -> Iterator[tuple[Why, str]]:
    bound_by_controller = obj.annotations.get(BINDING_PREFIX + "bound-by-controller") == "yes"
    yield from (
        (Why.VOLUME_BINDING, n) for n in pop_annotations(data, _BINDING_ANNOTATIONS, prefix=BINDING_PREFIX)
    )
    spec = data.get("spec")
    if not isinstance(spec, dict):
        return
    if obj.kind == "PersistentVolume":
        claim = spec.get("claimRef")
        for key in ("uid", "resourceVersion"):
            if isinstance(claim, dict) and key in claim:
                del claim[key]
                yield Why.VOLUME_BINDING, f"spec.claimRef.{key}"
        return
    volume = spec.get("volumeName")
    # A claim a person bound to a volume keeps it; one the controller bound or provisioned for does not.
    if volume and (bound_by_controller or volume == f"pvc-{obj.metadata.get('uid')}"):
        del spec["volumeName"]
        yield Why.VOLUME_BINDING, "spec.volumeName"
    class_annotation = dig(applied, "metadata", "annotations", "volume.beta.kubernetes.io/storage-class")
    if (
        "storageClassName" in spec
        and class_annotation is None
        and unwritten(applied, "spec", "storageClassName")
    ):
        del spec["storageClassName"]
        yield Why.DEFAULTED, "spec.storageClassName"


def account_fields(
    data: dict[str, Any], account: str, generated: frozenset[tuple[str, str]], namespace: str
) -> Iterator[tuple[Why, str]]:
    """The token Secrets the cluster made for the ServiceAccount, from the list of those it may mount."""
    secrets = data.get("secrets")
    if not isinstance(secrets, list):
        return
    kept = [
        item
        for item in secrets
        if (namespace, str(dig(item, "name"))) not in generated
        and not generated_token(str(dig(item, "name")), account)
    ]
    if len(kept) < len(secrets):
        if kept:
            data["secrets"] = kept
        else:
            del data["secrets"]
        yield Why.SA_SECRETS, "secrets"


def token_fields(data: dict[str, Any]) -> Iterator[tuple[Why, str]]:
    """A token Secret a person asked for keeps its ServiceAccount's name and loses what the old
    cluster filled in: with the old uid the new token controller would delete it."""
    if data.pop("data", None) is not None:
        yield Why.TOKEN_DATA, "data"
    yield from ((Why.TOKEN_DATA, n) for n in pop_annotations(data, (_SA_UID,)))


def pod_fields(data: dict[str, Any], applied: dict[str, Any] | None, live: bool) -> Iterator[tuple[Why, str]]:
    spec = data.get("spec")
    if not isinstance(spec, dict):
        return
    if live:
        # The scheduler's node and the priority admission's numbers, of the old cluster; a
        # priority the new cluster's classes do not compute is refused.
        for key in ("nodeName", "priority", "preemptionPolicy"):
            if key in spec and (key == "priority" or applied is None or unwritten(applied, "spec", key)):
                del spec[key]
                yield Why.POD_PLACEMENT, f"spec.{key}"
    # The ServiceAccount admission plugin mounts a token there into every Pod it admits; the
    # new cluster's plugin mounts one of its own.
    mounted = {
        dig(mount, "name")
        for list_name in CONTAINER_LISTS
        for container in as_list(spec.get(list_name))
        for mount in as_list(dig(container, "volumeMounts"))
        if dig(mount, "mountPath") == _ACCOUNT_MOUNT_PATH
    }
    volumes = as_list(spec.get("volumes"))
    tokens = {
        v["name"] for v in volumes if isinstance(v, dict) and v.get("name") in mounted and _token_source(v)
    }
    if not tokens:
        return
    spec["volumes"] = [v for v in volumes if not (isinstance(v, dict) and v.get("name") in tokens)]
    if not spec["volumes"]:
        del spec["volumes"]
    for list_name in CONTAINER_LISTS:
        for container in spec.get(list_name) or ():
            mounts = container.get("volumeMounts") if isinstance(container, dict) else None
            if isinstance(mounts, list):
                container["volumeMounts"] = [m for m in mounts if dig(m, "name") not in tokens]
                if not container["volumeMounts"]:
                    del container["volumeMounts"]
    yield Why.POD_PLACEMENT, "the service-account token volume"


def _token_source(volume: dict[str, Any]) -> bool:
    """A token Secret (before Kubernetes 1.22), or the projected token of ``kube-api-access-*``."""
    if "projected" in volume:
        return bool(_API_ACCESS_VOLUME.match(str(volume.get("name"))))
    return bool(_TOKEN_SUFFIX.search(str(dig(volume, "secret", "secretName"))))


def job_fields(data: dict[str, Any]) -> Iterator[tuple[Why, str]]:
    """A Job's selector and its Pods' ``controller-uid`` label, which the API server generates
    from the Job's uid and refuses when given one it did not generate."""
    spec = data.get("spec")
    if not isinstance(spec, dict) or spec.get("manualSelector") is True:
        return
    if "selector" in spec:
        del spec["selector"]
        yield Why.JOB_SELECTOR, "spec.selector"
    meta = dig(spec, "template", "metadata")
    labels = dig(meta, "labels")
    if isinstance(labels, dict):
        for key in _JOB_LABELS:
            if key in labels:
                del labels[key]
                yield Why.JOB_SELECTOR, f"spec.template.metadata.labels[{key}]"
        if not labels:
            del meta["labels"]
        if not meta:
            del spec["template"]["metadata"]
