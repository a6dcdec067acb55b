"""Release records (format 2): the Secret of each revision, its checks, its size, and the history
kept in the real local cluster; round-one install records read as revision 1."""

from __future__ import annotations

import base64
import gzip
import json
import time
from dataclasses import replace
from typing import Any

import pytest

from kube.core.errors import ClusterError, FormulaError, UsageError
from kube.k8s import release_format, releases
from kube.k8s.kubectl import Kubectl, ObjectRef
from kube.k8s.records import COMPLETE, Record, values_digest, write_record
from kube.k8s.records import RecordedObject as V1Object
from kube.k8s.records import to_secret as v1_secret
from kube.k8s.releases import (
    Failure,
    RecordedObject,
    Release,
    ReleaseOutcome,
    ReleaseStatus,
    Revision,
    Unreadable,
)
from tests import release_objects
from tests.cluster import Kubectl as RunKubectl

DEPLOYED = ReleaseStatus.DEPLOYED
SUPERSEDED = ReleaseStatus.SUPERSEDED


def _revision(namespace: str = "web", number: int = 1, **changes: Any) -> Revision:
    manifest = [
        {"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "b"},
         "metadata": {"name": "sessions-config", "namespace": namespace}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": {"name": "sessions"}},
    ]  # fmt: skip
    fields: dict[str, Any] = {
        "release": "sessions",
        "namespace": namespace,
        "revision": number,
        "formula": "mongodb",
        "version": "4.4.1",
        "status": DEPLOYED,
        "outcome": ReleaseOutcome.COMPLETE,
        "time": "2026-12-01T12:00:00Z",
        "values": {"replicas": 2, "auth": {"user": "admin"}},
        "hook_values": {"auth": {"password": "generated-7Hq2"}},
        "patches": (),
        "manifest": tuple(manifest),
        "objects": tuple(RecordedObject(ObjectRef.of(o), f"uid-{i}") for i, o in enumerate(manifest)),
        "created_namespace": True,
        "summary": "installed mongodb 4.4.1",
        "kube_version": "0.2.0",
    }
    fields.update(changes)
    return Revision(**fields)


def _document(secret: dict[str, Any]) -> dict[str, Any]:
    packed = base64.b64decode(secret["data"][release_format.DATA_KEY])
    return json.loads(gzip.decompress(packed))  # type: ignore[no-any-return]


def _with_document(secret: dict[str, Any], doc: object, *, raw: bytes | None = None) -> dict[str, Any]:
    packed = raw if raw is not None else gzip.compress(json.dumps(doc).encode())
    return {**secret, "data": {release_format.DATA_KEY: base64.b64encode(packed).decode()}}


# -- the format -------------------------------------------------------------------------------


def test_revision_round_trips_through_its_secret() -> None:
    rev = _revision(
        outcome=ReleaseOutcome.PARTIAL,
        failures=(Failure(ObjectRef("", "v1", "Service", "web", "x"), "Invalid", "bad port"),),
        allowed_namespaces=("monitoring",),
    )
    secret = release_format.to_secret(rev)
    assert secret["type"] == "kube.sh/release.v2"
    assert secret["metadata"]["name"] == "kube.release.sessions.v1"
    assert secret["metadata"]["labels"] == {
        "app.kubernetes.io/managed-by": "kube",
        "kube.sh/record": "true",
        "kube.sh/release": "sessions",
        "kube.sh/revision": "1",
        "kube.sh/status": "deployed",
        "kube.sh/formula": "mongodb",
    }
    back = releases.from_secret(secret)
    assert back == rev
    assert isinstance(back, Revision) and back.values_known and back.manifest_known
    assert back.values_digest == values_digest({"replicas": 2, "auth": {"user": "admin"}})


def test_document_is_gzip_json_of_format_2_holding_values_hook_values_and_manifest() -> None:
    secret = release_format.to_secret(_revision())
    doc = _document(secret)
    assert doc["formatVersion"] == 2
    assert doc["release"] == "sessions" and doc["revision"] == 1 and doc["formula"] == "mongodb"
    assert doc["hookValues"] == {"auth": {"password": "generated-7Hq2"}}
    assert doc["values"] == {"replicas": 2, "auth": {"user": "admin"}}
    assert doc["patches"] == []
    assert [o["kind"] for o in doc["manifest"]] == ["ConfigMap", "ClusterRole"]
    assert doc["objects"][0] == {"group": "", "version": "v1", "kind": "ConfigMap", "namespace": "web",
                                 "name": "sessions-config", "uid": "uid-0"}  # fmt: skip
    assert doc["outcome"] == "complete" and doc["createdNamespace"] is True
    assert "status" not in doc  # the label holds it: the one field that changes after writing
    # The same revision always encodes to the same bytes (no gzip time stamp).
    assert release_format.encode(_revision()) == release_format.encode(_revision())


def test_round_one_record_reads_as_revision_one_with_what_it_never_held_unknown() -> None:
    v1 = Record(
        formula="nginx",
        version="1.10.0",
        namespace="web",
        outcome=COMPLETE,
        objects=(V1Object(ObjectRef("apps", "v1", "Deployment", "web", "nginx"), "uid-2"),),
        values_digest=values_digest({"replicas": 2}),
        installed_at="2026-05-01T12:00:00Z",
        created_namespace=True,
    )
    rev = releases.from_secret(v1_secret(v1))
    assert isinstance(rev, Revision)
    assert (rev.release, rev.revision, rev.formula, rev.version) == ("nginx", 1, "nginx", "1.10.0")
    assert rev.format_version == 1 and rev.status is DEPLOYED and rev.outcome is ReleaseOutcome.COMPLETE
    assert rev.values is None and rev.hook_values is None and rev.manifest is None and rev.patches is None
    assert not rev.values_known and not rev.manifest_known
    assert rev.values_digest == values_digest({"replicas": 2})  # still comparable with new values
    assert rev.objects == (RecordedObject(ObjectRef("apps", "v1", "Deployment", "web", "nginx"), "uid-2"),)
    assert rev.secret_name == "kube.install.nginx"
    with pytest.raises(UsageError, match="format 1"):
        release_format.encode(rev)  # never rewritten as if its values were known

    later = _revision(release="nginx", formula="nginx", number=2)
    [release] = releases.assemble([rev, later])
    assert [(r.revision, r.status) for r in release.revisions] == [(1, SUPERSEDED), (2, DEPLOYED)]
    assert release.secret_names == ("kube.install.nginx", "kube.release.nginx.v2")


def test_unreadable_round_one_record_is_reported_as_unreadable() -> None:
    secret = v1_secret(Record(formula="nginx", version="1", namespace="web"))
    secret["data"] = {"record.json": "!!"}
    found = releases.from_secret(secret)
    assert isinstance(found, Unreadable) and found.release == "nginx" and found.revision == 1


def _tampered(**changes: Any) -> Revision | Unreadable:
    secret = release_format.to_secret(_revision())
    doc = _document(secret)
    doc.update(changes)
    return releases.from_secret(_with_document(secret, doc))


def _relabelled(**labels: str) -> Revision | Unreadable:
    secret = release_format.to_secret(_revision())
    secret["metadata"]["labels"].update(labels)
    return releases.from_secret(secret)


def _entry(namespace: str) -> dict[str, str]:
    return {
        "group": "",
        "version": "v1",
        "kind": "ConfigMap",
        "namespace": namespace,
        "name": "x",
        "uid": "u",
    }


def _manifest(namespace: str) -> list[dict[str, Any]]:
    return [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": namespace}}]


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"namespace": "kube-system"}, "names namespace 'kube-system' but lives in 'web'"),
        ({"release": "other"}, "its release 'other' revision 1 does not match its name"),
        ({"revision": 2}, "revision 2 does not match its name"),
        ({"revision": "1"}, "its revision is not a number"),
        ({"formula": "redis"}, "its kube.sh/formula label is 'mongodb', not 'redis'"),
        ({"formula": "Bad/Name"}, "invalid formula name"),
        ({"outcome": "done"}, "unknown outcome 'done'"),
        ({"objects": [_entry("kube-system")]}, "lists ConfigMap/x in namespace kube-system, outside web"),
        ({"failures": [_entry("kube-system") | {"reason": "r"}]}, "namespace kube-system, outside web"),
        ({"manifest": _manifest("kube-system")}, "lists ConfigMap/x in namespace kube-system, outside web"),
        ({"manifest": [{"kind": "ConfigMap", "metadata": {}}]}, "a manifest entry has no metadata.name"),
        ({"manifest": "everything"}, "manifest is not a list"),
        ({"objects": ["x"]}, "an object entry is not a JSON object"),
        ({"allowedNamespaces": ["Kube System"]}, "invalid allowed namespace"),
        ({"values": [1, 2]}, "values is not a JSON object"),
        ({"hookValues": None}, "hookValues is not a JSON object"),
        ({"createdNamespace": "yes"}, "createdNamespace is not true or false"),
        ({"time": "yesterday"}, "its time 'yesterday' is not an ISO 8601 time"),
        ({"summary": "two\nlines"}, "summary is not one line of printable text"),
        ({"version": "1.0\x1b[2J"}, "version is not one line of printable text"),
        ({"formatVersion": 3}, "format version 3 is newer than this kube reads; upgrade kube"),
        ({"formatVersion": 1}, "format version 1 in a kube.sh/release.v2 record"),
        # Written by hand to slow every `kube list` down: more than a release may hold.
        (
            {
                "objects": [
                    {
                        "group": "",
                        "version": "v1",
                        "kind": "ConfigMap",
                        "namespace": "web",
                        "name": f"c{i}",
                        "uid": "",
                    }
                    for i in range(5001)
                ]
            },
            "its objects lists 5,001 objects, more than a release may hold (5,000)",
        ),
    ],
)
def test_a_revision_that_does_not_hold_together_is_unreadable(changes: dict[str, Any], problem: str) -> None:
    found = _tampered(**changes)
    assert isinstance(found, Unreadable), found
    assert problem in found.problem
    assert found.problem.startswith("release record web/kube.release.sessions.v1 is unreadable: ")
    assert (found.release, found.revision) == ("sessions", 1)


@pytest.mark.parametrize(
    ("labels", "problem"),
    [
        ({"kube.sh/status": "happy"}, "unknown kube.sh/status 'happy'"),
        ({"kube.sh/release": "other"}, "its kube.sh/release label is 'other', not 'sessions'"),
        ({"kube.sh/revision": "7"}, "its kube.sh/revision label is '7', not '1'"),
        ({"app.kubernetes.io/managed-by": "helm"}, "managed-by label is 'helm'"),
    ],
)
def test_labels_that_disagree_with_the_document_make_it_unreadable(
    labels: dict[str, str], problem: str
) -> None:
    found = _relabelled(**labels)
    assert isinstance(found, Unreadable) and problem in found.problem


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({}, "it has no release.json.gz"),
        ({"release.json.gz": "!!not base64!!"}, "its release.json.gz is not base64"),
        (
            {"release.json.gz": base64.b64encode(b'{"formatVersion": 2}').decode()},
            "its release.json.gz is not gzip",
        ),
        ({"release.json.gz": base64.b64encode(gzip.compress(b"[]")).decode()}, "not a JSON object"),
        ({"release.json.gz": base64.b64encode(gzip.compress(b"{")).decode()}, "its document is not JSON"),
        ({"release.json.gz": base64.b64encode(gzip.compress(b"[" * 100_000)).decode()}, "unreadable"),
        ({"release.json.gz": base64.b64encode(gzip.compress(b"{}")[:-4]).decode()}, "truncated"),
        ({"release.json.gz": base64.b64encode(gzip.compress(b"{}") * 2).decode()}, "goes on after"),
    ],
)
def test_a_payload_that_is_not_a_document_is_unreadable_not_a_crash(
    data: dict[str, str], problem: str
) -> None:
    secret = {**release_format.to_secret(_revision()), "data": data}
    found = releases.from_secret(secret)
    assert isinstance(found, Unreadable) and problem in found.problem, found


def test_a_secret_whose_name_is_not_a_release_record_name_is_unreadable() -> None:
    secret = release_format.to_secret(_revision())
    secret["metadata"]["name"] = "kube.release.sessions.v01"
    found = releases.from_secret(secret)
    assert isinstance(found, Unreadable)
    assert "its name is not kube.release.<release>.v<revision>" in found.problem


def test_decompression_bomb_is_refused_without_inflating_it() -> None:
    # 64 MiB of zeros: 64 KiB compressed, fits a Secret; the reader stops at its 16 MiB cap.
    bomb = gzip.compress(b"0" * (64 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < release_format.DATA_LIMIT
    secret = _with_document(release_format.to_secret(_revision()), None, raw=bomb)
    started = time.monotonic()
    found = releases.from_secret(secret)
    assert isinstance(found, Unreadable)
    assert "its document inflates to more than 16777216 bytes" in found.problem
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("count", [500])
def test_a_revision_of_500_realistic_objects_stays_well_under_the_secret_limit(count: int) -> None:
    manifest = release_objects.render(count)
    rev = _revision("shop", manifest=tuple(manifest), objects=release_objects.recorded(manifest))
    raw = len(json.dumps(release_format.document(rev), separators=(",", ":")))
    size = release_format.check_size(rev)
    print(f"\n{count} objects: {raw} bytes of JSON, {size} bytes gzip-compressed ({size / 1024:.1f} KiB)")
    assert size < release_format.DATA_LIMIT // 4  # well under: a quarter of what kube allows itself
    assert releases.from_secret(release_format.to_secret(rev)) == rev


def test_a_revision_too_large_for_a_secret_is_refused_before_writing_naming_size_and_limit() -> None:
    import os

    noise = base64.b64encode(os.urandom(1024 * 1024)).decode()  # random: gzip cannot shrink it below 1 MiB
    with pytest.raises(FormulaError) as caught:
        release_format.to_secret(_revision(values={"blob": noise}))
    message = caught.value.message
    assert message.startswith("the record of revision 1 of release sessions would take ")
    assert (
        "bytes compressed, more than kube stores in one Secret (921600 of the API server's 1048576)"
        in message
    )
    assert "nothing was written" in message


def test_values_json_cannot_hold_are_refused_with_one_line_not_a_traceback() -> None:
    with pytest.raises(FormulaError, match=r"cannot be written as JSON .*nothing was written"):
        release_format.encode(_revision(values={"ratio": float("nan")}))
    secret = release_format.to_secret(_revision())
    raw = json.dumps(_document(secret)).replace('"replicas": 2', '"replicas": NaN').encode()
    found = releases.from_secret(_with_document(secret, None, raw=gzip.compress(raw)))
    assert isinstance(found, Unreadable) and "holds NaN, which kube never writes" in found.problem


@pytest.mark.parametrize("name", ["a" * 54, "Sessions", "a.b", "-a", "a-", "", "a_b"])
def test_release_names_are_dns_labels_of_at_most_53_characters(name: str) -> None:
    with pytest.raises(UsageError, match="invalid release name"):
        releases.validate_release_name(name)


def test_a_53_character_release_name_is_accepted() -> None:
    assert releases.secret_name("a" * 53, 12) == f"kube.release.{'a' * 53}.v12"


def test_revisions_can_be_hashed_though_they_hold_json() -> None:
    assert len({_revision(), _revision(summary="other")}) == 2


def test_release_counts_unreadable_revisions_when_numbering_and_reports_a_bad_newest() -> None:
    bad = Unreadable("kube.release.sessions.v3", "web", "sessions", 3, "release record ... is unreadable: x")
    [release] = releases.assemble([_revision(number=1, status=SUPERSEDED), _revision(number=2), bad])
    assert release.next_revision == 4
    assert release.latest is not None and release.latest.revision == 2
    assert release.deployed is not None and release.deployed.revision == 2
    assert release.problem == bad.problem
    assert release.secret_names[-1] == "kube.release.sessions.v3"
    [fine] = releases.assemble([_revision(number=1, status=SUPERSEDED), _revision(number=2)])
    assert fine.problem == ""


def test_history_max_must_not_be_negative() -> None:
    with pytest.raises(UsageError, match="--history-max -1"):
        releases.prune_history(Kubectl(binary="/nonexistent/kubectl"), Release("a", "b"), -1)


# -- in the cluster ---------------------------------------------------------------------------


def _secret_names(kubectl: RunKubectl, namespace: str) -> list[str]:
    out = kubectl("get", "secrets", "-n", namespace, "-l", "kube.sh/record=true", "-o", "name").stdout
    return sorted(line.removeprefix("secret/") for line in out.split())


def _upgrade(kube: Kubectl, release: Release, **changes: Any) -> Release:
    """What an upgrade does to the records: write the next revision pending, complete it, supersede
    the one deployed before."""
    previous = release.deployed
    pending = releases.write_revision(
        kube,
        _revision(release.namespace, release.next_revision, release=release.name,
                  status=ReleaseStatus.PENDING, outcome=ReleaseOutcome.PENDING, **changes),
    )  # fmt: skip
    done = releases.write_revision(
        kube, replace(pending, status=DEPLOYED, outcome=ReleaseOutcome.COMPLETE), replace_existing=True
    )
    if previous is not None:
        release = release.with_revision(releases.supersede(kube, previous))
    return release.with_revision(done)


@pytest.mark.cluster
def test_revisions_are_written_completed_superseded_and_read_back_in_order(namespace: str) -> None:
    kube = Kubectl()
    assert releases.read_release(kube, "sessions", namespace) is None
    pending = releases.write_revision(
        kube, _revision(namespace, status=ReleaseStatus.PENDING, outcome=ReleaseOutcome.PENDING)
    )
    assert pending.resource_version
    read = releases.read_latest(kube, "sessions", namespace)
    assert read == pending and read is not None and read.status is ReleaseStatus.PENDING

    done = releases.write_revision(
        kube, replace(read, status=DEPLOYED, outcome=ReleaseOutcome.COMPLETE), replace_existing=True
    )
    with pytest.raises(ClusterError, match="kubectl replace failed"):  # resourceVersion no longer current
        releases.write_revision(kube, replace(read, summary="stale"), replace_existing=True)
    with pytest.raises(ClusterError, match=r"could not write revision 1 of release sessions.*AlreadyExists"):
        releases.write_revision(kube, done)  # two upgrades that chose the same number: one wins

    release = releases.history(kube, "sessions", namespace)
    assert [(r.revision, r.status, r.outcome) for r in release.revisions] == [(1, DEPLOYED, "complete")]
    release = _upgrade(kube, release, version="4.4.2", summary="mongodb 4.4.1 -> 4.4.2")
    release = _upgrade(kube, release, version="4.4.3", summary="mongodb 4.4.2 -> 4.4.3")

    again = releases.history(kube, "sessions", namespace)
    assert again == release
    assert [(r.revision, r.status, r.version) for r in again.revisions] == [
        (1, SUPERSEDED, "4.4.1"), (2, SUPERSEDED, "4.4.2"), (3, DEPLOYED, "4.4.3"),
    ]  # fmt: skip
    assert all(r.hook_values == {"auth": {"password": "generated-7Hq2"}} for r in again.revisions)
    assert again.next_revision == 4
    labels = json.loads(Kubectl().run("get", "secret/kube.release.sessions.v2", f"-n={namespace}",
                                      "-o=json")[1])["metadata"]["labels"]  # fmt: skip
    assert labels["kube.sh/status"] == "superseded"
    with pytest.raises(ClusterError, match="kubectl patch failed"):  # read before it was superseded
        releases.set_status(kube, done, ReleaseStatus.FAILED)

    # A rollback writes a stored revision again under the next number.
    rollback = replace(again.revisions[0], revision=4, status=DEPLOYED, summary="rollback to 1")
    releases.write_revision(kube, rollback)
    assert releases.read_latest(kube, "sessions", namespace) == rollback


@pytest.mark.cluster
def test_history_is_pruned_to_max_history_keeping_what_is_not_superseded(
    namespace: str, kubectl: RunKubectl
) -> None:
    kube = Kubectl()
    release = Release("sessions", namespace)
    for _ in range(5):
        release = _upgrade(kube, release)
    failed = releases.set_status(kube, release.revisions[1], ReleaseStatus.FAILED)  # revision 2 failed
    release = release.with_revision(failed)
    assert releases.prune_history(kube, release, max_history=0) == ()
    assert releases.prune_history(kube, release, max_history=3) == (1, 3)
    assert _secret_names(kubectl, namespace) == [f"kube.release.sessions.v{n}" for n in (2, 4, 5)]
    after = releases.history(kube, "sessions", namespace)
    assert [(r.revision, r.status) for r in after.revisions] == [
        (2, ReleaseStatus.FAILED), (4, SUPERSEDED), (5, DEPLOYED),
    ]  # fmt: skip
    assert after.next_revision == 6
    assert releases.prune_history(kube, after, max_history=1) == (4,)  # never the failed or deployed one


@pytest.mark.cluster
def test_round_one_records_list_beside_releases_and_are_deleted_with_them(
    namespace: str, kubectl: RunKubectl
) -> None:
    kube = Kubectl()
    legacy = Record(
        formula="nginx", version="1.10.0", namespace=namespace, installed_at="2026-05-01T12:00:00Z",
        objects=(V1Object(ObjectRef("", "v1", "ConfigMap", namespace, "nginx"), "uid-1"),),
    )  # fmt: skip
    write_record(kube, legacy, replace=False)
    _upgrade(kube, Release("sessions", namespace))
    impostor = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                "metadata": {"name": "kube.release.fake.v1", "namespace": namespace,
                             "labels": {"app.kubernetes.io/managed-by": "kube", "kube.sh/record": "true",
                                        "kube.sh/release": "fake"}}}  # fmt: skip
    kubectl("create", "-f", "-", input=json.dumps(impostor))

    listed = releases.list_releases(kube, namespace)
    assert [(r.name, r.latest.format_version if r.latest else 0) for r in listed] == [
        ("nginx", 1),
        ("sessions", 2),
    ]
    everywhere = releases.list_releases_visible(kube, namespace)  # one call, every namespace
    assert [r for r in everywhere if r.namespace == namespace] == listed

    nginx = releases.history(kube, "nginx", namespace)
    assert [(r.revision, r.format_version, r.values) for r in nginx.revisions] == [(1, 1, None)]
    upgraded = _upgrade(kube, nginx, formula="nginx", version="1.11.0")
    read = releases.history(kube, "nginx", namespace)
    assert read == upgraded
    assert [(r.revision, r.status, r.format_version) for r in read.revisions] == [
        (1, SUPERSEDED, 1), (2, DEPLOYED, 2),
    ]  # fmt: skip

    assert releases.delete_release(kube, read) == ("kube.install.nginx", "kube.release.nginx.v2")
    assert _secret_names(kubectl, namespace) == ["kube.release.fake.v1", "kube.release.sessions.v1"]
    assert releases.read_release(kube, "nginx", namespace) is None
    assert releases.delete_release(kube, read) == read.secret_names  # already gone: still deleted


@pytest.mark.cluster
def test_a_forged_revision_in_the_cluster_is_reported_and_not_trusted(
    namespace: str, kubectl: RunKubectl
) -> None:
    kube = Kubectl()
    _upgrade(kube, Release("sessions", namespace))
    forged = release_format.to_secret(_revision(namespace, 2))
    doc = _document(forged)
    doc["manifest"] = _manifest("kube-system")
    kubectl("create", "-f", "-", input=json.dumps(_with_document(forged, doc)))

    read = releases.history(kube, "sessions", namespace)
    assert [r.revision for r in read.revisions] == [1]
    assert [u.revision for u in read.unreadable] == [2]
    assert "ConfigMap/x in namespace kube-system, outside" in read.problem
    assert read.next_revision == 3  # a new revision does not collide with the forged one
    [listed] = releases.list_releases(kube, namespace)
    assert listed == read


@pytest.mark.cluster
def test_a_revision_of_500_objects_is_stored_by_the_real_api_server(
    namespace: str, kubectl: RunKubectl
) -> None:
    kube = Kubectl()
    manifest = release_objects.render(500, namespace)
    rev = _revision(namespace, manifest=tuple(manifest), objects=release_objects.recorded(manifest))
    written = releases.write_revision(kube, rev)
    stored = kubectl("get", "secret/kube.release.sessions.v1", "-n", namespace, "-o", "json").stdout
    size = len(base64.b64decode(json.loads(stored)["data"]["release.json.gz"]))
    print(f"\n500 objects: the API server holds {size} bytes of Secret data")
    assert size == release_format.check_size(rev) < release_format.DATA_LIMIT
    assert releases.read_latest(kube, "sessions", namespace) == written


def test_a_failure_message_is_kept_to_its_first_characters_in_the_record() -> None:
    # One refused CRD can come back with a 100 KB explanation (every invalid field of its schema).
    long = 'spec.validation: Invalid value: "null", ' * 2500
    failed = _revision(
        outcome=ReleaseOutcome.PARTIAL,
        failures=(
            Failure(
                ObjectRef("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "", "a.b"),
                "Invalid",
                long,
            ),
        ),
    )
    [stored] = _document(release_format.to_secret(failed))["failures"]
    assert stored["message"].startswith(long[: release_format.FAILURE_MESSAGE_LIMIT])
    assert stored["message"].endswith(
        f"... ({len(long) - release_format.FAILURE_MESSAGE_LIMIT:,} more characters)"
    )
    back = releases.from_secret(release_format.to_secret(failed))
    assert isinstance(back, Revision)
    assert [(f.reason, f.message) for f in back.failures] == [("Invalid", stored["message"])]
