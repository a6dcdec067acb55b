"""The hand-over of the fields ``kubectl create`` owns to kube's apply (kube.install.field_owners).

The managed fields below are the shape a real API server writes for a ConfigMap made with
``kubectl create`` and then applied by kube (tests/test_upgrade.py runs the whole upgrade on
the local control plane); here, the cases a cluster cannot be made to show on demand.
"""

from __future__ import annotations

from typing import Any

from kube.install.field_owners import handed_over
from kube.install.shared import SHARED_BY


def created(fields: dict[str, Any], *extra: dict[str, Any]) -> dict[str, Any]:
    entry = {
        "manager": "kubectl-create", "operation": "Update", "apiVersion": "v1",
        "time": "2026-12-08T01:00:00Z", "fieldsType": "FieldsV1", "fieldsV1": fields,
    }  # fmt: skip
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "managedFields": [entry, *extra]},
    }


DATA = {"f:data": {".": {}, "f:a": {}, "f:b": {}}}


def test_create_owned_fields_become_kubes_apply_entry() -> None:
    moved = handed_over(created(DATA))
    assert moved is not None
    [entry] = moved["metadata"]["managedFields"]
    assert (entry["manager"], entry["operation"], entry["apiVersion"]) == ("kube", "Apply", "v1")
    assert entry["fieldsV1"] == DATA


def test_merged_into_kubes_existing_apply_entry() -> None:
    mine = {"manager": "kube", "operation": "Apply", "apiVersion": "v1", "fieldsType": "FieldsV1",
            "fieldsV1": {"f:data": {"f:c": {}}}}  # fmt: skip
    other = {"manager": "kubectl-edit", "operation": "Update", "apiVersion": "v1", "fieldsType": "FieldsV1",
             "fieldsV1": {"f:data": {"f:d": {}}}}  # fmt: skip
    moved = handed_over(created(DATA, mine, other))
    assert moved is not None
    entries = {e["manager"]: e["fieldsV1"] for e in moved["metadata"]["managedFields"]}
    assert entries == {
        "kube": {"f:data": {".": {}, "f:a": {}, "f:b": {}, "f:c": {}}},
        "kubectl-edit": other["fieldsV1"],
    }


def test_the_shared_by_annotation_stays_with_create_and_alone_is_not_moved() -> None:
    fields = {"f:metadata": {"f:annotations": {".": {}, f"f:{SHARED_BY}": {}}}, **DATA}
    moved = handed_over(created(fields))
    assert moved is not None
    entries = {e["manager"]: e["fieldsV1"] for e in moved["metadata"]["managedFields"]}
    assert entries["kubectl-create"] == {"f:metadata": {"f:annotations": {f"f:{SHARED_BY}": {}}}}
    assert entries["kube"] == {"f:metadata": {"f:annotations": {".": {}}}, **DATA}
    # What is left after the hand-over is not handed over again on the next upgrade.
    assert handed_over(moved) is None


def test_nothing_to_move_or_not_movable() -> None:
    assert handed_over({"metadata": {"name": "c"}}) is None  # managed fields not shown
    assert handed_over({"metadata": {"managedFields": "bogus"}}) is None
    other_version = {"manager": "kube", "operation": "Apply", "apiVersion": "v2", "fieldsType": "FieldsV1",
                     "fieldsV1": {"f:spec": {}}}  # fmt: skip
    assert handed_over(created(DATA, other_version)) is None
    status = created(DATA)
    status["metadata"]["managedFields"][0]["subresource"] = "status"
    assert handed_over(status) is None


def test_dropped_names_what_create_owns_and_the_manifest_no_longer_sets() -> None:
    fields = {
        "f:metadata": {
            "f:annotations": {".": {}, "f:team": {}, f"f:{SHARED_BY}": {}},
            "f:labels": {"f:x": {}},
        },
        "f:data": {".": {}, "f:a": {}, "f:b": {}},
    }
    edit = {"manager": "kubectl-edit", "operation": "Update", "apiVersion": "v1", "fieldsType": "FieldsV1",
            "fieldsV1": {"f:data": {"f:c": {}}, "f:metadata": {"f:labels": {"f:x": {}}}}}  # fmt: skip
    live = created(fields, edit)
    live["metadata"]["annotations"] = {"team": "a", SHARED_BY: "ns/r"}
    live["data"] = {"a": "1", "b": "2", "c": "3"}
    sent = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}}
    from kube.install.field_owners import dropped, without

    # b and team go; c is kubectl-edit's, the label x is also kubectl-edit's, shared-by stays.
    before = {
        "metadata": {"name": "c", "annotations": {"team": "a"}, "labels": {"x": "y"}},
        "data": {"a": "1", "b": "2"},
    }
    paths = dropped(live, sent, before)
    assert sorted(paths) == [("data", "b"), ("metadata", "annotations", "team")]
    shown = without(live, paths)
    assert shown["data"] == {"a": "1", "c": "3"} and shown["metadata"]["annotations"] == {SHARED_BY: "ns/r"}
    assert live["data"]["b"] == "2"  # a copy
    # Nothing left to hand over (kube applied it since): nothing dropped by the hand-over.
    assert dropped({"metadata": {"managedFields": []}}, sent) == []


def test_dropped_also_names_what_kubes_own_apply_set_before() -> None:
    from kube.install.field_owners import dropped

    mine = {"manager": "kube", "operation": "Apply", "apiVersion": "v1", "fieldsType": "FieldsV1",
            "fieldsV1": {"f:data": {"f:z": {}, "f:a": {}}}}  # fmt: skip
    live = {"metadata": {"managedFields": [mine]}, "data": {"a": "1", "z": "9"}}
    assert dropped(live, {"data": {"a": "1"}}) == [("data", "z")]
    # A whole map the manifest no longer has, none of it anyone else's: the map goes.
    assert dropped(live, {"metadata": {}}) == [("data",)]


def test_only_what_kube_sent_moves_the_servers_defaults_stay_with_create() -> None:
    from kube.install.field_owners import dropped

    # kubectl create's entry also owns what the API server defaulted at create time.
    fields = {
        "f:spec": {
            ".": {},
            "f:replicas": {},
            "f:strategy": {"f:type": {}, "f:rollingUpdate": {".": {}, "f:maxSurge": {}}},
            "f:template": {"f:spec": {"f:dnsPolicy": {}, "f:containers": {'k:{"name":"web"}': {".": {}}}}},
        }
    }
    live = created(fields)
    live["kind"], live["apiVersion"] = "Deployment", "apps/v1"
    live["spec"] = {
        "replicas": 1,
        "strategy": {"type": "RollingUpdate"},
        "template": {"spec": {"dnsPolicy": "x"}},
    }
    before = {"spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "web"}]}}}}
    moved = handed_over(live, before)
    assert moved is not None
    entries = {e["manager"]: e["fieldsV1"] for e in moved["metadata"]["managedFields"]}
    assert entries["kube"] == {
        "f:spec": {
            ".": {},
            "f:replicas": {},
            "f:template": {"f:spec": {"f:containers": {'k:{"name":"web"}': {".": {}}}}},
        }
    }
    assert entries["kubectl-create"] == {
        "f:spec": {
            "f:strategy": fields["f:spec"]["f:strategy"],
            "f:template": {"f:spec": {"f:dnsPolicy": {}}},
        }
    }
    # The same manifest again drops nothing: the defaults are not kube's to drop.
    assert dropped(live, before, before) == []
    # Without the previous manifest, nothing of create's counts as dropped.
    assert dropped(live, {"spec": {}}) == []
    assert dropped(live, {"spec": {"template": before["spec"]["template"]}}, before) == [("spec", "replicas")]
