"""update / search / info / get as a user runs them: exit codes and the lines printed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from kube.cli.app import app
from kube.core.errors import ExitCode
from tests.gitrepo import commit, formula_files


def kube(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


@pytest.fixture
def updated(remote_archive: Path) -> Path:
    result = kube("update", "--repo", str(remote_archive))
    assert result.exit_code == 0, result.stderr
    return remote_archive


# --- update ---------------------------------------------------------------------------------


def test_first_update_says_it_clones(remote_archive: Path) -> None:
    result = kube("update", "--repo", str(remote_archive))
    assert result.exit_code == 0
    assert f"Cloning the kube archive from {remote_archive}" in result.stderr
    assert "Cloned" in result.stdout and "2 kubes" in result.stdout


def test_update_prints_brew_style_sections(updated: Path) -> None:
    git_mv = subprocess.run(
        ["git", "-C", str(updated), "mv", "formulas/ponycorn", "formulas/unicorn"], check=True
    )
    assert git_mv.returncode == 0
    k3 = (updated / "formulas/unicorn/K3.yaml").read_text().replace("ponycorn", "unicorn")
    commit(updated, {"formulas/unicorn/K3.yaml": k3, **formula_files("nginx", "1.11.0")})
    commit(updated, formula_files("redis", "7.0.0"))
    result = kube("update")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1:] == [
        "==> New kubes",
        "redis 7.0.0",
        "==> Updated kubes",
        "nginx 1.10.0 → 1.11.0",
        "==> Renamed kubes",
        "ponycorn → unicorn",
    ]
    commit(updated, {"formulas/redis": None})
    result = kube("update")
    assert result.stdout.splitlines()[1:] == ["==> Deleted kubes", "redis"]


def test_update_with_nothing_new_says_already_up_to_date(updated: Path) -> None:
    result = kube("update")
    assert result.exit_code == 0
    assert result.stdout == "Already up-to-date.\n"


def test_update_json_report(updated: Path) -> None:
    commit(updated, formula_files("redis", "7.0.0"))
    result = kube("update", "-o", "json")
    data = json.loads(result.stdout)
    assert data["new"] == [{"name": "redis", "version": "7.0.0"}]
    assert data["up_to_date"] is False and data["index"] == "incremental"


def test_update_refuses_to_drop_local_edits_and_says_what_to_do(updated: Path, kube_home: Path) -> None:
    edited = kube_home / "archive/formulas/nginx/manifests/configmap.yaml"
    edited.write_text("kind: Mine\n")
    commit(updated, formula_files("nginx", "1.11.0"))
    result = kube("update")
    assert result.exit_code == ExitCode.ARCHIVE
    assert "formulas/nginx/manifests/configmap.yaml" in result.stderr
    assert "kube get nginx" in result.stderr and "kube update --reset" in result.stderr
    assert edited.read_text() == "kind: Mine\n"
    assert kube("update", "--reset").exit_code == 0
    assert "kind: ConfigMap" in edited.read_text()


def test_hostile_repo_url_exits_2_with_one_line(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    result = kube("update", f"--repo=--upload-pack=touch {marker}")
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr.count("\n") == 1 and "not allowed" in result.stderr
    assert "Traceback" not in result.stderr
    assert not marker.exists()


def test_warnings_for_skipped_and_invalid_formulas_are_printed(updated: Path) -> None:
    os.symlink("/etc", updated / "formulas" / "evil")
    commit(updated, {"formulas/broken/K3.yaml": "name: broken\nname: again\n"})
    result = kube("update")
    assert result.exit_code == 0
    assert "Warning: formulas/evil skipped: a symbolic link; never followed" in result.stderr
    assert "Warning: formulas/broken is invalid" in result.stderr
    assert "broken (invalid)" in result.stdout


# --- search ---------------------------------------------------------------------------------


def test_search_prints_matches_name_first(updated: Path) -> None:
    result = kube("search", "NGINX")
    assert result.exit_code == 0
    header, *lines = result.stdout.splitlines()
    assert header.split() == ["NAME", "VERSION", "DESCRIPTION"]
    assert [line.split()[0] for line in lines] == ["nginx", "ponycorn"]  # ponycorn matches on details only


def test_search_json(updated: Path) -> None:
    data = json.loads(kube("search", "pony", "-o", "json").stdout)
    assert [d["name"] for d in data] == ["ponycorn"]
    assert data[0]["dependencies"] == [{"name": "nginx", "version": "1.9 < x <= 1.10"}]


def test_search_without_match_exits_3_and_suggests_names(updated: Path) -> None:
    result = kube("search", "ngimx")
    assert result.exit_code == ExitCode.NOT_FOUND
    assert "no kube matches 'ngimx'; similar names: nginx" in result.stderr
    assert kube("search", "zzz", "-o", "json").stdout == "[]\n"


def test_search_with_a_bad_regex_exits_2(updated: Path) -> None:
    result = kube("search", "-r", "(")
    assert result.exit_code == ExitCode.USAGE
    assert "invalid regular expression" in result.stderr


def test_search_clones_a_missing_archive_first_and_says_so(
    remote_archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBE_REPO", str(remote_archive))
    result = kube("search", "nginx")
    assert result.exit_code == 0
    assert "There is no kube archive yet; cloning" in result.stderr
    assert "nginx" in result.stdout


def test_search_and_info_import_no_git_yaml_or_template_library(updated: Path) -> None:
    for command in (["search", "nginx"], ["info", "nginx"]):
        result = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "kube", *command],
            capture_output=True,
            text=True,
            check=True,
        )
        imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if "|" in line}
        heavy = {m for m in imported if m.split(".")[0] in ("git", "ruamel", "jinja2")}
        assert heavy == set(), command


def test_escape_sequences_in_descriptions_print_harmlessly(updated: Path) -> None:
    k3 = (
        'name: "sneaky"\nversion: "1.0.0"\nhome: "https://x.io"\n'
        'description: "Sneaky \\e]0;owned\\a\\e[31mred"\nmaintainers: ["A <a@b.io>"]\n'
    )
    commit(updated, {"formulas/sneaky/K3.yaml": k3})
    assert kube("update").exit_code == 0
    for result in (kube("search", "sneaky"), kube("info", "sneaky"), kube("search", "sneaky", "-o", "json")):
        assert result.exit_code == 0
        assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "\\x1b]0;owned" in kube("info", "sneaky").stdout


# --- info -------------------------------------------------------------------------------------


def test_info_shows_the_formula(updated: Path) -> None:
    result = kube("info", "ponycorn")
    assert result.exit_code == 0
    out = result.stdout
    assert out.splitlines()[0] == "==> ponycorn: 1.0.3"
    for expected in (
        "Description: The ponycorn server",
        "Version:     1.0.3",
        "Website:     https://example.com/ponycorn",
        "Maintainers: Jane Doe <jane@example.com>",
        "Depends on:  nginx (1.9 < x <= 1.10)",
        "Provides:    manifests/configmap.yaml",
        "  Needs an nginx server.",
        "Workspace:   none (`kube get ponycorn` makes an editable copy)",
    ):
        assert expected in out.splitlines(), expected
    built = next(line for line in out.splitlines() if line.startswith("Built:"))
    sha = subprocess.run(
        ["git", "-C", str(updated), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout
    assert sha[:8] in built


def test_info_json(updated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBECONFIG", raising=False)  # no cluster to ask: "installed" is unknown
    data = json.loads(kube("info", "nginx", "-o", "json").stdout)
    assert data["version"] == "1.10.0" and data["workspace"] is None and data["installed"] is None


def test_info_of_unknown_kube_exits_3_with_close_names(updated: Path) -> None:
    result = kube("info", "ngnix")
    assert result.exit_code == ExitCode.NOT_FOUND
    assert "did you mean nginx" in result.stderr and "kube update" in result.stderr


def test_info_tells_whether_the_workspace_copy_differs(updated: Path, kube_home: Path) -> None:
    assert kube("get", "nginx").exit_code == 0
    assert "(same as the archive)" in kube("info", "nginx").stdout
    (kube_home / "workspace/nginx/K3.yaml").write_text("name: nginx\n")
    assert "(differs from the archive)" in kube("info", "nginx").stdout


def test_info_of_invalid_formula_lists_its_problems(updated: Path) -> None:
    commit(updated, {"formulas/broken/K3.yaml": "name: broken\nname: again\n"})
    kube("update")
    result = kube("info", "broken")
    assert result.exit_code == 0
    assert "formulas/broken/K3.yaml:2" in result.stdout


# --- get ----------------------------------------------------------------------------------------


def test_get_copies_the_formula_into_the_workspace_and_prints_the_path(
    updated: Path, kube_home: Path
) -> None:
    result = kube("get", "ponycorn")
    assert result.exit_code == 0
    target = kube_home / "workspace" / "ponycorn"
    assert result.stdout == f"{target}\n"
    assert (target / "K3.yaml").read_text() == (updated / "formulas/ponycorn/K3.yaml").read_text()
    assert (target / "manifests/configmap.yaml").is_file()


def test_get_says_in_json_where_the_copy_is_and_what_it_wrote(updated: Path, kube_home: Path) -> None:
    first = json.loads(kube("get", "ponycorn", "-o", "json").stdout)
    target = kube_home / "workspace" / "ponycorn"
    assert first["name"] == "ponycorn" and first["path"] == str(target)
    assert "K3.yaml" in first["copied"] and first["overwritten"] == []
    again = json.loads(kube("get", "ponycorn", "-o", "json").stdout)
    assert again["copied"] == [] and sorted(again["unchanged"]) == sorted(first["copied"])


def test_get_again_with_an_identical_copy_is_fine(updated: Path) -> None:
    assert kube("get", "nginx").exit_code == 0
    result = kube("get", "nginx")
    assert result.exit_code == 0
    assert "already matches the archive" in result.stderr


def test_get_never_overwrites_edited_files_without_force(updated: Path, kube_home: Path) -> None:
    kube("get", "nginx")
    k3 = kube_home / "workspace/nginx/K3.yaml"
    k3.write_text(k3.read_text() + "# my edit\n")
    (kube_home / "workspace/nginx/notes.md").write_text("mine")
    result = kube("get", "nginx")
    assert result.exit_code == ExitCode.ARCHIVE
    assert "K3.yaml" in result.stderr and "kube get nginx --force" in result.stderr
    assert "# my edit" in k3.read_text()
    result = kube("get", "nginx", "--force")
    assert result.exit_code == 0
    assert "# my edit" not in k3.read_text()
    assert (kube_home / "workspace/nginx/notes.md").read_text() == "mine"


def test_get_to_a_chosen_directory(updated: Path, tmp_path: Path) -> None:
    result = kube("get", "nginx", "--dest", str(tmp_path / "here"))
    assert result.exit_code == 0
    assert (tmp_path / "here/K3.yaml").is_file()


def test_get_of_unknown_or_path_like_name_exits_3(updated: Path, kube_home: Path) -> None:
    for name in ("nope", "../archive", ".."):
        result = kube("get", name)
        assert result.exit_code == ExitCode.NOT_FOUND, name
    assert not (kube_home / "workspace").exists()


def test_get_refuses_a_formula_holding_a_symlink(updated: Path, kube_home: Path) -> None:
    commit(updated, formula_files("leaky"))
    os.symlink("/etc/passwd", updated / "formulas/leaky/manifests/passwd.yaml")
    commit(updated, {})
    kube("update")
    result = kube("get", "leaky")
    assert result.exit_code == ExitCode.INVALID_FORMULA
    assert "symbolic link" in result.stderr
    assert not (kube_home / "workspace/leaky").exists()
