"""kube lint: one broken formula per rule, the clean one, --changed on real git history, output formats."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kube.cli.app import app
from kube.cli.lint import github_annotation
from kube.core.errors import UsageError
from kube.core.findings import Finding, Severity
from kube.lint import run as lint
from kube.lint.rules import RULES
from tests.gitrepo import commit, formula_files, make_repo

FIXTURES = Path(__file__).parent / "fixtures" / "broken"

# fixture directory, rule, location (from tests/fixtures/broken), a piece of the message
EXPECTED = [
    (
        "file-unexpected",
        "file-unexpected",
        "formulas/file-unexpected/notes.txt",
        "unexpected file `notes.txt`",
    ),
    ("readme-missing", "readme-missing", "formulas/readme-missing", "no README.md"),
    ("manifest-none", "manifest-none", "formulas/manifest-none/manifests", "no manifests"),
    (
        "manifest-file-type",
        "manifest-file-type",
        "formulas/manifest-file-type/manifests/deploy.sh",
        "`manifests/deploy.sh` is not a manifest",
    ),
    ("manifest-parse", "manifest-parse", "formulas/manifest-parse/manifests/broken.yaml:7", "flow sequence"),
    (
        "manifest-empty",
        "manifest-empty",
        "formulas/manifest-empty/manifests/empty.yaml",
        "no Kubernetes objects",
    ),
    (
        "manifest-not-object",
        "manifest-not-object",
        "formulas/manifest-not-object/manifests/list.yaml:1",
        "must be a Kubernetes object (a mapping), not a list",
    ),
    (
        "manifest-api-version",
        "manifest-api-version",
        "formulas/manifest-api-version/manifests/secret.yaml:1",
        "missing apiVersion",
    ),
    ("manifest-kind", "manifest-kind", "formulas/manifest-kind/manifests/secret.yaml:1", "missing kind"),
    (
        "manifest-name",
        "manifest-name",
        "formulas/manifest-name/manifests/secret.yaml:3",
        "Secret has no metadata.name",
    ),
    (
        "manifest-name-format",
        "manifest-name-format",
        "formulas/manifest-name-format/manifests/service.yaml:4",
        "Service name `1st-web` must be a DNS-1035 label",
    ),
    (
        "manifest-duplicate",
        "manifest-duplicate",
        "formulas/manifest-duplicate/manifests/configmap.yaml:4",
        "ConfigMap/manifest-duplicate-config is defined twice "
        "(first at formulas/manifest-duplicate/manifests/again.yaml:1)",
    ),
    (
        "manifest-namespace",
        "manifest-namespace",
        "formulas/manifest-namespace/manifests/secret.yaml:5",
        "hard-codes namespace `kube-system`",
    ),
    (
        "manifest-schema",
        "manifest-schema",
        "formulas/manifest-schema/manifests/deployment.yaml:6",
        "Deployment/web: unknown field `spec.replcas`",
    ),
    (
        "manifest-unknown-api",
        "manifest-unknown-api",
        "formulas/manifest-unknown-api/manifests/deployment.yaml:1",
        "Kubernetes 1.30 serves no Deployment in `extensions/v1beta1`",
    ),
    (
        "manifest-custom-resource",
        "manifest-custom-resource",
        "formulas/manifest-custom-resource/manifests/widget.yaml:2",
        "custom resource `example.com/v1` not validated",
    ),
    (
        "template-render",
        "template-render",
        "formulas/template-render/manifests/configmap2.yaml.tmpl:6",
        "'size' is undefined",
    ),
    (
        "template-include",
        "template-include",
        "formulas/template-include/manifests/configmap2.yaml.tmpl:6",
        "uses `include`",
    ),
    ("test-file-type", "test-file-type", "formulas/test-file-type/tests/check.sh", "not a YAML or JSON file"),
    (
        "test-kind",
        "test-kind",
        "formulas/test-kind/tests/config.yaml:2",
        "ConfigMap in tests/: only Pods and Jobs",
    ),
    (
        "test-restart-policy",
        "test-restart-policy",
        "formulas/test-restart-policy/tests/pod.yaml:5",
        "restartPolicy is unset (Always), so it can never succeed",
    ),
    (
        "test-selector",
        "test-selector",
        "formulas/test-selector/tests/check.yaml:5",
        "Pod/check: its Pod matches the selector of Service/test-selector",
    ),
    (
        "script-unexpected",
        "script-unexpected",
        "formulas/script-unexpected/scripts/post-install.py",
        "kube only runs scripts/pre-install.py",
    ),
    (
        "script-compile",
        "script-compile",
        "formulas/script-compile/scripts/pre-install.py:3",
        "SyntaxError: expected ':'",
    ),
    (
        "dependency-missing",
        "dependency-missing",
        "formulas/dependency-missing/K3.yaml:8",
        "dependency `no-such-kube` is not a kube of the archive",
    ),
    (
        "dependency-cycle",
        "dependency-cycle",
        "formulas/dependency-cycle/K3.yaml:8",
        "dependency-cycle -> dependency-cycle-peer -> dependency-cycle",
    ),
    (
        "dependency-version",
        "dependency-version",
        "formulas/dependency-version/K3.yaml:8",
        "excludes the archive's clean 1.0.0",
    ),
    (
        "manifest-reserved",
        "manifest-reserved",
        "formulas/manifest-reserved/manifests/record.yaml:5",
        "type `kube.sh/install.v1`",
    ),
    (
        "manifest-rbac-admin",
        "manifest-rbac-admin",
        "formulas/manifest-rbac-admin/manifests/binding.yaml:8",
        "binds the ClusterRole `cluster-admin`",
    ),
    (
        "manifest-rbac-subject-namespace",
        "manifest-rbac-subject-namespace",
        "formulas/manifest-rbac-subject-namespace/manifests/rbac.yaml:19",
        "subject ServiceAccount/metrics-server hard-codes namespace `kube-system`, but the formula's "
        "ServiceAccount of that name goes into the install namespace",
    ),
    (
        "manifest-rbac-wildcard",
        "manifest-rbac-wildcard",
        "formulas/manifest-rbac-wildcard/manifests/role.yaml:10",
        'rules[0].verbs has "*"',
    ),
    (
        "manifest-hostpath",
        "manifest-hostpath",
        "formulas/manifest-hostpath/manifests/daemonset.yaml:22",
        "volume `host-proc` mounts the node's `/proc`",
    ),
    (
        "manifest-host-namespace",
        "manifest-host-namespace",
        "formulas/manifest-host-namespace/manifests/pod.yaml:7",
        "sets hostNetwork: true",
    ),
    (
        "manifest-privileged",
        "manifest-privileged",
        "formulas/manifest-privileged/manifests/pod.yaml:11",
        "containers[0] (`main`) is privileged",
    ),
    (
        "manifest-privilege-escalation",
        "manifest-privilege-escalation",
        "formulas/manifest-privilege-escalation/manifests/job.yaml:13",
        "initContainers[0] (`prepare`) sets allowPrivilegeEscalation: true",
    ),
    (
        "manifest-capabilities",
        "manifest-capabilities",
        "formulas/manifest-capabilities/manifests/cronjob.yaml:19",
        "adds the capability SYS_ADMIN",
    ),
    (
        "lint-ignore-unused",
        "lint-ignore-unused",
        "formulas/lint-ignore-unused/K3.yaml:9",
        "no `manifest-hostpath` warning in `manifests/configmap.yaml`",
    ),
    (
        "hook-requirement",
        "hook-requirement",
        "formulas/hook-requirement/K3.yaml:10",
        'hook.requires[0]: "cryptography=>41" is not a requirement',
    ),
    (
        "hook-without-script",
        "hook-without-script",
        "formulas/hook-without-script/K3.yaml:7",
        "but the formula has no scripts/pre-install.py",
    ),
    (
        "patch",
        "patch",
        "formulas/patch/patches/greeting.yaml:6",
        "[1].patch[0] (test /data/greeting) on ConfigMap/patch-config: test failed",
    ),
    ("k3-range-empty", "k3-range-empty", "formulas/k3-range-empty/K3.yaml:9", "no version can satisfy"),
    ("k3-name", "k3-name", "formulas/k3-name/K3.yaml:1", 'does not match the directory name "k3-name"'),
    ("k3-required", "k3-required", "formulas/k3-required/K3.yaml:1", "home: is required"),
    (
        "depends-on",
        "depends-on",
        "formulas/depends-on/manifests/configmaps.yaml:13",
        'failed to parse object reference (index: 0): expected 3 or 5 fields, found 2: "/ConfigMap"',
    ),
    (
        "depends-on-missing",
        "depends-on-missing",
        "formulas/depends-on-missing/manifests/configmaps.yaml:6",
        "/namespaces/shop/Secret/password is not an object of this formula",
    ),
    (
        "depends-on-outside",
        "depends-on-outside",
        "formulas/depends-on-outside/manifests/rbac.yaml:15",
        "points outside the release: its ClusterRole/reader is not in namespace kube-system",
    ),
    (
        "shard-duplicate",
        "shard-duplicate",
        "formulas/shard-duplicate/manifests/shards/member.yaml.tmpl:5",
        "shard shard-duplicate-1: ConfigMap/shard-duplicate-member is also rendered for shard "
        "shard-duplicate-0",
    ),
    (
        "shards-empty",
        "shards-empty",
        "formulas/shards-empty/K3.yaml",
        "K3.yaml declares shards:, but manifests/shards/ holds no manifest",
    ),
    (
        "depends-on-cycle",
        "depends-on-cycle",
        "formulas/depends-on-cycle/manifests/configmaps.yaml:6",
        "cycle: ConfigMap/first -> ConfigMap/second -> ConfigMap/first",
    ),
]
# Rules whose fixture is built at test time (files git would not hold well, or history).
BUILT_BY_TESTS = {
    "file-too-large",
    "version-bump",
    "manifest-image-tag",  # tests/test_lint_images.py
    "manifest-count",  # tests/test_lint_parity.py: 5,001 objects make no fixture worth keeping
}


def invoke(*args: str) -> object:
    return CliRunner().invoke(app, list(args))


@pytest.fixture
def in_fixtures(monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(FIXTURES)
    return FIXTURES


@pytest.mark.parametrize(("fixture", "rule", "location", "text"), EXPECTED, ids=[e[0] for e in EXPECTED])
def test_broken_formula_reports_exactly_its_rule(
    in_fixtures: Path, fixture: str, rule: str, location: str, text: str
) -> None:
    report = lint.lint([f"formulas/{fixture}"])
    assert [(f.rule, f.location) for f in report.findings] == [(rule, location)]
    assert text in report.findings[0].message
    assert report.findings[0].hint, "every finding says how to fix it"


def test_every_rule_has_a_broken_fixture() -> None:
    covered = {rule for _, rule, _, _ in EXPECTED} | BUILT_BY_TESTS
    assert set(RULES) - covered == set()


def test_clean_formula_passes_strict_lint(in_fixtures: Path) -> None:
    result = invoke("lint", "--strict", "formulas/clean")
    assert result.exit_code == 0, result.output
    assert "Linted 1 formula against Kubernetes 1.30: 0 errors, 0 warnings; passed (strict)." in result.stderr


def test_errors_exit_1_warnings_only_exit_0_unless_strict(in_fixtures: Path) -> None:
    assert invoke("lint", "formulas/manifest-schema").exit_code == 1
    assert invoke("lint", "formulas/readme-missing").exit_code == 0
    assert invoke("lint", "--strict", "formulas/readme-missing").exit_code == 1


def test_table_shows_location_rule_message_and_fix(
    in_fixtures: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    result = invoke("lint", "formulas/manifest-schema")
    line = next(line for line in result.stdout.splitlines() if "replcas" in line)
    assert line.split()[:3] == [
        "formulas/manifest-schema/manifests/deployment.yaml:6",
        "error",
        "manifest-schema",
    ]
    assert "(fix: did you mean `replicas`?)" in line


def test_directory_of_formulas_lints_each_one(in_fixtures: Path) -> None:
    report = lint.lint(["formulas"])
    assert len(report.formulas) == len(list((FIXTURES / "formulas").iterdir()))
    assert {f.rule for f in report.findings} == {rule for _, rule, _, _ in EXPECTED}


def test_json_output_lists_findings_and_verdict(in_fixtures: Path) -> None:
    result = invoke("lint", "-o", "json", "formulas/manifest-schema", "formulas/readme-missing")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["passed"] is False
    assert data["kube_version"] == "1.30"
    assert data["formulas"] == ["formulas/manifest-schema", "formulas/readme-missing"]
    assert (data["errors"], data["warnings"]) == (1, 1)
    assert data["findings"][0] == {
        "path": "formulas/manifest-schema/manifests/deployment.yaml",
        "line": 6,
        "rule": "manifest-schema",
        "severity": "error",
        "message": "Deployment/web: unknown field `spec.replcas`",
        "hint": "did you mean `replicas`?",
    }


def test_github_output_prints_workflow_annotations(in_fixtures: Path) -> None:
    result = invoke("lint", "-o", "github", "formulas/manifest-schema", "formulas/readme-missing")
    assert result.stdout.splitlines() == [
        "::error file=formulas/manifest-schema/manifests/deployment.yaml,line=6,title=manifest-schema::"
        "Deployment/web: unknown field `spec.replcas` (fix: did you mean `replicas`?)",
        "::warning file=formulas/readme-missing,title=readme-missing::"
        "no README.md (fix: add README.md: what it deploys, its values, an example)",
    ]


def test_github_annotation_escapes_what_would_end_the_command() -> None:
    found = Finding("a,b:c.yaml", 3, "manifest-parse", "50% broken\nsecond line", Severity.ERROR)
    assert github_annotation(found) == (
        "::error file=a%2Cb%3Ac.yaml,line=3,title=manifest-parse::50%25 broken%0Asecond line"
    )


def test_schema_reports_every_error_of_an_object_at_its_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployment = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replcas: 2
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx:1.25.3
          ports:
            - containerPort: "80"
"""
    repo = _formula_repo(tmp_path, "web", manifests={"deployment.yaml": deployment})
    monkeypatch.chdir(repo)
    report = lint.lint(["formulas/web"])
    found = [(f.line, f.message, f.hint) for f in report.findings]
    assert found == [
        (5, "Deployment/web: `spec.selector` is required", "`kubectl explain KIND.spec` lists the fields"),
        (6, "Deployment/web: unknown field `spec.replcas`", "did you mean `replicas`?"),
        (
            15,
            "Deployment/web: `spec.template.spec.containers[0].ports[0].containerPort` must be an integer, "
            'not a string ("80")',
            "leave numbers unquoted: containerPort: 80",
        ),
    ]


def test_template_output_is_schema_checked_and_points_at_the_template_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    template = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ kube.formula }}
spec:
  replicas: "{{ replicas }}"
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx:1.25.3
          imagePullPolicy: {{ pull }}
          imagePullSecret: regcred
"""
    repo = _formula_repo(
        tmp_path,
        "web",
        manifests={"deployment.yaml.tmpl": template},
        values={"replicas": "2", "pull": "Always"},
    )
    monkeypatch.chdir(repo)
    report = lint.lint(["formulas/web"])
    assert [(f.location, f.rule) for f in report.findings] == [
        ("formulas/web/manifests/deployment.yaml.tmpl:6", "manifest-schema"),
        ("formulas/web/manifests/deployment.yaml.tmpl:17", "manifest-schema"),
    ]
    assert "`spec.replicas` must be an integer, not a string" in report.findings[0].message
    assert "unknown field `spec.template.spec.containers[0].imagePullSecret`" in report.findings[1].message


def test_kube_version_selects_the_schemas(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hpa = """\
apiVersion: autoscaling/v2beta2
kind: HorizontalPodAutoscaler
metadata:
  name: web
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 1
  maxReplicas: 3
"""
    repo = _formula_repo(tmp_path, "web", manifests={"hpa.yaml": hpa})
    monkeypatch.chdir(repo)
    assert lint.lint(["formulas/web"], kube_version="v1.25.4").findings == ()
    [unserved] = lint.lint(["formulas/web"], kube_version="1.26").findings
    assert unserved.rule == "manifest-unknown-api"
    # The fix names what that Kubernetes does serve for the kind, read from the bundled schemas.
    served = "Kubernetes 1.26 serves HorizontalPodAutoscaler in `autoscaling/v1`, `autoscaling/v2`"
    assert served in unserved.hint


def test_unbundled_kube_version_is_a_clear_usage_error(in_fixtures: Path) -> None:
    result = invoke("lint", "--kube-version", "1.20", "formulas/clean")
    assert result.exit_code == 2
    assert "no schemas for Kubernetes 1.20 in kubernetes-validate (it bundles 1.25 to 1.37)" in result.stderr
    with pytest.raises(UsageError, match="expected a Kubernetes version"):
        lint.lint(["formulas/clean"], kube_version="latest")


def test_oversized_file_is_reported_and_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    formula = _copy_fixture("clean", tmp_path)
    (formula / "manifests" / "big.yaml").write_text("# padding\n" * 440_000)
    monkeypatch.chdir(tmp_path)
    report = lint.lint(["formulas/clean"])
    assert [(f.rule, f.location) for f in report.findings] == [
        ("file-too-large", "formulas/clean/manifests/big.yaml")
    ]
    assert "4.2 MiB, over the 4 MiB limit" in report.findings[0].message


def test_symlinks_and_fifos_are_reported_never_followed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    formula = _copy_fixture("clean", tmp_path)
    secret = tmp_path / "secret.yaml"
    secret.write_text("apiVersion: v1\nkind: Secret\nmetadata:\n  name: stolen\n")
    (formula / "manifests" / "stolen.yaml").symlink_to(secret)
    os.mkfifo(formula / "manifests" / "pipe.yaml")
    monkeypatch.chdir(tmp_path)
    report = lint.lint(["formulas/clean"])
    assert sorted((f.rule, f.location) for f in report.findings) == [
        ("formula-special-file", "formulas/clean/manifests/pipe.yaml"),
        ("formula-symlink", "formulas/clean/manifests/stolen.yaml"),
    ]


def test_the_hook_is_compiled_never_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    marker = tmp_path / "hook-ran"
    formula = _copy_fixture("clean", tmp_path)
    (formula / "scripts" / "pre-install.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    monkeypatch.chdir(tmp_path)
    assert lint.lint(["formulas/clean"]).findings == ()
    assert not marker.exists()


def test_all_lints_the_formulas_of_the_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = _formula_repo(tmp_path, "web")
    commit(repo, {**formula_files("db", "2.0.0"), "formulas/db/README.md": "# db\n"})
    monkeypatch.chdir(repo)
    report = lint.lint(all_formulas=True)
    assert report.formulas == ("formulas/db", "formulas/web")
    assert report.findings == ()
    monkeypatch.chdir(repo / "formulas" / "web")  # from inside the repository too
    assert len(lint.lint(all_formulas=True).formulas) == 2


def test_nothing_to_lint_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("lint")
    assert result.exit_code == 2
    assert "nothing to lint" in result.stderr
    (tmp_path / "empty").mkdir()
    result = invoke("lint", "empty")
    assert result.exit_code == 2
    assert "no formula here" in result.stderr


# -- --changed: real git history -----------------------------------------------------------------


def _formula_repo(tmp_path: Path, name: str, version: str = "1.0.0", **extra: object) -> Path:
    files = {**formula_files(name, version, **extra), f"formulas/{name}/README.md": f"# {name}\n"}
    return make_repo(tmp_path / "repo", files)


def _copy_fixture(name: str, tmp_path: Path) -> Path:
    target = tmp_path / "formulas" / name
    shutil.copytree(FIXTURES / "formulas" / name, target, symlinks=True)
    return target


def _sha(repo: Path) -> str:
    from tests.gitrepo import git

    return git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture
def two_formulas(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    repo = _formula_repo(tmp_path, "web")
    base = commit(repo, {**formula_files("db", "2.0.0"), "formulas/db/README.md": "# db\n"})
    monkeypatch.chdir(repo)
    return repo, base


def test_changed_formula_without_version_bump_is_an_error(two_formulas: tuple[Path, str]) -> None:
    repo, base = two_formulas
    commit(repo, {"formulas/web/manifests/configmap.yaml": _configmap("web", "changed")})
    result = invoke("lint", "--changed", base)
    assert result.exit_code == 1
    report = lint.lint(changed=base)
    assert report.formulas == ("formulas/web",)
    assert [(f.rule, f.location) for f in report.findings] == [("version-bump", "formulas/web/K3.yaml:2")]
    assert f"web changed since {base} but its version is still 1.0.0" in report.findings[0].message
    assert report.findings[0].hint == "raise `version` above 1.0.0"


def test_changed_formula_with_version_bump_is_clean(two_formulas: tuple[Path, str]) -> None:
    repo, base = two_formulas
    commit(repo, formula_files("web", "1.0.1", manifests={"configmap.yaml": _configmap("web", "changed")}))
    result = invoke("lint", "--changed", base)
    assert result.exit_code == 0, result.output
    assert "Linted 1 formula changed since" in result.stderr


def test_version_going_down_is_an_error(two_formulas: tuple[Path, str]) -> None:
    repo, base = two_formulas
    commit(repo, formula_files("db", "1.9.0"))
    report = lint.lint(changed=base)
    assert [f.message for f in report.findings] == [
        f"db changed since {base} but its version went down from 2.0.0 to 1.9.0"
    ]


def test_new_formula_needs_no_bump_and_readme_edits_need_none(two_formulas: tuple[Path, str]) -> None:
    repo, base = two_formulas
    commit(repo, {**formula_files("cache", "0.1.0"), "formulas/cache/README.md": "# cache\n"})
    commit(repo, {"formulas/db/README.md": "# db\n\nBetter words.\n"})
    report = lint.lint(changed=base)
    assert report.formulas == ("formulas/cache", "formulas/db")
    assert report.findings == ()


def test_uncommitted_edits_count_as_changes(two_formulas: tuple[Path, str]) -> None:
    repo, base = two_formulas
    (repo / "formulas" / "web" / "manifests" / "extra.yaml").write_text(_configmap("extra", "x"))
    report = lint.lint(changed=base)
    assert [f.rule for f in report.findings] == ["version-bump"]


def test_only_changes_after_the_merge_base_count(two_formulas: tuple[Path, str]) -> None:
    """A formula changed on BASE after the branch was cut is not this branch's change."""
    from tests.gitrepo import git

    repo, _ = two_formulas
    git(repo, "checkout", "-q", "-b", "feature")
    commit(repo, formula_files("web", "1.1.0"))
    git(repo, "checkout", "-q", "main")
    commit(
        repo, formula_files("db", "2.0.0", manifests={"configmap.yaml": _configmap("db", "main moved on")})
    )
    git(repo, "checkout", "-q", "feature")
    report = lint.lint(changed="main")
    assert report.formulas == ("formulas/web",)
    assert report.findings == ()


def test_nothing_changed_passes_and_says_so(two_formulas: tuple[Path, str]) -> None:
    _, base = two_formulas
    result = invoke("lint", "--changed", base)
    assert result.exit_code == 0
    assert f"No formula changed since {base} to lint." in result.stderr


def test_bad_base_revision_is_a_usage_error(two_formulas: tuple[Path, str]) -> None:
    result = invoke("lint", "--changed", "no-such-branch")
    assert result.exit_code == 2
    assert "no common history between no-such-branch and HEAD" in result.stderr
    assert invoke("lint", "--changed", "--upload-pack=x").exit_code == 2


def _configmap(name: str, value: str) -> str:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}-config\ndata:\n  value: {value}\n"


def test_a_name_lints_that_kube_of_the_archive(
    remote_archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert invoke("update", "--repo", str(remote_archive)).exit_code == 0
    result = invoke("lint", "-o", "json", "ponycorn")
    data = json.loads(result.stdout)
    assert result.exit_code == 0
    assert [Path(p).parts[-3:] for p in data["formulas"]] == [("archive", "formulas", "ponycorn")]
    # its dependency nginx is looked up in the same archive: no dependency findings
    assert [f["rule"] for f in data["findings"]] == ["readme-missing"]
    assert invoke("lint", "no-such-kube").exit_code == 3


def test_lint_of_many_formulas_in_parallel_reports_what_one_by_one_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kube.lint import run as lint_run
    from tests.gitrepo import write_tree

    files: dict[str, str | bytes | None] = {}
    for i in range(70):
        files.update(formula_files(f"f{i:03d}", f"1.0.{i}"))
    files["formulas/f007/K3.yaml"] = "name: [\n"
    files["formulas/f050/manifests/bad.yaml"] = "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: 7\n"
    write_tree(tmp_path / "repo", files)
    container = str(tmp_path / "repo" / "formulas")
    together = lint_run.lint([container])
    monkeypatch.setattr(lint_run, "_PARALLEL_FROM", 10_000)
    one_by_one = lint_run.lint([container])
    assert together == one_by_one
    assert len(together.formulas) == 70 and together.errors


def test_libyaml_fast_path_gives_the_same_findings_as_ruamel(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lint reads K3.yaml and manifests with libyaml where it is sure; every finding (file:line,
    rule, message, hint) over the repository's formulas and the tests' fixtures is the same as
    with ruamel alone (the fast readers made to decline everything)."""
    from kube.formula import load as formula_load
    from kube.formula import yaml_strict
    from kube.lint import run as lint_run

    root = Path(__file__).resolve().parents[1]
    dirs = sorted({p.parent for p in (root / "tests" / "fixtures").rglob("K3.yaml")})
    dirs += sorted(p for p in (root / "formulas").iterdir() if (p / "K3.yaml").is_file())

    def findings() -> list[tuple[object, ...]]:
        return [
            (f.path, f.line, f.rule, f.message, f.hint)
            for d in dirs
            for f in lint_run.lint([str(d)]).findings
        ]

    fast = findings()

    def decline(text: str) -> None:
        raise yaml_strict.NeedStrictLoad

    monkeypatch.setattr(yaml_strict, "load_all_fast", decline)
    monkeypatch.setattr(formula_load, "load_one_fast", decline)
    assert fast == findings()
    assert fast  # the fixtures do have findings to compare


def test_a_formula_directory_that_is_a_symlink_fails_and_is_not_followed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = _formula_repo(tmp_path, "web")
    outside = tmp_path / "outside"
    (outside / "manifests").mkdir(parents=True)
    (outside / "K3.yaml").write_text("name: Broken_Name\nversion: latest\n")
    (repo / "formulas" / "evil").symlink_to(outside)
    monkeypatch.chdir(repo)
    result = invoke("lint", "--all")
    assert result.exit_code == 1, result.output
    [row] = [line.split() for line in result.stdout.splitlines() if line.startswith("formulas/evil")]
    assert row[:6] == ["formulas/evil", "error", "formula-symlink", "is", "a", "symbolic"]
    # Only the link's own finding: what it points to is never read (Broken_Name is not reported).
    assert "Broken_Name" not in result.stdout and "formula-name" not in result.stdout
    # An unreadable directory is a usage error, not an internal one.
    unreadable = invoke("lint", "/proc/1")
    assert unreadable.exit_code == 2, unreadable.output


def test_a_formula_shipping_kube_gets_own_record_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = _formula_repo(tmp_path, "web")
    (repo / "formulas" / "web" / ".kube-get.json").write_text(
        '{"kube-get": 1, "formula": "web", "files": {}}'
    )
    monkeypatch.chdir(repo)
    [found] = [f for f in lint.lint(["formulas/web"]).findings if f.rule == "formula-path"]
    assert found.path == "formulas/web/.kube-get.json" and found.severity == "error"
    assert "kube get's record of a copy" in found.message


def test_what_the_api_server_refuses_though_the_schema_allows_it_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    binding = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: op}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects:
- kind: ServiceAccount
  name: op
"""
    deployment = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: op}
spec:
  selector:
    matchLabels: null
  template:
    metadata: {labels: {app: op}}
    spec:
      containers: [{name: op, image: "busybox:1.36"}]
"""
    repo = _formula_repo(tmp_path, "op", manifests={"binding.yaml": binding, "deployment.yaml": deployment})
    monkeypatch.chdir(repo)
    found = {
        (f.location, f.rule): f.message for f in lint.lint(["formulas/op"]).findings if f.severity == "error"
    }
    assert (
        "subject ServiceAccount/op names no namespace"
        in found[("formulas/op/manifests/binding.yaml:6", "manifest-schema")]
    )
    assert (
        "spec.selector selects nothing"
        in found[("formulas/op/manifests/deployment.yaml:5", "manifest-schema")]
    )
