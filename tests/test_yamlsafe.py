"""Strict YAML: what a hostile or careless file gets back is one finding with a line."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from kube.core.errors import FormulaError
from kube.core.findings import Finding
from kube.formula.yaml_strict import MAX_DEPTH, line_of, load_all, load_one, read_capped, to_plain

LIMIT = 256 * 1024


def only_finding(excinfo: pytest.ExceptionInfo[FormulaError]) -> Finding:
    (finding,) = excinfo.value.findings
    assert str(excinfo.value) == str(finding)
    assert "\n" not in str(excinfo.value)
    return finding


def load_error(text: str) -> Finding:
    with pytest.raises(FormulaError) as caught:
        load_one(text, source="f.yaml")
    return only_finding(caught)


# read_capped


def test_read_capped_returns_text_without_a_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "K3.yaml"
    path.write_bytes("\ufeffname: caf\u00e9\n".encode())
    assert read_capped(path, limit=LIMIT, display="x/K3.yaml") == "name: caf\u00e9\n"


def test_read_capped_refuses_a_50_mb_file_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "K3.yaml"
    with path.open("wb") as handle:  # sparse: fast to make, and reading it would be slow
        handle.truncate(50 * 1024 * 1024)
    started = time.monotonic()
    with pytest.raises(FormulaError) as caught:
        read_capped(path, limit=LIMIT, display="formulas/big/K3.yaml")
    assert time.monotonic() - started < 1
    finding = only_finding(caught)
    assert str(finding) == "formulas/big/K3.yaml is 50.0 MiB, over the 256 KiB limit"
    assert finding.rule == "file-size"


def test_read_capped_names_the_line_of_the_first_byte_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "K3.yaml"
    path.write_bytes(b"name: x\nversion: '1.0.0'\ndescription: caf\xe9\n")
    with pytest.raises(FormulaError) as caught:
        read_capped(path, limit=LIMIT, display="f/K3.yaml")
    finding = only_finding(caught)
    assert str(finding) == "f/K3.yaml:3 is not UTF-8 text (byte 0xe9)"
    assert finding.rule == "file-encoding"


def test_read_capped_refuses_a_symlink_even_to_a_good_file(tmp_path: Path) -> None:
    target = tmp_path / "real.yaml"
    target.write_text("a: 1\n")
    (tmp_path / "K3.yaml").symlink_to(target)
    with pytest.raises(FormulaError) as caught:
        read_capped(tmp_path / "K3.yaml", limit=LIMIT, display="f/K3.yaml")
    assert str(only_finding(caught)) == "f/K3.yaml is a symbolic link; only regular files are allowed"


def test_read_capped_refuses_a_fifo_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "K3.yaml"
    os.mkfifo(fifo)
    with pytest.raises(FormulaError) as caught:
        read_capped(fifo, limit=LIMIT, display="f/K3.yaml")
    assert str(only_finding(caught)) == "f/K3.yaml is not a regular file"


def test_read_capped_reports_missing_files_and_directories(tmp_path: Path) -> None:
    with pytest.raises(FormulaError) as caught:
        read_capped(tmp_path / "nope.yaml", limit=LIMIT, display="f/nope.yaml")
    assert str(only_finding(caught)) == "f/nope.yaml does not exist"
    with pytest.raises(FormulaError) as caught:
        read_capped(tmp_path, limit=LIMIT, display="f")
    assert str(only_finding(caught)) == "f is not a regular file"


# load_one / load_all: hostile documents


def test_duplicate_key_names_both_lines() -> None:
    finding = load_error("name: a\nversion: '1'\nname: b\n")
    assert str(finding) == 'f.yaml:3 duplicate key "name" (first on line 1)'
    assert finding.rule == "yaml-duplicate-key"


def test_duplicate_key_in_a_nested_mapping_is_found() -> None:
    finding = load_error("values:\n  a: 1\n  b: 2\n  a: 3\n")
    assert str(finding) == 'f.yaml:4 duplicate key "a" (first on line 2)'


def test_duplicate_keys_written_differently_are_still_refused() -> None:
    assert str(load_error("1: a\n0x1: b\n")) == 'f.yaml:2 duplicate key "1"'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "a: !!python/object/apply:os.system [echo hi]\n",
            'tag "!!python/object/apply:os.system" is not allowed',
        ),
        ("a: !!python/object:os.system x\n", 'tag "!!python/object:os.system" is not allowed'),
        ("a: !foo x\n", 'tag "!foo" is not allowed'),
        ("a: !!binary aGVsbG8=\n", 'tag "!!binary" is not allowed'),
        ("a: !!timestamp 2001-12-14\n", 'tag "!!timestamp" is not allowed'),
        ("a: !!set {x: null}\n", 'tag "!!set" is not allowed'),
        ("%TAG !e! tag:example.com,2000:\n---\na: !e!x 1\n", 'tag "!e!x" is not allowed'),
    ],
)
def test_custom_tags_are_refused(text: str, message: str) -> None:
    finding = load_error(text)
    assert finding.message == f"{message}; use plain YAML values"
    assert finding.line == text.count("\n", 0, text.index("a:")) + 1
    assert finding.rule == "yaml-tag"


def test_core_tags_give_plain_values() -> None:
    doc = load_one(
        "a: !!str 1.10\nb: !!int '12'\nc: !!float 1\nd: !!map {x: 1}\ne: !!seq [1]\nf: ! 7\n", source="f"
    )
    plain = to_plain(doc)
    assert plain == {"a": "1.10", "b": 12, "c": 1.0, "d": {"x": 1}, "e": [1], "f": 7}
    assert [type(v) for v in plain.values()] == [str, int, float, dict, list, int]


def test_a_core_tag_that_does_not_fit_its_value_is_refused_with_its_line() -> None:
    assert str(load_error("a: 1\nb: !!int abc\n")) == 'f.yaml:2 "abc" is not a valid !!int'
    assert str(load_error("a: !!seq x\n")) == 'f.yaml:1 "x" is not a valid !!seq'


def test_billion_laughs_fails_fast_with_a_clear_error() -> None:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    started = time.monotonic()
    finding = load_error("\n".join(lines) + "\n")
    assert time.monotonic() - started < 2
    assert str(finding) == (
        "f.yaml:1 aliases expand to over 100000 extra nodes; reuse anchors less (alias bomb?)"
    )
    assert finding.rule == "yaml-alias"


def test_moderate_anchor_reuse_is_fine() -> None:
    doc = load_one("base: &b {cpu: 1, mem: 2}\nx: *b\ny:\n  <<: *b\n  cpu: 3\n", source="f")
    assert to_plain(doc) == {
        "base": {"cpu": 1, "mem": 2},
        "x": {"cpu": 1, "mem": 2},
        "y": {"cpu": 3, "mem": 2},
    }


def test_an_alias_inside_its_own_anchor_is_refused() -> None:
    assert str(load_error("a: 1\nb: &x [1, *x]\n")) == "f.yaml:2 an alias refers to itself"


def test_deep_nesting_is_refused_not_a_recursion_error() -> None:
    finding = load_error("a: " + "[" * 5000 + "]" * 5000 + "\n")
    assert finding.message == f"nested deeper than {MAX_DEPTH} levels"
    assert finding.rule == "yaml-depth"


def test_nesting_built_from_aliases_counts_toward_the_depth() -> None:
    lines = ["a0: &a0 1"]
    for i in range(1, 5):
        lines.append(f"a{i}: &a{i} " + "[" * 40 + f"*a{i - 1}" + "]" * 40)
    finding = load_error("\n".join(lines) + "\n")
    assert finding.message == f"nested deeper than {MAX_DEPTH} levels (counting what aliases expand to)"


def test_yaml_1_1_directive_is_refused() -> None:
    finding = load_error("%YAML 1.1\n---\na: yes\n")
    assert str(finding) == "f.yaml:2 %YAML 1.1 is not supported; only YAML 1.2 is accepted"


def test_scalars_follow_yaml_1_2_not_1_1() -> None:
    doc = load_one(
        "a: yes\nb: on\nc: 0777\nd: 0o17\ne: 2001-12-14\nf: 1.10\ng: ~\nh: =\ni: <<\nj: 1_000\n", source="f"
    )
    assert to_plain(doc) == {
        "a": "yes",
        "b": "on",
        "c": 777,
        "d": 15,
        "e": "2001-12-14",
        "f": 1.1,
        "g": None,
        "h": "=",
        "i": "<<",
        "j": "1_000",  # YAML 1.2's core schema has no digit separators
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: b: c\n", "f.yaml:1 invalid YAML: mapping values are not allowed here"),
        (
            "a:\n  b: [1, 2\n",
            "f.yaml:3 invalid YAML: while parsing a flow sequence, "
            "expected ',' or ']', but got '<stream end>'",
        ),
        ("a: *nope\n", "f.yaml:1 invalid YAML: found undefined alias 'nope'"),
        (
            "a: 1\n---\nb: 2\n",
            "f.yaml:2 invalid YAML: expected a single document in the stream, but found another document",
        ),
        ("a: \x00\n", "f.yaml:1 character U+0000 is not allowed in YAML"),
        ("? [a, b]\n: 1\n", "f.yaml:1 mapping keys must be plain values"),
    ],
)
def test_syntax_errors_are_one_line_with_the_line_number(text: str, expected: str) -> None:
    assert str(load_error(text)) == expected


def test_load_all_keeps_empty_documents_and_counts_lines_across_them() -> None:
    docs = load_all("a: 1\n---\n---\nb:\n  - x\n", source="m.yaml")
    assert [to_plain(d) for d in docs] == [{"a": 1}, None, {"b": ["x"]}]
    assert line_of(docs[2], "b") == 4
    with pytest.raises(FormulaError) as caught:
        load_all("a: 1\n---\nb: 1\nb: 2\n", source="m.yaml")
    assert str(only_finding(caught)) == 'm.yaml:4 duplicate key "b" (first on line 3)'


def test_number_like_text_without_digits_is_a_string() -> None:
    assert to_plain(load_one("a: -_\nb: +_\n", source="f")) == {"a": "-_", "b": "+_"}


def test_overlong_numbers_are_refused_before_conversion() -> None:
    finding = load_error("a: 1\nb: " + "9" * 5000 + "\n")
    assert str(finding) == "f.yaml:2 a number longer than 100 characters"


def test_empty_text_is_none() -> None:
    assert load_one("", source="f") is None
    assert load_one("# only a comment\n", source="f") is None


# line_of / to_plain


def test_line_of_finds_keys_items_and_nodes() -> None:
    doc: Any = load_one("a: 1\nb:\n  c: 2\nlist:\n  - x\n  - y\n", source="f")
    assert line_of(doc) == 1
    assert line_of(doc, "b") == 2
    assert line_of(doc["b"], "c") == 3
    assert line_of(doc["list"], 1) == 6
    assert line_of(doc, "missing") == 1
    assert line_of("plain text") == 0


def test_to_plain_leaves_no_ruamel_types() -> None:
    doc = load_one("a: 0x10\nb: 1.5\nc: true\nd: 'q'\ne: [1, {f: null}]\n", source="f")
    plain = to_plain(doc)
    assert plain == {"a": 16, "b": 1.5, "c": True, "d": "q", "e": [1, {"f": None}]}

    def types(value: Any) -> set[type]:
        if isinstance(value, dict):
            return {dict}.union(*(types(v) for v in value.values()))
        if isinstance(value, list):
            return {list}.union(*(types(v) for v in value))
        return {type(value)}

    assert types(plain) <= {dict, list, int, float, bool, str, type(None)}


def test_importing_the_formula_modules_does_not_import_ruamel() -> None:
    code = "import sys, kube.formula.yaml_strict, kube.formula.load; print('ruamel.yaml' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
