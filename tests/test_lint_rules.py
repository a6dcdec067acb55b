"""Every rule id kube can print is in the registry (so it gets a fix hint) and in CONTRIBUTING.md."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from kube.core.findings import Finding
from kube.lint.rules import ALL_RULES, with_hint

ROOT = Path(__file__).resolve().parent.parent
RULE_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)+")
RULE_PARAMS = ("rule", "rule_id")


def _emitters(tree: ast.Module) -> dict[str, int]:
    """Functions of one module that take a rule id, by name, with the position of that parameter."""
    found: dict[str, int] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            names = [a.arg for a in node.args.args]
            for param in RULE_PARAMS:
                if param in names:
                    # a method is called without its self
                    found[node.name] = names.index(param) - (1 if names[:1] == ["self"] else 0)
    return found


def _constants(node: ast.AST) -> set[str]:
    return {n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)}


def emitted_rule_ids() -> dict[str, str]:
    """Rule id -> the first file that emits it: constants passed as the rule of a Finding (or of a
    function that takes a ``rule``), and constants assigned to a variable named ``rule``."""
    files = sorted((ROOT / "kube").rglob("*.py"))
    trees = [ast.parse(path.read_text(encoding="utf-8"), str(path)) for path in files]
    # ``Finding`` (its third field) and every public emitter; a module's own private helpers
    # (two modules have an ``_error`` with the rule at different places) override them there.
    public = {"Finding": 2}
    for tree in trees:
        public |= {name: i for name, i in _emitters(tree).items() if not name.startswith("_")}
    found: dict[str, str] = {}
    for path, tree in zip(files, trees, strict=True):
        emitters = {**public, **_emitters(tree)}
        if path.name == "lint_rules.py":
            continue  # the registry itself
        where = path.relative_to(ROOT).as_posix()
        for node in ast.walk(tree):
            values: set[str] = set()
            if isinstance(node, ast.Call):
                func = node.func
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
                if name in emitters:
                    index = emitters[name]
                    if index < len(node.args):
                        values |= _constants(node.args[index])
                    values |= {c for k in node.keywords if k.arg in RULE_PARAMS for c in _constants(k.value)}
            elif isinstance(node, ast.Assign):
                names = [t for target in node.targets for t in ast.walk(target) if isinstance(t, ast.Name)]
                if any(t.id in RULE_PARAMS for t in names):  # ``rule = ...``, ``rule, got = (...)``
                    values |= _constants(node.value)
            for value in values:
                if RULE_ID.fullmatch(value):
                    found.setdefault(value, where)
    return found


def test_the_walk_finds_rules_of_every_kind_of_emitter() -> None:
    found = emitted_rule_ids()
    # Finding(...), finding(...), _Checker.add, yamlsafe's fail/_error, templating's render_error,
    # and ``rule, got = (...)`` in kube.formula
    for rule in (
        "formula-size",
        "manifest-hostpath",
        "k3-lint",
        "yaml-alias",
        "template-undefined",
        "k3-empty",
    ):
        assert rule in found, rule
    assert len(found) >= 80


def test_every_emitted_rule_id_is_registered_with_a_hint() -> None:
    missing = {rule: where for rule, where in emitted_rule_ids().items() if rule not in ALL_RULES}
    assert missing == {}
    for rule in emitted_rule_ids():
        assert with_hint(Finding("x", 0, rule, "m")).hint, rule


def test_every_registered_rule_is_in_the_contributing_table() -> None:
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    tables = [line for line in text.splitlines() if line.startswith("| `")]
    documented = {rule for line in tables for rule in re.findall(r"`([a-z0-9-]+)`", line.split("|")[1])}
    assert set(ALL_RULES) - documented == set()
    assert set(emitted_rule_ids()) - documented == set()
    assert documented - set(ALL_RULES) == set(), "the table documents rules kube does not have"
