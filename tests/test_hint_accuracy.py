"""The "what to run next" of a render error fits its cause: the values only when a value can be at
fault; the file for a static manifest; the template for what the sandbox refuses whatever the
values (attribute escapes, includes, budgets). Install (through ``kube template``, its render with
no cluster) and lint each say it in their own terms."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kube.lint import run as lint
from tests.gitrepo import k3, write_tree

REPO = Path(__file__).resolve().parents[1]
VALUES_HINT = "check the values given with --set and -f"
HEAD = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n"

# file -> text, the start of the hint install gives, the start of lint's fix.
CASES = {
    "static-duplicate-key": (
        "cm.json",
        '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","name":"b"}}',
        "fix manifests/cm.json, a file no value changes",
        None,  # a static file: lint reports it as manifest-parse, not as a template
    ),
    "static-yaml-syntax": (
        "cm.yaml",
        HEAD + "data: {a: [}\n",
        "fix manifests/cm.yaml, a file no value changes",
        None,
    ),
    "sandbox": (
        "cm.yaml.tmpl",
        HEAD + "data: {a: '{{ kube.__class__ }}'}\n",
        "rewrite that expression of the template: the sandbox refuses it whatever the values",
        "rewrite that expression of the template: the sandbox refuses it whatever the values",
    ),
    "include": (
        "cm.yaml.tmpl",
        HEAD + "data: {a: '{% include \"other.yaml\" %}'}\n",
        "copy what the template includes, imports or extends into it",
        "copy what the template includes, imports or extends into it",
    ),
    "budget": (
        "cm.yaml.tmpl",
        HEAD
        + "data: {a: '{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}'}\n",
        "make the template do less",
        "make the template do less",
    ),
    "recursion": (
        "cm.yaml.tmpl",
        HEAD + "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}data: {a: '{{ f(0) }}'}\n",
        "make the template do less",
        "make the template do less",
    ),
    "undefined-value": (
        "cm.yaml.tmpl",
        HEAD + "data: {a: '{{ missing }}'}\n",
        VALUES_HINT,
        "give the value a default under `values:` in K3.yaml",
    ),
    "type-error-on-a-value": (
        "cm.yaml.tmpl",
        HEAD + "data: {a: '{{ port + 1 }}'}\n",
        VALUES_HINT,
        "fix the expression at that line",
    ),
}


def _formula(root: Path, manifest: str, text: str) -> Path:
    directory = root / "demo"
    write_tree(
        directory,
        {
            "K3.yaml": k3("demo", values={"port": "http"}),
            "README.md": "# demo\n",
            f"manifests/{manifest}": text,
        },
    )
    return directory


def _kube(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "KUBE_HOME": str(tmp_path / "home"), "HOME": str(tmp_path)}
    return subprocess.run(
        [sys.executable, "-m", "kube", *args], env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("case", sorted(CASES))
def test_install_hint_fits_the_cause_of_the_render_error(tmp_path: Path, case: str) -> None:
    manifest, text, hint, _ = CASES[case]
    done = _kube(tmp_path, "template", str(_formula(tmp_path, manifest, text)))
    assert done.returncode == 4, done.stderr
    [line] = done.stderr.splitlines()  # one line, never a traceback
    assert f"(hint: {hint}" in line
    if hint != VALUES_HINT:
        assert VALUES_HINT not in line  # the values cannot fix it: sending the user there wastes a day


@pytest.mark.parametrize("case", sorted(c for c, (_, _, _, fix) in CASES.items() if fix is not None))
def test_lint_fix_fits_the_cause_of_the_template_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    manifest, text, _, fix = CASES[case]
    _formula(tmp_path, manifest, text)
    monkeypatch.chdir(tmp_path)
    report = lint.lint(["demo"])
    [found] = [f for f in report.findings if f.rule == "template-render"]
    assert found.hint.startswith(f"{fix}"), found.hint
    if "undefined" not in case:
        assert "give every value a default" not in found.hint


def test_lint_cli_prints_the_sandbox_fix_not_the_defaults_one(tmp_path: Path) -> None:
    manifest, text, _, fix = CASES["sandbox"]
    done = _kube(tmp_path, "lint", str(_formula(tmp_path, manifest, text)))
    assert done.returncode == 1
    [line] = [row for row in done.stdout.splitlines() if "template-render" in row]
    assert f"(fix: {fix}" in line and "default under" not in line


def test_a_value_named_kube_blames_the_values_not_a_template(tmp_path: Path) -> None:
    directory = _formula(tmp_path, "cm.yaml.tmpl", HEAD + "data: {a: '{{ port }}'}\n")
    done = _kube(tmp_path, "template", str(directory), "--set", "kube=1")
    assert done.returncode == 2, done.stderr  # a bad value on the command line, not a broken formula
    [line] = done.stderr.splitlines()
    assert "a top-level `kube`, a name reserved" in line
    assert "cm.yaml.tmpl" not in line
