"""``load_formula`` reads K3.yaml with libyaml when it can; the result must equal the ruamel path's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kube.core.errors import FormulaError
from kube.formula.load import _fast_fields, load_formula
from kube.formula.yaml_strict import NeedStrictLoad, load_one_fast

ROOT = Path(__file__).resolve().parent.parent
FORMULAS = sorted(p.parent for p in (ROOT / "formulas").glob("*/K3.yaml"))
FIXTURES = sorted(p.parent for p in (ROOT / "tests" / "fixtures").rglob("K3.yaml"))


def outcome(directory: Path, *, fast: bool) -> object:
    """All a caller sees: the Formula (with its values, which it does not compare) or the findings."""
    try:
        f = load_formula(directory, display_root=directory.parent, fast=fast)
    except FormulaError as exc:
        return ("error", str(exc), tuple(exc.findings))
    return ("ok", f, repr(f.to_dict()), f.warnings, [d.line for d in f.dependencies])


def same(directory: Path) -> None:
    assert outcome(directory, fast=True) == outcome(directory, fast=False)


def fast_used(directory: Path) -> bool:
    text = (directory / "K3.yaml").read_text(encoding="utf-8")
    return _fast_fields(text, "K3.yaml", directory.name) is not None


@pytest.mark.parametrize("directory", FORMULAS, ids=lambda p: p.name)
def test_every_formula_loads_the_same_and_fast(directory: Path) -> None:
    same(directory)
    assert fast_used(directory)


@pytest.mark.parametrize("directory", FIXTURES, ids=lambda p: str(p.relative_to(ROOT / "tests" / "fixtures")))
def test_every_fixture_loads_the_same(directory: Path) -> None:
    same(directory)


BASE = {
    "name": "demo",
    "version": '"1.0.0"',
    "home": "https://example.com/demo",
    "description": "The demo server",
    "maintainers": "[Jane Doe <jane@example.com>]",
}


def write(tmp_path: Path, text: str) -> Path:
    directory = tmp_path / "demo"
    directory.mkdir(exist_ok=True)
    (directory / "K3.yaml").write_text(text, encoding="utf-8")
    return directory


def doc(**fields: str) -> str:
    merged = {**BASE, **fields}
    return "".join(f"{k}: {v}\n" for k, v in merged.items() if v is not None)


TRICKY = [
    doc(),
    doc(version="1.10"),
    doc(version="1.0.0"),
    doc(description="no"),
    doc(description="on"),
    doc(description="yes"),
    doc(description="'no'"),
    doc(description="~"),
    doc(description="null"),
    doc(description='""'),
    doc(description="12:30"),
    doc(description="0o17"),
    doc(description="1_000"),
    doc(description="2001-12-14"),
    doc(description="'caf\u00e9 \u2603 \U0001f600'"),
    doc(description='"bell \\a here"'),
    doc(description='"tab\\there"'),
    doc(description="a\tb"),
    doc(description="a\u0085b"),
    doc(description="a\u2028b"),
    doc(keywords="[yes, no]"),
    doc(keywords="[on, off, y, n, ~]"),
    doc(keywords="[true]"),
    doc(keywords="web"),
    doc(keywords="\n  - yes\n  - '1.10'\n  - 0x1F"),
    doc(details="|\n  line one\n  line two\n\n  after a blank\n"),
    doc(details=">\n  folded one\n  folded two\n\n  para\n"),
    doc(details="plain that\n  goes on\n  over lines"),
    doc(details="|+\n  kept\n\n"),
    doc(details="|-\n  stripped\n"),
    doc(values="{a: 1, b: 0o17, c: 0x1F, d: 1_000, e: 1.10, f: 1e3, g: .5, h: .inf, i: ~, j: no, k: 12:30}"),
    doc(values="{a: 017, b: 0b101, c: -0, d: +1, e: 1., f: -_, g: =, h: 2001-12-14, i: '<<'}"),
    doc(values="\n  nested:\n    list: [1, two, 3.0, true, null]\n    deep: {x: {y: {z: 'q'}}}"),
    doc(values="{1: one}"),
    doc(values="{a: {1: one, null: x}}"),
    doc(values="{kube: 1}"),
    doc(values="{<<: {a: 1}}"),
    doc(values="{a: 1" + "0" * 120 + "}"),
    doc(values="[1, 2]"),
    doc(dependencies="\n  - name: nginx\n    version: 1.9 < x <= 1.10\n  - name: redis"),
    doc(dependencies="[{name: nginx, version: '>=1.0'}, {name: mysql}]"),
    doc(dependencies="\n  -\n    name: nginx\n    version: '1'"),
    doc(dependencies="[{name: nginx, extra: 1}]"),
    doc(dependencies="[nginx]"),
    doc(dependencies="[{name: demo}]"),
    doc(
        hook="\n  python: '>=3.9'\n  requires:\n    - cryptography>=41\n    - tomli; python_version < '3.11'"
    ),
    doc(hook="{python: '>=3.9', requires: [cryptography>=41, 'jinja2[i18n]>=3']}"),
    doc(hook="{python: 3.9, requires: [1, true, '']}"),
    doc(hook="{requires: cryptography}"),
    doc(hook="{require: [x], python: null}"),
    doc(hook="[cryptography]"),
    doc(hook="{}"),
    doc(home="!!str https://example.com/x"),
    doc(home="!!python/object:os.system x"),
    doc(home="!custom x"),
    doc(maintainers="!!seq [Jane Doe <jane@example.com>]"),
    doc(description="&a anchored") + "keywords: [*a]\n",
    doc(keywords="&k [a, b]"),
    doc(keywords="[*missing]"),
    doc() + "name: again\n",
    doc() + "'name': again\n",
    doc(values="{a: 1, a: 2}"),
    doc(values='{a: 1, "a": 2}'),
    doc(extra="1", descripton="typo"),
    "%YAML 1.1\n---\n" + doc(),
    "%TAG !e! tag:example.com,2000:\n---\n" + doc(),
    "---\n" + doc() + "...\n",
    doc() + "---\n" + doc(),
    "",
    "# nothing\n",
    "- a\n- b\n",
    "just text\n",
    doc().replace("\n", "\r\n"),
    doc(description="[unclosed"),
    doc(description="'a\n  b'"),
    doc(description="a: b"),
    doc(version="'1.0.0' # comment"),
    "\ufeff" + doc(),
    doc(description="x\ufeffy"),
]


@pytest.mark.parametrize("text", TRICKY, ids=range(len(TRICKY)))
def test_tricky_texts_load_the_same(tmp_path: Path, text: str) -> None:
    same(write(tmp_path, text))


def test_plain_documents_take_the_fast_path(tmp_path: Path) -> None:
    text = doc(
        keywords="[yes, no, on]",
        values="{a: 1, b: 0o17, c: 1.10, d: ~, e: no}",
        dependencies="[{name: nginx, version: '>=1.0'}]",
    )
    directory = write(tmp_path, text)
    assert fast_used(directory)
    formula = load_formula(directory)
    assert formula.keywords == ("yes", "no", "on")
    assert formula.values == {"a": 1, "b": 15, "c": 1.1, "d": None, "e": "no"}
    assert formula.dependencies[0].line == 8
    same(directory)


@pytest.mark.parametrize(
    "text",
    [
        "a: &x 1\n",
        "a: *x\n",
        "a: !!str b\n",
        "a: 1\na: 2\n",
        "%YAML 1.2\n---\na: 1\n",
        "a: 1\n---\nb: 2\n",
        "<<: {a: 1}\n",
        "a: .5\n",
        "a: [unclosed\n",
        "a:\tb\n",
        "? [a]\n: b\n",
    ],
)
def test_fast_loader_defers_when_unsure(text: str) -> None:
    with pytest.raises(NeedStrictLoad):
        load_one_fast(text)


def test_line_of_works_on_fast_documents() -> None:
    from kube.formula.yaml_strict import line_of

    loaded = load_one_fast("a: 1\nb:\n  - x\n  - y: 2\n")
    assert line_of(loaded, "b") == 2
    assert line_of(loaded["b"], 1) == 4
    assert line_of(loaded["b"][1], "y") == 4
    assert line_of({"plain": 1}, "plain") == 0


SPECIAL = [
    "yes", "no", "on", "off", "y", "n", "Yes", "NO", "true", "False", "TRUE", "null", "Null", "~", "",
    "1.10", "1.0", "0o17", "0x1F", "017", "1_000", "0b101", "1e3", ".5", ".inf", "-.inf", ".nan", "+1",
    "-0", "12:30", "1:2:3", "2001-12-14", "=", "<<", "-_", "1.0.0", ">=1.0", "café", "a b", "a#b", "x: y",
]  # fmt: skip

scalars = st.one_of(
    st.sampled_from(SPECIAL),
    st.text(alphabet="abcxyz019._-:#'\" \u00e9", min_size=0, max_size=8),
)


@st.composite
def rendered(draw: st.DrawFn, value: str | None = None) -> str:
    text = draw(scalars) if value is None else value
    style = draw(st.sampled_from(["plain", "single", "double"]))
    if style == "single":
        return "'" + text.replace("'", "''") + "'"
    if style == "double":
        return json.dumps(text, ensure_ascii=False)
    return text


@st.composite
def k3_documents(draw: st.DrawFn) -> str:
    lines = [
        "name: demo",
        f"version: {draw(rendered(draw(st.sampled_from(['1.0.0', '1.10', '2.0.0-rc.1']))))}",
    ]
    lines.append(f"home: {draw(rendered('https://example.com/demo'))}")
    lines.append(f"description: {draw(rendered())}")
    lines.append("maintainers:\n  - Jane Doe <jane@example.com>")
    if draw(st.booleans()):
        words = draw(st.lists(rendered(), max_size=4))
        if draw(st.booleans()):
            lines.append(f"keywords: [{', '.join(words)}]")
        else:
            lines.append("keywords:" + "".join(f"\n  - {w}" for w in words) if words else "keywords: []")
    if draw(st.booleans()):
        lines.append(f"dependencies:\n  - name: nginx\n    version: {draw(rendered())}")
    if draw(st.booleans()):
        body = draw(st.lists(st.sampled_from(["alpha beta", "  indented", "", "yes: no", "# not a comment"])))
        indicator = draw(st.sampled_from(["|", ">", "|-", ">+"]))
        lines.append(f"details: {indicator}" + "".join(f"\n  {b}" if b else "\n" for b in body))
    if draw(st.booleans()):
        keys = draw(
            st.lists(st.sampled_from(["a", "b", "yes", "1", "null", "'q'", "kube", "c d"]), max_size=4)
        )
        items = [f"{k}: {draw(rendered())}" for k in keys]
        if draw(st.booleans()):
            lines.append("values: {" + ", ".join(items) + "}")
        else:
            lines.append("values:" + "".join(f"\n  {item}" for item in items) if items else "values: {}")
    if draw(st.booleans()):
        hook = [f"python: {draw(rendered())}"] if draw(st.booleans()) else []
        if draw(st.booleans()):
            hook.append(f"requires: [{', '.join(draw(st.lists(rendered(), max_size=3)))}]")
        lines.append("hook:" + "".join(f"\n  {h}" for h in hook) if hook else "hook: {}")
    if draw(st.booleans()):
        lines.append(f"{draw(st.sampled_from(['extra', 'detail', 'yes']))}: {draw(rendered())}")
    order = draw(st.permutations(lines))
    return "\n".join(order) + "\n"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=k3_documents())
def test_generated_documents_load_the_same(tmp_path: Path, text: str) -> None:
    same(write(tmp_path, text))
