"""Release records, format 2: one Secret per revision, its document gzip-compressed JSON.

As Helm 3 keeps ``sh.helm.release.v1.<name>.v<N>``, kube keeps each revision of a release in
its own Secret of type ``kube.sh/release.v2``, named ``kube.release.<release>.v<N>``, in the
release's namespace, labelled::

    app.kubernetes.io/managed-by: kube      kube.sh/record: "true"
    kube.sh/release: <release>              kube.sh/revision: "<N>"
    kube.sh/status: deployed | superseded | failed | pending | uninstalling
    kube.sh/formula: <formula>

The status lives only in its label: it is the one thing that changes after a revision is
written (``deployed`` -> ``superseded`` when the next revision deploys), and a label changes
without rewriting the document. The data key ``release.json.gz`` holds the document, gzip over
compact UTF-8 JSON (``formatVersion`` 2):

    formatVersion, formula, version (the formula's), release, namespace, revision,
    time (UTC, ISO 8601), kubeVersion,
    values      the values the user gave (-f/--set merged),
    hookValues  what the pre-install hook returned: a generated password survives every
                upgrade and rollback because the next revision starts from these,
    patches     [] for now,
    manifest    [object]  the rendered objects exactly as sent to the API server,
    objects     [{group, version, kind, namespace, name, uid}]  in creation order,
    allowedNamespaces, createdNamespace,
    outcome     pending | partial | complete | failed,
    failures    [{group, version, kind, namespace, name, reason, message}],
    summary     one line: what changed from the previous revision.

Unlike format 1, the document holds the values themselves (a rollback must restore them, and
an upgrade must carry the hook's secrets over): whoever may read Secrets in the namespace may
read them, as with Helm. Only the gzip bytes count against the API server's 1 MiB Secret
limit (Secret data is stored decoded; Helm's base64 inside base64 costs it a third more):
``encode`` refuses a revision over ``DATA_LIMIT`` (900 KiB) before anything is written, with
room left for the uids and failures the complete revision adds to the pending one.

A reader trusts nothing it did not check: the Secret's name, labels and namespace must agree
with the document, every object of the object list and of the manifest must be cluster-scoped
or in the release's namespace or an allowed one (a rollback re-applies the manifest, so a
forged one could otherwise send objects anywhere), and a payload that does not inflate to valid
JSON within ``INFLATED_LIMIT`` (16 MiB; a decompression bomb) is refused. Such a revision reads
as ``Unreadable``, with the reason, never as a ``Revision``.

Format 1 (``kube.install.<formula>``, ``kube.sh/install.v1``, ``kube.k8s.records``) reads as
revision 1 of a release named after the formula, with ``values``, ``hook_values``, ``patches``
and ``manifest`` None: that record never held them.
"""

from __future__ import annotations

import base64
import datetime
import json
import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

from kube.core.errors import FormulaError, UsageError
from kube.core.text import is_safe
from kube.k8s import records
from kube.k8s.kubectl import ObjectRef, is_dns_label

RELEASE_TYPE = "kube.sh/release.v2"
FORMAT_VERSION = 2
NAME_PREFIX = "kube.release."
DATA_KEY = "release.json.gz"
MANAGED_BY_LABEL = records.MANAGED_BY_LABEL
RECORD_LABEL = records.RECORD_LABEL
FORMULA_LABEL = records.FORMULA_LABEL
RELEASE_LABEL = "kube.sh/release"
REVISION_LABEL = "kube.sh/revision"
STATUS_LABEL = "kube.sh/status"
#: Every record, of either format: what ``kube list`` asks the API server for.
SELECTOR = records.SELECTOR

#: Helm's limit too: object names are built from the release name plus a suffix.
MAX_NAME = 53
#: The API server refuses a Secret whose data passes 1 MiB.
SECRET_LIMIT = 1024 * 1024
#: What one revision may take, leaving room for what completing it adds (uids, failures).
DATA_LIMIT = 900 * 1024
#: What a document may inflate to: a reader refuses more (a decompression bomb).
INFLATED_LIMIT = 16 * 1024 * 1024
MAX_REVISION = 10**9
_SECRET_NAME = re.compile(r"kube\.release\.([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.v([1-9][0-9]{0,9})")
_MAX_LINE = 512
_E = TypeVar("_E", bound=StrEnum)


class ReleaseStatus(StrEnum):
    """Where a revision stands in its release's history (the ``kube.sh/status`` label)."""

    DEPLOYED = "deployed"  # the revision the cluster runs
    SUPERSEDED = "superseded"  # deployed once, then replaced by a later revision
    FAILED = "failed"  # its install, upgrade or rollback failed
    PENDING = "pending"  # being applied, or stopped before it finished (a crash, SIGKILL)
    UNINSTALLING = "uninstalling"  # uninstall started and has not finished


class ReleaseOutcome(StrEnum):
    """What became of the objects of a revision (format 1's ``outcome``, plus ``failed``)."""

    PENDING = "pending"
    PARTIAL = "partial"
    COMPLETE = "complete"
    FAILED = "failed"


@dataclass(frozen=True)
class RecordedObject:
    """One object of a revision; ``uid`` is "" until the API server confirmed creating it."""

    ref: ObjectRef
    uid: str = ""


@dataclass(frozen=True)
class Failure:
    ref: ObjectRef
    reason: str
    message: str = ""


@dataclass(frozen=True)
class Revision:
    """One revision of a release, as written or as read and checked.

    ``values``, ``hook_values``, ``patches`` and ``manifest`` are None when the record never held
    them (format 1): unknown, not empty. ``values_digest`` is computed from ``values`` when they
    are known, else it is format 1's stored digest (so an idempotent install can still compare).
    The mappings inside are the decoded JSON: treat them as read-only.
    """

    release: str
    namespace: str
    revision: int
    formula: str
    version: str
    status: ReleaseStatus = ReleaseStatus.PENDING
    outcome: ReleaseOutcome = ReleaseOutcome.PENDING
    time: str = ""
    values: Mapping[str, Any] | None = None
    hook_values: Mapping[str, Any] | None = None
    patches: tuple[Any, ...] | None = ()
    manifest: tuple[Mapping[str, Any], ...] | None = None
    objects: tuple[RecordedObject, ...] = ()
    allowed_namespaces: tuple[str, ...] = ()
    created_namespace: bool = False
    failures: tuple[Failure, ...] = ()
    summary: str = ""
    kube_version: str = ""
    format_version: int = FORMAT_VERSION
    values_digest: str = ""
    resource_version: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if self.values is not None:
            object.__setattr__(self, "values_digest", records.values_digest(self.values))

    @property
    def secret_name(self) -> str:
        if self.format_version == 1:
            return records.NAME_PREFIX + self.release
        return secret_name(self.release, self.revision)

    @property
    def values_known(self) -> bool:
        return self.values is not None

    @property
    def manifest_known(self) -> bool:
        return self.manifest is not None


@dataclass(frozen=True)
class Unreadable:
    """A record Secret that did not pass the checks: reported, never trusted.

    ``release`` and ``revision`` are what its name says ("" and 0 when even that is unclear)."""

    secret: str
    namespace: str
    release: str
    revision: int
    problem: str


def utc_now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def validate_release_name(name: str) -> str:
    if len(name) > MAX_NAME or not is_dns_label(name):
        raise UsageError(
            f"invalid release name {name!r}: use lower-case letters, digits and '-', "
            f"starting and ending with a letter or digit, at most {MAX_NAME} characters",
            hint="choose another with --name",
        )
    return name


def secret_name(release: str, revision: int) -> str:
    if not 0 < revision <= MAX_REVISION:
        raise UsageError(f"invalid revision {revision} of release {release!r}")
    return f"{NAME_PREFIX}{validate_release_name(release)}.v{revision}"


# -- writing ----------------------------------------------------------------------------------


def document(rev: Revision) -> dict[str, Any]:
    if rev.format_version != FORMAT_VERSION or rev.values is None or rev.manifest is None:
        raise UsageError(
            f"revision {rev.revision} of release {rev.release} is a format 1 record; "
            "only a new revision, with its values and manifest, can be written"
        )
    return {
        "formatVersion": FORMAT_VERSION,
        "formula": rev.formula,
        "version": rev.version,
        "release": rev.release,
        "namespace": rev.namespace,
        "revision": rev.revision,
        "time": rev.time,
        "kubeVersion": rev.kube_version,
        "values": rev.values,
        "hookValues": rev.hook_values if rev.hook_values is not None else {},
        "patches": list(rev.patches or ()),
        "manifest": list(rev.manifest),
        "objects": [{**_ref_json(o.ref), "uid": o.uid} for o in rev.objects],
        "allowedNamespaces": list(rev.allowed_namespaces),
        "createdNamespace": rev.created_namespace,
        "outcome": str(rev.outcome),
        "failures": [{**_ref_json(f.ref), "reason": f.reason, "message": f.message} for f in rev.failures],
        "summary": rev.summary,
    }


def encode(rev: Revision) -> bytes:
    """The Secret data of ``rev``: gzip over compact JSON. Refuses (``FormulaError``) a revision the
    API server would not store, or one this reader would not read back."""
    validate_release_name(rev.release)
    text = json.dumps(document(rev), separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    raw = text.encode("utf-8")
    what = f"the record of revision {rev.revision} of release {rev.release}"
    if len(raw) > INFLATED_LIMIT:
        raise FormulaError(
            f"{what} would hold {len(raw)} bytes of JSON, more than kube reads back "
            f"({INFLATED_LIMIT}); nothing was written",
            hint="the formula renders too many or too large objects",
        )
    # mtime 0 and no file name: the same revision always encodes to the same bytes.
    packer = zlib.compressobj(6, zlib.DEFLATED, 31)
    packed = packer.compress(raw) + packer.flush()
    if len(packed) > DATA_LIMIT:
        raise FormulaError(
            f"{what} would take {len(packed)} bytes compressed, more than kube stores in one Secret "
            f"({DATA_LIMIT} of the API server's {SECRET_LIMIT}); nothing was written",
            hint="the formula renders too many or too large objects",
        )
    return packed


def check_size(rev: Revision) -> int:
    """The encoded size of ``rev`` in bytes; raises as ``encode`` does. Call it before creating anything."""
    return len(encode(rev))


def labels(rev: Revision) -> dict[str, str]:
    return {
        MANAGED_BY_LABEL: "kube",
        RECORD_LABEL: "true",
        RELEASE_LABEL: rev.release,
        REVISION_LABEL: str(rev.revision),
        STATUS_LABEL: str(rev.status),
        FORMULA_LABEL: rev.formula,
    }


def to_secret(rev: Revision) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "name": secret_name(rev.release, rev.revision),
        "namespace": rev.namespace,
        "labels": labels(rev),
    }
    if rev.resource_version:
        metadata["resourceVersion"] = rev.resource_version
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": RELEASE_TYPE,
        "metadata": metadata,
        "data": {DATA_KEY: base64.b64encode(encode(rev)).decode("ascii")},
    }


# -- reading ----------------------------------------------------------------------------------


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
        doc = json.loads(inflate(packed).decode("utf-8"))
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
    objects = tuple(RecordedObject(_ref(o), _text(o, "uid")) for o in _list(doc, "objects"))
    failures = tuple(
        Failure(_ref(o), _text(o, "reason"), _text(o, "message")) for o in _list(doc, "failures")
    )
    manifest = tuple(_manifest_object(o) for o in _list(doc, "manifest"))
    for ref in (*(o.ref for o in objects), *(f.ref for f in failures), *(ObjectRef.of(o) for o in manifest)):
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
        kube_version=_line(doc, "kubeVersion", empty=True),
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


def _ref_json(r: ObjectRef) -> dict[str, str]:
    return {"group": r.group, "version": r.version, "kind": r.kind, "namespace": r.namespace, "name": r.name}


def sort_key(rev: Revision | Unreadable) -> tuple[str, str, int]:
    return (rev.namespace, rev.release, rev.revision)


def grouped(
    found: Sequence[Revision | Unreadable],
) -> dict[tuple[str, str], list[Revision | Unreadable]]:
    """Revisions by (namespace, release), each list oldest first."""
    groups: dict[tuple[str, str], list[Revision | Unreadable]] = {}
    for rev in sorted(found, key=sort_key):
        groups.setdefault((rev.namespace, rev.release), []).append(rev)
    return groups
