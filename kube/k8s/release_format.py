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
    patches     [{source, entries}]  the --patch sets (kube.formula.patches.PatchSet.to_json),
    manifest    [object]  the rendered objects exactly as sent to the API server,
    objects     [{group, version, kind, namespace, name, uid}]  in creation order,
    allowedNamespaces, createdNamespace,
    outcome     pending | partial | complete | failed,
    failures    [{group, version, kind, namespace, name, reason, message}],
    summary     one line: what changed from the previous revision,
    dependencies  ["<formula> <range>"]  the formula's dependencies (absent in older records),
    adopted     [{group, version, kind, namespace, name}]  objects the formula ships that existed
                already (its own Namespace): needed, not created, never deleted (absent in older records).

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
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from kube.core.errors import FormulaError, UsageError
from kube.core.text import clip, plural
from kube.k8s import records
from kube.k8s.kubectl import ObjectRef
from kube.k8s.objects import FORMULA_LABEL, LABEL_PREFIX, MANAGED_BY_LABEL
from kube.k8s.release_names import NAME_PREFIX, RECORD_LABEL, RELEASE_LABEL, validate_release_name

RELEASE_TYPE = "kube.sh/release.v2"
FORMAT_VERSION = 2
DATA_KEY = "release.json.gz"
REVISION_LABEL = f"{LABEL_PREFIX}/revision"
STATUS_LABEL = f"{LABEL_PREFIX}/status"
#: Every record, of either format: what ``kube list`` asks the API server for.
SELECTOR = records.SELECTOR

#: The API server refuses a Secret whose data passes 1 MiB.
SECRET_LIMIT = 1024 * 1024
#: What one revision may take, leaving room for what completing it adds (uids, failures).
DATA_LIMIT = 900 * 1024
#: What a document may inflate to: a reader refuses more (a decompression bomb).
INFLATED_LIMIT = 16 * 1024 * 1024
MAX_REVISION = 10**9
#: Characters of an object's failure message a revision keeps: the API server can explain one
#: refused object in 100 KB, which would fill the revision's room with one failure.
FAILURE_MESSAGE_LIMIT = 2000


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
    values: Mapping[str, Any] | None = field(default=None, hash=False)
    hook_values: Mapping[str, Any] | None = field(default=None, hash=False)
    patches: tuple[Any, ...] | None = field(default=(), hash=False)
    manifest: tuple[Mapping[str, Any], ...] | None = field(default=None, hash=False)
    objects: tuple[RecordedObject, ...] = ()
    allowed_namespaces: tuple[str, ...] = ()
    created_namespace: bool = False
    failures: tuple[Failure, ...] = ()
    summary: str = ""
    kube_version: str = ""
    format_version: int = FORMAT_VERSION
    values_digest: str = ""
    resource_version: str = field(default="", compare=False)
    # The formula's dependencies ("name range", as K3.yaml gives them): kube uninstall warns by them.
    dependencies: tuple[str, ...] = ()
    # Objects the formula ships that existed already (a Namespace it brings): the release needs
    # them but did not create them, so no uninstall deletes them (absent in older records).
    adopted: tuple[ObjectRef, ...] = ()
    # How many recorded objects the cluster no longer has; None when not checked.
    missing: int | None = field(default=None, compare=False)
    # How many recorded objects exist but are not ready (kstatus); None when not checked. Only a
    # dependency check asks: a dependency counts when it is ready, not merely recorded.
    unready: int | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.values is not None:
            object.__setattr__(self, "values_digest", records.values_digest(self.values))

    @property
    def secret_name(self) -> str:
        if self.format_version == 1:
            return records.NAME_PREFIX + self.release
        return secret_name(self.release, self.revision)

    @property
    def condition(self) -> str:
        """The outcome as people read it: ``complete``, or ``complete (2 objects missing)``;
        ``uninstalling`` while an uninstall waits for objects the API server still has."""
        notes = []
        if self.missing:
            notes.append(f"{plural(self.missing, 'object')} missing")
        if self.unready:
            notes.append(f"{plural(self.unready, 'object')} not ready")
        word = "uninstalling" if self.status is ReleaseStatus.UNINSTALLING else str(self.outcome)
        return f"{word} ({', '.join(notes)})" if notes else word

    @property
    def patch_sources(self) -> tuple[str, ...]:
        """The names of the patch files the revision recorded (``kube history`` shows them)."""
        return tuple(
            str(p["source"])[:200] for p in self.patches or () if isinstance(p, Mapping) and "source" in p
        )

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
        "failures": [
            {**_ref_json(f.ref), "reason": f.reason, "message": clip(f.message, FAILURE_MESSAGE_LIMIT)}
            for f in rev.failures
        ],
        "summary": rev.summary,
        "dependencies": list(rev.dependencies),
        "adopted": [_ref_json(r) for r in rev.adopted],
    }


def encode(rev: Revision) -> bytes:
    """The Secret data of ``rev``: gzip over compact JSON. Refuses (``FormulaError``) a revision the
    API server would not store, or one this reader would not read back."""
    validate_release_name(rev.release)
    what = f"the record of revision {rev.revision} of release {rev.release}"
    try:
        text = json.dumps(document(rev), separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:  # YAML's .nan and .inf have no JSON form
        raise FormulaError(
            f"{what} cannot be written as JSON ({exc}); nothing was written",
            hint="give numbers as finite values, or quote them as strings",
        ) from None
    raw = text.encode("utf-8")
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


def _ref_json(r: ObjectRef) -> dict[str, str]:
    return {"group": r.group, "version": r.version, "kind": r.kind, "namespace": r.namespace, "name": r.name}
