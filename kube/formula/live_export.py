"""What a cluster wrote into the live objects of an export, which ``kube import`` leaves out.

An export of a namespace holds more than anyone wrote: objects a controller made for another
(a Deployment's ReplicaSets and Pods, a Service's Endpoints), objects every namespace gets (the
``default`` ServiceAccount, ``kube-root-ca.crt``), tokens the old cluster issued, Events, and
fields it chose (a Service's address, the volume a claim was bound to, a Job's selector).
Installed into a new namespace of another cluster they fail (AlreadyExists, an address already
allocated) or fight the controllers that own them. ``Export.leave_out`` names the objects
to leave out and ``Export.cleaned`` the fields; a ``Tally`` counts both, one entry per reason.

A field some people write and clusters also fill in (a node port, a storage class) is left out
only when kubectl's last-applied configuration shows nobody wrote it.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from kube.formula.left_out import Tally, Why, marks
from kube.formula.live_fields import (
    BINDING_PREFIX,
    account_fields,
    as_list,
    dig,
    generated_token,
    job_fields,
    pod_fields,
    pop_annotations,
    service_fields,
    token_fields,
    volume_fields,
)
from kube.formula.refusals import record_lookalike
from kube.k8s.objects import (
    FORMULA_LABEL,
    MANAGED_BY,
    MANAGED_BY_LABEL,
    POD_SPEC_PATHS,
    VERSION_LABEL,
    KubeObject,
)
from kube.k8s.release_names import RELEASE_LABEL
from kube.k8s.releases_drift import CONTENT_HASH_ANNOTATION

#: Where workloads keep their Pod spec (a kind the table does not know: a custom resource).
TEMPLATE_POD_SPEC = ("spec", "template", "spec")

_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
#: The label the API server puts on every Namespace: its name.
_NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"

#: What the API server records about every object.
_SERVER_METADATA = (
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
    "ownerReferences",  # they name owners by the old cluster's uids
)
#: Finalizers the API server and its controllers add themselves.
_SYSTEM_FINALIZERS = frozenset(
    {
        "kubernetes.io/pvc-protection",
        "kubernetes.io/pv-protection",
        "service.kubernetes.io/load-balancer-cleanup",
        "foregroundDeletion",
        "orphan",
    }
)
#: Annotations kubectl and controllers write about an object's past.
_HISTORY_ANNOTATIONS = (
    _LAST_APPLIED,
    "deployment.kubernetes.io/revision",
    "deployment.kubernetes.io/desired-replicas",
    "deployment.kubernetes.io/max-replicas",
    "endpoints.kubernetes.io/last-change-trigger-time",
    "autoscaling.alpha.kubernetes.io/conditions",
    "autoscaling.alpha.kubernetes.io/current-metrics",
)
#: What kube install and Helm mark the objects of a release with: they name a release of the old
#: namespace (``kube install`` marks the objects anew).
_INSTALLER_LABELS = (FORMULA_LABEL, VERSION_LABEL, RELEASE_LABEL)
_INSTALLER_ANNOTATIONS = (
    CONTENT_HASH_ANNOTATION,
    "meta.helm.sh/release-name",
    "meta.helm.sh/release-namespace",
)
_INSTALLERS = (MANAGED_BY, "Helm")
_HELM_RECORD_TYPE = "helm.sh/release.v1"
_SA_NAME = "kubernetes.io/service-account.name"
_TOKEN_TYPE = "kubernetes.io/service-account-token"  # noqa: S105  (a Secret type, not a secret)


def _is_core(obj: KubeObject, *kinds: str) -> bool:
    return obj.group == "" and obj.kind in kinds


def _controlled(obj: KubeObject) -> bool:
    """Whether a controller made ``obj`` for its owner (and makes it again for a new one)."""
    return any(dig(ref, "controller") is True for ref in as_list(obj.metadata.get("ownerReferences")))


def _generated(secret: KubeObject, listed: bool) -> bool:
    """Whether ``secret`` is a token the cluster made for a ServiceAccount by itself (before
    Kubernetes 1.24), not one a person asked for: a Secret naming only its ServiceAccount, which
    the token controller fills in. Either has a token once filled; a made one is listed by its
    ServiceAccount or named for it."""
    if secret.data.get("type") != _TOKEN_TYPE or not dig(secret.data, "data", "token"):
        return False
    return listed or generated_token(secret.name, secret.annotations.get(_SA_NAME))


@dataclass(frozen=True)
class Export:
    """What the objects of one import say about each other."""

    generated_tokens: frozenset[tuple[str, str]]  # (namespace, Secret) the token controller made
    selector_services: frozenset[tuple[str, str]]  # (namespace, Service) the cluster keeps Endpoints of
    claim_templates: frozenset[tuple[str, str]]  # (namespace, "<template>-<StatefulSet>-")

    @classmethod
    def of(cls, objects: Sequence[KubeObject]) -> Export:
        listed: set[tuple[str, str]] = set()
        services: set[tuple[str, str]] = set()
        claims: set[tuple[str, str]] = set()
        for obj in objects:
            namespace = obj.namespace or ""
            if _is_core(obj, "ServiceAccount"):
                listed.update(
                    (namespace, str(dig(item, "name"))) for item in as_list(obj.data.get("secrets"))
                )
            elif _is_core(obj, "Service") and dig(obj.data, "spec", "selector"):
                services.add((namespace, obj.name))
            elif obj.group == "apps" and obj.kind == "StatefulSet":
                for template in as_list(dig(obj.data, "spec", "volumeClaimTemplates")):
                    claim = dig(template, "metadata", "name")
                    if isinstance(claim, str):
                        claims.add((namespace, f"{claim}-{obj.name}-"))
        tokens = {
            (obj.namespace or "", obj.name)
            for obj in objects
            if _is_core(obj, "Secret") and _generated(obj, (obj.namespace or "", obj.name) in listed)
        }
        return cls(frozenset(tokens), frozenset(services), frozenset(claims))

    def leave_out(self, obj: KubeObject, tally: Tally) -> bool:
        """Whether ``obj`` is the cluster's to make, or a Helm test; counted in ``tally`` when it
        is. A Helm hook of another kind stays, with a line for the author to decide on."""
        hooks = _helm_hooks(obj)
        helm_test = bool(hooks) and all(h.startswith("test") for h in hooks)  # "test", "test-success"
        why = Why.HELM_TEST if helm_test else self.made_by_cluster(obj)
        if why is None:
            if hooks:
                tally.to_decide.append(
                    f"{obj.display} is a Helm {', '.join(hooks)} hook: kube runs no Helm hooks, and "
                    "creates it once, with the other objects; keep it, or do its work in "
                    "scripts/pre-install.py"
                )
            return False
        tally.leave_out(why, obj.display)
        own = [key for key in ("imagePullSecrets", "automountServiceAccountToken") if key in obj.data]
        if why is Why.NAMESPACE_DEFAULT and obj.kind == "ServiceAccount" and own:
            tally.to_decide.append(
                f"{obj.display} was left out with its {' and '.join(own)}: set them on the install "
                "namespace's own (kubectl patch serviceaccount default), or give the formula a "
                "ServiceAccount of its own"
            )
        return True

    def made_by_cluster(self, obj: KubeObject) -> Why | None:
        """Why ``obj`` is the cluster's to make, not the formula's; None when it is the formula's."""
        namespace = obj.namespace or ""
        if obj.kind == "Event" and obj.group in ("", "events.k8s.io"):
            return Why.EVENT
        if _is_core(obj, "Endpoints") and (namespace, obj.name) in self.selector_services:
            return Why.ENDPOINTS
        managed_by = dig(obj.metadata, "labels", "endpointslice.kubernetes.io/managed-by")
        if obj.kind == "EndpointSlice" and str(managed_by).endswith(".k8s.io"):
            return Why.ENDPOINTS
        if _controlled(obj):
            return Why.CONTROLLED
        if (_is_core(obj, "ServiceAccount") and obj.name == "default") or (
            _is_core(obj, "ConfigMap") and obj.name == "kube-root-ca.crt"
        ):
            return Why.NAMESPACE_DEFAULT
        if _is_core(obj, "Secret") and (namespace, obj.name) in self.generated_tokens:
            return Why.TOKEN
        if record_lookalike(obj) or _helm_record(obj):
            return Why.INSTALL_RECORD
        if _is_core(obj, "PersistentVolume") and BINDING_PREFIX + "provisioned-by" in obj.annotations:
            return Why.PROVISIONED
        if _is_core(obj, "PersistentVolumeClaim") and any(
            ns == namespace and obj.name.startswith(prefix) and obj.name[len(prefix) :].isdigit()
            for ns, prefix in self.claim_templates
        ):
            return Why.CONTROLLED  # the StatefulSet's claim for one of its Pods
        return None

    def cleaned(self, obj: KubeObject, tally: Tally) -> dict[str, Any]:
        """``obj``'s data without what the cluster wrote into it; what went is counted in ``tally``."""
        data = copy.deepcopy(obj.data)
        applied = _last_applied(obj)
        live = _is_live(obj)
        display = obj.display
        tally.left_fields(Why.SERVER_RECORD, display, _server_record(data, obj.kind))
        tally.left_fields(Why.HISTORY, display, pop_annotations(data, _HISTORY_ANNOTATIONS))
        tally.left_fields(Why.INSTALLER_MARKS, display, _installer_marks(data))
        found: Iterator[tuple[Why, str]] = iter(())
        if _is_core(obj, "Service"):
            found = service_fields(data, applied, live, display, tally)
        elif _is_core(obj, "PersistentVolumeClaim", "PersistentVolume"):
            found = volume_fields(data, obj, applied)
        elif _is_core(obj, "ServiceAccount"):
            found = account_fields(data, obj.name, self.generated_tokens, obj.namespace or "")
        elif _is_core(obj, "Secret") and data.get("type") == _TOKEN_TYPE:
            found = token_fields(data)
        elif _is_core(obj, "Pod"):
            found = pod_fields(data, applied, live)
        elif obj.group == "batch" and obj.kind == "Job":
            found = job_fields(data)
        for why, name in list(found):
            tally.left_fields(why, display, [name])
        return data

    def namespace_marks(self, obj: KubeObject) -> list[str]:
        """The labels and annotations of a Namespace left out that someone wrote, as
        ``Left.fields`` names them (``labels.pod-security.kubernetes.io/enforce=privileged``):
        not what the cluster, kubectl or an installer wrote on it."""
        meta = self.cleaned(obj, Tally()).get("metadata")
        labels, annotations = (_strings(dig(meta, part)) for part in ("labels", "annotations"))
        labels.pop(_NAMESPACE_NAME_LABEL, None)
        return marks(labels, annotations)


def _strings(mapping: Any) -> dict[str, str]:
    """A label or annotation map as text (a null value is the empty string the API stores)."""
    if not isinstance(mapping, dict):
        return {}
    return {str(k): "" if v is None else str(v) for k, v in mapping.items()}


def _helm_hooks(obj: KubeObject) -> list[str]:
    """The Helm hooks ``obj`` is (``helm.sh/hook: pre-install,pre-upgrade``), as rendered by
    ``helm template``; empty when it is an ordinary object of the chart."""
    text = obj.annotations.get("helm.sh/hook")
    return [h.strip() for h in text.split(",") if h.strip()] if isinstance(text, str) else []


def _helm_record(obj: KubeObject) -> bool:
    """Whether ``obj`` is Helm's record of a release revision (its Secret or ConfigMap driver)."""
    if _is_core(obj, "Secret"):
        return obj.data.get("type") == _HELM_RECORD_TYPE
    owner = dig(obj.metadata, "labels", "owner")
    return _is_core(obj, "ConfigMap") and owner == "helm" and obj.name.startswith("sh.helm.release.v1.")


def _installer_marks(data: dict[str, Any]) -> Iterator[str]:
    yield from pop_annotations(data, _INSTALLER_ANNOTATIONS)
    labels = dig(data, "metadata", "labels")
    if not isinstance(labels, dict):
        return
    for key in _INSTALLER_LABELS:
        if key in labels:
            del labels[key]
            yield key
    if labels.get(MANAGED_BY_LABEL) in _INSTALLERS:
        del labels[MANAGED_BY_LABEL]
        yield MANAGED_BY_LABEL
    if not labels:
        del data["metadata"]["labels"]


def _is_live(obj: KubeObject) -> bool:
    """Whether ``obj`` was read back from a cluster (an export), not written by a person."""
    meta = obj.metadata
    return any(meta.get(key) for key in ("uid", "resourceVersion", "managedFields", "creationTimestamp"))


def _last_applied(obj: KubeObject) -> dict[str, Any] | None:
    """What ``kubectl apply`` was given for ``obj``: the evidence of which fields a person wrote."""
    text = obj.annotations.get(_LAST_APPLIED)
    try:
        applied = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return None
    return applied if isinstance(applied, dict) else None


def _server_record(data: dict[str, Any], kind: str) -> Iterator[str]:
    if "status" in data:
        del data["status"]
        yield "status"
    meta = data.get("metadata")
    if isinstance(meta, dict):
        for key in _SERVER_METADATA:
            if key in meta:
                del meta[key]
                yield key
        finalizers = meta.get("finalizers")
        if isinstance(finalizers, list) and any(f in _SYSTEM_FINALIZERS for f in finalizers):
            meta["finalizers"] = [f for f in finalizers if f not in _SYSTEM_FINALIZERS]
            if not meta["finalizers"]:
                del meta["finalizers"]
            yield "finalizers"
    # kubectl writes `creationTimestamp: null` into every template it exports.
    templates = [dig(data, *POD_SPEC_PATHS.get(kind, TEMPLATE_POD_SPEC)[:-1], "metadata")]
    for claim in as_list(dig(data, "spec", "volumeClaimTemplates")):
        if isinstance(claim, dict) and claim.pop("status", None) is not None:
            yield "status"
        templates.append(dig(claim, "metadata"))
    for meta in templates:
        if isinstance(meta, dict) and "creationTimestamp" in meta and meta["creationTimestamp"] is None:
            del meta["creationTimestamp"]
            yield "creationTimestamp"
