"""depends-on without a cluster: cli-utils' reference syntax and errors, and the delete order."""

from __future__ import annotations

from typing import Any

import pytest

from kube.install.depends import deletion_groups
from kube.k8s.objects import DEPENDS_ON, ObjectRef, parse_depends_on


# The cases of cli-utils' pkg/object/dependson/strings_test.go (ParseDependencySet).
@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("test-group/test-kind/cluster-obj", [("test-group", None, "test-kind", "cluster-obj")]),
        (
            "test-group/namespaces/test-namespace/test-kind/namespaced-obj",
            [("test-group", "test-namespace", "test-kind", "namespaced-obj")],
        ),
        (
            "  test-group/namespaces/test-namespace/test-kind/namespaced-obj\n",
            [("test-group", "test-namespace", "test-kind", "namespaced-obj")],
        ),
        (
            "test-group/namespaces/test-namespace/test-kind/namespaced-obj,test-group/test-kind/cluster-obj",
            [
                ("test-group", "test-namespace", "test-kind", "namespaced-obj"),
                ("test-group", None, "test-kind", "cluster-obj"),
            ],
        ),
        ("/namespaces/ns/Secret/db", [("", "ns", "Secret", "db")]),
    ],
)
def test_references_parse_as_cli_utils_parses_them(
    text: str, parsed: list[tuple[str, str | None, str, str]]
) -> None:
    assert parse_depends_on(text) == parsed


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", 'failed to parse object reference (index: 0): expected 3 or 5 fields, found 1: ""'),
        (
            "test-group/test-namespace/test-kind/namespaced-obj",
            "failed to parse object reference (index: 0): expected 3 or 5 fields, found 4: "
            '"test-group/test-namespace/test-kind/namespaced-obj"',
        ),
        (
            "apps/StatefulSet/db,apps/nspaces/ns/Deployment/web",
            'failed to parse object reference (index: 1): missing "namespaces" field: '
            '"apps/nspaces/ns/Deployment/web"',
        ),
        (
            "apps/StatefulSet/db,",
            'failed to parse object reference (index: 1): expected 3 or 5 fields, found 1: ""',
        ),
        (
            "apps//db",
            'failed to parse object reference (index: 0): invalid object metadata: kind is empty: "apps//db"',
        ),
    ],
)
def test_bad_references_get_cli_utils_errors(text: str, error: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_depends_on(text)
    assert str(caught.value) == error


def ref(kind: str, name: str, group: str = "apps") -> ObjectRef:
    return ObjectRef(group, "v1", kind, "shop", name)


def annotated(depends_on: str | None) -> dict[str, Any]:
    return {"metadata": {"annotations": {DEPENDS_ON: depends_on}}} if depends_on else {"metadata": {}}


def test_dependents_are_deleted_first_along_a_chain() -> None:
    db, api, web, config = (
        ref("StatefulSet", "db"),
        ref("Deployment", "api"),
        ref("Deployment", "web"),
        ref("ConfigMap", "settings", ""),
    )
    live = {
        db: annotated(None),
        api: annotated("apps/namespaces/shop/StatefulSet/db"),
        web: annotated("apps/Deployment/api"),  # the short form names an object beside it
        config: annotated(None),
    }
    assert deletion_groups([config, db, api, web], live) == [[web, config], [api], [db]]


def test_without_depends_on_everything_goes_in_one_delete_newest_first() -> None:
    a, b = ref("ConfigMap", "a", ""), ref("ConfigMap", "b", "")
    assert deletion_groups([a, b], {a: annotated(None), b: annotated(None)}) == [[b, a]]


def test_a_cycle_or_an_unreadable_annotation_adds_no_order() -> None:
    a, b = ref("ConfigMap", "a", ""), ref("ConfigMap", "b", "")
    cycle = {a: annotated("/ConfigMap/b"), b: annotated("/ConfigMap/a")}
    assert deletion_groups([a, b], cycle) == [[b, a]]
    assert deletion_groups([a, b], {a: annotated("not a reference"), b: annotated(None)}) == [[b, a]]
