"""Drift: has an object of a release been edited since kube sent it?

As KPM did, kube annotates every object it sends with ``kube.sh/content-hash``: the hash of
what it sent. The rule for "edited", exact and simple:

    ``content_hash(sent)`` is "sha256:" + the hex SHA-256 of the canonical JSON (sorted keys,
    no spaces) of the object as kube sent it, without the content-hash annotation itself.

    A live object is *edited* when the same hash, recomputed over the live object's values at
    exactly the fields kube sent (``project``: every key kube sent, recursively; a list
    element by element, and the whole list when its length differs), differs from the hash
    kube recorded: the annotation on the live object, or, when the annotation was removed, the
    hash of the manifest the revision holds.

Fields the API server adds (``status``, ``uid``, defaults such as ``imagePullPolicy``) are
not fields kube sent, so they never count; a field kube sent that someone changed or removed
does. A Secret's ``stringData`` is never returned by the API server: it is compared as the
``data`` it became (base64). Labels and annotations kube sent count like any other field; ones
added by hand or by controllers do not.

The hash is a quick first test: the API server does not store every object in the words it was
sent (it omits empty values, drops fields its version or feature gates lack, writes ``cpu: 0.5``
as ``500m``). A re-install therefore confirms each object the hash calls edited with the server
itself (``kube.install.create``: a dry-run apply of what kube sent, compared at the same fields).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from kube.k8s.objects import LABEL_PREFIX, copy_data

CONTENT_HASH_ANNOTATION = f"{LABEL_PREFIX}/content-hash"
ABSENT = {"kube.sh/absent": True}  # stands for a field kube sent that the live object lacks


def comparable(sent: Mapping[str, Any]) -> dict[str, Any]:
    """``sent`` as the API server will return it, minus the content-hash annotation."""
    data: dict[str, Any] = copy_data(dict(sent))
    meta = data.get("metadata")
    if isinstance(meta, dict) and isinstance(meta.get("annotations"), dict):
        annotations = {k: v for k, v in meta["annotations"].items() if k != CONTENT_HASH_ANNOTATION}
        if annotations:
            meta["annotations"] = annotations
        else:
            del meta["annotations"]
    if data.get("kind") == "Secret" and isinstance(data.get("stringData"), dict):
        merged = dict(data.get("data") or {})
        for key, value in data.pop("stringData").items():
            merged[key] = base64.b64encode(str(value).encode("utf-8")).decode("ascii")
        data["data"] = merged
    return data


def content_hash(sent: Mapping[str, Any]) -> str:
    canonical = json.dumps(comparable(sent), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def annotate(data: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``data`` carrying its content-hash annotation."""
    annotated: dict[str, Any] = copy_data(dict(data))
    meta = annotated.setdefault("metadata", {})
    annotations = meta.get("annotations")
    annotations = dict(annotations) if isinstance(annotations, dict) else {}
    annotations[CONTENT_HASH_ANNOTATION] = content_hash(annotated)
    meta["annotations"] = annotations
    return annotated


def project(live: Any, sent: Any) -> Any:
    """The live values at exactly the fields of ``sent``."""
    if isinstance(sent, Mapping):
        if not isinstance(live, Mapping):
            return live
        return {k: project(live[k], v) if k in live else ABSENT for k, v in sent.items()}
    if isinstance(sent, list):
        if not isinstance(live, list) or len(live) != len(sent):
            return live
        return [project(item, s) for item, s in zip(live, sent, strict=True)]
    return live


def edited(live: Mapping[str, Any], sent: Mapping[str, Any]) -> bool:
    """Whether ``live`` was edited since kube sent ``sent`` (the module docstring's rule)."""
    meta = live.get("metadata")
    annotations = meta.get("annotations") if isinstance(meta, Mapping) else None
    recorded = annotations.get(CONTENT_HASH_ANNOTATION) if isinstance(annotations, Mapping) else None
    expected = comparable(sent)
    now = project(live, expected)
    canonical = json.dumps(now, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    found = "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return found != (recorded if isinstance(recorded, str) and recorded else content_hash(sent))
