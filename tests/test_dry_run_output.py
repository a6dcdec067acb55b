"""What `kube install --dry-run` prints: secrets hidden, YAML that kubectl reads back unchanged."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from kube.cli.app import app
from tests.gitrepo import k3, write_tree

SECRET = "s3cr3t-value"


def _formula(tmp_path: Path) -> Path:
    root = tmp_path / "shown"
    write_tree(
        root,
        {
            "K3.yaml": k3("shown"),
            "manifests/secret.yaml": (
                "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\n"
                f"stringData:\n  password: {SECRET}\ndata:\n  token: c2VjcmV0\n"
            ),
            "manifests/config.yaml": (
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: flags\n"
                'data:\n  appendonly: "no"\n  enabled: "on"\n  version: "1.10"\n  hex: "0x1f"\n'
            ),
        },
    )
    return root


def test_dry_run_hides_secret_values_unless_asked(tmp_path: Path) -> None:
    formula = _formula(tmp_path)
    hidden = CliRunner().invoke(app, ["install", str(formula), "--dry-run", "-n", "demo"])
    assert hidden.exit_code == 0, hidden.output
    assert SECRET not in hidden.stdout
    assert "c2VjcmV0" not in hidden.stdout
    assert "password: '<redacted" in hidden.stdout

    shown = CliRunner().invoke(app, ["install", str(formula), "--dry-run", "-n", "demo", "--show-secrets"])
    assert shown.exit_code == 0, shown.output
    assert f"password: {SECRET}" in shown.stdout


def test_dry_run_json_hides_secret_values(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["install", str(_formula(tmp_path)), "--dry-run", "-n", "demo", "-o", "json"]
    )
    assert result.exit_code == 0, result.output
    items = {item["kind"]: item for item in json.loads(result.stdout)["items"]}
    assert items["Secret"]["stringData"]["password"].startswith("<redacted")
    assert items["ConfigMap"]["data"]["appendonly"] == "no"


def test_dry_run_yaml_quotes_strings_yaml11_would_retype(tmp_path: Path) -> None:
    """kubectl reads YAML 1.1: a bare `no` would become false and be refused in a ConfigMap."""
    result = CliRunner().invoke(app, ["install", str(_formula(tmp_path)), "--dry-run", "-n", "demo"])
    assert result.exit_code == 0, result.output
    for line in ('appendonly: "no"', 'enabled: "on"', 'version: "1.10"', 'hex: "0x1f"'):
        assert line in result.stdout
