"""kube import: plain upstream manifests -> a formula skeleton a human finishes.

Upstream projects publish what ``kubectl apply -f`` takes: a folder of manifests or one
multi-document release file. ``plan`` reads them through THE manifest reader (so import
refuses exactly what install would), and ``write`` turns them into a formula:

- one object per file under ``manifests/``, named ``<kind>-<name>.yaml``;
- what a cluster wrote into an export of live objects is left out (``live_export``): objects
  its controllers make (ReplicaSets, Pods, Endpoints, tokens, Events, the namespace's own
  ``default`` ServiceAccount) and fields it chose (``status``, ``uid``, a Service's address, a
  claim's volume), one ``Left`` entry per reason;
- the namespace the release was written for (its own Namespace object, or the one most of
  its objects name) is taken out, so ``kube install -n`` decides it; references to it that
  must stay spelled out (RBAC subjects, webhook and APIService services) become
  ``{{ kube.namespace }}``; objects in any other namespace keep it, and lint says so; the
  labels and annotations its Namespace carried (a Pod Security level) are named, and setting
  them on the install namespace is listed as to decide;
- every container image becomes a value (``images.<name>.repository``/``tag``/``digest``,
  all three always, written back as ``repository:tag@digest`` with an empty tag or digest left
  out), so an upgrade of the image is a ``--set``; a digest wins over the tag, which K3.yaml
  and the README say where one is set; an image with neither tag nor digest gets the tag it
  pulls, ``latest``, listed as to decide;
- K3.yaml gets what the manifests tell (name and version from the recommended
  ``app.kubernetes.io/*`` labels); what they cannot tell (home, maintainers) is left for
  the author and ``kube lint`` names it.

Files that hold a value or ``kube.namespace`` become templates (``.yaml.tmpl``); any Jinja
delimiters already in their text (Go templates in a ConfigMap) are escaped, so they render
back exactly. Nothing is written unless the whole plan holds, and never over an existing
directory.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import tempfile
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kube.core.errors import FormulaError, NotFoundError, UsageError
from kube.core.findings import Finding
from kube.formula import manifests
from kube.formula.left_out import Left, Tally, Why, namespace_to_decide
from kube.formula.live_export import TEMPLATE_POD_SPEC, Export
from kube.formula.load import is_valid_name
from kube.formula.versions import Version, VersionError
from kube.k8s.objects import CONTAINER_LISTS, POD_SPEC_PATHS, KubeObject, Scopes

#: Most manifest files one import reads (a release folder has tens; a mistake has millions).
FILE_LIMIT = 5_000
#: Most objects one import writes.
OBJECT_LIMIT = 5_000

_MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
#: kustomize's own files: not Kubernetes objects (``kubectl kustomize`` renders them first).
_KUSTOMIZE_FILES = frozenset({"kustomization.yaml", "kustomization.yml", "Kustomization"})

# `registry:5000/org/app:tag@sha256:...` -> repository, tag, digest
_IMAGE_RE = re.compile(
    r"^(?P<repository>[^@\s]+?)(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>[\w+.-]+:[0-9a-fA-F]{32,}))?$"
)
_NOT_NAME = re.compile(r"[^a-z0-9.-]+")
_NOT_KEY = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class Image:
    """One image value: ``images.<key>``, and the containers that run it."""

    key: str
    repository: str
    tag: str | None
    digest: str | None
    used_by: tuple[str, ...]  # "Deployment/metrics-server container metrics-server"
    tag_defaulted: bool = False  # upstream named no tag; ``tag`` is the ``latest`` it pulls

    @property
    def reference(self) -> str:
        text = self.repository
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text

    def expression(self) -> str:
        """The template expression that writes this image back, quoted for YAML:
        ``repository:tag@digest``, an empty tag or digest left out with its ``:`` or ``@``
        (``repo:tag@`` is no image reference). Every image has all three values, so a digest can
        be added to a tagged image, or emptied for a new tag, with ``--set``."""
        value = f"images.{self.key}"
        tag = f'((":" ~ {value}.tag) if {value}.tag else "")'
        digest = f'(("@" ~ {value}.digest) if {value}.digest else "")'
        return "{{ (" + f"{value}.repository ~ {tag} ~ {digest}" + ") | quote }}"


def _image_parts(reference: str) -> tuple[str, str | None, str | None, bool] | None:
    """(repository, tag, digest, whether the tag is the ``latest`` a reference without one
    pulls); None when ``reference`` is no image name. A digest alone names one image: it gets
    no tag."""
    match = _IMAGE_RE.match(reference)
    if match is None:
        return None
    repository, tag, digest = match["repository"], match["tag"], match["digest"]
    if tag is None and digest is None:
        return repository, "latest", None, True
    return repository, tag, digest, False


@dataclass(frozen=True)
class PlannedFile:
    path: str  # inside the formula: manifests/deployment-web.yaml(.tmpl)
    objects: tuple[str, ...]  # Deployment/web
    text: str


@dataclass
class ImportPlan:
    """What ``write`` will create, and what a human must still decide."""

    name: str
    version: str
    home: str | None
    description: str
    maintainers: tuple[str, ...]
    sources: tuple[str, ...]
    files: list[PlannedFile] = field(default_factory=list)
    images: list[Image] = field(default_factory=list)
    namespace: str | None = None  # the upstream namespace taken out of the objects
    other_namespaces: list[tuple[str, str]] = field(default_factory=list)  # (object, namespace) kept
    dropped: list[Left] = field(default_factory=list)  # what was left out, one entry per reason
    skipped: list[str] = field(default_factory=list)  # source files not read, with the reason
    to_decide: list[str] = field(default_factory=list)  # what the author must fill in

    @property
    def object_count(self) -> int:
        return sum(len(f.objects) for f in self.files)


# --------------------------------------------------------------------------- reading


def _source_files(
    paths: Sequence[Path], *, recursive: bool = False
) -> tuple[list[tuple[Path, str]], list[str]]:
    """Every manifest file in ``paths`` (in folders inside them too when ``recursive``), sorted,
    as displayed; and what was passed over."""
    found: list[tuple[Path, str]] = []
    skipped: list[str] = []
    for root in paths:
        try:
            info = root.lstat()
        except OSError as exc:
            raise NotFoundError(
                f"{root}: {exc.strerror or 'cannot read'}", hint="give a manifest file or a directory of them"
            ) from None
        if stat.S_ISREG(info.st_mode):
            found.append((root, str(root)))
            continue
        if not stat.S_ISDIR(info.st_mode):
            raise UsageError(
                f"{root}: not a regular file or a directory",
                hint="give a manifest file or a directory of them",
            )
        for path in _walk(root, skipped, recursive=recursive):
            found.append((path, str(path)))
            if len(found) > FILE_LIMIT:
                raise UsageError(
                    f"{root}: more than {FILE_LIMIT} manifest files", hint="import one release at a time"
                )
    return found, skipped


_FOLDER_NOTE = "a folder inside a folder (kube import -R reads those, as kubectl -R does)"


def _walk(root: Path, skipped: list[str], *, recursive: bool) -> Iterator[Path]:
    """Manifest files in ``root`` in name order; symbolic links are not followed. As with
    ``kubectl apply -f DIR``, the folders inside are read only when ``recursive`` (``-R``): an
    upstream folder often keeps alternatives of its manifests in one (``all-in-one/``, ``legacy/``)."""
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        if not recursive:
            skipped.extend(
                f"{Path(dirpath) / d}: {_FOLDER_NOTE}"
                for d in dirnames
                if _holds_manifests(Path(dirpath) / d)
            )
            dirnames[:] = []
        for linked in [d for d in dirnames if (Path(dirpath) / d).is_symlink()]:
            skipped.append(
                f"{Path(dirpath) / linked}: not a regular folder (symbolic links are not followed)"
            )
            dirnames.remove(linked)
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if name.startswith(".") or not name.endswith(_MANIFEST_SUFFIXES):
                continue
            if name in _KUSTOMIZE_FILES:
                skipped.append(
                    f"{path}: a kustomization, not a manifest (render it first: kubectl kustomize DIR)"
                )
                continue
            if path.is_symlink() or not path.is_file():
                skipped.append(f"{path}: not a regular file (symbolic links are not followed)")
                continue
            yield path


def _holds_manifests(folder: Path) -> bool:
    """Whether a manifest file is anywhere under ``folder`` (worth a note that it was not read);
    a symbolic link is not looked through."""
    if folder.is_symlink():
        return False
    for _, dirnames, filenames in os.walk(folder, followlinks=False):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        if any(name.endswith(_MANIFEST_SUFFIXES) and not name.startswith(".") for name in filenames):
            return True
    return False


_PLAIN_ONLY = (
    "kube import reads plain Kubernetes YAML or JSON: fix the file there, "
    "or render Helm charts or kustomizations first"
)


def _read_objects(files: Sequence[tuple[Path, str]], skipped: Sequence[str] = ()) -> list[KubeObject]:
    objects: list[KubeObject] = []
    problems: list[Finding] = []
    for path, display in files:
        text = manifests.read(path, display)
        try:
            found, refused = manifests.parse(text, display)
        except FormulaError as exc:
            raise FormulaError(exc.message, findings=exc.findings, hint=_PLAIN_ONLY) from None
        problems.extend(Finding(r.display, r.line, "manifest-object", r.text) for r in refused)
        objects.extend(found)
        if len(objects) > OBJECT_LIMIT:
            raise UsageError(f"more than {OBJECT_LIMIT} objects", hint="import one release at a time")
    if problems:
        first = problems[0]
        raise FormulaError(
            f"{first.location} {first.message}"
            + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""),
            hint=_PLAIN_ONLY,
            findings=problems,
        )
    if not objects:
        where = ", ".join(display for _, display in files) or "the given paths"
        folder_note = f": {_FOLDER_NOTE}"
        folders = [note.removesuffix(folder_note) for note in skipped if note.endswith(folder_note)]
        raise FormulaError(
            f"no Kubernetes objects in {where}",
            hint=f"the manifests are in folders inside it ({', '.join(folders[:3])}): add -R"
            if folders
            else "give the folder or file you would pass to kubectl apply -f",
        )
    return objects


# --------------------------------------------------------------------------- cleaning


def _main_namespace(objects: Sequence[KubeObject], scopes: Scopes) -> str | None:
    """The namespace the release was written for: its own Namespace object when it ships one
    (and only one), else the namespace most of its namespaced objects name."""
    shipped = [o.name for o in objects if o.group == "" and o.kind == "Namespace"]
    if len(shipped) == 1:
        return shipped[0]
    named = Counter(o.namespace for o in objects if o.namespace and scopes.namespaced(o))
    if not named:
        return None
    (top, count), *rest = named.most_common()
    if rest and rest[0][1] == count:
        return None  # no majority: leave every namespace as written, lint names them
    return top


_NAMESPACE_TOKEN = "kube-import-namespace-6f1d3a"  # noqa: S105  (a placeholder, not a secret)

#: Roles that exist only in kube-system: a RoleBinding to one must stay there, whatever
#: namespace the release is installed into (every aggregated API server binds the first).
_KUBE_SYSTEM_ROLES = frozenset(
    {"extension-apiserver-authentication-reader", "system::leader-locking-kube-controller-manager"}
)


def _pinned_namespace(data: dict[str, Any], kind: str) -> str | None:
    """The namespace an object must keep because of what it binds, else None."""
    ref = data.get("roleRef")
    if kind == "RoleBinding" and _dig(ref, "kind") == "Role" and _dig(ref, "name") in _KUBE_SYSTEM_ROLES:
        return "kube-system"
    return None


def _follows_install(reference: dict[str, Any], main: str | None, own_accounts: set[str]) -> bool:
    """Whether a namespace reference must name the install namespace: it names the release's
    namespace, or (a release written for ``default``, say) a ServiceAccount the release ships."""
    namespace = reference.get("namespace")
    if main is not None and namespace == main:
        return True
    return (
        reference.get("kind") == "ServiceAccount"
        and reference.get("name") in own_accounts
        and bool(namespace)
    )


def _dig(node: Any, *path: str) -> Any:
    """``node[path[0]][path[1]]...``, or None where a step is missing or not a mapping."""
    for step in path:
        node = node.get(step) if isinstance(node, dict) else None
    return node


def _namespace_references(data: dict[str, Any], kind: str) -> Iterator[dict[str, Any]]:
    """The mappings whose ``namespace`` must name the install namespace for the object to work."""
    found: list[Any] = []
    if kind in ("RoleBinding", "ClusterRoleBinding"):
        subjects = data.get("subjects")
        found += (
            [s for s in subjects if _dig(s, "kind") == "ServiceAccount"] if isinstance(subjects, list) else []
        )
    elif kind == "APIService":
        found.append(_dig(data, "spec", "service"))
    elif kind in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"):
        hooks = data.get("webhooks")
        found += [_dig(h, "clientConfig", "service") for h in hooks] if isinstance(hooks, list) else []
    elif kind == "CustomResourceDefinition":
        found.append(_dig(data, "spec", "conversion", "webhook", "clientConfig", "service"))
    elif kind == "PersistentVolume":
        found.append(_dig(data, "spec", "claimRef"))  # a volume kept for a claim of the release
    yield from (item for item in found if isinstance(item, dict))


# --------------------------------------------------------------------------- images


def _pod_specs(data: dict[str, Any], kind: str) -> Iterator[dict[str, Any]]:
    path = POD_SPEC_PATHS.get(kind, TEMPLATE_POD_SPEC)
    node: Any = data
    for step in path:
        node = node.get(step) if isinstance(node, dict) else None
    if isinstance(node, dict):
        yield node


def _value_key(text: str) -> str:
    key = _NOT_KEY.sub("_", text.lower()).strip("_")
    if not key or key[0].isdigit():
        key = f"image_{key}"
    return key[:60]


class _Images:
    """Assigns one value per distinct image; keys from the image's last path part. ``nginx`` and
    ``nginx:latest`` are one image."""

    def __init__(self) -> None:
        self.by_reference: dict[tuple[str, str | None, str | None], str] = {}
        self.parts: dict[str, tuple[str, str | None, str | None, bool]] = {}
        self.used_by: dict[str, list[str]] = {}

    def token(self, reference: str, user: str, container: str) -> str | None:
        parts = _image_parts(reference)
        if parts is None:
            return None
        repository, tag, digest, defaulted = parts
        key = self.by_reference.get((repository, tag, digest))
        if key is None:
            key = base = _value_key(repository.rsplit("/", 1)[-1])
            if key in self.parts:
                key = base = _value_key(f"{base}_{container}")
            number = 2
            while key in self.parts:
                key, number = f"{base}_{number}", number + 1
            self.by_reference[(repository, tag, digest)] = key
            self.parts[key] = parts
            self.used_by[key] = []
        elif not defaulted and self.parts[key][3]:
            self.parts[key] = (*self.parts[key][:3], False)  # some container names the tag
        self.used_by[key].append(user)
        return f"kube-import-image-{key}-6f1d3a"

    def images(self) -> list[Image]:
        return [
            Image(key, repo, tag, digest, tuple(self.used_by[key]), defaulted)
            for key, (repo, tag, digest, defaulted) in self.parts.items()
        ]


def _replace_images(data: dict[str, Any], kind: str, display: str, images: _Images) -> bool:
    """Put a token where each container image was; True when there was one."""
    replaced = False
    for pod in _pod_specs(data, kind):
        for list_name in CONTAINER_LISTS:
            for container in pod.get(list_name) or ():
                if not isinstance(container, dict) or not isinstance(container.get("image"), str):
                    continue
                name = str(container.get("name", "container"))
                token = images.token(container["image"], f"{display} container {name}", name)
                if token is not None:
                    container["image"] = token
                    replaced = True
    return replaced


# --------------------------------------------------------------------------- writing


def _dump(data: dict[str, Any]) -> str:
    import io

    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")  # keeps the upstream key order
    yaml.default_flow_style = False
    yaml.width = 4096  # long strings stay on one line, as upstream wrote them
    yaml.indent(mapping=2, sequence=4, offset=2)
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def _escape_jinja(text: str) -> str:
    """Text Jinja renders back unchanged: every delimiter written as a string literal."""
    return re.sub(r"\{[{%#]", lambda m: "{{ " + json.dumps(m.group(0)) + " }}", text)


def _file_name(kind: str, name: str, used: set[str]) -> str:
    stem = _NOT_NAME.sub("-", f"{kind}-{name}".lower()).strip("-.")[:100] or "object"
    candidate, number = stem, 2
    while candidate in used:
        candidate, number = f"{stem}-{number}", number + 1
    used.add(candidate)
    return candidate


def _most_common_label(objects: Sequence[KubeObject], label: str) -> str | None:
    return _label_count(objects, label)[0]


def _label_count(objects: Sequence[KubeObject], label: str) -> tuple[str | None, int]:
    """The value of ``label`` most objects carry, and how many carry it."""
    counts = Counter(value for o in objects if isinstance(value := _label(o, label), str) and value)
    return counts.most_common(1)[0] if counts else (None, 0)


def _image_tags(objects: Sequence[KubeObject]) -> Iterator[tuple[str, str]]:
    """(repository, tag) of the images the objects run, in order; ``latest`` for one named
    without a tag."""
    for obj in objects:
        for pod in _pod_specs(obj.data, obj.kind):
            for list_name in CONTAINER_LISTS:
                for container in pod.get(list_name) or ():
                    image = container.get("image") if isinstance(container, dict) else None
                    parts = _image_parts(image) if isinstance(image, str) else None
                    if parts and parts[1]:
                        yield parts[0], parts[1]


def _image_version(objects: Sequence[KubeObject], name: str) -> str | None:
    """The SemVer tag of the release's own image: the first whose repository is named like the
    formula (``registry.k8s.io/metrics-server/metrics-server:v0.7.2``), else of the first image
    when all of them are one repository. A release that runs other projects' images too (Argo
    CD runs Dex and Redis) gets no version from them: theirs is not the release's."""
    images = list(_image_tags(objects))
    own = [tag for repository, tag in images if repository.rsplit("/", 1)[-1] == name]
    if not own and len({repository for repository, _ in images}) == 1:
        own = [tag for _, tag in images]
    return next((v for v in map(semver_of, own) if v), None)


def _name_label(objects: Sequence[KubeObject]) -> str | None:
    """The application the objects belong to: the ``app.kubernetes.io/name`` most of them
    carry, unless more of them carry one ``app.kubernetes.io/part-of`` (a release of several
    components, each with its own name: Argo CD, kube-prometheus); then ``k8s-app``, ``app``."""
    name, named = _label_count(objects, "app.kubernetes.io/name")
    whole, part_of = _label_count(objects, "app.kubernetes.io/part-of")
    if whole and part_of > named:
        return whole
    if name:
        return name
    for label in ("k8s-app", "app"):
        found = _most_common_label(objects, label)
        if found:
            return found
    return None


def _label(obj: KubeObject, label: str) -> object:
    labels = obj.metadata.get("labels")
    return labels.get(label) if isinstance(labels, dict) else None


def semver_of(text: str | None) -> str | None:
    """``v0.7.1`` -> ``0.7.1``; ``2.4`` -> ``2.4.0``; None when the text is no version."""
    if not text:
        return None
    candidate = text.strip().removeprefix("v")
    if re.fullmatch(r"\d+\.\d+", candidate):
        candidate += ".0"
    try:
        Version.parse(candidate)
    except VersionError:
        return None
    return candidate


def plan(
    sources: Sequence[Path],
    *,
    name: str | None = None,
    version: str | None = None,
    home: str | None = None,
    description: str | None = None,
    maintainers: Sequence[str] = (),
    recursive: bool = False,
) -> ImportPlan:
    """Read ``sources`` and work out the formula; nothing is written."""
    files, skipped = _source_files(sources, recursive=recursive)
    read = _read_objects(files, skipped)
    export, tally = Export.of(read), Tally()
    objects = [obj for obj in read if not export.leave_out(obj, tally)]
    scopes = Scopes(objects)
    source_names = tuple(display for _, display in files)

    chosen = name or _name_label(objects) or _stem(sources[0])
    chosen = _NOT_NAME.sub("-", chosen.lower()).replace(".", "-").strip("-")[:63].strip("-")
    if not is_valid_name(chosen):
        raise UsageError(
            f"cannot make a formula name of {chosen!r}",
            hint="pass --name NAME (lowercase letters, digits, -)",
        )
    if version is not None and semver_of(version) != version:
        raise UsageError(f"--version {version!r} is not a SemVer version like 1.2.3")
    app_version = _most_common_label(objects, "app.kubernetes.io/version")
    found_version = version or semver_of(app_version) or _image_version(objects, chosen)

    result = ImportPlan(
        name=chosen,
        version=found_version or "0.1.0",
        home=home,
        description=description or f"{chosen}, imported from {Path(sources[0]).name}",
        maintainers=tuple(maintainers),
        sources=source_names,
        skipped=skipped,
    )
    result.namespace = _main_namespace(objects, scopes)
    _refuse_duplicates(objects, scopes, result.namespace)
    images = _Images()
    used_names: set[str] = set()
    # ServiceAccounts the release ships that land in the install namespace.
    own_accounts = {
        o.name
        for o in objects
        if o.group == "" and o.kind == "ServiceAccount" and o.namespace in (None, result.namespace)
    }
    for obj in objects:
        if obj.group == "" and obj.kind == "Namespace" and obj.name == result.namespace:
            # Its labels (a Pod Security level) go with it: said, and left to decide.
            tally.leave_out(Why.RELEASE_NAMESPACE, obj.display)
            marks = export.namespace_marks(obj)
            tally.left_fields(Why.RELEASE_NAMESPACE, obj.display, marks)
            decide = namespace_to_decide(obj.display, marks)
            if decide:
                tally.to_decide.append(decide)
            continue
        data = export.cleaned(obj, tally)
        meta = data.setdefault("metadata", {})
        templated = False
        if scopes.namespaced(obj) and obj.namespace:
            if obj.namespace == result.namespace and _pinned_namespace(data, obj.kind) != obj.namespace:
                meta.pop("namespace", None)
            else:
                result.other_namespaces.append((obj.display, obj.namespace))
        for reference in _namespace_references(data, obj.kind):
            if _follows_install(reference, result.namespace, own_accounts):
                reference["namespace"] = _NAMESPACE_TOKEN
                templated = True
        templated = _replace_images(data, obj.kind, obj.display, images) or templated
        text = _dump(data)
        if templated:
            text = _escape_jinja(text).replace(_NAMESPACE_TOKEN, "{{ kube.namespace | quote }}")
        stem = _file_name(obj.kind, obj.name, used_names)
        path = f"manifests/{stem}.yaml" + (".tmpl" if templated else "")
        result.files.append(PlannedFile(path, (obj.display,), text))
    result.dropped = tally.entries()
    result.images = images.images()
    expressions = {f"kube-import-image-{image.key}-6f1d3a": image.expression() for image in result.images}
    result.files = [
        PlannedFile(f.path, f.objects, _replace_tokens(f.text, expressions))
        if f.path.endswith(".tmpl")
        else f
        for f in result.files
    ]
    if not result.files:
        raise FormulaError(
            "nothing to import: every object was left out ("
            + "; ".join(left.message() for left in result.dropped if left.whole)
            + ")"
        )
    result.to_decide.extend(tally.to_decide)
    result.to_decide.extend(
        f"images.{image.key}.tag: latest stands in; `{image.repository}` names no tag, so it runs "
        "whatever latest is when a node pulls it (set a version)"
        for image in result.images
        if image.tag_defaulted
    )
    if not found_version:
        result.to_decide.append("version: 0.1.0 stands in; the manifests do not say theirs (K3.yaml)")
    if not home:
        result.to_decide.append("home: where the project lives (K3.yaml)")
    if not maintainers:
        result.to_decide.append("maintainers: who answers for this formula (K3.yaml)")
    if description is None:
        result.to_decide.append("description: one line on what it runs (K3.yaml)")
    return result


def _refuse_duplicates(objects: Sequence[KubeObject], scopes: Scopes, main: str | None) -> None:
    """Two files that define one object are upstream alternatives (a StorageClass per cloud, a
    Pod per volume type): ``kubectl apply -f`` keeps whichever comes last, ``kube install`` refuses
    the formula. Only the user knows which one they want, so the import asks before writing."""
    seen: dict[tuple[str, str, str, str], KubeObject] = {}
    problems: list[Finding] = []
    for obj in objects:
        # The release's own namespace is taken out below: an object in it and one with no
        # namespace both land in the install namespace.
        ns = obj.namespace if scopes.namespaced(obj) and obj.namespace not in (None, main) else ""
        key = (obj.group, obj.kind, ns, obj.name)
        first = seen.setdefault(key, obj)
        if first is not obj:
            message = f"{obj.display} is also defined at {first.source}"
            problems.append(Finding(obj.path, obj.line, "manifest-duplicate", message))
    if problems:
        first_problem = problems[0]
        raise FormulaError(
            f"{first_problem.location} {first_problem.message}"
            + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""),
            hint="these look like alternatives: import only the files you want (kube import FILE...)",
            findings=problems,
        )


def _replace_tokens(text: str, expressions: dict[str, str]) -> str:
    for token, expression in expressions.items():
        text = text.replace(token, expression)
    return text


def _stem(path: Path) -> str:
    path = Path(path)
    return path.stem if path.suffix in _MANIFEST_SUFFIXES else path.name


def _q(text: str) -> str:
    """A YAML double-quoted scalar (JSON's string syntax is valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def k3_text(p: ImportPlan) -> str:
    """K3.yaml for ``p``, every value commented."""
    lines = [
        f"name: {p.name}",
        f"version: {_q(p.version)}",
        f"home: {_q(p.home)}" if p.home else "# home: https://...  (to fill in: where the project lives)",
        f"description: {_q(p.description)}",
    ]
    if p.maintainers:
        lines.append("maintainers:")
        lines.extend(f"  - {_q(m)}" for m in p.maintainers)
    else:
        lines.append("# maintainers:  (to fill in)")
        lines.append("#   - Your Name <you@example.com>")
    kinds = Counter(obj.split("/", 1)[0] for f in p.files for obj in f.objects)
    summary = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
    lines.append("details: |")
    lines.append(
        f"  Imported with kube import from {', '.join(Path(s).name for s in p.sources[:5])}"
        + (f" and {len(p.sources) - 5} more files" if len(p.sources) > 5 else "")
        + "."
    )
    lines.append(f"  {p.object_count} objects: {summary}.")
    if p.images:
        lines.append("values:")
        lines.append("  # Container images, one value per image the upstream manifests run, written as")
        lines.append("  # repository:tag@digest; an empty tag or digest is left out.")
        lines.append("  images:")
        for image in p.images:
            lines.append(f"    # {'; '.join(image.used_by[:3])}{' ...' if len(image.used_by) > 3 else ''}")
            lines.append(f"    {image.key}:")
            lines.append(f"      repository: {_q(image.repository)}")
            if image.tag_defaulted:
                lines.append("      # Upstream names no tag: latest is what it pulls. Set a version.")
            lines.append(f"      tag: {_q(image.tag or '')}")
            if image.digest:
                lines.append(
                    "      # The digest wins over the tag: a node pulls by digest, whatever the tag says."
                )
                lines.append(
                    f"      # Change it with the tag, or empty it for the tag to count "
                    f"(--set-string images.{image.key}.digest=)."
                )
            lines.append(f"      digest: {_q(image.digest or '')}")
    return "\n".join(lines) + "\n"


def _image_notes(images: Sequence[Image]) -> list[str]:
    """What the README says on changing the images: how a value is written, and that a
    digest wins over the tag."""
    first = images[0].key
    notes = [
        f"Each image is `repository:tag@digest`, an empty tag or digest left out: `--set-string "
        f"images.{first}.tag=NEW` changes the tag."
    ]
    pinned = [i for i in images if i.digest]
    if pinned:
        keys = ", ".join(f"`images.{i.key}`" for i in pinned)
        key = pinned[0].key
        notes.append(
            f"{keys} {'is' if len(pinned) == 1 else 'are'} pinned by digest, and the digest wins over "
            "the tag: a node pulls by digest, so a new tag alone still runs the old image. Change the "
            f"digest with the tag, or empty it: `--set-string images.{key}.tag=NEW "
            f"--set-string images.{key}.digest=`."
        )
    return notes


def readme_text(p: ImportPlan) -> str:
    out = [f"# {p.name}", "", p.description, "", "## What it runs", ""]
    out.append("| file | object |")
    out.append("| --- | --- |")
    out.extend(f"| `{f.path}` | {', '.join(f.objects)} |" for f in p.files)
    out += ["", "## Values", ""]
    if p.images:
        out.append("| value | default |")
        out.append("| --- | --- |")
        out.extend(f"| `images.{i.key}` | `{i.reference}` |" for i in p.images)
        for note in _image_notes(p.images):
            out += ["", note]
    else:
        out.append("None yet.")
    out += ["", "## Install", "", "```sh", f"kube install {p.name} -n {p.namespace or p.name}", "```", ""]
    if p.namespace:
        out.append(
            f"Upstream installs into the namespace `{p.namespace}`; kube installs into the one `-n` names."
        )
        out.append("")
    if p.other_namespaces:
        out.append("These objects keep the namespace upstream gave them:")
        out.append("")
        out.extend(f"- {obj} in `{ns}`" for obj, ns in p.other_namespaces)
        out.append("")
    if p.to_decide:
        out.append("## To decide")
        out.append("")
        out.extend(f"- {item}" for item in p.to_decide)
        out.append("")
    if p.dropped:
        out.append("## Left out of the source")
        out.append("")
        out.extend(f"- {left.message()}" for left in p.dropped)
        out.append("")
    out += ["## Source", ""]
    out.extend(f"- `{s}`" for s in p.sources)
    return "\n".join(out) + "\n"


def write(p: ImportPlan, directory: Path) -> Path:
    """Create the formula at ``directory`` (which must not exist), all at once."""
    directory = Path(directory)
    if directory.exists() or directory.is_symlink():
        raise UsageError(f"{directory} already exists", hint="choose another --into, or remove it first")
    parent = directory.parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=parent))
    try:
        (staging / "manifests").mkdir()
        (staging / "K3.yaml").write_text(k3_text(p), encoding="utf-8")
        (staging / "README.md").write_text(readme_text(p), encoding="utf-8")
        for planned in p.files:
            (staging / planned.path).write_text(planned.text, encoding="utf-8")
        os.chmod(staging, 0o755)  # noqa: S103  (mkdtemp makes it 0700; a formula is readable, like a checkout)
        staging.rename(directory)  # the formula appears whole, or not at all
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return directory
