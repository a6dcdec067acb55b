"""Backup and restore of what kube manages on a cluster: every release, its revision history
and rendered manifests.

A backup is a directory::

    backup.json                         cluster, time, includeSecrets, the releases and revisions
    NAMESPACE/RELEASE/revision-N.json   each revision's record (values withheld without secrets)
    NAMESPACE/RELEASE/manifest.yaml     the latest revision's rendered objects (Secrets redacted)
    NAMESPACE/RELEASE/records/N.json    with --include-secrets only: the record Secret itself

Without ``--include-secrets`` nothing secret is written: no values, hook values or Secret data.
With it, every file is mode 0600 (the directory 0700). ``restore`` needs the record Secrets, so
it takes a backup made with ``--include-secrets``; it reads them with the same checks as any
record (a backup is hostile input), creates the latest revision's objects, then writes every
revision's record with the new objects' uids.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from kube.core.errors import ClusterError, KubeError, NotFoundError, UsageError
from kube.k8s import releases
from kube.k8s.kubectl import Kubectl, ObjectRef, validate_namespace
from kube.k8s.objects import redact_secrets
from kube.k8s.release_format import SELECTOR, document, utc_now
from kube.k8s.release_names import validate_release_name
from kube.k8s.release_read import from_secret, is_record
from kube.k8s.releases import RecordedObject, Release, Revision, Unreadable

FORMAT_VERSION = 1
INDEX = "backup.json"
_DROP_METADATA = ("uid", "resourceVersion", "creationTimestamp", "managedFields", "selfLink", "generation")


@dataclass(frozen=True)
class BackedUp:
    release: str
    namespace: str
    revisions: int
    objects: int


def _write(path: Path, text: str, *, private: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700 if private else 0o777)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    try:
        if private:
            os.fchmod(fd, 0o600)
        os.write(fd, text.encode("utf-8"))
    finally:
        os.close(fd)


def _yaml(documents: Sequence[Mapping[str, Any]]) -> str:
    import io

    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    buffer = io.StringIO()
    yaml.dump_all([json.loads(json.dumps(d)) for d in documents], buffer)
    return buffer.getvalue()


def _clean(secret: Mapping[str, Any]) -> dict[str, Any]:
    meta = {k: v for k, v in (secret.get("metadata") or {}).items() if k not in _DROP_METADATA}
    meta.pop("ownerReferences", None)
    return {"apiVersion": "v1", "kind": "Secret", "type": secret.get("type"), "metadata": meta,
            "data": secret.get("data")}  # fmt: skip


def backup(kubectl: Kubectl, out: Path, *, cluster: str, include_secrets: bool) -> list[BackedUp]:
    """Write every kube release of the cluster to ``out`` (created; must be empty if it exists)."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"--out {out}: exists and is not an empty directory", hint="choose a new directory")
    secrets = [s for s in kubectl.list_objects("secrets", namespace=None, selector=SELECTOR) if is_record(s)]
    found = releases.assemble([from_secret(s) for s in secrets])
    raw = {(s["metadata"]["namespace"], s["metadata"]["name"]): s for s in secrets}
    out.mkdir(parents=True, exist_ok=True, mode=0o700 if include_secrets else 0o777)
    done: list[BackedUp] = []
    index: list[dict[str, Any]] = []
    for release in found:
        readable = [r for r in release.revisions if r.manifest is not None and r.values is not None]
        if not readable:
            continue
        where = out / validate_namespace(release.namespace) / validate_release_name(release.name)
        for rev in readable:
            doc = {**document(rev), "status": str(rev.status)}
            if not include_secrets:
                doc["values"] = doc["hookValues"] = None
                doc["manifest"] = [redact_secrets(dict(o)) for o in doc["manifest"]]
            _write(
                where / f"revision-{rev.revision}.json",
                json.dumps(doc, indent=2) + "\n",
                private=include_secrets,
            )
            if include_secrets:
                secret = raw[(rev.namespace, rev.secret_name)]
                _write(
                    where / "records" / f"{rev.revision}.json",
                    json.dumps(_clean(secret)) + "\n",
                    private=True,
                )
        latest = readable[-1]
        manifest = [dict(o) if include_secrets else redact_secrets(dict(o)) for o in latest.manifest or ()]
        _write(where / "manifest.yaml", _yaml(manifest), private=include_secrets)
        index.append({"name": release.name, "namespace": release.namespace,
                      "revisions": [r.revision for r in readable]})  # fmt: skip
        done.append(BackedUp(release.name, release.namespace, len(readable), len(manifest)))
    summary = {"formatVersion": FORMAT_VERSION, "cluster": cluster, "time": utc_now(),
               "includeSecrets": include_secrets, "releases": index}  # fmt: skip
    _write(out / INDEX, json.dumps(summary, indent=2) + "\n", private=include_secrets)
    return done


@dataclass(frozen=True)
class Restored:
    release: str
    namespace: str
    outcome: str  # restored, skipped (exists), partial
    objects: int
    revisions: int
    detail: str = ""


def _read_backup(source: Path) -> tuple[dict[str, Any], list[Release]]:
    index_file = source / INDEX
    try:
        index = json.loads(index_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NotFoundError(f"--from {source}: no {INDEX}; not a kube backup") from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"{index_file}: cannot be read: {exc}") from None
    if not isinstance(index, dict) or index.get("formatVersion") != FORMAT_VERSION:
        raise UsageError(f"{index_file}: not a kube backup of format {FORMAT_VERSION}")
    if not index.get("includeSecrets"):
        raise UsageError(
            f"--from {source}: made without --include-secrets; it holds no values or Secrets to restore",
            hint="make the backup again with `kube cluster backup NAME --out DIR --include-secrets`",
        )
    found: list[Release] = []
    for entry in index.get("releases") or []:
        try:
            name = validate_release_name(str(entry["name"]))
            namespace = validate_namespace(str(entry["namespace"]))
            numbers = [int(n) for n in entry["revisions"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise UsageError(f"{index_file}: a release entry is not valid ({exc})") from None
        revisions: list[Revision] = []
        for number in numbers:
            path = source / namespace / name / "records" / f"{number}.json"
            try:
                secret = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise UsageError(f"{path}: cannot be read: {exc}") from None
            rev = from_secret(secret) if isinstance(secret, dict) else None
            if not isinstance(rev, Revision) or (rev.release, rev.namespace) != (name, namespace):
                problem = rev.problem if isinstance(rev, Unreadable) else "not this release's record"
                raise UsageError(f"{path}: {problem}")
            revisions.append(rev)
        found.append(Release(name, namespace, tuple(sorted(revisions, key=lambda r: r.revision))))
    return index, found


def restore(kubectl: Kubectl, source: Path, *, skip_existing: bool) -> list[Restored]:
    """Re-create the releases of a backup on this cluster. A release that exists here is an error
    (checked for all before anything changes) unless ``skip_existing``."""
    _, found = _read_backup(source)
    existing = {(r.namespace, r.name) for r in releases.list_releases(kubectl)}
    clashes = [f"{r.namespace}/{r.name}" for r in found if (r.namespace, r.name) in existing]
    if clashes and not skip_existing:
        raise UsageError(
            f"releases already on this cluster: {', '.join(clashes)}; nothing was restored",
            hint="pass --skip-existing to restore the others, or uninstall them first",
        )
    results = []
    for release in found:
        if (release.namespace, release.name) in existing:
            results.append(Restored(release.name, release.namespace, "skipped (exists)", 0, 0))
            continue
        results.append(_restore_one(kubectl, release))
    return results


def _restore_one(kubectl: Kubectl, release: Release) -> Restored:
    latest = release.revisions[-1]
    live_namespace = kubectl.get_named("namespaces", release.namespace, None)
    if live_namespace is not None and (live_namespace.get("metadata") or {}).get("deletionTimestamp"):
        raise ClusterError(
            f"namespace {release.namespace} is being deleted; nothing of {release.name} was restored",
            hint="wait until it is gone (`kubectl get namespace`), then restore again",
        )
    if live_namespace is None:
        [made] = kubectl.create(
            [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": release.namespace}}]
        )
        if not made.ok and made.reason != "AlreadyExists":
            raise ClusterError(f"cannot create namespace {release.namespace}: {made.reason}: {made.message}")
    objects = [dict(o) for o in latest.manifest or ()]
    outcomes = kubectl.create(objects)
    uids: dict[ObjectRef, str] = {}
    for outcome in outcomes:
        if outcome.ok and outcome.live is not None:
            uids[outcome.ref] = str((outcome.live.get("metadata") or {}).get("uid", ""))
    failed = [o for o in outcomes if not o.ok]

    def relinked(rev: Revision) -> Revision:
        kept = tuple(RecordedObject(o.ref, uids.get(o.ref, "")) for o in rev.objects)
        if rev is latest:
            kept = tuple(RecordedObject(ref, uid) for ref, uid in uids.items())
        return replace(rev, objects=kept, resource_version="")

    try:
        for rev in release.revisions:
            releases.write_revision(kubectl, relinked(rev))
    except KubeError as exc:
        return Restored(release.name, release.namespace, "partial", len(uids), 0, exc.message)
    detail = "; ".join(f"{o.ref.display}: {o.reason}: {o.message}" for o in failed[:3])
    return Restored(
        release.name,
        release.namespace,
        "partial" if failed else "restored",
        len(uids),
        len(release.revisions),
        detail,
    )
