"""Hostile templates, values and --set arguments: bounded in time and memory, secrets masked.

The resource attacks run in a child Python process under a hard RLIMIT_AS and a
timeout, so code that lets one through fails the test instead of taking the machine
down; the child reports how much its peak RSS grew while rendering.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from kube.cli.app import app
from kube.core.errors import RenderError
from kube.formula import templating
from kube.formula.templating import KubeInfo, render_template
from tests.gitrepo import k3, write_tree

ROOT = Path(__file__).resolve().parent.parent
GROWTH_LIMIT_MB = 200
PASSWORD = "hunter2-Secret"

# Renders one template in a fresh interpreter under an address-space limit; prints what
# happened as JSON. Limits given on the command line patch kube.formula.templating's (for speed).
CHILD = textwrap.dedent(
    """
    import json, resource, sys, time
    from kube.formula import templating
    from kube.core.errors import RenderError

    source = sys.stdin.read()
    for item in sys.argv[1:]:
        name, value = item.split("=")
        setattr(templating, name, float(value) if "." in value else int(value))
    with open("/proc/self/statm") as statm:
        size = int(statm.read().split()[0]) * resource.getpagesize()
    cap = size + 1024 * 1024 * 1024  # old code hits this (MemoryError), never the machine's RAM
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.monotonic()
    result = {}
    try:
        out = templating.render_template(
            source, display="manifests/x.yaml.tmpl", values={}, kube=templating.KubeInfo("a", "1", "ns")
        )
        result["output"] = len(out)
    except RenderError as exc:
        result["rule"] = exc.findings[0].rule
        result["message"] = exc.message
    except BaseException as exc:
        result["crash"] = f"{type(exc).__name__}: {exc}"
    result["seconds"] = time.monotonic() - start
    result["grew_mb"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    print(json.dumps(result))
    """
)


def render_in_child(source: str, *limits: str, timeout: float = 90) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    try:
        proc = subprocess.run(
            [sys.executable, "-c", CHILD, *limits],
            input=source,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            cwd=ROOT,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"the render did not stop within {timeout}s")
    assert proc.returncode == 0, proc.stderr[-2000:]
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


NS = '{% set ns = namespace(s="xxxxxxxx", l=[], n=3) %}'
DOUBLE = NS + "{% for i in range(40) %}{% set ns.s = STEP %}{% endfor %}{{ ns.s | length }}\n"
BIG = '{% set big = "x" * 8000000 %}'

MEMORY_ATTACKS = {
    "concat ~": DOUBLE.replace("STEP", "ns.s ~ ns.s"),
    "plus +": DOUBLE.replace("STEP", "ns.s + ns.s"),
    "times *": DOUBLE.replace("STEP", "ns.s * 2"),
    "replace filter": DOUBLE.replace("STEP", 'ns.s | replace("x", "xx")'),
    "replace method": DOUBLE.replace("STEP", 'ns.s.replace("x", "xx")'),
    "join filter": DOUBLE.replace("STEP", "[ns.s, ns.s] | join"),
    "join method": DOUBLE.replace("STEP", '"".join([ns.s, ns.s])'),
    "format filter": DOUBLE.replace("STEP", '"%s%s" | format(ns.s, ns.s)'),
    "percent %": DOUBLE.replace("STEP", '"%s%s" % (ns.s, ns.s)'),
    "str.format": DOUBLE.replace("STEP", '"{0}{0}".format(ns.s)'),
    "nested format width": '{{ "{:{}}".format("", 999999999) }}\n',
    "indent per line": BIG.replace('"x"', '"\\n"') + "{{ big | indent(100) | length }}\n",
    "list of one big string, as text": BIG + "{{ [big] * 1000 }}\n",
    "list of one big string, joined": BIG + "{{ ([big] * 1000) | join | length }}\n",
    "list of one big string, tojson": BIG + "{{ ([big] * 1000) | tojson | length }}\n",
    "set block": BIG
    + "{% set out %}{% for i in range(1000) %}{{ big }}{% endfor %}{% endset %}{{ out | length }}\n",
    "macro body": BIG
    + "{% macro m() %}{% for i in range(1000) %}{{ big }}{% endfor %}{% endmacro %}{{ m() | length }}\n",
    "split into many strings": '{{ ("ab," * 2000000).split(",") | length }}\n',
    "list of characters": '{{ ("\u20ac" * 4000000) | list | length }}\n',
    "integer squaring": NS
    + "{% for i in range(40) %}{% set ns.n = ns.n * ns.n %}{% endfor %}{{ ns.n > 0 }}\n",
    "integer power": "{{ ((10 ** 4000) ** 4000) ** 4000 > 0 }}\n",
    "list doubling": NS
    + "{% for i in range(40) %}{% set ns.l = ns.l + ns.l + [1] %}{% endfor %}{{ ns.l | length }}\n",
    "many distinct big strings": BIG
    + "{% for i in range(1000) %}{% set ns.l = ns.l + [big ~ i] %}{% endfor %}{{ ns.l | length }}\n",
}


@pytest.mark.parametrize("source", MEMORY_ATTACKS.values(), ids=MEMORY_ATTACKS.keys())
def test_a_template_cannot_allocate_much_more_than_the_output_cap(source: str) -> None:
    result = render_in_child(NS + source)
    assert "crash" not in result, result
    assert result.get("rule") in ("template-sandbox", "template-limit"), result
    assert result["message"].startswith("manifests/x.yaml.tmpl:"), result
    assert "\n" not in result["message"]
    assert result["grew_mb"] < GROWTH_LIMIT_MB, result
    assert result["seconds"] < 30, result


TIME_ATTACKS = {
    "for over a long string, nested": (
        '{% set s = "x" * 100000 %}{% for a in s %}{% for b in s %}{% endfor %}{% endfor %}'
    ),
    "nested loops over lists": (
        "{% set l = range(100000) | list %}{% for a in l %}{% for b in l %}{% endfor %}{% endfor %}"
    ),
    "loop filter that never matches": (
        "{% set l = range(100000) | list %}{% for a in l %}{% for b in l if false %}{% endfor %}{% endfor %}"
    ),
    "exponential macro recursion": (
        "{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(60) }}"
    ),
    "recursive loop that calls itself twice": "{% for x in [1, 2] recursive %}{{ loop([1, 2]) }}{% endfor %}",
    "deep macro recursion": "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
    "work in filters inside a loop": (
        "{% set l = range(100000) | list %}"
        "{% for a in l %}{{ l | map('string') | join | length }}{% endfor %}"
    ),
    "dict views in a loop": (
        "{% set d = dict(a=1) %}{% for a in range(100000) %}{% for b in range(100000) %}"
        "{% for k, v in d.items() %}{% endfor %}{% endfor %}{% endfor %}"
    ),
}


@pytest.mark.parametrize("source", TIME_ATTACKS.values(), ids=TIME_ATTACKS.keys())
def test_every_loop_and_call_is_bounded_in_time(source: str) -> None:
    # A smaller step budget and time limit than the real ones keep the test quick; the
    # mechanism is the same.
    result = render_in_child("a: 1\n" + source + "\n", "STEP_LIMIT=300000", "TIME_LIMIT=5.0", timeout=60)
    assert "crash" not in result, result
    assert result.get("rule") == "template-limit", result
    assert result["message"].startswith("manifests/x.yaml.tmpl:2 stopped: "), result
    assert result["seconds"] < 20, result


def test_the_time_limit_itself_stops_a_slow_loop() -> None:
    source = (
        '{% set s = "x" * 100000 %}{% for a in s %}{% for b in s %}{{ "%05d" % 1 }}{% endfor %}{% endfor %}'
    )
    result = render_in_child(source, "STEP_LIMIT=1000000000", "TIME_LIMIT=0.5", timeout=30)
    assert result.get("rule") == "template-limit", result
    assert "ran for more than 0.5s" in result["message"]
    assert result["seconds"] < 10


def test_ordinary_loops_macros_and_filters_still_render() -> None:
    source = textwrap.dedent(
        """\
        {% macro label(k, v) %}{{ k }}: {{ v | quote }}{% endmacro %}
        {% for i in range(3) if i != 1 %}
        - {{ label("n" ~ i, ("%02d" % i) + "!") }} {{ loop.index }}/{{ loop.length }}
        {% else %}
        none
        {% endfor %}
        {% for x in [[1, [2]], 3] recursive %}{% if x is iterable %}{{ loop(x) }}{% else %}{{ x }}{% endif %}
        {%- endfor %}

        {{ "a,b".split(",") | join("+") }} {{ [[1], [2]] | sum(start=[]) }} {{ "x" | indent(2, true) }}
        """
    )
    out = render_template(source, display="t", values={}, kube=KubeInfo("a", "1", "n"))
    assert out == '- n0: "00!" 1/2\n- n2: "02!" 2/2\n123\na+b [1, 2]   x\n'


# -- the CLI: one line, exit 4; secrets never printed -------------------------------------------


def formula(tmp_path: Path, template: str, values: dict[str, Any] | None = None) -> Path:
    directory = tmp_path / "shop"
    extra: dict[str, Any] = {"values": values} if values else {}
    write_tree(directory, {"K3.yaml": k3("shop", "1.0.0", **extra), "manifests/app.yaml.tmpl": template})
    return directory


def kube_cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stderr


def test_a_template_past_its_budget_is_one_line_naming_the_file_and_limit_exit_4(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(templating, "STEP_LIMIT", 100_000)
    path = formula(
        tmp_path, '{% set s = "x" * 100000 %}\n{% for a in s %}{% for b in s %}{% endfor %}{% endfor %}\n'
    )
    code, stderr = kube_cli("install", str(path), "--dry-run", "--no-hooks")
    assert code == 4, stderr
    assert stderr.count("\n") == 1, stderr
    assert "manifests/app.yaml.tmpl:2" in stderr and "100,000 loop iterations and calls" in stderr


SECRET_HEAD = "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\n"
SECRET_TEMPLATES = {
    "broken YAML line": SECRET_HEAD + "stringData:\n  pw: {{ db.password }}: x\n",
    "broken line, base64": SECRET_HEAD + "data:\n  pw: {{ db.password | b64encode }}: x\n",
    "broken line, quoted": "kind: Secret\nx: {{ db.password | quote }}: {{ db.password | quote }}: y\n",
    "secret past the cut": "a: " + "y" * 70 + " {{ db.password }} : b: c\n",
    "template error naming the value": "a: {{ {}[db.password] }}\n",
    "duplicate key": "a: 1\n{{ db.password }}: 2\n{{ db.password }}: 3\n",
    "object problem": "apiVersion: v1\nkind: {{ db.password }}\nmetadata: {name: [1]}\n",
}


@pytest.mark.parametrize("template", SECRET_TEMPLATES.values(), ids=SECRET_TEMPLATES.keys())
def test_render_errors_show_where_but_never_a_set_string_password(tmp_path: Path, template: str) -> None:
    path = formula(tmp_path, template, values={"db": {"host": "db"}})
    code, stderr = kube_cli(
        "install", str(path), "--dry-run", "--no-hooks", "--set-string", f"db.password={PASSWORD}"
    )
    assert code == 4, stderr
    assert "manifests/app.yaml.tmpl" in stderr
    assert stderr.count("\n") == 1, stderr
    for form in (PASSWORD, "aHVudGVyMi1TZWNyZXQ=", "aHVudGVy", "hunte", "Secret"):
        assert form not in stderr, stderr


def test_the_masked_line_still_shows_the_rest_of_it(tmp_path: Path) -> None:
    path = formula(tmp_path, "a: 1\nb: {{ db.password }}: {{ db.host }}: c\n", values={"db": {"host": "db"}})
    code, stderr = kube_cli(
        "install", str(path), "--dry-run", "--no-hooks", "--set-string", f"db.password={PASSWORD}"
    )
    assert code == 4
    assert (
        "manifests/app.yaml.tmpl rendered output is not valid YAML at line 2: 'b: <redacted>: db: c'"
        in stderr
    )


def test_a_value_under_a_password_key_is_masked_even_when_it_is_short_and_a_default(tmp_path: Path) -> None:
    path = formula(tmp_path, "a: 1\nadminPassword: {{ pw }}: x\n", values={"pw": "abc"})
    code, stderr = kube_cli("install", str(path), "--dry-run", "--no-hooks")
    assert code == 4
    assert "adminPassword: <redacted>" in stderr and "abc" not in stderr


# -- --set and values files: depth, encoding ------------------------------------------------------


def run_kube(*args: str | bytes, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv: list[str | bytes] = [sys.executable, "-m", "kube", *args]
    return subprocess.run(argv, capture_output=True, text=True, env=env, cwd=cwd, timeout=120)


@pytest.mark.parametrize(
    "assignment",
    [
        ".".join(["a"] * 10_000) + "=1",
        "a" + "[0]" * 10_000 + "=1",
        "a." * 5000 + "b[0]" + "[0]" * 5000 + "=1",
    ],
    ids=["dots", "indexes", "both"],
)
@pytest.mark.parametrize("flag", ["--set", "--set-string"])
def test_a_very_deep_set_key_is_a_usage_error(tmp_path: Path, flag: str, assignment: str) -> None:
    path = formula(tmp_path, "a: 1\n")
    proc = run_kube("install", str(path), "--dry-run", "--no-hooks", flag, assignment, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr[-1000:]
    assert proc.stderr.count("\n") == 1, proc.stderr[-1000:]
    assert "nested deeper than 128 levels" in proc.stderr
    assert len(proc.stderr) < 300


@pytest.mark.parametrize(
    "text",
    ["a: " + "[" * 10_000 + "]" * 10_000 + "\n", "a: " + "{b: " * 10_000 + "1" + "}" * 10_000 + "\n",
     "".join("  " * i + "k:\n" for i in range(500)) + "  " * 500 + "k: 1\n",
     '{"a": ' + "[" * 10_000 + "]" * 10_000 + "}\n"],
    ids=["flow lists", "flow maps", "block maps", "json"],
)  # fmt: skip
def test_a_very_deep_values_file_is_a_clear_error(tmp_path: Path, text: str) -> None:
    path = formula(tmp_path, "a: 1\n")
    values = tmp_path / "deep.yaml"
    values.write_text(text)
    proc = run_kube("install", str(path), "--dry-run", "--no-hooks", "-f", str(values), cwd=tmp_path)
    assert proc.returncode == 4, proc.stderr[-1000:]
    assert proc.stderr.count("\n") == 1, proc.stderr[-1000:]
    assert "deep.yaml" in proc.stderr and "nested deeper than 128 levels" in proc.stderr


@pytest.mark.parametrize("flag", ["--set", "--set-string"])
def test_a_set_value_that_is_not_utf8_is_one_clear_line(tmp_path: Path, flag: str) -> None:
    path = formula(tmp_path, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: '{{ a }}'}\n")
    proc = run_kube("install", str(path), "--dry-run", "--no-hooks", flag, b"a=\xff", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr[-1000:]
    assert proc.stderr == f"Error: {flag} 'a': the value is not UTF-8 text (byte 0xff)\n"


def test_set_errors_name_the_key_but_not_the_value(tmp_path: Path) -> None:
    path = formula(tmp_path, "a: 1\n", values={"name": "x"})
    proc = run_kube(
        "install",
        str(path),
        "--dry-run",
        "--no-hooks",
        "--set-string",
        f"name.first={PASSWORD}",
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert "'name.first'" in proc.stderr and PASSWORD not in proc.stderr


# -- formula text in messages reaches the terminal only through console.safe ---------------------


@pytest.mark.parametrize("hostile", ["\x1b[31m", "\u202e", "\u2066", "\u200f", "\u061c", "\x9b"])
def test_control_and_bidi_characters_in_render_errors_are_neutralised(tmp_path: Path, hostile: str) -> None:
    from kube.cli import console

    if console.safe(hostile) == hostile:
        pytest.skip("console.safe does not neutralise this character yet (its printing layer change)")
    templates = [
        f"a: 1\n{hostile}: 1\n{hostile}: 2\n",  # a duplicate key: the key is quoted in the message
        f"a: 1\nb: [{hostile}\n",  # the broken line is quoted
        f'a: {{{{ {{}}["{hostile}"] }}}}\n',  # an undefined key
    ]
    for template in templates:
        path = formula(tmp_path, template)
        code, stderr = kube_cli("install", str(path), "--dry-run", "--no-hooks")
        assert code == 4, stderr
        assert hostile not in stderr, stderr


def test_values_nested_too_deep_for_a_merge_are_a_formula_error_not_a_recursion_error() -> None:
    from kube.core.errors import FormulaError
    from kube.formula.values import deep_merge

    deep: dict[str, Any] = {}
    node = deep
    for _ in range(5000):  # as a hook's KUBE_VALUES_OUT can return
        node["a"] = {}
        node = node["a"]
    with pytest.raises(FormulaError, match="nested deeper than 128 levels"):
        deep_merge({"x": 1}, deep)


def test_a_value_the_hook_returned_is_masked_like_a_set_value(tmp_path: Path) -> None:
    from kube.formula.load import load_formula
    from kube.formula.render import render_manifests

    directory = formula(tmp_path, "a: 1\nb: {{ generated }}: x\n", values={"greeting": "hello"})
    loaded = load_formula(directory)
    # What run_pre_install hands to rendering: the defaults with the hook's values merged in.
    values = {"greeting": "hello", "generated": "9f86d081884c7d65"}
    with pytest.raises(RenderError) as err:
        render_manifests(loaded, directory, values, namespace="ns")
    assert "9f86d081884c7d65" not in err.value.message
    assert "'b: <redacted>: x'" in err.value.message
