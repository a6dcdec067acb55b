"""What ``kube install`` does and prints, without Typer: the command (``kube.cli.install``) and
the start-up fast path (``kube.cli.entry``, for the plain forms of an install) both call ``run``."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from kube.cli import console
from kube.cli.choices import HOOK_TIMEOUT, TIMEOUT, OutputFormat, capabilities_option, choose
from kube.cli.results import kubectl_for, print_objects, progress_printer, result_json, status_text
from kube.core import yaml_text
from kube.core.durations import parse_duration
from kube.core.errors import ClusterError, DependencyError, HookError, KubeError
from kube.formula.hook_needs import HOOK
from kube.install import pipeline as install
from kube.install.pipeline import InstallOptions, InstallResult, Plan, Reach
from kube.k8s.kubectl import Kubectl, validate_namespace
from kube.k8s.kubectl_output import Reason
from kube.k8s.objects import redact_secrets
from kube.k8s.release_names import install_calls_ahead, validate_release_name

#: "1" forces prompts even without a terminal (answers are read from stdin); "0" never prompts.
ENV_INTERACTIVE = "KUBE_INTERACTIVE"
#: Set by an install on many clusters for its children once the user accepted unsatisfied
#: dependencies for all of them (the question is asked once).
ENV_DEPENDENCIES_CONFIRMED = "KUBE_DEPENDENCIES_CONFIRMED"

if TYPE_CHECKING:
    from pathlib import Path

    from kube.clusters.registry import Cluster
    from kube.formula.load import Formula
    from kube.formula.patches import PatchSet


def run(
    formula: str,
    *,
    namespace: str | None = None,
    name: str | None = None,
    context: str | None = None,
    kubeconfig: str | None = None,
    cluster: Sequence[str] | None = None,
    all_clusters: bool = False,
    cluster_selector: str | None = None,
    output: OutputFormat | None = None,
    force: bool = False,
    allow_namespace: Sequence[str] | None = None,
    with_deps: bool = False,
    values: Sequence[Path] | None = None,
    set_: Sequence[str] | None = None,
    set_string: Sequence[str] | None = None,
    patch: Sequence[Path] | None = None,
    kube_version: str | None = None,
    no_hooks: bool = False,
    hook_timeout: str = HOOK_TIMEOUT,
    sandbox: bool = False,
    dry_run: bool = False,
    server_dry_run: bool = False,
    wait: bool = False,
    timeout: str = TIMEOUT,
    atomic: bool = False,
    show_secrets: bool = False,
) -> None:
    """``kube install``, its options as the command's (see ``kube.cli.install``)."""
    dry_run = dry_run or server_dry_run
    machine = (OutputFormat.json, OutputFormat.yaml) if dry_run else (OutputFormat.json,)
    fmt = choose(output, *machine, default=OutputFormat.yaml if dry_run else OutputFormat.table)
    options = replace(
        _render_options(
            values, set_, set_string, patch, allow_namespace, kube_version, no_hooks, hook_timeout, sandbox,
            dry_run=dry_run,
        ),
        wait=parse_duration(timeout) if wait else None,
        atomic=atomic,
        timeout=parse_duration(timeout),
        on_event=progress_printer() if fmt is OutputFormat.table else None,
        server_dry_run=server_dry_run,
    )  # fmt: skip
    if name is not None:
        validate_release_name(name)
    from kube.cli import fanout  # not for kube template, which runs nowhere else

    chosen = fanout.choose(cluster, all_clusters, cluster_selector, context, kubeconfig)
    if chosen.many:
        env = _confirm_dependencies_everywhere(
            chosen.many, formula, namespace, name, force=force or with_deps, dry_run=dry_run
        )
        outcomes = fanout.run_on(chosen.many, env=env)
        fanout.report(
            outcomes,
            verb="install",
            release=name or os.path.basename(formula.rstrip("/")),
            as_json=fmt is OutputFormat.json,
            success="installed",
        )
        return
    context, kubeconfig = chosen.context, chosen.kubeconfig
    kubectl = kubectl_for(context, kubeconfig, namespace)
    # Started while the formula is found and loaded (the entry point's fast path started them
    # earlier still: then they are found under way).
    install_calls_ahead(kubectl, namespace, dry_run=dry_run)
    source = install.resolve(formula)
    _announce(source.notes, source.warnings)
    # Rendered while the release read started above is still under way (for a formula whose
    # hook would run: once the plan allowed the install, as before).
    ahead = install.render_ahead(source, kubectl, options, namespace=namespace, release=name)
    the_plan = install.plan(source, kubectl, namespace=namespace, dry_run=dry_run, release=name)
    installed_deps: list[InstallResult] = []
    if with_deps and the_plan.unsatisfied:
        installed_deps = _install_dependencies(the_plan, kubectl, options, fmt, force=force)
        # The dependencies may have added API types a template asks about: render again.
        ahead = None
        if not dry_run:
            the_plan = install.plan(source, kubectl, namespace=the_plan.namespace, release=name)
    _confirm_dependencies(the_plan, force=force, dry_run=dry_run)
    result = _run_install(the_plan, kubectl, options, force=force, ahead=ahead)
    _show(result, fmt, installed_deps, show_secrets=show_secrets)
    _raise_for(result)


def template(
    formula: str,
    *,
    namespace: str | None = None,
    name: str | None = None,
    output: OutputFormat | None = None,
    allow_namespace: Sequence[str] | None = None,
    values: Sequence[Path] | None = None,
    set_: Sequence[str] | None = None,
    set_string: Sequence[str] | None = None,
    patch: Sequence[Path] | None = None,
    kube_version: str | None = None,
    no_hooks: bool = False,
    hook_timeout: str = HOOK_TIMEOUT,
    sandbox: bool = False,
    show_secrets: bool = False,
) -> None:
    """``kube template``: what ``kube install --dry-run`` prints, rendered on this machine alone:
    no kubectl runs and no kubeconfig is read (``kube.cli.template``)."""
    # YAML is what people read here too: table and text name it.
    fmt = choose(output, OutputFormat.json, OutputFormat.yaml, default=OutputFormat.yaml)
    options = replace(
        _render_options(
            values, set_, set_string, patch, allow_namespace, kube_version, no_hooks, hook_timeout, sandbox,
            dry_run=True,
        ),
        offline=True,
    )  # fmt: skip
    source = install.resolve(formula)
    _announce(source.notes, source.warnings)
    the_plan = install.offline_plan(source, namespace=namespace, release=name)
    if source.formula.dependencies:
        console.warn(
            "dependencies not checked: kube template does not read the cluster "
            "(kube install --dry-run checks them)"
        )
    # Never called: the plan reads nothing and capabilities are offline (a test runs kubectl as a trap).
    kubectl = kubectl_for(None, None, the_plan.namespace)
    result = _run_install(the_plan, kubectl, options, force=True, describe=False)
    rendered = _rendered(result, show_secrets=show_secrets)
    if fmt is OutputFormat.json:
        # kubectl's own shape for many objects: `kubectl apply -f -` reads it back.
        console.print_json({"apiVersion": "v1", "kind": "List", "items": rendered})
    else:
        _print_yaml(rendered)  # -o table and text too: a template's output for people is YAML


def _render_options(
    values: Sequence[Path] | None,
    set_: Sequence[str] | None,
    set_string: Sequence[str] | None,
    patch: Sequence[Path] | None,
    allow_namespace: Sequence[str] | None,
    kube_version: str | None,
    no_hooks: bool,
    hook_timeout: str,
    sandbox: bool,
    *,
    dry_run: bool,
) -> InstallOptions:
    """What decides the objects, from the options install and template share."""
    return install.InstallOptions(
        patches=_patches(patch),
        capabilities=capabilities_option(kube_version, dry_run=dry_run),
        value_files=tuple(values or ()),
        sets=tuple(set_ or ()),
        set_strings=tuple(set_string or ()),
        hooks=not no_hooks,
        hook_timeout=parse_duration(hook_timeout, "--hook-timeout"),
        sandbox=sandbox,
        interactive=_interactive(),
        dry_run=dry_run,
        allow_namespaces=tuple(validate_namespace(n) for n in allow_namespace or ()),
        on_hook_output=show_hook_output,
    )


def show_hook_output(output: str) -> None:
    """What a hook printed, when it did not have the terminal: each line on stderr, prefixed
    ``hook: `` and with control characters escaped (a hook is a stranger's code)."""
    for text in output.rstrip("\n").splitlines():
        console.line(f"hook: {console.safe_line(text)}", stderr=True)


def _patches(files: Sequence[Path] | None) -> tuple[PatchSet, ...]:
    if not files:
        return ()  # the patch engine is not loaded for an install without --patch
    from kube.formula.patches import read_patch_files

    return read_patch_files(files)


def _interactive() -> bool:
    forced = os.environ.get(ENV_INTERACTIVE, "")
    if forced in ("0", "1"):
        return forced == "1"
    return console.is_interactive()


def _confirm_dependencies_everywhere(
    clusters: tuple[Cluster, ...],
    formula: str,
    namespace: str | None,
    release: str | None,
    *,
    force: bool,
    dry_run: bool,
) -> dict[str, str]:
    """Ask once whether to install where dependencies are missing, for every cluster at once:
    the plans are read in parallel, the warnings name their cluster. The children are told the
    answer (``ENV_DEPENDENCIES_CONFIRMED``); a cluster that cannot be read is left to its child."""
    if force or dry_run:
        return {}
    from kube.clusters.inspect import kubectl_of, parallel

    source = install.resolve(formula)
    _announce(source.notes, source.warnings)

    def unsatisfied(cluster: Cluster) -> tuple[str, ...]:
        kubectl = kubectl_of(cluster, namespace=namespace)
        try:
            found = install.plan(source, kubectl, namespace=namespace, release=release).unsatisfied
        except KubeError:
            return ()
        return tuple(f"{m.name} ({m.range}): {m.detail}" for m in found)

    missing = dict(zip((c.name for c in clusters), parallel(clusters, unsatisfied), strict=True))
    if not any(missing.values()):
        return {}
    from kube.install.deps import MAY_NOT_FUNCTION

    for cluster, lines in missing.items():
        for line in lines:
            console.line(f"!!-> WARNING: cluster {cluster}: {line}", stderr=True)
    console.line(f"!!-> {MAY_NOT_FUNCTION}", stderr=True)
    names = "; ".join(f"{c}: {', '.join(lines)}" for c, lines in missing.items() if lines)
    hint = "install them first (add --with-deps to take them from the archive), or pass --force"
    if not _interactive():
        raise DependencyError(f"unsatisfied dependencies, and no terminal to ask: {names}", hint=hint)
    if not console.confirm("Continue on every cluster?"):
        raise DependencyError(f"installation cancelled: {names}", hint=hint)
    return {ENV_DEPENDENCIES_CONFIRMED: "1"}


def _announce(notes: tuple[str, ...], warnings: tuple[str, ...]) -> None:
    for note in notes:
        console.info(note)
    for warning in warnings:
        console.warn(warning)


def _install_dependencies(
    the_plan: Plan, kubectl: Kubectl, options: InstallOptions, fmt: OutputFormat, *, force: bool
) -> list[InstallResult]:
    from kube.formula.values import merge_values
    from kube.install import deps

    def plan(formula: Formula, namespace: str) -> Plan:
        source = install.Source(formula, formula.path, "archive")
        return install.plan(source, kubectl, namespace=namespace)

    def show(result: InstallResult) -> None:
        if fmt is OutputFormat.table:
            print_objects(result.formula, result.version, result.objects)
            _summary(result)

    # What the user gave reaches a dependency only under its name (--set mongodb.database=chat):
    # its values are already in the dependency's formula, so no --set is given to it again. A
    # dependency is waited for (within --timeout) even without --wait: it counts once it is ready.
    user = merge_values(
        {}, value_files=options.value_files, sets=options.sets, set_strings=options.set_strings
    )
    own = replace(options, value_files=(), sets=(), set_strings=(), wait=options.wait or options.timeout)

    def _dependency_options(dep_plan: Plan) -> InstallOptions:
        # A dependency gets the patches its dependents declare for it, never the user's --patch.
        declared = deps.declared_patches(
            the_plan.source.formula, dep_plan.source.formula.name, install.load_from_archive
        )
        return replace(own, patches=declared)

    results = deps.install_dependencies(
        the_plan.source.formula,
        the_plan.records,
        install.load_from_archive,
        namespace=the_plan.namespace,
        plan=plan,
        install=lambda dep_plan: _run_install(dep_plan, kubectl, _dependency_options(dep_plan), force=force),
        user_values=user,
        dry_run=options.dry_run,
        progress=console.info,
        installed=show,
    )
    for result in results:
        _raise_for(result)
    return results


def _confirm_dependencies(the_plan: Plan, *, force: bool, dry_run: bool) -> None:
    if not the_plan.unsatisfied:
        for note in the_plan.notes:
            console.warn(note)
        return
    from kube.install.deps import MAY_NOT_FUNCTION

    for missing in the_plan.unsatisfied:
        console.line(f"!!-> WARNING: {missing.warning}", stderr=True)
    console.line(f"!!-> {MAY_NOT_FUNCTION}", stderr=True)
    if dry_run or force or os.environ.get(ENV_DEPENDENCIES_CONFIRMED) == "1":
        return
    names = ", ".join(f"{m.name} ({m.range}): {m.detail}" for m in the_plan.unsatisfied)
    hint = "install them first (add --with-deps to take them from the archive), or pass --force"
    if not _interactive():
        raise DependencyError(f"unsatisfied dependencies, and no terminal to ask: {names}", hint=hint)
    if not console.confirm("Continue?"):
        raise DependencyError(f"installation cancelled: {names}", hint=hint)


def _run_install(
    the_plan: Plan,
    kubectl: Kubectl,
    options: InstallOptions,
    *,
    force: bool,
    describe: bool = True,
    ahead: install.RenderedAhead | None = None,
) -> InstallResult:
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
            the_plan,
            kubectl,
            options,
            lambda reach: confirm_reach(reach, the_plan.source.formula.name, force=force),
            ahead,
        )
    except HookError as exc:
        if exc.output:
            console.line(exc.output, stderr=True)
        raise
    if describe and result.outcome == "dry run" and result.reach is not None:
        _describe_reach(result.reach, result.formula, would=True)
    return result


def _describe_reach(reach: Reach, formula: str, *, would: bool) -> None:
    verb = "would create" if would else "creates"
    if reach.cluster_scoped or reach.elsewhere:
        console.info(f"{formula} {verb} objects outside namespace {reach.namespace}:")
    if reach.cluster_scoped:
        console.line("  cluster-scoped: " + ", ".join(r.display for r in reach.cluster_scoped), stderr=True)
    for ns in reach.namespaces[1:]:
        names = ", ".join(r.display for r in reach.elsewhere if r.namespace == ns)
        console.line(f"  in namespace {ns} (--allow-namespace): {names}", stderr=True)


def confirm_reach(reach: Reach, who: str, *, force: bool, command: str = "install") -> None:
    """List what goes outside the namespace the user chose. Cluster-scoped objects need consent:
    asked on a terminal, --force without one. Raises to stop before anything is created.
    ``who``: the formula an install creates, the release an upgrade changes (which asks about
    the cluster-scoped objects the release did not have before)."""
    _describe_reach(reach, who, would=False)
    if force or not reach.cluster_scoped:
        return  # objects in other namespaces were allowed by name with --allow-namespace
    what = ", ".join(r.display for r in reach.cluster_scoped[:3])
    more = f" and {len(reach.cluster_scoped) - 3} more" if len(reach.cluster_scoped) > 3 else ""
    hint = f"review them (`kube {command} --dry-run`), then pass --force to create them"
    if not _interactive():
        raise DependencyError(
            f"{who} creates cluster-scoped objects ({what}{more}), and there is no terminal to ask",
            hint=hint,
        )
    if not console.confirm("Continue?"):
        cancelled = "installation" if command == "install" else command
        raise DependencyError(f"{cancelled} cancelled: {who} creates {what}{more}", hint=hint)


def _show(
    result: InstallResult, fmt: OutputFormat, dependencies: list[InstallResult], *, show_secrets: bool
) -> None:
    rendered = _rendered(result, show_secrets=show_secrets)
    if fmt is OutputFormat.json:
        data = result_json(result)
        if dependencies:
            data["dependencies"] = [result_json(d) for d in dependencies]
        if result.outcome == "dry run":
            data["items"] = rendered
        console.print_json(data)
    elif fmt is OutputFormat.yaml and (rendered or not result.objects):
        _print_yaml(rendered)
        console.info(result.summary)
    else:
        if result.cause:
            # Why, before the rollback's rows: they say only what was undone.
            console.line(f"==> {result.release or result.formula}: {result.cause}; rolling back (--atomic)")
        print_objects(result.release or result.formula, result.version, result.objects)
        _summary(result)


def _rendered(result: InstallResult, *, show_secrets: bool) -> list[dict[str, Any]]:
    """The objects a dry run or template prints: Secrets masked unless ``--show-secrets``."""
    return [o.data if show_secrets else redact_secrets(o.data) for o in result.rendered]


def _summary(result: InstallResult) -> None:
    console.line(result.summary)


def _print_yaml(documents: list[dict[str, Any]]) -> None:
    # Strings holding control or bidi characters were written double-quoted (kube.core.yaml_text),
    # where console.safe's \xXX / \uXXXX escapes are YAML's own: same value, harmless text.
    sys.stdout.write(console.safe(yaml_text.dump_all(documents)))


def _raise_for(result: InstallResult) -> None:
    if result.outcome == "rolled back" and result.wait is not None and not result.wait.ready:
        # The exit status of the cause: 9 when an object was not ready in time, 8 when one failed.
        try:
            result.wait.raise_for_status()
        except ClusterError as exc:
            message = f"install of {result.formula} rolled back: {exc.message}"
            raise type(exc)(message, hint=exc.hint) from None
    if result.outcome in ("partial", "failed", "rolled back"):
        failed = [o for o in result.objects if o.status == "failed"]
        where = f" ({failed[0].source})" if failed and failed[0].source else ""
        first = f"{failed[0].ref.display}{where} {status_text(failed[0])}" if failed else "see above"
        if len(failed) > 1:
            first += f" and {len(failed) - 1} more"
        unserved = [o for o in failed if o.detail.startswith(f"{Reason.NO_MATCH}:")]
        fix = (
            # The formula may be right and the cluster lack the type (its CRD, or an old server).
            f"the cluster serves no {unserved[0].ref.api_version} {unserved[0].ref.kind}: install the "
            "kube or CustomResourceDefinition that defines it (or fix the apiVersion), then run "
            "`kube install` again"
            if unserved
            else "fix the formula and run `kube install` again"
        )
        hint = (
            f"{fix}, or remove what exists with `kube uninstall {result.formula} -n {result.namespace}`"
            if result.outcome == "partial"
            else fix
        )
        raise ClusterError(f"install of {result.formula} failed: {first}", hint=hint)
    if result.wait is not None:
        result.wait.raise_for_status()
