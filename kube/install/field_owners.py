"""Hand the fields ``kubectl create`` wrote at install to the upgrade's field manager.

``kube install`` creates objects with ``kubectl create``: the API server records every field it
sent as owned by the manager ``kubectl-create`` (an Update). An upgrade or a rollback applies as
the manager ``kube`` (server-side apply), and server-side apply removes a field only when its own
manager applied it before, no longer sends it, and no other manager owns it. So without a hand-over
a field that a later version of the formula drops (a ConfigMap key, an env entry, an annotation)
would stay on the object for good, owned by ``kubectl-create``: the release would not be what its
manifest says (Helm's three-way merge removes it).

Before the first apply over objects kube created, each one's ``kubectl-create`` entry is merged
into the ``kube`` Apply entry (kubectl's own upgrade from client-side to server-side apply moves
ownership the same way), in one ``kubectl replace`` per apply, each object conditional on the
resourceVersion read: an object changed meanwhile keeps its owners, and the apply goes on. The
annotation naming the users of a shared object (``kube.sh/shared-by``, written at create time
and by patches, never by a manifest kube applies) stays with ``kubectl-create``, or the apply would
remove it. Nothing is handed over when the ``kube`` entry is for another apiVersion (the two field
sets would need the API server's conversion).

A dry run (``kube upgrade --dry-run``, ``kube diff``) writes nothing, so the server's dry-run apply
still sees the fields with ``kubectl create``: ``dropped`` names those the apply would remove
after the hand-over, and they are taken out of what the dry run shows.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from kube.k8s.objects import SHARED_BY

__all__ = ["APPLY_MANAGER", "CREATE_MANAGER", "dropped", "handed_over", "without"]

CREATE_MANAGER = "kubectl-create"
APPLY_MANAGER = "kube"
_APPLY = (APPLY_MANAGER, "Apply")
#: The field of a create entry that stays with it: kube's annotation of a shared object's users.
_KEPT = ("f:metadata", "f:annotations", f"f:{SHARED_BY}")


def handed_over(
    live: Mapping[str, Any], sent_before: Mapping[str, Any] | None = None
) -> dict[str, Any] | None:
    """``live`` with the fields its ``kubectl-create`` entries own moved to ``kube``'s Apply entry
    (see the module docstring); None when there is nothing to move, or it cannot be moved.
    ``sent_before``: the object as kube last sent it; only the fields it sets move. kubectl
    create's entry also owns what the API server defaulted at create time (a Deployment's
    ``strategy``, a Pod's ``dnsPolicy``), which must stay where it is: handed to kube, every
    apply would drop and default it again, and a dry run would show it going."""
    meta = live.get("metadata")
    entries = meta.get("managedFields") if isinstance(meta, Mapping) else None
    moving = _moving(entries, sent_before)
    if not moving:
        return None
    assert isinstance(meta, Mapping) and isinstance(entries, list)
    new = [copy.deepcopy(dict(e)) for e in entries]
    target = next((e for e in new if (e.get("manager"), e.get("operation")) == _APPLY), None)
    for i, (fields, kept) in moving.items():
        entry = new[i]
        if target is None:
            target = {
                "manager": APPLY_MANAGER,
                "operation": "Apply",
                "apiVersion": entry.get("apiVersion"),
                "time": entry.get("time"),
                "fieldsType": "FieldsV1",
                "fieldsV1": fields,
            }
            new.append(target)
        else:
            target["fieldsV1"] = _union(target.get("fieldsV1") or {}, fields)
        entry["fieldsV1"] = kept
    out = dict(live)
    out["metadata"] = {**meta, "managedFields": [e for e in new if e.get("fieldsV1")]}
    return out


def _moving(
    entries: Any, sent_before: Mapping[str, Any] | None
) -> dict[int, tuple[dict[str, Any], dict[str, Any]]]:
    """The ``kubectl-create`` entries of ``entries`` (``managedFields``) that hand fields over, by
    index, each as (what moves, what stays); empty when none does, or when they cannot: a
    ``kube`` Apply entry for another apiVersion would need the API server's conversion."""
    if not isinstance(entries, list) or not all(isinstance(e, Mapping) for e in entries):
        return {}
    creates = [
        (i, e["fieldsV1"])
        for i, e in enumerate(entries)
        if _is_create(e) and isinstance(e.get("fieldsV1"), Mapping)
    ]
    moving = {i: parts for i, fields in creates if (parts := _parts(fields, sent_before))[0]}
    apply = next((e for e in entries if (e.get("manager"), e.get("operation")) == _APPLY), None)
    if apply is not None and any(entries[i].get("apiVersion") != apply.get("apiVersion") for i in moving):
        return {}
    return moving


def _parts(
    fields: Mapping[str, Any], sent_before: Mapping[str, Any] | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A create entry's fields as (what moves, what stays): what ``sent_before`` sets (all, when
    it is not known), but kube's annotation of a shared object's users."""
    moving, kept = _split(fields)
    if sent_before is None:
        return moving, kept
    restricted = _restrict(moving, sent_before)
    return restricted, _union(kept, _subtract(moving, restricted))


def _restrict(fields: Mapping[str, Any], sent: Any) -> dict[str, Any]:
    """The part of a FieldsV1 tree that the object ``sent`` sets: a map it sets is followed key
    by key, a list or a value it sets is taken whole."""
    out: dict[str, Any] = {}
    if not isinstance(sent, Mapping):
        return out
    for key, child in fields.items():
        if key == ".":
            out[key] = {}
        elif key.startswith("f:") and key[2:] in sent:
            value = sent[key[2:]]
            if isinstance(value, Mapping) and isinstance(child, Mapping) and child:
                if sub := _restrict(child, value):
                    out[key] = sub
            else:
                out[key] = copy.deepcopy(child)
    return out if set(out) != {"."} else {}


def _subtract(fields: Mapping[str, Any], taken: Mapping[str, Any]) -> dict[str, Any]:
    """``fields`` without what ``taken`` (a part of it, from ``_restrict``) holds."""
    out: dict[str, Any] = {}
    for key, child in fields.items():
        if key not in taken:
            out[key] = copy.deepcopy(child)
        elif isinstance(child, Mapping) and child and taken[key] and (rest := _subtract(child, taken[key])):
            out[key] = rest
    return out


def _is_create(entry: Mapping[str, Any]) -> bool:
    return (
        entry.get("manager") == CREATE_MANAGER
        and entry.get("operation") == "Update"
        and entry.get("fieldsType") == "FieldsV1"
        and not entry.get("subresource")
    )


def _split(fields: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``fields`` (a FieldsV1 tree) as (what moves, what stays: ``_KEPT`` when it is there)."""
    moving = copy.deepcopy(dict(fields))
    node: Any = moving
    for key in _KEPT[:-1]:
        node = node.get(key) if isinstance(node, dict) else None
    if not isinstance(node, dict) or _KEPT[-1] not in node:
        return moving, {}
    leaf = node.pop(_KEPT[-1])
    kept: dict[str, Any] = {}
    cursor = kept
    for key in _KEPT[:-1]:
        cursor = cursor.setdefault(key, {})
    cursor[_KEPT[-1]] = leaf
    return _pruned(moving), kept


def _pruned(tree: dict[str, Any]) -> dict[str, Any]:
    """``tree`` without the maps that the split left empty (``{}`` leaves stay: they are fields)."""
    annotations = tree.get("f:metadata", {}).get("f:annotations")
    if annotations == {}:
        del tree["f:metadata"]["f:annotations"]
    if tree.get("f:metadata") == {}:
        del tree["f:metadata"]
    return tree


def _union(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: copy.deepcopy(v) for k, v in a.items()}
    for key, value in b.items():
        mine = out.get(key)
        if isinstance(mine, Mapping) and isinstance(value, Mapping):
            out[key] = _union(mine, value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def dropped(
    live: Mapping[str, Any], sent: Mapping[str, Any], sent_before: Mapping[str, Any] | None = None
) -> list[tuple[str, ...]]:
    """The fields of ``live`` an apply of ``sent`` would remove: those ``kube``'s apply owns, or
    will own once ``kubectl create``'s are handed over (those ``sent_before`` set; none when it
    is not known), that ``sent`` does not set and no other manager owns. Fields inside list
    items are left to the API server (their keys are the list's own): a dry run shows what the
    server says of those."""
    meta = live.get("metadata")
    entries = meta.get("managedFields") if isinstance(meta, Mapping) else None
    if not isinstance(entries, list):
        return []
    moving = _moving(entries, sent_before) if sent_before is not None else {}
    mine: dict[str, Any] = {}
    others: dict[str, Any] = {}
    for i, entry in enumerate(entries):
        fields = entry.get("fieldsV1") if isinstance(entry, Mapping) else None
        if not isinstance(fields, Mapping):
            continue
        if i in moving:
            move, stay = moving[i]
            mine, others = _union(mine, move), _union(others, stay)
        elif (entry.get("manager"), entry.get("operation")) == _APPLY:
            mine = _union(mine, fields)
        else:
            others = _union(others, fields)
    found: list[tuple[str, ...]] = []
    _walk(mine, sent, others, (), found)
    return found


def _walk(
    owned: Mapping[str, Any], sent: Any, others: Any, path: tuple[str, ...], found: list[tuple[str, ...]]
) -> None:
    for key, child in owned.items():
        if not key.startswith("f:"):
            continue  # "." (the map itself) or a list item ("k:", "v:", "i:")
        name = key[2:]
        theirs = others.get(key) if isinstance(others, Mapping) else None
        if isinstance(sent, Mapping) and name in sent:
            if isinstance(child, Mapping) and child:
                _walk(child, sent[name], theirs, (*path, name), found)
        elif theirs is None:
            found.append((*path, name))
        elif isinstance(child, Mapping) and child:
            _walk(child, None, theirs, (*path, name), found)


def without(obj: Mapping[str, Any], paths: list[tuple[str, ...]]) -> dict[str, Any]:
    """A copy of ``obj`` with the fields at ``paths`` removed (those it has)."""
    out = copy.deepcopy(dict(obj))
    for path in paths:
        node: Any = out
        for key in path[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(path[-1], None)
    return out
