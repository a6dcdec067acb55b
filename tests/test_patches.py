"""Patches (kube.formula.patches): reading, target matching, RFC 6902 and RFC 7386, the errors,
K3.yaml ``patches``/``dependencies[].patches``, and the offline ``kube.capabilities``.

Real files in tmp_path and the real render; nothing is mocked. The install, upgrade and
rollback of patched releases on the local control plane are in tests/test_patches_cluster.py.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from kube.core.errors import ExitCode, FormulaError, UsageError
from kube.formula.load import load_formula
from kube.formula.patches import (
    OBJECT_LIMIT,
    PatchSet,
    Target,
    apply_patches,
    carried,
    merge_patch,
    parse_patch_set,
    read_patch_file,
)
from kube.formula.render import render_manifests
from kube.install.deps import declared_patches
from kube.k8s import capabilities
from kube.k8s.objects import KubeObject
from tests.test_install import deployment, write_formula


def deploy(name: str = "web", api: str = "apps/v1", namespace: str | None = None, **spec: Any) -> KubeObject:
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    return KubeObject(
        {"apiVersion": api, "kind": "Deployment", "metadata": meta, "spec": {"replicas": 1, **spec}},
        "manifests/deploy.yaml:1",
    )


def write(tmp_path: Path, text: str, name: str = "p.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def patch_error(tmp_path: Path, text: str, objs: list[KubeObject] | None = None) -> str:
    with pytest.raises(FormulaError) as info:
        patch_set = read_patch_file(write(tmp_path, text), "p.yaml")
        apply_patches(objs if objs is not None else [deploy()], [patch_set], namespace="ns")
    assert info.value.exit_code == ExitCode.INVALID_FORMULA
    return info.value.message


# -- target matching ----------------------------------------------------------------------------


def test_a_target_matches_by_every_key_it_gives() -> None:
    obj = deploy(namespace="other")
    assert Target("Deployment", "web").matches(obj, "other")
    assert Target("Deployment", "web", group="apps", version="v1", namespace="other").matches(obj, "other")
    assert not Target("Deployment", "web", group="").matches(obj, "other")
    assert not Target("Deployment", "web", version="v1beta1").matches(obj, "other")
    assert not Target("Deployment", "web", namespace="ns").matches(obj, "other")
    assert not Target("Deployment", "db").matches(obj, "other")
    assert not Target("StatefulSet", "web").matches(obj, "other")
    core = KubeObject({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}, "x")
    assert Target("ConfigMap", "c", group="", version="v1").matches(core, "ns")


def test_an_entry_patches_every_object_it_matches_and_only_those(tmp_path: Path) -> None:
    text = "- target: {kind: Deployment, name: web}\n  merge: {spec: {paused: true}}\n"
    objs = [deploy(), deploy(api="extensions/v1beta1"), deploy("db")]
    out = apply_patches(objs, [read_patch_file(write(tmp_path, text))], namespace="ns")
    assert [o.data["spec"].get("paused") for o in out] == [True, True, None]
    assert "paused" not in objs[0].data["spec"], "the input objects are left as they were"


def test_the_namespace_target_is_where_the_object_is_created(tmp_path: Path) -> None:
    text = "- target: {kind: Deployment, name: web, namespace: ns}\n  merge: {spec: {paused: true}}\n"
    out = apply_patches([deploy()], [read_patch_file(write(tmp_path, text))], namespace="ns")
    assert out[0].data["spec"]["paused"] is True
    assert "matches no object" in patch_error(tmp_path, text, [deploy(namespace="elsewhere")])


# -- RFC 6902 and RFC 7386 ----------------------------------------------------------------------


def test_json_patch_operations_apply_in_order_with_pointer_escaping(tmp_path: Path) -> None:
    text = """\
- target: {kind: Deployment, name: web}
  patch:
    - {op: test, path: /spec/replicas, value: 1}
    - {op: replace, path: /spec/replicas, value: 4}
    - {op: add, path: /metadata/annotations, value: {}}
    - {op: add, path: /metadata/annotations/example.com~1owner, value: team-a}
    - {op: add, path: /spec/list, value: [a]}
    - {op: add, path: /spec/list/-, value: b}
    - {op: copy, from: /spec/list, path: /spec/copied}
    - {op: move, from: /spec/copied, path: /spec/moved}
    - {op: remove, path: /spec/list/0}
"""
    [out] = apply_patches([deploy()], [read_patch_file(write(tmp_path, text))], namespace="ns")
    assert out.data["spec"] == {"replicas": 4, "list": ["b"], "moved": ["a", "b"]}
    assert out.data["metadata"]["annotations"] == {"example.com/owner": "team-a"}


def test_merge_patch_follows_rfc_7386_appendix_a() -> None:
    # The test cases of RFC 7386, appendix A.
    cases = [
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": "b"}, {"a": None}, {}),
        ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
        ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
        ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
        ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
        ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
        (["a", "b"], ["c", "d"], ["c", "d"]),
        ({"a": "b"}, ["c"], ["c"]),
        ({"a": "foo"}, None, None),
        ({"a": "foo"}, "bar", "bar"),
        ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
        ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
        ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    ]
    for target, patch, result in cases:
        before = json.dumps(target)
        assert merge_patch(target, patch) == result, (target, patch)
        assert json.dumps(target) == before, "the target is not changed"


# -- errors: file, entry, operation and object named --------------------------------------------


def test_a_target_that_matches_nothing_is_an_error_naming_file_line_and_entry(tmp_path: Path) -> None:
    text = (
        "- target: {kind: Deployment, name: web}\n  merge: {}\n"
        "- target: {kind: Deployment, name: nope}\n  merge: {}\n"
    )
    message = patch_error(tmp_path, text)
    assert message.startswith("p.yaml:3 [1]: target Deployment/nope matches no object")


def test_a_failed_test_names_the_operation_and_object_but_not_the_value(tmp_path: Path) -> None:
    text = """\
- target: {kind: Deployment, name: web}
  patch:
    - {op: replace, path: /spec/replicas, value: 3}
    - {op: test, path: /spec/replicas, value: 9}
"""
    message = patch_error(tmp_path, text)
    assert message.startswith("p.yaml:4 [0].patch[1] (test /spec/replicas) on Deployment/web: test failed")
    assert "3" not in message.partition("test failed")[2], "the object's value may be a secret"


def test_an_operation_on_a_missing_path_is_an_error(tmp_path: Path) -> None:
    text = (
        "- target: {kind: Deployment, name: web}\n"
        "  patch: [{op: replace, path: /spec/nothing/here, value: 1}]\n"
    )
    assert "[0].patch[0] (replace /spec/nothing/here) on Deployment/web" in patch_error(tmp_path, text)


@pytest.mark.parametrize(
    ("ops", "expected"),
    [
        ("[{op: replace, path: /metadata/name, value: other}]", "no longer the object"),
        ("[{op: replace, path: /kind, value: StatefulSet}]", "no longer the object"),
        ("[{op: replace, path: /apiVersion, value: batch/v1}]", "no longer the object"),
        ("[{op: add, path: /metadata/namespace, value: elsewhere}]", "no longer the object"),
        ("[{op: remove, path: /kind}]", "no longer an object: missing kind"),
        ("[{op: remove, path: /metadata/name}]", "no longer an object"),
        ('[{op: replace, path: "", value: [1]}]', "no longer an object"),
    ],
)
def test_a_result_that_is_not_the_object_is_an_error(tmp_path: Path, ops: str, expected: str) -> None:
    message = patch_error(tmp_path, f"- target: {{kind: Deployment, name: web}}\n  patch: {ops}\n")
    assert expected in message and "[0].patch[0]" in message and "Deployment/web" in message


def test_a_merge_that_breaks_the_object_is_an_error(tmp_path: Path) -> None:
    message = patch_error(tmp_path, "- target: {kind: Deployment, name: web}\n  merge: {metadata: null}\n")
    assert message.startswith("p.yaml:1 [0] on Deployment/web: the result is no longer an object")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{target: {kind: A, name: b}}", "expected a list of {target, patch} entries, got a mapping"),
        ("- 3", "[0]: expected a mapping"),
        ("- {target: {kind: A, name: b}}", "give either patch"),
        ("- {target: {kind: A, name: b}, patch: [], merge: {}}", "give either patch"),
        ("- {target: {kind: A}, merge: {}}", "[0].target.name: is required"),
        ("- {target: {kind: A, name: b, nme: c}, merge: {}}", "[0].target.nme: unknown key"),
        ("- {target: {kind: A, name: 3}, merge: {}}", "expected a non-empty string"),
        ("- {target: {kind: A, name: b}, patches: []}", "[0].patches: unknown key"),
        ("- {target: {kind: A, name: b}, patch: {op: add}}", "expected a list of operations"),
        ("- {target: {kind: A, name: b}, patch: [{op: frob, path: /a}]}", "[0].patch[0].op: expected one of"),
        (
            "- {target: {kind: A, name: b}, patch: [{op: add, path: /a}]}",
            "[0].patch[0].value: a add operation needs it",
        ),
        ("- {target: {kind: A, name: b}, patch: [{op: remove, path: a}]}", "is not a JSON pointer"),
        ("- {target: {kind: A, name: b}, patch: [{op: remove, path: /a, value: 1}]}", "takes only path"),
        ("- {target: {kind: A, name: b}, patch: [{op: remove, path: /a}]}\n- !!python/object {}", "tag"),
    ],
)
def test_a_malformed_patch_file_is_refused_before_anything_applies(
    tmp_path: Path, text: str, expected: str
) -> None:
    with pytest.raises(FormulaError) as info:
        read_patch_file(write(tmp_path, text), "p.yaml")
    assert expected in info.value.message and info.value.message.startswith("p.yaml")


def test_hostile_patch_files_are_bounded(tmp_path: Path) -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    )
    with pytest.raises(FormulaError, match="alias"):
        read_patch_file(write(tmp_path, bomb), "bomb.yaml")
    big = write(tmp_path, "#" * (2 * 1024 * 1024), "big.yaml")
    with pytest.raises(FormulaError, match="limit"):
        read_patch_file(big)
    link = tmp_path / "link.yaml"
    link.symlink_to(write(tmp_path, "[]", "real.yaml"))
    with pytest.raises(FormulaError, match="symbolic link"):
        read_patch_file(link)
    # copy doubles the object each time: stopped at the size limit, not after 2**40 bytes.
    doubling = [{"op": "add", "path": "/spec/x", "value": ["y" * 1000]}] + [
        {"op": "copy", "from": "/spec/x", "path": "/spec/x/-"} for _ in range(40)
    ]
    patch_set = parse_patch_set(
        [{"target": {"kind": "Deployment", "name": "web"}, "patch": doubling}], "d.json"
    )
    with pytest.raises(FormulaError, match=f"would pass {OBJECT_LIMIT} bytes"):
        apply_patches([deploy()], [patch_set], namespace="ns")


# -- recording and carrying over ----------------------------------------------------------------


def test_a_patch_set_round_trips_through_its_record_and_a_forged_record_is_refused(tmp_path: Path) -> None:
    text = (
        "- target: {kind: Deployment, name: web, group: apps}\n"
        "  patch: [{op: remove, path: /spec/replicas}]\n"
    )
    patch_set = read_patch_file(write(tmp_path, text), "p.yaml")
    recorded = json.loads(json.dumps(patch_set.to_json()))
    assert PatchSet.from_json(recorded) == patch_set
    with pytest.raises(FormulaError):
        PatchSet.from_json({"source": "x", "entries": [{"target": {"kind": "A"}, "merge": {}}]})
    with pytest.raises(FormulaError):
        PatchSet.from_json(["not", "a", "set"])


def test_carried_keeps_recorded_sets_and_a_file_of_the_same_name_replaces_its_record() -> None:
    old_a = parse_patch_set([{"target": {"kind": "A", "name": "a"}, "merge": {"x": 1}}], "a.yaml")
    old_b = parse_patch_set([{"target": {"kind": "B", "name": "b"}, "merge": {"x": 1}}], "b.yaml")
    new_a = parse_patch_set([{"target": {"kind": "A", "name": "a"}, "merge": {"x": 2}}], "a.yaml")
    recorded = [old_a.to_json(), old_b.to_json()]
    assert carried(recorded, ()) == (old_a, old_b)
    assert carried(recorded, (new_a,)) == (old_b, new_a)
    assert carried(recorded, (new_a,), reset=True) == (new_a,)
    assert carried(None, ()) == ()


# -- K3.yaml: patches and dependencies[].patches ------------------------------------------------


def test_a_formula_patches_its_own_render(tmp_path: Path) -> None:
    directory = write_formula(
        tmp_path, "web", manifests={"deploy.json": deployment("web")}, patches=["patches/replicas.yaml"]
    )
    (directory / "patches").mkdir()
    (directory / "patches/replicas.yaml").write_text(
        "- target: {kind: Deployment, name: web}\n  patch: [{op: replace, path: /spec/replicas, value: 3}]\n"
    )
    formula = load_formula(directory)
    assert formula.patches == ("patches/replicas.yaml",)
    extra = parse_patch_set(
        [{"target": {"kind": "Deployment", "name": "web"}, "merge": {"spec": {"replicas": 5}}}], "cli.yaml"
    )
    [own] = render_manifests(formula, directory, {}, namespace="ns")
    assert own.data["spec"]["replicas"] == 3
    [both] = render_manifests(formula, directory, {}, namespace="ns", patches=[extra])
    assert both.data["spec"]["replicas"] == 5, "--patch applies after the formula's own"


@pytest.mark.parametrize(
    "path", ["/etc/passwd", "../other/p.yaml", "patches/../../x.yaml", "a\\b.yaml", "patches//x"]
)
def test_k3_patch_paths_must_stay_inside_the_formula(tmp_path: Path, path: str) -> None:
    directory = write_formula(tmp_path, "web", patches=[path])
    with pytest.raises(FormulaError, match=r"not a path inside the formula"):
        load_formula(directory)


def test_k3_patches_of_the_wrong_type_and_twice_listed_are_errors(tmp_path: Path) -> None:
    with pytest.raises(FormulaError, match="patches: expected a list"):
        load_formula(write_formula(tmp_path / "a", "web", patches="patches/x.yaml"))
    with pytest.raises(FormulaError, match="listed twice"):
        load_formula(write_formula(tmp_path / "b", "web", patches=["p/x.yaml", "p/x.yaml"]))
    deps = [{"name": "db", "version": ">=1", "patches": ["../x.yaml"]}]
    with pytest.raises(FormulaError, match=r"dependencies\[0\]\.patches\[0\]"):
        load_formula(write_formula(tmp_path / "c", "web", dependencies=deps))


def test_a_formula_patch_reached_through_a_symlink_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "p.yaml").write_text("[]\n")
    directory = write_formula(tmp_path, "web", patches=["patches/p.yaml"])
    os.symlink(outside, directory / "patches")
    formula = load_formula(directory)
    with pytest.raises(FormulaError, match="symbolic link"):
        render_manifests(formula, directory, {}, namespace="ns")


def test_declared_patches_are_the_dependents_files_for_that_dependency(tmp_path: Path) -> None:
    deps = [{"name": "db", "version": ">=1", "patches": ["patches/db.yaml"]}, {"name": "cache"}]
    app = write_formula(tmp_path, "app", dependencies=deps)
    (app / "patches").mkdir()
    (app / "patches/db.yaml").write_text(
        "- target: {kind: ConfigMap, name: db-config}\n  merge: {data: {by: app}}\n"
    )
    cache = write_formula(tmp_path, "cache", dependencies=[{"name": "db", "patches": ["db.json"]}])
    (cache / "db.json").write_text(
        '[{"target": {"kind": "ConfigMap", "name": "db-config"}, "merge": {"data": {"x": "1"}}}]'
    )
    db = write_formula(tmp_path, "db")
    formulas = {"app": load_formula(app), "cache": load_formula(cache), "db": load_formula(db)}
    found = declared_patches(formulas["app"], "db", formulas.__getitem__)
    assert [p.source for p in found] == ["app/patches/db.yaml", "cache/db.json"]
    assert declared_patches(formulas["app"], "cache", formulas.__getitem__) == ()
    [obj] = render_manifests(formulas["db"], db, {}, namespace="ns", patches=found)
    assert obj.data["data"] == {"version": "1.0.0", "by": "app", "x": "1"}


def test_lint_reports_a_formula_patch_that_matches_nothing(tmp_path: Path) -> None:
    from kube.lint.run import lint_formula

    directory = write_formula(tmp_path, "web", patches=["patches/p.yaml"])
    (directory / "patches").mkdir()
    (directory / "patches/p.yaml").write_text("- target: {kind: Deployment, name: gone}\n  merge: {}\n")
    _, findings = lint_formula(directory, kube_version="1.31")
    [found] = [f for f in findings if f.rule == "patch"]
    assert "matches no object" in found.message and found.path.endswith("patches/p.yaml")


# -- kube.capabilities, offline -----------------------------------------------------------------


def test_the_offline_table_follows_the_kubernetes_removals() -> None:
    old, new = capabilities.offline("1.20"), capabilities.offline("1.25")
    assert old.api_versions.has("policy/v1beta1") and not old.api_versions.has("policy/v1")
    assert new.api_versions.has("policy/v1") and not new.api_versions.has("policy/v1beta1")
    assert "autoscaling/v2" in new.api_versions and "autoscaling/v2" not in old.api_versions
    assert capabilities.offline("1.19").api_versions.has("networking.k8s.io/v1")
    assert not capabilities.offline("1.22").api_versions.has("extensions/v1beta1")
    assert old.kube_version.minor == "20" and old.kube_version.git_version == "v1.20.0"
    assert old.kube_version.at_least("1.20") and not old.kube_version.at_least("1.21")
    assert capabilities.offline().source == "default"
    for bad in ("2.0", "1.15", "latest", "1"):
        with pytest.raises(UsageError):
            capabilities.offline(bad)


def test_templates_choose_an_api_version_by_the_capabilities(tmp_path: Path) -> None:
    pdb = (
        "apiVersion: {{ 'policy/v1' if kube.capabilities.api_versions.has('policy/v1')"
        " else 'policy/v1beta1' }}\n"
        "kind: PodDisruptionBudget\nmetadata:\n  name: web\n"
        '  annotations: {v: "{{ kube.capabilities.kube_version.git_version }}"}\n'
    )
    directory = write_formula(tmp_path, "web", manifests={"pdb.yaml.tmpl": pdb})
    formula = load_formula(directory)
    for version, api in (("1.20", "policy/v1beta1"), ("1.21", "policy/v1")):
        [obj] = render_manifests(
            formula, directory, {}, namespace="ns", capabilities=capabilities.offline(version)
        )
        assert obj.api_version == api
        assert obj.metadata["annotations"]["v"] == f"v{version}.0"


def test_a_recorded_patch_that_does_not_read_back_points_at_reset_patches() -> None:
    with pytest.raises(FormulaError) as info:
        carried([{"source": "p.yaml", "entries": [{"target": {"kind": "A", "name": "b"}}]}], ())
    assert info.value.message.startswith("the patches the release recorded cannot be read: p.yaml")
    assert "--reset-patches" in (info.value.hint or "")
    assert carried([{"source": "p.yaml", "entries": "forged"}], (), reset=True) == ()


def test_lint_renders_templates_for_its_kube_version(tmp_path: Path) -> None:
    from kube.lint.run import lint_formula

    template = (
        "{% if kube.capabilities.kube_version.minor != '26' %}{{ only_on_other_versions }}{% endif %}\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web-config}\n"
    )
    directory = write_formula(tmp_path, "web", manifests={"cm.yaml.tmpl": template})
    _, on_26 = lint_formula(directory, kube_version="1.26")
    assert [f for f in on_26 if f.rule == "template-render"] == []
    _, on_27 = lint_formula(directory, kube_version="1.27")
    assert [f.rule for f in on_27 if "only_on_other_versions" in f.message] == ["template-render"]


def test_the_cluster_is_asked_once_and_only_for_templates_that_name_capabilities(tmp_path: Path) -> None:
    asked: list[int] = []

    def reader() -> capabilities.Capabilities:
        asked.append(1)
        return capabilities.offline("1.20")

    plain = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: '{{ kube.release }}-a'}\n"
    directory = write_formula(tmp_path / "one", "web", manifests={"a.yaml.tmpl": plain})
    render_manifests(load_formula(directory), directory, {}, namespace="ns", capabilities=reader)
    assert asked == []
    named = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: 'b{{ kube.capabilities.kube_version.minor }}'}\n"
    )
    again = named.replace("'b", "'c")
    directory = write_formula(tmp_path / "two", "web", manifests={"b.yaml.tmpl": named, "c.yaml.tmpl": again})
    objs = render_manifests(load_formula(directory), directory, {}, namespace="ns", capabilities=reader)
    assert [o.name for o in objs] == ["b20", "c20"] and asked == [1]
