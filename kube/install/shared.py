"""Shared cluster-scoped objects: created once, used by every release that declares them, deleted
with the last.

A formula's CustomResourceDefinition, ClusterRole or other cluster-scoped object exists once in
the cluster, however many namespaces the formula is installed in. kube writes its users on the
object, in the annotation ``kube.sh/shared-by``: the releases as ``namespace/release``, comma
separated. Each user's revision lists the object too (with its uid), so ``kube status`` and
``kube uninstall`` of every user know it.

- Install. The first release creates the object with itself in the annotation. A later release
  of the *same formula* whose create meets ``AlreadyExists`` joins it: when the object carries
  kube's managed-by label and that formula's label, and is what this release renders, the
  release adds itself to the annotation (a merge patch conditional on the resourceVersion read,
  retried once) and reports it ``exists`` ("shared with ..."). Any other object of that name
  (made by hand, by another tool, by another formula) is never adopted: the install fails on it
  as before (``AlreadyExists``, exit 8), with a line saying whose it is.
- "What this release renders" is read as the drift check reads an object
  (``kube.k8s.releases_drift``): the live values at exactly the fields the release would send,
  ``metadata`` (name, labels, annotations) and ``status`` aside, an empty value sent ("", [],
  {}, null) matching a field the API server left out. An object that differs (a
  ClusterRoleBinding whose subject is the first release's ServiceAccount, rendered from
  ``kube.namespace``) is not joined: the second release would run without what it declared,
  and changing it would take it from the first. The create fails (``AlreadyExists``, exit 8)
  with the first field that differs, both values and whose it is, and is rolled back or
  recorded as any failed create is (an ``--atomic`` roll back also takes the release off the
  objects it had joined); the fix is a name unique per install, or the namespace that has it.
- The same holds for a CustomResourceDefinition, which cannot be renamed: a release of another
  version of the formula joins the CRD when that version renders it the same; when the schema
  changed between versions, the install is refused with both versions named (install the
  version that made it, or upgrade its users first), since an install never changes what
  another release uses.
- Upgrade and rollback. The same rule: a release applies a shared object it renders otherwise
  only when it is its last user that still exists. While other releases use it, the apply is
  refused before anything is sent (``kube.install.apply``: which releases, the first field that
  differs), unless ``kube upgrade --force``, which changes it for them and says so.
- Uninstall and prune. A shared object whose annotation names other releases that still exist
  is not deleted: the release takes itself off the annotation (``kept``, "still used by ...").
  The last user deletes it, unless it is annotated ``kube.sh/resource-policy: keep`` or
  ``kube.sh/keep: "true"``.
- A CustomResourceDefinition is never deleted while custom resources of it remain that the
  release does not delete itself: the uninstall reports it ``failed`` ("N custom resources
  remain: ..."), keeps the release's record, and can be run again once they are gone (or the
  CRD is annotated keep).

The annotation is written at create time and by patches, never by the manifests kube applies, so
an upgrade's server-side apply leaves it alone, and the drift check (which compares only fields
kube sent) does not see it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from kube.core.errors import ClusterError
from kube.k8s.kubectl import Kubectl, ObjectRef, Outcome
from kube.k8s.kubectl_output import Reason
from kube.k8s.objects import SHARED_BY as SHARED_BY
from kube.k8s.objects import VERSION_LABEL
from kube.k8s.release_names import RELEASE_LABEL
from kube.k8s.releases_drift import ABSENT, comparable, project

SHARED = "Shared"  # the reason of a create outcome: AlreadyExists, and joined as a user
CRD = ("apiextensions.k8s.io", "CustomResourceDefinition")
_SHOWN = 3
_NOT_CONTENT = ("metadata", "status")  # name, labels, annotations; what the API server reports
_LONGEST = 60  # characters of a value a refusal shows


def user(namespace: str, release: str) -> str:
    return f"{namespace}/{release}"


def is_shared(ref: ObjectRef, install_namespace: str) -> bool:
    """Whether ``ref`` follows the sharing rule: cluster-scoped, and not the install namespace."""
    return not ref.namespace and not (
        ref.group == "" and ref.kind == "Namespace" and ref.name == install_namespace
    )


def users_of(live: Mapping[str, Any] | None) -> list[str]:
    annotations = _meta(live or {}).get("annotations") or {}
    text = annotations.get(SHARED_BY) if isinstance(annotations, Mapping) else None
    if not isinstance(text, str):
        return []
    return [u for u in (p.strip() for p in text.split(",")) if u.count("/") == 1]


def with_user(data: Mapping[str, Any], me: str) -> dict[str, Any]:
    """``data`` (an object about to be created) with ``me`` as its one user."""
    out = dict(data)
    meta = dict(out.get("metadata") or {})
    meta["annotations"] = {**(meta.get("annotations") or {}), SHARED_BY: me}
    out["metadata"] = meta
    return out


def listing(names: Sequence[str]) -> str:
    more = f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else ""
    return ", ".join(names[:_SHOWN]) + more


def _resource(ref: ObjectRef) -> str:
    return f"{ref.kind}.{ref.group}" if ref.group else ref.kind


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def _set_users(kubectl: Kubectl, ref: ObjectRef, live: Mapping[str, Any], change: Any) -> dict[str, Any]:
    """Write ``change(users)`` as the users of ``ref``, conditional on the resourceVersion of
    ``live``; on a conflict (another release changed it meanwhile) read it again and retry once."""
    for attempt in (1, 2):
        users = change(users_of(live))
        patch = {
            "metadata": {
                "resourceVersion": str(_meta(live).get("resourceVersion", "")),
                "annotations": {SHARED_BY: ",".join(users) if users else None},
            }
        }
        try:
            return kubectl.patch_named(_resource(ref), ref.name, None, patch)
        except ClusterError as exc:
            conflict = "conflict" in exc.message.lower() or "modified" in exc.message.lower()
            if attempt == 2 or not conflict:
                raise
            live = kubectl.get_named(_resource(ref), ref.name, None) or {}
    raise AssertionError("unreachable")  # pragma: no cover


def _add(me: str) -> Any:
    return lambda users: users if me in users else [*users, me]


def _drop(me: str) -> Any:
    return lambda users: [u for u in users if u != me]


def refusal(live: Mapping[str, Any], formula: str, sent: Mapping[str, Any] | None = None) -> str:
    """Why a release of ``formula`` may not share ``live`` ("" when it may); with ``sent`` (the
    object as this release renders it), also when the two differ."""
    from kube.k8s.objects import FORMULA_LABEL, MANAGED_BY, MANAGED_BY_LABEL, label_value

    labels = _meta(live).get("labels") or {}
    if labels.get(MANAGED_BY_LABEL) != MANAGED_BY:
        return "it exists and was not created by kube, which does not adopt it: delete it first"
    if labels.get(FORMULA_LABEL) != label_value(formula):
        return f"it exists and belongs to the formula {labels.get(FORMULA_LABEL)}, not {formula}"
    if sent is None or (found := difference(live, sent)) is None:
        return ""
    return _differs(live, sent, formula, found)


def difference(live: Mapping[str, Any], sent: Mapping[str, Any]) -> tuple[str, Any, Any] | None:
    """The first field ``sent`` sets whose value ``live`` does not have, as (path, live value,
    sent value); None when ``live`` is what ``sent`` renders (the module docstring's rule)."""
    expected = {k: v for k, v in comparable(sent).items() if k not in _NOT_CONTENT}
    now = project(live, expected)
    return None if now == expected else _first(now, expected, "")


def removal(
    live: Mapping[str, Any], sent: Mapping[str, Any], sent_before: Mapping[str, Any] | None = None
) -> tuple[str, Any, Any] | None:
    """The first field an apply of ``sent`` would remove from ``live`` (``metadata`` and
    ``status`` aside), as ``difference`` gives one; None when it removes none. ``sent_before``:
    the object as this release sent it last (``kube.install.field_owners.dropped``)."""
    from kube.install.field_owners import dropped

    for path in dropped(live, sent, sent_before):
        if path[0] in _NOT_CONTENT:
            continue
        value: Any = live
        for key in path:
            value = value.get(key, ABSENT) if isinstance(value, Mapping) else ABSENT
        if value is not ABSENT:
            return ".".join(path), value, ABSENT
    return None


def _first(now: Any, want: Any, path: str) -> tuple[str, Any, Any] | None:
    """Walk ``now`` (``project``'s view of live) and ``want`` together, to the first difference."""
    if now is ABSENT:
        # The API server drops empty fields (omitempty): a formula that writes `rules: []` or
        # `apiGroup: ""` sends what the live object stores as nothing.
        return None if _empty(want) else (path, now, want)
    if isinstance(want, Mapping) and isinstance(now, Mapping):
        return next((f for k, v in want.items() if (f := _first(now[k], v, _dotted(path, k)))), None)
    if isinstance(want, list) and isinstance(now, list) and len(now) == len(want):
        pairs = enumerate(zip(now, want, strict=True))
        return next((f for i, (n, w) in pairs if (f := _first(n, w, f"{path}[{i}]"))), None)
    return None if now == want else (path, now, want)


def _dotted(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _empty(value: Any) -> bool:
    if isinstance(value, Mapping):
        return all(_empty(v) for v in value.values())
    return value is None or value == "" or value == []


def _shown(value: Any) -> str:
    if value is ABSENT:
        return "not set"
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= _LONGEST else text[: _LONGEST - 1] + "…"


def _differs(
    live: Mapping[str, Any], sent: Mapping[str, Any], formula: str, found: tuple[str, Any, Any]
) -> str:
    """The refusal of an object this release renders otherwise: the first field that differs,
    whose the live object is, and what to do."""
    what = _field(found)
    users = users_of(live)
    made = (_meta(live).get("labels") or {}).get(RELEASE_LABEL)
    whose = f"shared by {listing(users)}" if users else f"release {made}'s" if made else "made by kube"
    theirs = str((_meta(live).get("labels") or {}).get(VERSION_LABEL) or "(unknown version)")
    mine = str((_meta(sent).get("labels") or {}).get(VERSION_LABEL) or "(unknown version)")
    versions = f" ({formula} {mine}; it was made by {formula} {theirs})" if theirs != mine else ""
    hint = _hint(ObjectRef.of(sent), users, formula, (theirs, mine) if versions else None)
    return f"it exists ({whose}) and differs from this release's{versions}: {what}; {hint}"


def _field(found: tuple[str, Any, Any]) -> str:
    path, now, want = found
    if isinstance(now, list) and isinstance(want, list):
        return f"{path} has {_items(len(now))}, this release renders {len(want)}"
    return f"{path} is {_shown(now)}, this release renders {_shown(want)}"


def changed_for(
    live: Mapping[str, Any],
    sent: Mapping[str, Any],
    others: Sequence[str],
    sent_before: Mapping[str, Any] | None = None,
) -> str:
    """Why applying ``sent`` over ``live`` changes the object for ``others`` (its other users
    that still exist): who they are and the first field that differs, or that the apply would
    remove (``kube.install.field_owners.dropped``); "" when it renders the same."""
    found = difference(live, sent) or removal(live, sent, sent_before)
    if found is None or not others:
        return ""
    return f"shared with {listing(list(others))}; the upgrade would change it for them: {_field(found)}"


def _hint(ref: ObjectRef, users: Sequence[str], formula: str, versions: tuple[str, str] | None) -> str:
    """What to do about an object another release renders otherwise (``versions``: theirs and
    mine, when the formula's versions differ)."""
    namespaces = sorted({u.split("/")[0] for u in users})
    there = "the namespace that has it"
    if namespaces:
        there = f"namespace {' or '.join(namespaces)}, which has it"
    if (ref.group, ref.kind) != CRD:
        return (
            "make its name unique per install (template it with {{ kube.namespace }}), "
            f"or install into {there}"
        )
    if versions is None:
        return (
            "a CustomResourceDefinition is one per cluster: install with values that render it "
            f"the same, or into {there}"
        )
    theirs, mine = versions
    who = listing(list(users)) or "its release"
    return (
        "a CustomResourceDefinition is one per cluster, and an install does not change it under "
        f"another release: install {formula} {theirs} here, or upgrade {who} to {mine} first "
        "(`kube upgrade RELEASE -n NAMESPACE`)"
    )


def _items(count: int) -> str:
    return f"{count} item" if count == 1 else f"{count} items"


def join(
    kubectl: Kubectl,
    outcomes: Sequence[Outcome],
    sent: Sequence[Mapping[str, Any]],
    *,
    formula: str,
    me: str,
    install_namespace: str,
) -> list[Outcome]:
    """``outcomes`` of a create of ``sent`` (the objects as this release renders them), with each
    cluster-scoped ``AlreadyExists`` that is this formula's object, and what ``sent`` renders,
    joined (ok, reason ``Shared``); any other keeps failing, with whose it is (one ``kubectl get``
    for all of them, one patch per object joined)."""
    candidates = [
        i
        for i, o in enumerate(outcomes)
        if not o.ok and o.reason == Reason.ALREADY_EXISTS and is_shared(o.ref, install_namespace)
    ]
    if not candidates:
        return list(outcomes)
    rendered = {_key(ObjectRef.of(s)): s for s in sent}
    result = list(outcomes)
    for i, found in zip(
        candidates, kubectl.get([outcomes[i].ref for i in candidates], timeout=15), strict=True
    ):
        ref, live = outcomes[i].ref, found.live
        if live is None:
            continue
        if message := refusal(live, formula, rendered.get(_key(ref))):
            result[i] = Outcome(ref, False, None, Reason.ALREADY_EXISTS, message)
        else:
            try:
                joined = _set_users(kubectl, ref, live, _add(me))
            except ClusterError as exc:
                result[i] = Outcome(
                    ref, False, None, Reason.ALREADY_EXISTS, f"could not share it: {exc.message}"
                )
                continue
            others = [u for u in users_of(joined) if u != me]
            result[i] = Outcome(ref, True, joined or dict(live), SHARED, listing(others))
    return result


def _key(ref: ObjectRef) -> tuple[str, str, str, str]:
    # Not the version: kubectl names an object by the version it read, the formula by its own.
    return ref.group, ref.kind, ref.namespace, ref.name


def ensure_user(kubectl: Kubectl, ref: ObjectRef, live: Mapping[str, Any], me: str) -> None:
    """Add ``me`` to the users of ``live`` (an object an upgrade applied) when it is not one yet."""
    if me not in users_of(live):
        _set_users(kubectl, ref, live, _add(me))


def drop_user(kubectl: Kubectl, ref: ObjectRef, live: Mapping[str, Any], me: str) -> None:
    """Take ``me`` off the users of ``live`` (an object a rolled back install had joined)."""
    if me in users_of(live):
        _set_users(kubectl, ref, live, _drop(me))


def remaining_users(live: Mapping[str, Any], me: str, existing: set[str] | None) -> list[str]:
    """The other users of ``live`` that still exist (``existing``: every release as
    ``namespace/release``; None when kube may not list them: the annotation is trusted)."""
    others = [u for u in users_of(live) if u != me]
    return others if existing is None else [u for u in others if u in existing]


def existing_releases(kubectl: Kubectl) -> set[str] | None:
    """Every release of the cluster as ``namespace/release``; None when kube may not list them."""
    from kube.k8s import releases

    try:
        return {user(r.namespace, r.name) for r in releases.list_releases(kubectl)}
    except ClusterError:
        return None


def leave(kubectl: Kubectl, ref: ObjectRef, live: Mapping[str, Any], me: str, still: Sequence[str]) -> str:
    """Take ``me`` off the users of ``live``, leaving it to ``still``; the status detail."""
    _set_users(kubectl, ref, live, lambda users: [u for u in users if u in still])
    return f"shared: still used by {listing(list(still))}"


def _served(crd: Mapping[str, Any]) -> tuple[str, str, str] | None:
    """(group, plural, kind) a CRD serves; None when its spec does not say."""
    spec = crd.get("spec") if isinstance(crd.get("spec"), Mapping) else {}
    assert isinstance(spec, Mapping)
    names = spec.get("names") if isinstance(spec.get("names"), Mapping) else {}
    assert isinstance(names, Mapping)
    group, plural, kind = spec.get("group"), names.get("plural"), names.get("kind")
    if not (isinstance(group, str) and isinstance(plural, str) and isinstance(kind, str)):
        return None
    return group, plural, kind


def custom_resources(
    kubectl: Kubectl, crd: Mapping[str, Any], spared: set[tuple[str, str, str, str]]
) -> list[str]:
    """The custom resources of ``crd`` that exist and are not in ``spared`` (group, kind,
    namespace, name), as ``namespace/name`` (or ``name``); one entry saying so when kube may not
    list them."""
    [found] = custom_resources_of(kubectl, [crd], spared)
    return found


def custom_resources_of(
    kubectl: Kubectl, crds: Sequence[Mapping[str, Any]], spared: set[tuple[str, str, str, str]]
) -> list[list[str]]:
    """``custom_resources`` of each of ``crds``, read in one ``kubectl get`` of all their
    resources; when that read fails (RBAC may refuse one kind), each is read alone, so the
    error lands on the CRD it belongs to."""
    served = [_served(crd) for crd in crds]
    kinds = [s for s in served if s is not None]
    if not kinds:
        return [[] for _ in crds]
    try:
        items = kubectl.list_objects(
            ",".join(f"{plural}.{group}" for group, plural, _ in kinds), namespace=None
        )
    except ClusterError as exc:
        if len(kinds) == 1:
            return [[f"unknown ({exc.message})"] if s else [] for s in served]  # not listed is not none
        return [custom_resources(kubectl, crd, spared) for crd in crds]
    by_kind: dict[tuple[str, str], list[str]] = {}
    for item in items:
        meta = _meta(item)
        group = str(item.get("apiVersion", "")).rpartition("/")[0]
        key = (
            group,
            str(item.get("kind", "")),
            str(meta.get("namespace") or ""),
            str(meta.get("name") or ""),
        )
        if key not in spared and not meta.get("deletionTimestamp"):
            by_kind.setdefault(key[:2], []).append(f"{key[2]}/{key[3]}" if key[2] else key[3])
    return [by_kind.get((s[0], s[2]), []) if s else [] for s in served]
