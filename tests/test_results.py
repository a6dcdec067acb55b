"""Install and uninstall results: statuses are StrEnum members whose values are the words users read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kube.install import pipeline as install
from kube.install.results import (
    InstallOutcome,
    InstallResult,
    ObjectState,
    ObjectStatus,
    RemovalState,
    UninstallResult,
)
from kube.k8s.kubectl import Kubectl, ObjectRef
from kube.k8s.records import RecordOutcome, from_secret, to_secret
from tests.gitrepo import formula_files, write_tree


def test_a_dry_run_reports_enum_statuses_that_print_as_words(tmp_path: Path) -> None:
    write_tree(tmp_path, formula_files("demo", "1.0.0"))
    # -n given, no dependencies: a dry run starts no kubectl, so a missing binary is fine.
    kubectl = Kubectl(binary=str(tmp_path / "no-kubectl"))
    the_plan = install.plan(install.resolve(str(tmp_path / "formulas" / "demo")), kubectl, namespace="web",
                            dry_run=True)  # fmt: skip
    result = install.install(the_plan, kubectl, install.InstallOptions(dry_run=True))
    assert result.outcome is InstallOutcome.DRY_RUN and result.ok
    assert {o.status for o in result.objects} == {ObjectState.WOULD_CREATE}
    assert json.dumps([result.outcome, result.objects[0].status]) == '["dry run", "would create"]'


def test_uninstall_counts_by_removal_state() -> None:
    refs = [ObjectRef("", "v1", "ConfigMap", "web", name) for name in "abcd"]
    states = [RemovalState.DELETED, RemovalState.GONE, RemovalState.KEPT, RemovalState.NOT_OURS]
    result = UninstallResult("demo", "1.0.0", "web", tuple(map(ObjectStatus, refs, states)))
    assert result.summary == (
        "uninstalled demo 1.0.0 in namespace web: 1 object deleted, 1 already gone, 2 objects left in place"
    )


def test_a_record_reads_back_with_its_outcome_as_a_member() -> None:
    from kube.k8s.records import Record

    secret = to_secret(Record("demo", "1.0.0", "web", RecordOutcome.PARTIAL))
    secret["metadata"]["namespace"] = "web"
    assert from_secret(secret).outcome is RecordOutcome.PARTIAL


def test_a_long_reason_under_the_table_is_cut_and_json_keeps_it_whole(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from kube.cli.results import DETAIL_LIMIT, print_objects, result_json

    long = "Invalid: " + "spec.validation.openAPIV3Schema.properties[x].default: Invalid value, " * 1500
    ref = ObjectRef("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "", "a.example.org")
    failed = ObjectStatus(ref, "failed", long)
    print_objects("crds", "1.0.0", (failed,))
    [line] = [x for x in capsys.readouterr().out.splitlines() if x.startswith("  CustomResourceDefinition/")]
    assert line == (
        f"  CustomResourceDefinition/a.example.org: {long[:DETAIL_LIMIT]}... "
        f"({len(long) - DETAIL_LIMIT:,} more characters; -o json prints them all)"
    )
    result = InstallResult("crds", "1.0.0", "default", InstallOutcome.PARTIAL, (failed,))
    assert result_json(result)["objects"][0]["detail"] == long
