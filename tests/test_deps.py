"""Dependency checks against install records, and the order ``--with-deps`` installs in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from kube.core.errors import DependencyError, NotFoundError
from kube.formula.load import Formula, load_formula
from kube.install import deps
from kube.k8s.releases import ReleaseOutcome, Revision
from tests.gitrepo import formula_files, write_tree


def _formula(root: Path, name: str, version: str = "1.0.0", *needs: tuple[str, str]) -> Formula:
    extra: dict[str, object] = {}
    if needs:
        extra["dependencies"] = [{"name": n, "version": r} for n, r in needs]
    write_tree(root, formula_files(name, version, **extra))
    return load_formula(root / "formulas" / name)


COMPLETE, PARTIAL = ReleaseOutcome.COMPLETE, ReleaseOutcome.PARTIAL


def _installed(
    name: str, version: str, namespace: str = "web", outcome: ReleaseOutcome = COMPLETE
) -> Revision:
    """The latest revision of a release of ``name``: what dependencies are checked against."""
    return Revision(
        release=name, namespace=namespace, revision=1, formula=name, version=version, outcome=outcome
    )


def _archive(root: Path, *formulas: Formula) -> Callable[[str], Formula]:
    by_name = {f.name: f for f in formulas}

    def load(name: str) -> Formula:
        if name not in by_name:
            raise NotFoundError(f"formula `{name}` not found")
        return by_name[name]

    return load


def _placed(root: Path, name: str, *entries: dict[str, object]) -> Formula:
    write_tree(root, formula_files(name, "1.0.0", dependencies=list(entries)))
    return load_formula(root / "formulas" / name)


def test_dependency_is_satisfied_by_a_record_inside_the_range_in_the_same_namespace(tmp_path: Path) -> None:
    ponycorn = _formula(tmp_path, "ponycorn", "1.0.3", ("nginx", "1.9 < x <= 1.10"))
    assert deps.check(ponycorn, [_installed("nginx", "1.10.0", namespace="p6")], "p6") == []
    [missing] = deps.check(ponycorn, [_installed("nginx", "1.10.0", namespace="p2")], "p6")
    assert missing.warning == "Dependency nginx (1.9 < x <= 1.10) does not seem to be satisfied."
    assert missing.detail == "none in namespace p6; 1.10.0 in p2"


def test_dependency_namespace_and_cluster_scope_say_where_it_counts(tmp_path: Path) -> None:
    app = _placed(
        tmp_path,
        "app",
        {"name": "db", "version": "^1", "namespace": "data"},
        {"name": "operator", "version": "^1", "scope": "cluster"},
    )
    db, operator = app.dependencies
    assert (db.namespace, db.scope, operator.cluster_wide) == ("data", "namespace", True)
    records = [_installed("db", "1.0.0", namespace="web"), _installed("operator", "1.2.0", namespace="ops")]
    [missing] = deps.check(app, records, "web")
    assert (missing.name, missing.namespace) == ("db", "data")
    assert deps.check(app, [*records, _installed("db", "1.1.0", namespace="data")], "web") == []
    stand = {s.dependency.name: s for s in deps.standings(app, records, "web")}
    assert stand["db"].by is None and stand["db"].namespace == "data"
    assert stand["operator"].to_dict()["by"] == {
        "release": "operator",
        "namespace": "ops",
        "version": "1.2.0",
    }


def test_bad_dependency_placement_is_a_finding_at_its_line(tmp_path: Path) -> None:
    from kube.core.errors import FormulaError

    with pytest.raises(FormulaError) as caught:
        _placed(
            tmp_path,
            "app",
            {"name": "db", "version": "^1", "scope": "world", "namespace": "Bad_NS", "values": [1]},
        )
    text = str(caught.value) + " ".join(str(f) for f in getattr(caught.value, "findings", ()))
    assert (
        "dependencies[0].scope" in text
        and "dependencies[0].namespace" in text
        and "dependencies[0].values" in text
    )


def test_missing_dependency_is_reported_with_the_design_warning(tmp_path: Path) -> None:
    ponycorn = _formula(tmp_path, "ponycorn", "1.0.3", ("nginx", "1.9 < x <= 1.10"))
    [missing] = deps.check(ponycorn, [], "web")
    assert missing.warning == "Dependency nginx (1.9 < x <= 1.10) does not seem to be satisfied."
    assert missing.detail == "not installed in namespace web"


def test_version_outside_the_range_or_a_partial_install_does_not_satisfy(tmp_path: Path) -> None:
    ponycorn = _formula(tmp_path, "ponycorn", "1.0.3", ("nginx", "1.9 < x <= 1.10"))
    found = [_installed("nginx", "1.11.0"), _installed("nginx", "1.10.0", "edge", PARTIAL)]
    [missing] = deps.check(ponycorn, found, "web")
    assert missing.found == (("web", "1.11.0", COMPLETE), ("edge", "1.10.0", PARTIAL))
    assert missing.detail == "1.11.0 in web; 1.10.0 in edge (partial)"


def test_install_order_puts_dependencies_before_their_dependents(tmp_path: Path) -> None:
    app = _formula(tmp_path, "app", "1.0.0", ("web", "^1"), ("db", "^2"))
    web = _formula(tmp_path, "web", "1.2.0", ("db", "^2"))
    db = _formula(tmp_path, "db", "2.1.0")
    order = deps.install_order(app, [], _archive(tmp_path, web, db), "web")
    assert [(n.formula.name, n.namespace) for n in order] == [("db", "web"), ("web", "web")]


def test_install_order_follows_the_dependency_namespace_and_gives_the_declared_values(tmp_path: Path) -> None:
    app = _placed(
        tmp_path, "app", {"name": "db", "version": "^1", "namespace": "data", "values": {"database": "app"}}
    )
    db = _placed(tmp_path, "db", {"name": "cache", "version": "*"})
    cache = _formula(tmp_path, "cache", "1.0.0")
    # A cache in the app's namespace does not help db, which lives in data.
    order = deps.install_order(
        app, [_installed("cache", "1.0.0", namespace="web")], _archive(tmp_path, db, cache), "web"
    )
    assert [(n.formula.name, n.namespace) for n in order] == [("cache", "data"), ("db", "data")]
    assert order[1].values == {"database": "app"}


def test_dependency_values_lie_under_what_the_user_gives_by_the_dependency_name(tmp_path: Path) -> None:
    write_tree(tmp_path, formula_files("db", "1.0.0", values={"database": "default", "user": "u", "size": 1}))
    db = load_formula(tmp_path / "formulas" / "db")
    needed = deps.Needed(db, "web", {"database": "fromapp", "user": "appuser"})
    got = deps.values_for(needed, {"db": {"database": "fromuser"}, "replicas": 3})
    assert got.values == {"database": "fromuser", "user": "appuser", "size": 1}
    assert db.values["database"] == "default"  # the archive's formula itself is untouched


def test_install_order_skips_what_the_cluster_already_satisfies(tmp_path: Path) -> None:
    app = _formula(tmp_path, "app", "1.0.0", ("web", "^1"), ("db", "^2"))
    web = _formula(tmp_path, "web", "1.2.0", ("cache", "^1"))
    db = _formula(tmp_path, "db", "2.1.0")
    cache = _formula(tmp_path, "cache", "1.0.0")
    order = deps.install_order(app, [_installed("web", "1.5.0")], _archive(tmp_path, web, db, cache), "web")
    assert [n.formula.name for n in order] == ["db"]


def test_install_order_reports_a_cycle_instead_of_following_it(tmp_path: Path) -> None:
    a = _formula(tmp_path, "a", "1.0.0", ("b", "*"))
    b = _formula(tmp_path, "b", "1.0.0", ("c", "*"))
    c = _formula(tmp_path, "c", "1.0.0", ("a", "*"))
    with pytest.raises(DependencyError, match=r"dependency cycle: a -> b -> c -> a") as caught:
        deps.install_order(a, [], _archive(tmp_path, a, b, c), "web")
    assert caught.value.exit_code == 6


def test_install_order_refuses_an_archive_version_outside_the_range(tmp_path: Path) -> None:
    ponycorn = _formula(tmp_path, "ponycorn", "1.0.3", ("nginx", "1.9 < x <= 1.10"))
    nginx = _formula(tmp_path, "nginx", "1.11.0")
    with pytest.raises(DependencyError, match=r"archive holds nginx 1.11.0"):
        deps.install_order(ponycorn, [], _archive(tmp_path, nginx), "web")


def test_install_order_names_a_dependency_the_archive_lacks(tmp_path: Path) -> None:
    ponycorn = _formula(tmp_path, "ponycorn", "1.0.3", ("nginx", "1.9 < x <= 1.10"))
    with pytest.raises(
        DependencyError, match=r"ponycorn depends on nginx \(1.9 < x <= 1.10\), which the archive"
    ):
        deps.install_order(ponycorn, [], _archive(tmp_path), "web")


# -- the --with-deps loop ---------------------------------------------------------------------------
# install_dependencies is handed the pipeline's plan and install steps; these tests hand it
# steps that only record what they were asked (the real ones run against the cluster in
# tests/test_cli_install.py and tests/test_testing.py).


class _Plan:
    def __init__(self, formula: Formula, installed: set[str]) -> None:
        self.formula = formula
        self.already_installed = formula.name in installed


class _Result:
    def __init__(self, name: str, ok: bool) -> None:
        self.name = name
        self.ok = ok


def test_install_dependencies_installs_in_order_and_skips_what_the_namespace_has(tmp_path: Path) -> None:
    app = _formula(tmp_path, "app", "1.0.0", ("web", "^1"), ("db", "^2"))
    web = _formula(tmp_path, "web", "1.2.0", ("db", "^2"))
    db = _formula(tmp_path, "db", "2.1.0")
    said: list[str] = []
    seen: list[str] = []
    results = deps.install_dependencies(
        app,
        [],
        _archive(tmp_path, web, db),
        namespace="web",
        plan=lambda f, ns: _Plan(f, installed={"db"}),
        install=lambda p: _Result(p.formula.name, ok=True),
        progress=said.append,
        installed=lambda r: seen.append(r.name),
    )
    assert [r.name for r in results] == ["web"] == seen
    assert said == [
        "Installing dependency db 2.1.0 in namespace web",
        "Installing dependency web 1.2.0 in namespace web",
    ]


def test_install_dependencies_stops_after_the_first_failure(tmp_path: Path) -> None:
    app = _formula(tmp_path, "app", "1.0.0", ("web", "^1"), ("db", "^2"))
    web = _formula(tmp_path, "web", "1.2.0")
    db = _formula(tmp_path, "db", "2.1.0")
    results = deps.install_dependencies(
        app,
        [],
        _archive(tmp_path, web, db),
        namespace="web",
        plan=lambda f, ns: _Plan(f, installed=set()),
        install=lambda p: _Result(p.formula.name, ok=p.formula.name != "web"),
    )
    assert [(r.name, r.ok) for r in results] == [("web", False)]


def test_install_dependencies_dry_run_installs_nothing_and_says_what_it_would(tmp_path: Path) -> None:
    app = _formula(tmp_path, "app", "1.0.0", ("db", "^2"))
    db = _formula(tmp_path, "db", "2.1.0")
    said: list[str] = []

    def refuse(_: Formula, __: str) -> _Plan:
        raise AssertionError("a dry run plans nothing")

    results = deps.install_dependencies(
        app,
        [],
        _archive(tmp_path, db),
        namespace="web",
        plan=refuse,
        install=lambda p: _Result(p.formula.name, ok=True),
        dry_run=True,
        progress=said.append,
    )
    assert results == []
    assert said == ["Would install dependency db 2.1.0 in namespace web first"]


def test_uninstall_warns_for_a_dependent_of_the_same_namespace_unless_another_release_is_there() -> None:
    from kube.k8s.releases import Release

    def release(name: str, ns: str, version: str = "1.10.0", needs: tuple[str, ...] = ()) -> Release:
        rev = Revision(
            release=name, namespace=ns, revision=1, formula=name, version=version, outcome=COMPLETE,
            dependencies=needs,
        )  # fmt: skip
        return Release(name, ns, (rev,))

    nginx_p6, nginx_p2 = release("nginx", "p6"), release("nginx", "p2")
    ponycorn = release("ponycorn", "p6", "1.0.3", ("nginx 1.9 < x <= 1.10",))
    # Another nginx in p2 does not keep ponycorn of p6 working: it is warned about.
    [line] = deps.dependents(nginx_p6, [nginx_p6, nginx_p2, ponycorn])
    assert line.startswith("Release ponycorn in namespace p6 depends on nginx")
    # A second nginx in p6 does.
    other = Release("nginx-b", "p6", (replace(nginx_p6.revisions[0], release="nginx-b"),))
    assert deps.dependents(nginx_p6, [nginx_p6, other, ponycorn]) == []
    # The one in p2 goes: ponycorn of p6 never used it.
    assert deps.dependents(nginx_p2, [nginx_p6, nginx_p2, ponycorn]) == []
