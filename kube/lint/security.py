"""Lint rules on what a formula's objects may reach beyond the namespace the user chose.

Formulas come from strangers' pull requests, so reviewers need to see at once
what a formula asks of the cluster: RBAC bindings to the built-in admin roles
and wildcard rules, and Pods that step out of their container onto the node
(hostPath, the node's namespaces, privileged containers, privilege escalation,
capabilities beyond the Kubernetes Pod Security Standards' *baseline*). These
are warnings, so ``kube lint --strict`` (what CI runs) fails on them unless the
formula declares why in ``lint.ignore`` of K3.yaml.

Objects that look like kube's own install records are errors: install refuses
them, since a forged record would make ``kube list`` and ``kube uninstall`` act
on objects kube never installed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from kube.core.findings import Finding
from kube.formula.refusals import RECORD_PREFIXES, record_lookalike
from kube.k8s.objects import (
    CONTAINER_LISTS,
    MANAGED_BY,
    MANAGED_BY_LABEL,
    POD_SPEC_PATHS,
    RESERVED_PREFIX,
    KubeObject,
)
from kube.lint.rules import finding

_WORKLOAD_GROUPS = {"", "apps", "extensions", "batch"}
_HOST_NAMESPACES = {
    "hostNetwork": (
        "the node's network (they can bind and sniff any port of the node)",
        "remove it; reach the Pods through a Service (or a NodePort)",
    ),
    "hostPID": (
        "the node's process table (they can see and signal every process of the node)",
        "remove it; to watch processes, use a sidecar with shareProcessNamespace",
    ),
    "hostIPC": (
        "the node's IPC namespace (the shared memory of every process of the node)",
        "remove it; share memory between containers of the Pod with an emptyDir (medium: Memory)",
    ),
}
# What the Pod Security Standards' baseline profile lets a container add.
BASELINE_CAPABILITIES = frozenset(
    {
        "AUDIT_WRITE",
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "KILL",
        "MKNOD",
        "NET_BIND_SERVICE",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYS_CHROOT",
    }
)
_DANGEROUS = {
    "ALL": "every capability: root on the node in all but name",
    "SYS_ADMIN": "mounts, namespaces and much more: close to root on the node",
    "NET_ADMIN": "it can change the node's network: routes, firewall, interfaces",
    "SYS_PTRACE": "it can read and steer other processes",
    "SYS_MODULE": "it can load kernel modules",
    "NET_RAW": "raw sockets: spoofed packets",
    "DAC_READ_SEARCH": "it can read any file it can reach",
    "BPF": "it can load eBPF programs into the kernel",
}
_RBAC = "rbac.authorization.k8s.io"
_RBAC_WIDE_ROLES = ("admin", "edit")
_NOUNS = {"apiGroups": "API group", "resources": "resource", "verbs": "verb"}


def check(doc: KubeObject) -> Iterator[Finding]:
    """Every security finding of one object (whose identity fields are known to be fine)."""
    yield from _reserved(doc)
    if doc.group == _RBAC:
        yield from _rbac(doc)
    if doc.group in _WORKLOAD_GROUPS and doc.kind in POD_SPEC_PATHS:
        yield from _pod(doc, list(POD_SPEC_PATHS[doc.kind]))
    if (doc.group, doc.kind) == ("", "PersistentVolume"):
        yield from _host_volume(doc)


def _host_volume(doc: KubeObject) -> Iterator[Finding]:
    """A hostPath PersistentVolume hands the node's files to whichever Pod claims it."""
    spec = _get(doc.data, ["spec"])
    if isinstance(spec, dict) and "hostPath" in spec:
        path = _get(spec, ["hostPath", "path"])
        shown = f" `{path}`" if isinstance(path, str) else ""
        yield finding(
            "manifest-hostpath",
            doc.path,
            doc.line_of(["spec", "hostPath"]),
            f"{_label(doc)} is the node's{shown} (hostPath): every Pod that claims it reads and writes there",
        )


def _label(doc: KubeObject) -> str:
    return f"{doc.kind}/{doc.metadata.get('name')}"


def _get(data: Any, path: list[str | int]) -> Any:
    for step in path:
        if isinstance(step, int):
            data = data[step] if isinstance(data, list) and step < len(data) else None
        else:
            data = data.get(step) if isinstance(data, dict) else None
    return data


# -- kube's own records ----------------------------------------------------------------------------


def _reserved(doc: KubeObject) -> Iterator[Finding]:
    found = list(_reserved_fields(doc))
    yield from found
    # Install's own predicate has the last word: whatever it refuses, lint reports, in its words,
    # even where the field checks above have not caught up with it.
    why = record_lookalike(doc)
    if why and not found:
        message = f"{_label(doc)} looks like a kube install record ({why}); only kube writes install records"
        yield finding("manifest-reserved", doc.path, doc.line_of(["metadata", "name"]), message)


def _reserved_fields(doc: KubeObject) -> Iterator[Finding]:
    """Each field that makes ``doc`` look like kube's own, at its line: a superset of what
    install refuses (``record_lookalike``), since any ``kube.sh/`` label is kube's alone."""
    name = str(doc.metadata.get("name", ""))
    secret_type = doc.data.get("type") if (doc.group, doc.kind) == ("", "Secret") else None
    if isinstance(secret_type, str) and secret_type.startswith(RESERVED_PREFIX):
        yield finding(
            "manifest-reserved",
            doc.path,
            doc.line_of(["type"]),
            f"{_label(doc)} has type `{secret_type}`: the kube.sh/ types are kube's own install records",
        )
    if prefix := next((p for p in RECORD_PREFIXES if name.startswith(p)), ""):
        yield finding(
            "manifest-reserved",
            doc.path,
            doc.line_of(["metadata", "name"]),
            f"{_label(doc)}: names starting with `{prefix}` are kube's own install records",
        )
    labels = doc.metadata.get("labels")
    if not isinstance(labels, dict):
        return
    for key, value in labels.items():
        text = str(key)
        if text.startswith(RESERVED_PREFIX):
            shown = f"`{text}`"
        elif text == MANAGED_BY_LABEL and str(value) == MANAGED_BY:
            shown = f"`{text}: kube`"
        else:
            continue
        yield finding(
            "manifest-reserved",
            doc.path,
            doc.line_of(["metadata", "labels", text]),
            f"{_label(doc)} sets the label {shown}: kube sets it on what it installs, never a formula",
        )


# -- RBAC ----------------------------------------------------------------------------------------------


def _rbac(doc: KubeObject) -> Iterator[Finding]:
    if doc.kind in ("RoleBinding", "ClusterRoleBinding"):
        yield from _binding(doc)
    elif doc.kind in ("Role", "ClusterRole"):
        yield from _wildcards(doc)


def _binding(doc: KubeObject) -> Iterator[Finding]:
    ref = _get(doc.data, ["roleRef"])
    if not isinstance(ref, dict) or ref.get("kind") != "ClusterRole":
        return
    role = ref.get("name")
    if role == "cluster-admin":
        scope = (
            "every namespace and the cluster itself" if doc.kind == "ClusterRoleBinding" else "its namespace"
        )
        what = f"full control of {scope}"
    elif role in _RBAC_WIDE_ROLES and doc.kind == "ClusterRoleBinding":
        # Within one namespace (a RoleBinding) admin and edit are the usual roles; cluster-wide
        # they read every Secret and change every workload of every namespace.
        what = "read every Secret and change every workload in every namespace"
    else:
        return
    yield finding(
        "manifest-rbac-admin",
        doc.path,
        doc.line_of(["roleRef", "name"]),
        f"{_label(doc)} binds the ClusterRole `{role}`: its subjects get {what}",
    )


def _wildcards(doc: KubeObject) -> Iterator[Finding]:
    rules = _get(doc.data, ["rules"])
    if not isinstance(rules, list):
        return
    for index, rule in enumerate(rules):
        for field in ("apiGroups", "resources", "verbs"):
            values = _get(rule, [field])
            if not isinstance(values, list) or "*" not in values:
                continue
            at = values.index("*")
            yield finding(
                "manifest-rbac-wildcard",
                doc.path,
                doc.line_of(["rules", index, field, at]),
                f'{_label(doc)}: rules[{index}].{field} has "*": '
                f"every {_NOUNS[field]}, also ones added later",
            )


# -- Pods ----------------------------------------------------------------------------------------------


def _unpinned(image: str) -> str | None:
    """Why ``image`` is not pinned (None when it has a version tag or a digest)."""
    if "@" in image:
        return None  # a digest names exactly one image
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return "has no tag, so it runs whatever `latest` is on the day a node pulls it"
    if last.rsplit(":", 1)[1] == "latest":
        return "runs `latest`, which moves: two nodes can run different code"
    return None


def _image(doc: KubeObject, container: dict[str, Any], path: list[str | int], who: str) -> Iterator[Finding]:
    image = container.get("image")
    if not isinstance(image, str) or not image:
        return
    why = _unpinned(image)
    if why is not None:
        line = doc.line_of([*path, "image"])
        yield finding("manifest-image-tag", doc.path, line, f"{who}: `{image}` {why}")


def _pod(doc: KubeObject, spec_path: list[str | int]) -> Iterator[Finding]:
    spec = _get(doc.data, spec_path)
    if not isinstance(spec, dict):
        return
    label = _label(doc)
    for field, (what, hint) in _HOST_NAMESPACES.items():
        if spec.get(field) is True:
            yield finding(
                "manifest-host-namespace",
                doc.path,
                doc.line_of([*spec_path, field]),
                f"{label} sets {field}: true: its Pods share {what}",
                hint=hint,
            )
    volumes = spec.get("volumes")
    for index, volume in enumerate(volumes if isinstance(volumes, list) else []):
        if isinstance(volume, dict) and "hostPath" in volume:
            path = _get(volume, ["hostPath", "path"])
            shown = f" `{path}`" if isinstance(path, str) else ""
            yield finding(
                "manifest-hostpath",
                doc.path,
                doc.line_of([*spec_path, "volumes", index, "hostPath"]),
                f"{label}: volume `{volume.get('name')}` mounts the node's{shown} (hostPath)",
            )
    for list_name in CONTAINER_LISTS:
        containers = spec.get(list_name)
        for index, container in enumerate(containers if isinstance(containers, list) else []):
            if isinstance(container, dict):
                where: list[str | int] = [*spec_path, list_name, index]
                yield from _container(doc, container, where, f"{label} {list_name}[{index}]")


def _container(
    doc: KubeObject, container: dict[str, Any], path: list[str | int], label: str
) -> Iterator[Finding]:
    name = container.get("name")
    who = f"{label} (`{name}`)" if isinstance(name, str) else label
    yield from _image(doc, container, path, who)
    context = container.get("securityContext")
    if not isinstance(context, dict):
        return
    sc: list[str | int] = [*path, "securityContext"]
    if context.get("privileged") is True:
        yield finding(
            "manifest-privileged",
            doc.path,
            doc.line_of([*sc, "privileged"]),
            f"{who} is privileged: it has every device and capability of the node",
        )
    if context.get("allowPrivilegeEscalation") is True:
        yield finding(
            "manifest-privilege-escalation",
            doc.path,
            doc.line_of([*sc, "allowPrivilegeEscalation"]),
            f"{who} sets allowPrivilegeEscalation: true: setuid programs in it can gain more rights",
        )
    added = _get(context, ["capabilities", "add"])
    for index, capability in enumerate(added if isinstance(added, list) else []):
        cap = str(capability).upper().removeprefix("CAP_")
        if cap in BASELINE_CAPABILITIES:
            continue
        why = _DANGEROUS.get(cap, "beyond what the Pod Security Standards' baseline allows")
        yield finding(
            "manifest-capabilities",
            doc.path,
            doc.line_of([*sc, "capabilities", "add", index]),
            f"{who} adds the capability {cap}: {why}",
        )
