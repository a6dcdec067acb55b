"""The CLI's single error boundary, help and version, as a user sees them."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
import typer.main
from typer.testing import CliRunner

from kube import __version__
from kube.archive import update as archive
from kube.cli.app import COMMANDS, app, kube_group
from kube.core.errors import ExitCode
from tests.gitrepo import formula_files, make_repo

REPO = Path(__file__).resolve().parents[1]


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


def _commands(command: click.Command, path: tuple[str, ...]) -> list[tuple[tuple[str, ...], click.Command]]:
    ctx = click.Context(command)
    if not isinstance(command, click.Group):
        return [(path, command)]
    found: list[tuple[tuple[str, ...], click.Command]] = []
    for name in command.list_commands(ctx):
        sub = command.get_command(ctx, name)
        assert sub is not None, name
        found += _commands(sub, (*path, name))
    return found


def test_every_positional_argument_has_its_help_in_help() -> None:
    """Each command's ``--help`` explains its arguments, not only their metavar (click 8.5 with
    typer 0.25 dropped every argument's help)."""
    runner = CliRunner()
    checked = 0
    for path, command in _commands(kube_group(), ()):
        shown = runner.invoke(app, [*path, "--help"])
        assert shown.exit_code == 0, path
        rows = shown.stdout.split("\nArguments:\n", 1)[-1].split("\n\n", 1)[0].splitlines()
        for param in command.params:
            if not isinstance(param, click.Argument):
                continue
            checked += 1
            metavar = param.make_metavar(click.Context(command))
            row = next((r for r in rows if r.strip().startswith(metavar)), "")
            text = row.strip().removeprefix(metavar).split("[")[0].strip()
            assert text, f"kube {' '.join(path)}: {metavar} has no help in:\n{shown.stdout}"
    assert checked > 10  # install, get, info, search, uninstall ... all take one


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


# -- the command table ------------------------------------------------------------------------------


def test_each_command_module_defines_exactly_the_commands_the_table_gives_it() -> None:
    """``kube --help`` prints the table without loading a module: the table must say what they say."""
    by_module: dict[str, set[str]] = {}
    for name, entry in COMMANDS.items():
        by_module.setdefault(entry.module, set()).add(name)
    for module, names in by_module.items():
        group = typer.main.get_group(importlib.import_module(module).app)
        assert set(group.commands) == names, module
        for name in names:
            command = group.commands[name]
            assert command.help is not None
            assert command.help.splitlines()[0] == COMMANDS[name].help, name


def test_help_loads_no_command_module() -> None:
    root = kube_group()
    with click.Context(root, info_name="kube") as ctx:
        text = root.get_help(ctx)
    assert "  search      Search kubes by name, description, keywords and details..." in text
    assert root._loaded == {}  # the cache of loaded command modules


@pytest.mark.parametrize("columns", [*range(40, 84), 200])
def test_fast_help_is_what_click_prints(columns: int) -> None:
    from kube.cli.entry import _help_text

    root = kube_group()
    width = max(min(columns, 80) - 2, 50)  # what Click's formatter makes of a terminal's columns
    settings = {"help_option_names": ["-h", "--help"], "terminal_width": width}
    with click.Context(root, info_name="kube", **settings) as ctx:  # type: ignore[arg-type]
        assert _help_text(columns) == root.get_help(ctx) + "\n"


def _kube(*args: str, home: Path, fast: bool, extra: dict[str, str] | None = None) -> tuple[int, str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "KUBE_HOME": str(home / "kube"), "HOME": str(home)}
    env.pop("KUBECONFIG", None)
    env.pop("KUBE_NO_FAST_PATH", None)
    env.update(extra or {})
    if not fast:
        env["KUBE_NO_FAST_PATH"] = "1"
    done = subprocess.run(
        [sys.executable, "-m", "kube", *args], env=env, capture_output=True, text=True, timeout=60
    )
    return done.returncode, done.stdout, done.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["-h"],
        ["search", "nginx"],
        ["search", "NGINX", "-o", "json"],
        ["search", "-r", "^ngi"],
        ["search", "--regex", "(", "-o", "text"],
        ["search", "nothing-like-it"],
        ["search", "nginx", "-o", "yaml"],
        ["info", "nginx"],
        ["info", "nginx", "--output", "JSON"],
        ["info", "ngnix"],
        ["info", "../etc"],
    ],
)
def test_fast_path_prints_what_the_full_cli_prints(tmp_path: Path, args: list[str]) -> None:
    remote = make_repo(tmp_path / "remote", formula_files("nginx", "1.10.1"))
    assert _kube("update", "--repo", str(remote), home=tmp_path, fast=False)[0] == 0
    assert _kube(*args, home=tmp_path, fast=True) == _kube(*args, home=tmp_path, fast=False)


def _formula(directory: Path, *, template: bool = True) -> Path:
    """A formula of one ConfigMap, and (``template``) one template, at ``directory``."""
    (directory / "manifests").mkdir(parents=True)
    (directory / "K3.yaml").write_text(
        'name: shop\nversion: "1.0.0"\nhome: https://example.com/shop\ndescription: A shop\n'
        "maintainers: [Jane Doe <jane@example.com>]\n"
    )
    (directory / "manifests" / "a.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
    if template:
        _add_template(directory)
    return directory


def _add_template(directory: Path) -> None:
    (directory / "manifests" / "b.yaml.tmpl").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{ kube.release }}-b}\n"
    )


@pytest.mark.parametrize(
    "args",
    [
        ["--dry-run"],
        ["--dry-run", "-n", "shop"],
        ["-n", "shop", "--dry-run", "-o", "JSON"],
        ["--dry-run", "--output", "yaml", "--name", "second"],
        ["--dry-run", "-o", "github"],  # refused by the command: the same usage line
        ["--dry-run", "-o", "nothing"],  # refused by Click: the fast path leaves it to Click
        ["--dry-run", "-n", "Not_A_Namespace"],
        ["--dry-run", "--name", "Bad.Name"],
        ["--dry-run", "-n", "a", "-n", "b"],  # twice: Click's
        ["--dry-run", "-n"],  # no value: Click's error
        ["--dry-run", "--wait", "-n", "shop"],
        ["--dry-run", "--namespace=shop"],
    ],
)
def test_the_install_fast_path_prints_what_the_full_cli_prints(tmp_path: Path, args: list[str]) -> None:
    """KUBE_KUBECTL=false answers the one read a dry run makes (no cluster needed), the same way
    both times. A formula that does not exist is the same one line too."""
    shop = str(_formula(tmp_path / "shop"))
    for formula in (shop, str(tmp_path / "missing")):
        fast = _kube("install", formula, *args, home=tmp_path, fast=True, extra={"KUBE_KUBECTL": "false"})
        full = _kube("install", formula, *args, home=tmp_path, fast=False, extra={"KUBE_KUBECTL": "false"})
        assert fast == full, args


@pytest.mark.parametrize(
    "args",
    [
        ["shop"],
        ["shop", "-n", "shop", "-o", "JSON", "--wait"],
        ["shop", "-o", "yaml"],  # refused by the command
        ["Bad.Name", "-n", "shop"],
        ["shop", "-n", "Not_A_Namespace"],
        ["shop", "--wait", "--wait"],  # twice: Click's
        ["shop", "--force"],  # not a fast-path option: Click's
    ],
)
def test_the_uninstall_fast_path_prints_what_the_full_cli_prints(tmp_path: Path, args: list[str]) -> None:
    """Without a cluster (KUBE_KUBECTL=false fails every read) the errors must be the same lines."""
    extra = {"KUBE_KUBECTL": "false"}
    fast = _kube("uninstall", *args, home=tmp_path, fast=True, extra=extra)
    assert fast == _kube("uninstall", *args, home=tmp_path, fast=False, extra=extra), args
    assert fast[0] != 0


def test_a_plain_install_runs_without_click(tmp_path: Path) -> None:
    shop = str(_formula(tmp_path / "shop"))
    extra = {"KUBE_KUBECTL": "false"}
    plain = _imported("install", shop, "-n", "shop", "--dry-run", "-o", "json", home=tmp_path, extra=extra)
    assert "kube.cli.installing" in plain and not {m for m in plain if m in ("click", "typer")}
    other = _imported("install", shop, "--dry-run", "--set", "a=1", home=tmp_path, extra=extra)
    assert "click" in other and "kube.cli.install" in other  # any other option: the full CLI


def _imported(*args: str, home: Path, extra: dict[str, str] | None = None) -> set[str]:
    """The modules a real ``python -X importtime -m kube ARGS`` process imports (output piped)."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "KUBE_HOME": str(home / "kube"), "HOME": str(home)}
    env.pop("KUBECONFIG", None)
    env.pop("KUBE_KUBECTL", None)
    env.update(extra or {})
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "kube", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return {
        line.split("|")[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")
    }


# What `kube --help`, `search` and `info` must never load: the git library, the YAML writer,
# the template engine, Rich (output is piped), and the rooms of other commands.
HEAVY = (
    "git",
    "ruamel",
    "jinja2",
    "rich",
    "kube.install",
    "kube.lint",
    "kube.livetest",
    "kube.formula.templating",
)


def _heavy(modules: set[str]) -> set[str]:
    return {m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY)}


def test_help_search_and_info_stay_light(tmp_path: Path) -> None:
    remote = make_repo(tmp_path / "remote", formula_files("nginx", "1.10.1"))
    help_ = _imported("--help", home=tmp_path)
    assert "kube.cli.entry" in help_
    # --help is the table: no Click, no Typer, no command module, no domain module.
    light = ("click", "typer", "kube.archive", "kube.k8s")
    assert not {m for m in help_ if m in light or m.startswith(tuple(f"{h}." for h in light))}
    assert {m for m in help_ if m.startswith("kube.cli.")} == {"kube.cli.entry", "kube.cli.commands"}
    assert _imported("update", "--repo", str(remote), home=tmp_path)  # clone it once
    search = _imported("search", "nginx", home=tmp_path)
    assert "kube.cli.readonly" in search
    assert _heavy(search) == set()
    assert not {m for m in search if m in ("click", "typer")}  # the fast path: no option parser
    assert "kube.cli.search" in _imported("search", "--regex", "nginx", "--output=json", home=tmp_path)
    assert "kube.archive.workspace" not in search
    info = _imported("info", "nginx", home=tmp_path)
    assert "kube.cli.readonly" in info and "click" not in info
    assert _heavy(info) == set()
    assert not {m for m in info if m.startswith("kube.k8s")}  # no kubeconfig: no cluster client


def test_a_dry_run_loads_the_template_engine_and_hook_runner_only_for_a_formula_that_needs_them(
    tmp_path: Path,
) -> None:
    """Plain YAML renders without Jinja, the hook runner or the patch engine; a template, a hook
    and a --patch each load theirs. KUBE_KUBECTL=false answers the one read a dry run makes."""
    shop = _formula(tmp_path / "shop", template=False)
    extra = {"KUBE_KUBECTL": "false"}
    later = ("jinja2", "kube.formula.templating", "kube.install.hooks", "kube.formula.patches")

    def loaded(*args: str) -> set[str]:
        argv = ("install", str(shop), "-n", "default", "--dry-run", *args)
        found = _imported(*argv, home=tmp_path, extra=extra)
        assert "kube.install.pipeline" in found  # the install ran
        return {m for m in later if m in found}

    assert loaded() == set()
    _add_template(shop)
    assert loaded() == {"jinja2", "kube.formula.templating"}
    (shop / "scripts").mkdir()
    (shop / "scripts" / "pre-install.py").write_text("print('hook ran')\n")
    patch = tmp_path / "patch.yaml"
    patch.write_text("- target: {kind: ConfigMap, name: a}\n  merge: {data: {x: '1'}}\n")
    assert loaded("--patch", str(patch)) == set(later)


def test_a_template_loads_neither_the_record_format_nor_the_cluster_machinery(tmp_path: Path) -> None:
    """kube template reads no record and runs no kubectl: the record codecs, the readiness
    waits, the create step, dependencies, the cluster fan-out and the subprocess helper stay
    unloaded (a dry run reads the release, so it loads the record format)."""
    shop = _formula(tmp_path / "shop", template=False)
    unused = (
        "kube.k8s.release_format", "kube.k8s.records", "kube.k8s.releases", "kube.k8s.wait",
        "kube.install.create", "kube.install.deps", "kube.install.depends", "kube.cli.fanout",
        "kube.core.process", "subprocess", "click", "typer", "jinja2",
    )  # fmt: skip
    template = _imported("template", str(shop), home=tmp_path)
    assert "kube.install.pipeline" in template  # it rendered
    assert {m for m in unused if m in template} == set()
    dry = _imported(
        "install", str(shop), "-n", "default", "--dry-run", home=tmp_path, extra={"KUBE_KUBECTL": "false"}
    )
    assert {"kube.k8s.release_format", "kube.core.process"} <= dry


def test_info_with_a_kubeconfig_starts_no_kubectl_unless_asked(tmp_path: Path) -> None:
    """A kubeconfig in play is not a question about the cluster: plain `kube info` reads only the
    local index. The kubectl on PATH is a script that logs each call and fails (no cluster needed):
    the log shows whether kube started it, which importing alone would not prove."""
    remote = make_repo(tmp_path / "remote", formula_files("nginx", "1.10.1"))
    bin_dir, log = tmp_path / "bin", tmp_path / "kubectl.log"
    bin_dir.mkdir()
    fake = bin_dir / "kubectl"
    fake.write_text(f'#!/bin/sh\necho "$*" >> {log}\nexit 1\n')
    fake.chmod(0o755)
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n")
    extra = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "KUBECONFIG": str(kubeconfig)}
    assert _imported("update", "--repo", str(remote), home=tmp_path, extra=extra)
    for args in (["info", "nginx"], ["info", "nginx", "-o", "json"]):
        info = _imported(*args, home=tmp_path, extra=extra)
        assert "click" not in info and not {m for m in info if m.startswith("kube.k8s")}, args
    assert not log.exists(), log.read_text()
    asked = _imported("info", "nginx", "--installed", home=tmp_path, extra=extra)
    assert "click" not in asked  # --installed stays on the fast path
    assert log.exists() and log.read_text().strip()  # and it does ask the cluster


# -- one -o vocabulary ------------------------------------------------------------------------------


def test_table_and_text_are_the_same_output_everywhere(remote_archive: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["update", "--repo", str(remote_archive)]).exit_code == 0
    plain = runner.invoke(app, ["search", "nginx"])
    assert plain.exit_code == 0
    for name in ("table", "text", "TEXT"):
        shown = runner.invoke(app, ["search", "nginx", "-o", name])
        assert (shown.exit_code, shown.stdout) == (0, plain.stdout), name
    info = runner.invoke(app, ["info", "nginx", "-o", "table"])
    assert (info.exit_code, info.stdout) == (0, runner.invoke(app, ["info", "nginx"]).stdout)


def test_lint_takes_text_like_table(tmp_path: Path) -> None:
    runner = CliRunner()
    root = tmp_path / "repo"
    make_repo(root, formula_files("nginx", "1.10.1"))
    table = runner.invoke(app, ["lint", str(root / "formulas" / "nginx"), "-o", "table"])
    text = runner.invoke(app, ["lint", str(root / "formulas" / "nginx"), "-o", "text"])
    assert (text.exit_code, text.stdout) == (table.exit_code, table.stdout)


@pytest.mark.parametrize(
    ("args", "allowed"),
    [
        (["search", "x", "-o", "github"], "table, text, json"),
        (["info", "x", "-o", "yaml"], "table, text, json"),
        (["install", "x", "-o", "yaml"], "table, text, json"),
        (["list", "-o", "github"], "table, text, json"),
        (["lint", "-o", "yaml"], "table, text, json, github"),
        (["test", "x", "-o", "github"], "table, text, json"),
    ],
)
def test_a_format_the_command_cannot_print_is_one_usage_line(args: list[str], allowed: str) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr == f"Error: -o {args[-1]}: choose one of {allowed}\n"


def test_cluster_options_read_the_same_in_every_command() -> None:
    runner = CliRunner()
    lines = {}
    for command in ("install", "list", "uninstall", "info", "test"):
        shown = runner.invoke(app, ["help", command]).stdout
        lines[command] = [line.split(None, 2)[-1] for line in shown.splitlines() if "--context" in line]
    assert all(found == ["The kubeconfig context to use."] for found in lines.values()), lines
