"""What ``kube search`` and ``kube info`` do and print, without the option parser.

``kube.cli.search`` and ``kube.cli.info`` (Typer) call these, and so does the
console entry point's fast path (``kube.cli.entry``), which runs the plain
forms of the two commands without importing Click or Typer: both paths print
the same bytes because they are the same functions. Nothing here imports
Click, Typer, Rich (unless printing to a terminal), git, YAML or templates.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kube.cli import console
from kube.core.errors import KubeError, NotFoundError

if TYPE_CHECKING:
    from kube.archive.workspace import FormulaInfo
    from kube.install.deps import Standing

OK_MARK, MISSING_MARK = "✔", "✘"


def search(pattern: str, *, regex: bool, as_json: bool) -> None:
    """Search kubes by name, description, keywords and details (name matches first)."""
    from kube.archive import update as archive
    from kube.cli.archive import ensure_archive, waiting

    ensure_archive()
    index = archive.read_index(on_wait=waiting, on_rebuild=console.info)
    if as_json:
        found: list[Any] = index.search(pattern, regex=regex)
        console.print_json([entry.to_dict() for entry in found])
    else:
        found = index.search_rows(pattern, regex=regex)
        if found:
            # A valid row's first three columns as they are (no call per row: ~10,000 at 50,000 kubes).
            rows = [row[:3] if row[3] else _invalid(row[0]) for row in found]
            console.print_table(("NAME", "VERSION", "DESCRIPTION"), rows)
    if not found:
        close = index.close_matches(pattern)
        maybe = f"; similar names: {', '.join(close)}" if close else ""
        raise NotFoundError(
            f"no kube matches {pattern!r}{maybe}", hint="run `kube update` to refresh the archive"
        )


def _invalid(name: str) -> tuple[str, str, str]:
    # Its K3.yaml, a manifest or its layout: the index says which (`kube info` prints it).
    return (name, "-", "(invalid formula: see `kube info " + name + "`)")


@dataclass(frozen=True)
class Seen:
    """What the chosen cluster says about a kube: where it is installed and how its dependencies
    stand in ``namespace``; None for what was not (or could not be) read."""

    installed: list[str] | None = None
    namespace: str = ""
    standings: list[Standing] | None = None
    #: False when the user did not ask (no ``--installed``): nothing was read, and that is said.
    asked: bool = True


def _in_play(context: str | None, kubeconfig: str | None) -> bool:
    return (
        bool(context or kubeconfig or os.environ.get("KUBECONFIG"))
        or (Path.home() / ".kube" / "config").exists()
    )


def read_cluster(
    name: str,
    directory: Path | None,
    *,
    context: str | None = None,
    kubeconfig: str | None = None,
    namespace: str | None = None,
) -> Seen:
    """``installed_versions``, and, when ``directory`` holds a formula with dependencies, each
    dependency's standing in ``namespace`` (the kubeconfig's by default), from one listing of
    the releases the user may see and one ``kubectl get`` of the candidates' objects."""
    if directory is None:
        return Seen(installed_versions(name, context=context, kubeconfig=kubeconfig, namespace=namespace))
    if not _in_play(context, kubeconfig):
        return Seen()
    from kube.formula.load import load_formula

    try:
        formula = load_formula(directory)
    except KubeError:
        formula = None
    if formula is None or not formula.dependencies:
        return Seen(installed_versions(name, context=context, kubeconfig=kubeconfig, namespace=namespace))
    from kube.install import deps
    from kube.k8s import releases
    from kube.k8s.kubectl import Kubectl

    try:
        kubectl = Kubectl(context=context, kubeconfig=kubeconfig, namespace=namespace, timeout=5)
        ns = kubectl.current_namespace()
        listed = releases.list_releases_visible(kubectl, ns)
        latest = [r.latest for r in listed if r.latest is not None and not r.problem]
        found = [
            (r.namespace, r.version) for r in latest if r.formula == name and namespace in (None, r.namespace)
        ]
        standings = deps.standings(formula, deps.verify(kubectl, formula, latest), ns)
    except KubeError:
        return Seen()
    return Seen([f"{version} in {where}" for where, version in found], ns, standings)


def installed_versions(
    name: str,
    *,
    context: str | None = None,
    kubeconfig: str | None = None,
    namespace: str | None = None,
) -> list[str] | None:
    """Where the chosen cluster has ``name`` installed, read from install records.

    The cluster is the one ``--context``/``--kubeconfig`` name, as for every
    other command. None (nothing printed) when no kubeconfig is in play or the
    cluster does not answer within a few seconds: ``kube info`` stays useful,
    and quick, offline. With ``namespace``, only that namespace is read.
    """
    if not _in_play(context, kubeconfig):
        return None
    # Imported only when a cluster is in play: the cluster client is ~25 ms that an offline
    # `kube info` does not spend.
    from kube.k8s import releases
    from kube.k8s.kubectl import Kubectl

    try:
        kubectl = Kubectl(context=context, kubeconfig=kubeconfig, namespace=namespace, timeout=5)
        listed = releases.list_releases(kubectl, namespace)
        latest = [r.latest for r in listed if r.latest is not None and not r.problem]
        found = [(r.namespace, r.version) for r in latest if r.formula == name]
    except KubeError:
        return None
    return [f"{version} in {ns}" for ns, version in found]


def info(
    name: str,
    *,
    as_json: bool,
    namespace: str | None = None,
    context: str | None = None,
    kubeconfig: str | None = None,
    values: bool = False,
    installed: bool = False,
) -> None:
    """Show a kube: description, version, website, files, maintainers, dependencies; with
    ``installed``, where the cluster has it and how its dependencies stand there; with ``values``,
    the values a user can set, with their comments (``helm show values``).

    Without ``installed`` only the local index is read, as ``brew info`` and ``helm show chart``
    do: no kubectl process (~120 ms) for a question about the cluster nobody asked."""
    from kube.archive import workspace
    from kube.cli.archive import ensure_archive

    ensure_archive()
    found = workspace.formula_info(name)
    if values:
        _print_values(found, as_json)
        return
    if installed:
        with_deps = found.archive_path if found.entry.valid and found.entry.dependencies else None
        seen = read_cluster(name, with_deps, context=context, kubeconfig=kubeconfig, namespace=namespace)
    else:
        seen = Seen(asked=False)
    found = replace(found, installed=seen.installed)
    count = _value_count(found)
    if as_json:
        data = {**found.to_dict(), "valueCount": count}
        if found.entry.dependencies:
            data["dependency_status"] = (
                None
                if seen.standings is None
                else {"namespace": seen.namespace, "dependencies": [s.to_dict() for s in seen.standings]}
            )
        console.print_json(data)
        return
    _print_info(found, seen, count)


def _k3(info: FormulaInfo) -> Path:
    from kube.core.paths import METADATA_FILE

    return info.archive_path / METADATA_FILE


def _value_count(info: FormulaInfo) -> int | None:
    """From the index; an entry written before the index counted values is counted here."""
    if info.entry.value_count is not None or not info.entry.valid:
        return info.entry.value_count
    from kube.formula.values_doc import count_values, documented_values

    try:
        found = documented_values(_k3(info))
    except KubeError:
        return None
    return count_values(_nested(found))


def _nested(found: list[Any]) -> dict[str, Any]:
    return {v.path: v.default for v in found if "." not in v.path}


def _print_values(info: FormulaInfo, as_json: bool) -> None:
    """``--values``: K3.yaml's values section as written (``helm show values``), or with -o json
    one entry per key: its dotted path, default and comment."""
    from kube.core.errors import FormulaError
    from kube.formula.values_doc import documented_values, values_block

    if not info.entry.valid:
        raise FormulaError(
            f"{info.entry.name} is an invalid formula: {'; '.join(info.entry.problems[:1])}",
            hint=f"see `kube info {info.entry.name}`",
        )
    k3 = _k3(info)
    if as_json:
        found = documented_values(k3)
        console.print_json({"name": info.entry.name, "version": info.entry.version,
                            "values": [v.to_json() for v in found]})  # fmt: skip
        return
    block = values_block(k3)
    if not block:
        console.info(f"{info.entry.name} {info.entry.version} has no values to set")
        return
    console.line(block)


def _shards(names: tuple[str, ...]) -> str:
    """``3: etcd-0, etcd-1, etcd-2 (--set shards=N ...)``; long lists are cut."""
    shown = ", ".join(names) if len(names) <= 8 else f"{', '.join(names[:3])}, …, {names[-1]}"
    return f"{len(names)}: {shown} (--set shards=N or a list changes them)"


def _standing_lines(info: FormulaInfo, seen: Seen) -> list[str]:
    if not info.entry.valid or not info.entry.dependencies:
        return []
    if not seen.asked:
        return [
            f"  ? {n} ({r}): not checked (`--installed` asks the cluster)" for n, r in info.entry.dependencies
        ]
    if seen.standings is None:
        return [f"  ? {n} ({r}): cannot know, no cluster answered" for n, r in info.entry.dependencies]
    lines = []
    for standing in seen.standings:
        dep, by = standing.dependency, standing.by
        where = f"in namespace {standing.namespace}" if standing.namespace else "in any namespace"
        if by is not None:
            lines.append(
                f"  {OK_MARK} {dep.name} ({dep.range}): release {by.release} in {by.namespace}, {by.version}"
            )
        else:
            elsewhere = ", ".join(f"{version} in {ns}" for ns, version in standing.elsewhere[:3])
            lines.append(
                f"  {MISSING_MARK} {dep.name} ({dep.range}): none {where}"
                + (f" ({elsewhere})" if elsewhere else "")
            )
    return lines


def _print_info(info: FormulaInfo, seen: Seen, value_count: int | None = None) -> None:
    entry = info.entry
    console.line(f"==> {entry.name}: {entry.version or '(invalid)'}", style="bold")
    lines: list[str] = []
    if not entry.valid:
        lines.append("This kube is invalid and cannot be installed:")
        lines += [f"  {console.safe_line(problem)}" for problem in entry.problems]
    else:
        rows = [
            ("Description", entry.description),
            ("Version", entry.version),
            ("Website", entry.home),
            ("Built", f"{entry.built_date} ({entry.built_commit[:8]})" if entry.built_commit else "unknown"),
            ("Maintainers", ", ".join(entry.maintainers)),
            ("Depends on", ", ".join(f"{n} ({r})" for n, r in entry.dependencies) or "nothing"),
        ]
        lines += [f"{label + ':':<13}{console.safe_line(value)}" for label, value in rows]
        lines += [console.safe_line(text) for text in _standing_lines(info, seen)]
        lines.append(f"{'Provides:':<13}{console.safe_line(', '.join(entry.provides) or 'no manifests')}")
        if value_count is not None:
            shown = f"{value_count} (`kube info {entry.name} --values` shows them)" if value_count else "none"
            lines.append(f"{'Values:':<13}{console.safe_line(shown)}")
        if entry.shards:
            lines.append(f"{'Shards:':<13}{console.safe_line(_shards(entry.shards))}")
        if entry.details:
            lines.append("Details:")
            lines += [f"  {console.safe_line(text)}" for text in entry.details.strip().splitlines()]
    if info.workspace is None:
        lines.append(f"Workspace:   none (`kube get {entry.name}` makes an editable copy)")
    else:
        state = "differs from the archive" if info.workspace_differs else "same as the archive"
        lines.append(f"Workspace:   {console.safe_line(info.workspace)} ({state})")
    if info.installed is not None:
        lines.append(f"Installed:   {', '.join(info.installed) or 'no'}")
    console.line("\n".join(lines))
