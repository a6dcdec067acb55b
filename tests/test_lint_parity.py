"""What ``kube install`` refuses for a formula's content (exit 4), ``kube lint`` reports as an error:
the same predicates, the same limit, so a formula lint passes is one install takes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kube.core.errors import RenderError, UsageError
from kube.formula import refusals
from kube.install import pipeline
from kube.k8s.kubectl import check_object_name
from kube.k8s.objects import KubeObject, Scopes
from kube.lint import run as lint
from tests.gitrepo import k3, write_tree

REPO = Path(__file__).resolve().parents[1]

LOOKALIKES = {
    "release-record-name": "kind: Secret\nmetadata:\n  name: kube.release.victim.v2\n",
    "install-record-name": "kind: Secret\nmetadata:\n  name: kube.install.victim\n",
    "record-type": "kind: Secret\nmetadata:\n  name: fine\ntype: kube.sh/release.v1\n",
    "record-label": "kind: ConfigMap\nmetadata:\n  name: fine\n  labels:\n    kube.sh/record: 'true'\n",
    "config-map-with-record-name": "kind: ConfigMap\nmetadata:\n  name: kube.release.x.v1\n",
}


def _formula(root: Path, files: dict[str, str]) -> Path:
    directory = root / "demo"
    write_tree(
        directory,
        {"K3.yaml": k3("demo"), "README.md": "# demo\n", **{f"manifests/{k}": v for k, v in files.items()}},
    )
    return directory


def _kube(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "KUBE_HOME": str(tmp_path / "home"), "HOME": str(tmp_path)}
    return subprocess.run(
        [sys.executable, "-m", "kube", *args], env=env, capture_output=True, text=True, timeout=120
    )


def _errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, directory: Path) -> list[tuple[str, str]]:
    monkeypatch.chdir(tmp_path)
    report = lint.lint([directory.name])
    return [(f.rule, f.message) for f in report.errors]


@pytest.mark.parametrize("case", sorted(LOOKALIKES))
def test_lint_reports_every_object_install_refuses_as_a_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    text = "apiVersion: v1\n" + LOOKALIKES[case]
    directory = _formula(tmp_path, {"s.yaml": text})
    assert [rule for rule, _ in _errors(tmp_path, monkeypatch, directory)] != []
    assert {rule for rule, _ in _errors(tmp_path, monkeypatch, directory)} == {"manifest-reserved"}
    # install's own check refuses the same object
    obj = KubeObject({"apiVersion": "v1", **_yaml(LOOKALIKES[case])}, "manifests/s.yaml:1")
    with pytest.raises(RenderError, match="looks like a kube install record"):
        pipeline.check_trusted(obj, "default", Scopes())


def _yaml(text: str) -> dict[str, object]:
    from kube.formula import yaml_strict

    return dict(yaml_strict.to_plain(yaml_strict.load_one(text, source="t")))


def test_the_shared_predicate_is_the_one_install_applies() -> None:
    # Until install imports kube.formula.refusals (see its module docstring), the two must agree.
    assert pipeline.MAX_OBJECTS == refusals.MAX_OBJECTS
    for case, text in LOOKALIKES.items():
        obj = KubeObject({"apiVersion": "v1", **_yaml(text)}, "s.yaml")
        assert refusals.record_lookalike(obj), case
    plain = KubeObject({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "kube-release"}}, "s")
    assert refusals.record_lookalike(plain) == ""
    pipeline.check_trusted(plain, "default", Scopes())  # and install takes it


def test_lint_and_install_refuse_a_release_record_name_on_the_cli(tmp_path: Path) -> None:
    text = "apiVersion: v1\n" + LOOKALIKES["release-record-name"] + "stringData: {a: b}\n"
    directory = _formula(tmp_path, {"s.yaml": text})
    linted = _kube(tmp_path, "lint", str(directory))
    assert linted.returncode == 1, linted.stdout
    assert "manifest-reserved" in linted.stdout and "kube.release." in linted.stdout
    rendered = _kube(tmp_path, "template", str(directory))
    assert rendered.returncode == 4
    assert "looks like a kube install record" in rendered.stderr


def _many(count: int) -> str:
    return (
        f"{{% for i in range({count}) %}}\n---\napiVersion: v1\nkind: ConfigMap\n"
        "metadata:\n  name: m{{ i }}\n{% endfor %}\n"
    )


def test_lint_reports_the_object_limit_install_refuses(tmp_path: Path) -> None:
    directory = _formula(tmp_path, {"cm.yaml.tmpl": _many(refusals.MAX_OBJECTS + 1)})
    linted = _kube(tmp_path, "lint", str(directory))
    assert linted.returncode == 1, linted.stdout
    message = (
        f"demo renders {refusals.MAX_OBJECTS + 1} objects; a formula may have at most {refusals.MAX_OBJECTS}"
    )
    assert "manifest-count" in linted.stdout and message in linted.stdout
    rendered = _kube(tmp_path, "template", str(directory))
    assert rendered.returncode == 4
    assert message in rendered.stderr  # the same words for the same limit


def test_lint_passes_a_formula_at_the_object_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    directory = _formula(tmp_path, {"cm.yaml.tmpl": _many(refusals.MAX_OBJECTS)})
    assert _errors(tmp_path, monkeypatch, directory) == []


def test_lint_counts_static_and_templated_objects_together(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    static = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n"
    directory = _formula(tmp_path, {"cm.yaml.tmpl": _many(refusals.MAX_OBJECTS), "x.yaml": static})
    assert [rule for rule, _ in _errors(tmp_path, monkeypatch, directory)] == ["manifest-count"]


@pytest.mark.parametrize("name", ["-x", "a" * 254, "tab\there"])
def test_lint_reports_an_rbac_name_install_refuses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    # RBAC names follow path-segment rules in Kubernetes, so lint's DNS checks skip them; install
    # still refuses a name that could pass for an option.
    with pytest.raises(UsageError):
        check_object_name(name, "x")
    head = "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n"
    text = f'{head}  name: "{name}"\nrules: []\n'
    directory = _formula(tmp_path, {"r.yaml": text.replace("\t", "\\t")})
    assert [rule for rule, _ in _errors(tmp_path, monkeypatch, directory)] == ["manifest-name-format"]
