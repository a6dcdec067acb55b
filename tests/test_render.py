"""Values merging and manifest rendering, on real formula directories in tmp_path."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from kube.core.errors import FormulaError, RenderError, UsageError
from kube.formula import templating
from kube.formula.load import Formula, load_formula
from kube.formula.render import merge_values, render_manifests
from kube.k8s.objects import KubeObject
from tests.gitrepo import k3, write_tree

CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  a: b\n"


def make_formula(
    root: Path, manifests: dict[str, str], values: dict[str, Any] | None = None, name: str = "shop"
) -> tuple[Formula, Path]:
    directory = root / name
    extra: dict[str, Any] = {"values": values} if values is not None else {}
    write_tree(
        directory,
        {"K3.yaml": k3(name, "1.2.3", **extra), **{f"manifests/{k}": v for k, v in manifests.items()}},
    )
    return load_formula(directory), directory


def render(
    tmp_path: Path, manifests: dict[str, str], values: dict[str, Any] | None = None, namespace: str = "prod"
) -> list[KubeObject]:
    formula, directory = make_formula(tmp_path, manifests, values)
    return render_manifests(formula, directory, merge_values(formula.values), namespace=namespace)


def render_error(
    tmp_path: Path, manifests: dict[str, str], values: dict[str, Any] | None = None
) -> RenderError:
    with pytest.raises(RenderError) as err:
        render(tmp_path, manifests, values)
    return err.value


# --- values -----------------------------------------------------------------------------------------


def test_values_precedence_defaults_files_set_set_string(tmp_path: Path) -> None:
    first = tmp_path / "a.yaml"
    first.write_text("image: {repo: nginx, tag: '1.0'}\nreplicas: 2\n")
    second = tmp_path / "b.yaml"
    second.write_text("image: {tag: '1.1'}\n")
    values = merge_values(
        {"image": {"repo": "busybox", "pull": "Always"}, "replicas": 1, "port": 80},
        value_files=[first, second],
        sets=["replicas=3", "port=8080"],
        set_strings=["port=9090"],
    )
    assert values == {
        "image": {"repo": "nginx", "tag": "1.1", "pull": "Always"},
        "replicas": 3,
        "port": "9090",
    }


def test_merge_values_does_not_modify_the_defaults() -> None:
    defaults = {"db": {"user": "app"}}
    merge_values(defaults, sets=["db.user=root", "db.extra.x=1"])
    assert defaults == {"db": {"user": "app"}}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3", 3),
        ("-7", -7),
        ("0x1f", 31),
        ("0o17", 15),
        ("1.5", 1.5),
        ("1e3", 1000.0),
        ("1.10", 1.1),
        ("true", True),
        ("False", False),
        ("null", None),
        ("~", None),
        ("", ""),
        ("yes", "yes"),
        ("on", "on"),
        ("'1.10'", "1.10"),
        ('"true"', "true"),
        ("'it''s'", "it's"),
        ('"a\\tb"', "a\tb"),
        ("hello world", "hello world"),
        ("a=b", "a=b"),
        ("1,2", "1,2"),
        ("[1, 2]", "[1, 2]"),
        ("v1.2", "v1.2"),
        (".inf", math.inf),
    ],
)
def test_set_types_its_value_like_a_yaml_scalar(text: str, expected: Any) -> None:
    assert merge_values({}, sets=[f"x={text}"]) == {"x": expected}


def test_set_string_never_types_its_value() -> None:
    assert merge_values({}, set_strings=["a=3", "b=true", "c=null"]) == {"a": "3", "b": "true", "c": "null"}


def test_set_builds_nested_mappings_and_lists() -> None:
    values = merge_values(
        {"hosts": ["a"]},
        sets=["hosts[0]=x", "hosts[1]=y", "db.replicas[0].name=r0", r"annotations.example\.com/team=ops"],
    )
    assert values == {
        "hosts": ["x", "y"],
        "db": {"replicas": [{"name": "r0"}]},
        "annotations": {"example.com/team": "ops"},
    }


@pytest.mark.parametrize(
    ("arg", "message"),
    [
        ("novalue", "expected KEY=VALUE"),
        ("=1", "expected KEY=VALUE"),
        ("a..b=1", "bad key ''"),
        ("a b=1", "bad key 'a b'"),
        ("a[x]=1", "bad key"),
        ("hosts[5]=z", "index 5 is past the end of hosts"),
        ("name.first=1", "name is a string, not a mapping"),
        ("db[0]=1", "db is a mapping, not a list"),
    ],
)
def test_bad_set_is_a_usage_error_naming_the_argument(arg: str, message: str) -> None:
    with pytest.raises(UsageError, match=message) as err:
        merge_values({"name": "x", "hosts": [], "db": {}}, sets=[arg])
    assert repr(arg.partition("=")[0] if "=" in arg[1:] else arg) in err.value.message
    assert "\n" not in err.value.message


def test_values_file_must_be_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "v.yaml"
    path.write_text("- a\n- b\n")
    with pytest.raises(FormulaError, match=r"v.yaml:1 --values file must hold a mapping"):
        merge_values({}, value_files=[path])


def test_values_file_with_duplicate_keys_is_reported_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "v.yaml"
    path.write_text("a: 1\nb: 2\na: 3\n")
    with pytest.raises(FormulaError, match=r"v.yaml:3 .*duplicate key"):
        merge_values({}, value_files=[path])


def test_a_values_file_that_is_a_directory_is_a_usage_error_as_a_missing_one(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"--values .*: not a regular file"):
        merge_values({}, value_files=[tmp_path])


def test_missing_values_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"--values .*nope.yaml: no such file"):
        merge_values({}, value_files=[tmp_path / "nope.yaml"])


def test_empty_values_file_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "v.yaml"
    path.write_text("# nothing\n")
    assert merge_values({"a": 1}, value_files=[path]) == {"a": 1}


# --- plain manifests --------------------------------------------------------------------------------


def test_files_are_read_in_name_order_with_sources(tmp_path: Path) -> None:
    objs = render(
        tmp_path,
        {
            "b.yaml": CONFIGMAP.format(name="b1") + "---\n" + CONFIGMAP.format(name="b2"),
            "a.json": json.dumps({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "a"}}),
            "c.yml": "\n---\n" + CONFIGMAP.format(name="c") + "---\n",
        },
    )
    assert [(o.kind, o.name, o.source) for o in objs] == [
        ("Secret", "a", "manifests/a.json:1"),
        ("ConfigMap", "b1", "manifests/b.yaml:1"),
        ("ConfigMap", "b2", "manifests/b.yaml:8"),
        ("ConfigMap", "c", "manifests/c.yml:3"),
    ]
    assert objs[1].data == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "b1"},
        "data": {"a": "b"},
    }
    assert type(objs[1].data) is dict


def test_list_kind_expands_into_its_items(tmp_path: Path) -> None:
    objs = render(
        tmp_path,
        {
            "list.yaml": (
                "apiVersion: v1\nkind: List\nitems:\n"
                "- {apiVersion: v1, kind: ConfigMap, metadata: {name: one}}\n"
                "- {apiVersion: v1, kind: Secret, metadata: {name: two}}\n"
            )
        },
    )
    assert [o.display for o in objs] == ["ConfigMap/one", "Secret/two"]


def test_a_typed_list_expands_into_its_items_as_kubectl_applies_it(tmp_path: Path) -> None:
    # What `kubectl get -o yaml` writes and kube-prometheus ships (RoleList, ConfigMapList, ...).
    objs = render(
        tmp_path,
        {
            "roles.yaml": (
                "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleList\nitems:\n"
                "- {apiVersion: rbac.authorization.k8s.io/v1, kind: Role, metadata: {name: a}}\n"
                "- {apiVersion: rbac.authorization.k8s.io/v1, kind: Role, metadata: {name: b}}\n"
            ),
            "dashboards.json": (
                '{"apiVersion": "v1", "kind": "ConfigMapList", "metadata": {}, "items": '
                '[{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "d"}}]}'
            ),
            # A kind that only ends in List, without items, is an object like any other.
            "allow.yaml": "apiVersion: example.org/v1\nkind: AllowList\nmetadata: {name: ips}\nspec: {}\n",
        },
    )
    assert [(o.display, o.source) for o in objs] == [
        ("AllowList/ips", "manifests/allow.yaml:1"),
        ("ConfigMap/d", "manifests/dashboards.json:1"),
        ("Role/a", "manifests/roles.yaml:1"),  # a render names the list's document, as for List
        ("Role/b", "manifests/roles.yaml:1"),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("apiVersion: v1\nkind: ConfigMapList\nitems: {a: b}\n", "a ConfigMapList's items must be a list"),
        (
            "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: SecretList, items: []}\n",
            "items[0]: a List cannot contain another List",
        ),
    ],
)
def test_a_typed_list_is_held_to_the_rules_of_a_list(tmp_path: Path, text: str, message: str) -> None:
    assert message in render_error(tmp_path, {"list.yaml": text}).message


def test_list_inside_a_list_is_refused(tmp_path: Path) -> None:
    err = render_error(
        tmp_path,
        {"list.yaml": ("apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: List, items: []}\n")},
    )
    assert "items[0]: a List cannot contain another List" in err.message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("kind: ConfigMap\nmetadata: {name: x}\n", "missing apiVersion"),
        ("apiVersion: v1\nmetadata: {name: x}\n", "missing kind"),
        ("apiVersion: v1\nkind: ConfigMap\n", "ConfigMap has no metadata mapping"),
        ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: 12}\n", "has no metadata.name"),
        (
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, labels: [a]}\n",
            "metadata.labels must be a mapping",
        ),
        ("- a\n- b\n", "must be a Kubernetes object (a mapping), not a list"),
        ("just text\n", 'not "just text"'),
    ],
)
def test_document_that_is_not_an_object_is_reported_with_file_and_line(
    tmp_path: Path, text: str, message: str
) -> None:
    err = render_error(tmp_path, {"x.yaml": CONFIGMAP.format(name="ok") + "---\n" + text})
    assert message in err.message
    finding = err.findings[0]
    assert finding.path == "manifests/x.yaml"
    assert finding.line in (0, 8)
    assert finding.rule == "manifest-object"


def test_yaml_tags_are_never_evaluated(tmp_path: Path) -> None:
    err = render_error(
        tmp_path,
        {
            "x.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
            "  name: !!python/object/apply:os.system [touch pwned]\n"
        },
    )
    assert err.findings[0].path == "manifests/x.yaml"
    assert err.findings[0].line == 4
    assert not Path("pwned").exists()


def test_all_problems_of_all_files_are_reported_together(tmp_path: Path) -> None:
    err = render_error(
        tmp_path,
        {
            "a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n",
            "b.yaml.tmpl": "{{ nope }}\n",
            "c.json": '{"a": 1,}',
        },
    )
    assert [(f.path, f.rule) for f in err.findings] == [
        ("manifests/a.yaml", "manifest-object"),
        ("manifests/b.yaml.tmpl", "template-undefined"),
        ("manifests/c.json", "manifest-json"),
    ]
    assert "(and 2 more problems)" in err.message


def test_json_duplicate_keys_are_refused(tmp_path: Path) -> None:
    err = render_error(tmp_path, {"a.json": '{"apiVersion": "v1", "apiVersion": "v2"}'})
    assert "duplicate key 'apiVersion'" in err.message


# --- templates --------------------------------------------------------------------------------------

DEPLOYMENT_TMPL = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ kube.formula }}-web
  namespace: {{ kube.namespace }}
  labels:
    version: "{{ kube.version }}"
spec:
  replicas: {{ replicas }}
{% if image.pull %}
  pullPolicy: {{ image.pull }}
{% endif %}
  paused: {{ paused }}
  note: {{ note }}
"""


def test_template_sees_values_and_the_kube_object(tmp_path: Path) -> None:
    objs = render(
        tmp_path,
        {"deployment.yaml.tmpl": DEPLOYMENT_TMPL},
        values={"replicas": 2, "image": {"pull": None}, "paused": False, "note": None},
    )
    (deploy,) = objs
    assert deploy.name == "shop-web"
    assert deploy.namespace == "prod"
    assert deploy.data["metadata"]["labels"] == {"version": "1.2.3"}
    assert deploy.data["spec"] == {"replicas": 2, "paused": False, "note": None}
    assert deploy.source == "manifests/deployment.yaml.tmpl"


def test_undefined_name_is_reported_with_template_file_and_line(tmp_path: Path) -> None:
    err = render_error(
        tmp_path,
        {"deployment.yaml.tmpl": DEPLOYMENT_TMPL},
        values={"image": {"pull": "Always"}, "paused": True, "note": "x"},
    )
    assert err.message == "manifests/deployment.yaml.tmpl:9 'replicas' is undefined"
    assert err.findings[0].rule == "template-undefined"
    # What to run next: the values the formula takes.
    assert err.hint is not None and "--values`" in err.hint and "kube info " in err.hint


def test_undefined_attribute_of_a_value_names_its_line(tmp_path: Path) -> None:
    err = render_error(
        tmp_path,
        {"deployment.yaml.tmpl": DEPLOYMENT_TMPL},
        values={"replicas": 1, "image": {}, "paused": True, "note": "x"},
    )
    assert err.message.startswith("manifests/deployment.yaml.tmpl:10 ")
    assert "has no attribute 'pull'" in err.message


def test_template_syntax_error_names_its_line(tmp_path: Path) -> None:
    err = render_error(tmp_path, {"x.yaml.tmpl": "a: 1\nb: {% if %}\n"})
    assert err.findings[0].line == 2
    assert err.findings[0].rule == "template-syntax"


def test_value_named_kube_is_refused_as_the_values_fault_not_the_templates(tmp_path: Path) -> None:
    formula, directory = make_formula(tmp_path, {"x.yaml.tmpl": "{{ kube.formula }}\n"})
    values = merge_values(formula.values, sets=["kube.formula=evil"])
    with pytest.raises(UsageError) as err:
        render_manifests(formula, directory, values, namespace="prod")
    # The value came with --set, -f or a hook: naming the template would send the user to the
    # wrong file, and exit 4 would call the formula broken.
    assert (
        err.value.message
        == "the values hold a top-level `kube`, a name reserved for the templates' kube object"
    )
    assert "x.yaml.tmpl" not in err.value.message
    assert err.value.hint is not None and "--set" in err.value.hint


@pytest.mark.parametrize(
    "expression",
    [
        "''.__class__.__mro__[1].__subclasses__()",
        "cycler.__init__.__globals__",
        "joiner.__init__.__globals__['os']",
        "namespace.__init__.__globals__",
        "range.__self__",
        "self._TemplateReference__context",
        "kube.__class__",
        "().__class__.__base__.__subclasses__()",
        "'{0.__class__}'.format(1)",
        "replicas.__class__.__mro__",
    ],
)
def test_sandbox_escape_attempt_is_a_render_error_with_file_and_line(tmp_path: Path, expression: str) -> None:
    err = render_error(
        tmp_path, {"evil.yaml.tmpl": "a: 1\nb: {{ " + expression + " }}\n"}, values={"replicas": 1}
    )
    finding = err.findings[0]
    assert (finding.path, finding.line) == ("manifests/evil.yaml.tmpl", 2)
    assert finding.rule in ("template-sandbox", "template-undefined")
    assert "\n" not in err.message


def test_templates_cannot_modify_values(tmp_path: Path) -> None:
    err = render_error(tmp_path, {"x.yaml.tmpl": "{{ hosts.append('evil') }}\n"}, values={"hosts": []})
    assert err.findings[0].rule == "template-sandbox"


@pytest.mark.parametrize(
    "tag",
    [
        "{% include 'other.yaml.tmpl' %}",
        "{% import 'm.j2' as m %}",
        "{% extends 'base.yaml.tmpl' %}",
        "{% from 'x' import y %}",
    ],
)
def test_templates_cannot_include_other_templates(tmp_path: Path, tag: str) -> None:
    err = render_error(
        tmp_path, {"x.yaml.tmpl": "a: 1\n" + tag + "\n", "other.yaml.tmpl": CONFIGMAP.format(name="o")}
    )
    assert err.findings[0].line == 2
    assert "cannot include, import or extend other templates" in err.message


@pytest.mark.parametrize(
    "expression",
    [
        "'x' * 100000000",
        "[1] * 100000000",
        "2 ** 100000000",
        "'x'.ljust(10 ** 9)",
        "'x'.center(999999999)",
        "'x' | center(999999999)",
        "'x' | indent(999999999, true)",
        "[1, 2] | slice(999999999) | list",
        "'%999999999d' % 1",
        "'%*d' % (999999999, 1)",
        "'%999999999d' | format(1)",
        "'{:>999999999}'.format(1)",
        "'{0:>999999999}'.format_map({'0': 1})",
    ],
)
def test_huge_values_are_refused_before_they_are_built(tmp_path: Path, expression: str) -> None:
    err = render_error(tmp_path, {"x.yaml.tmpl": "{{ " + expression + " }}\n"})
    assert err.findings[0].rule == "template-sandbox", err.message


def test_a_refused_join_says_how_long_the_string_would_be(tmp_path: Path) -> None:
    err = render_error(tmp_path, {"x.yaml.tmpl": "{{ range(99999) | join('x' * 100) }}\n"})
    # The whole string (99,998 separators of 100 characters and the numbers), not the last item.
    assert "would build a string of 9,999,802 characters (the limit is 8,388,608)" in err.message


def test_ordinary_padding_formatting_and_big_numbers_still_work(tmp_path: Path) -> None:
    objs = render(
        tmp_path,
        {
            "x.yaml.tmpl": (
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ 'x'.ljust(3, 'y') }}\n"
                "data:\n  a: '{{ '%05d' % 42 }}'\n  b: '{{ '{:>4}'.format(7) }}'\n"
                "  c: '{{ 5000000000 | filesizeformat }}'\n  d: '{{ 'q' | center(5) }}'\n"
            )
        },
    )
    assert objs[0].name == "xyy"
    assert objs[0].data["data"] == {"a": "00042", "b": "   7", "c": "5.0 GB", "d": "  q  "}


def test_template_loops_stop_at_the_time_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(templating, "TIME_LIMIT", 0.3)
    # Only the clock may stop it: on a fast machine 2,000,000 steps take less than 0.3 s.
    monkeypatch.setattr(templating, "STEP_LIMIT", 10**12)
    err = render_error(
        tmp_path,
        {
            "x.yaml.tmpl": (
                "a: 1\n{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}\n"
            )
        },
    )
    # The limit's own message is the proof it fired: 10^10 loop steps would otherwise run for hours.
    assert "ran for more than 0.3s" in err.message
    assert err.findings[0].line == 2


def test_output_size_is_capped(tmp_path: Path) -> None:
    err = render_error(
        tmp_path,
        {
            "x.yaml.tmpl": (
                "{% for i in range(100000) %}{% for j in range(100) %}"
                "xxxxxxxxxxxxxxxxxxxx{% endfor %}{% endfor %}"
            )
        },
    )
    assert "output is larger than" in err.message


def test_template_runtime_error_names_its_line(tmp_path: Path) -> None:
    err = render_error(tmp_path, {"x.yaml.tmpl": "a: 1\n\nb: {{ 1 // 0 }}\n"})
    assert err.message == "manifests/x.yaml.tmpl:3 ZeroDivisionError: integer division or modulo by zero"


def test_rendered_output_that_is_not_yaml_is_reported_against_the_template(tmp_path: Path) -> None:
    err = render_error(
        tmp_path,
        {
            "bad.yaml.tmpl": (
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  text: {{ text }}\n"
            )
        },
        values={"text": "a: b: c"},
    )
    finding = err.findings[0]
    assert finding.path == "manifests/bad.yaml.tmpl"
    assert finding.rule == "template-output"
    assert "rendered output is not valid YAML at line 6: 'text: a: b: c'" in finding.message
    assert err.message.startswith("manifests/bad.yaml.tmpl rendered output is not valid YAML at line 6")


def test_rendered_output_that_is_not_json_is_reported_against_the_template(tmp_path: Path) -> None:
    err = render_error(
        tmp_path, {"x.json.tmpl": '{"apiVersion": "v1", "kind": {{ kind }}}'}, values={"kind": "ConfigMap"}
    )
    assert err.findings[0].rule == "template-output"
    assert "rendered output is not valid JSON" in err.message


def test_json_template_prints_booleans_and_null_as_json(tmp_path: Path) -> None:
    objs = render(
        tmp_path,
        {
            "x.json.tmpl": (
                '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": {{ name | quote }}},'
                ' "data": {"on": {{ on }}, "off": {{ off }}, "none": {{ none }}}}'
            )
        },
        values={"name": 'we"ird', "on": True, "off": False, "none": None},
    )
    assert objs[0].data["data"] == {"on": True, "off": False, "none": None}
    assert objs[0].name == 'we"ird'


def test_template_filters_for_secrets_and_nested_values(tmp_path: Path) -> None:
    objs = render(
        tmp_path,
        {
            "s.yaml.tmpl": (
                "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n"
                "data:\n  password: {{ password | b64encode }}\n"
                "stringData:\n  config: |\n    {{ config | toyaml | indent(4) }}\n"
            )
        },
        values={"password": "hunter2", "config": {"a": [1, 2], "b": {"c": "d"}}},
    )
    assert objs[0].data["data"] == {"password": "aHVudGVyMg=="}
    assert objs[0].data["stringData"]["config"] == "a:\n- 1\n- 2\nb:\n  c: d\n"


def test_template_rendering_to_several_documents_and_lists(tmp_path: Path) -> None:
    objs = render(
        tmp_path,
        {
            "m.yaml.tmpl": (
                "{% for n in names %}\n---\napiVersion: v1\nkind: ConfigMap\n"
                "metadata:\n  name: {{ n }}\n{% endfor %}\n"
            )
        },
        values={"names": ["a", "b", "c"]},
    )
    assert [o.name for o in objs] == ["a", "b", "c"]


def test_symlinked_manifest_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.yaml"
    secret.write_text(CONFIGMAP.format(name="outside"))
    formula, directory = make_formula(tmp_path, {"a.yaml": CONFIGMAP.format(name="a")})
    (directory / "manifests" / "b.yaml").symlink_to(secret)
    with pytest.raises(FormulaError):
        render_manifests(formula, directory, {}, namespace="prod")


def test_render_accepts_a_relative_formula_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_formula(tmp_path, {"a.yaml": CONFIGMAP.format(name="a")})
    monkeypatch.chdir(tmp_path)
    formula = load_formula(Path("shop"))
    objs = render_manifests(formula, Path("shop"), {}, namespace="prod")
    assert [(o.display, o.source) for o in objs] == [("ConfigMap/a", "manifests/a.yaml:1")]


def test_one_template_text_in_two_files_names_each_file_in_its_errors() -> None:
    from kube.formula.templating import KubeInfo

    source = "a: 1\n{% if a %}\nb: {{ a.missing }}\n{% endif %}\n"
    kube = KubeInfo("shop", "1.2.3", "prod")
    for display in ("one/manifests/x.yaml.tmpl", "two/manifests/x.yaml.tmpl", "odd 'name' {x}.tmpl"):
        with pytest.raises(RenderError) as caught:
            templating.render_template(source, display=display, values={"a": True}, kube=kube)
        assert [(f.path, f.line, f.rule) for f in caught.value.findings] == [
            (display, 3, "template-undefined")
        ]
        code = templating._compiled(source, display)
        assert code.co_filename == display
        assert all(c.co_filename == display for c in code.co_consts if hasattr(c, "co_filename"))


def test_a_render_after_one_past_its_budget_gets_a_whole_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    from kube.formula.templating import KubeInfo

    monkeypatch.setattr(templating, "STEP_LIMIT", 50)
    kube = KubeInfo("shop", "1.2.3", "prod")
    with pytest.raises(RenderError) as caught:
        templating.render_template("{% for i in range(60) %}{% endfor %}", display="a", values={}, kube=kube)
    assert caught.value.findings[0].rule == "template-limit"
    # The environment goes back to the idle list; the next render starts from zero steps.
    loop = "{% for i in range(20) %}{% endfor %}ok"  # 40 steps: three renders would make 120
    for _ in range(3):
        assert templating.render_template(loop, display="b", values={}, kube=kube) == "ok"


# --- YAML 1.2 numbers: K3.yaml defaults, --set and manifests agree -----------------------------------

# Texts YAML 1.1 reads as numbers and the YAML 1.2 core schema as strings (ruamel's 1.2 rules
# still took the first five as numbers).
YAML_1_1_NUMBERS = ["1_000", "0b101", "0x_1", "+0x1", "1_0.5", "1:20", "0o1_7"]


@pytest.mark.parametrize("text", YAML_1_1_NUMBERS)
def test_k3_default_that_only_yaml_1_1_reads_as_a_number_is_the_string_set_gives(
    tmp_path: Path, text: str
) -> None:
    head = k3("shop", "1.2.3")
    template = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  s: {{ s | tojson }}\n"
    write_tree(
        tmp_path / "shop", {"K3.yaml": f"{head}values:\n  s: {text}\n", "manifests/c.yaml.tmpl": template}
    )
    formula = load_formula(tmp_path / "shop")
    assert formula.values == {"s": text}
    assert merge_values({}, sets=[f"s={text}"]) == {"s": text}  # what --set s=... gives
    [obj] = render_manifests(formula, tmp_path / "shop", merge_values(formula.values), namespace="prod")
    assert obj.data["data"]["s"] == text


def test_k3_core_schema_numbers_stay_numbers(tmp_path: Path) -> None:
    head = k3("shop", "1.2.3")
    values = "values:\n  a: 1000\n  b: 0o17\n  c: 0x1F\n  d: -12\n  e: 1.5e3\n  f: .5\n  g: 0777\n"
    write_tree(tmp_path / "shop", {"K3.yaml": head + values, "manifests/c.yaml": CONFIGMAP.format(name="c")})
    assert load_formula(tmp_path / "shop").values == {
        "a": 1000, "b": 15, "c": 31, "d": -12, "e": 1500.0, "f": 0.5, "g": 777,
    }  # fmt: skip


@pytest.mark.parametrize("fast", [True, False], ids=["libyaml", "ruamel"])
def test_manifest_reads_yaml_1_1_numbers_as_strings_on_both_readers(fast: bool) -> None:
    from kube.formula import manifests

    text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  annotations:\n"
    text += "".join(f"    a{i}: {t}\n" for i, t in enumerate(YAML_1_1_NUMBERS))
    [obj], refused = manifests.parse(text, "manifests/c.yaml", nodes=not fast, fast=fast)
    assert refused == []
    # Strings, as kube sends them: the dry run's output quotes them for kubectl's YAML 1.1.
    assert list(obj.metadata["annotations"].values()) == YAML_1_1_NUMBERS
