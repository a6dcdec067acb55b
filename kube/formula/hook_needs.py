"""What a formula's hook needs of Python: ``hook: {python, requires}`` in K3.yaml.

Both fields are PEP 440 / PEP 508 (the Python packaging standards), so ``packaging``
reads them, not kube's SemVer engine: ``python`` is a version specifier for the
interpreter (``">=3.9"``), ``requires`` a list of requirements on installed
distributions (``"cryptography>=41"``, markers allowed).

The loader (``kube.formula.load``) checks only their shape, so that reading a formula
(``kube search``, ``kube info``, the index) never imports ``packaging``; ``kube lint``
(``problems``) and the hook runner (``kube.install.hooks``) parse them, importing it
in the functions below.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from kube.core.text import quote

if TYPE_CHECKING:
    from packaging.requirements import Requirement
    from packaging.specifiers import SpecifierSet

#: The hook's place in a formula: the one script kube runs.
HOOK = PurePosixPath("scripts") / "pre-install.py"
PYTHON_EXAMPLE = '">=3.9"'
REQUIRES_EXAMPLE = '"cryptography>=41"'


@dataclass(frozen=True)
class HookNeed:
    """One text of ``hook:`` as written, and its line in K3.yaml."""

    text: str
    line: int


@dataclass(frozen=True)
class HookNeeds:
    """``hook:`` of K3.yaml: the Python version the hook needs, the distributions it imports,
    and the line of ``hook:`` itself."""

    python: HookNeed | None
    requires: tuple[HookNeed, ...]
    line: int


@dataclass(frozen=True)
class Problem:
    """A field of ``hook:`` that does not parse: where (``hook.requires[0]``), at which line, and why."""

    line: int
    where: str
    message: str


def python_spec(need: HookNeed) -> SpecifierSet:
    """``need`` as a version specifier; raises ``ValueError`` (packaging's InvalidSpecifier)."""
    from packaging.specifiers import SpecifierSet

    return SpecifierSet(need.text)


def requirement(need: HookNeed) -> Requirement:
    """``need`` as a requirement; raises ``ValueError`` (packaging's InvalidRequirement)."""
    from packaging.requirements import Requirement

    return Requirement(need.text)


def problems(needs: HookNeeds) -> list[Problem]:
    """Every field of ``needs`` that is not valid PEP 440 / PEP 508, with a one-line reason."""
    found: list[Problem] = []
    if needs.python is not None:
        try:
            python_spec(needs.python)
        except ValueError:
            message = (
                f"{quote(needs.python.text)} is not a Python version specifier"
                f' like {PYTHON_EXAMPLE} or "==3.11.*"'
            )
            found.append(Problem(needs.python.line, "hook.python", message))
    for index, need in enumerate(needs.requires):
        try:
            requirement(need)
        except ValueError as exc:
            # packaging's message draws a caret under the spot on further lines: keep the first
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else "invalid"
            message = f"{quote(need.text)} is not a requirement like {REQUIRES_EXAMPLE}: {reason}"
            found.append(Problem(need.line, f"hook.requires[{index}]", message))
    return found


def install_text(req: Requirement) -> str:
    """``req`` as ``pip install`` takes it, without its marker (which held for this Python)."""
    extras = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
    if req.url:
        return f"{req.name}{extras} @ {req.url}"
    return f"{req.name}{extras}{req.specifier}"
