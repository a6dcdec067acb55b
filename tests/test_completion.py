"""Shell completion: the real ``kube`` program asked by the real protocol (``_KUBE_COMPLETE``),
the scripts run by a real bash, formula names from a real archive, and namespaces and release
names from the real local control plane."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from kube.cli.app import app
from tests.test_install import write_formula

KUBE = str(Path(sys.executable).with_name("kube"))


def complete(*words: str, env: dict[str, str] | None = None) -> list[str]:
    """What ``kube`` offers for the last word of ``kube WORDS...`` (bash's protocol)."""
    line = " ".join(("kube", *words))
    proc = subprocess.run(
        [KUBE],
        env={**os.environ, **(env or {}), "_KUBE_COMPLETE": "bash_complete", "COMP_WORDS": line,
             "COMP_CWORD": str(len(words))},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # never an error in the user's prompt
    return [item.split(",", 1)[1] for item in proc.stdout.splitlines() if item]


def test_command_names_and_options_complete() -> None:
    assert complete("ins") == ["install"]
    assert "import" in complete("im")
    assert complete("install", "--wa") == ["--wait"]
    assert complete("completion", "") == ["bash", "zsh", "fish"]


def test_formula_names_come_from_the_archive_index(remote_archive: Path) -> None:
    assert complete("info", "po") == []  # no archive yet: nothing, and no error
    assert CliRunner().invoke(app, ["update", "--repo", str(remote_archive)]).exit_code == 0
    assert complete("info", "po") == ["ponycorn"]
    assert complete("install", "") == ["nginx", "ponycorn"]


def test_a_dead_cluster_completes_nothing_and_says_nothing(tmp_path: Path) -> None:
    config = tmp_path / "kubeconfig"
    config.write_text(
        "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:9'}}]\n"
        "contexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n"
        "users: [{name: u, user: {}}]\n"
    )
    assert complete("status", "-n", "", env={"KUBECONFIG": str(config)}) == []
    assert complete("uninstall", "", env={"KUBECONFIG": str(config)}) == []


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_the_bash_script_completes_in_a_real_bash() -> None:
    script = subprocess.run([KUBE, "completion", "bash"], capture_output=True, text=True, check=True).stdout
    assert "_kube_completion" in script
    probe = (
        f'{script}\nCOMP_WORDS=(kube upg); COMP_CWORD=1; _kube_completion kube; echo "${{COMPREPLY[@]}}"\n'
    )
    bin_dir = str(Path(KUBE).parent)
    proc = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", probe],
        env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.stdout.split() == ["upgrade"], proc.stderr


@pytest.mark.parametrize(
    ("shell", "where"),
    [
        ("bash", "data/bash-completion/completions/kube"),
        ("zsh", "data/zsh/site-functions/_kube"),
        ("fish", "config/fish/completions/kube.fish"),
    ],
)
def test_install_writes_where_the_shell_looks(tmp_path: Path, shell: str, where: str) -> None:
    env = {"XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    result = subprocess.run(
        [KUBE, "completion", shell, "--install"], env={**os.environ, **env}, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    written = (tmp_path / where).read_text()
    assert "_KUBE_COMPLETE" in written


def test_install_completion_follows_the_login_shell(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path), "SHELL": "/usr/bin/zsh"}
    result = subprocess.run([KUBE, "--install-completion"], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "zsh" / "site-functions" / "_kube").is_file()
    unknown = subprocess.run(
        [KUBE, "--install-completion"], env={**env, "SHELL": "/bin/tcsh"}, capture_output=True, text=True
    )
    assert unknown.returncode == 2
    assert "cannot tell which shell" in unknown.stderr and "Traceback" not in unknown.stderr


def test_an_unknown_shell_is_a_usage_error() -> None:
    result = CliRunner().invoke(app, ["completion", "tcsh"])
    assert result.exit_code == 2
    assert "unknown shell 'tcsh'" in result.output


@pytest.mark.cluster
def test_namespaces_and_releases_come_from_the_cluster(tmp_path: Path, namespace: str, kubectl: Any) -> None:
    assert namespace in complete("status", "-n", namespace[:-3])
    assert complete("uninstall", "-n", namespace, "") == []
    formula = write_formula(tmp_path, "webapp", "1.0.0")
    assert CliRunner().invoke(app, ["install", str(formula), "-n", namespace]).exit_code == 0
    assert complete("uninstall", "-n", namespace, "web") == ["webapp"]
    assert complete("status", "--namespace", namespace, "") == ["webapp"]
