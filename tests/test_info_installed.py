"""`kube info --installed` says where a kube is installed, read from the install records in the
cluster; plain `kube info` reads only the local index and says nothing of the cluster."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kube.cli.app import app
from tests.gitrepo import formula_files, make_repo


@pytest.mark.cluster
def test_info_shows_installed_version_and_namespace(tmp_path: Path, namespace: str) -> None:
    name = f"infoapp-{namespace[-6:]}".strip("-")
    remote = make_repo(tmp_path / "remote", formula_files(name, "2.1.0"))
    runner = CliRunner()
    assert runner.invoke(app, ["update", "--repo", str(remote)]).exit_code == 0

    before = runner.invoke(app, ["info", name, "--installed", "-o", "json"])
    assert before.exit_code == 0, before.output
    assert json.loads(before.stdout)["installed"] == []

    installed = runner.invoke(app, ["install", name, "-n", namespace])
    assert installed.exit_code == 0, installed.output

    after = runner.invoke(app, ["info", name, "--installed"])
    assert after.exit_code == 0, after.output
    assert f"Installed:   2.1.0 in {namespace}" in after.stdout
    # Without --installed the cluster is not asked, although a kubeconfig is in play.
    plain = runner.invoke(app, ["info", name])
    assert plain.exit_code == 0, plain.output
    assert "Installed:" not in plain.stdout
    assert json.loads(runner.invoke(app, ["info", name, "-o", "json"]).stdout)["installed"] is None


def test_info_without_a_kubeconfig_does_not_ask_a_cluster(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    remote = make_repo(tmp_path / "remote", formula_files("offline", "1.0.0"))
    runner = CliRunner()
    assert runner.invoke(app, ["update", "--repo", str(remote)]).exit_code == 0
    result = runner.invoke(app, ["info", "offline", "--installed", "-o", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["installed"] is None


def test_info_says_dependencies_were_not_checked_without_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = formula_files("needy", "1.0.0", dependencies=[{"name": "base", "version": "^1"}])
    runner = CliRunner()
    assert runner.invoke(app, ["update", "--repo", str(make_repo(tmp_path / "remote", files))]).exit_code == 0
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-such-kubeconfig"))
    shown = runner.invoke(app, ["info", "needy"])
    assert shown.exit_code == 0, shown.output
    assert "  ? base (^1): not checked (`--installed` asks the cluster)" in shown.stdout
    data = json.loads(runner.invoke(app, ["info", "needy", "-o", "json"]).stdout)
    assert data["dependency_status"] is None and data["installed"] is None
