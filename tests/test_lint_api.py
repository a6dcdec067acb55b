"""kube lint agrees with the API server: custom resources against their CRD (the formula's or a
dependency's), exact template lines, size limits shared with install, RBAC subject namespaces,
and schemas of Kubernetes 1.20 from the cluster's own OpenAPI (``--cluster`` and its cache).

The manifests are real upstream files kept small in tests/fixtures/upstream (see its README)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kube.cli.app import app
from kube.core.errors import FormulaError, RenderError, UsageError
from kube.formula import manifests as reader
from kube.lint import crds, schema
from kube.lint import run as lint
from tests.gitrepo import formula_files, make_repo

UPSTREAM = Path(__file__).parent / "fixtures" / "upstream"
CERT_CRD = (UPSTREAM / "cert-manager" / "crd-certificates.yaml").read_text(encoding="utf-8")
METRICS_RBAC = (UPSTREAM / "metrics-server" / "rbac.yaml").read_text(encoding="utf-8")

CERTIFICATE = """\
apiVersion: cert-manager.io/v1
kind: Certificate
metadata:
  name: web
spec:
  dnsNames: [web.example.com]
  isCA: "yes"
  secretNme: web-tls
  issuerRef:
    name: selfsigned
"""


def _files(name: str, manifests: dict[str, str], **extra: object) -> dict[str, str]:
    return {**formula_files(name, manifests=manifests, **extra), f"formulas/{name}/README.md": f"# {name}\n"}


def _repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *formulas: dict[str, str]) -> Path:
    files: dict[str, str] = {}
    for each in formulas:
        files.update(each)
    repo = make_repo(tmp_path / "repo", files)
    monkeypatch.chdir(repo)
    return repo


def _found(report: lint.LintReport) -> list[tuple[str, str]]:
    return [(f.location, f.rule) for f in report.findings]


# -- custom resources against their CRD ---------------------------------------------------------


def _certificate_and_its_crd() -> tuple[dict[str, str], dict[str, str]]:
    """web-certs, whose Certificate needs the CRD its dependency cert-manager-crds ships."""
    return (
        _files("cert-manager-crds", {"crds.yaml": CERT_CRD}),
        _files(
            "web-certs",
            {"certificate.yaml": CERTIFICATE},
            dependencies=[{"name": "cert-manager-crds", "version": ">=1.0"}],
        ),
    )


def test_a_certificate_is_checked_against_the_crd_a_dependency_ships(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _repo(
        tmp_path,
        monkeypatch,
        *_certificate_and_its_crd(),
    )
    report = lint.lint(["formulas/web-certs"])
    assert _found(report) == [
        ("formulas/web-certs/manifests/certificate.yaml:5", "manifest-schema"),
        ("formulas/web-certs/manifests/certificate.yaml:7", "manifest-schema"),
        ("formulas/web-certs/manifests/certificate.yaml:8", "manifest-schema"),
    ]
    required, is_ca, unknown = report.findings
    assert "`spec.secretName` is required" in required.message
    assert '`spec.isCA` must be a boolean, not a string ("yes")' in is_ca.message
    assert is_ca.hint == "write isCA: true or isCA: false, unquoted"
    assert "unknown field `spec.secretNme` (the API server prunes it" in unknown.message
    assert unknown.hint == "did you mean `secretName`?"
    # Fixed, it is clean, and nobody says to ship the CRD that the dependency ships.
    fixed = CERTIFICATE.replace('isCA: "yes"', "isCA: true").replace("secretNme", "secretName")
    (Path("formulas/web-certs/manifests/certificate.yaml")).write_text(fixed, encoding="utf-8")
    assert lint.lint(["formulas/web-certs"]).findings == ()


def test_linting_one_formula_reads_only_what_its_dependencies_reach(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One formula with a dependency in an archive of 40: lint looks up the dependency's K3.yaml
    and nobody else's (it used to stat every formula to list the archive's names). Path.is_file
    is wrapped to record what it is asked, and still answers from the file system."""
    others = [
        _files(f"other-{i}", {"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"})
        for i in range(38)
    ]
    _repo(
        tmp_path,
        monkeypatch,
        *_certificate_and_its_crd(),
        *others,
    )
    asked: list[str] = []
    real = Path.is_file

    def recording(self: Path) -> bool:
        asked.append(str(self))
        return real(self)

    monkeypatch.setattr(Path, "is_file", recording)
    report = lint.lint(["formulas/web-certs"])
    assert [rule for _, rule in _found(report)] == ["manifest-schema"] * 3  # the CRD was found and used
    assert not [p for p in asked if "other-" in p]


def test_without_the_dependency_the_custom_resource_is_not_validated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _repo(tmp_path, monkeypatch, _files("web-certs", {"certificate.yaml": CERTIFICATE}))
    [only] = lint.lint(["formulas/web-certs"]).findings
    assert only.rule == "manifest-custom-resource"
    assert "neither in this formula nor in its dependencies" in only.message


def test_a_crd_in_the_formula_checks_its_resources_and_the_version_they_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = CERTIFICATE.replace("cert-manager.io/v1", "cert-manager.io/v1alpha2").replace("web", "old", 1)
    fine = CERTIFICATE.replace('isCA: "yes"', "isCA: false").replace("secretNme", "secretName")
    _repo(
        tmp_path,
        monkeypatch,
        _files("certs", {"crds.yaml": CERT_CRD, "old.yaml": old, "web.yaml": fine.replace("web.", "www.")}),
    )
    [served] = lint.lint(["formulas/certs"]).findings
    assert served.location == "formulas/certs/manifests/old.yaml:1"
    assert "serves no `cert-manager.io/v1alpha2`; it serves `cert-manager.io/v1`" in served.message
    assert served.hint == "use apiVersion cert-manager.io/v1"


def _problems(openapi: dict[str, object], obj: dict[str, object], *, pruned: bool = True) -> list[str]:
    import jsonschema

    validator = jsonschema.Draft4Validator(crds.json_schema(openapi, pruned=pruned))

    def check(work: dict[str, object]) -> None:
        error = jsonschema.exceptions.best_match(validator.iter_errors(work))
        if error is not None:
            raise error

    return [p.message for p in schema.collect(obj, check)]


def test_structural_schema_extensions_are_honoured() -> None:
    openapi = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "port": {
                        "x-kubernetes-int-or-string": True,
                        "anyOf": [{"type": "integer"}, {"type": "string"}],
                    },
                    "config": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                    "template": {
                        "type": "object",
                        "x-kubernetes-embedded-resource": True,
                        "properties": {
                            "spec": {"type": "object", "properties": {"size": {"type": "integer"}}}
                        },
                    },
                    "note": {"type": "string", "nullable": True},
                    # Not checked: Python's engine would take exponential time on this one.
                    "name": {"type": "string", "pattern": "^(a+)+$"},
                    "strict": {"type": "object", "properties": {"a": {"type": "string"}}},
                },
            }
        },
    }
    good = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": {
            "port": "http",
            "config": {"anything": {"goes": 1}},
            "template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"size": 2}},
            "note": None,
            "name": "a" * 40 + "!",
        },
    }
    assert _problems(openapi, good) == []
    assert _problems(openapi, {**good, "spec": {**good["spec"], "port": 8080}}) == []  # type: ignore[dict-item]
    bad = {**good, "spec": {"port": 1.5, "strict": {"b": "x"}, "template": {"spec": {"sise": 2}}}}
    assert sorted(_problems(openapi, bad)) == [
        "`spec.port` must be an integer or a string, not a number (1.5)",
        "unknown field `spec.strict.b`",
        "unknown field `spec.template.spec.sise`",
    ]


def test_a_v1beta1_crd_keeps_unknown_fields_unless_it_says_otherwise() -> None:
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1beta1",
        "kind": "CustomResourceDefinition",
        "spec": {
            "group": "example.com",
            "names": {"kind": "Widget"},
            "version": "v1",
            "validation": {
                "openAPIV3Schema": {"properties": {"spec": {"properties": {"a": {"type": "string"}}}}}
            },
        },
    }
    obj = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"b": 1}}
    kept = crds.read_crd(crd, "x")
    assert kept is not None and kept.served == ("v1",) and not kept.pruned
    assert _problems(kept.schemas["v1"], obj, pruned=kept.pruned) == []
    crd["spec"]["preserveUnknownFields"] = False  # type: ignore[index]
    pruning = crds.read_crd(crd, "x")
    assert pruning is not None and pruning.pruned
    assert _problems(pruning.schemas["v1"], obj) == ["unknown field `spec.b`"]


# -- template lines ---------------------------------------------------------------------------------


def test_findings_in_a_template_point_at_their_own_line_when_the_text_repeats(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # metrics-server's rbac.yaml as a template: `namespace: kube-system` and `name: {{ name }}`
    # are on several lines each, so only the alignment of each document can tell them apart.
    template = METRICS_RBAC.replace("name: metrics-server\n", "name: {{ name }}\n")
    assert template.count("namespace: kube-system") == 5 and template.count("{{ name }}") == 4
    _repo(
        tmp_path,
        monkeypatch,
        _files("metrics", {"rbac.yaml.tmpl": template}, values={"name": "metrics-server"}),
    )
    lines = template.splitlines()
    found = _found(lint.lint(["formulas/metrics"]))
    assert found == [
        ("formulas/metrics/manifests/rbac.yaml.tmpl:19", "manifest-namespace"),
        ("formulas/metrics/manifests/rbac.yaml.tmpl:25", "manifest-namespace"),
    ]
    assert lines[18] == lines[24] == "  namespace: kube-system"
    assert lines[17] == "  name: {{ name }}"  # the ServiceAccount's, one of four


def test_template_lines_survive_values_that_write_several_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    template = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: first
  labels:
    {{ labels | indent(4) }}
data:
  key: value
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: second
  labels:
    {{ labels | indent(4) }}
data:
  key: value
  nested: {a: 1}
"""
    _repo(
        tmp_path,
        monkeypatch,
        _files("maps", {"maps.yaml.tmpl": template}, values={"labels": "app: web\ntier: front\nzone: a"}),
    )
    [bad] = lint.lint(["formulas/maps"]).findings
    assert (bad.location, bad.rule) == ("formulas/maps/manifests/maps.yaml.tmpl:18", "manifest-schema")
    assert "`data.nested` must be a string" in bad.message


# -- RBAC subjects --------------------------------------------------------------------------------------


def test_metrics_server_rbac_is_consistent_and_a_template_uses_the_install_namespace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Upstream, the ServiceAccount and the subjects both say kube-system: consistent.
    # As a template with {{ kube.namespace }} everywhere, there is nothing hard-coded left.
    template = METRICS_RBAC.replace("namespace: kube-system", "namespace: {{ kube.namespace }}")
    _repo(
        tmp_path,
        monkeypatch,
        _files("upstream", {"rbac.yaml": METRICS_RBAC}),
        _files("templated", {"rbac.yaml.tmpl": template}),
    )
    rules = {f.rule for f in lint.lint(["formulas/upstream"]).findings}
    assert "manifest-rbac-subject-namespace" not in rules and "manifest-namespace" in rules
    assert lint.lint(["formulas/templated"]).findings == ()


def test_a_subject_in_another_namespace_than_its_account_is_flagged_with_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # argo-cd: ServiceAccounts with no namespace (so: -n), bindings that name `argocd`.
    rbac = METRICS_RBAC.replace(
        "  name: metrics-server\n  namespace: kube-system\n", "  name: metrics-server\n"
    )
    _repo(tmp_path, monkeypatch, _files("ms", {"rbac.yaml": rbac}))
    flagged = [f for f in lint.lint(["formulas/ms"]).findings if f.rule == "manifest-rbac-subject-namespace"]
    lines = rbac.splitlines()
    assert [f.line for f in flagged] == [32, 45, 77]
    assert all(lines[f.line - 1] == "    namespace: kube-system" for f in flagged)
    assert "{{ kube.namespace }}" in (flagged[0].hint or "")


# -- size limits, the same for lint and install ------------------------------------------------------


def _crd_of_size(size: int) -> str:
    head = CERT_CRD.replace("    name: v1\n", "    name: v1\n", 1)
    padding = "# " + "x" * 98 + "\n"
    return head + padding * ((size - len(head)) // len(padding) + 1)


def test_a_large_real_crd_is_normal_and_an_oversized_file_is_one_finding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = _crd_of_size(1_400_000)  # argo-cd's ApplicationSet CRD is 1.4 MB
    _repo(tmp_path, monkeypatch, _files("argo", {"crds.yaml": big}))
    assert lint.lint(["formulas/argo"]).findings == ()
    huge = Path("formulas/argo/manifests/crds.yaml")
    huge.write_text(_crd_of_size(reader.FILE_LIMIT + 1), encoding="utf-8")
    [only] = lint.lint(["formulas/argo"]).findings  # and no "the formula has no manifests"
    assert (only.location, only.rule) == ("formulas/argo/manifests/crds.yaml", "file-too-large")
    assert "over the 4 MiB limit" in only.message
    with pytest.raises(FormulaError, match=r"over the 4\.0 MiB limit"):
        reader.read(huge, "manifests/crds.yaml")  # install's reader refuses it at the same size


def test_a_formula_over_the_total_limit_is_refused_by_lint_and_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kube.formula import render
    from kube.formula.load import load_formula

    repo = _repo(tmp_path, monkeypatch, _files("bulky", {"crds.yaml": CERT_CRD}))
    directory = repo / "formulas" / "bulky"
    chunk = b"\0" * (reader.FILE_LIMIT - 1)
    for index in range(reader.FORMULA_LIMIT // len(chunk) + 1):
        (directory / "manifests" / f"blob{index}.bin").write_bytes(chunk)
    found = [f for f in lint.lint(["formulas/bulky"]).findings if f.rule == "file-too-large"]
    assert [f.location for f in found] == ["formulas/bulky"]
    assert "over the 32 MiB limit" in found[0].message
    with pytest.raises(RenderError, match="over the 32 MiB limit"):
        render.render_manifests(load_formula(directory), directory, {}, namespace="default")


# -- Kubernetes 1.20: the cluster's own OpenAPI ------------------------------------------------------------

SERVICE = """\
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
    - port: 80
      targetPort: http
      prot: TCP
"""


def test_kube_version_1_20_is_served_from_a_cached_cluster_openapi(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kube.lint import openapi

    _repo(tmp_path, monkeypatch, _files("web", {"service.yaml": SERVICE}))
    with pytest.raises(UsageError, match=r"no schemas for Kubernetes 1\.20") as refused:
        lint.lint(["formulas/web"], kube_version="1.20")
    assert "run `kube lint --cluster` once against a Kubernetes 1.20 cluster" in str(refused.value.hint)
    openapi.cache_dir().mkdir(parents=True)
    shutil.copy(UPSTREAM / "kubernetes" / "openapi-v1.20.json", openapi.cache_file("1.20"))
    report = lint.lint(["formulas/web"], kube_version="1.20")
    assert report.kube_version == "1.20 (the cluster's OpenAPI)"
    [unknown] = report.findings
    assert (unknown.location, unknown.rule) == ("formulas/web/manifests/service.yaml:10", "manifest-schema")
    assert unknown.message == "Service/web: unknown field `spec.ports[0].prot`"
    assert unknown.hint == "did you mean `port`?"


NULL_FIELDS = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
  labels: null
data: null
"""


def test_a_null_field_is_left_out_under_the_cluster_openapi_as_the_api_server_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Upstream ingress-nginx ships ``data: null``: the API server reads it as no data. A 1.20
    cluster's OpenAPI has no null types, the bundled schemas have them: both pass it."""
    from kube.lint import openapi

    _repo(tmp_path, monkeypatch, _files("web", {"configmap.yaml": NULL_FIELDS}))
    openapi.cache_dir().mkdir(parents=True)
    shutil.copy(UPSTREAM / "kubernetes" / "openapi-v1.20.json", openapi.cache_file("1.20"))
    assert lint.lint(["formulas/web"], kube_version="1.20").findings == ()
    assert lint.lint(["formulas/web"]).findings == ()
    result = CliRunner().invoke(app, ["lint", "--kube-version", "1.20", "formulas/web"])
    assert result.exit_code == 0, result.output


_OPENAPI_1_20 = schema.Schemas("1.20", UPSTREAM / "kubernetes" / "openapi-v1.20.json")
_SERVICE_OBJ = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}}
_CONFIGMAP_OBJ = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}}


@pytest.mark.parametrize("schemas", [_OPENAPI_1_20, *schema.bundled_versions()], ids=str)
@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        # A null on an optional field: the field left out.
        ({**_CONFIGMAP_OBJ, "data": None, "binaryData": None}, []),
        ({**_CONFIGMAP_OBJ, "metadata": {"name": "cfg", "labels": None, "annotations": None}}, []),
        ({**_SERVICE_OBJ, "spec": {"ports": [{"port": 80, "targetPort": None, "name": None}]}}, []),
        # A null on a required field: the field missing, as the API server says.
        ({**_SERVICE_OBJ, "spec": {"ports": [{"port": None}]}}, ["`spec.ports[0].port` is required"]),
        # Real type errors and unknown fields stay errors, null or not.
        ({**_CONFIGMAP_OBJ, "data": "x"}, ['`data` must be an object, not a string ("x")']),
        ({**_CONFIGMAP_OBJ, "data": []}, ["`data` must be an object, not an array ([])"]),
        (
            {**_SERVICE_OBJ, "spec": {"ports": [{"port": "80"}]}},
            ['`spec.ports[0].port` must be an integer, not a string ("80")'],
        ),
        ({**_CONFIGMAP_OBJ, "dat": None}, ["unknown field `dat`"]),
    ],
)
def test_null_is_absent_on_a_field_for_every_schema_version(
    schemas: schema.Schemas | str, obj: dict[str, object], expected: list[str]
) -> None:
    assert [p.message for p in schema.validate(obj, schemas)] == expected


def test_a_null_in_a_map_or_a_list_stays_an_error_under_the_cluster_openapi() -> None:
    """kubectl's validation refuses ``data: {a: null}`` ("unknown object type nil"); only a
    field's null means absent."""
    problems = schema.validate({**_CONFIGMAP_OBJ, "data": {"a": None}}, _OPENAPI_1_20)
    assert [p.message for p in problems] == ["`data.a` must be a string, not a null (None)"]


@pytest.mark.cluster
def test_lint_cluster_validates_against_the_live_api_server(
    cluster: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(cluster.kubeconfig))  # type: ignore[attr-defined]
    monkeypatch.setenv("PATH", cluster.env["PATH"])  # type: ignore[attr-defined]
    cronjob = """\
apiVersion: batch/v1
kind: CronJob
metadata:
  name: nightly
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{name: run, image: busybox:1.36}]
"""
    _repo(
        tmp_path,
        monkeypatch,
        _files("web", {"service.yaml": SERVICE, "cronjob.yaml": cronjob, "crds.yaml": CERT_CRD}),
    )
    result = CliRunner().invoke(app, ["lint", "--cluster", "formulas/web"])
    assert result.exit_code == 1, result.output
    assert "against Kubernetes 1.20 (the cluster's OpenAPI)" in result.stderr
    # A 1.20 API server serves CronJob in batch/v1beta1 only; the bundled 1.30 schemas would pass it.
    assert "formulas/web/manifests/cronjob.yaml:1" in result.stdout and "serves no CronJob" in result.stdout
    # The fix names the apiVersion this cluster serves, from its own OpenAPI: older, not newer.
    assert "this cluster serves CronJob in `batch/v1beta1`: use it" in result.stdout
    assert "formulas/web/manifests/service.yaml:10" in result.stdout
    from kube.lint import openapi

    assert openapi.cached("1.20") is not None
    # Cached: the same minor without a cluster, from the cache.
    offline = lint.lint(["formulas/web"], kube_version="1.20")
    assert {f.rule for f in offline.findings} == {"manifest-unknown-api", "manifest-schema"}


def test_cluster_options_are_one_clear_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _repo(tmp_path, monkeypatch, _files("web", {"service.yaml": SERVICE}))
    alone = CliRunner().invoke(app, ["lint", "--context", "prod", "formulas/web"])
    assert alone.exit_code == 2
    assert "--context and --kubeconfig only go with --cluster" in alone.stderr
    # Real kubectl, with a kubeconfig that is not there: a cluster error (exit 8), no traceback.
    missing = CliRunner().invoke(
        app, ["lint", "--cluster", "--kubeconfig", str(tmp_path / "nope"), "formulas/web"]
    )
    assert missing.exit_code == 8, missing.output
    assert missing.stderr.count("\n") == 1 and "Traceback" not in missing.output


def test_a_template_too_repetitive_to_align_falls_back_to_unique_lines() -> None:
    from kube.lint.templates import _mapper

    repeated = "  k: {{ v }}\n" * 3000
    assert _mapper(
        "kind: ConfigMap\n" + repeated, "kind: ConfigMap\n" + repeated.replace("{{ v }}", "v")
    ) == {1: 1}
    small = "  k: {{ v }}\n" * 3
    assert _mapper(small, small.replace("{{ v }}", "v")) == {1: 1, 2: 2, 3: 3}


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("{% include 'a.yaml' %}", ["include"]),
        ("{% import 'm' as m %}", ["import"]),
        ("{% from 'm' import x %}", ["from ... import"]),
        ("{% extends 'base' %}", ["extends"]),
        ("a: 1\n{%- if x %}\n  {% include 'b' ignore missing %}{% endif %}", ["include"]),
        ("a: {{ 'include import extends' }}", []),  # the words, in no statement
        ("a: {{ x }}\nb: {% if y %}1{% endif %}", []),
        ("{% include 'a' %}{% if %}", []),  # a syntax error is the render's finding
    ],
)
def test_check_includes_names_every_statement_that_pulls_in_another_template(
    text: str, what: list[str]
) -> None:
    from kube.lint.templates import check_includes

    found = check_includes(text, "f/manifests/a.yaml.tmpl")
    assert [f.message for f in found] == [f"the template uses `{w}`" for w in what]
    assert all(f.rule == "template-include" for f in found)


@pytest.mark.parametrize(
    "obj",
    [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "v"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": 1}, "extra": 2},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "a"}, "spec": {"replicas": "2"}},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": "a"},
            "rules": [{}],
        },
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a"}, "spec": {"type": "Nope"}},
    ],
)
def test_the_kept_validators_find_what_kubernetes_validate_finds(obj: dict[str, object]) -> None:
    import jsonschema
    import kubernetes_validate

    version = schema.default_kube_version()
    for _ in range(2):  # the second time from the kept validator
        mine = schema.validate(obj, version)
        theirs = schema.collect(
            obj, lambda work: kubernetes_validate.validate(work, version + ".0", strict=True)
        )
        assert mine == theirs
    try:
        kubernetes_validate.validate(obj, version + ".0", strict=True)
        expected = None
    except jsonschema.ValidationError as exc:
        expected = (list(exc.path), exc.validator, exc.message)
    try:
        schema._check(kubernetes_validate, version + ".0", obj)
        got = None
    except jsonschema.ValidationError as exc:
        got = (list(exc.path), exc.validator, exc.message)
    assert got == expected


def test_a_kind_without_a_schema_is_no_schema_with_kubernetes_validates_message() -> None:
    import kubernetes_validate

    obj = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "a"}}
    version = schema.default_kube_version()
    with pytest.raises(kubernetes_validate.SchemaNotFoundError) as theirs:
        kubernetes_validate.validate(obj, version + ".0", strict=True)
    with pytest.raises(schema.NoSchema) as mine:
        schema.validate(obj, version)
    assert str(mine.value) == theirs.value.message
