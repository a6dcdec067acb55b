"""kube install and kube lint read manifests through one reader: the same broken file gets the
same verdict and the same message from both, on real formula directories in tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest

from kube.core.errors import RenderError
from kube.core.findings import Finding
from kube.formula.load import load_formula
from kube.formula.render import merge_values, render_manifests
from kube.lint import run as lint
from tests.gitrepo import k3, write_tree

GOOD = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: good\n"

# file name under manifests/, its text, a piece of the message both must give
BROKEN = [
    ("dup.json", '{"apiVersion": "v1", "kind": "ConfigMap", "kind": "Secret"}', "duplicate key 'kind'"),
    ("dup.yaml", "apiVersion: v1\nkind: ConfigMap\nkind: Secret\n", 'duplicate key "kind" (first on line 2)'),
    ("bad.yaml", "apiVersion: v1\nkind: [ConfigMap\n", "invalid YAML"),
    ("bad.json", '{"apiVersion": "v1",}', "line 1"),
    ("list.yaml", "- a\n- b\n", "a document must be a Kubernetes object (a mapping), not a list"),
    ("nokind.yaml", "apiVersion: v1\nmetadata: {name: x}\n", "missing kind"),
    ("nokind.json", '{"apiVersion": "v1", "metadata": {"name": "x"}}', "missing kind"),
    ("dup.yaml.tmpl", "a: 1\n{{ 'a' }}: 2\n", "rendered output is not valid YAML at line 2"),
    ("dup.json.tmpl", '{"a": 1, "{{ "a" }}": 2}', "rendered output is not valid JSON: duplicate key 'a'"),
    ("nokind.yaml.tmpl", "apiVersion: v1\nmetadata: {name: {{ 'x' }}}\n", "missing kind"),
    # JSON has no infinity or NaN, so no Kubernetes object holds one: refused, never sent as Infinity.
    (
        "inf.yaml.tmpl",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: .inf}\n",
        "ConfigMap/x: `data.a` is inf, a number JSON cannot hold",
    ),
    (
        "nan.yaml.tmpl",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {x: [1, .nan]}\n",
        "Pod/x: `spec.x.1` is nan",
    ),
]


def _formula(root: Path, file: str, text: str) -> Path:
    directory = root / "formulas" / "shop"
    files = {"K3.yaml": k3("shop"), "README.md": "# shop\n", "manifests/good.yaml": GOOD}
    write_tree(directory, {**files, f"manifests/{file}": text})
    return directory


def _install_finding(directory: Path) -> Finding:
    formula = load_formula(directory)
    with pytest.raises(RenderError) as err:
        render_manifests(formula, directory, merge_values(formula.values), namespace="default")
    [finding] = err.value.findings
    return finding


def _lint_finding(root: Path, monkeypatch: pytest.MonkeyPatch, file: str) -> Finding:
    monkeypatch.chdir(root)
    report = lint.lint(["formulas/shop"])
    [finding] = [f for f in report.findings if f.path == f"formulas/shop/manifests/{file}"]
    assert not report.passed(strict=False)
    return finding


@pytest.mark.parametrize(("file", "text", "message"), BROKEN, ids=[b[0] for b in BROKEN])
def test_install_and_lint_give_the_same_verdict_and_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, file: str, text: str, message: str
) -> None:
    directory = _formula(tmp_path, file, text)
    installed = _install_finding(directory)
    linted = _lint_finding(tmp_path, monkeypatch, file)
    assert message in installed.message
    assert linted.message == installed.message
    assert installed.path == f"manifests/{file}"
    if not file.endswith(".tmpl"):  # lint may also point at the template line that wrote it
        assert linted.line == installed.line


def test_a_file_both_read_gives_the_same_objects(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = '{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "Secret", ' \
        '"metadata": {"name": "s"}}]}'  # fmt: skip
    directory = _formula(tmp_path, "list.json", text)
    formula = load_formula(directory)
    objects = render_manifests(formula, directory, merge_values(formula.values), namespace="default")
    assert [o.display for o in objects] == ["ConfigMap/good", "Secret/s"]
    monkeypatch.chdir(tmp_path)
    assert lint.lint(["formulas/shop"]).passed(strict=True)
