"""Dependencies: which ones the cluster satisfies, and the order to install the missing ones.

A dependency is satisfied when an install record for that name exists anywhere
in the cluster, is complete, and holds a version inside the range. Checking
only reports; asking the user, or stopping, is the command's business.
``install_order`` walks the archive's formulas depth first for ``--with-deps``
and stops at a cycle rather than following it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kube.errors import DependencyError, NotFoundError
from kube.records import COMPLETE, Record

if TYPE_CHECKING:
    from kube.formula import Dependency, Formula

MAY_NOT_FUNCTION = "This package may not function correctly."


@dataclass(frozen=True)
class Unsatisfied:
    """A dependency the cluster does not satisfy; ``found`` lists the records of that name
    that exist but do not count: (namespace, version, outcome)."""

    name: str
    range: str
    found: tuple[tuple[str, str, str], ...] = ()

    @property
    def warning(self) -> str:
        return f"Dependency {self.name} ({self.range}) does not seem to be satisfied."

    @property
    def detail(self) -> str:
        if not self.found:
            return "not installed"
        return "; ".join(
            f"{version or '?'} in {namespace}" + ("" if outcome == COMPLETE else f" ({outcome})")
            for namespace, version, outcome in self.found
        )


def satisfies(record: Record, dependency: Dependency) -> bool:
    from kube.versions import Version, VersionError

    if record.formula != dependency.name or record.outcome != COMPLETE:
        return False
    try:
        return dependency.range.contains(Version.parse(record.version))
    except VersionError:
        return False


def check(formula: Formula, records: Sequence[Record]) -> list[Unsatisfied]:
    """The dependencies of ``formula`` that no record in ``records`` satisfies, in declaration order."""
    missing = []
    for dependency in formula.dependencies:
        if any(satisfies(r, dependency) for r in records):
            continue
        found = tuple((r.namespace, r.version, r.outcome) for r in records if r.formula == dependency.name)
        missing.append(Unsatisfied(dependency.name, str(dependency.range), found))
    return missing


def install_order(
    formula: Formula, records: Sequence[Record], load: Callable[[str], Formula]
) -> list[Formula]:
    """The formulas to install before ``formula`` so that its dependencies hold, dependencies first.

    Only unsatisfied dependencies are loaded (with ``load``, from the archive) and followed;
    a loaded formula must have a version inside the range. A cycle raises ``DependencyError``.
    """
    order: list[Formula] = []
    done: set[str] = set()

    def visit(current: Formula, path: list[str]) -> None:
        for dependency in current.dependencies:
            if dependency.name in path:
                cycle = " -> ".join([*path[path.index(dependency.name) :], dependency.name])
                raise DependencyError(
                    f"dependency cycle: {cycle}",
                    hint="the formulas' K3.yaml files need fixing; install them one by one with --force",
                )
            if dependency.name in done or any(satisfies(r, dependency) for r in records):
                continue
            needed = _load(dependency, current, load)
            visit(needed, [*path, dependency.name])
            done.add(dependency.name)
            order.append(needed)

    visit(formula, [formula.name])
    return order


def _load(dependency: Dependency, dependent: Formula, load: Callable[[str], Formula]) -> Formula:
    wanted = f"{dependency.name} ({dependency.range})"
    try:
        found = load(dependency.name)
    except NotFoundError as exc:
        raise DependencyError(
            f"{dependent.name} depends on {wanted}, which the archive does not hold",
            hint="run `kube update`, or install it from a directory first: `kube install ./path`",
        ) from exc
    if not dependency.range.contains(found.version):
        raise DependencyError(
            f"{dependent.name} depends on {wanted}, but the archive holds {found.name} {found.version}",
            hint="install a matching version from a directory first, or drop --with-deps (and add --force)",
        )
    return found
