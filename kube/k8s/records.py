"""Install records: what kube installed, kept in the cluster itself.

A record is a Secret of type ``kube.sh/install.v1`` named ``kube.install.<formula>``
in the install namespace, labelled ``app.kubernetes.io/managed-by: kube``,
``kube.sh/record: "true"`` and ``kube.sh/formula: <formula>``. Its data key
``record.json`` holds one JSON document (``formatVersion`` 1):

    formula, version, namespace, outcome ("complete" | "partial" | "pending"),
    createdNamespace, installedAt (UTC, ISO 8601), kubeVersion, source,
    valuesDigest ("sha256:" + hex of the canonical JSON of the values given:
                  never the values, which may hold secrets),
    allowedNamespaces: [namespace]  the other namespaces the user allowed
                  (``--allow-namespace``) and objects went to,
    objects: [{group, version, kind, namespace, name, uid}]  in creation order,
    failed:  [{group, version, kind, namespace, name, reason, message}]

``pending``: the install is under way, or was stopped (SIGKILL, a crash) before
it finished. A pending record is written before the first object is created and
lists every object the install is about to create, without uids; uninstall
treats the ones that do not exist as already gone. The install replaces it
with the objects the API server confirmed, with their uids, when it ends.

A Secret because records may one day hold more than names, and because RBAC
already keeps Secrets from people who should not read them. ``kube list`` and
``kube uninstall`` read only records; an object is listed only after the API
server confirmed creating it, with the uid it got, so uninstall can tell the
object kube created from one someone made later under the same name.
A reader refuses a ``formatVersion`` newer than it knows, and a record that does
not hold together: its formula, name and namespace must agree with the Secret's,
and every namespaced object must be in the record's namespace or one of its
``allowedNamespaces``. Such a record comes back ``unreadable`` with the reason:
``kube list`` leaves it out (and says so), ``kube uninstall`` refuses it.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from kube.core.errors import ClusterError, FormulaError, UsageError
from kube.k8s.kubectl import Kubectl, ObjectRef, is_dns_label, validate_namespace
from kube.k8s.kubectl_output import Reason
from kube.k8s.objects import FORMULA_LABEL, LABEL_PREFIX, MANAGED_BY, MANAGED_BY_LABEL, RECORD_NAME_PREFIX
from kube.k8s.release_names import RECORD_LABEL, RECORDS_SELECTOR

RECORD_TYPE = f"{LABEL_PREFIX}/install.v1"
FORMAT_VERSION = 1
NAME_PREFIX = RECORD_NAME_PREFIX
DATA_KEY = "record.json"
SELECTOR = RECORDS_SELECTOR

# The API server refuses a Secret whose data passes 1 MiB; keep room for the failures added later.
RECORD_LIMIT = 1024 * 1024 - 64 * 1024


class RecordOutcome(StrEnum):
    """How the recorded install ended; ``unreadable`` is never written, only read."""

    COMPLETE = "complete"
    PARTIAL = "partial"
    PENDING = "pending"
    UNREADABLE = "unreadable"


COMPLETE, PARTIAL, PENDING, UNREADABLE = (
    RecordOutcome.COMPLETE, RecordOutcome.PARTIAL, RecordOutcome.PENDING, RecordOutcome.UNREADABLE,
)  # fmt: skip
_OUTCOMES = frozenset({COMPLETE, PARTIAL, PENDING})


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
    outcome: RecordOutcome = COMPLETE
    objects: tuple[RecordedObject, ...] = ()
    failed: tuple[FailedObject, ...] = ()
    values_digest: str = ""
    installed_at: str = ""
    kube_version: str = ""
    created_namespace: bool = False
    source: str = ""
    allowed_namespaces: tuple[str, ...] = ()
    problem: str = ""  # why an unreadable record could not be read
    resource_version: str = field(default="", compare=False)
    # How many recorded objects the cluster no longer has; None when not checked (see missing_objects).
    missing: int | None = field(default=None, compare=False)

    @property
    def status(self) -> str:
        """The outcome as people read it: ``complete``, or ``complete (2 objects missing)``."""
        if self.problem:
            return self.problem
        if self.missing:
            return f"{self.outcome} ({self.missing} {'object' if self.missing == 1 else 'objects'} missing)"
        return self.outcome

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
            "allowedNamespaces": list(self.allowed_namespaces),
            "objects": [o.to_json() for o in self.objects],
            "failed": [{**_ref_json(f.ref), "reason": f.reason, "message": f.message} for f in self.failed],
        }


def check_size(record: Record) -> None:
    """Refuse, before anything is created, a record the API server would not store."""
    size = len(json.dumps(record.to_json(), separators=(",", ":")).encode("utf-8"))
    if size > RECORD_LIMIT:
        raise FormulaError(
            f"the install record of {record.formula} would take {size} bytes, more than a Secret holds "
            f"({RECORD_LIMIT}); nothing was created",
            hint="the formula has too many objects or too long names",
        )


def record_name(formula: str) -> str:
    if not is_dns_label(formula):
        raise UsageError(f"invalid formula name {formula!r}: use lower-case letters, digits and '-'")
    return NAME_PREFIX + formula


def values_digest(values: Mapping[str, Any]) -> str:
    canonical = json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def to_secret(record: Record) -> dict[str, Any]:
    # Compact: the record of a formula of MAX_OBJECTS objects must fit a Secret (1 MiB).
    document = json.dumps(record.to_json(), separators=(",", ":"), sort_keys=False)
    metadata: dict[str, Any] = {
        "name": record.name,
        "namespace": record.namespace,
        "labels": {MANAGED_BY_LABEL: MANAGED_BY, RECORD_LABEL: "true", FORMULA_LABEL: record.formula},
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
    """The record a Secret holds; an unreadable or inconsistent one comes back with
    ``outcome="unreadable"`` and the reason in ``problem``."""
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
        record = Record(
            formula=str(doc["formula"]),
            version=str(doc["version"]),
            namespace=str(doc.get("namespace") or namespace),
            outcome=_outcome(doc.get("outcome", COMPLETE)),
            objects=tuple(RecordedObject(_ref(o), str(o.get("uid", ""))) for o in _list(doc, "objects")),
            failed=tuple(
                FailedObject(_ref(o), str(o.get("reason", "")), str(o.get("message", "")))
                for o in _list(doc, "failed")
            ),
            values_digest=str(doc.get("valuesDigest", "")),
            installed_at=str(doc.get("installedAt", "")),
            kube_version=str(doc.get("kubeVersion", "")),
            created_namespace=bool(doc.get("createdNamespace", False)),
            source=str(doc.get("source", "")),
            allowed_namespaces=tuple(str(n) for n in _list(doc, "allowedNamespaces")),
            resource_version=resource_version,
        )
        _validate(record, meta, labels)
        return record
    except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as exc:
        problem = f"install record {namespace}/{meta.get('name', '?')} is unreadable: {exc}"
        return Record(formula, "", namespace, UNREADABLE, problem=problem, resource_version=resource_version)


def _outcome(value: object) -> RecordOutcome:
    if value not in _OUTCOMES:
        raise ValueError(f"unknown outcome {value!r}")
    return RecordOutcome(str(value))


def _list(doc: Mapping[str, Any], key: str) -> list[Any]:
    value = doc.get(key, [])
    if not isinstance(value, list):
        raise ValueError(f"{key} is not a list")
    return value


def _validate(record: Record, meta: Mapping[str, Any], labels: Mapping[str, Any]) -> None:
    """A record must describe itself: kube wrote it this way, and anything else was written by
    someone else (a forged record would make uninstall delete what it names)."""
    if record.namespace != meta.get("namespace"):
        raise ValueError(f"it names namespace {record.namespace!r} but lives in {meta.get('namespace')!r}")
    if not is_dns_label(record.formula) or meta.get("name") != NAME_PREFIX + record.formula:
        raise ValueError(f"its formula {record.formula!r} does not match its name {meta.get('name')!r}")
    if labels.get(FORMULA_LABEL) != record.formula:
        raise ValueError(f"its formula {record.formula!r} does not match its {FORMULA_LABEL} label")
    for allowed in record.allowed_namespaces:
        if not is_dns_label(allowed):
            raise ValueError(f"invalid allowed namespace {allowed!r}")
    places = {record.namespace, "", *record.allowed_namespaces}
    for entry in (*(o.ref for o in record.objects), *(f.ref for f in record.failed)):
        if entry.namespace not in places:
            raise ValueError(
                f"it lists {entry.display} in namespace {entry.namespace}, outside {record.namespace} "
                "and the namespaces allowed at install"
            )
        if not entry.name or not entry.kind or not entry.version:
            raise ValueError("it lists an object without kind, version or name")


def _ref(o: Any) -> ObjectRef:
    if not isinstance(o, Mapping):
        raise ValueError("an object entry is not a JSON object")
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
    """Every install record in ``namespace``, or in the whole cluster when None; by namespace, then name.
    Unreadable ones are included (``outcome == UNREADABLE``): callers choose to skip or report them."""
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
    return [
        (r.namespace, r.version)
        for r in list_records(kubectl)
        if r.formula == name and r.outcome != UNREADABLE
    ]


def with_missing(kubectl: Kubectl, found: Sequence[Record]) -> list[Record]:
    """``found`` with ``missing`` filled in (one kubectl call for all of them)."""
    from dataclasses import replace as with_changes

    counts = missing_objects(kubectl, found)
    return [with_changes(r, missing=counts.get((r.namespace, r.formula))) for r in found]


def missing_objects(kubectl: Kubectl, found: Sequence[Record]) -> dict[tuple[str, str], int]:
    """How many recorded objects of each record no longer exist, keyed by (namespace, formula):
    one ``kubectl get`` for the objects of every record. An object counts as missing when the API
    server has none of that name, or has one with another uid (made again by someone else).
    Objects kube may not read (Forbidden) are not counted. Records are left out of the answer
    when the cluster does not answer, so a caller cannot mistake "not checked" for "all there"."""
    readable = [r for r in found if r.outcome != UNREADABLE]
    refs = [o.ref for r in readable for o in r.objects]
    if not refs:
        return {(r.namespace, r.formula): 0 for r in readable}
    try:
        live = kubectl.get(refs)
    except ClusterError:
        return {}
    result: dict[tuple[str, str], int] = {}
    outcomes = iter(live)
    for record in readable:
        missing = 0
        for recorded in record.objects:
            outcome = next(outcomes)
            if outcome.live is None:
                missing += outcome.reason in (Reason.NOT_FOUND, Reason.NO_MATCH)
            elif recorded.uid and (outcome.live.get("metadata") or {}).get("uid") != recorded.uid:
                missing += 1
        result[(record.namespace, record.formula)] = missing
    return result


def write_record(kubectl: Kubectl, record: Record, *, replace: bool) -> Record:
    """Create the record, or replace the one read earlier (its resourceVersion must still be current).
    Returns the record with the resourceVersion the API server gave it."""
    from dataclasses import replace as with_changes

    secret = to_secret(record)
    if replace:
        live = kubectl.replace(secret)
        return with_changes(record, resource_version=_version(live) or record.resource_version)
    [outcome] = kubectl.create([secret])
    if not outcome.ok:
        hint = f"run `kube list -n {record.namespace}` to see what is installed"
        raise ClusterError(
            f"could not write the install record of {record.formula} in namespace {record.namespace}: "
            f"{outcome.reason}: {outcome.message}",
            hint=hint,
        )
    return with_changes(record, resource_version=_version(outcome.live or {}))


def _version(live: Mapping[str, Any]) -> str:
    meta = live.get("metadata")
    return str(meta.get("resourceVersion", "")) if isinstance(meta, Mapping) else ""


def delete_record(kubectl: Kubectl, record: Record) -> None:
    kubectl.delete_named("secrets", record.name, record.namespace)
