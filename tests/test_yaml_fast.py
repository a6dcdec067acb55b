"""Rendered manifests are read with libyaml when that is exact: ``load_all_plain`` must give what
the strict ruamel reader gives (data, document lines, findings), and ``resolve_plain`` must type
every plain scalar as ruamel's YAML 1.2 resolver does."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kube.core.errors import FormulaError
from kube.formula import yaml_strict
from kube.formula.yaml_strict import NeedStrictLoad, load_all_plain, resolve_plain

ROOT = Path(__file__).resolve().parent.parent
CORPUS = sorted(
    p
    for pattern in ("formulas/**/*.yaml", "formulas/**/*.yml", "tests/fixtures/**/*.yaml")
    for p in ROOT.glob(pattern)
)


def strict(text: str) -> object:
    """What the ruamel path gives: each document's plain data and line, or the finding."""
    try:
        nodes = yaml_strict.load_all(text, source="m.yaml")
    except FormulaError as exc:
        return ("error", str(exc))
    return [(yaml_strict.to_plain(n), yaml_strict.line_of(n) if hasattr(n, "lc") else 0) for n in nodes]


def plain(text: str) -> object:
    try:
        return load_all_plain(text, source="m.yaml")
    except FormulaError as exc:
        return ("error", str(exc))


def fast(text: str) -> list[tuple[Any, int]]:
    return yaml_strict._fast_documents(text, lines=False, many=True)


def test_the_scalar_rules_are_ruamels_yaml_1_2_table() -> None:
    from ruamel.yaml.resolver import implicit_resolvers

    def norm(pattern: str) -> str:
        return re.sub(r"\s+", " ", pattern)

    theirs = [
        (tag.removeprefix("tag:yaml.org,2002:"), norm(regexp.pattern), "".join(c or "\0" for c in first))
        for versions, tag, regexp, first in implicit_resolvers
        if (1, 2) in versions
    ]
    ours = [(name, norm(pattern), first) for name, pattern, first in yaml_strict._RULES_1_2]
    assert ours == theirs


SCALARS = [
    "yes", "no", "on", "off", "y", "n", "Yes", "NO", "true", "False", "TRUE", "tRue", "null", "Null",
    "NULL", "nULL", "~", "", "1.10", "1.0", "0o17", "0x1F", "017", "1_000", "0b101", "1e3", "1E3",
    ".5", "-.5", ".inf", "-.inf", "+.INF", ".nan", ".NaN", "+1", "-0", "12:30", "1:2:3", "2001-12-14",
    "2001-12-14t21:59:43.10-05:00", "=", "<<", "-_", "._", "+", "-", "1.0.0", ">=1.0", "café",
    "nginx:1.19", "100m", "64Mi", "v1", "apps/v1", "true-ish", "nullable", "0", "00", "-1", "1e",
    "e3", "0x", "0o", "0b", "!", "&", "*",
]  # fmt: skip


@pytest.mark.parametrize("value", SCALARS)
def test_plain_scalars_resolve_as_ruamel_does(value: str) -> None:
    from ruamel.yaml.nodes import ScalarNode

    resolver = yaml_strict._yaml_classes()[1]()
    assert resolve_plain(value) == str(resolver.resolve(ScalarNode, value, (True, False)))


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="0123456789abefnortuxyNTF.+-_:~=<eEiI o", max_size=12))
def test_generated_scalars_resolve_as_ruamel_does(value: str) -> None:
    from ruamel.yaml.nodes import ScalarNode

    resolver = yaml_strict._yaml_classes()[1]()
    assert resolve_plain(value) == str(resolver.resolve(ScalarNode, value, (True, False)))


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_manifest_of_the_repository_reads_the_same_and_fast(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert plain(text) == strict(text)
    try:
        fast(text)
    except NeedStrictLoad:
        pytest.skip("not for the fast path")


STREAMS = [
    "",
    "# only a comment\n",
    "---\n",
    "---\n---\n",
    "a: 1\n",
    "a: 1\n---\nb: 2\n",
    "---\na: 1\n...\n---\nb: 2\n...\n",
    "# head\n\n---\n# about a\napiVersion: v1\nkind: ConfigMap\n---\n\n\n  # indented comment\nkind: X\n",
    "- a\n- b\n---\njust text\n---\n'quoted'\n---\n~\n",
    "a: 1\n---\n---\nb: 2\n---\n",
    "--- a: 1\n",
    "--- [1, 2]\n--- {a: b}\n",
    "items:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: x}\n",
    "a: |\n  line\n  more\nb: >-\n  folded\n  text\nc: 'it''s'\nd: \"\\u00e9\\n\"\n",
    "a: 1\n---\nb: 2\nb: 3\n",
    "a: 1\n---\nb: &x 1\nc: *x\n",
    "a: 1\n---\n%YAML 1.1\n---\nb: 2\n",
    "a: 1\n---\nb: [unclosed\n",
    "a: 1\n---\nb: !!str 3\n",
    "a: 1\n---\nb: 0b11\n",
    "a: 1\n---\nb:\tc\n",
    "a: 1\n---\n? [x]\n: y\n",
    "a: {b: {c: {d: [1, 2, {e: f}]}}}\n",
    "a: 1" + "0" * 120 + "\n",
    'data:\n  appendonly: "no"\n  enabled: on\n  version: 1.10\n  hex: 0x1f\n  when: 2001-12-14\n',
]


@pytest.mark.parametrize("text", STREAMS, ids=range(len(STREAMS)))
def test_streams_read_the_same(text: str) -> None:
    assert plain(text) == strict(text)


def test_a_finding_in_a_later_document_keeps_its_line() -> None:
    text = "apiVersion: v1\nkind: ConfigMap\n---\napiVersion: v1\nkind: Secret\nkind: Secret\n"
    with pytest.raises(FormulaError) as caught:
        load_all_plain(text, source="manifests/app.yaml")
    [finding] = caught.value.findings
    assert (finding.path, finding.line, finding.rule) == ("manifests/app.yaml", 6, "yaml-duplicate-key")


def test_documents_carry_the_line_of_their_root() -> None:
    text = "# c\n---\napiVersion: v1\nkind: A\n---\n\n- x\n---\nscalar\n"
    assert [line for _, line in fast(text)] == [3, 7, 0]


scalar = st.one_of(
    st.sampled_from(SCALARS),
    st.text(alphabet="abcxyz019._-:#/ \u00e9", min_size=1, max_size=10).filter(lambda t: t.strip() == t),
)


@st.composite
def value(draw: st.DrawFn, depth: int = 0) -> str:
    """A YAML value written in block or flow style, as rendered manifests are."""
    kind = draw(st.sampled_from(["plain", "single", "double", "map", "list"] if depth < 3 else ["plain"]))
    text = draw(scalar)
    if kind == "plain":
        return (
            text if not text.startswith(("#", "- ", ":")) and ": " not in text and " #" not in text else "x"
        )
    if kind == "single":
        return "'" + text.replace("'", "''") + "'"
    if kind == "double":
        return json.dumps(text, ensure_ascii=False)
    if kind == "map":
        keys = draw(st.lists(st.sampled_from(["name", "kind", "data", "yes", "on", "1", "a b"]), unique=True))
        return "{" + ", ".join(f"{k}: {draw(value(depth + 1))}" for k in keys) + "}"
    return "[" + ", ".join(draw(st.lists(value(depth + 1), max_size=3))) + "]"


@st.composite
def stream(draw: st.DrawFn) -> str:
    docs = []
    for n in range(draw(st.integers(min_value=1, max_value=4))):
        lines = [f"apiVersion: {draw(value())}", f"kind: Kind{n}", "metadata:", f"  name: {draw(value())}"]
        if draw(st.booleans()):
            lines.append("data:")
            for key in draw(
                st.lists(st.sampled_from(["a", "b", "no", "null", "c.d"]), unique=True, max_size=3)
            ):
                lines.append(f"  {key}: {draw(value())}")
        if draw(st.booleans()):
            lines.append("items:")
            lines += [f"- {draw(value())}" for _ in range(draw(st.integers(min_value=0, max_value=2)))]
        if draw(st.booleans()):
            lines.insert(draw(st.integers(min_value=0, max_value=len(lines))), "# a comment")
        docs.append("\n".join(lines) + "\n")
    separator = draw(st.sampled_from(["---\n", "\n---\n", "---\n\n", "...\n---\n"]))
    return separator.join(docs)


@settings(max_examples=300, deadline=None)
@given(text=stream())
def test_generated_streams_read_the_same(text: str) -> None:
    assert plain(text) == strict(text)


def test_reading_plain_manifests_does_not_import_ruamel() -> None:
    code = (
        "import sys; from kube.formula import yaml_strict as y; "
        "docs = y.load_all_plain('a: 1\\nb: [x, 2, no]\\n---\\nc: ~\\n', source='m.yaml'); "
        "y.load_one_fast('name: demo\\nversion: 1.0.0\\n'); "
        "print(docs, 'ruamel.yaml' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[({'a': 1, 'b': ['x', 2, 'no']}, 1), ({'c': None}, 4)] False"
