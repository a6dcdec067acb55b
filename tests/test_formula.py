"""Loading K3.yaml into a Formula, and listing a formula's files safely."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from kube.core.errors import FormulaError, NotFoundError
from kube.core.findings import Finding, Severity
from kube.formula.load import (
    Dependency,
    Formula,
    check_formula,
    formula_files,
    is_valid_name,
    load_formula,
    manifest_files,
)
from kube.formula.versions import Version, VersionRange
from tests.gitrepo import k3, write_tree

# The example of FORMAT.md (two comments shortened).
PONYCORN = """\
name: ponycorn                 # required; DNS-1123 label; equals the directory name
version: 1.0.3                 # required; SemVer 2.0.0, no leading 'v'; a string
home: http://github.com/technosophos/ponycorn   # required: project page, git repo or contact
description: The ponycorn server                  # required; a single line
maintainers:                   # required; at least one "Name <email-or-url>"
  - Matt Butcher <mbutcher@deis.com>
dependencies:                  # optional
  - name: nginx
    version: 1.9 < x <= 1.10   # a range, grammar below
details:                       # optional; multi-line
  This package provides the ponycorn server, which requires an existing nginx
  server to function correctly.
keywords: [web, demo]          # optional; used by search
values:                        # optional; defaults for template variables
  replicas: 1
"""

GOOD_HEAD = """\
name: ponycorn
version: "1.0.3"
home: https://example.com/ponycorn
description: The ponycorn server
maintainers:
  - Jane Doe <jane@example.com>
"""


def make(root: Path, k3_text: str | bytes, name: str = "ponycorn", **files: str | bytes) -> Path:
    directory = root / "formulas" / name
    write_tree(directory, {"K3.yaml": k3_text, **files})
    return directory


def messages(directory: Path, root: Path) -> list[str]:
    """Every finding as a user reads it, in order."""
    _, found = check_formula(directory, display_root=root)
    return [str(f) for f in found]


def load_errors(directory: Path, root: Path) -> list[str]:
    with pytest.raises(FormulaError) as caught:
        load_formula(directory, display_root=root)
    assert "\n" not in str(caught.value)
    return [str(f) for f in caught.value.findings]


# A good formula


def test_format_example_loads_into_a_frozen_formula(tmp_path: Path) -> None:
    directory = make(tmp_path, PONYCORN, **{"manifests/svc.yaml": "a: 1\n"})
    formula = load_formula(directory, display_root=tmp_path)
    assert formula == Formula(
        name="ponycorn",
        version=Version(1, 0, 3),
        home="http://github.com/technosophos/ponycorn",
        description="The ponycorn server",
        maintainers=("Matt Butcher <mbutcher@deis.com>",),
        dependencies=(Dependency("nginx", VersionRange.parse("1.9 < x <= 1.10"), 8),),
        details="This package provides the ponycorn server, which requires an existing nginx "
        "server to function correctly.",
        keywords=("web", "demo"),
        values={"replicas": 1},
        path=directory,
        warnings=(),
    )
    assert type(formula.values["replicas"]) is int
    assert formula.k3_path == directory / "K3.yaml"
    assert str(formula.dependencies[0].range) == "1.9 < x <= 1.10"
    with pytest.raises(AttributeError):
        formula.name = "other"  # type: ignore[misc]


def test_to_dict_is_json_ready(tmp_path: Path) -> None:
    formula = load_formula(make(tmp_path, PONYCORN))
    assert formula.to_dict()["dependencies"] == [{"name": "nginx", "version": "1.9 < x <= 1.10"}]
    assert formula.to_dict()["version"] == "1.0.3"


def test_optional_fields_default_to_empty(tmp_path: Path) -> None:
    formula = load_formula(make(tmp_path, k3("ponycorn")))
    assert (formula.dependencies, formula.details, formula.keywords, formula.values) == ((), "", (), {})


def test_dependency_without_a_version_accepts_any(tmp_path: Path) -> None:
    formula = load_formula(make(tmp_path, GOOD_HEAD + "dependencies:\n  - name: nginx\n"))
    assert formula.dependencies[0].range.contains(Version(99, 0, 0))


@pytest.mark.parametrize("written", ['""', "''", '"  "', "'*'"])
def test_an_empty_dependency_range_accepts_any_like_a_star(tmp_path: Path, written: str) -> None:
    text = GOOD_HEAD + f"dependencies:\n  - name: nginx\n    version: {written}\n"
    formula = load_formula(make(tmp_path, text))
    assert formula.dependencies[0].range.contains(Version(99, 0, 0))
    assert formula.dependencies[0].range.contains(Version(0, 0, 1))


def test_home_may_be_a_contact(tmp_path: Path) -> None:
    text = GOOD_HEAD.replace("https://example.com/ponycorn", "Ops Team <ops@example.com>")
    assert load_formula(make(tmp_path, text)).home == "Ops Team <ops@example.com>"


@pytest.mark.parametrize("home", ["file:///etc/passwd", "javascript:alert(1)", "example.com", "Jane"])
def test_home_must_be_a_web_or_git_url_or_a_contact(tmp_path: Path, home: str) -> None:
    text = GOOD_HEAD.replace("https://example.com/ponycorn", home)
    assert load_errors(make(tmp_path, text), tmp_path) == [
        'formulas/ponycorn/K3.yaml:3 home: expected a URL or contact like "https://example.com/x" or '
        f'"Jane <jane@example.com>", got "{home}"'
    ]


# The examples of the issue and FORMAT.md


def test_range_error_reads_like_the_format_example(tmp_path: Path) -> None:
    directory = make(tmp_path, GOOD_HEAD + "dependencies:\n  - {name: nginx, version: latest}\n")
    assert load_errors(directory, tmp_path) == [
        'formulas/ponycorn/K3.yaml:8 dependencies[0].version: expected a range like "1.9 < x <= 1.10" '
        'or ">=1.9, <2", got "latest"'
    ]


def test_unquoted_float_version_says_to_quote_it(tmp_path: Path) -> None:
    directory = make(tmp_path, GOOD_HEAD.replace('version: "1.0.3"', "version: 1.10"))
    assert load_errors(directory, tmp_path) == [
        'formulas/ponycorn/K3.yaml:2 version: YAML reads 1.10 as the number 1.1; quote it: "1.10"'
    ]


def test_unquoted_number_in_a_dependency_range_says_to_quote_it(tmp_path: Path) -> None:
    directory = make(tmp_path, GOOD_HEAD + "dependencies:\n  - name: nginx\n    version: 1.10  # latest\n")
    assert load_errors(directory, tmp_path) == [
        "formulas/ponycorn/K3.yaml:9 dependencies[0].version: "
        'YAML reads 1.10 as the number 1.1; quote it: "1.10"'
    ]


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = """\
name: Ponycorn
version: v1.0
home: not a url
description: |
  two
  lines
maintainers:
  - bob
  - Jane Doe <jane@example.com>
dependencies:
  - name: nginx
    version: x > 2 < 1
  - nginx
  - name: nginx
keywords: web, demo
values: [1]
"""
    directory = make(tmp_path, text)
    k = "formulas/ponycorn/K3.yaml"
    assert load_errors(directory, tmp_path) == [
        f"{k}:1 name: \"Ponycorn\" is not a valid name (lowercase letters, digits and '-', at most 63)",
        f'{k}:2 version: expected a SemVer version like "1.2.3" or "1.0.0-rc.1", got "v1.0"',
        f'{k}:3 home: expected a URL or contact like "https://example.com/x" or "Jane <jane@example.com>", '
        'got "not a url"',
        f"{k}:4 description: must be a single line",
        f'{k}:8 maintainers[0]: expected "Name <email-or-url>", got "bob"',
        f'{k}:12 dependencies[0].version: no version can satisfy "x > 2 < 1"',
        f"{k}:13 dependencies[1]: expected a mapping with name and version, got a string",
        f'{k}:14 dependencies[2].name: "nginx" is already listed as dependencies[0]',
        f"{k}:15 keywords: expected a list like [web, demo], got a string",
        f"{k}:16 values: expected a mapping, got a list",
    ]


def test_missing_required_fields_are_each_reported(tmp_path: Path) -> None:
    directory = make(tmp_path, "details: only details\n")
    k = "formulas/ponycorn/K3.yaml"
    assert load_errors(directory, tmp_path) == [
        f"{k}:1 name: is required",
        f"{k}:1 version: is required",
        f"{k}:1 home: is required",
        f"{k}:1 description: is required",
        f'{k}:1 maintainers: needs at least one "Name <email-or-url>"',
    ]


def test_empty_and_non_mapping_k3_are_errors(tmp_path: Path) -> None:
    directory = make(tmp_path, "# nothing yet\n")
    assert messages(directory, tmp_path) == [
        "formulas/ponycorn/K3.yaml expected a mapping with name, version, home, description, maintainers; "
        "got nothing"
    ]
    directory = make(tmp_path, "- name: ponycorn\n")
    assert messages(directory, tmp_path) == [
        "formulas/ponycorn/K3.yaml:1 expected a mapping with name, version, home, description, maintainers; "
        "got a list"
    ]


def test_name_must_match_the_directory(tmp_path: Path) -> None:
    directory = make(tmp_path, k3("other"))
    assert load_errors(directory, tmp_path) == [
        'formulas/ponycorn/K3.yaml:1 name: "other" does not match the directory name "ponycorn"'
    ]


def test_empty_maintainers_and_wrong_types(tmp_path: Path) -> None:
    text = GOOD_HEAD.replace("maintainers:\n  - Jane Doe <jane@example.com>\n", "maintainers: []\n")
    directory = make(tmp_path, text + "details: [a]\nkeywords: [web, 2]\n")
    k = "formulas/ponycorn/K3.yaml"
    assert load_errors(directory, tmp_path) == [
        f'{k}:5 maintainers: needs at least one "Name <email-or-url>"',
        f"{k}:6 details: expected a string, got a list",
        f'{k}:7 keywords[1]: YAML reads 2 as the number 2; quote it: "2"',
    ]


def test_dependency_on_itself_and_bad_dependency_names(tmp_path: Path) -> None:
    text = GOOD_HEAD + "dependencies:\n  - name: ponycorn\n  - name: Bad_Name\n    version: '>=1'\n"
    assert load_errors(make(tmp_path, text), tmp_path) == [
        "formulas/ponycorn/K3.yaml:8 dependencies[0].name: a formula cannot depend on itself",
        'formulas/ponycorn/K3.yaml:9 dependencies[1].name: "Bad_Name" is not a valid formula name',
    ]


def test_values_named_kube_are_reserved_for_templates(tmp_path: Path) -> None:
    directory = make(tmp_path, GOOD_HEAD + "values:\n  replicas: 1\n  kube: {x: 1}\n")
    assert load_errors(directory, tmp_path) == [
        'formulas/ponycorn/K3.yaml:9 values.kube: "kube" is reserved for the templates\' own kube object'
    ]


# Warnings


def test_unknown_keys_are_warnings_with_a_suggestion(tmp_path: Path) -> None:
    text = GOOD_HEAD + "mantainers: x\nhomepage: y\ndependencies:\n  - name: nginx\n    optional: true\n"
    directory = make(tmp_path, text)
    formula = load_formula(directory, display_root=tmp_path)
    assert [str(w) for w in formula.warnings] == [
        'formulas/ponycorn/K3.yaml:7 mantainers: unknown key; did you mean "maintainers"?',
        'formulas/ponycorn/K3.yaml:8 homepage: unknown key; did you mean "home"?',
        "formulas/ponycorn/K3.yaml:11 dependencies[0].optional: unknown key",
    ]
    assert all(w.severity is Severity.WARNING and w.rule == "k3-unknown-key" for w in formula.warnings)


def test_odd_unknown_keys_are_quoted_so_the_finding_stays_one_line(tmp_path: Path) -> None:
    formula = load_formula(make(tmp_path, GOOD_HEAD + '"bad\\nkey\\e": 1\n'), display_root=tmp_path)
    assert [str(w) for w in formula.warnings] == [
        'formulas/ponycorn/K3.yaml:7 "bad\\nkey\\u001b": unknown key'
    ]


def test_escape_sequences_in_description_load_with_a_warning(tmp_path: Path) -> None:
    text = GOOD_HEAD.replace("The ponycorn server", '"The \\e[31mponycorn\\e[0m server\\a"')
    formula = load_formula(make(tmp_path, text), display_root=tmp_path)
    assert formula.description == "The \x1b[31mponycorn\x1b[0m server\x07"
    assert [str(w) for w in formula.warnings] == [
        "formulas/ponycorn/K3.yaml:4 description: contains control characters"
    ]


# Hostile K3.yaml files


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("name: again\n", 'formulas/ponycorn/K3.yaml:7 duplicate key "name" (first on line 1)'),
        (
            "values: !!python/object/apply:os.system [true]\n",
            'formulas/ponycorn/K3.yaml:7 tag "!!python/object/apply:os.system" is not allowed; '
            "use plain YAML values",
        ),
    ],
)
def test_hostile_yaml_becomes_one_finding(tmp_path: Path, extra: str, expected: str) -> None:
    assert load_errors(make(tmp_path, GOOD_HEAD + extra), tmp_path) == [expected]


def test_alias_bomb_in_k3_fails_fast(tmp_path: Path) -> None:
    lines = ['values:\n  a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"  {name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    directory = make(tmp_path, GOOD_HEAD + "\n".join(lines) + "\n")
    started = time.monotonic()
    errors = load_errors(directory, tmp_path)
    assert time.monotonic() - started < 2
    assert errors == [
        "formulas/ponycorn/K3.yaml:1 aliases expand to over 100000 extra nodes; "
        "reuse anchors less (alias bomb?)"
    ]


def test_50_mb_k3_fails_fast(tmp_path: Path) -> None:
    directory = make(tmp_path, GOOD_HEAD)
    with (directory / "K3.yaml").open("ab") as handle:
        handle.truncate(50 * 1024 * 1024)
    started = time.monotonic()
    assert load_errors(directory, tmp_path) == [
        "formulas/ponycorn/K3.yaml is 50.0 MiB, over the 256 KiB limit"
    ]
    assert time.monotonic() - started < 1


def test_non_utf8_k3_names_the_line(tmp_path: Path) -> None:
    directory = make(tmp_path, GOOD_HEAD.encode() + b"details: \xff\xfe\n")
    assert load_errors(directory, tmp_path) == ["formulas/ponycorn/K3.yaml:7 is not UTF-8 text (byte 0xff)"]


def test_missing_k3_is_an_error(tmp_path: Path) -> None:
    directory = tmp_path / "formulas" / "ponycorn"
    write_tree(directory, {"manifests/a.yaml": "a: 1\n"})
    assert load_errors(directory, tmp_path) == ["formulas/ponycorn/K3.yaml does not exist"]


def test_k3_symlink_is_refused_even_inside_the_formula(tmp_path: Path) -> None:
    directory = make(tmp_path, GOOD_HEAD, name="ponycorn")
    (directory / "real.yaml").write_text(GOOD_HEAD)
    (directory / "K3.yaml").unlink()
    (directory / "K3.yaml").symlink_to("real.yaml")
    assert load_errors(directory, tmp_path) == [
        "formulas/ponycorn/K3.yaml is a symbolic link; only regular files are allowed"
    ]


@pytest.mark.parametrize("name", ["..", "Bad_Name", "-x", "a" * 64])
def test_directory_with_an_invalid_name_is_refused(tmp_path: Path, name: str) -> None:
    (tmp_path / "formulas" / "sub").mkdir(parents=True)
    directory = tmp_path / "formulas" / "sub" / name if name == ".." else tmp_path / "formulas" / name
    directory.mkdir(exist_ok=True)
    with pytest.raises(FormulaError) as caught:
        load_formula(directory)
    (finding,) = caught.value.findings
    assert finding.rule == "formula-name"
    shown = name if len(name) <= 60 else name[:57] + "..."
    assert (
        finding.message
        == f"directory name \"{shown}\" is not a formula name (lowercase letters, digits, '-')"
    )


def test_dot_means_the_current_directory_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    directory = make(tmp_path, GOOD_HEAD)
    monkeypatch.chdir(directory)
    assert load_formula(Path(".")).name == "ponycorn"


def test_missing_directory_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match=r"formula directory .*ponycorn does not exist"):
        load_formula(tmp_path / "ponycorn")


def test_symlinked_formula_directory_is_refused(tmp_path: Path) -> None:
    real = make(tmp_path, GOOD_HEAD)
    (tmp_path / "formulas" / "alias").symlink_to(real)
    with pytest.raises(FormulaError, match="formulas/alias is a symbolic link; a formula is a directory"):
        load_formula(tmp_path / "formulas" / "alias", display_root=tmp_path)


# The file tree


def test_formula_files_lists_regular_files_in_name_order(tmp_path: Path) -> None:
    directory = make(
        tmp_path,
        GOOD_HEAD,
        **{"manifests/b.yaml": "b", "manifests/a.yaml": "a", "README.md": "r", "scripts/pre-install.py": "p"},
    )
    write_tree(directory, {".git/config": "skipped"})
    rel = [p.relative_to(directory).as_posix() for p in formula_files(directory)]
    assert rel == ["K3.yaml", "README.md", "manifests/a.yaml", "manifests/b.yaml", "scripts/pre-install.py"]


def test_manifest_files_takes_only_manifest_types_directly_in_manifests(tmp_path: Path) -> None:
    directory = make(
        tmp_path,
        GOOD_HEAD,
        **{
            "manifests/2.json": "{}",
            "manifests/1.yaml.tmpl": "a",
            "manifests/0.yml": "a",
            "manifests/notes.txt": "n",
            "manifests/sub/deep.yaml": "d",
            "tests/t.yaml": "t",
        },
    )
    assert [p.name for p in manifest_files(directory)] == ["0.yml", "1.yaml.tmpl", "2.json"]
    assert manifest_files(make(tmp_path, GOOD_HEAD, name="bare")) == []


def tree_errors(directory: Path, root: Path) -> list[Finding]:
    with pytest.raises(FormulaError) as caught:
        formula_files(directory, display_root=root)
    return list(caught.value.findings)


def test_symlink_out_of_the_formula_is_refused(tmp_path: Path) -> None:
    directory = make(tmp_path, GOOD_HEAD, **{"manifests/a.yaml": "a"})
    (directory / "manifests" / "passwd.yaml").symlink_to("/etc/passwd")
    (finding,) = tree_errors(directory, tmp_path)
    assert str(finding) == (
        'formulas/ponycorn/manifests/passwd.yaml is a symbolic link (to "/etc/passwd"); '
        "formulas hold only regular files"
    )
    assert finding.rule == "formula-symlink"
    with pytest.raises(FormulaError):
        manifest_files(directory)


def test_symlink_pointing_inside_is_refused_too(tmp_path: Path) -> None:
    directory = make(tmp_path, GOOD_HEAD, **{"manifests/a.yaml": "a"})
    (directory / "manifests" / "b.yaml").symlink_to("a.yaml")
    (directory / "linked").symlink_to("manifests")
    assert [f.path for f in tree_errors(directory, tmp_path)] == [
        "formulas/ponycorn/linked",
        "formulas/ponycorn/manifests/b.yaml",
    ]


def test_fifo_and_dotdot_names_are_refused_and_reported_together(tmp_path: Path) -> None:
    directory = make(tmp_path, GOOD_HEAD, **{"manifests/x..yaml": "a", "manifests/bad\x1bname.yaml": "b"})
    os.mkfifo(directory / "pipe")
    assert [str(f) for f in tree_errors(directory, tmp_path)] == [
        "formulas/ponycorn/manifests/bad\\u001bname.yaml has a file name not allowed in a formula",
        "formulas/ponycorn/manifests/x..yaml has a file name not allowed in a formula",
        "formulas/ponycorn/pipe is not a regular file (a device, FIFO or socket); "
        "formulas hold only regular files",
    ]


def test_check_formula_gives_the_formula_and_tree_findings(tmp_path: Path) -> None:
    directory = make(tmp_path, GOOD_HEAD + "extra: 1\n")
    formula, found = check_formula(directory, display_root=tmp_path)
    assert formula is not None
    assert [str(f) for f in found] == ["formulas/ponycorn/K3.yaml:7 extra: unknown key"]
    (directory / "evil").symlink_to("/")
    formula, found = check_formula(directory, display_root=tmp_path)
    assert formula is None
    assert [f.rule for f in found] == ["k3-unknown-key", "formula-symlink"]


def test_load_formula_does_not_walk_the_tree(tmp_path: Path) -> None:
    directory = make(tmp_path, GOOD_HEAD)
    (directory / "evil").symlink_to("/")
    assert load_formula(directory).name == "ponycorn"


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("a", True),
        ("nginx-standard", True),
        ("0ab", True),
        ("a" * 63, True),
        ("a" * 64, False),
        ("-a", False),
        ("a-", False),
        ("A", False),
        ("a_b", False),
        ("a.b", False),
        ("", False),
        ("a\n", False),
        ("..", False),
    ],
)
def test_is_valid_name_is_a_dns_1123_label(name: str, valid: bool) -> None:
    assert is_valid_name(name) is valid
