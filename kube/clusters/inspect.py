"""What a registered cluster reports: the one-line summary of ``kube cluster list`` and the
details of ``kube cluster info`` (KQueen's "check": node usage and the running workload).

Every read goes through ``kube.k8s.kubectl``. Credentials are read from the kubeconfig only to
tell their kind and the CA's fingerprint; neither the token nor a key ever leaves this module.
"""

from __future__ import annotations

import os
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from kube.clusters.registry import Cluster
from kube.core.errors import KubeError, NotFoundError
from kube.k8s import releases
from kube.k8s.kubectl import Kubectl

#: Seconds each cluster gets in ``kube cluster list`` before it counts as unreachable.
LIST_TIMEOUT = 5.0
#: Commands run on clusters at once (each a child kube: CPU-bound at first).
MAX_WORKERS = 8
#: Clusters ``kube cluster list`` asks at once: its threads mostly wait on the network.
LIST_WORKERS = 32

T = TypeVar("T")
R = TypeVar("R")


def kubectl_of(cluster: Cluster, *, timeout: float | None = None, namespace: str | None = None) -> Kubectl:
    if timeout is None:
        return Kubectl(context=cluster.context, kubeconfig=cluster.kubeconfig, namespace=namespace)
    return Kubectl(
        context=cluster.context, kubeconfig=cluster.kubeconfig, namespace=namespace, timeout=timeout
    )


def parallel(items: Sequence[T], work: Callable[[T], R], *, workers: int = MAX_WORKERS) -> list[R]:
    """``work`` over ``items`` in a bounded thread pool; results in the order of ``items``."""
    if not items:
        return []
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(items)))) as pool:
        return list(pool.map(work, items))


# -- kubeconfig facts (no network) -------------------------------------------------------------


def _first(doc: Mapping[str, Any], key: str, inner: str) -> dict[str, Any]:
    entries = doc.get(key) or []
    if entries and isinstance(entries[0], dict) and isinstance(entries[0].get(inner), dict):
        return dict(entries[0][inner])
    return {}


def credential_kind(user: Mapping[str, Any]) -> str:
    """token / client certificate / exec plugin (COMMAND) / auth provider (NAME) / basic auth / none."""
    if user.get("exec"):
        command = str((user.get("exec") or {}).get("command") or "?")
        return f"exec plugin ({os.path.basename(command)})"
    if user.get("auth-provider"):
        return f"auth provider ({(user.get('auth-provider') or {}).get('name', '?')})"
    if user.get("client-certificate-data") or user.get("client-certificate"):
        return "client certificate"
    if user.get("token") or user.get("tokenFile"):
        return "token"
    if user.get("username"):
        return "basic auth"
    return "none"


def ca_fingerprint(cluster: Mapping[str, Any]) -> str:
    """SHA-256 of the CA certificate (DER), as ``AB:CD:...``; or why there is none."""
    import base64
    import hashlib
    import ssl

    if cluster.get("insecure-skip-tls-verify"):
        return "none (TLS not verified)"
    pem: str | None = None
    try:
        if cluster.get("certificate-authority-data"):
            pem = base64.b64decode(cluster["certificate-authority-data"]).decode("ascii")
        elif cluster.get("certificate-authority"):
            with open(cluster["certificate-authority"], encoding="ascii") as handle:
                pem = handle.read()
        if pem is None:
            return "none (the system's CAs)"
        der = ssl.PEM_cert_to_DER_cert(pem.strip())
    except (OSError, ValueError, UnicodeError):
        return "unreadable"
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


@dataclass(frozen=True)
class Access:
    endpoint: str
    context: str
    ca_fingerprint: str
    credentials: str


def access(kubectl: Kubectl) -> Access:
    doc = kubectl.kubeconfig_view()
    contexts = doc.get("contexts") or [{}]
    return Access(
        endpoint=str(_first(doc, "clusters", "cluster").get("server", "")),
        context=str((contexts[0] or {}).get("name", "")),
        ca_fingerprint=ca_fingerprint(_first(doc, "clusters", "cluster")),
        credentials=credential_kind(_first(doc, "users", "user")),
    )


# -- the summary of `kube cluster list` --------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    name: str
    endpoint: str
    reachable: bool
    version: str = ""
    nodes_ready: int = 0
    nodes_total: int = 0
    releases: int = 0
    reason: str = ""
    seconds: float = 0.0
    #: Not reachable, yet the API server answered: it refused the credentials (401 or 403).
    answered: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "endpoint": self.endpoint,
            "reachable": self.reachable,
            "version": self.version,
            "nodesReady": self.nodes_ready,
            "nodesTotal": self.nodes_total,
            "releases": self.releases,
            "reason": self.reason,
            "seconds": round(self.seconds, 2),
        }


def node_ready(node: Mapping[str, Any]) -> bool:
    conditions = (node.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


#: What kubectl says when the API server answered and turned the credentials down (401, 403).
_REFUSED = ("(Forbidden)", "(Unauthorized)", "must be logged in to the server")


def summarize(cluster: Cluster, *, timeout: float = LIST_TIMEOUT) -> Summary:
    """One cluster's line; never raises for a cluster that cannot be reached (it says why).
    A kubeconfig file that is not there is a NotFoundError naming it: there is nothing to
    ask, and kubectl's own words for it ("current-context must exist") do not say so."""
    path = os.path.expanduser(cluster.kubeconfig)
    if not os.path.exists(path):
        raise NotFoundError(
            f"kubeconfig {path}: no such file", hint="give the path of an existing file to --kubeconfig"
        )
    began = time.monotonic()
    kubectl = kubectl_of(cluster, timeout=timeout)
    endpoint = ""
    try:
        endpoint = access(kubectl).endpoint
        # The first call to the API server: a dead cluster stops here, after one timeout.
        version = str(kubectl.server_version().get("gitVersion", "?"))
        nodes = kubectl.list_objects("nodes", namespace=None)
        found = releases.list_releases(kubectl)
    except KubeError as exc:
        answered = any(marker in exc.message for marker in _REFUSED)
        at = f" at {endpoint}" if endpoint else ""
        reason = (
            f"the API server{at} answered and refused the credentials: {exc.message}"
            if answered
            else exc.message
        )
        return Summary(
            cluster.name, endpoint, False, reason=reason, seconds=time.monotonic() - began, answered=answered
        )
    return Summary(
        cluster.name,
        endpoint,
        True,
        version=version,
        nodes_ready=sum(1 for n in nodes if node_ready(n)),
        nodes_total=len(nodes),
        releases=len(found),
        seconds=time.monotonic() - began,
    )


def summarize_all(clusters: Sequence[Cluster], *, timeout: float = LIST_TIMEOUT) -> list[Summary]:
    return parallel(clusters, lambda c: _listed(c, timeout), workers=LIST_WORKERS)


def _listed(cluster: Cluster, timeout: float) -> Summary:
    """``summarize``, with a registered kubeconfig that has gone missing as that cluster's row."""
    try:
        return summarize(cluster, timeout=timeout)
    except NotFoundError as exc:
        return Summary(cluster.name, "", False, reason=exc.message)


# -- quantities --------------------------------------------------------------------------------

_SUFFIX = {
    "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": Decimal(1),
    "k": Decimal(10) ** 3, "M": Decimal(10) ** 6, "G": Decimal(10) ** 9, "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15, "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10, "Mi": Decimal(2) ** 20, "Gi": Decimal(2) ** 30, "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50, "Ei": Decimal(2) ** 60,
}  # fmt: skip
_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]?)$")


def quantity(text: object) -> Decimal:
    """A Kubernetes quantity (``250m``, ``64Gi``, ``1e3``) as a number; 0 when it is not one."""
    match = _QUANTITY.match(str(text).strip())
    if not match:
        return Decimal(0)
    try:
        return Decimal(match.group(1)) * _SUFFIX[match.group(2)]
    except InvalidOperation:
        return Decimal(0)


def cpu_text(cores: Decimal) -> str:
    millis = int(cores * 1000)
    return f"{millis // 1000}" if millis % 1000 == 0 else f"{millis}m"


def memory_text(size: Decimal) -> str:
    value = int(size)
    for unit, scale in (("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
        if value >= scale:
            shown = value / scale
            return f"{shown:.1f}{unit}".replace(".0" + unit, unit)
    return str(value)


def pod_requests(pod: Mapping[str, Any]) -> tuple[Decimal, Decimal]:
    """CPU and memory a Pod requests: its containers' sum, or its largest init container if more."""
    spec = pod.get("spec") or {}

    def requests(containers: Iterable[Mapping[str, Any]]) -> list[tuple[Decimal, Decimal]]:
        found = []
        for c in containers:
            asked = (c.get("resources") or {}).get("requests") or {}
            found.append((quantity(asked.get("cpu", 0)), quantity(asked.get("memory", 0))))
        return found

    main = requests(spec.get("containers") or [])
    init = requests(spec.get("initContainers") or [])
    cpu = sum((c for c, _ in main), Decimal(0))
    memory = sum((m for _, m in main), Decimal(0))
    for c, m in init:
        cpu, memory = max(cpu, c), max(memory, m)
    return cpu, memory


# -- the details of `kube cluster info` --------------------------------------------------------


@dataclass(frozen=True)
class NodeUsage:
    name: str
    ready: bool
    capacity_cpu: Decimal
    capacity_memory: Decimal
    allocatable_cpu: Decimal
    allocatable_memory: Decimal
    requested_cpu: Decimal
    requested_memory: Decimal
    pods: int

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "ready": self.ready,
            "capacity": {"cpu": cpu_text(self.capacity_cpu), "memory": memory_text(self.capacity_memory)},
            "allocatable": {
                "cpu": cpu_text(self.allocatable_cpu),
                "memory": memory_text(self.allocatable_memory),
            },
            "requested": {"cpu": cpu_text(self.requested_cpu), "memory": memory_text(self.requested_memory)},
            "requestedBytes": int(self.requested_memory),
            "requestedMillicores": int(self.requested_cpu * 1000),
            "pods": self.pods,
        }


@dataclass(frozen=True)
class ReleaseLine:
    name: str
    namespace: str
    formula: str
    version: str
    revision: int
    status: str


@dataclass(frozen=True)
class Info:
    name: str
    access: Access
    version: str
    platform: str
    nodes: tuple[NodeUsage, ...]
    pods_running: Mapping[str, int]
    releases: tuple[ReleaseLine, ...]
    labels: Mapping[str, str] = field(default_factory=dict)
    provisioner: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "endpoint": self.access.endpoint,
            "context": self.access.context,
            "caFingerprint": self.access.ca_fingerprint,
            "credentials": self.access.credentials,
            "version": self.version,
            "platform": self.platform,
            "labels": dict(self.labels),
            "provisioner": self.provisioner,
            "nodes": [n.to_json() for n in self.nodes],
            "podsRunning": dict(self.pods_running),
            "releases": [
                {
                    "name": r.name,
                    "namespace": r.namespace,
                    "formula": r.formula,
                    "version": r.version,
                    "revision": r.revision,
                    "status": r.status,
                }
                for r in self.releases
            ],
        }


def info(cluster: Cluster, *, timeout: float = 30.0) -> Info:
    """Everything ``kube cluster info`` shows; raises ``ClusterError`` when the cluster cannot be read."""
    kubectl = kubectl_of(cluster, timeout=timeout)
    where = access(kubectl)
    version = kubectl.server_version()
    nodes = kubectl.list_objects("nodes", namespace=None)
    pods = kubectl.list_objects("pods", namespace=None)
    found = releases.list_releases(kubectl)
    requested: dict[str, tuple[Decimal, Decimal]] = {}
    on_node: Counter[str] = Counter()
    running: Counter[str] = Counter()
    for pod in pods:
        phase = (pod.get("status") or {}).get("phase")
        namespace = str((pod.get("metadata") or {}).get("namespace", ""))
        if phase == "Running":
            running[namespace] += 1
        node = (pod.get("spec") or {}).get("nodeName")
        if not node or phase in ("Succeeded", "Failed"):
            continue  # the scheduler counts only Pods that hold their node's resources
        cpu, memory = pod_requests(pod)
        before = requested.get(node, (Decimal(0), Decimal(0)))
        requested[node] = (before[0] + cpu, before[1] + memory)
        on_node[node] += 1
    usage = []
    for node in nodes:
        name = str((node.get("metadata") or {}).get("name", ""))
        status = node.get("status") or {}
        capacity, allocatable = status.get("capacity") or {}, status.get("allocatable") or {}
        cpu, memory = requested.get(name, (Decimal(0), Decimal(0)))
        usage.append(
            NodeUsage(
                name,
                node_ready(node),
                quantity(capacity.get("cpu", 0)),
                quantity(capacity.get("memory", 0)),
                quantity(allocatable.get("cpu", 0)),
                quantity(allocatable.get("memory", 0)),
                cpu,
                memory,
                on_node[name],
            )
        )
    lines = tuple(
        ReleaseLine(
            r.latest.release, r.latest.namespace, r.latest.formula, r.latest.version, r.latest.revision,
            f"{r.latest.status} ({r.latest.outcome})",
        )
        for r in found
        if r.latest is not None
    )  # fmt: skip
    return Info(
        name=cluster.name,
        access=where,
        version=str(version.get("gitVersion", "?")),
        platform=str(version.get("platform", "?")),
        nodes=tuple(usage),
        pods_running=dict(sorted(running.items())),
        releases=lines,
        labels=cluster.labels,
        provisioner=cluster.provisioner,
    )
