"""Objects of API versions the cluster does not serve, refused before anything is created.

kubectl creates a wave's objects one after another and says ``no matches for kind`` only when it
reaches one whose group/version the API server lacks (a CRD not installed, ``policy/v1`` on a
1.20 server): the objects before it exist by then, cluster-scoped ones included, and the release
is ``partial``. Helm builds every object against the server's discovery before it creates any;
kube does the same for group/versions, which is where a missing CRD or a too-new (or removed)
API shows: each object's ``apiVersion`` must be served, or defined by a
CustomResourceDefinition of the same release.

The group/versions this cluster served last time are kept (``kube.k8s.type_cache``): when every
object's is among them, nothing is asked. Otherwise the server's own list is read (``kubectl get
--raw /apis``, ``kube.k8s.capabilities``) and kept, and what it lacks stops the install. A hint
can only spare a read, never refuse: a stale one that names a version the server dropped since
leaves the object to kubectl, as before.

A few built-in kinds came to a group/version later than the group/version itself (``batch/v1``
served Jobs from 1.2, CronJobs only from 1.21; ``networking.k8s.io/v1`` NetworkPolicies from 1.7,
Ingresses from 1.19): for an object of one of those, the server's own list of that
group/version's kinds is read too (``kubectl get --raw /apis/batch/v1``, one read each, kept
like the rest), and a kind it lacks stops the install the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from kube.core.errors import ClusterError
from kube.k8s.kubectl import Kubectl
from kube.k8s.objects import KubeObject

_CRD = ("apiextensions.k8s.io", "CustomResourceDefinition")
_SHOWN = 3


def refuse_unserved(kubectl: Kubectl, objects: Sequence[KubeObject], *, untouched: str = "created") -> None:
    """Raise ``ClusterError`` (exit 8) naming the objects whose group/version the cluster does
    not serve, and that nothing was ``untouched`` (created, changed); see the module docstring.
    An unreachable cluster is left to the create to report."""
    from kube.k8s import capabilities, type_cache

    defined = _defined_by_crds(o.data for o in objects if (o.group, o.kind) == _CRD)
    # What every Kubernetes kube knows serves (v1, apps/v1...) needs no asking.
    always = {
        gv
        for gv, (since, until) in capabilities.SERVED.items()
        if since <= capabilities.OLDEST_MINOR and until is None
    }
    needed = {o.api_version for o in objects} - defined - always
    later = [o for o in objects if (o.api_version, o.kind) in LATER_KINDS]
    if later:
        _refuse_unserved_kinds(kubectl, later, untouched)
    if needed <= set(type_cache.hinted(kubectl, type_cache.GROUP_VERSIONS)):
        return
    try:
        served = capabilities.read(kubectl).api_versions
    except ClusterError:
        return
    type_cache.remember(kubectl, sorted(served), type_cache.GROUP_VERSIONS)
    missing = [o for o in objects if o.api_version in needed and o.api_version not in served]
    if missing:
        raise ClusterError(f"{_message(missing)}: nothing was {untouched}", hint=_hint(missing, served))


#: Built-in kinds a group/version served only from a later Kubernetes minor than the group/version
#: itself (the minor in the comment): asked of the server by kind (see the module docstring).
LATER_KINDS = frozenset({
    ("batch/v1", "CronJob"),  # 1.21 (batch/v1beta1 before)
    ("networking.k8s.io/v1", "Ingress"),  # 1.19 (networking.k8s.io/v1beta1, extensions/v1beta1)
    ("networking.k8s.io/v1", "IngressClass"),  # 1.19
    ("storage.k8s.io/v1", "CSIDriver"),  # 1.18
    ("storage.k8s.io/v1", "CSINode"),  # 1.17
    ("storage.k8s.io/v1", "CSIStorageCapacity"),  # 1.24
})  # fmt: skip


def _refuse_unserved_kinds(kubectl: Kubectl, objects: Sequence[KubeObject], untouched: str) -> None:
    """Raise ``ClusterError`` for the objects of ``LATER_KINDS`` whose group/version the server
    serves without their kind; an answer that cannot be read leaves them to kubectl."""
    from kube.k8s import type_cache

    missing: list[KubeObject] = []
    for version in sorted({o.api_version for o in objects}):
        what = type_cache.GROUP_VERSIONS + "-kinds-" + version.replace("/", "-")
        kinds = set(type_cache.hinted(kubectl, what))
        wanted = {o.kind for o in objects if o.api_version == version}
        if not wanted <= kinds:
            fresh = _kinds_served(kubectl, version)
            if fresh is None:
                continue
            type_cache.remember(kubectl, sorted(fresh), what)
            kinds = fresh
        missing += [o for o in objects if o.api_version == version and o.kind not in kinds]
    if missing:
        by_kind = "; ".join(
            f"{o.kind} in {o.api_version} ({o.display} at {o.source})" for o in missing[:_SHOWN]
        )
        more = f" and {len(missing) - _SHOWN} more" if len(missing) > _SHOWN else ""
        raise ClusterError(
            f"the cluster serves no {by_kind}{more}: nothing was {untouched}",
            hint="the cluster is older than the manifest: use the apiVersion it serves for that kind "
            "(`kubectl api-resources` lists them; `kube lint --cluster` checks a formula against it), "
            "then install again",
        )


def _kinds_served(kubectl: Kubectl, version: str) -> set[str] | None:
    """The kinds the server lists in ``version`` (``batch/v1``); None when it cannot be read
    (an unserved group/version is the group/version check's to report)."""
    from kube.k8s import capabilities

    try:
        listed = capabilities.read_raw(kubectl, f"/apis/{version}")
    except ClusterError:
        return None
    resources = listed.get("resources") if isinstance(listed, dict) else None
    if not isinstance(resources, list):
        return None
    return {
        str(r["kind"])
        for r in resources
        if isinstance(r, dict) and "/" not in str(r.get("name", "")) and "kind" in r
    }


def _defined_by_crds(crds: Iterable[Mapping[str, Any]]) -> set[str]:
    """The group/versions the CustomResourceDefinitions ``crds`` serve once created."""
    found = set()
    for crd in crds:
        spec = crd.get("spec")
        if not isinstance(spec, Mapping) or not isinstance(group := spec.get("group"), str):
            continue
        versions = spec.get("versions")
        listed = versions if isinstance(versions, list) else []
        names = [v.get("name") for v in listed if isinstance(v, Mapping) and v.get("served", True)]
        legacy = spec.get("version")  # apiextensions.k8s.io/v1beta1's single version
        found |= {f"{group}/{n}" for n in [*names, legacy] if isinstance(n, str) and n}
    return found


def _message(missing: Sequence[KubeObject]) -> str:
    by_version: dict[str, list[KubeObject]] = {}
    for obj in missing:
        by_version.setdefault(obj.api_version, []).append(obj)
    parts = []
    for version, objs in by_version.items():
        shown = ", ".join(f"{o.display} at {o.source}" for o in objs[:_SHOWN])
        more = f" and {len(objs) - _SHOWN} more" if len(objs) > _SHOWN else ""
        parts.append(f"{version} ({shown}{more})")
    return f"the cluster serves no {'; no '.join(parts)}"


def _hint(missing: Sequence[KubeObject], served: Iterable[str]) -> str:
    """Name the versions the cluster serves of the same group (an old or new server), else the CRD."""
    versions = sorted(served)
    others = {}
    for obj in missing:
        group = obj.group
        same = [v for v in versions if v.rpartition("/")[0] == group and v != obj.api_version]
        if same:
            others[group or "core"] = same
    fix = "install the kube or CustomResourceDefinition that defines it first"
    if others:
        serves = "; ".join(f"{', '.join(v)}" for v in others.values())
        fix = f"the cluster serves {serves}: change the apiVersion to one it serves, or {fix}"
    return f"{fix}, then install again (`kube lint --cluster` checks a formula against the cluster)"
