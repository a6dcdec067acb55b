"""Install records: the Secret format, and reading / writing them in the real local cluster."""

from __future__ import annotations

import base64
import json

import pytest

from kube.core.errors import ClusterError, UsageError
from kube.k8s import records
from kube.k8s.kubectl import Kubectl, ObjectRef
from kube.k8s.records import COMPLETE, PARTIAL, FailedObject, Record, RecordedObject


def _record(namespace: str = "web", **changes: object) -> Record:
    fields: dict[str, object] = {
        "formula": "nginx",
        "version": "1.10.0",
        "namespace": namespace,
        "outcome": COMPLETE,
        "objects": (
            RecordedObject(ObjectRef("", "v1", "ConfigMap", namespace, "nginx-config"), "uid-1"),
            RecordedObject(ObjectRef("apps", "v1", "Deployment", namespace, "nginx"), "uid-2"),
            RecordedObject(ObjectRef("rbac.authorization.k8s.io", "v1", "ClusterRole", "", "nginx"), "uid-3"),
        ),
        "values_digest": records.values_digest({"replicas": 2}),
        "installed_at": "2024-05-01T12:00:00Z",
        "kube_version": "0.1.0",
        "created_namespace": True,
        "source": "archive",
    }
    fields.update(changes)
    return Record(**fields)  # type: ignore[arg-type]


def _document(secret: dict[str, object]) -> dict[str, object]:
    data = secret["data"]
    assert isinstance(data, dict)
    return json.loads(base64.b64decode(data[records.DATA_KEY]))  # type: ignore[no-any-return]


def test_record_round_trips_through_its_secret() -> None:
    record = _record(
        outcome=PARTIAL,
        failed=(FailedObject(ObjectRef("", "v1", "Service", "web", "x"), "Invalid", "bad port"),),
    )
    secret = records.to_secret(record)
    assert secret["type"] == "kube.sh/install.v1"
    assert secret["metadata"]["name"] == "kube.install.nginx"
    assert secret["metadata"]["labels"] == {
        "app.kubernetes.io/managed-by": "kube",
        "kube.sh/record": "true",
        "kube.sh/formula": "nginx",
    }
    assert records.from_secret(secret) == record


def test_record_document_is_versioned_and_lists_objects_in_creation_order() -> None:
    doc = _document(records.to_secret(_record()))
    assert doc["formatVersion"] == 1
    objects = doc["objects"]
    assert isinstance(objects, list)
    assert [o["kind"] for o in objects] == ["ConfigMap", "Deployment", "ClusterRole"]
    assert objects[1] == {"group": "apps", "version": "v1", "kind": "Deployment", "namespace": "web",
                          "name": "nginx", "uid": "uid-2"}  # fmt: skip
    assert doc["createdNamespace"] is True and doc["outcome"] == "complete"


def test_record_holds_a_digest_of_the_values_never_the_values() -> None:
    values = {"admin": {"password": "hunter2-secret"}}
    secret = records.to_secret(_record(values_digest=records.values_digest(values)))
    text = json.dumps(_document(secret))
    assert "hunter2-secret" not in text
    assert _document(secret)["valuesDigest"] == records.values_digest(
        {"admin": {"password": "hunter2-secret"}}
    )
    assert str(_document(secret)["valuesDigest"]).startswith("sha256:")


def test_values_digest_ignores_key_order_but_not_values() -> None:
    assert records.values_digest({"a": 1, "b": {"c": 2, "d": 3}}) == records.values_digest(
        {"b": {"d": 3, "c": 2}, "a": 1}
    )
    assert records.values_digest({"a": 1}) != records.values_digest({"a": "1"})


def test_record_written_by_a_newer_kube_is_reported_unreadable() -> None:
    secret = records.to_secret(_record())
    doc = _document(secret)
    doc["formatVersion"] = 2
    secret["data"] = {records.DATA_KEY: base64.b64encode(json.dumps(doc).encode()).decode()}
    record = records.from_secret(secret)
    assert record.outcome == records.UNREADABLE
    assert "newer" in record.problem and record.formula == "nginx"


def test_garbage_record_is_unreadable_not_a_crash() -> None:
    secret = records.to_secret(_record())
    secret["data"] = {records.DATA_KEY: "!!not base64!!"}
    assert records.from_secret(secret).outcome == records.UNREADABLE


@pytest.mark.parametrize("name", ["-rf", "Nginx", "a/b", "a.b", "", "x" * 64])
def test_record_name_refuses_names_that_are_not_formula_names(name: str) -> None:
    with pytest.raises(UsageError):
        records.record_name(name)


@pytest.mark.cluster
def test_records_are_written_read_listed_and_replaced_in_the_cluster(namespace: str) -> None:
    kubectl = Kubectl()
    first = _record(namespace, outcome=PARTIAL, created_namespace=False)
    records.write_record(kubectl, first, replace=False)

    read = records.read_record(kubectl, "nginx", namespace)
    assert read == first and read is not None and read.resource_version
    assert records.read_record(kubectl, "absent", namespace) is None
    assert [r.formula for r in records.list_records(kubectl, namespace)] == ["nginx"]
    assert (namespace, "1.10.0") in records.installed_versions("nginx", kubectl)

    records.write_record(kubectl, replace_outcome(read, COMPLETE), replace=True)
    again = records.read_record(kubectl, "nginx", namespace)
    assert again is not None and again.outcome == COMPLETE
    with pytest.raises(ClusterError):  # the resourceVersion read first is no longer current
        records.write_record(kubectl, replace_outcome(read, PARTIAL), replace=True)
    with pytest.raises(ClusterError, match="could not write the install record"):
        records.write_record(kubectl, first, replace=False)


def replace_outcome(record: Record, outcome: str) -> Record:
    from dataclasses import replace

    return replace(record, outcome=outcome)


@pytest.mark.cluster
def test_list_ignores_secrets_that_only_look_like_records(namespace: str, kubectl: object) -> None:
    impostor = {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {"name": "kube.install.fake", "namespace": namespace,
                     "labels": {"app.kubernetes.io/managed-by": "kube", "kube.sh/record": "true"}},
    }  # fmt: skip
    assert callable(kubectl)
    kubectl("create", "-f", "-", input=json.dumps(impostor))
    assert records.list_records(Kubectl(), namespace) == []
    assert records.read_record(Kubectl(), "fake", namespace) is None


def _tampered(**changes: object) -> Record:
    """The record of a Secret kube wrote, after someone edited its document."""
    secret = records.to_secret(_record())
    doc = _document(secret)
    doc.update(changes)
    secret["data"] = {records.DATA_KEY: base64.b64encode(json.dumps(doc).encode()).decode()}
    return records.from_secret(secret)


def _entry(namespace: str) -> dict[str, str]:
    return {
        "group": "",
        "version": "v1",
        "kind": "ConfigMap",
        "namespace": namespace,
        "name": "x",
        "uid": "u",
    }


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"namespace": "kube-system"}, "names namespace 'kube-system' but lives in 'web'"),
        ({"formula": "other"}, "does not match its name"),
        ({"outcome": "done"}, "unknown outcome 'done'"),
        ({"objects": [_entry("kube-system")]}, "lists ConfigMap/x in namespace kube-system, outside web"),
        ({"objects": "everything"}, "objects is not a list"),
        ({"objects": ["x"]}, "an object entry is not a JSON object"),
        ({"allowedNamespaces": ["Not Valid"]}, "invalid allowed namespace"),
    ],
)
def test_a_record_that_does_not_hold_together_is_unreadable(changes: dict[str, object], problem: str) -> None:
    record = _tampered(**changes)
    assert record.outcome == records.UNREADABLE and problem in record.problem


def test_objects_in_an_allowed_namespace_are_part_of_a_valid_record() -> None:
    record = _tampered(objects=[_entry("monitoring")], allowedNamespaces=["monitoring"])
    assert record.outcome == COMPLETE and record.allowed_namespaces == ("monitoring",)


def test_status_marks_a_record_whose_objects_are_missing() -> None:
    from dataclasses import replace

    assert replace(_record(), missing=2).status == "complete (2 objects missing)"
    assert replace(_record(), missing=0).status == "complete"
    assert replace(_record(outcome=records.PENDING), missing=1).status == "pending (1 object missing)"
