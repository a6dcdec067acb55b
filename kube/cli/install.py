"""Commands: install (and, from ``kube.commands.uninstall``, list and uninstall)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from kube.install.pipeline import InstallOptions, InstallResult, ObjectStatus, Plan, Reach
    from kube.install.uninstall import UninstallResult
    from kube.k8s.kubectl import Kubectl
    from kube.k8s.records import Record

#: "1" forces prompts even without a terminal (answers are read from stdin); "0" never prompts.
ENV_INTERACTIVE = "KUBE_INTERACTIVE"

Namespace = Annotated[
    str | None,
    typer.Option(
        "-n", "--namespace", metavar="NS", help="Namespace (default: the kubeconfig context's, or default)."
    ),
]
Context = Annotated[
    str | None, typer.Option("--context", metavar="NAME", help="The kubeconfig context to use.")
]
Kubeconfig = Annotated[
    str | None, typer.Option("--kubeconfig", metavar="FILE", help="The kubeconfig file to use.")
]
Output = Annotated[
    str | None,
    typer.Option("-o", "--output", metavar="FORMAT", help="table or json (and yaml with --dry-run)."),
]
TableOrJson = Annotated[str | None, typer.Option("-o", "--output", metavar="FORMAT", help="table or json.")]
Timeout = Annotated[
    str, typer.Option("--timeout", metavar="DURATION", help="How long --wait waits, e.g. 90s, 5m.")
]
Wait = Annotated[bool, typer.Option("--wait", help="Wait until every object is ready (or deleted).")]


def register(app: typer.Typer) -> None:
    """Add this module's commands to the kube app."""
    from kube.cli import uninstall

    app.command("install")(install_command)
    app.command("list")(uninstall.list_command)
    app.command("uninstall")(uninstall.uninstall_command)


def _interactive() -> bool:
    from kube.cli import console

    forced = os.environ.get(ENV_INTERACTIVE, "")
    if forced in ("0", "1"):
        return forced == "1"
    return console.is_interactive()


def output_format(value: str | None, *, allowed: tuple[str, ...], default: str) -> str:
    from kube.core.errors import UsageError

    chosen = (value or default).lower()
    if chosen not in allowed:
        raise UsageError(f"-o {value}: choose one of {', '.join(allowed)}")
    return chosen


def kubectl_for(context: str | None, kubeconfig: str | None, namespace: str | None) -> Kubectl:
    from kube.k8s.kubectl import Kubectl

    return Kubectl(context=context, kubeconfig=kubeconfig, namespace=namespace)


def install_command(
    formula: Annotated[
        str, typer.Argument(metavar="FORMULA", help="A formula name, or a path to a formula directory.")
    ],
    namespace: Namespace = None,
    context: Context = None,
    kubeconfig: Kubeconfig = None,
    output: Output = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Install even if dependencies are not satisfied, and create cluster-scoped objects "
            "without asking.",
        ),
    ] = False,
    allow_namespace: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-namespace",
            metavar="NS",
            help="Let the formula create objects in NS too, besides -n (repeatable).",
        ),
    ] = None,
    with_deps: Annotated[
        bool, typer.Option("--with-deps", help="Install missing dependencies from the archive first.")
    ] = False,
    values: Annotated[
        list[Path] | None,
        typer.Option(
            "-f", "--values", metavar="FILE", help="A YAML file of values (repeatable; later wins)."
        ),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", metavar="KEY=VALUE", help="Set a value: a.b=c, typed like YAML."),
    ] = None,
    set_string: Annotated[
        list[str] | None,
        typer.Option("--set-string", metavar="KEY=VALUE", help="Set a value, always as a string."),
    ] = None,
    no_hooks: Annotated[bool, typer.Option("--no-hooks", help="Do not run scripts/pre-install.py.")] = False,
    hook_timeout: Annotated[
        str, typer.Option("--hook-timeout", metavar="DURATION", help="Time limit of the hook.")
    ] = "300s",
    sandbox: Annotated[
        bool, typer.Option("--sandbox", help="Run the hook without network and with a throw-away HOME.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print what would be created; change nothing in the cluster.")
    ] = False,
    wait: Wait = False,
    timeout: Timeout = "5m",
    atomic: Annotated[
        bool, typer.Option("--atomic", help="On failure, delete what this install created.")
    ] = False,
    show_secrets: Annotated[
        bool, typer.Option("--show-secrets", help="With --dry-run: print the values of Secrets too.")
    ] = False,
) -> None:
    """Install a formula into the cluster: dependencies, hook, templates, kubectl create, install record."""
    from kube.install import pipeline as install
    from kube.k8s.kubectl import validate_namespace
    from kube.k8s.wait import parse_duration

    fmt = output_format(output, allowed=("table", "json", "yaml") if dry_run else ("table", "json"),
                  default="yaml" if dry_run else "table")  # fmt: skip
    options = install.InstallOptions(
        value_files=tuple(values or ()),
        sets=tuple(set_ or ()),
        set_strings=tuple(set_string or ()),
        hooks=not no_hooks,
        hook_timeout=parse_duration(hook_timeout, "--hook-timeout"),
        sandbox=sandbox,
        interactive=_interactive(),
        dry_run=dry_run,
        wait=parse_duration(timeout) if wait else None,
        atomic=atomic,
        allow_namespaces=tuple(validate_namespace(n) for n in allow_namespace or ()),
    )
    kubectl = kubectl_for(context, kubeconfig, namespace)
    source = install.resolve(formula)
    _announce(source.notes, source.warnings)
    the_plan = install.plan(source, kubectl, namespace=namespace, dry_run=dry_run)
    if the_plan.already_installed:
        _already_installed(the_plan, fmt)
        return
    installed_deps: list[InstallResult] = []
    if with_deps and the_plan.unsatisfied:
        installed_deps = _install_dependencies(the_plan, kubectl, options, fmt, force=force)
        if not dry_run:
            the_plan = install.plan(source, kubectl, namespace=the_plan.namespace)
    _confirm_dependencies(the_plan, force=force, dry_run=dry_run)
    result = _run_install(the_plan, kubectl, options, force=force)
    _show(result, fmt, installed_deps, show_secrets=show_secrets)
    _raise_for(result)


def _announce(notes: tuple[str, ...], warnings: tuple[str, ...]) -> None:
    from kube.cli import console

    for note in notes:
        console.info(note)
    for warning in warnings:
        console.warn(warning)


def _already_installed(the_plan: Plan, fmt: str) -> None:
    from kube.cli import console

    record = the_plan.existing
    assert record is not None
    text = (
        f"{record.formula} {record.version} is already installed in namespace {record.namespace} "
        f"(since {record.installed_at}); nothing to do"
    )
    if fmt == "json":
        console.print_json({**record_row(record), "outcome": "already installed", "summary": text})
    else:
        console.info(text)


def _install_dependencies(
    the_plan: Plan, kubectl: Kubectl, options: InstallOptions, fmt: str, *, force: bool
) -> list[InstallResult]:
    from kube.cli import console
    from kube.install import deps
    from kube.install import pipeline as install

    order = deps.install_order(the_plan.source.formula, the_plan.records, install.load_from_archive)
    results = []
    for formula in order:
        if options.dry_run:
            console.info(f"Would install dependency {formula.name} {formula.version} first")
            continue
        console.info(f"Installing dependency {formula.name} {formula.version}")
        source = install.Source(formula, formula.path, "archive")
        dep_plan = install.plan(source, kubectl, namespace=the_plan.namespace)
        if dep_plan.already_installed:
            continue
        result = _run_install(dep_plan, kubectl, options, force=force)
        if fmt == "table":
            print_objects(result.formula, result.version, result.objects)
            _summary(result)
        results.append(result)
        _raise_for(result)
    return results


def _confirm_dependencies(the_plan: Plan, *, force: bool, dry_run: bool) -> None:
    from kube.cli import console
    from kube.core.errors import DependencyError
    from kube.install.deps import MAY_NOT_FUNCTION

    if not the_plan.unsatisfied:
        for note in the_plan.notes:
            console.warn(note)
        return
    for missing in the_plan.unsatisfied:
        console.line(f"!!-> WARNING: {missing.warning}", stderr=True)
    console.line(f"!!-> {MAY_NOT_FUNCTION}", stderr=True)
    if dry_run or force:
        return
    names = ", ".join(f"{m.name} ({m.range}): {m.detail}" for m in the_plan.unsatisfied)
    hint = "install them first (add --with-deps to take them from the archive), or pass --force"
    if not _interactive():
        raise DependencyError(f"unsatisfied dependencies, and no terminal to ask: {names}", hint=hint)
    if not console.confirm("Continue?"):
        raise DependencyError(f"installation cancelled: {names}", hint=hint)


def _run_install(the_plan: Plan, kubectl: Kubectl, options: InstallOptions, *, force: bool) -> InstallResult:
    from kube.cli import console
    from kube.core.errors import HookError
    from kube.install import pipeline as install
    from kube.install.hooks import HOOK

    hook = the_plan.source.directory / HOOK
    if options.dry_run and options.hooks and not options.sandbox and hook.is_file():
        # A dry run still runs the hook (it may generate values the manifests use), with the
        # same rights as a real install: say so rather than let "dry run" suggest otherwise.
        console.info(
            f"Dry run: running {HOOK.as_posix()} of {the_plan.source.formula.name} on this machine, "
            "outside any sandbox (--sandbox contains it, --no-hooks skips it)"
        )
    try:
        result = install.install(
            the_plan, kubectl, options, lambda reach: _confirm_reach(reach, the_plan, force=force)
        )
    except HookError as exc:
        if exc.output:
            console.line(exc.output, stderr=True)
        raise
    if result.outcome == "dry run" and result.reach is not None:
        _describe_reach(result.reach, result.formula, would=True)
    return result


def _describe_reach(reach: Reach, formula: str, *, would: bool) -> None:
    from kube.cli import console

    verb = "would create" if would else "creates"
    if reach.cluster_scoped or reach.elsewhere:
        console.info(f"{formula} {verb} objects outside namespace {reach.namespace}:")
    if reach.cluster_scoped:
        console.line("  cluster-scoped: " + ", ".join(r.display for r in reach.cluster_scoped), stderr=True)
    for ns in reach.namespaces[1:]:
        names = ", ".join(r.display for r in reach.elsewhere if r.namespace == ns)
        console.line(f"  in namespace {ns} (--allow-namespace): {names}", stderr=True)


def _confirm_reach(reach: Reach, the_plan: Plan, *, force: bool) -> None:
    """List what goes outside the namespace the user chose. Cluster-scoped objects need consent:
    asked on a terminal, --force without one. Raises to stop before anything is created."""
    from kube.cli import console
    from kube.core.errors import DependencyError

    formula = the_plan.source.formula.name
    _describe_reach(reach, formula, would=False)
    if force or not reach.cluster_scoped:
        return  # objects in other namespaces were allowed by name with --allow-namespace
    what = ", ".join(r.display for r in reach.cluster_scoped[:3])
    more = f" and {len(reach.cluster_scoped) - 3} more" if len(reach.cluster_scoped) > 3 else ""
    hint = "review them (`kube install --dry-run`), then pass --force to create them"
    if not _interactive():
        raise DependencyError(
            f"{formula} creates cluster-scoped objects ({what}{more}), and there is no terminal to ask",
            hint=hint,
        )
    if not console.confirm("Continue?"):
        raise DependencyError(f"installation cancelled: {formula} creates {what}{more}", hint=hint)


def _show(result: InstallResult, fmt: str, deps: list[InstallResult], *, show_secrets: bool) -> None:
    from kube.cli import console
    from kube.k8s.objects import redact_secrets

    rendered = [o.data if show_secrets else redact_secrets(o.data) for o in result.rendered]
    if fmt == "json":
        data = result_json(result)
        if deps:
            data["dependencies"] = [result_json(d) for d in deps]
        if result.outcome == "dry run":
            data["items"] = rendered
        console.print_json(data)
    elif fmt == "yaml":
        _print_yaml(rendered)
        console.info(result.summary)
    else:
        print_objects(result.formula, result.version, result.objects)
        _summary(result)


def _summary(result: InstallResult) -> None:
    from kube.cli import console

    console.line(result.summary)


def _print_yaml(documents: list[dict[str, Any]]) -> None:
    import io
    import sys

    from ruamel.yaml import YAML

    from kube.cli import console

    yaml = YAML(typ="rt")  # keeps each object's key order, unlike the safe dumper
    yaml.default_flow_style = False
    # kubectl reads YAML 1.1, where a bare `no` or `on` is a boolean: quote such strings.
    yaml.representer.add_representer(str, _represent_str)
    buffer = io.StringIO()
    yaml.dump_all(documents, buffer)
    # Strings holding control or bidi characters were written double-quoted, where
    # console.safe's \xXX / \uXXXX escapes are YAML's own: same value, harmless text.
    sys.stdout.write(console.safe(buffer.getvalue()))


_YAML11_SPECIAL = re.compile(
    r"""^(?:y|n|yes|no|on|off|true|false|null|~|[-+]?(?:\d[\d_]*)?\.?[\d_]*(?:[eE][-+]?\d+)?"""
    r"""|[-+]?0[box]?[\d_a-fA-F]+|[-+]?\d[\d_]*(?::[0-5]?\d)+(?:\.\d*)?|[-+]?\.(?:inf|nan)|<<|=)$""",
    re.IGNORECASE,
)


def _represent_str(representer: Any, value: str) -> Any:
    from kube.cli.console import is_safe

    style = '"' if value == "" or _YAML11_SPECIAL.match(value) or not is_safe(value) else None
    if style is None and "\n" in value:
        style = "|"
    return representer.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_QUIET = ("created", "exists", "ready", "deleted", "already gone", "would create", "rolled back")


def _status_text(status: ObjectStatus) -> str:
    if status.status == "failed" and ":" in status.detail:
        return f"failed ({status.detail.split(':', 1)[0]})"
    return status.status


def print_objects(formula: str, version: str, objects: tuple[ObjectStatus, ...]) -> None:
    """The result table; the long reasons (API server messages) follow it, one line each."""
    from kube.cli import console

    rows = [
        (formula, version, o.ref.kind, o.ref.name, o.ref.namespace or "-", _status_text(o)) for o in objects
    ]
    console.print_table(("APP", "VERSION", "KIND", "NAME", "NAMESPACE", "STATUS"), rows)
    for o in objects:
        if o.detail and o.status not in _QUIET:
            console.line(f"  {o.ref.display}: {o.detail}")


def _object_json(status: ObjectStatus) -> dict[str, Any]:
    ref = status.ref
    return {"apiVersion": ref.api_version, "kind": ref.kind, "name": ref.name, "namespace": ref.namespace,
            "status": status.status, "detail": status.detail, "source": status.source}  # fmt: skip


def result_json(result: InstallResult | UninstallResult) -> dict[str, Any]:
    from kube.install.pipeline import InstallResult

    if isinstance(result, InstallResult):
        outcome, record = str(result.outcome), result.record
    else:
        outcome, record = ("uninstalled" if result.ok else "partly uninstalled"), None
    data: dict[str, Any] = {
        "formula": result.formula,
        "version": result.version,
        "namespace": result.namespace,
        "outcome": outcome,
        "summary": result.summary,
        "objects": [_object_json(o) for o in result.objects],
    }
    if record is not None:
        data["record"] = record.to_json()
    reach = getattr(result, "reach", None)
    if reach is not None:
        data["namespaces"] = list(reach.namespaces)
        data["clusterScoped"] = [{"apiVersion": r.api_version, "kind": r.kind, "name": r.name}
                                 for r in reach.cluster_scoped]  # fmt: skip
    return data


def _raise_for(result: InstallResult) -> None:
    from kube.core.errors import ClusterError

    if result.outcome in ("partial", "failed", "rolled back"):
        failed = [o for o in result.objects if o.status == "failed"]
        first = f"{failed[0].ref.display} {_status_text(failed[0])}" if failed else "see above"
        if len(failed) > 1:
            first += f" and {len(failed) - 1} more"
        hint = (
            "fix the formula and run `kube install` again, or remove what exists with "
            f"`kube uninstall {result.formula} -n {result.namespace}`"
            if result.outcome == "partial"
            else "fix the formula and run `kube install` again"
        )
        raise ClusterError(f"install of {result.formula} failed: {first}", hint=hint)
    if result.wait is not None:
        result.wait.raise_for_status()


def record_row(record: Record) -> dict[str, Any]:
    return {
        "name": record.formula,
        "version": record.version,
        "namespace": record.namespace,
        "status": record.status,
        "installedAt": record.installed_at,
        "objects": len(record.objects),
    }
