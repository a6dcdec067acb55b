"""docs/format.md stays true to the code: its anchors, its range tables, its limits."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kube.formula import hook_needs, render, templating, values, versions
from kube.formula import load as formula
from kube.formula import yaml_strict as yamlsafe
from kube.formula.versions import Version, VersionRange
from kube.install import hooks, staging
from kube.install import pipeline as install
from kube.lint import files as lint_files
from kube.lint import rules

DOC = Path(__file__).parent.parent / "docs" / "format.md"
TEXT = DOC.read_text(encoding="utf-8")

# Lint hints and other documents link to these; renaming one breaks their links.
ANCHORS = [
    "k3-yaml",
    "k3-keys",
    "key-name",
    "key-version",
    "key-home",
    "key-description",
    "key-maintainers",
    "key-dependencies",
    "key-details",
    "key-keywords",
    "key-values",
    "yaml",
    "versions",
    "ranges",
    "range-forms",
    "partial-versions",
    "prereleases",
    "range-syntax",
    "manifests",
    "templates",
    "hook",
    "tests",
    "limits",
    "layout",
    "key-hook",
    "key-lint",
    "lint-ignore",
    "hook-requirements",
]

PROBES = [
    Version(major, minor, patch, pre)
    for major in (0, 1, 2, 3)
    for minor in (0, 1, 2, 3, 4, 9, 10, 11)
    for patch in (0, 1, 3, 4, 5)
    for pre in ((), (0,), ("rc", 1))
]


@pytest.mark.parametrize("anchor", ANCHORS)
def test_the_stable_anchors_exist(anchor: str) -> None:
    assert f'<a id="{anchor}"></a>' in TEXT


def test_every_internal_link_has_its_anchor() -> None:
    for target in re.findall(r"\]\(#([\w-]+)\)", TEXT):
        assert f'<a id="{target}"></a>' in TEXT, target


def _table(heading: str) -> list[tuple[str, str]]:
    """The two first cells of each row of the table under ``### heading``."""
    section = TEXT.split(f"### {heading}\n", 1)[1].split("\n#", 1)[0]
    rows = [line.split(" | ") for line in section.splitlines() if line.startswith("| `")]
    return [(row[0].removeprefix("| "), row[1].removesuffix(" |")) for row in rows]


def _code(cell: str) -> list[str]:
    return re.findall(r"`([^`]*)`", cell.replace("\\|", "|"))


def _same(a: VersionRange, b: VersionRange) -> bool:
    return [v for v in PROBES if a.contains(v)] == [v for v in PROBES if b.contains(v)]


@pytest.mark.parametrize(("ranges", "meaning"), _table("Forms") + _table("Partial versions"))
def test_the_range_tables_say_what_the_code_does(ranges: str, meaning: str) -> None:
    # A row's ranges all mean the first comparator form its second cell shows, if it shows one.
    forms = [code for code in _code(meaning) if code[:1] in "<>" and re.search(r"\d", code)]
    for text in _code(ranges):
        if text == "A || B":
            continue
        parsed = VersionRange.parse(text)
        if forms:
            assert _same(parsed, VersionRange.parse(forms[0])), (text, forms[0])
        elif "exactly" in meaning:
            assert [v for v in PROBES if v in parsed] == [Version.parse(text.lstrip("="))]
        elif "any version" in meaning:
            assert all(v in parsed for v in PROBES if not v.prerelease)


def test_the_tables_are_read() -> None:
    assert len(_table("Forms")) == 10
    assert len(_table("Partial versions")) == 8


def test_the_partial_version_examples_hold() -> None:
    r = VersionRange.parse("1.9 < x <= 1.10")
    assert [str(v) for v in map(Version.parse, ("1.10.0", "1.10.1")) if v in r] == ["1.10.0", "1.10.1"]
    assert not any(Version.parse(v) in r for v in ("1.9.5", "1.11.0"))
    exact = VersionRange.parse("1.9.0 < x <= 1.10.0")
    assert Version.parse("1.9.1") in exact and Version.parse("1.10.1") not in exact


def _limit(label: str) -> str:
    section = TEXT.split('<a id="limits"></a>', 1)[1]
    match = re.search(rf"^\| {re.escape(label)} \| ([^|]*) \|$", section, re.M)
    assert match, label
    return match.group(1)


MIB = 1024 * 1024


@pytest.mark.parametrize(
    ("label", "written"),
    [
        ("K3.yaml", f"{formula.K3_LIMIT // 1024} KiB"),
        ("any file of a formula, for `kube lint`", f"{lint_files.SIZE_LIMIT // MIB} MiB (`file-too-large`)"),
        ("a manifest or template file", f"{render.MANIFEST_LIMIT // MIB} MiB"),
        ("files in a formula", f"{formula.MAX_FILES:,} (`formula-size`)"),
        ("all files of a formula together", f"{render.FORMULA_LIMIT // MIB} MiB (`file-too-large`)"),
        ("a formula copied for the hook", f"{staging.STAGE_LIMIT // MIB} MiB"),
        ("a range", f"{versions.MAX_TEXT} characters"),
        ("YAML aliases", f"{yamlsafe.MAX_EXTRA_NODES:,} extra nodes per document"),
        ("YAML nesting", f"{yamlsafe.MAX_DEPTH} levels"),
        ("YAML numbers", f"{yamlsafe.MAX_NUMBER} characters"),
        ("a template's output, and any string it builds", f"{templating.OUTPUT_LIMIT // MIB} MiB"),
        ("the hook", f"{install.InstallOptions.hook_timeout:g} seconds (`--hook-timeout`)"),
        ("the hook's `KUBE_VALUES_OUT`", f"{hooks.VALUES_OUT_LIMIT // MIB} MiB"),
        ("a `--values` file", f"{values.VALUES_FILE_LIMIT // MIB} MiB"),
    ],
)
def test_the_limits_are_the_code_s(label: str, written: str) -> None:
    assert _limit(label) == written


def test_the_template_loop_limits_are_the_code_s() -> None:
    assert _limit("a template's loops").startswith(f"{templating.TIME_LIMIT:g} seconds")


# -- keys, rules and examples --------------------------------------------------------------------


@pytest.mark.parametrize("key", formula.KNOWN_KEYS)
def test_every_k3_key_has_a_row(key: str) -> None:
    assert f'| <a id="key-{key}"></a>`{key}` |' in TEXT


def _section(anchor: str) -> str:
    return TEXT.split(f'<a id="{anchor}"></a>', 1)[1].split("\n<a id=", 1)[0]


def test_the_hook_and_lint_rows_name_their_fields() -> None:
    hook_row = next(line for line in TEXT.splitlines() if '<a id="key-hook"></a>' in line)
    lint_row = next(line for line in TEXT.splitlines() if '<a id="key-lint"></a>' in line)
    assert all(f"`{key}`" in hook_row for key in formula.HOOK_KEYS)
    assert all(f"`{key}`" in lint_row for key in formula.IGNORE_KEYS)


@pytest.mark.parametrize("rule_id", sorted(rules.ALL_RULES))
def test_every_hint_links_a_section_that_exists(rule_id: str) -> None:
    hint = rules.ALL_RULES[rule_id].hint
    assert "FORMAT.md" not in hint, "the repository has docs/format.md, not FORMAT.md"
    anchor = rules.doc_anchor(rule_id)
    if anchor is not None:
        assert hint.endswith(f"; see {rules.FORMAT_DOC}#{anchor}")
        assert f'<a id="{anchor}"></a>' in TEXT, anchor


def test_the_hint_families_point_where_the_issue_says() -> None:
    expected = {
        "k3-range": "ranges",
        "k3-range-empty": "ranges",
        "k3-required": "k3-keys",
        "k3-unknown-key": "k3-keys",
        "k3-version": "versions",
        "template-render": "templates",
        "template-undefined": "templates",
        "script-compile": "hook",
        "hook-requirement": "hook",
        "test-kind": "tests",
        "manifest-schema": "manifests",
        "file-too-large": "limits",
        "formula-size": "limits",
    }
    assert {rule_id: rules.doc_anchor(rule_id) for rule_id in expected} == expected


def test_every_rule_the_page_names_is_a_rule_of_kube() -> None:
    # rule ids are written in parentheses: (`k3-range`), (`hook-requirement`, `hook-without-script`)
    groups = re.findall(r"\((`[^)]*`)\)", TEXT)
    named = {r for group in groups for r in re.findall(r"`([a-z][a-z0-9]*(?:-[a-z0-9]+)+)`", group)}
    assert named - set(rules.ALL_RULES) == set()
    assert {"hook-requirement", "hook-without-script", "k3-lint", "lint-ignore-unused"} <= named


def _yaml_example(anchor: str) -> str:
    return _section(anchor).split("```yaml\n", 1)[1].split("```", 1)[0]


def _with_example(tmp_path: Path, block: str) -> formula.Formula:
    directory = tmp_path / "ponycorn"
    (directory / "scripts").mkdir(parents=True)
    head = (
        'name: ponycorn\nversion: "1.0.0"\nhome: https://example.com/p\ndescription: d\n'
        "maintainers:\n  - Jane Doe <jane@example.com>\n"
    )
    (directory / "K3.yaml").write_text(head + block, encoding="utf-8")
    for fast in (True, False):
        assert formula.load_formula(directory, fast=fast) == formula.load_formula(directory, fast=False)
    found, findings = formula.check_formula(directory)
    assert found is not None and findings == [], findings
    return found


def test_the_hook_example_loads_and_parses(tmp_path: Path) -> None:
    loaded = _with_example(tmp_path, _yaml_example("hook-requirements"))
    assert loaded.hook is not None and len(loaded.hook.requires) == 2
    assert hook_needs.problems(loaded.hook) == []


def test_the_lint_ignore_example_loads(tmp_path: Path) -> None:
    loaded = _with_example(tmp_path, _yaml_example("lint-ignore"))
    assert [(i.rule, i.file) for i in loaded.lint_ignores] == [
        ("manifest-hostpath", "manifests/daemonset.yaml")
    ]
