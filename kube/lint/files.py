"""Lint rules on a formula's files: layout, sizes, README, the hook script and what it needs.

Symlinks and special files are reported by ``kube.formula`` (``formula-symlink``,
``formula-special-file``); this walk skips them and never follows a link, so
nothing outside the formula is read. The hook is compiled, never run.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kube.archive.copies import MANIFEST as COPY_RECORD
from kube.core.findings import Finding, Severity
from kube.core.paths import FORMULAS_DIR, METADATA_FILE
from kube.formula import hook_needs
from kube.formula.manifests import FILE_LIMIT, FORMULA_LIMIT
from kube.formula.shards import SHARDS_DIR
from kube.lint.rules import finding

if TYPE_CHECKING:
    from kube.formula.load import Formula

SIZE_LIMIT = FILE_LIMIT  # the reader's, so a file lint passes is one install reads
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json", ".yaml.tmpl", ".json.tmpl")
TEST_SUFFIXES = (".yaml", ".yml", ".json")
HOOK = hook_needs.HOOK.as_posix()
_LAYOUT_FILES = {"K3.yaml", "README.md"}
_LAYOUT_DIRS = {"manifests", "patches", "scripts", "tests"}


@dataclass(frozen=True)
class FormulaFiles:
    """The regular files of a formula that the other rules may read, by relative POSIX path."""

    manifests: tuple[str, ...]
    tests: tuple[str, ...]
    hook: str | None
    too_large: tuple[str, ...] = ()  # reported (file-too-large), not read


def check_files(directory: Path, base: str) -> tuple[FormulaFiles, list[Finding]]:
    """Hygiene, layout and script rules; ``base`` is how ``directory`` is displayed."""
    findings: list[Finding] = []
    if directory.is_symlink() or not directory.is_dir():
        return FormulaFiles((), (), None), findings  # reported by kube.formula
    regular: list[str] = []
    sizes: dict[str, int] = {}
    _walk(directory, directory, base, regular, findings, sizes)
    regular.sort()
    total = sum(sizes.values())
    if total > FORMULA_LIMIT:
        message = (
            f"the formula's files add up to {total / 1048576:.1f} MiB, over the "
            f"{FORMULA_LIMIT // 1048576} MiB limit"
        )
        findings.append(finding("file-too-large", base, 0, message))
    manifests = tuple(r for r in regular if _under(r, "manifests"))
    tests = tuple(r for r in regular if _under(r, "tests"))
    # In an archive (formulas/NAME), not in a copy kube get made (which holds its own record).
    in_archive = directory.resolve().parent.name == FORMULAS_DIR
    for rel in regular:
        findings.extend(_layout(rel, base, in_archive=in_archive))
    top_dirs = {e.name for e in os.scandir(directory) if e.is_dir(follow_symlinks=False)}
    for name in sorted(top_dirs - _LAYOUT_DIRS):
        if not name.startswith("."):
            findings.append(
                finding("file-unexpected", f"{base}/{name}", 0, f"unexpected directory `{name}/`")
            )
    if "README.md" not in regular:
        findings.append(finding("readme-missing", base, 0, "no README.md"))
    hook = HOOK if HOOK in regular else None
    if hook:
        findings.extend(_compile_hook(directory / hook, f"{base}/{hook}"))
    too_large = tuple(sorted(rel for rel in sizes if rel not in regular))
    return FormulaFiles(manifests, tests, hook, too_large), findings


def _under(rel: str, top: str) -> bool:
    return rel.startswith(top + "/")


def _walk(
    root: Path, directory: Path, base: str, regular: list[str], findings: list[Finding], sizes: dict[str, int]
) -> None:
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError:
        return  # reported by kube.formula
    for entry in entries:
        path = Path(entry.path)
        rel = path.relative_to(root).as_posix()
        shown = f"{base}/{rel}"
        mode = entry.stat(follow_symlinks=False).st_mode
        if stat.S_ISDIR(mode):
            _walk(root, path, base, regular, findings, sizes)
        elif stat.S_ISREG(mode):
            size = entry.stat(follow_symlinks=False).st_size
            sizes[rel] = size
            if size > SIZE_LIMIT:
                findings.append(
                    finding(
                        "file-too-large",
                        shown,
                        0,
                        f"`{rel}` is {size / 1048576:.1f} MiB, over the {SIZE_LIMIT // 1048576} MiB limit",
                    )
                )
            else:
                regular.append(rel)


def _layout(rel: str, base: str, *, in_archive: bool = True) -> list[Finding]:
    shown = f"{base}/{rel}"
    top = rel.split("/", 1)[0]
    if "/" not in rel:
        if rel == COPY_RECORD and in_archive:
            # kube get's record of a copy: shipped in a formula, every copy of it looks edited.
            message = f"`{rel}` is the name of kube get's record of a copy; a formula may not hold it"
            return [Finding(shown, 0, "formula-path", message, Severity.ERROR, "remove it")]
        if rel in _LAYOUT_FILES or rel.startswith("."):
            return []
        return [finding("file-unexpected", shown, 0, f"unexpected file `{rel}`")]
    if top == "manifests":
        if rel.startswith(f"manifests/{SHARDS_DIR}/") and rel.count("/") == 2:
            pass  # read per shard when K3.yaml declares shards: (kube.lint.run)
        elif "/" in rel[len("manifests/") :]:
            return [
                finding(
                    "manifest-file-type",
                    shown,
                    0,
                    f"`{rel}` is in a subdirectory of manifests/, which kube does not read",
                    hint="put manifests directly under manifests/",
                )
            ]
        if not rel.endswith(MANIFEST_SUFFIXES):
            return [finding("manifest-file-type", shown, 0, f"`{rel}` is not a manifest kube reads")]
    if top == "tests" and not rel.endswith(TEST_SUFFIXES):
        return [finding("test-file-type", shown, 0, f"`{rel}` is not a YAML or JSON file")]
    if top == "scripts" and rel != HOOK:
        return [finding("script-unexpected", shown, 0, f"`{rel}`: kube only runs {HOOK}")]
    return []


def shard_manifests(files: FormulaFiles) -> list[str]:
    """The manifests of ``manifests/shards/`` (directly in it, with a suffix kube reads)."""
    prefix = f"manifests/{SHARDS_DIR}/"
    return [
        rel
        for rel in files.manifests
        if rel.startswith(prefix) and rel.count("/") == 2 and rel.endswith(MANIFEST_SUFFIXES)
    ]


def _compile_hook(path: Path, shown: str) -> list[Finding]:
    try:
        source = path.read_bytes()
    except OSError as exc:
        return [finding("script-compile", shown, 0, f"cannot read the hook: {exc.strerror}")]
    try:
        compile(source, shown, "exec", dont_inherit=True)
    except SyntaxError as exc:
        return [finding("script-compile", shown, exc.lineno or 0, f"SyntaxError: {exc.msg}")]
    except ValueError as exc:  # e.g. a NUL byte in the source
        return [finding("script-compile", shown, 0, f"cannot compile: {exc}")]
    return []


def check_hook_needs(formula: Formula | None, files: FormulaFiles, base: str) -> list[Finding]:
    """``hook:`` of K3.yaml: each field valid PEP 440 / PEP 508 (as the hook runner reads it,
    so lint and install agree), and a hook to need it."""
    if formula is None or formula.hook is None:
        return []
    k3 = f"{base}/{METADATA_FILE}"
    found = [
        finding("hook-requirement", k3, p.line, f"{p.where}: {p.message}")
        for p in hook_needs.problems(formula.hook)
    ]
    if files.hook is None:
        message = f"hook: says what {HOOK} needs, but the formula has no {HOOK}"
        found.append(finding("hook-without-script", k3, formula.hook.line, message))
    return found
