"""Install records: what kube installed, kept in the cluster itself.

A record is a Secret of type ``kube.sh/install.v1`` named ``kube.install.<formula>``
in the install namespace, labelled ``app.kubernetes.io/managed-by: kube``,
``kube.sh/record: "true"`` and ``kube.sh/formula: <formula>``. Its data key
``record.json`` holds one JSON document (``formatVersion`` 1):

    formula, version, namespace, outcome ("complete" | "partial"),
    createdNamespace, installedAt (UTC, ISO 8601), kubeVersion, source,
    valuesDigest ("sha256:" + hex of the canonical JSON of the values given:
                  never the values, which may hold secrets),
    objects: [{group, version, kind, namespace, name, uid}]  in creation order,
    failed:  [{group, version, kind, namespace, name, reason, message}]

A Secret because records may one day hold more than names, and because RBAC
already keeps Secrets from people who should not read them. ``kube list`` and
``kube uninstall`` read only records; an object is listed only after the API
server confirmed creating it, with the uid it got, so uninstall can tell the
object kube created from one someone made later under the same name.
A reader refuses a ``formatVersion`` newer than it knows.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kube.errors import ClusterError, UsageError
from kube.kubectl import Kubectl, ObjectRef, is_dns_label, validate_namespace

RECORD_TYPE = "kube.sh/install.v1"
FORMAT_VERSION = 1
NAME_PREFIX = "kube.install."
DATA_KEY = "record.json"
RECORD_LABEL = "kube.sh/record"
FORMULA_LABEL = "kube.sh/formula"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
SELECTOR = f"{MANAGED_BY_LABEL}=kube,{RECORD_LABEL}=true"

COMPLETE = "complete"
PARTIAL = "partial"
UNREADABLE = "unreadable"


@dataclass(frozen=True)
class RecordedObject:
    ref: ObjectRef
    uid: str = ""

    def to_json(self) -> dict[str, str]:
        return {**_ref_json(self.ref), "uid": self.uid}


@dataclass(frozen=True)
class FailedObject:
    ref: ObjectRef
    reason: str
    message: str = ""


@dataclass(frozen=True)
class Record:
    formula: str
    version: str
    namespace: str
    outcome: str = COMPLETE
    objects: tuple[RecordedObject, ...] = ()
    failed: tuple[FailedObject, ...] = ()
    values_digest: str = ""
    installed_at: str = ""
    kube_version: str = ""
    created_namespace: bool = False
    source: str = ""
    problem: str = ""  # why an unreadable record could not be read
    resource_version: str = field(default="", compare=False)

    @property
    def name(self) -> str:
        return record_name(self.formula)

    def to_json(self) -> dict[str, Any]:
        return {
            "formatVersion": FORMAT_VERSION,
            "formula": self.formula,
            "version": self.version,
            "namespace": self.namespace,
            "outcome": self.outcome,
            "createdNamespace": self.created_namespace,
            "installedAt": self.installed_at,
            "kubeVersion": self.kube_version,
            "source": self.source,
            "valuesDigest": self.values_digest,
            "objects": [o.to_json() for o in self.objects],
            "failed": [{**_ref_json(f.ref), "reason": f.reason, "message": f.message} for f in self.failed],
        }


def record_name(formula: str) -> str:
    if not is_dns_label(formula):
        raise UsageError(f"invalid formula name {formula!r}: use lower-case letters, digits and '-'")
    return NAME_PREFIX + formula


def values_digest(values: Mapping[str, Any]) -> str:
    canonical = json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def to_secret(record: Record) -> dict[str, Any]:
    document = json.dumps(record.to_json(), indent=1, sort_keys=False)
    metadata: dict[str, Any] = {
        "name": record.name,
        "namespace": record.namespace,
        "labels": {MANAGED_BY_LABEL: "kube", RECORD_LABEL: "true", FORMULA_LABEL: record.formula},
    }
    if record.resource_version:
        metadata["resourceVersion"] = record.resource_version
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": RECORD_TYPE,
        "metadata": metadata,
        "data": {DATA_KEY: base64.b64encode(document.encode("utf-8")).decode("ascii")},
    }


def from_secret(secret: Mapping[str, Any]) -> Record:
    """The record a Secret holds; an unreadable one comes back with ``outcome="unreadable"``."""
    meta = secret.get("metadata") or {}
    labels = meta.get("labels") or {}
    namespace = str(meta.get("namespace", ""))
    formula = str(labels.get(FORMULA_LABEL) or str(meta.get("name", "")).removeprefix(NAME_PREFIX))
    resource_version = str(meta.get("resourceVersion", ""))
    try:
        raw = (secret.get("data") or {})[DATA_KEY]
        doc = json.loads(base64.b64decode(raw, validate=True).decode("utf-8"))
        if not isinstance(doc, dict):
            raise ValueError("not a JSON object")
        if int(doc.get("formatVersion", 0)) > FORMAT_VERSION:
            raise ValueError(
                f"format version {doc['formatVersion']} is newer than this kube reads; upgrade kube"
            )
        return Record(
            formula=str(doc["formula"]),
            version=str(doc["version"]),
            namespace=str(doc.get("namespace") or namespace),
            outcome=str(doc.get("outcome", COMPLETE)),
            objects=tuple(RecordedObject(_ref(o), str(o.get("uid", ""))) for o in doc.get("objects", [])),
            failed=tuple(
                FailedObject(_ref(o), str(o.get("reason", "")), str(o.get("message", "")))
                for o in doc.get("failed", [])
            ),
            values_digest=str(doc.get("valuesDigest", "")),
            installed_at=str(doc.get("installedAt", "")),
            kube_version=str(doc.get("kubeVersion", "")),
            created_namespace=bool(doc.get("createdNamespace", False)),
            source=str(doc.get("source", "")),
            resource_version=resource_version,
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        problem = f"install record {namespace}/{meta.get('name', '?')} is unreadable: {exc}"
        return Record(formula, "", namespace, UNREADABLE, problem=problem, resource_version=resource_version)


def _ref(o: Mapping[str, Any]) -> ObjectRef:
    return ObjectRef(
        str(o.get("group", "")),
        str(o["version"]),
        str(o["kind"]),
        str(o.get("namespace", "")),
        str(o["name"]),
    )


def _ref_json(r: ObjectRef) -> dict[str, str]:
    return {"group": r.group, "version": r.version, "kind": r.kind, "namespace": r.namespace, "name": r.name}


def read_record(kubectl: Kubectl, formula: str, namespace: str) -> Record | None:
    secret = kubectl.get_named("secrets", record_name(formula), validate_namespace(namespace))
    if secret is None or secret.get("type") != RECORD_TYPE:
        return None
    return from_secret(secret)


def list_records(kubectl: Kubectl, namespace: str | None = None) -> list[Record]:
    """Every install record in ``namespace``, or in the whole cluster when None; by namespace, then name."""
    secrets = kubectl.list_objects("secrets", namespace=namespace, selector=SELECTOR)
    found = [from_secret(s) for s in secrets if s.get("type") == RECORD_TYPE]
    return sorted(found, key=lambda r: (r.namespace, r.formula))


def list_records_visible(kubectl: Kubectl, namespace: str) -> list[Record]:
    """Records in the whole cluster, or only in ``namespace`` when RBAC allows no more."""
    try:
        return list_records(kubectl)
    except ClusterError as exc:
        if "forbidden" not in exc.message.lower():
            raise
        return list_records(kubectl, namespace)


def installed_versions(name: str, kubectl: Kubectl) -> list[tuple[str, str]]:
    """Where ``name`` is installed: [(namespace, version)], for ``kube info``."""
    return [(r.namespace, r.version) for r in list_records(kubectl) if r.formula == name]


def write_record(kubectl: Kubectl, record: Record, *, replace: bool) -> Record:
    """Create the record, or replace the one read earlier (its resourceVersion must still be current)."""
    secret = to_secret(record)
    if replace:
        kubectl.replace(secret)
        return record
    [outcome] = kubectl.create([secret])
    if not outcome.ok:
        hint = f"run `kube list -n {record.namespace}` to see what is installed"
        raise ClusterError(
            f"could not write the install record of {record.formula} in namespace {record.namespace}: "
            f"{outcome.reason}: {outcome.message}",
            hint=hint,
        )
    return record


def delete_record(kubectl: Kubectl, record: Record) -> None:
    kubectl.delete_named("secrets", record.name, record.namespace)


def recorded_refs(records: Sequence[RecordedObject]) -> list[ObjectRef]:
    return [r.ref for r in records]
