"""Command: info (one kube of the archive, and where the cluster has it; kept light).

Like ``kube search``, ``kube info`` imports no git library, no ruamel.yaml and no
Jinja2; the cluster client is imported only when a kubeconfig is in play.

Each dependency is shown with ✔ (and the release that satisfies it: name,
namespace, version) or ✘, for the namespace ``-n`` names (the kubeconfig's
otherwise) in the cluster ``--context`` names; without a cluster that answers,
kube cannot know, and says so.

Exit codes: 0 ok; 2 bad option; 3 no such kube; 5 the archive is missing and
cloning it failed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from kube.archive import workspace
from kube.archive.workspace import FormulaInfo
from kube.cli import console
from kube.cli.archive import ensure_archive
from kube.cli.options import Context, Kubeconfig, Namespace, Output, OutputFormat, choose, command_app
from kube.core.errors import KubeError

if TYPE_CHECKING:
    from kube.install.deps import Standing

app = command_app()
OK_MARK, MISSING_MARK = "✔", "✘"


@dataclass(frozen=True)
class Seen:
    """What the chosen cluster says about a kube: where it is installed and how its dependencies
    stand in ``namespace``; None for what was not (or could not be) read."""

    installed: list[str] | None = None
    namespace: str = ""
    standings: list[Standing] | None = None


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


@app.command("info")
def info_command(
    name: Annotated[str, typer.Argument(help="The kube's name.")],
    output: Output = None,
    namespace: Namespace = None,
    context: Context = None,
    kubeconfig: Kubeconfig = None,
) -> None:
    """Show a kube: description, version, website, files, maintainers, dependencies, where installed."""
    fmt = choose(output, OutputFormat.json)
    ensure_archive()
    info = workspace.formula_info(name)
    with_deps = info.archive_path if info.entry.valid and info.entry.dependencies else None
    seen = read_cluster(name, with_deps, context=context, kubeconfig=kubeconfig, namespace=namespace)
    info = replace(info, installed=seen.installed)
    if fmt is OutputFormat.json:
        data = info.to_dict()
        if info.entry.dependencies:
            data["dependency_status"] = (
                None
                if seen.standings is None
                else {"namespace": seen.namespace, "dependencies": [s.to_dict() for s in seen.standings]}
            )
        console.print_json(data)
        return
    _print_info(info, seen)


def _standing_lines(info: FormulaInfo, seen: Seen) -> list[str]:
    if not info.entry.valid or not info.entry.dependencies:
        return []
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
            found = ", ".join(f"{version} in {ns}" for ns, version in standing.elsewhere[:3])
            lines.append(
                f"  {MISSING_MARK} {dep.name} ({dep.range}): none {where}" + (f" ({found})" if found else "")
            )
    return lines


def _print_info(info: FormulaInfo, seen: Seen) -> None:
    entry = info.entry
    console.line(f"==> {entry.name}: {entry.version or '(invalid)'}", style="bold")
    lines: list[str] = []
    if not entry.valid:
        lines.append("This kube's K3.yaml is invalid and it cannot be installed:")
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
