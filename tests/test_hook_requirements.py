"""``hook: {python, requires}`` in K3.yaml: checked before the hook runs, linted, loaded the same
by both loaders. Real hooks, real distributions of this interpreter, kube itself as a subprocess."""

from __future__ import annotations

import json
import os
import platform
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from kube.core.errors import ExitCode, FormulaError, HookError
from kube.formula.hook_needs import HookNeed, HookNeeds
from kube.formula.load import _fast_fields, check_formula, load_formula
from kube.install.hooks import run_pre_install
from kube.install.staging import stage_formula
from kube.lint import run as lint
from tests.gitrepo import write_tree

ROOT = Path(__file__).resolve().parents[1]
CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n"
K3 = """\
name: shop
version: "1.0.0"
home: https://example.com/shop
description: The shop server
maintainers:
  - Jane Doe <jane@example.com>
"""
# The hook leaves this file behind in the staged copy's parent when it runs.
HOOK = "import pathlib\npathlib.Path('..', 'hook-ran').write_text('yes')\n"


def hook_block(python: str | None = None, *requires: str) -> str:
    lines = ["hook:"]
    if python is not None:
        lines.append(f"  python: {json.dumps(python)}")
    if requires:
        lines.append("  requires:")
        lines += [f"    - {json.dumps(r)}" for r in requires]
    return "\n".join(lines) + "\n"


def formula(tmp_path: Path, block: str, *, hook: bool = True) -> Path:
    directory = tmp_path / "formulas" / "shop"
    tree = {"K3.yaml": K3 + block, "README.md": "# shop\n", "manifests/a.yaml": CONFIGMAP}
    if hook:
        tree["scripts/pre-install.py"] = HOOK
    write_tree(directory, tree)
    return directory


def run_hook(tmp_path: Path, block: str) -> bool:
    """Whether the hook ran (it leaves a marker) when run_pre_install succeeds."""
    src = formula(tmp_path, block)
    loaded = load_formula(src)
    stage = tmp_path / "stage"
    staged = stage_formula(src, stage)
    result = run_pre_install(
        staged, formula=loaded, namespace="prod", values={}, timeout=30, interactive=False
    )
    return result.ran and (staged.parent / "hook-ran").exists()


def refused(tmp_path: Path, block: str) -> HookError:
    src = formula(tmp_path, block)
    staged = stage_formula(src, tmp_path / "stage")
    with pytest.raises(HookError) as caught:
        run_pre_install(staged, formula=load_formula(src), namespace="prod", values={}, timeout=30)
    assert not (staged.parent / "hook-ran").exists(), "the hook must not start"
    return caught.value


def kube(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "KUBE_INTERACTIVE": "0",
        "TMPDIR": str(tmpdir),
    }
    return subprocess.run(
        [sys.executable, "-m", "kube", *args], env=env, capture_output=True, text=True, timeout=120
    )


# -- before the hook runs --------------------------------------------------------------------------


def test_a_missing_distribution_stops_the_install_with_the_pip_line(tmp_path: Path) -> None:
    err = refused(tmp_path, hook_block(None, "kube-no-such-dist>=1"))
    assert err.exit_code == ExitCode.HOOK
    assert err.message == (
        "pre-install hook of shop needs kube-no-such-dist>=1 (not installed); install with: "
        f"{shlex.quote(sys.executable)} -m pip install 'kube-no-such-dist>=1'"
    )
    assert err.hint and "--no-hooks" in err.hint


def test_kube_install_exits_7_with_one_line_and_the_hook_never_ran(tmp_path: Path) -> None:
    src = formula(tmp_path, hook_block(">=3", "kube-no-such-dist>=1", "jinja2>=3"))
    done = kube(tmp_path, "install", str(src), "-n", "prod", "--dry-run")
    assert done.returncode == ExitCode.HOOK == 7, done.stderr
    error = [line for line in done.stderr.splitlines() if line.startswith("Error:")]
    assert len(error) == 1, done.stderr
    assert f"install with: {shlex.quote(sys.executable)} -m pip install 'kube-no-such-dist>=1'" in error[0]
    assert "jinja2" not in error[0], "an installed requirement is not listed"
    assert "Traceback" not in done.stderr
    assert not list(tmp_path.rglob("hook-ran"))


def test_no_hooks_skips_the_check_with_the_hook(tmp_path: Path) -> None:
    src = formula(tmp_path, hook_block(">=99", "kube-no-such-dist>=1"))
    done = kube(tmp_path, "install", str(src), "-n", "prod", "--dry-run", "--no-hooks")
    assert done.returncode == 0, done.stderr
    assert not list(tmp_path.rglob("hook-ran"))


def test_a_satisfied_requirement_lets_the_hook_run(tmp_path: Path) -> None:
    assert run_hook(tmp_path, hook_block(">=3.9", "jinja2>=3", "Jinja2>=3.0"))


def test_an_installed_version_outside_the_specifier_is_named(tmp_path: Path) -> None:
    err = refused(tmp_path, hook_block(None, "jinja2>=999", "kube-no-such-dist"))
    from importlib.metadata import version

    assert err.message.startswith(
        f"pre-install hook of shop needs jinja2>=999 ({version('jinja2')} is installed),"
        " kube-no-such-dist (not installed); install with: "
    )
    assert err.message.endswith("-m pip install 'jinja2>=999' kube-no-such-dist")


def test_a_python_the_hook_cannot_use_is_refused(tmp_path: Path) -> None:
    err = refused(tmp_path, hook_block(">=99", "kube-no-such-dist"))
    assert err.exit_code == ExitCode.HOOK
    assert err.message == (
        f"pre-install hook of shop needs Python >=99, and kube runs under Python"
        f" {platform.python_version()} ({sys.executable}); run kube with a Python >=99"
    )


def test_a_requirement_whose_marker_does_not_hold_is_skipped(tmp_path: Path) -> None:
    block = hook_block(
        None, "cryptography>=41; python_version < '3'", "kube-no-such-dist; sys_platform == 'no-such'"
    )
    assert run_hook(tmp_path, block)


def test_a_requirement_whose_marker_holds_is_checked(tmp_path: Path) -> None:
    err = refused(tmp_path, hook_block(None, "kube-no-such-dist>=1; python_version >= '3'"))
    assert err.message.endswith("-m pip install 'kube-no-such-dist>=1'"), "the marker is not in the pip line"


def test_a_distribution_only_in_the_user_site_does_not_count(tmp_path: Path) -> None:
    # The hook runs under ``python -I``: a distribution found only through PYTHONPATH (or the user
    # site) is one it cannot import, so the check looks where the hook looks.
    extra = tmp_path / "extra"
    dist = extra / "kube_only_on_pythonpath-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: kube-only-on-pythonpath\nVersion: 1.0\n")
    sys.path.insert(0, str(extra))
    try:
        from importlib.metadata import version

        assert version("kube-only-on-pythonpath") == "1.0", "kube itself sees it"
        err = refused(tmp_path, hook_block(None, "kube-only-on-pythonpath>=1"))
    finally:
        sys.path.remove(str(extra))
    assert "kube-only-on-pythonpath>=1 (not installed)" in err.message


def test_an_invalid_field_stops_the_install_as_an_invalid_formula(tmp_path: Path) -> None:
    src = formula(tmp_path, hook_block(None, "cryptography>>41"))
    staged = stage_formula(src, tmp_path / "stage")
    with pytest.raises(FormulaError) as caught:
        run_pre_install(staged, formula=load_formula(src), namespace="prod", values={}, timeout=30)
    assert caught.value.exit_code == ExitCode.INVALID_FORMULA
    assert "K3.yaml:9" in caught.value.message and "hook.requires[0]" in caught.value.message
    assert not (staged.parent / "hook-ran").exists()


# -- the loaders -----------------------------------------------------------------------------------


BLOCK = hook_block(">=3.9", "cryptography>=41", "jinja2>=3; python_version >= '3'")


def test_hook_loads_the_same_on_the_fast_path(tmp_path: Path) -> None:
    src = formula(tmp_path, BLOCK)
    fast = load_formula(src, fast=True)
    strict = load_formula(src, fast=False)
    assert fast == strict
    assert fast.hook == HookNeeds(
        HookNeed(">=3.9", 8),
        (HookNeed("cryptography>=41", 10), HookNeed("jinja2>=3; python_version >= '3'", 11)),
        7,
    )
    assert _fast_fields(K3 + BLOCK, "K3.yaml", "shop") is not None, "a clean hook: keeps the fast path"


@pytest.mark.parametrize(
    ("block", "line", "rule", "message"),
    [
        ("hook: [a]\n", 7, "k3-type", 'hook: expected a mapping like {python: ">=3.9", requires'),
        ("hook:\n  python: 3.9\n", 8, "k3-type", "hook.python: YAML reads 3.9 as the number 3.9; quote it"),
        ("hook:\n  requires: cryptography\n", 8, "k3-type", "hook.requires: expected a list like"),
        ("hook:\n  requires: [1]\n", 8, "k3-type", "hook.requires[0]: YAML reads 1 as the number 1"),
        (
            "hook:\n  require: [a]\n",
            8,
            "k3-unknown-key",
            'hook.require: unknown key; did you mean "requires"?',
        ),
    ],
)
def test_both_loaders_refuse_a_bad_shape_alike(
    tmp_path: Path, block: str, line: int, rule: str, message: str
) -> None:
    src = formula(tmp_path, block)
    assert _fast_fields(K3 + block, "K3.yaml", "shop") is None, "a finding takes the strict path"
    _, findings = check_formula(src)
    assert [(f.line, f.rule) for f in findings] == [(line, rule)]
    assert findings[0].message.startswith(message), findings[0].message
    if rule != "k3-unknown-key":
        for fast in (True, False):
            with pytest.raises(FormulaError):
                load_formula(src, fast=fast)


# -- kube lint -------------------------------------------------------------------------------------


def lint_findings(tmp_path: Path, block: str, *, hook: bool = True) -> list[tuple[int, str, str]]:
    src = formula(tmp_path, block, hook=hook)
    report = lint.lint([str(src)])
    return [(f.line, f.rule, f.message) for f in report.findings]


def test_lint_passes_a_valid_hook_block(tmp_path: Path) -> None:
    assert lint_findings(tmp_path, BLOCK) == []


def test_lint_reports_an_invalid_specifier_and_requirement_at_their_lines(tmp_path: Path) -> None:
    found = lint_findings(tmp_path, hook_block("3.9", "cryptography>=41", "cryptography>>41", "a b"))
    assert [(line, rule) for line, rule, _ in found] == [
        (8, "hook-requirement"),
        (11, "hook-requirement"),
        (12, "hook-requirement"),
    ]
    assert found[0][2] == 'hook.python: "3.9" is not a Python version specifier like ">=3.9" or "==3.11.*"'
    assert found[1][2].startswith('hook.requires[1]: "cryptography>>41" is not a requirement like')
    assert all("\n" not in message for _, _, message in found)


def test_lint_warns_about_a_hook_block_without_a_hook(tmp_path: Path) -> None:
    found = lint_findings(tmp_path, BLOCK, hook=False)
    assert found == [
        (
            7,
            "hook-without-script",
            "hook: says what scripts/pre-install.py needs, but the formula has no scripts/pre-install.py",
        )
    ]


def test_lint_findings_point_at_the_format_reference(tmp_path: Path) -> None:
    src = formula(tmp_path, hook_block("3.9"))
    report = lint.lint([str(src)])
    assert report.findings[0].hint.endswith("; see docs/format.md#hook")


def test_reading_a_formula_with_a_hook_block_does_not_import_packaging(tmp_path: Path) -> None:
    src = formula(tmp_path, BLOCK)
    code = (
        "import sys; from kube.formula.load import load_formula; from pathlib import Path;"
        f"load_formula(Path({str(src)!r}), fast=False); load_formula(Path({str(src)!r}));"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'packaging'))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "[]"
