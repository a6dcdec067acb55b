"""Dependencies: which ones the cluster satisfies, and the order to install the missing ones.

A dependency is satisfied when a release of that formula (any release name)
exists in the dependent's namespace (in the dependency's ``namespace`` when
K3.yaml names one; anywhere for ``scope: cluster``), its latest revision is
complete, holds a version inside the range, and every object it lists still exists (``verify``: one
``kubectl get`` for the objects of every candidate record; a Deployment deleted
by hand no longer counts). Checking only reports; asking the user, or stopping, is the command's business.
``install_order`` walks the archive's formulas depth first for ``--with-deps``
(with an explicit stack, never Python's), stops at a cycle rather than following
it, and refuses a chain deeper than ``MAX_DEPTH``; each formula it returns carries the
namespace to install it in and its values (``values_for``). ``install_dependencies`` is
the ``--with-deps`` loop itself, shared by ``kube install`` and ``kube test``:
it is given the pipeline's plan and install steps (the pipeline imports this
module, so this one must not import the pipeline).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from kube.core.errors import DependencyError, NotFoundError
from kube.k8s.release_format import ReleaseOutcome, Revision

COMPLETE = ReleaseOutcome.COMPLETE

if TYPE_CHECKING:
    from kube.formula.load import Dependency, Formula
    from kube.formula.patches import PatchSet
    from kube.k8s.kubectl import Kubectl
    from kube.k8s.releases import Release

MAY_NOT_FUNCTION = "This package may not function correctly."
MAY_NOT_FUNCTION_AFTER = "Those releases may not function correctly without it."
# Longest chain of dependencies --with-deps follows (a needs b needs c ...). Real stacks are a few
# levels deep; a chain of hundreds is a broken or hostile archive, and each level is a formula to
# load and install.
MAX_DEPTH = 64


class _Plan(Protocol):
    @property
    def already_installed(self) -> bool: ...


class _Result(Protocol):
    @property
    def ok(self) -> bool: ...


_P = TypeVar("_P", bound=_Plan)
_R = TypeVar("_R", bound=_Result)


@dataclass(frozen=True)
class Unsatisfied:
    """A dependency the cluster does not satisfy; ``found`` lists the releases of that formula
    that exist but do not count: (namespace, version, outcome)."""

    name: str
    range: str
    found: tuple[tuple[str, str, str], ...] = ()
    namespace: str = ""  # where it is wanted; empty for a cluster-wide dependency

    @property
    def warning(self) -> str:
        return f"Dependency {self.name} ({self.range}) does not seem to be satisfied."

    @property
    def detail(self) -> str:
        where = f" in namespace {self.namespace}" if self.namespace else ""
        if not self.found:
            return f"not installed{where}"
        there = any(namespace == self.namespace for namespace, _, _ in self.found)
        return ("" if there or not where else f"none{where}; ") + "; ".join(
            f"{version or '?'} in {namespace}" + ("" if outcome == COMPLETE else f" ({outcome})")
            for namespace, version, outcome in self.found
        )


def wanted_in(dependency: Dependency, namespace: str) -> str:
    """The namespace whose releases satisfy ``dependency`` of a release in ``namespace``; empty
    for a cluster-wide one (any namespace will do)."""
    return "" if dependency.cluster_wide else dependency.namespace or namespace


def install_namespace(dependency: Dependency, namespace: str) -> str:
    """Where ``--with-deps`` installs ``dependency`` of a release in ``namespace``."""
    return dependency.namespace or namespace


def satisfies(record: Revision, dependency: Dependency, namespace: str = "") -> bool:
    """Whether ``record`` satisfies ``dependency`` of a release in ``namespace`` (empty: any
    namespace counts)."""
    from kube.formula.versions import Version, VersionError

    where = wanted_in(dependency, namespace) if namespace else ""
    if (
        record.formula != dependency.name
        or (where and record.namespace != where)
        or record.outcome is not COMPLETE
        or record.missing
        or record.unready
    ):
        return False
    try:
        return dependency.range.contains(Version.parse(record.version))
    except VersionError:
        return False


def check(formula: Formula, records: Sequence[Revision], namespace: str) -> list[Unsatisfied]:
    """The dependencies of ``formula`` (installed in ``namespace``) that no record in ``records``
    satisfies, in declaration order."""
    missing = []
    for dependency in formula.dependencies:
        if any(satisfies(r, dependency, namespace) for r in records):
            continue
        found = tuple((r.namespace, r.version, r.condition) for r in records if r.formula == dependency.name)
        where = wanted_in(dependency, namespace)
        missing.append(Unsatisfied(dependency.name, str(dependency.range), found, where))
    return missing


@dataclass(frozen=True)
class Standing:
    """How one dependency of a release stands: the record that satisfies it, if any (for
    ``kube info``)."""

    dependency: Dependency
    namespace: str  # where it is wanted; empty for a cluster-wide one
    by: Revision | None
    elsewhere: tuple[tuple[str, str], ...] = ()  # (namespace, version) of releases that do not count

    def to_dict(self) -> dict[str, Any]:
        by = self.by
        return {
            **self.dependency.to_dict(),
            "wanted_in": self.namespace or None,
            "satisfied": by is not None,
            "by": None
            if by is None
            else {"release": by.release, "namespace": by.namespace, "version": by.version},
            "elsewhere": [{"namespace": ns, "version": version} for ns, version in self.elsewhere],
        }


def standings(formula: Formula, records: Sequence[Revision], namespace: str) -> list[Standing]:
    """Each dependency of ``formula`` installed in ``namespace``, with what satisfies it (or,
    when nothing does, the releases of it that do not count)."""
    out = []
    for d in formula.dependencies:
        by = next((r for r in records if satisfies(r, d, namespace)), None)
        others = tuple((r.namespace, r.version) for r in records if r.formula == d.name and r is not by)
        out.append(Standing(d, wanted_in(d, namespace), by, () if by else others))
    return out


@dataclass(frozen=True)
class Needed:
    """A formula ``--with-deps`` installs: where, and with which values (its own defaults under
    the dependent's ``dependencies[].values``; the user's are added by ``values_for``)."""

    formula: Formula
    namespace: str
    values: dict[str, Any] = field(default_factory=dict, compare=False)


def values_for(needed: Needed, user: Mapping[str, Any]) -> Formula:
    """The formula of ``needed`` with its values as the dependency gets them, later wins: its
    K3.yaml values, the dependent's ``dependencies[].values``, then what the user gave under the
    dependency's name (``--set mongodb.database=chat``, or ``mongodb:`` in a values file)."""
    from kube.formula.values import deep_merge

    values = deep_merge(needed.formula.values, needed.values)
    own = user.get(needed.formula.name)
    if isinstance(own, Mapping):
        values = deep_merge(values, own)
    return replace(needed.formula, values=values)


def verify(kubectl: Kubectl, formula: Formula, found: Sequence[Revision]) -> list[Revision]:
    """``found``, with the records that could satisfy a dependency of ``formula`` checked
    against the cluster: their ``missing`` and ``unready`` counts set (one kubectl call, none
    when no record is a candidate): a dependency counts when it is ready, not merely recorded."""
    from kube.k8s import releases

    names = {d.name for d in formula.dependencies}
    candidates = [r for r in found if r.formula in names and r.outcome is COMPLETE]
    if not candidates:
        return list(found)
    checked = iter(releases.with_missing(kubectl, candidates, readiness=True))
    return [next(checked) if r in candidates else r for r in found]


def install_order(
    formula: Formula, records: Sequence[Revision], load: Callable[[str], Formula], namespace: str
) -> list[Needed]:
    """The formulas to install before ``formula`` (installed in ``namespace``) so that its
    dependencies hold, dependencies first, each with its namespace and the values its dependent
    declared for it.

    Only unsatisfied dependencies are loaded (with ``load``, from the archive) and followed;
    a loaded formula must have a version inside the range. A cycle, or a chain deeper than
    ``MAX_DEPTH``, raises ``DependencyError``.
    """
    order: list[Needed] = []
    done: set[tuple[str, str]] = set()
    path: list[str] = [formula.name]
    top = Needed(formula, namespace)
    stack: list[tuple[Needed, Iterator[Dependency]]] = [(top, iter(formula.dependencies))]
    while stack:
        current, pending = stack[-1]
        dependency = next(pending, None)
        if dependency is None:
            stack.pop()
            path.pop()
            if stack:
                done.add((current.formula.name, current.namespace))
                order.append(current)
            continue
        if dependency.name in path:
            cycle = " -> ".join([*path[path.index(dependency.name) :], dependency.name])
            raise DependencyError(
                f"dependency cycle: {cycle}",
                hint="the formulas' K3.yaml files need fixing; install them one by one with --force",
            )
        target = install_namespace(dependency, current.namespace)
        wanted = wanted_in(dependency, current.namespace)
        if any(n == dependency.name and (not wanted or ns == wanted) for n, ns in done) or any(
            satisfies(r, dependency, current.namespace) for r in records
        ):
            continue
        if len(path) > MAX_DEPTH:
            chain = " -> ".join([*path[:3], "...", *path[-2:], dependency.name])
            raise DependencyError(
                f"dependency chain deeper than {MAX_DEPTH} formulas: {chain}",
                hint="the archive's formulas need fixing; install the dependencies one by one",
            )
        needed = Needed(_load(dependency, current.formula, load), target, dependency.values)
        path.append(dependency.name)
        stack.append((needed, iter(needed.formula.dependencies)))
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


def install_dependencies(
    formula: Formula,
    records: Sequence[Revision],
    load: Callable[[str], Formula],
    *,
    namespace: str,
    plan: Callable[[Formula, str], _P],
    install: Callable[[_P], _R],
    user_values: Mapping[str, Any] | None = None,
    dry_run: bool = False,
    progress: Callable[[str], None] | None = None,
    installed: Callable[[_R], None] | None = None,
) -> list[_R]:
    """Install what ``formula`` (installed in ``namespace``) needs and ``records`` do not
    satisfy, dependencies first.

    Each dependency (``install_order``) gets its values (``values_for``, with ``user_values``:
    what the user gave, keyed by dependency name), is planned with ``plan`` in its namespace,
    skipped when its plan says it is already installed, else installed with ``install``.
    ``progress`` hears one line before each; ``installed`` each result as it comes. A dry run
    installs nothing and only says what it would install. Stops after the first result that is
    not ok: it is the last of the results returned, for the caller to report.
    """
    results: list[_R] = []
    for needed in install_order(formula, records, load, namespace):
        dependency = values_for(needed, user_values or {})
        where = f" in namespace {needed.namespace}"
        if dry_run:
            if progress:
                progress(f"Would install dependency {dependency.name} {dependency.version}{where} first")
            continue
        if progress:
            progress(f"Installing dependency {dependency.name} {dependency.version}{where}")
        the_plan = plan(dependency, needed.namespace)
        if the_plan.already_installed:
            continue
        result = install(the_plan)
        results.append(result)
        if installed:
            installed(result)
        if not result.ok:
            break
    return results


def dependents(release: Release, others: Sequence[Release]) -> list[str]:
    """The releases that depend on ``release`` (by the dependencies their latest revision
    recorded) and that no other release would still satisfy once it is gone; one warning line
    each. A dependent in the same namespace needs another release there (a dependency is
    satisfied in its dependent's namespace); one elsewhere (it named this namespace, or the
    dependency is cluster-wide: the record does not say) one anywhere. Round-one records hold no
    dependencies and are never named."""
    from kube.formula.versions import Version, VersionError, VersionRange

    removed = release.latest
    if removed is None:
        return []
    remaining = [
        r.latest for r in others
        if r.latest is not None and (r.namespace, r.name) != (release.namespace, release.name)
    ]  # fmt: skip
    lines = []
    for rev in remaining:
        for entry in rev.dependencies:
            name, _, text = entry.partition(" ")
            if name != removed.formula:
                continue
            try:
                wanted = VersionRange.parse(text)
                if not wanted.contains(Version.parse(removed.version)):
                    continue  # this release never satisfied it
                still = any(
                    o.formula == name
                    and o.outcome is COMPLETE
                    and (rev.namespace != release.namespace or o.namespace == rev.namespace)
                    and wanted.contains(Version.parse(o.version))
                    for o in remaining
                )
            except VersionError:
                continue
            if not still:
                lines.append(
                    f"Release {rev.release} in namespace {rev.namespace} depends on {name} ({text}), "
                    f"which {release.name} provides."
                )
    return lines


def declared_patches(root: Formula, name: str, load: Callable[[str], Formula]) -> tuple[PatchSet, ...]:
    """The patches that ``root`` and the formulas it depends on (transitively) declare for the
    dependency ``name`` (K3.yaml ``dependencies[].patches``): files of the declaring formula,
    named ``<formula>/<file>``, in the order the tree is walked (``root`` first)."""
    from kube.core.errors import KubeError
    from kube.formula.render import formula_patch_set

    found: list[PatchSet] = []
    seen: set[str] = set()
    queue = [root]
    while queue:
        formula = queue.pop(0)
        if formula.name in seen:
            continue
        seen.add(formula.name)
        for dependency in formula.dependencies:
            if dependency.name == name:
                found += [
                    formula_patch_set(formula.path, rel, shown=f"{formula.name}/{rel}")
                    for rel in dependency.patches
                ]
            if dependency.name not in seen and dependency.name != name:
                try:
                    queue.append(load(dependency.name))
                except KubeError:
                    continue  # install_order reports a dependency it cannot load
    return tuple(found)
