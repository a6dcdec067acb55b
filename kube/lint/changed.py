"""``kube lint --changed BASE``: which formulas changed since BASE, and their version at BASE.

As chart-testing does, the comparison is against the merge base of BASE and
HEAD, so commits that landed on BASE after the branch was cut do not count.
The work tree is compared, not just HEAD: in CI they are the same, and
locally uncommitted (and untracked) edits are linted too.
"""

from __future__ import annotations

from pathlib import Path

from kube.core import process
from kube.core.errors import ProcessError, UsageError
from kube.formula.versions import Version, VersionError

# A change to these files alone does not change what gets installed, so needs no new version.
NO_BUMP_NEEDED = frozenset({"README.md"})


def _git(root: Path, *args: str, check: bool = True) -> process.Completed:
    return process.run(["git", "-C", str(root), *args], timeout=60, check=check)


def repo_root(path: Path) -> Path:
    try:
        result = _git(path if path.is_dir() else path.parent, "rev-parse", "--show-toplevel")
    except ProcessError as exc:
        raise UsageError(
            f"--changed: {path} is not inside a git repository",
            hint="run kube lint --changed from a clone of the formulas repository",
        ) from exc
    return Path(result.stdout.strip())


def merge_base(root: Path, base: str) -> str:
    """The commit the current branch forked from ``base``."""
    if not base or base.startswith("-"):
        raise UsageError(f"--changed: bad git revision {base!r}", hint="e.g. --changed origin/main")
    result = _git(root, "merge-base", base, "HEAD", check=False)
    if not result.ok:
        hint = "fetch it first (git fetch origin main); in CI check out the full history (fetch-depth: 0)"
        raise UsageError(f"--changed: no common history between {base} and HEAD in {root}", hint=hint)
    return result.stdout.strip()


def changed_files(root: Path, base_commit: str) -> list[str]:
    """Paths (relative to ``root``) changed since ``base_commit``, uncommitted and untracked ones too."""
    diff = _git(root, "diff", "--name-only", "--no-renames", "-z", base_commit, "--")
    untracked = _git(root, "ls-files", "--others", "--exclude-standard", "-z")
    names = {n for n in (diff.stdout + untracked.stdout).split("\0") if n}
    return sorted(names)


def changed_formulas(root: Path, base_commit: str, formulas: list[Path]) -> dict[Path, list[str]]:
    """The ``formulas`` (directories) with changes since ``base_commit``: {formula: [paths inside it]}."""
    found: dict[Path, list[str]] = {}
    by_dir = {f.resolve(): f for f in formulas}
    resolved_root = root.resolve()
    for rel in changed_files(root, base_commit):
        path = resolved_root / rel
        for parent in path.parents:
            if parent in by_dir:
                found.setdefault(by_dir[parent], []).append(path.relative_to(parent).as_posix())
                break
    return found


def needs_bump(changed: list[str]) -> bool:
    return any(rel not in NO_BUMP_NEEDED for rel in changed)


def version_at(root: Path, base_commit: str, k3: Path) -> Version | None:
    """The formula's version at ``base_commit``; None when it did not exist there (or did not parse)."""
    from kube.core.errors import FormulaError
    from kube.formula import yaml_strict as yamlsafe

    rel = k3.resolve().relative_to(root.resolve()).as_posix()
    result = _git(root, "show", f"{base_commit}:{rel}", check=False)
    if not result.ok:
        return None
    try:
        data = yamlsafe.to_plain(yamlsafe.load_one(result.stdout, source=f"{base_commit[:12]}:{rel}"))
        return Version.parse(str(data["version"]))
    except (FormulaError, VersionError, KeyError, TypeError):
        return None
