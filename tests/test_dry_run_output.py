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


def test_dry_run_yaml_reads_back_as_the_json_items_in_yaml_1_1_and_1_2(tmp_path: Path) -> None:
    """libyaml writes the YAML: what kubectl (YAML 1.1) and kube (1.2) read back is what -o json says."""
    import yaml

    from kube.formula import yaml_strict

    root = tmp_path / "tricky"
    text = {
        "a": "", "b": "no", "c": "on", "d": "1.10", "e": "0x1f", "f": "12:30", "g": "~", "h": "null",
        "i": "multi\nline\n", "j": "keep\n\n", "k": " lead", "l": "trail ", "m": "caf\u00e9 \u2603",
        "n": "#x", "o": "a: b", "p": "- x", "q": "'x", "r": '"x', "s": "x" * 150, "t": "y", "u": "<<",
    }  # fmt: skip
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "tricky"}, "data": text}
    other = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "labels": {"x": "1"}},
             "spec": {"ports": [{"port": 80, "targetPort": "http"}], "clusterIP": None}}  # fmt: skip
    write_tree(root, {"K3.yaml": k3("tricky"), "manifests/a.json": json.dumps(config),
                      "manifests/b.json": json.dumps(other)})  # fmt: skip
    args = ["install", str(root), "--dry-run", "-n", "demo"]
    as_yaml = CliRunner().invoke(app, args)
    as_json = CliRunner().invoke(app, [*args, "-o", "json"])
    assert as_yaml.exit_code == 0 and as_json.exit_code == 0, as_yaml.output + as_json.output
    items = json.loads(as_json.stdout)["items"]
    printed = as_yaml.stdout[: as_yaml.stdout.rindex("==>")] if "==>" in as_yaml.stdout else as_yaml.stdout
    assert [d for d in yaml.safe_load_all(printed) if d is not None] == items
    assert [yaml_strict.to_plain(n) for n in yaml_strict.load_all(printed, source="out")] == items
    assert list(items[0]["metadata"]) == ["name", "labels", "namespace", "annotations"]  # order kept
