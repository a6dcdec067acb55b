"""Kubernetes objects, the one model: identity, scope, install order (waves) and kube's labels.

``KubeObject`` is an object as read from a formula (by ``kube.formula.manifests``, for install
and lint alike), with where it came from; ``ObjectRef`` is the light reference that install
records, kubectl calls and statuses use. kube's own label and annotation names are defined here
and nowhere else.

Waves. ``kubectl create -f`` with several objects creates them one after the
other in the order given, so ordering by kind inside one call is enough for
most formulas and each wave costs one kubectl process. A new wave starts only
where one call cannot work:

* custom resources whose CustomResourceDefinition is in the same formula go
  one wave after it (kubectl maps every kind before creating anything, and
  the CRD must be established first);
* an object with a ``config.kubernetes.io/depends-on`` annotation goes in a
  later wave than each object it names.

Namespaces need no wave of their own: they are created first in the first
wave, before anything that lives in them. Admission webhooks and APIServices
are moved to the last wave, so they cannot intercept the formula's own objects
before the service behind them runs.

depends-on uses the kpt / cli-utils format, references separated by commas:
``<group>/namespaces/<namespace>/<kind>/<name>`` for a namespaced object,
``<group>/<kind>/<name>`` for a cluster-scoped one; the core group is empty
(``/namespaces/db/Service/pg``, ``/Namespace/db``). A formula rarely knows
its install namespace, so the short form also names a namespaced object of
the same formula in the same namespace as the annotated object. Every
reference must name an object of the formula; cycles are errors.

Labels. Only the object's own ``metadata.labels`` are set, never pod
templates (that would change selectors of existing workloads). Label values
allow ``[A-Za-z0-9._-]``, at most 63 characters, so other characters of a
version (SemVer build metadata's ``+``) become ``_``: ``1.0.0+b.7`` is
labelled ``1.0.0_b.7``. The install record keeps the exact version.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from kube.core.errors import FormulaError
from kube.core.findings import Finding

LABEL_PREFIX = "kube.sh"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "kube"
MANAGED_BY_LABELS = {MANAGED_BY_LABEL: MANAGED_BY}
FORMULA_LABEL = f"{LABEL_PREFIX}/formula"
VERSION_LABEL = f"{LABEL_PREFIX}/version"
DEPENDS_ON = "config.kubernetes.io/depends-on"
# kube's own names: on the install namespace it made, on objects users mark, and its records.
CREATED_FOR_ANNOTATION = f"{LABEL_PREFIX}/created-for"
KEEP_ANNOTATION = f"{LABEL_PREFIX}/resource-policy"
#: The releases that share a cluster-scoped object (``kube.install.shared``), comma separated.
SHARED_BY = f"{LABEL_PREFIX}/shared-by"
RESERVED_PREFIX = f"{LABEL_PREFIX}/"  # Secret types and labels only kube writes
RECORD_NAME_PREFIX = "kube.install."

#: Where each pod-bearing kind keeps its Pod spec (lint's security rules, kube import's images).
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "PodTemplate": ("template", "spec"),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
#: The lists of containers a Pod spec holds.
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")

_CLUSTER_SCOPED: dict[str, frozenset[str]] = {
    "": frozenset({"Namespace", "Node", "PersistentVolume", "ComponentStatus"}),
    "apiextensions.k8s.io": frozenset({"CustomResourceDefinition"}),
    "apiregistration.k8s.io": frozenset({"APIService"}),
    "admissionregistration.k8s.io": frozenset(
        {
            "MutatingWebhookConfiguration",
            "ValidatingWebhookConfiguration",
            "ValidatingAdmissionPolicy",
            "ValidatingAdmissionPolicyBinding",
            "MutatingAdmissionPolicy",
            "MutatingAdmissionPolicyBinding",
        }
    ),
    "rbac.authorization.k8s.io": frozenset({"ClusterRole", "ClusterRoleBinding"}),
    "storage.k8s.io": frozenset({"StorageClass", "CSIDriver", "CSINode", "VolumeAttachment"}),
    "scheduling.k8s.io": frozenset({"PriorityClass"}),
    "node.k8s.io": frozenset({"RuntimeClass"}),
    "networking.k8s.io": frozenset({"IngressClass", "IPAddress", "ServiceCIDR"}),
    "certificates.k8s.io": frozenset({"CertificateSigningRequest", "ClusterTrustBundle"}),
    "flowcontrol.apiserver.k8s.io": frozenset({"FlowSchema", "PriorityLevelConfiguration"}),
    "resource.k8s.io": frozenset({"DeviceClass", "ResourceSlice"}),
    "policy": frozenset({"PodSecurityPolicy"}),
    "authentication.k8s.io": frozenset({"TokenReview", "SelfSubjectReview"}),
    "authorization.k8s.io": frozenset(
        {"SubjectAccessReview", "SelfSubjectAccessReview", "SelfSubjectRulesReview"}
    ),
    "storagemigration.k8s.io": frozenset({"StorageVersionMigration"}),
}

BUILTIN_GROUPS = frozenset(
    {
        *_CLUSTER_SCOPED,
        "apps",
        "batch",
        "autoscaling",
        "coordination.k8s.io",
        "discovery.k8s.io",
        "events.k8s.io",
        "internal.apiserver.k8s.io",
        "extensions",
    }
)

# Install order by (group, kind); anything built in and not listed comes after these.
_ORDER: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("", ("Namespace",)),
    ("apiextensions.k8s.io", ("CustomResourceDefinition",)),
    ("scheduling.k8s.io", ("PriorityClass",)),
    ("node.k8s.io", ("RuntimeClass",)),
    ("", ("ResourceQuota", "LimitRange")),
    ("networking.k8s.io", ("NetworkPolicy",)),
    ("", ("ServiceAccount",)),
    ("rbac.authorization.k8s.io", ("ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding")),
    ("", ("Secret", "ConfigMap")),
    ("storage.k8s.io", ("StorageClass",)),
    ("", ("PersistentVolume", "PersistentVolumeClaim")),
    ("", ("Service",)),
    ("apps", ("DaemonSet", "ReplicaSet", "Deployment", "StatefulSet")),
    ("", ("Pod", "ReplicationController")),
    ("batch", ("Job", "CronJob")),
)
_RANK: dict[tuple[str, str], int] = {
    (group, kind): rank for rank, (group, kinds) in enumerate(_ORDER) for kind in kinds
}
_RANK_REST = len(_ORDER)
_RANK_CUSTOM = _RANK_REST + 1
_RANK_LAST = _RANK_REST + 2
_LAST_KINDS = frozenset(
    {
        ("apiregistration.k8s.io", "APIService"),
        ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
        ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
    }
)

_LABEL_VALUE_BAD = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True, order=True)
class ObjectRef:
    """Identity of one object in a cluster; ``namespace`` is "" for cluster-scoped objects.

    The light half of the object model: what records list, kubectl is asked about and
    statuses name. ``KubeObject.key`` is the object's ref as written (no install namespace).
    """

    group: str
    version: str
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.group}/{self.kind}/{self.namespace}/{self.name}"

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def display(self) -> str:
        return f"{self.kind}/{self.name}"

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> ObjectRef:
        group, _, version = str(data.get("apiVersion", "")).rpartition("/")
        meta = data.get("metadata")
        meta = meta if isinstance(meta, Mapping) else {}
        return cls(
            group,
            version,
            str(data.get("kind", "")),
            str(meta.get("namespace") or ""),
            str(meta.get("name", "")),
        )

    def stub(self) -> dict[str, Any]:
        """The least kubectl needs to find the object (for get / delete -f -)."""
        meta = {"name": self.name, "namespace": self.namespace} if self.namespace else {"name": self.name}
        return {"apiVersion": self.api_version, "kind": self.kind, "metadata": meta}

    def same_object(self, other: ObjectRef) -> bool:
        """Same group, kind and name; namespaces compared only when both are known."""
        if (self.group, self.kind, self.name) != (other.group, other.kind, other.name):
            return False
        return not (self.namespace and other.namespace and self.namespace != other.namespace)


@dataclass(frozen=True)
class KubeObject:
    """One Kubernetes object and where it came from (``manifests/x.yaml:3``).

    ``data`` is plain JSON-compatible data; treat it as read-only (``apply_labels``
    returns a new object). ``line`` is the document's line in the text it was read from
    (for template output, the rendered line; ``source`` then names the template alone).
    Objects read for lint keep their YAML ``node``, so ``line_of`` finds a field's line,
    and template output its ``remap`` (rendered line -> template line).
    """

    data: dict[str, Any] = field(hash=False)
    source: str
    line: int = field(default=0, compare=False)
    node: Any = field(default=None, compare=False, hash=False, repr=False)
    remap: Mapping[int, int] | None = field(default=None, compare=False, hash=False, repr=False)

    @property
    def api_version(self) -> str:
        return str(self.data.get("apiVersion", ""))

    @property
    def group(self) -> str:
        """API group: ``apps`` for ``apps/v1``, ``""`` for the core ``v1``."""
        group, _, _ = self.api_version.rpartition("/")
        return group

    @property
    def kind(self) -> str:
        return str(self.data.get("kind", ""))

    @property
    def metadata(self) -> dict[str, Any]:
        meta = self.data.get("metadata")
        return meta if isinstance(meta, dict) else {}

    @property
    def name(self) -> str:
        return str(self.metadata.get("name", ""))

    @property
    def namespace(self) -> str | None:
        """``metadata.namespace`` as written; None when unset or the kind is a
        built-in cluster-scoped one (the API server ignores it there)."""
        namespace = self.metadata.get("namespace")
        if not isinstance(namespace, str) or not namespace or is_cluster_scoped(self.group, self.kind):
            return None
        return namespace

    @property
    def key(self) -> ObjectRef:
        """The object's identity as written: no namespace when it sets none."""
        version = self.api_version.rpartition("/")[2]
        return ObjectRef(self.group, version, self.kind, self.namespace or "", self.name)

    @property
    def annotations(self) -> dict[str, Any]:
        annotations = self.metadata.get("annotations")
        return annotations if isinstance(annotations, dict) else {}

    @property
    def display(self) -> str:
        """``Deployment/web`` — how messages name the object."""
        return f"{self.kind}/{self.name}"

    @property
    def path(self) -> str:
        """The file the object was read from (``source`` without its line)."""
        return split_source(self.source)[0]

    @property
    def rendered(self) -> bool:
        """Read from a template's output (lint; install's template objects carry no remap)."""
        return self.remap is not None

    def line_of(self, path: Sequence[str | int] = ()) -> int:
        """The line of the deepest existing field along ``path`` (the document's line otherwise);
        for template output, the template line that wrote it, or 0 when that cannot be told."""
        line, node = self.line, self.node
        for step in path:
            if node is None:
                break
            try:
                found = node[step]
                line = _position(node, step) or line
            except (KeyError, IndexError, TypeError, AttributeError):
                break
            node = found
        if self.remap is None:
            return line
        return self.remap.get(line) or self.remap.get(self.line) or 0


def _position(node: Any, key: str | int) -> int:
    """1-based line of ``key`` in a YAML node with positions (ruamel's ``lc``); 0 when unknown."""
    lc: Any = getattr(node, "lc", None)
    try:
        if isinstance(key, int) and isinstance(node, list):
            return int(lc.item(key)[0]) + 1
        return int(lc.key(key)[0]) + 1
    except (AttributeError, KeyError, IndexError, TypeError):
        return 0


def is_cluster_scoped(group: str, kind: str) -> bool:
    """True for the built-in cluster-scoped kinds; custom kinds are not known here."""
    return kind in _CLUSTER_SCOPED.get(group, frozenset())


class Scopes:
    """Which kinds of a formula live in a namespace, looked up in constant time.

    Built once per formula: the CRDs among its objects decide the scope of their custom
    kinds (the first CRD of a kind wins). Asking each object's scope by scanning every
    object for CRDs made an install of n objects take n² steps.
    """

    def __init__(self, objs: Sequence[KubeObject] = ()) -> None:
        self.custom: dict[tuple[str, str], bool] = {}
        for crd in _crds(objs):
            spec = crd.data.get("spec")
            scope = spec.get("scope") if isinstance(spec, dict) else None
            self.custom.setdefault(_crd_group_kind(crd), scope != "Cluster")

    def namespaced(self, obj: KubeObject) -> bool:
        if is_cluster_scoped(obj.group, obj.kind):
            return False
        return self.custom.get((obj.group, obj.kind), True)

    def crd_kinds(self) -> set[tuple[str, str]]:
        return set(self.custom)


def is_namespaced(obj: KubeObject, among: Sequence[KubeObject] | Scopes = ()) -> bool:
    """Whether ``obj`` lives in a namespace. Custom resources use the scope of a
    CRD in ``among`` (objects, or their ``Scopes``); unknown custom kinds are assumed namespaced."""
    scopes = among if isinstance(among, Scopes) else Scopes(among)
    return scopes.namespaced(obj)


def rank(obj: KubeObject) -> int:
    """Position of the object's kind in the install order (lower is earlier)."""
    group_kind = (obj.group, obj.kind)
    if group_kind in _LAST_KINDS:
        return _RANK_LAST
    if group_kind in _RANK:
        return _RANK[group_kind]
    return _RANK_REST if obj.group in BUILTIN_GROUPS else _RANK_CUSTOM


def order_waves(
    objs: Sequence[KubeObject], *, namespace: str | None = None, scopes: Scopes | None = None
) -> list[list[KubeObject]]:
    """Group ``objs`` into waves: each wave is one ``kubectl create`` call, in kind order.

    ``namespace`` is the install namespace, used to match depends-on references
    to objects that do not set ``metadata.namespace``. Linear in the number of
    objects and references, and iterative: a chain of thousands of depends-on
    references is no deeper for Python than a single one.
    """
    scopes = scopes or Scopes(objs)
    deps = dependencies(objs, namespace=namespace, scopes=scopes)
    crd_kinds = scopes.crd_kinds()
    base = [1 if (o.group, o.kind) in crd_kinds else 0 for o in objs]
    wave = _levels(objs, deps, base)
    last = max(wave, default=0)
    depended_on = {d for ds in deps for d in ds}
    for i, obj in enumerate(objs):
        if rank(obj) == _RANK_LAST and i not in depended_on:
            wave[i] = last
    by_level: dict[int, list[int]] = {}
    for i, level in enumerate(wave):
        by_level.setdefault(level, []).append(i)
    return [
        [objs[i] for i in sorted(members, key=lambda i: (rank(objs[i]), i))]
        for _, members in sorted(by_level.items())
    ]


def _levels(objs: Sequence[KubeObject], deps: list[set[int]], base: list[int]) -> list[int]:
    """Each object's wave: one past the latest of what it depends on (depth first, with an
    explicit stack); a cycle is an error naming its chain."""
    done: list[int | None] = [None] * len(objs)
    on_path: dict[int, int] = {}  # object -> its position on the current path
    for start in range(len(objs)):
        if done[start] is not None:
            continue
        path = [start]
        on_path[start] = 0
        pending = [iter(sorted(deps[start]))]
        while path:
            current = path[-1]
            step = next(pending[-1], None)
            if step is None:
                level = base[current]
                for d in deps[current]:
                    level = max(level, (done[d] or 0) + 1)
                done[current] = level
                path.pop()
                pending.pop()
                del on_path[current]
                continue
            if done[step] is not None:
                continue
            if step in on_path:
                cycle = [*path[on_path[step] :], step]
                chain = " -> ".join(objs[j].display for j in cycle)
                raise _error(objs[step], "depends-on-cycle", f"{DEPENDS_ON} cycle: {chain}")
            on_path[step] = len(path)
            path.append(step)
            pending.append(iter(sorted(deps[step])))
    return [level or 0 for level in done]


def parse_depends_on(text: str) -> list[tuple[str, str | None, str, str]]:
    """``config.kubernetes.io/depends-on`` → [(group, namespace or None, kind, name)].

    The syntax and error messages of cli-utils (pkg/object/dependson), which kpt uses: references
    separated by commas, each trimmed; 3 fields (cluster-scoped, or kube's short form) or 5 with
    ``namespaces`` second. cli-utils only refuses an empty kind or name when it writes one;
    kube refuses it when reading, since such a reference can name nothing."""
    refs: list[tuple[str, str | None, str, str]] = []
    for index, item in enumerate(text.split(",")):
        item = item.strip()
        fields = item.split("/")
        where = f"failed to parse object reference (index: {index})"
        if len(fields) not in (3, 5):
            raise ValueError(f'{where}: expected 3 or 5 fields, found {len(fields)}: "{item}"')
        if len(fields) == 5 and fields[1] != "namespaces":
            raise ValueError(f'{where}: missing "namespaces" field: "{item}"')
        group, kind, name = fields[0], fields[-2], fields[-1]
        for what_, value in (("kind", kind), ("name", name)):
            if not value:
                raise ValueError(f'{where}: invalid object metadata: {what_} is empty: "{item}"')
        refs.append((group, fields[2] if len(fields) == 5 else None, kind, name))
    return refs


def format_ref(group: str, namespace: str | None, kind: str, name: str) -> str:
    """A depends-on reference as kpt writes it."""
    return f"{group}/namespaces/{namespace}/{kind}/{name}" if namespace else f"{group}/{kind}/{name}"


def dependencies(
    objs: Sequence[KubeObject], *, namespace: str | None = None, scopes: Scopes | None = None
) -> list[set[int]]:
    """For each object, the positions in ``objs`` of the objects its depends-on names; a reference
    that does not parse, names nothing of ``objs`` or names one outside them is an error."""
    index = _NameIndex(objs, scopes or Scopes(objs))
    return [_dependencies(i, objs, namespace, index) for i in range(len(objs))]


class _NameIndex:
    """Objects by (group, kind, name) and their scopes, so depends-on references resolve
    without scanning every object for each one."""

    def __init__(self, objs: Sequence[KubeObject], scopes: Scopes) -> None:
        self.by_name: dict[tuple[str, str, str], list[int]] = {}
        for j, o in enumerate(objs):
            self.by_name.setdefault((o.group, o.kind, o.name), []).append(j)
        self.namespaced = [scopes.namespaced(o) for o in objs]


def _dependencies(i: int, objs: Sequence[KubeObject], namespace: str | None, index: _NameIndex) -> set[int]:
    obj = objs[i]
    text = obj.annotations.get(DEPENDS_ON)
    if text is None:
        return set()
    if not isinstance(text, str):
        raise _error(obj, "depends-on", f"{DEPENDS_ON} must be a string")
    try:
        refs = parse_depends_on(text)
    except ValueError as exc:
        raise _error(obj, "depends-on", f"{DEPENDS_ON}: {exc}") from None
    found: set[int] = set()
    for group, ref_ns, kind, name in refs:
        matches = set(_matching(objs, index, obj, group, ref_ns, kind, name, namespace))
        if not matches:
            ref = format_ref(group, ref_ns, kind, name)
            if index.by_name.get((group, kind, name)):
                # The release has that object, but not where the reference points.
                where = f"namespace {ref_ns}" if ref_ns else "this namespace or the cluster scope"
                raise _error(
                    obj, "depends-on-outside", f"{DEPENDS_ON}: {ref} points outside the release: "
                    f"its {kind}/{name} is not in {where}",
                )  # fmt: skip
            raise _error(obj, "depends-on-missing", f"{DEPENDS_ON}: {ref} is not an object of this formula")
        found |= matches
    return found


def _matching(
    objs: Sequence[KubeObject],
    index: _NameIndex,
    dependent: KubeObject,
    group: str,
    ref_ns: str | None,
    kind: str,
    name: str,
    namespace: str | None,
) -> Iterator[int]:
    candidates = index.by_name.get((group, kind, name), [])
    if ref_ns is not None:
        for j in candidates:
            own = objs[j].namespace
            if index.namespaced[j] and (own == ref_ns or (own is None and namespace in (None, ref_ns))):
                yield j
        return
    cluster = [j for j in candidates if not index.namespaced[j]]
    yield from cluster or [j for j in candidates if objs[j].namespace == dependent.namespace]


def _crds(objs: Sequence[KubeObject]) -> Iterator[KubeObject]:
    return (o for o in objs if (o.group, o.kind) == ("apiextensions.k8s.io", "CustomResourceDefinition"))


def _crd_group_kind(crd: KubeObject) -> tuple[str, str]:
    spec = crd.data.get("spec")
    spec = spec if isinstance(spec, dict) else {}
    names = spec.get("names")
    names = names if isinstance(names, dict) else {}
    return str(spec.get("group", "")), str(names.get("kind", ""))


def label_value(text: str) -> str:
    """``text`` made into a valid label value (see the module docstring)."""
    value = _LABEL_VALUE_BAD.sub("_", text)[:63]
    return value.strip("._-")


def copy_data(value: Any) -> Any:
    """A deep copy of JSON-shaped data (dicts, lists, scalars): what ``copy.deepcopy`` gives for
    it, several times faster (install copies every object three times on its way out)."""
    if type(value) is dict:
        return {k: copy_data(v) for k, v in value.items()}
    if type(value) is list:
        return [copy_data(v) for v in value]
    if value is None or type(value) in (str, int, float, bool):
        return value
    return copy.deepcopy(value)


def apply_labels(obj: KubeObject, formula_name: str, version: object) -> KubeObject:
    """A copy of ``obj`` carrying kube's labels in ``metadata.labels``."""
    data = copy_data(obj.data)
    metadata = data.setdefault("metadata", {})
    labels = metadata.get("labels")
    if not isinstance(labels, dict):
        labels = {}
    labels.update(
        {
            MANAGED_BY_LABEL: MANAGED_BY,
            FORMULA_LABEL: label_value(formula_name),
            VERSION_LABEL: label_value(str(version)),
        }
    )
    metadata["labels"] = labels
    return KubeObject(data, obj.source, obj.line, obj.node, obj.remap)


def ref_of(obj: KubeObject, ns: str, among: Sequence[KubeObject] | Scopes) -> ObjectRef:
    """The object's ref once installed in ``ns``: namespaced objects without a namespace get it."""
    namespace = (obj.namespace or ns) if is_namespaced(obj, among) else ""
    return replace(ObjectRef.of(obj.data), namespace=namespace)


def as_sent(obj: KubeObject, ns: str, among: Sequence[KubeObject] | Scopes) -> dict[str, Any]:
    """The object as sent: namespaced objects without a namespace get the install namespace, so
    kubectl never falls back to the kubeconfig's."""
    if obj.namespace or not is_namespaced(obj, among):
        return obj.data
    return {**obj.data, "metadata": {**obj.metadata, "namespace": ns}}


def split_source(source: str) -> tuple[str, int]:
    """``manifests/x.yaml:3`` → (``manifests/x.yaml``, 3); line 0 when there is none."""
    path, sep, line = source.rpartition(":")
    if sep and line.isdigit():
        return path, int(line)
    return source, 0


def _error(obj: KubeObject, rule: str, message: str) -> FormulaError:
    path, line = split_source(obj.source)
    line = obj.line_of(["metadata", "annotations", DEPENDS_ON]) or line
    finding = Finding(path, line, rule, f"{obj.display}: {message}")
    return FormulaError(str(finding), findings=[finding])


REDACTED = "<redacted: pass --show-secrets to print>"


def redact_secrets(data: dict[str, Any]) -> dict[str, Any]:
    """A copy of a rendered object with the values of a Secret hidden.

    Hooks generate passwords into Secrets; a dry run must not print them
    unless the user asks (``--show-secrets``). Keys stay, so the shape of the
    Secret can still be reviewed.
    """
    if data.get("kind") != "Secret" or data.get("apiVersion") != "v1":
        return data
    result = dict(data)
    for section in ("data", "stringData"):
        entries = data.get(section)
        if isinstance(entries, dict):
            result[section] = dict.fromkeys(entries, REDACTED)
    return result
