"""Shards: manifests/shards/ rendered once per member, on real formula directories in tmp_path,
and the day-two story (3 -> 5 -> 3 members) on the real local control plane."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from kube.cli.app import app
from kube.core.errors import FormulaError, RenderError, UsageError
from kube.formula.load import check_formula, load_formula
from kube.formula.render import merge_values, render_manifests
from kube.k8s.objects import KubeObject
from tests.test_install import write_formula

KubectlFixture = Callable[..., Any]
cluster = pytest.mark.cluster

# One ConfigMap per member, named after the shard, holding its own values.
MEMBER = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ shard.name }}
data:
  index: "{{ shard.index }}"
  count: "{{ shard.count }}"
  zone: "{{ shard.zone | default('none') }}"
  release: "{{ kube.release }}"
"""
# The shared config, rendered once, listing every member.
SHARED = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ kube.release }}-members
data:
  members: "{{ kube.shards | map(attribute='name') | join(',') }}"
"""
FILES = {"members.yaml.tmpl": SHARED, "shards/member.yaml.tmpl": MEMBER}


def formula(tmp_path: Path, shards: object, manifests: dict[str, str] | None = None, **extra: Any) -> Path:
    return write_formula(tmp_path, "ring", manifests=manifests or FILES, shards=shards, **extra)


def rendered(
    directory: Path, *, sets: tuple[str, ...] = (), release: str | None = None
) -> dict[str, dict[str, str]]:
    loaded = load_formula(directory)
    values = merge_values(loaded.values, sets=list(sets))
    objs: list[KubeObject] = render_manifests(loaded, directory, values, namespace="prod", release=release)
    return {o.name: o.data.get("data", {}) for o in objs}


def k3_errors(directory: Path) -> list[str]:
    found, findings = check_formula(directory)
    assert found is None
    return [f"{f.rule} {f.message}" for f in findings]


# --- rendering ------------------------------------------------------------------------------------


def test_a_count_renders_each_shard_file_once_per_member_and_the_rest_once(tmp_path: Path) -> None:
    objs = rendered(formula(tmp_path, 3))
    assert list(objs) == ["ring-members", "ring-0", "ring-1", "ring-2"]
    assert objs["ring-members"]["members"] == "ring-0,ring-1,ring-2"
    assert objs["ring-2"] == {"index": "2", "count": "3", "zone": "none", "release": "ring"}


def test_default_names_follow_the_release(tmp_path: Path) -> None:
    objs = rendered(formula(tmp_path, 2), release="blue")
    assert list(objs) == ["blue-members", "blue-0", "blue-1"]


def test_a_list_gives_names_and_each_shards_own_values(tmp_path: Path) -> None:
    objs = rendered(formula(tmp_path, [{"name": "east", "zone": "z1"}, {"zone": "z2"}]))
    assert objs["ring-members"]["members"] == "east,ring-1"
    assert objs["east"]["zone"] == "z1" and objs["ring-1"]["zone"] == "z2"
    assert objs["ring-1"]["count"] == "2"


def test_the_value_shards_overrides_k3_yaml(tmp_path: Path) -> None:
    directory = formula(tmp_path, 3)
    assert load_formula(directory).values["shards"] == 3  # the default of the value
    objs = rendered(directory, sets=("shards=5",))
    assert objs["ring-members"]["members"] == "ring-0,ring-1,ring-2,ring-3,ring-4"
    assert rendered(directory, sets=("shards=1",))["ring-members"]["members"] == "ring-0"


def test_a_formula_without_shards_ignores_manifests_shards_and_a_value_named_shards(tmp_path: Path) -> None:
    plain = {"members.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: solo}\n", **FILES}
    del plain["members.yaml.tmpl"]
    directory = write_formula(tmp_path, "ring", manifests=plain, values={"shards": "whatever"})
    assert list(rendered(directory)) == ["solo"]


def test_a_shard_template_that_ignores_shard_name_is_an_error_naming_file_and_shards(tmp_path: Path) -> None:
    same = "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ kube.release }}\n"
    directory = formula(tmp_path, 2, manifests={"shards/svc.yaml.tmpl": same})
    with pytest.raises(RenderError) as err:
        rendered(directory)
    assert err.value.findings[0].path == "manifests/shards/svc.yaml.tmpl"
    assert err.value.findings[0].rule == "shard-duplicate"
    assert "shard ring-1: Service/ring is also rendered for shard ring-0" in str(err.value)


def test_a_template_error_in_a_shard_file_names_the_shard(tmp_path: Path) -> None:
    broken = MEMBER.replace("shard.index", "shard.nosuch")
    directory = formula(tmp_path, [{"name": "a"}], manifests={"shards/member.yaml.tmpl": broken})
    with pytest.raises(RenderError) as err:
        rendered(directory)
    assert err.value.findings[0].path == "manifests/shards/member.yaml.tmpl"
    assert err.value.findings[0].message.startswith("shard a: ")


def test_all_shards_together_have_one_budget(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kube.formula import shards

    many = (
        "apiVersion: v1\nkind: List\nitems:\n{% for i in range(60) %}\n"
        "  - {apiVersion: v1, kind: ConfigMap, metadata: {name: '{{ shard.name }}-{{ i }}'}}\n"
        "{% endfor %}\n"
    )
    directory = formula(tmp_path, 1000, manifests={"shards/many.yaml.tmpl": many})
    with pytest.raises(RenderError) as err:
        rendered(directory)
    [found] = err.value.findings
    assert (found.rule, found.path) == ("template-limit", "manifests/shards/many.yaml.tmpl")
    assert found.message == "shard ring-83: stopped: the shards rendered more than 5,000 objects"
    monkeypatch.setattr(shards, "OUTPUT_LIMIT", 1000)
    with pytest.raises(RenderError, match="rendered more than 0 MiB"):
        rendered(formula(tmp_path / "b", 20))
    monkeypatch.setattr(shards, "TIME_LIMIT", -1.0)
    with pytest.raises(RenderError, match="shard ring-0: stopped: the shards took more than -1s"):
        rendered(formula(tmp_path / "c", 2))


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("shards=0", "value shards: expected a count from 1 to 1000 or a list of per-shard mappings, got 0"),
        ("shards=1001", "got 1001"),
        ("shards=true", "got a boolean"),
        ("shards=three", 'got the string "three"'),
        ("shards=2.5", "got the number 2.5"),
    ],
)
def test_a_bad_shards_value_is_a_usage_error(tmp_path: Path, setting: str, message: str) -> None:
    with pytest.raises(UsageError) as err:
        rendered(formula(tmp_path, 3), sets=(setting,))
    assert message in err.value.message


def test_bad_shard_list_values_are_refused_with_where(tmp_path: Path) -> None:
    directory = formula(tmp_path, 3)
    values_file = tmp_path / "v.yaml"
    values_file.write_text("shards: [{name: a}, {name: a}, 7, {name: Bad_Name}, {index: 3}]\n")
    loaded = load_formula(directory)
    values = merge_values(loaded.values, value_files=[values_file])
    with pytest.raises(UsageError) as err:
        render_manifests(loaded, directory, values, namespace="prod")
    assert err.value.message.startswith("value shards[2]: expected a mapping of this shard's values")
    assert "(and 3 more problems)" in err.value.message
    with pytest.raises(UsageError, match="reserved"):
        rendered(directory, sets=("shard=1",))


def test_k3_yaml_shards_are_checked_with_lines(tmp_path: Path) -> None:
    directory = formula(tmp_path, 0)
    assert k3_errors(directory) == [
        "k3-shards shards: expected a count from 1 to 1000 or a list of per-shard mappings, got 0"
    ]
    directory = write_formula(tmp_path / "b", "ring", manifests=FILES)
    (directory / "K3.yaml").write_text(
        (directory / "K3.yaml").read_text()
        + "shards:\n  - name: a\n  - name: a\n  - {count: 2}\n  - {items: 1}\n  - [x]\n  - {name: 'x.y'}\n"
        + "values:\n  shards: 2\n"
    )
    found, findings = check_formula(directory)
    assert found is None
    shown = sorted((f.line, f.rule, f.message) for f in findings)
    method = '"items" would read as a method in templates (shard.items); use another key'
    label = "is not a DNS-1123 label (lowercase letters, digits and '-', at most 63 characters)"
    reserved = '"shards" is reserved in a sharded formula; set the default with shards:'
    assert shown == [
        (8, "k3-shards", 'shards[1].name: shard name "a" is also the name of shards[0]'),
        (9, "k3-shards", 'shards[2].count: "count" is set by kube (shard.count); use another key'),
        (10, "k3-shards", f"shards[3].items: {method}"),
        (11, "k3-shards", "shards[4]: expected a mapping of this shard's values, got a list"),
        (12, "k3-shards", f'shards[5].name: shard name "x.y" {label}'),
        (14, "k3-reserved", f"values.shards: {reserved}"),
    ]


def test_k3_yaml_shards_bounds(tmp_path: Path) -> None:
    assert load_formula(formula(tmp_path / "a", 1000)).shards == 1000
    assert k3_errors(formula(tmp_path / "b", 1001))[0].endswith("got 1001")
    assert k3_errors(formula(tmp_path / "c", []))[0].endswith("expected 1 to 1000 shards, got 0")
    assert k3_errors(formula(tmp_path / "d", "3"))[0].endswith('got the string "3"')
    with pytest.raises(FormulaError):
        load_formula(formula(tmp_path / "e", True))


# --- day two on the real local control plane ----------------------------------------------------------


def kube(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


@pytest.fixture(autouse=True)
def quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "400")
    monkeypatch.setenv("KUBE_INTERACTIVE", "0")


def configmaps(kubectl: KubectlFixture, namespace: str) -> dict[str, dict[str, str]]:
    out = kubectl("get", "configmaps", "-n", namespace, "-o", "json").stdout
    items = json.loads(out)["items"]
    return {
        i["metadata"]["name"]: i.get("data", {}) for i in items if i["metadata"]["name"] != "kube-root-ca.crt"
    }


@cluster
def test_install_3_upgrade_to_5_and_back_to_3(
    tmp_path: Path, namespace: str, kubectl: KubectlFixture
) -> None:
    directory = formula(tmp_path, 3)
    result = kube("install", str(directory), "-n", namespace)
    assert result.exit_code == 0, result.output
    live = configmaps(kubectl, namespace)
    assert set(live) == {"ring-members", "ring-0", "ring-1", "ring-2"}
    assert live["ring-members"]["members"] == "ring-0,ring-1,ring-2"

    grow = kube("upgrade", "ring", str(directory), "-n", namespace, "--set", "shards=5")
    assert grow.exit_code == 0, grow.output
    assert "2 created, 4 changed" in grow.stdout, grow.output  # shard.count is in each member
    live = configmaps(kubectl, namespace)
    assert set(live) == {"ring-members", *(f"ring-{i}" for i in range(5))}
    assert live["ring-members"]["members"] == "ring-0,ring-1,ring-2,ring-3,ring-4"
    assert live["ring-0"]["count"] == "5"

    # Without --set the count carries over, like any value.
    same = kube("upgrade", "ring", str(directory), "-n", namespace)
    assert same.exit_code == 0, same.output
    assert len(configmaps(kubectl, namespace)) == 6

    shrink = kube("upgrade", "ring", str(directory), "-n", namespace, "--set", "shards=3")
    assert shrink.exit_code == 0, shrink.output
    assert "2 pruned" in shrink.stdout, shrink.output
    live = configmaps(kubectl, namespace)  # the API server no longer has them
    assert set(live) == {"ring-members", "ring-0", "ring-1", "ring-2"}
    assert live["ring-members"]["members"] == "ring-0,ring-1,ring-2"

    gone = kube("uninstall", "ring", "-n", namespace)
    assert gone.exit_code == 0, gone.output
    assert configmaps(kubectl, namespace) == {}


@cluster
def test_a_bad_shards_value_stops_the_upgrade_before_anything_changes(
    tmp_path: Path, namespace: str, kubectl: KubectlFixture
) -> None:
    directory = formula(tmp_path, 2)
    assert kube("install", str(directory), "-n", namespace).exit_code == 0
    result = kube("upgrade", "ring", str(directory), "-n", namespace, "--set", "shards=0")
    assert result.exit_code == 2, result.output
    assert "value shards: expected a count from 1 to 1000" in result.output
    assert set(configmaps(kubectl, namespace)) == {"ring-members", "ring-0", "ring-1"}


# --- kube lint ------------------------------------------------------------------------------------


def lint_rows(directory: Path) -> list[tuple[str, str, str]]:
    from kube.lint.run import lint_formula

    (directory / "README.md").write_text("# ring\n")
    _, findings = lint_formula(directory, kube_version="1.30")
    base = directory.as_posix()
    return [(f.path.removeprefix(base + "/"), f.rule, f.message) for f in findings]


def test_lint_renders_shard_files_per_default_shard_and_reports_a_line_once(tmp_path: Path) -> None:
    fixed = (
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: fixed\nspec:\n  replcas: 1\n  ports: [{port: 1}]\n"
    )
    assert lint_rows(formula(tmp_path / "a", 3)) == []
    rows = lint_rows(formula(tmp_path / "b", 3, manifests={**FILES, "shards/svc.yaml.tmpl": fixed}))
    assert rows == [
        (
            "manifests/shards/svc.yaml.tmpl",
            "shard-duplicate",
            "shard ring-1: Service/fixed is also rendered for shard ring-0",
        ),
        ("manifests/shards/svc.yaml.tmpl", "manifest-schema", "Service/fixed: unknown field `spec.replcas`"),
    ]


def test_lint_names_the_shard_whose_own_values_break_a_template(tmp_path: Path) -> None:
    member = MEMBER.replace("shard.zone | default('none')", "shard.zone")
    directory = formula(tmp_path, [{"zone": "a"}, {"name": "east"}], manifests={"shards/m.yaml.tmpl": member})
    [row] = lint_rows(directory)
    assert row[:2] == ("manifests/shards/m.yaml.tmpl", "template-render")
    assert row[2].startswith("shard east: ") and "zone" in row[2]


def test_lint_shard_files_without_shards_and_shards_without_files(tmp_path: Path) -> None:
    unsharded = write_formula(tmp_path / "a", "ring", manifests=FILES)
    rows = lint_rows(unsharded)
    assert ("manifests/shards/member.yaml.tmpl", "manifest-file-type") in [r[:2] for r in rows]
    assert any("is read only when K3.yaml declares shards:" in r[2] for r in rows)
    empty = formula(tmp_path / "b", 2, manifests={"members.yaml.tmpl": SHARED})
    assert [r[:2] for r in lint_rows(empty)] == [("K3.yaml", "shards-empty")]
    deeper = formula(tmp_path / "c", 2, manifests={**FILES, "shards/x/y.yaml": "a: b\n"})
    assert [r[:2] for r in lint_rows(deeper)] == [("manifests/shards/x/y.yaml", "manifest-file-type")]


# --- kube info ------------------------------------------------------------------------------------


def test_info_shows_the_shards_and_their_files(tmp_path: Path, kube_home: Path) -> None:
    from tests.gitrepo import formula_files, make_repo

    files = formula_files("ring", "1.0.0", manifests=FILES, shards=3)
    files |= formula_files("duo", "1.0.0", shards=[{"name": "east"}, {"zone": "b"}], manifests=FILES)
    repo = make_repo(tmp_path / "remote", files)
    assert kube("update", "--repo", str(repo)).exit_code == 0
    out = kube("info", "ring").stdout.splitlines()
    assert "Shards:      3: ring-0, ring-1, ring-2 (--set shards=N or a list changes them)" in out
    assert "Provides:    manifests/members.yaml.tmpl, manifests/shards/member.yaml.tmpl" in out
    data = json.loads(kube("info", "duo", "-o", "json").stdout)
    assert data["shards"] == ["east", "duo-1"]


@cluster
def test_the_catalogues_mongodb_grows_and_shrinks_its_replica_set(
    namespace: str, kubectl: KubectlFixture
) -> None:
    mongodb = str(Path(__file__).parent.parent / "formulas" / "mongodb")

    def members() -> tuple[set[str], list[str]]:
        sets = kubectl("get", "statefulsets", "-n", namespace, "-o", "json").stdout
        live = {i["metadata"]["name"] for i in json.loads(sets)["items"]}
        listed = json.loads(configmaps(kubectl, namespace)["mongodb-members"]["members.json"])
        return live, [m["host"].split(".")[0] for m in listed]

    assert kube("install", mongodb, "-n", namespace).exit_code == 0
    assert members() == ({"mongodb-0", "mongodb-1", "mongodb-2"}, ["mongodb-0", "mongodb-1", "mongodb-2"])
    grow = kube("upgrade", "mongodb", mongodb, "-n", namespace, "--set", "shards=5")
    assert grow.exit_code == 0, grow.output
    five = [f"mongodb-{i}" for i in range(5)]
    assert members() == (set(five), five)
    shrink = kube("upgrade", "mongodb", mongodb, "-n", namespace, "--set", "shards=3")
    assert shrink.exit_code == 0, shrink.output
    assert "4 pruned" in shrink.stdout, shrink.output  # a Service and a StatefulSet per member
    assert members() == (set(five[:3]), five[:3])
    assert kube("uninstall", "mongodb", "-n", namespace).exit_code == 0
