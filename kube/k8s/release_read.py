"""Reading release records: a Secret of either format, decoded and checked, as a ``Revision``
or, when anything does not hold together, as an ``Unreadable`` with the reason
(``kube.k8s.release_format`` describes the format and the checks)."""

from __future__ import annotations

import base64
import datetime
import json
import re
import zlib
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, TypeVar

from kube.core.text import is_safe
from kube.k8s import records
from kube.k8s.kubectl import ObjectRef, is_dns_label
from kube.k8s.objects import FORMULA_LABEL, MANAGED_BY_LABEL
from kube.k8s.release_format import (
    DATA_KEY,
    FORMAT_VERSION,
    INFLATED_LIMIT,
    MAX_REVISION,
    RELEASE_TYPE,
    REVISION_LABEL,
    SECRET_LIMIT,
    STATUS_LABEL,
    Failure,
    RecordedObject,
    ReleaseOutcome,
    ReleaseStatus,
    Revision,
    Unreadable,
)
from kube.k8s.release_names import MAX_NAME, NAME_PREFIX, RECORD_LABEL, RELEASE_LABEL

_SECRET_NAME = re.compile(r"kube\.release\.([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.v([1-9][0-9]{0,9})")
_MAX_LINE = 512
_E = TypeVar("_E", bound=StrEnum)


def is_record(secret: Mapping[str, Any]) -> bool:
    """A Secret kube reads as a record (either format); others that only carry the labels are ignored."""
    return secret.get("type") in (RELEASE_TYPE, records.RECORD_TYPE)


def from_secret(secret: Mapping[str, Any]) -> Revision | Unreadable:
    """The revision a record Secret (format 1 or 2) holds, or why it cannot be trusted."""
    meta = secret.get("metadata")
    meta = meta if isinstance(meta, Mapping) else {}
    if secret.get("type") == records.RECORD_TYPE:
        return from_v1(records.from_secret(secret))
    name = str(meta.get("name", ""))
    namespace = str(meta.get("namespace", ""))
    match = _SECRET_NAME.fullmatch(name)
    release, revision = (match.group(1), int(match.group(3))) if match else ("", 0)
    try:
        if secret.get("type") != RELEASE_TYPE:
            raise ValueError(f"its type is {secret.get('type')!r}, not {RELEASE_TYPE}")
        if not match or len(release) > MAX_NAME or revision > MAX_REVISION:
            raise ValueError(f"its name is not {NAME_PREFIX}<release>.v<revision>")
        rev = _revision(decode(secret), meta)
        return rev
    except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as exc:
        problem = f"release record {namespace}/{name or '?'} is unreadable: {exc}"
        return Unreadable(name, namespace, release, revision, problem)


def decode(secret: Mapping[str, Any]) -> dict[str, Any]:
    """The document of a format 2 Secret, unchecked; raises ValueError when it is not one."""
    data = secret.get("data")
    raw = data.get(DATA_KEY) if isinstance(data, Mapping) else None
    if not isinstance(raw, str):
        raise ValueError(f"it has no {DATA_KEY}")
    if len(raw) > 2 * SECRET_LIMIT:
        raise ValueError(f"its data is larger than a Secret holds ({len(raw)} characters)")
    try:
        packed = base64.b64decode(raw, validate=True)
    except ValueError:
        raise ValueError(f"its {DATA_KEY} is not base64") from None
    try:
        doc = json.loads(inflate(packed).decode("utf-8"), parse_constant=_no_constant)
    except zlib.error as exc:
        raise ValueError(f"its {DATA_KEY} is not gzip ({exc})") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"its document is not JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise ValueError("its document is not a JSON object")
    version = doc.get("formatVersion")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ValueError("its document has no formatVersion")
    if version > FORMAT_VERSION:
        raise ValueError(f"format version {version} is newer than this kube reads; upgrade kube")
    if version != FORMAT_VERSION:
        raise ValueError(f"format version {version} in a {RELEASE_TYPE} record")
    return doc


def inflate(packed: bytes, limit: int = INFLATED_LIMIT) -> bytes:
    """Gunzip ``packed``, refusing to produce more than ``limit`` bytes (a bomb stops there)."""
    unpacker = zlib.decompressobj(31)  # gzip framing only
    raw = unpacker.decompress(packed, limit + 1)
    if len(raw) > limit:
        raise ValueError(f"its document inflates to more than {limit} bytes")
    if not unpacker.eof:
        raise ValueError("its document is truncated")
    if unpacker.unused_data:
        raise ValueError("its data goes on after the compressed document")
    return raw


def _revision(doc: Mapping[str, Any], meta: Mapping[str, Any]) -> Revision:
    """A document that describes itself, or ValueError: kube wrote it this way, and anything else
    was written by someone else (a forged record would make uninstall delete what it names)."""
    labels = meta.get("labels")
    labels = labels if isinstance(labels, Mapping) else {}
    namespace = _text(doc, "namespace")
    if namespace != meta.get("namespace") or not is_dns_label(namespace):
        raise ValueError(f"it names namespace {namespace!r} but lives in {meta.get('namespace')!r}")
    release = _text(doc, "release")
    revision = doc.get("revision")
    if not isinstance(revision, int) or isinstance(revision, bool):
        raise ValueError("its revision is not a number")
    if meta.get("name") != f"{NAME_PREFIX}{release}.v{revision}" or not 0 < revision <= MAX_REVISION:
        raise ValueError(f"its release {release!r} revision {revision} does not match its name")
    formula = _text(doc, "formula")
    if not is_dns_label(formula):
        raise ValueError(f"invalid formula name {formula!r}")
    expected = {MANAGED_BY_LABEL: "kube", RECORD_LABEL: "true", RELEASE_LABEL: release,
                REVISION_LABEL: str(revision), FORMULA_LABEL: formula}  # fmt: skip
    for key, value in expected.items():
        if labels.get(key) != value:
            raise ValueError(f"its {key} label is {labels.get(key)!r}, not {value!r}")
    status = _member(ReleaseStatus, labels.get(STATUS_LABEL), STATUS_LABEL)
    allowed = tuple(_text_item(n, "allowedNamespaces") for n in _list(doc, "allowedNamespaces"))
    for name in allowed:
        if not is_dns_label(name):
            raise ValueError(f"invalid allowed namespace {name!r}")
    places = {namespace, "", *allowed}
    objects = tuple(RecordedObject(_ref(o), _text(o, "uid")) for o in _bounded(doc, "objects"))
    failures = tuple(
        Failure(_ref(o), _text(o, "reason"), _text(o, "message")) for o in _bounded(doc, "failures")
    )
    manifest = tuple(_manifest_object(o) for o in _bounded(doc, "manifest"))
    adopted = tuple(_ref(o) for o in (_bounded(doc, "adopted") if "adopted" in doc else ()))
    for ref in (
        *(o.ref for o in objects),
        *(f.ref for f in failures),
        *(ObjectRef.of(o) for o in manifest),
        *adopted,
    ):
        if ref.namespace not in places:
            raise ValueError(
                f"it lists {ref.display} in namespace {ref.namespace}, outside {namespace} "
                "and the namespaces allowed at install"
            )
    time = _text(doc, "time")
    try:
        datetime.datetime.fromisoformat(time)
    except ValueError:
        raise ValueError(f"its time {time!r} is not an ISO 8601 time") from None
    created = doc.get("createdNamespace")
    if not isinstance(created, bool):
        raise ValueError("createdNamespace is not true or false")
    return Revision(
        release=release,
        namespace=namespace,
        revision=revision,
        formula=formula,
        version=_line(doc, "version"),
        status=status,
        outcome=_member(ReleaseOutcome, doc.get("outcome"), "outcome"),
        time=time,
        values=_object(doc, "values"),
        hook_values=_object(doc, "hookValues"),
        patches=tuple(_list(doc, "patches")),
        manifest=manifest,
        objects=objects,
        allowed_namespaces=allowed,
        created_namespace=created,
        failures=failures,
        summary=_line(doc, "summary", empty=True),
        dependencies=tuple(
            _text_item(d, "dependencies")
            for d in (_list(doc, "dependencies") if "dependencies" in doc else ())
        ),
        kube_version=_line(doc, "kubeVersion", empty=True),
        adopted=adopted,
        resource_version=str(meta.get("resourceVersion", "")),
    )


def from_v1(record: records.Record) -> Revision | Unreadable:
    """A format 1 install record as revision 1 of the release named after its formula. Its status
    is derived (a pending record is ``pending``, any other ``deployed``; ``Release`` marks it
    ``superseded`` once a later revision exists); what it never held stays None."""
    secret = records.NAME_PREFIX + record.formula
    if record.outcome == records.UNREADABLE:
        return Unreadable(secret, record.namespace, record.formula, 1, record.problem)
    outcome = ReleaseOutcome(record.outcome)
    return Revision(
        release=record.formula,
        namespace=record.namespace,
        revision=1,
        formula=record.formula,
        version=record.version,
        status=ReleaseStatus.PENDING if outcome is ReleaseOutcome.PENDING else ReleaseStatus.DEPLOYED,
        outcome=outcome,
        time=record.installed_at,
        values=None,
        hook_values=None,
        patches=None,
        manifest=None,
        objects=tuple(RecordedObject(o.ref, o.uid) for o in record.objects),
        allowed_namespaces=record.allowed_namespaces,
        created_namespace=record.created_namespace,
        failures=tuple(Failure(f.ref, f.reason, f.message) for f in record.failed),
        kube_version=record.kube_version,
        format_version=1,
        values_digest=record.values_digest,
        resource_version=record.resource_version,
    )


def _member(kind: type[_E], value: object, what: str) -> _E:
    try:
        return kind(str(value))
    except ValueError:
        raise ValueError(f"unknown {what} {value!r}") from None


def _text(doc: Mapping[str, Any], key: str) -> str:
    if not isinstance(doc, Mapping):
        raise ValueError("an entry is not a JSON object")
    value = doc.get(key, "")
    if not isinstance(value, str):
        raise ValueError(f"{key} is not a string")
    return value


def _text_item(value: object, key: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{key} holds something that is not a string")
    return value


def _line(doc: Mapping[str, Any], key: str, *, empty: bool = False) -> str:
    """A field shown on one line of a table: printable, one line, not too long."""
    value = _text(doc, key)
    if (not value and not empty) or len(value) > _MAX_LINE or "\n" in value or not is_safe(value):
        raise ValueError(f"{key} is not one line of printable text")
    return value


def _bounded(doc: Mapping[str, Any], key: str) -> list[Any]:
    """``_list``, refused past what a release may hold: a record written by hand (anyone who may
    create Secrets in a namespace) listing 20,000 objects made every ``kube list`` take a minute."""
    from kube.k8s.release_names import MAX_OBJECTS

    value = _list(doc, key)
    if len(value) > MAX_OBJECTS:
        raise ValueError(
            f"its {key} lists {len(value):,} objects, more than a release may hold ({MAX_OBJECTS:,})"
        )
    return value


def _list(doc: Mapping[str, Any], key: str) -> list[Any]:
    value = doc.get(key)
    if not isinstance(value, list):
        raise ValueError(f"{key} is not a list")
    return value


def _object(doc: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = doc.get(key)
    if not isinstance(value, dict):
        raise ValueError(f"{key} is not a JSON object")
    return value


def _manifest_object(obj: object) -> Mapping[str, Any]:
    if not isinstance(obj, dict):
        raise ValueError("a manifest entry is not a JSON object")
    meta = obj.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str) or not meta["name"]:
        raise ValueError("a manifest entry has no metadata.name")
    if not isinstance(meta.get("namespace", ""), str):
        raise ValueError("a manifest entry's namespace is not a string")
    if not isinstance(obj.get("kind"), str) or not isinstance(obj.get("apiVersion"), str):
        raise ValueError("a manifest entry has no kind or apiVersion")
    return obj


def _ref(o: object) -> ObjectRef:
    if not isinstance(o, Mapping):
        raise ValueError("an object entry is not a JSON object")
    ref = ObjectRef(_text(o, "group"), _text(o, "version"), _text(o, "kind"), _text(o, "namespace"),
                    _text(o, "name"))  # fmt: skip
    if not ref.name or not ref.kind or not ref.version:
        raise ValueError("it lists an object without kind, version or name")
    return ref


def _no_constant(name: str) -> None:
    raise ValueError(f"its document holds {name}, which kube never writes")
