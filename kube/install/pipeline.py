"""The install pipeline: resolve, check against the cluster, hook, render, then create (``kube.create``).

``resolve`` finds the formula: a path (the argument contains ``/`` or starts
with ``.``), else the ``kube get`` workspace copy, else the archive. A formula of the archive
is fetched first when the clone is sparse, and refused when its files on disk are not those
of the archive's HEAD (``kube.archive.verify``): no hook runs and nothing is rendered from it. ``plan``
reads the cluster: the release (``--name``, the formula's name by default) in
the target namespace with its history, and, when the formula has dependencies,
every release the user may list (the whole cluster, or the namespace when RBAC
allows no more). A release whose latest revision is complete is not installed
again: ``kube.install.create.reinstall`` reports its objects ``ok`` and repairs
drift when the version and values are the same, and refuses otherwise (exit 11,
``kube upgrade``).
``install`` merges the values, stages a private copy, runs the hook there,
renders, applies the patches (the formula's own, then ``options.patches``: ``--patch`` files
or a dependent formula's, recorded in the revision), labels and orders the objects into
waves, and hands them to ``kube.install.create``. The values digest in the record is taken from the values the
user gave (K3.yaml, ``--values``, ``--set``), before the hook adds generated
secrets, so that two installs with the same inputs record the same digest.
``render_ahead`` makes that render before ``plan``, while the release read is under way, for a
formula with no hook to run; ``install`` then uses it for the same plan.

Before anything reaches the cluster, what a formula may not do is refused
(``check_trusted``, exit 4): an object shaped like kube's install record (a
Secret of type ``kube.sh/*``, a name starting ``kube.install.``, the
``kube.sh/record`` label), more than ``MAX_OBJECTS`` objects, or a namespaced
object whose ``metadata.namespace`` is not the install namespace unless the
user allowed that namespace (``--allow-namespace``). Cluster-scoped objects
(the install namespace itself aside) are handed to the caller's ``confirm``
first; the command asks, or requires ``--force`` without a terminal.

``--dry-run`` does all of that but create. It runs kubectl only to read the
kubeconfig's namespace when ``-n`` is not given, to read the release (so it
says "already installed" or "would upgrade" rather than "would create"), and
the releases the dependencies need (reported, never asked about), and, for a formula with
templates, the server's version and API versions (``kube.capabilities``, unless
``--kube-version`` names them); an unreachable cluster then only means none of that is
checked (templates see the default capabilities). ``--server-dry-run``
sends every object to the API server once with ``--dry-run=server``
(``kube.install.create.server_dry_run``): admission and validation, nothing stored. It never
writes to the cluster. The hook does run, as in a real install and outside
any sandbox unless ``--sandbox`` is given: a dry run shows what the install
would create, and the hook may generate values the manifests use (the command
says so in one line before it runs).

The plan, options, results and their statuses are ``kube.install.results``' (named here too),
so that create and uninstall, which this module calls, never import it back.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kube.core.errors import ClusterError, KubeError, NotFoundError, RenderError, UsageError
from kube.formula.refusals import MAX_OBJECTS, record_lookalike, too_many
from kube.install.results import (
    Inputs,
    InstallOptions,
    InstallOutcome,
    InstallResult,
    ObjectState,
    ObjectStatus,
    Plan,
    Reach,
    Source,
)
from kube.k8s.kubectl import Kubectl, ObjectRef, check_object_name
from kube.k8s.objects import as_sent, ref_of

if TYPE_CHECKING:
    from kube.formula.load import Formula
    from kube.k8s.capabilities import Capabilities
    from kube.k8s.objects import KubeObject, Scopes

__all__ = [
    "CREATED", "EXISTS", "FAILED", "MAX_OBJECTS", "ROLLED_BACK", "SKIPPED", "WOULD_CREATE",
    "InstallOptions", "InstallOutcome", "InstallResult", "ObjectState", "ObjectStatus", "Plan", "Reach",
    "RenderedAhead",
    "Source", "as_sent", "check_trusted", "install", "is_path", "load_from_archive", "plan", "reach_of",
    "ref_of", "render_ahead", "resolve",
]  # fmt: skip

CREATED, EXISTS, FAILED, SKIPPED, ROLLED_BACK, WOULD_CREATE = (
    ObjectState.CREATED, ObjectState.EXISTS, ObjectState.FAILED, ObjectState.SKIPPED,
    ObjectState.ROLLED_BACK, ObjectState.WOULD_CREATE,
)  # fmt: skip


# -- resolve ------------------------------------------------------------------------------------


def is_path(ref: str) -> bool:
    return "/" in ref or ref.startswith(".")


def resolve(ref: str) -> Source:
    """The formula ``ref`` names; see the module docstring for the order."""
    from kube.core import paths
    from kube.formula.load import load_formula

    if is_path(ref):
        directory = Path(ref).expanduser().absolute()
        if not (directory / paths.METADATA_FILE).is_file():
            raise NotFoundError(f"{ref}: no formula there (no {paths.METADATA_FILE})", hint="check the path")
        formula = load_formula(directory, display_root=directory.parent)
        return Source(formula, directory, "path", warnings=_warnings(formula))
    from kube.archive import update as archive

    workspace = archive.workspace_copy(ref)
    if workspace is not None:
        formula = load_formula(workspace, display_root=paths.workspace_dir())
        notes: tuple[str, ...] = (f"Using your edited copy of {ref} in {workspace}",)
        newer = _archive_version(ref)
        warnings = _warnings(formula)
        if newer is not None and newer > formula.version:
            warnings += (
                f"the archive holds {ref} {newer}, newer than your edited copy ({formula.version}); "
                f"delete {workspace} to install the archive's version",
            )
        return Source(formula, workspace, "workspace", notes, warnings)
    from kube.archive import verify

    notes = ("Cloned the archive (first use)",) if archive.ensure_archive() else ()
    directory = verify.formula_dir(ref)  # fetched when the clone is sparse, checked against HEAD
    formula = load_formula(directory, display_root=paths.archive_dir())
    return Source(formula, directory, "archive", notes, _warnings(formula))


def _archive_version(name: str) -> Any:
    from kube.archive import update as archive
    from kube.core.errors import KubeError
    from kube.formula.load import load_formula

    # Only K3.yaml is read, and a sparse clone always has it: nothing is fetched for a warning.
    directory = archive.archive_formula(name)
    try:
        return load_formula(directory).version if directory is not None else None
    except KubeError:
        return None


def _warnings(formula: Formula) -> tuple[str, ...]:
    return tuple(str(f) for f in formula.warnings)


def load_from_archive(name: str) -> Formula:
    """A formula of the archive by name (for ``--with-deps``), fetched and checked as ``resolve``'s."""
    from kube.archive import verify
    from kube.core import paths
    from kube.formula.load import load_formula

    return load_formula(verify.formula_dir(name), display_root=paths.archive_dir())


# -- plan ---------------------------------------------------------------------------------------


def plan(
    source: Source,
    kubectl: Kubectl,
    *,
    namespace: str | None = None,
    dry_run: bool = False,
    release: str | None = None,
) -> Plan:
    """Read what the cluster has: the release ``release`` (the formula's name by default) in
    ``namespace`` with its history, and the releases its dependencies need. Two kubectl calls at
    most (the release, plus every release the user may list when the formula has dependencies),
    a kubeconfig read when no namespace is given, and one ``kubectl get`` of the candidate
    dependencies' objects when there are any. A dry run reads the same, so it can say "already
    installed" or "would upgrade"; an unreachable cluster then only means nothing was checked."""
    from kube.install import deps
    from kube.k8s import releases

    formula = source.formula
    name = releases.validate_release_name(release or formula.name)
    ns = kubectl.namespace_or_current(namespace)
    try:
        existing = releases.read_release(kubectl, name, ns)
        found: list[releases.Revision] = []
        if formula.dependencies:
            listed = releases.list_releases_visible(kubectl, ns)
            found = [r.latest for r in listed if r.latest is not None]
            # A dependency counts only while its objects exist, not merely because it was recorded.
            found = deps.verify(kubectl, formula, found)
    except ClusterError as exc:
        if not dry_run:
            raise
        what = "dependencies and existing releases" if formula.dependencies else "existing releases"
        return Plan(source, ns, None, (), (), (f"{what} not checked: {exc.message}",), release=name)
    if existing is not None and existing.problem:
        raise ClusterError(
            existing.problem,
            hint=f"inspect it with `kube history {name} -n {ns}`; "
            f"remove it with `kube uninstall {name} -n {ns}`",
        )
    unsatisfied = tuple(deps.check(formula, found, ns))
    return Plan(source, ns, existing, tuple(found), unsatisfied, release=name)


class RenderedAhead:
    """A render made before the cluster was read (``render_ahead``), for ``install`` to use when
    its plan has the same formula, namespace, release name and options. What the render raised
    is kept too, and raised where ``install`` would have rendered: never, when the plan finds
    the release installed already, exactly as without a render ahead."""

    __slots__ = ("error", "namespace", "options", "release", "rendered", "source")

    def __init__(self, source: Source, namespace: str, release: str, options: InstallOptions) -> None:
        self.source, self.namespace, self.release, self.options = source, namespace, release, options
        self.rendered: tuple[list[KubeObject], bool, Inputs] | None = None
        self.error: Exception | None = None

    def fits(self, the_plan: Plan, options: InstallOptions) -> bool:
        return (
            the_plan.source is self.source
            and the_plan.namespace == self.namespace
            and the_plan.release_name == self.release
            and options is self.options
        )

    def take(self) -> tuple[list[KubeObject], bool, Inputs]:
        if self.error is not None:
            raise self.error
        assert self.rendered is not None
        return self.rendered


class _HookAhead(Exception):
    """The formula has a hook to run: it runs only once the plan allowed the install."""


def render_ahead(
    source: Source, kubectl: Kubectl, options: InstallOptions, *, namespace: str | None, release: str | None
) -> RenderedAhead | None:
    """Render ``source`` now, while the release read started ahead (``install_calls_ahead``) is
    still under way, so that the install's first wave can be sent once that read is back. Not
    for a formula whose hook would run (a hook runs only after the plan allowed the install,
    and may change what the server serves); None then, and ``install`` renders as before.

    Rendering changes nothing outside a private temporary directory: a template's
    ``kube.capabilities`` is read from the cluster, as it would be a moment later."""
    try:
        ns = kubectl.namespace_or_current(namespace)
    except KubeError:  # the plan reads the namespace again, and reports it
        return None
    ahead = RenderedAhead(source, ns, release or source.formula.name, options)
    the_plan = Plan(source, ns, None, (), (), release=ahead.release)
    try:
        ahead.rendered = _render(the_plan, options, kubectl, hook_allowed=False)
    except _HookAhead:
        return None
    except Exception as exc:  # raised where install renders, if it does
        ahead.error = exc
    return ahead


def offline_plan(source: Source, *, namespace: str | None = None, release: str | None = None) -> Plan:
    """``plan`` for ``kube template``: nothing is read, neither the cluster nor the kubeconfig,
    so one formula and its values render the same on every machine (``namespace`` defaults to
    ``default``); an install's checks of existing releases and dependencies are not made."""
    from kube.k8s.kubectl import validate_namespace
    from kube.k8s.release_names import validate_release_name

    name = validate_release_name(release or source.formula.name)
    ns = validate_namespace(namespace) if namespace else "default"
    return Plan(source, ns, None, (), (), release=name)


# -- install ------------------------------------------------------------------------------------


def install(
    the_plan: Plan,
    kubectl: Kubectl,
    options: InstallOptions,
    confirm: Callable[[Reach], None] | None = None,
    ahead: RenderedAhead | None = None,
) -> InstallResult:
    """Stage, hook, render and (unless a dry run) create; see the module docstring.

    ``confirm`` is shown, before anything reaches the cluster, the objects outside the install
    namespace when there are any; it raises to stop the install. ``ahead`` is a render made
    before the plan (``render_ahead``), used when it is of the same plan."""
    from kube.k8s.objects import Scopes

    formula, ns = the_plan.source.formula, the_plan.namespace
    latest = the_plan.latest
    if latest is not None:
        # The record format loads only when there is a release to look at (never for a
        # template), the create step only when something is sent.
        from kube.k8s.release_format import ReleaseStatus

        if latest.status == ReleaseStatus.UNINSTALLING:
            from kube.install.results import uninstalling_error

            raise uninstalling_error(latest)
        if the_plan.already_installed:
            from kube.install import create

            # Same version and values: nothing is rendered and no hook runs; drift is repaired
            # from the revision's own manifest. Anything else is an upgrade's business.
            return create.reinstall(the_plan, kubectl, options, _given_values(the_plan, options))
    if ahead is not None and ahead.fits(the_plan, options):
        rendered, hook_ran, inputs = ahead.take()
    else:
        rendered, hook_ran, inputs = _render(the_plan, options, kubectl)
    scopes = Scopes(rendered)
    waves = _waves(rendered, formula, ns, scopes, options.allow_namespaces, the_plan.release_name)
    among = [o for w in waves for o in w]
    reach = reach_of(among, ns, scopes)
    if options.dry_run and not options.server_dry_run:
        statuses = tuple(ObjectStatus(ref_of(o, ns, scopes), WOULD_CREATE, source=o.source) for o in among)
        flat = tuple(replace(o, data=as_sent(o, ns, scopes)) for o in among)
        resumed = the_plan.resumable
        note = (
            f"would resume the unfinished install (revision {resumed.revision}, {resumed.outcome})"
            if resumed is not None
            else ""
        )
        return InstallResult(
            formula.name, str(formula.version), ns, InstallOutcome.DRY_RUN, statuses, rendered=flat,
            hook_ran=hook_ran, reach=reach, release=the_plan.release_name, note=note,
        )  # fmt: skip
    from kube.install import create

    if options.server_dry_run:
        result = create.server_dry_run(the_plan, waves, kubectl, scopes)
        flat = tuple(replace(o, data=as_sent(o, ns, scopes)) for o in among)
        return replace(result, reach=reach, rendered=flat, hook_ran=hook_ran)
    from kube.install.served import refuse_unserved

    # Before the question and before the first object: kubectl would stop at such an object
    # only after creating the ones before it.
    refuse_unserved(kubectl, among)
    if confirm is not None and (reach.cluster_scoped or reach.elsewhere):
        confirm(reach)

    result = create.create(the_plan, waves, kubectl, options, inputs, hook_ran, scopes)
    return replace(result, reach=reach)


def _given_values(the_plan: Plan, options: InstallOptions) -> dict[str, Any]:
    from kube.formula import render

    formula = the_plan.source.formula
    return render.merge_values(
        formula.values, value_files=options.value_files, sets=options.sets, set_strings=options.set_strings
    )


def reach_of(objs: Sequence[KubeObject], ns: str, scopes: Scopes) -> Reach:
    """The formula's cluster-scoped objects (bar the install namespace itself) and its objects
    in other namespaces."""
    cluster: list[ObjectRef] = []
    elsewhere: list[ObjectRef] = []
    for obj in objs:
        ref = ref_of(obj, ns, scopes)
        if not ref.namespace:
            if not (obj.group == "" and obj.kind == "Namespace" and obj.name == ns):
                cluster.append(ref)
        elif ref.namespace != ns:
            elsewhere.append(ref)
    return Reach(ns, tuple(cluster), tuple(elsewhere))


def capabilities_for(
    kubectl: Kubectl, given: Capabilities | None, *, dry_run: bool, offline: bool = False
) -> Callable[[], Capabilities]:
    """What templates see as ``kube.capabilities``: ``given`` (``--kube-version``), else the
    cluster's, read the first time a template asks (and once per process); a dry run that cannot
    reach the cluster uses the defaults, and so does an ``offline`` one without asking."""

    def find() -> Capabilities:
        if given is not None:
            return given
        from kube.k8s import capabilities

        if offline:
            return capabilities.offline()
        try:
            return capabilities.read(kubectl)
        except ClusterError:
            if not dry_run:
                raise
            return capabilities.offline()

    return find


def _render(
    the_plan: Plan, options: InstallOptions, kubectl: Kubectl, *, hook_allowed: bool = True
) -> tuple[list[KubeObject], bool, Inputs]:
    from kube.formula import render
    from kube.install import staging

    formula, ns = the_plan.source.formula, the_plan.namespace
    values = _given_values(the_plan, options)
    given = values
    hook_ran = False
    with tempfile.TemporaryDirectory(prefix="kube-install-") as tmp:
        staged = staging.stage_formula(the_plan.source.directory, Path(tmp))
        if options.hooks and staging.has_hook(staged):
            if not hook_allowed:
                raise _HookAhead
            from kube.install import hooks

            hook = hooks.run_pre_install(
                staged, formula=formula, namespace=ns, values=values, timeout=options.hook_timeout,
                sandbox=options.sandbox, interactive=options.interactive,
            )  # fmt: skip
            values, hook_ran = hook.values, hook.ran
            if hook_ran:
                from kube.k8s.kubectl import cancel_waiting

                # A kubectl started before the hook knows the types the API server served then;
                # the hook may have added some (CRDs) that the create must validate against.
                cancel_waiting()
            if hook.output and options.on_hook_output is not None:
                options.on_hook_output(hook.output)
        objs = render.render_manifests(
            formula, staged, values, namespace=ns, release=the_plan.release_name, patches=options.patches,
            capabilities=capabilities_for(
                kubectl, options.capabilities, dry_run=options.dry_run, offline=options.offline
            ),
        )  # fmt: skip
    patches = tuple(p.to_json() for p in options.patches)
    return objs, hook_ran, Inputs(given, values if hook_ran else {}, patches=patches)


def _waves(
    rendered: Sequence[KubeObject],
    formula: Formula,
    ns: str,
    scopes: Scopes,
    allowed: Sequence[str] = (),
    release: str = "",
) -> list[list[KubeObject]]:
    from kube.install.apply import with_default_protocols, with_string_quantities
    from kube.k8s import objects
    from kube.k8s.release_names import RELEASE_LABEL
    from kube.k8s.releases_drift import annotate

    if problem := too_many(formula.name, len(rendered)):
        raise RenderError(problem, hint="check the templates' loops and the values that drive them")
    for obj in rendered:
        check_trusted(obj, ns, scopes, allowed)
    labelled = []
    for obj in (objects.apply_labels(o, formula.name, formula.version) for o in rendered):
        # The release label tells two releases of one formula apart; the content hash is what kube
        # sent, so that a re-install can tell an object edited by hand (kube.k8s.releases_drift).
        # Ports get the protocol the API server would give them, as an upgrade must send them
        # (kube.install.apply): install, diff and upgrade send, and hash, the same object; so
        # are Quantities written as numbers, as strings.
        obj.data["metadata"]["labels"][RELEASE_LABEL] = release or formula.name
        data = annotate(with_string_quantities(with_default_protocols(as_sent(obj, ns, scopes))))
        labelled.append(replace(obj, data=data))
    seen: dict[tuple[str, str, str, str], str] = {}
    for obj in labelled:
        try:
            check_object_name(obj.name, obj.source)
        except UsageError as exc:
            raise RenderError(exc.message) from None
        key = (obj.group, obj.kind, obj.namespace or ns, obj.name)
        if key in seen:
            raise RenderError(f"{obj.source}: {obj.display} is also defined at {seen[key]}")
        seen[key] = obj.source
    return objects.order_waves(labelled, namespace=ns, scopes=scopes)


def check_trusted(obj: KubeObject, ns: str, scopes: Scopes, allowed: Sequence[str] = ()) -> None:
    """Refuse what a formula may never create: anything shaped like kube's own install record
    (it would make `kube list` and `kube uninstall` trust it), and a namespaced object in another
    namespace than the install's unless the user allowed that namespace."""
    if why := record_lookalike(obj):
        raise RenderError(
            f"{obj.source}: {obj.display} looks like a kube install record ({why}); "
            "only kube writes install records",
            hint="remove the object from the formula",
        )
    written = obj.namespace
    if written and written != ns and written not in allowed and scopes.namespaced(obj):
        raise RenderError(
            f"{obj.source}: {obj.display} is in namespace {written}, not {ns} where you are installing",
            hint=f"pass --allow-namespace {written} if it belongs there",
        )
