"""What ``kube upgrade`` would do to a release, object by object, without changing anything.

``diff_release`` reads the release's revisions, renders the new version as an upgrade would, and
asks the API server itself what applying it would give: ``kubectl diff --server-side`` (a dry-run
apply with kube's field manager, the server's defaults and admission included), with
``KUBECTL_EXTERNAL_DIFF`` pointed at a small program of ours that only copies kubectl's two
directories (live, merged) into a private temporary directory. The unified diffs are made here,
from those files, so that Secret values can be masked before any diff is made.

Values: the new formula's defaults, then the values recorded in the release's deployed revision
(a round-one record holds none: then the defaults alone, and a note says so), then ``-f``/
``--set``; ``--reset-values`` starts from the defaults. Patches as upgrade takes them. The
pre-install hook is not run (a diff changes nothing, and a hook may generate, ask or reach out):
the revision's hook values stand in for it, only where they differ from the values it was given,
so a password it generated does not show as a change while a value the user now sets still wins.
The objects are checked, labelled and ordered by the very function install uses
(``pipeline._waves``, as upgrade does), so kube's own labels never show as changes.

Each object is ``create`` (not in the cluster), ``change``, ``unchanged``, or, for an object of the
deployed revision (or of a later failed or unfinished attempt) that the new render no longer has,
what an upgrade would do with it: ``prune`` only while it still carries this release's labels and
the recorded uid (kpt's ownership rule), ``keep`` when annotated to be kept, ``not ours`` when
someone else took it over, ``gone`` when it no longer exists. The release's namespace is never
pruned. Ports without ``protocol`` get ``TCP``, as upgrade sends them.

Secrets: every value of ``data`` and ``stringData`` (and a last-applied annotation, which may
copy them) is replaced by a marker before the diff is made, unless ``show_secrets``: the markers
compare SHA-256 digests, so a diff still says which value changed (``<redacted: changed>``) and
which did not. kubectl's files hold the values in clear while the diff runs; they live in a 0700
temporary directory removed before ``diff_release`` returns.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import shutil
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kube.core import yaml_text
from kube.core.errors import ClusterError, NotFoundError, UsageError
from kube.core.text import plural
from kube.k8s.kubectl import Kubectl, ObjectRef

if TYPE_CHECKING:
    from kube.formula.load import Formula
    from kube.formula.patches import PatchSet
    from kube.install.results import Source
    from kube.k8s.objects import KubeObject
    from kube.k8s.releases import RecordedObject, Release, Revision

FIELD_MANAGER = "kube"
#: Metadata the API server writes: they change on every write and say nothing of the release.
SERVER_FIELDS = ("managedFields", "resourceVersion", "generation", "creationTimestamp", "uid", "selfLink")
CRD = ("apiextensions.k8s.io", "CustomResourceDefinition")
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
#: What an upgrade keeps rather than prunes: the annotation uninstall honours, and kpt-style keep.
KEEP_ANNOTATIONS = (("kube.sh/resource-policy", "keep"), ("kube.sh/keep", "true"))
MASK_UNCHANGED = "<redacted: unchanged>"
MASK_CHANGED = "<redacted: changed>"
MASK_OLD = "<redacted>"
MASK_ADDED = "<redacted: added>"


class Action(StrEnum):
    """What an upgrade would do with one object; the value is the word people read."""

    CREATE = "would be created"
    CHANGE = "would change"
    UNCHANGED = "unchanged"
    PRUNE = "would be pruned"
    KEEP = "would be kept"
    NOT_OURS = "would not be pruned"
    GONE = "already gone"
    REFUSED = "would be refused"  # it exists and is not the release's: the upgrade would stop
    UNSERVED = "would fail"  # the API server serves no such type, or refuses it: the upgrade would stop


#: The actions that make ``kube diff`` exit 1.
CHANGES = frozenset({Action.CREATE, Action.CHANGE, Action.PRUNE, Action.REFUSED, Action.UNSERVED})


@dataclass(frozen=True)
class DiffOptions:
    value_files: tuple[Path, ...] = ()
    sets: tuple[str, ...] = ()
    set_strings: tuple[str, ...] = ()
    reset_values: bool = False
    show_secrets: bool = False
    patches: tuple[PatchSet, ...] = field(default=(), hash=False)  # --patch, after the recorded ones
    reset_patches: bool = False


@dataclass(frozen=True)
class ObjectDiff:
    ref: ObjectRef
    action: Action
    diff: str = ""  # a unified diff, "" when unchanged (or not pruned)
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        ref = self.ref
        return {"apiVersion": ref.api_version, "kind": ref.kind, "namespace": ref.namespace,
                "name": ref.name, "action": self.action.name.lower().replace("_", "-"),
                "status": str(self.action), "detail": self.detail, "diff": self.diff}  # fmt: skip


@dataclass(frozen=True)
class DiffResult:
    release: str
    namespace: str
    formula: str
    version: str  # the new render's formula version
    from_version: str  # the deployed revision's
    revision: int
    objects: tuple[ObjectDiff, ...]
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default=())

    @property
    def changed(self) -> bool:
        return any(o.action in CHANGES for o in self.objects)

    def count(self, action: Action) -> int:
        return sum(1 for o in self.objects if o.action is action)

    @property
    def summary(self) -> str:
        if not self.changed:
            return f"no changes ({plural(self.count(Action.UNCHANGED), 'object')} unchanged)"
        parts = [
            f"{self.count(Action.CHANGE)} to change",
            f"{self.count(Action.CREATE)} to create",
            f"{self.count(Action.PRUNE)} to prune",
            f"{self.count(Action.UNCHANGED)} unchanged",
        ]
        parts += [f"{self.count(a)} {a}" for a in (Action.KEEP, Action.NOT_OURS) if self.count(a)]
        # First: the upgrade would stop there, whatever else it would do.
        if self.count(Action.REFUSED):
            parts.insert(0, f"{self.count(Action.REFUSED)} {Action.REFUSED} (not this release's)")
        if self.count(Action.UNSERVED):
            parts.insert(0, f"{self.count(Action.UNSERVED)} {Action.UNSERVED}")
        return ", ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "release": self.release,
            "namespace": self.namespace,
            "formula": self.formula,
            "version": self.version,
            "fromVersion": self.from_version,
            "revision": self.revision,
            "changed": self.changed,
            "summary": self.summary,
            "notes": list(self.notes),
            "objects": [o.to_json() for o in self.objects],
        }


# -- the release and its values -----------------------------------------------------------------


def find_release(kubectl: Kubectl, name: str, namespace: str) -> tuple[Release, Revision]:
    """The release and the revision an upgrade starts from (the deployed one, else the newest)."""
    from kube.k8s import releases

    release = releases.read_release(kubectl, name, namespace)
    start = (release.deployed or release.latest) if release else None
    if release is None or start is None:
        raise NotFoundError(
            f"no release {name} in namespace {namespace}",
            hint=f"run `kube list -n {namespace}` to see the releases there",
        )
    if release.problem:
        raise ClusterError(
            f"release {name} in namespace {namespace}: its newest record cannot be trusted: "
            f"{release.problem}",
            hint=f"see `kube history {name} -n {namespace}`",
        )
    return release, start


def values_for(
    formula: Formula, start: Revision, options: DiffOptions, *, has_hook: bool = False
) -> tuple[dict[str, Any], list[str]]:
    """The values the new render sees, and the notes that say where they came from.
    ``has_hook``: the new version has a pre-install hook (which diff does not run)."""
    from kube.formula.values import deep_merge, merge_values

    notes: list[str] = []
    base: dict[str, Any] = deep_merge({}, formula.values)
    if options.reset_values:
        notes.append(f"--reset-values: starting from the defaults of {formula.name} {formula.version}")
    elif start.values is None:
        notes.append(
            f"revision {start.revision} of {start.release} holds no values (a round-one record): "
            f"starting from the defaults of {formula.name} {formula.version}"
        )
    else:
        base = deep_merge(base, start.values)
    values = merge_values(
        base, value_files=options.value_files, sets=options.sets, set_strings=options.set_strings
    )
    # What a hook writes into manifests/ is unknown without running it: said, with where to look.
    unseen = (
        "; objects it would write into manifests/ are not in this diff (`kube upgrade --dry-run "
        "--sandbox` runs it and shows them)"
        if has_hook
        else ""
    )
    if has_hook or start.hook_values:
        if start.hook_values:
            given = deep_merge(deep_merge({}, formula.values), start.values or {})
            values = deep_merge(values, _changed_leaves(start.hook_values, given))
            notes.append(
                f"the pre-install hook is not run by diff: using the values it returned for revision "
                f"{start.revision}{unseen}"
            )
        else:
            notes.append(
                f"the pre-install hook is not run by diff, and revision {start.revision} holds no values "
                f"from it: what it would generate may show as changes{unseen}"
            )
    return values, notes


def _changed_leaves(returned: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """What the hook added or changed: ``returned`` without the entries equal to ``given``'s."""
    out: dict[str, Any] = {}
    for key, value in returned.items():
        old = given.get(key)
        if isinstance(value, Mapping) and isinstance(old, Mapping):
            nested = _changed_leaves(value, old)
            if nested:
                out[key] = nested
        elif key not in given or old != value:
            out[key] = value
    return out


def render(
    source: Source,
    namespace: str,
    values: dict[str, Any],
    allowed: Sequence[str],
    release: str,
    patches: Sequence[PatchSet] = (),
    kubectl: Kubectl | None = None,
) -> list[dict[str, Any]]:
    """The objects as install would send them: rendered from a staged copy, checked, labelled,
    in wave order, with the install namespace filled in."""
    from kube.formula.render import render_manifests
    from kube.install import pipeline, staging
    from kube.k8s.objects import Scopes, as_sent

    formula = source.formula
    with tempfile.TemporaryDirectory(prefix="kube-diff-") as tmp:
        staged = staging.stage_formula(source.directory, Path(tmp))
        found = pipeline.capabilities_for(kubectl, None, dry_run=False) if kubectl is not None else None
        rendered: list[KubeObject] = render_manifests(
            formula, staged, values, namespace=namespace, release=release, patches=patches, capabilities=found
        )
    scopes = Scopes(rendered)
    # install's own check, labelling and order (as kube upgrade uses it): the same labels both sides.
    waves = pipeline._waves(rendered, formula, namespace, scopes, allowed, release)
    return [dict(as_sent(o, namespace, scopes)) for wave in waves for o in wave]


# -- the diff -----------------------------------------------------------------------------------


def diff_release(
    kubectl: Kubectl, name: str, ref: str | None, namespace: str | None, options: DiffOptions
) -> DiffResult:
    """See the module docstring. ``ref`` is the formula or path to render (default: the formula
    the release was installed from, from the archive or the ``kube get`` copy)."""
    from kube.formula.hook_needs import HOOK
    from kube.install import pipeline
    from kube.k8s.releases import validate_release_name

    try:
        validate_release_name(name)
    except UsageError as exc:
        raise UsageError(exc.message, hint="run `kube list` to see the release names") from None
    ns = kubectl.namespace_or_current(namespace)
    release, start = find_release(kubectl, name, ns)
    source = pipeline.resolve(ref or start.formula)
    has_hook = (source.directory / HOOK).exists()
    values, notes = values_for(source.formula, start, options, has_hook=has_hook)
    from kube.formula.patches import carried
    from kube.install.upgrade import sent_by

    patch_sets = carried(start.patches, options.patches, reset=options.reset_patches)
    sent = render(source, ns, values, start.allowed_namespaces, name, patch_sets, kubectl)
    managed = managed_objects(release, start)
    owner = _Owner(managed, name, start.formula, ns, sent_by(start))
    objects = _compare(kubectl, sent, options.show_secrets, owner)
    objects += _prunes(kubectl, start, managed, [ObjectRef.of(o) for o in sent], ns, options.show_secrets)
    return DiffResult(
        name, ns, source.formula.name, str(source.formula.version), start.version, start.revision,
        tuple(objects), (*source.notes, *notes), source.warnings,
    )  # fmt: skip


@dataclass(frozen=True)
class _Owner:
    """Whose objects the upgrade may apply: what the release manages, by its name and formula."""

    managed: Sequence[RecordedObject]
    release: str
    formula: str
    namespace: str
    sent_before: Mapping[tuple[str, str, str, str], Mapping[str, Any]] = field(default_factory=dict)

    def refused(
        self,
        kubectl: Kubectl,
        sent: Sequence[Mapping[str, Any]],
        live: Mapping[tuple[str, str, str, str], Any],
    ) -> dict[tuple[str, str, str, str], str]:
        """The objects an upgrade would refuse to apply (``kube.install.apply``'s own rule), a
        shared one it would change for other releases among them (``kube upgrade --force``)."""
        from kube.install import shared
        from kube.install.apply import foreign_objects, shared_changes

        me = shared.user(self.namespace, self.release)
        changes = shared_changes(kubectl, sent, live, me, self.namespace, self.sent_before)
        refs = [ObjectRef.of(o) for o in sent]
        return foreign_objects(
            refs, self.managed, live, self.release, self.formula, shareable=self.namespace,
            shared_changes=changes,
        )  # fmt: skip


def _compare(
    kubectl: Kubectl, sent: Sequence[dict[str, Any]], show_secrets: bool, owner: _Owner | None = None
) -> list[ObjectDiff]:
    new_kinds = _new_custom_kinds(kubectl, sent)
    # The API server cannot dry-run an object whose kind its new CRD would define (no such kind
    # yet): those go by the render alone; an upgrade creates them after their CRD.
    unknown = {id(o) for o in sent if (ObjectRef.of(o).group, ObjectRef.of(o).kind) in new_kinds}
    # Objects the API server keeps no field ownership of cannot be dry-run applied (kubectl diff
    # --server-side breaks off at them): the upgrade updates them, so its dry run does.
    unmanaged = _unmanaged_live(kubectl, [o for o in sent if id(o) not in unknown])
    invalid: dict[ObjectRef, str] = {}
    live, merged, unserved = _served_view(
        kubectl, [o for o in sent if id(o) not in unknown and id(o) not in unmanaged], invalid
    )
    if unmanaged:
        from kube.install.apply import updated

        by_update = [o for o in sent if id(o) in unmanaged]
        answers = kubectl.replace_many([updated(o, unmanaged[id(o)]) for o in by_update], dry_run=True)
        for obj, answer in zip(by_update, answers, strict=True):
            live[_key(ObjectRef.of(obj))] = unmanaged[id(obj)]
            if answer.live is not None:
                merged[_key(ObjectRef.of(obj))] = answer.live
    refused = owner.refused(kubectl, sent, live) if owner is not None else {}
    result = []
    for obj in sent:
        ref = ObjectRef.of(obj)
        key = _key(ref)
        if (ref.kind, ref.api_version) in unserved:
            detail = (
                f"the cluster serves no {ref.api_version} {ref.kind}: install the kube or the "
                "CustomResourceDefinition that defines it first"
            )
            result.append(ObjectDiff(ref, Action.UNSERVED, "", detail))
            continue
        if key in refused:
            result.append(ObjectDiff(ref, Action.REFUSED, "", refused[key]))
            continue
        if ref in invalid:
            # The API server's dry run refused it: the upgrade's apply would fail the same way.
            result.append(ObjectDiff(ref, Action.UNSERVED, "", f"the API server refuses it: {invalid[ref]}"))
            continue
        if id(obj) in unknown:
            new_clean = _clean(obj)
            if not show_secrets and _is_secret(ref):
                _, new_clean = mask_secrets(None, new_clean)
            text = unified(
                "", _yaml(new_clean), f"{ref.display} (not in the cluster)", f"{ref.display} (new)"
            )
            detail = "as rendered: its CustomResourceDefinition is new, so the API server cannot check it yet"
            result.append(ObjectDiff(ref, Action.CREATE, text, detail))
            continue
        new = merged.get(key)
        if new is None:  # kubectl wrote nothing for it: compare with what would be sent
            new = obj
        old = live.get(key)
        if old is not None:
            from kube.install.field_owners import dropped, without

            # What the upgrade's hand-over of kubectl create's fields removes: a dry run keeps it.
            new = without(new, dropped(old, obj, owner.sent_before.get(key) if owner else None))
        old_clean, new_clean = _clean(old) if old else None, _clean(new)
        if not show_secrets and _is_secret(ref):
            old_clean, new_clean = mask_secrets(old_clean, new_clean)
        if old_clean is None:
            text = unified(
                "", _yaml(new_clean), f"{ref.display} (not in the cluster)", f"{ref.display} (new)"
            )
            result.append(ObjectDiff(ref, Action.CREATE, text))
        elif _digest(old_clean) == _digest(new_clean):
            # Most objects of an upgrade do not change: compared as data, they are never written
            # out as YAML (a release's CRDs can be megabytes of it).
            result.append(ObjectDiff(ref, Action.UNCHANGED))
        else:
            text = unified(
                _yaml(old_clean), _yaml(new_clean), f"{ref.display} (live)", f"{ref.display} (new)"
            )
            result.append(ObjectDiff(ref, Action.CHANGE, text))
    return result


def _unmanaged_live(kubectl: Kubectl, sent: Sequence[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """The live objects, by ``id`` of their manifest in ``sent``, that the upgrade would update
    rather than apply (``kube.install.apply.unmanaged``); read only when the kind may be one."""
    from kube.install.apply import UPDATED_KINDS, unmanaged

    candidates = [o for o in sent if (ObjectRef.of(o).group, ObjectRef.of(o).kind) in UPDATED_KINDS]
    if not candidates:
        return {}
    found = kubectl.get([ObjectRef.of(o) for o in candidates], managed_fields=True)
    return {
        id(o): out.live
        for o, out in zip(candidates, found, strict=True)
        if out.live is not None and unmanaged(out.live)
    }


def _new_custom_kinds(kubectl: Kubectl, sent: Sequence[dict[str, Any]]) -> set[tuple[str, str]]:
    """(group, kind) of every CustomResourceDefinition in ``sent`` the cluster does not have yet."""
    crds = [o for o in sent if (ObjectRef.of(o).group, ObjectRef.of(o).kind) == CRD]
    if not crds:
        return set()
    kinds = set()
    for crd, outcome in zip(crds, kubectl.get([ObjectRef.of(o) for o in crds]), strict=True):
        spec = crd.get("spec") or {}
        names = spec.get("names") or {}
        if not outcome.ok:
            kinds.add((str(spec.get("group", "")), str(names.get("kind", ""))))
    return kinds


def _served_view(
    kubectl: Kubectl, sent: Sequence[dict[str, Any]], refused_by_server: dict[ObjectRef, str]
) -> tuple[
    dict[tuple[str, str, str, str], dict[str, Any]],
    dict[tuple[str, str, str, str], dict[str, Any]],
    frozenset[tuple[str, str]],
]:
    """``_server_view`` of the objects whose types the API server serves, and the (kind,
    apiVersion) of those it does not: kubectl's diff stops at them, so they are left out and the
    diff run again (once per round of types it names). An object the API server refuses (an
    immutable field changed) stops it too: it is left out the same way, and its error is kept
    in ``refused_by_server`` for ``_compare`` to show."""
    from kube.k8s.kubectl import ObjectsRefusedError, UnservedTypesError

    unserved: frozenset[tuple[str, str]] = frozenset()
    refused: dict[ObjectRef, str] = {}
    while True:
        served = [
            o for o in sent
            if (ObjectRef.of(o).kind, ObjectRef.of(o).api_version) not in unserved
            and ObjectRef.of(o) not in refused
        ]  # fmt: skip
        try:
            live, merged = _server_view(kubectl, served)
            refused_by_server.update(refused)
            return live, merged, unserved
        except UnservedTypesError as exc:
            named = {(r.kind, r.api_version) for r in map(ObjectRef.of, served)} & exc.types
            if not named:
                raise  # types none of these objects has: kubectl's own error stands
            unserved |= named
        except ObjectsRefusedError as exc:
            if not set(exc.refused) - set(refused):
                raise
            refused.update(exc.refused)


def _server_view(
    kubectl: Kubectl, sent: Sequence[dict[str, Any]]
) -> tuple[dict[tuple[str, str, str, str], dict[str, Any]], dict[tuple[str, str, str, str], dict[str, Any]]]:
    """kubectl's live and merged objects, by (group, kind, namespace, name)."""
    with tempfile.TemporaryDirectory(prefix="kube-diff-") as tmp:
        root = Path(tmp)  # mkdtemp: 0700, so the values in clear are the user's alone
        program = root / "capture"
        target = root / "out"
        # kubectl runs it as `program LIVE MERGED`; it copies both and exits 0, so kubectl's own
        # exit says only whether kubectl failed.
        program.write_text(
            f"#!{sys.executable} -I\nimport shutil, sys\n"
            f"shutil.copytree(sys.argv[1], {str(target / 'live')!r})\n"
            f"shutil.copytree(sys.argv[2], {str(target / 'merged')!r})\n",
            encoding="utf-8",
        )
        program.chmod(0o700)
        kubectl.diff_server_side(sent, program=str(program), field_manager=FIELD_MANAGER)
        live, merged = _read_dir(target / "live"), _read_dir(target / "merged")
        shutil.rmtree(target, ignore_errors=True)
    return live, merged


def _read_dir(directory: Path) -> dict[tuple[str, str, str, str], dict[str, Any]]:
    # libyaml where it reads exactly as ruamel does (yaml_strict.load_all_plain): ruamel's
    # pure-Python reader took 32 s for the two sides of Argo CD's release.
    from kube.formula.yaml_strict import load_all_plain

    found: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    if not directory.is_dir():
        return found
    for path in sorted(directory.iterdir()):
        text = path.read_text(encoding="utf-8")
        if not text.strip():
            continue  # an object not in the cluster: kubectl writes an empty live file
        documents = load_all_plain(text, source=f"kubectl diff's {path.name}")
        data = documents[0][0] if documents else None
        if isinstance(data, dict):
            found[_key(ObjectRef.of(data))] = data
    return found


def _key(ref: ObjectRef) -> tuple[str, str, str, str]:
    return (ref.group, ref.kind, ref.namespace, ref.name)


def _is_secret(ref: ObjectRef) -> bool:
    return (ref.group, ref.kind) == ("", "Secret")


def _clean(obj: Mapping[str, Any]) -> dict[str, Any]:
    data = json.loads(json.dumps(obj, default=str))
    meta = data.get("metadata")
    if isinstance(meta, dict):
        for key in SERVER_FIELDS:
            meta.pop(key, None)
    return data  # type: ignore[no-any-return]


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def mask_secrets(
    old: dict[str, Any] | None, new: dict[str, Any]
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """Copies of a Secret's two sides with every value replaced by a marker saying, by digest,
    whether it changed. Keys stay, so added and removed keys still show."""
    old_out = json.loads(json.dumps(old)) if old is not None else None
    new_out = json.loads(json.dumps(new))
    for section in ("data", "stringData"):
        before = (old or {}).get(section)
        after = new.get(section)
        before = before if isinstance(before, dict) else {}
        after = after if isinstance(after, dict) else {}
        for key in set(before) | set(after):
            same = key in before and key in after and _digest(before[key]) == _digest(after[key])
            if old_out is not None and key in before:
                old_out[section][key] = MASK_UNCHANGED if same else MASK_OLD
            if key in after:
                new_out[section][key] = (
                    MASK_UNCHANGED if same else MASK_CHANGED if key in before else MASK_ADDED
                )
    for side, other in ((old_out, new_out), (new_out, old_out)):
        annotations = (side or {}).get("metadata", {}).get("annotations")
        if isinstance(annotations, dict) and LAST_APPLIED in annotations:
            theirs = (other or {}).get("metadata", {}).get("annotations") or {}
            same = _digest(annotations[LAST_APPLIED]) == _digest(theirs.get(LAST_APPLIED))
            annotations[LAST_APPLIED] = MASK_UNCHANGED if same else MASK_OLD
    return old_out, new_out


def _yaml(data: Mapping[str, Any]) -> str:
    return yaml_text.dump(data, sort_keys=True)


def unified(old: str, new: str, old_label: str, new_label: str) -> str:
    lines = difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), old_label, new_label
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


# -- prune --------------------------------------------------------------------------------------


def managed_objects(release: Release, start: Revision) -> tuple[RecordedObject, ...]:
    """What the release may have in the cluster, as upgrade counts it: ``start``'s objects and
    those of any later revision that failed or never finished (only it may list what it created)."""
    seen = {_key(o.ref): o for o in start.objects}
    for later in release.revisions:
        if later.revision > start.revision:
            for obj in later.objects:
                if _key(obj.ref) not in seen or (obj.uid and not seen[_key(obj.ref)].uid):
                    seen[_key(obj.ref)] = obj
    return tuple(seen.values())


def _prunes(
    kubectl: Kubectl,
    start: Revision,
    managed: Sequence[RecordedObject],
    kept: Sequence[ObjectRef],
    ns: str,
    show_secrets: bool,
) -> list[ObjectDiff]:
    """The ``managed`` objects the new render no longer has, newest first as an upgrade prunes
    them, and what it would do with each. The release's namespace is never pruned."""
    dropped = [
        o for o in reversed(managed)
        if not any(o.ref.same_object(k) for k in kept)
        and not (o.ref.group == "" and o.ref.kind == "Namespace" and o.ref.name == ns)
    ]  # fmt: skip
    if not dropped:
        return []
    result = []
    for recorded, outcome in zip(dropped, kubectl.get([o.ref for o in dropped]), strict=True):
        ref, live = recorded.ref, outcome.live
        if not outcome.ok or live is None:
            result.append(ObjectDiff(ref, Action.GONE, detail="not in the cluster"))
            continue
        annotations = (live.get("metadata") or {}).get("annotations") or {}
        if why := not_owned(live, start.release, start.formula, recorded.uid):
            result.append(ObjectDiff(ref, Action.NOT_OURS, detail=why))
        elif keep := next((f"{k}: {v}" for k, v in KEEP_ANNOTATIONS if annotations.get(k) == v), ""):
            result.append(ObjectDiff(ref, Action.KEEP, detail=keep))
        else:
            old: dict[str, Any] | None = _clean(live)
            if not show_secrets and _is_secret(ref):
                old, _ = mask_secrets(old, {})
            text = unified(_yaml(old or {}), "", f"{ref.display} (live)", f"{ref.display} (pruned)")
            detail = f"in revision {start.revision}, not in the new render"
            result.append(ObjectDiff(ref, Action.PRUNE, text, detail=detail))
    return result


def not_owned(live: Mapping[str, Any], release: str, formula: str, uid: str) -> str:
    """Why an upgrade would leave ``live`` alone ("" when it would prune it): kpt's ownership rule,
    kube's managed-by and formula labels, this release's label when it has one, the recorded uid."""
    from kube.k8s.objects import FORMULA_LABEL, MANAGED_BY, MANAGED_BY_LABEL, label_value
    from kube.k8s.release_names import RELEASE_LABEL

    meta = live.get("metadata") or {}
    labels = meta.get("labels") or {}
    if labels.get(MANAGED_BY_LABEL) != MANAGED_BY or labels.get(FORMULA_LABEL) != label_value(formula):
        return f"it no longer carries the labels of {formula}"
    if RELEASE_LABEL in labels and labels.get(RELEASE_LABEL) != release:
        return f"it belongs to release {labels.get(RELEASE_LABEL)}"
    if uid and meta.get("uid") != uid:
        return "it was made again since it was recorded (uid differs)"
    return ""
