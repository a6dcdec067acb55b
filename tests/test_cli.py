"""The CLI's single error boundary, help and version, as a user sees them."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from kube import __version__
from kube.archive import update as archive
from kube.cli.app import app
from kube.core.errors import ExitCode


def test_version_and_help_list_every_command() -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["--version"]).stdout == f"kube {__version__}\n"
    shown = runner.invoke(app, ["--help"])
    assert shown.exit_code == 0
    commands = ["update", "search", "info", "get", "install", "list", "uninstall", "lint", "test", "help"]
    for command in commands:
        assert f"  {command} " in shown.stdout, command


def test_help_command_explains_one_command_or_says_it_does_not_exist() -> None:
    runner = CliRunner()
    install = runner.invoke(app, ["help", "install"])
    assert install.exit_code == 0
    assert "Usage: kube install [OPTIONS] FORMULA" in install.stdout
    missing = runner.invoke(app, ["help", "instal"])
    assert missing.exit_code == ExitCode.USAGE
    assert missing.stderr == "Error: no such command `instal` (hint: run `kube help` for the list)\n"


def test_user_error_is_one_line_with_its_exit_code(remote_archive: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["update", "--repo", str(remote_archive)]).exit_code == 0
    result = runner.invoke(app, ["info", "ngnix"])
    assert result.exit_code == ExitCode.NOT_FOUND
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("Error: ")
    assert "Traceback" not in result.output


def test_a_bug_exits_70_with_one_line_and_the_traceback_in_the_log(
    remote_archive: Path, kube_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["update", "--repo", str(remote_archive)]).exit_code == 0

    # A bug cannot be produced on purpose with real inputs: replace one domain call.
    def broken(**_: object) -> None:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(archive, "read_index", broken)
    result = runner.invoke(app, ["search", "nginx"])
    assert result.exit_code == ExitCode.INTERNAL
    [line] = result.stderr.splitlines()
    assert line.startswith("Error: internal error: ZeroDivisionError: division by zero; details in ")
    [log] = (kube_home / "log").glob("crash-*.log")
    assert str(log) in line
    assert "Traceback (most recent call last)" in log.read_text()
    assert "ZeroDivisionError" in log.read_text()


def test_ctrl_c_exits_130(remote_archive: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["update", "--repo", str(remote_archive)]).exit_code == 0

    # Ctrl-C arrives as KeyboardInterrupt wherever kube happens to be; simulate it in one call.
    def interrupted(**_: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(archive, "read_index", interrupted)
    result = runner.invoke(app, ["search", "nginx"])
    assert result.exit_code == ExitCode.INTERRUPTED
    assert result.stderr == "Error: interrupted\n"
