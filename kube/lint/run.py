"""``kube lint``: offline findings on formulas, for contributors and CI.

What is linted: each PATH is a formula directory (it holds K3.yaml) or a
directory of formulas (``formulas/``); a name that is not a path is looked up
like ``kube install`` does (the workspace copy, then the archive). ``--all``
lints the ``formulas/`` of the git repository around the current directory,
or else the archive. ``--changed BASE`` keeps only the formulas changed since
BASE and asks each of them for a version bump (see ``kube.lint_git``).

Dependencies are looked up in the formula's archive: the ``formulas/``
directory it sits in, or, for a copy elsewhere (``kube get``), the archive.
The rules and their ids are listed in ``kube.lint_rules``.

A formula may declare why it needs a warning: ``lint: {ignore: [{rule, file,
reason}]}`` in K3.yaml (checked by ``kube.formula``). Those warnings leave the
findings for ``LintReport.suppressed``, which ``--strict`` shows with their
reasons; errors are never left out.
"""

from __future__ import annotations

import difflib
import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from kube.core.errors import NotFoundError, UsageError
from kube.core.findings import Finding, Severity
from kube.core.paths import FORMULAS_DIR, METADATA_FILE
from kube.core.text import quote
from kube.formula.refusals import too_many
from kube.lint import changed as lint_git
from kube.lint import files as lint_files
from kube.lint import manifests as lint_manifests
from kube.lint import schema as lint_schema
from kube.lint import templates as lint_templates
from kube.lint.rules import ALL_RULES, finding, ignorable, with_hint

if TYPE_CHECKING:
    from kube.formula.load import Formula, LintIgnore
    from kube.formula.patches import PatchSet
    from kube.k8s.kubectl import Kubectl
    from kube.k8s.objects import KubeObject
    from kube.lint.crds import Crd


@dataclass(frozen=True, order=True)
class Suppressed:
    """A warning a formula's ``lint.ignore`` left out of the findings, and the reason it gave
    (``declared`` is where: ``formulas/x/K3.yaml:12``)."""

    finding: Finding
    reason: str
    declared: str


@dataclass(frozen=True)
class LintReport:
    """What was linted and every finding, sorted by file and line; ``suppressed`` holds the
    warnings the formulas declared why they need (``--strict`` shows them to reviewers)."""

    formulas: tuple[str, ...]
    findings: tuple[Finding, ...]
    kube_version: str
    base: str | None = None
    suppressed: tuple[Suppressed, ...] = ()

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.WARNING]

    def passed(self, *, strict: bool = False) -> bool:
        return not self.errors and not (strict and self.warnings)


def lint(
    paths: Sequence[str] = (),
    *,
    all_formulas: bool = False,
    changed: str | None = None,
    kube_version: str | None = None,
    cluster: Kubectl | None = None,
) -> LintReport:
    """Lint the selected formulas (see the module docstring); with ``cluster``, against the
    OpenAPI of that cluster's API server (``kube.lint.openapi``)."""
    if cluster is not None:
        from kube.lint import openapi

        minor, document = openapi.fetch(cluster)
        version = lint_schema.choose(kube_version, cluster=document, cluster_version=minor)
    else:
        version = lint_schema.choose(kube_version)
    formulas = select(paths, all_formulas=all_formulas, for_changed=changed is not None)
    bumps: dict[Path, list[str]] = {}
    if changed is not None:
        root = lint_git.repo_root(formulas[0] if formulas else Path.cwd())
        base_commit = lint_git.merge_base(root, changed)
        bumps = lint_git.changed_formulas(root, base_commit, formulas)
        formulas = [f for f in formulas if f in bumps]
    findings: list[Finding] = []
    suppressed: list[Suppressed] = []
    archives: dict[Path, _Archive] = {}
    todo = formulas
    if changed is None and len(formulas) >= _PARALLEL_FROM:
        # The first one here: schemas, YAML and templates are loaded once, before the fork.
        kept, left_out = _lint_one(formulas[0], version, archives)
        findings += kept
        suppressed += left_out
        for kept, left_out in _lint_parallel(formulas[1:], version):
            findings += kept
            suppressed += left_out
        todo = []
    for directory in todo:
        formula, found = lint_formula(directory, kube_version=version, archives=archives)
        if changed is not None and formula is not None and lint_git.needs_bump(bumps[directory]):
            found += _version_bump(root, base_commit, changed, directory, formula)
        kept, left_out = apply_ignores(formula, display(directory), found)
        findings += kept
        suppressed += left_out
    unique = sorted({with_hint(f) for f in findings}, key=lambda f: (f.path, f.line, f.rule, f.message))
    quiet = sorted({Suppressed(with_hint(s.finding), s.reason, s.declared) for s in suppressed})
    return LintReport(tuple(display(f) for f in formulas), tuple(unique), str(version), changed, tuple(quiet))


#: From this many formulas on (``kube lint --all`` of an archive), every CPU lints a share.
_PARALLEL_FROM = 48
_CHUNK = 64


def _lint_one(
    directory: Path, version: lint_schema.Schemas, archives: dict[Path, _Archive]
) -> tuple[list[Finding], list[Suppressed]]:
    formula, found = lint_formula(directory, kube_version=version, archives=archives)
    return apply_ignores(formula, display(directory), found)


def _lint_chunk(args: tuple[list[str], lint_schema.Schemas]) -> tuple[list[Finding], list[Suppressed]]:
    archives: dict[Path, _Archive] = {}
    findings: list[Finding] = []
    suppressed: list[Suppressed] = []
    for directory in args[0]:
        kept, left_out = _lint_one(Path(directory), args[1], archives)
        findings += kept
        suppressed += left_out
    return findings, suppressed


def _lint_parallel(
    formulas: list[Path], version: lint_schema.Schemas
) -> list[tuple[list[Finding], list[Suppressed]]]:
    """The findings of ``formulas`` from a pool of forked workers, one per CPU (in order)."""
    from kube.archive.indexer import _cpus, _watch_parent

    chunks = [[str(p) for p in formulas[i : i + _CHUNK]] for i in range(0, len(formulas), _CHUNK)]
    workers = min(len(chunks), _cpus())
    if workers <= 1:
        return [_lint_chunk((chunk, version)) for chunk in chunks]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context(
        "fork" if "fork" in multiprocessing.get_all_start_methods() else None
    )
    pool = ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_watch_parent, initargs=(os.getpid(),)
    )
    with pool:
        return list(pool.map(_lint_chunk, [(chunk, version) for chunk in chunks]))


def apply_ignores(
    formula: Formula | None, base: str, found: list[Finding]
) -> tuple[list[Finding], list[Suppressed]]:
    """``found`` without the warnings that ``lint.ignore`` of K3.yaml covers, and those left out.

    An entry matches the warnings of its rule in its file (``base/file``), or anywhere in the
    formula when it names no file; an entry that matches nothing is itself a warning, so a
    stale excuse does not outlive the problem it excused."""
    if formula is None or not formula.lint_ignores:
        return found, []
    k3 = f"{base}/{METADATA_FILE}"
    kept: list[Finding] = []
    left_out: list[Suppressed] = []
    used: set[int] = set()
    usable: list[int] = []
    for index, ignore in enumerate(formula.lint_ignores):
        problem = _ignore_problem(ignore.rule)
        if problem:
            message = f"lint.ignore[{index}].rule: {problem}"
            kept.append(Finding(k3, ignore.line, "k3-lint", message, Severity.ERROR))
            used.add(index)
        else:
            usable.append(index)
    for item in found:
        match = None
        if item.severity is Severity.WARNING:
            match = next((i for i in usable if _covers(formula.lint_ignores[i], base, item)), None)
        if match is None:
            kept.append(item)
            continue
        used.add(match)
        ignore = formula.lint_ignores[match]
        left_out.append(Suppressed(item, ignore.reason, f"{k3}:{ignore.line}" if ignore.line else k3))
    for index, ignore in enumerate(formula.lint_ignores):
        if index not in used:
            where = f"`{ignore.file}`" if ignore.file else "the formula"
            message = f"lint.ignore: no `{ignore.rule}` warning in {where} to ignore"
            kept.append(finding("lint-ignore-unused", k3, ignore.line, message))
    return kept, left_out


def _ignore_problem(rule: str) -> str | None:
    """Why ``lint.ignore`` may not name ``rule``, or None."""
    if rule not in ALL_RULES:
        close = difflib.get_close_matches(rule, sorted(ALL_RULES), n=1)
        hint = f"; did you mean {quote(close[0])}?" if close else " (CONTRIBUTING.md lists them)"
        return f"{quote(rule)} is not a rule of kube lint{hint}"
    if not ignorable(rule):
        return f"{quote(rule)} is an error, and only warnings can be ignored (install would fail anyway)"
    return None


def _covers(ignore: LintIgnore, base: str, item: Finding) -> bool:
    if item.rule != ignore.rule:
        return False
    if ignore.file is None:
        return item.path == base or item.path.startswith(base + "/")
    return item.path == f"{base}/{ignore.file}"


def lint_formula(
    directory: Path, *, kube_version: lint_schema.Schemas | str, archives: dict[Path, _Archive] | None = None
) -> tuple[Formula | None, list[Finding]]:
    """Every finding of one formula directory; ``archives`` caches the formulas read for dependencies."""
    from kube.formula.load import check_formula

    base = display(directory)
    files, findings = lint_files.check_files(directory, base)
    if directory.is_symlink():
        # Never followed: kube update, get and install read a formula only as a real directory,
        # so a link (to outside the archive, say) must fail here rather than pass unread.
        message = f"is a symbolic link (to {quote(os.readlink(directory))}); a formula is a real directory"
        fix = "make it the formula's own directory, not a link to one"
        return None, [*findings, Finding(base, 0, "formula-symlink", message, Severity.ERROR, fix)]
    formula, k3 = check_formula(directory, display_root=_display_root(directory), fast=True)
    findings += k3
    if formula is None:
        formula = _k3_only(directory)
    findings += lint_files.check_hook_needs(formula, files, base)
    docs: list[KubeObject] = []
    readable = [r for r in files.manifests if r.count("/") == 1 and r.endswith(lint_files.MANIFEST_SUFFIXES)]
    minor = kube_version.version if isinstance(kube_version, lint_schema.Schemas) else kube_version
    for rel in readable:
        if rel.endswith(".tmpl"):
            found_docs, found = lint_templates.check_template(
                formula, directory / rel, f"{base}/{rel}", minor
            )
        else:
            found_docs, found = lint_manifests.load_file(directory / rel, f"{base}/{rel}")
        docs += found_docs
        findings += found
    refused = [r for r in files.too_large if r.startswith("manifests/")]
    shard_files = lint_files.shard_manifests(files)
    shard_docs, found = _shards(formula, directory, shard_files, base, minor)
    findings += found
    if not readable and not shard_files and not refused:
        findings.append(finding("manifest-none", f"{base}/manifests", 0, "the formula has no manifests"))
    tests: list[KubeObject] = []
    for rel in files.tests:
        if rel.endswith(lint_files.TEST_SUFFIXES):
            found_docs, found = lint_manifests.load_file(directory / rel, f"{base}/{rel}")
            tests += found_docs
            findings += found
    if formula is not None:
        # Patches apply to every rendered object, the shards' included, as at install.
        docs, found = _patches(formula, directory, base, [*docs, *shard_docs])
        shard_docs = []
        findings += found
    archive: _Archive | None = None
    if formula is not None:
        root = archive_root(directory)
        archive = (archives if archives is not None else {}).setdefault(root, _Archive(root))
    dependency_crds = archive.crds_of(formula) if archive is not None and formula is not None else []
    if formula is not None and (problem := too_many(formula.name, len(docs) + len(shard_docs))):
        findings.append(finding("manifest-count", f"{base}/manifests", 0, problem))
    found = lint_manifests.check_objects(
        [*docs, *shard_docs], tests, kube_version, dependency_crds=dependency_crds
    )
    findings += _once_per_line(found, f"{base}/manifests/shards/")
    if formula is not None and archive is not None:
        findings += _dependencies(formula, archive, base)
    return formula, findings


def _patches(
    formula: Formula, directory: Path, base: str, docs: list[KubeObject]
) -> tuple[list[KubeObject], list[Finding]]:
    """The objects with the formula's own patches applied (as install applies them), and the
    findings of its patch files: its own, and those it declares for its dependencies (read only:
    they patch another formula's objects)."""
    from kube.core.errors import FormulaError
    from kube.formula.patches import apply_patches
    from kube.formula.render import formula_patch_set

    findings: list[Finding] = []

    def read(rel: str) -> list[PatchSet]:
        try:
            return [formula_patch_set(directory, rel, shown=f"{base}/{rel}")]
        except FormulaError as exc:
            findings.extend(finding("patch", f.path, f.line, f.message) for f in exc.findings)
            return []

    for dependency in formula.dependencies:
        for rel in dependency.patches:
            read(rel)
    own = [s for rel in formula.patches for s in read(rel)]
    if own and not findings:
        try:
            docs = apply_patches(docs, own, namespace=lint_templates.LINT_NAMESPACE)
        except FormulaError as exc:
            findings.extend(finding("patch", f.path, f.line, f.message) for f in exc.findings)
    return docs, findings


def _shards(
    formula: Formula | None, directory: Path, rels: list[str], base: str, kube_version: str | None = None
) -> tuple[list[KubeObject], list[Finding]]:
    """manifests/shards/ rendered per default shard; read only when K3.yaml declares ``shards:``."""
    if formula is None:
        return [], []  # K3.yaml is broken (reported there)
    if formula.shards is None:
        message = "is read only when K3.yaml declares shards: (a count or a list of per-shard mappings)"
        hint = "add shards: 3 to K3.yaml, or move the file up to manifests/"
        return [], [
            finding("manifest-file-type", f"{base}/{rel}", 0, f"`{rel}` {message}", hint=hint) for rel in rels
        ]
    if not rels:
        message = "K3.yaml declares shards:, but manifests/shards/ holds no manifest"
        return [], [finding("shards-empty", f"{base}/{METADATA_FILE}", 0, message)]
    return lint_templates.check_shards(formula, directory, rels, base, kube_version)


def _once_per_line(found: list[Finding], shards_dir: str) -> list[Finding]:
    """``found``, with the findings in a shard file kept once per file, line and rule (each shard
    renders the same lines)."""
    kept: list[Finding] = []
    seen: set[tuple[str, int, str]] = set()
    for item in found:
        key = (item.path, item.line, item.rule)
        if item.path.startswith(shards_dir):
            if key in seen:
                continue
            seen.add(key)
        kept.append(item)
    return kept


def _k3_only(directory: Path) -> Formula | None:
    """The formula when K3.yaml itself is fine though the tree is not (templates still get linted)."""
    from kube.core.errors import FormulaError, NotFoundError
    from kube.formula.load import load_formula

    try:
        return load_formula(directory, display_root=_display_root(directory))
    except (FormulaError, NotFoundError):
        return None


def display(path: Path) -> str:
    """A path as findings show it: relative to the current directory when inside it."""
    absolute = Path(os.path.abspath(path))
    try:
        return absolute.relative_to(Path.cwd()).as_posix() or "."
    except ValueError:
        return absolute.as_posix()


def _display_root(directory: Path) -> Path | None:
    absolute = Path(os.path.abspath(directory))
    return Path.cwd() if absolute.is_relative_to(Path.cwd()) else None


# -- selection -----------------------------------------------------------------------------------------


def select(paths: Sequence[str], *, all_formulas: bool, for_changed: bool = False) -> list[Path]:
    """The formula directories named by PATHs (or --all), each once, in order."""
    if all_formulas and paths:
        raise UsageError("give PATHs or --all, not both")
    if not paths and not (all_formulas or for_changed):
        raise UsageError(
            "nothing to lint: give a formula directory, a directory of formulas, or --all",
            hint="kube lint formulas/  (or: kube lint --all)",
        )
    containers = [default_container()] if not paths else []
    found: list[Path] = [f for c in containers for f in _formulas_in(c)]
    for text in paths:
        found += _expand(text)
    unique: dict[Path, Path] = {}
    for path in found:
        unique.setdefault(Path(os.path.abspath(path)), Path(os.path.abspath(path)))
    return list(unique.values())


def default_container() -> Path:
    """``formulas/`` of the repository around the current directory, else the archive's."""
    here = Path.cwd()
    for candidate in (here, *here.parents):
        if (candidate / FORMULAS_DIR).is_dir():
            return candidate / FORMULAS_DIR
        if (candidate / ".git").exists():
            break
    from kube.core import paths

    archive = paths.formulas_in(paths.archive_dir())  # never through a symlinked formulas/
    if archive is not None:
        from kube.archive import update

        update.materialize(sorted(p.name for p in archive.iterdir()))  # a sparse clone: fetch them all
        return archive
    raise NotFoundError(
        "no formulas/ directory here and no archive to lint", hint="run `kube update`, or give a PATH"
    )


def _expand(text: str) -> list[Path]:
    path = Path(text)
    if not path.exists() and not path.is_symlink():
        return [_by_name(text)]
    if not path.is_dir():
        raise UsageError(f"{text}: not a directory; give a formula directory or a directory of formulas")
    if (path / METADATA_FILE).exists() or path.is_symlink() or (path / "manifests").is_dir():
        return [path]
    inside = _formulas_in(path)
    if not inside:
        raise UsageError(f"{text}: no formula here (no {METADATA_FILE} in it or in its subdirectories)")
    return inside


def _formulas_in(container: Path) -> list[Path]:
    """Subdirectories of a directory of formulas (each one is linted, K3.yaml or not)."""
    try:
        entries = sorted(p for p in container.iterdir() if not p.name.startswith(".") and _is_dir_or_link(p))
        return entries if any(_exists(p / METADATA_FILE) for p in entries) else []
    except OSError as exc:
        raise UsageError(f"{container}: cannot read it: {exc.strerror}") from None


def _is_dir_or_link(path: Path) -> bool:
    try:
        return path.is_symlink() or path.is_dir()
    except OSError:  # unreadable (/proc/1/cwd): not a formula kube could read either
        return False


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:
        return False


def _by_name(text: str) -> Path:
    from kube.formula.load import is_valid_name

    if not is_valid_name(text):
        raise NotFoundError(f"{text}: no such file or directory")
    from kube.archive import update as archive

    workspace: Path | None = archive.workspace_copy(text)
    if workspace is not None:
        return workspace
    found: Path = archive.formula_dir(text)
    return found


# -- dependencies across the archive -------------------------------------------------------------------


@dataclass
class _Archive:
    """The formulas next to a linted one, read lazily (only what the dependency graph reaches)."""

    root: Path
    _loaded: dict[str, Formula | None] = field(default_factory=dict)

    @functools.cached_property
    def names(self) -> list[str]:
        """Every kube of the archive: read only for a missing dependency's "did you mean"."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if (p / METADATA_FILE).is_file())

    _crds: dict[str, list[Crd]] = field(default_factory=dict)
    _present: dict[str, bool] = field(default_factory=dict)

    def has(self, name: str) -> bool:
        """Whether ``name`` is a kube of the archive (as ``name in names``), from one stat of its
        K3.yaml: linting one formula reads what its dependencies reach, not every formula."""
        if name not in self._present:
            one_entry = bool(name) and name not in (".", "..") and "/" not in name and "\0" not in name
            self._present[name] = one_entry and (self.root / name / METADATA_FILE).is_file()
        return self._present[name]

    def get(self, name: str) -> Formula | None:
        if name not in self._loaded:
            from kube.formula.load import check_formula

            self._loaded[name] = check_formula(self.root / name, fast=True)[0] if self.has(name) else None
        return self._loaded[name]

    def _is_archive(self) -> bool:
        from kube.core import paths

        return self.root == paths.formulas_in(paths.archive_dir())

    def crds_of(self, formula: Formula) -> list[Crd]:
        """The CRDs that the dependencies of ``formula`` ship, and theirs, nearest first."""
        found: list[Crd] = []
        seen = {formula.name}
        queue = [dep.name for dep in formula.dependencies]
        while queue:
            name = queue.pop(0)
            if name in seen:
                continue
            seen.add(name)
            found += self._own_crds(name)
            loaded = self.get(name)
            queue += [dep.name for dep in loaded.dependencies] if loaded is not None else []
        return found

    def _own_crds(self, name: str) -> list[Crd]:
        """The CRDs in one formula's manifests/ (templates rendered with their defaults), read
        by the reader the formula's own lint uses; a broken file is that formula's finding."""
        if name not in self._crds:
            from kube.lint import crds

            formula = self.get(name)
            directory = self.root / name
            if formula is not None and self._is_archive():
                from kube.archive import update

                update.materialize([name])  # a dependency's manifests, in a sparse clone
            found: list[Crd] = []
            if formula is not None:
                files, _ = lint_files.check_files(directory, name)
                for rel in files.manifests:
                    if rel.count("/") != 1 or not rel.endswith(lint_files.MANIFEST_SUFFIXES):
                        continue
                    if rel.endswith(".tmpl"):
                        docs, _ = lint_templates.check_template(formula, directory / rel, f"{name}/{rel}")
                    else:
                        docs, _ = lint_manifests.load_file(directory / rel, f"{name}/{rel}")
                    for doc in docs:
                        crd = crds.read_crd(doc.data, f"dependency {name}") if crds.is_crd(doc.data) else None
                        found += [crd] if crd is not None else []
            self._crds[name] = found
        return self._crds[name]


def archive_root(directory: Path) -> Path:
    parent = Path(os.path.abspath(directory)).parent
    if parent.name == FORMULAS_DIR:
        return parent
    from kube.core import paths

    archive = paths.formulas_in(paths.archive_dir())  # never through a symlinked formulas/
    return archive if archive is not None else parent


def _dependencies(formula: Formula, archive: _Archive, base: str) -> list[Finding]:
    k3 = f"{base}/{METADATA_FILE}"
    findings: list[Finding] = []
    for dep in formula.dependencies:
        if dep.name == formula.name:
            continue  # k3-dependency
        target = archive.get(dep.name)
        if not archive.has(dep.name):
            close = difflib.get_close_matches(dep.name, archive.names, n=1)
            hint = f"did you mean `{close[0]}`?" if close else None
            message = f"dependency `{dep.name}` is not a kube of the archive ({display(archive.root)})"
            findings.append(finding("dependency-missing", k3, dep.line, message, hint=hint))
        elif target is not None and not dep.range.contains(target.version):
            message = (
                f"dependency `{dep.name}` ({dep.range}) excludes the archive's {dep.name} {target.version}"
            )
            findings.append(finding("dependency-version", k3, dep.line, message))
        cycle = _cycle_through(formula.name, dep.name, archive)
        if cycle:
            chain = " -> ".join([formula.name, *cycle])
            findings.append(finding("dependency-cycle", k3, dep.line, f"dependency cycle: {chain}"))
    return findings


def _cycle_through(start: str, first: str, archive: _Archive) -> list[str]:
    """A path ``first -> ... -> start`` in the archive's dependency graph, or []."""
    stack: list[tuple[str, list[str]]] = [(first, [first])]
    seen: set[str] = set()
    while stack:
        name, path = stack.pop()
        if name == start:
            return path
        if name in seen:
            continue
        seen.add(name)
        loaded = archive.get(name)
        for dep in reversed(loaded.dependencies if loaded is not None else ()):
            stack.append((dep.name, [*path, dep.name]))
    return []


# -- version bump ----------------------------------------------------------------------------------------


def _version_bump(
    root: Path, base_commit: str, base: str, directory: Path, formula: Formula
) -> list[Finding]:
    from kube.formula import yaml_strict as yamlsafe
    from kube.lint import changed as lint_git

    k3 = directory / METADATA_FILE
    before = lint_git.version_at(root, base_commit, k3)
    if before is None or formula.version > before:
        return []
    node = yamlsafe.load_one(k3.read_text(encoding="utf-8"), source=str(k3))
    line = yamlsafe.line_of(node, "version")
    change = "is still" if formula.version == before else f"went down from {before} to"
    message = f"{formula.name} changed since {base} but its version {change} {formula.version}"
    return [finding("version-bump", display(k3), line, message, hint=f"raise `version` above {before}")]
