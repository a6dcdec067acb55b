"""Build real git repositories from ``{path: content}`` dicts, for tests.

Uses the ``git`` command directly (not kube's code) so that tests exercise
kube against repositories made independently of it.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(repo: Path, *args: str) -> str:
    import os

    env = {**os.environ, **GIT_ENV}
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env
    ).stdout


def write_tree(root: Path, files: Mapping[str, str | bytes | None]) -> None:
    """Write files under root; a value of None deletes that path."""
    for rel, content in files.items():
        path = root / rel
        if content is None:
            if path.is_dir():
                import shutil

                shutil.rmtree(path)
            elif path.exists() or path.is_symlink():
                path.unlink()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def make_repo(path: Path, files: Mapping[str, str | bytes | None], *, branch: str = "main") -> Path:
    """Create a repository at ``path`` with one commit holding ``files``."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", branch)
    commit(path, files, "initial")
    return path


def commit(repo: Path, files: Mapping[str, str | bytes | None], message: str = "change") -> str:
    """Apply ``files`` to the work tree, commit everything, return the new sha."""
    write_tree(repo, files)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


def k3(name: str, version: str = "1.0.0", **extra: object) -> str:
    """A valid K3.yaml text for ``name``; ``extra`` adds or overrides top-level keys
    (values are dumped as YAML flow scalars / lists)."""
    import json

    fields: dict[str, object] = {
        "name": name,
        "version": version,
        "home": f"https://example.com/{name}",
        "description": f"The {name} server",
        "maintainers": ["Jane Doe <jane@example.com>"],
    }
    fields.update(extra)
    # JSON is valid YAML 1.2 flow style; keep strings quoted so versions stay strings.
    return "\n".join(f"{key}: {json.dumps(value)}" for key, value in fields.items()) + "\n"


def replace_history(repo: Path, files: Mapping[str, str | bytes | None], message: str) -> str:
    """Point ``main`` at a new root commit: the work tree with ``files`` applied, and none of
    the old history (as a force-push of another history does). Returns its sha."""
    git(repo, "checkout", "-q", "--orphan", "other")
    made = commit(repo, files, message)
    git(repo, "branch", "-f", "main", "HEAD")
    git(repo, "checkout", "-q", "main")
    git(repo, "branch", "-D", "other")
    return made


def formula_files(
    name: str, version: str = "1.0.0", *, manifests: Mapping[str, str] | None = None, **extra: object
) -> dict[str, str]:
    """Files of one formula under ``formulas/<name>/`` (a ConfigMap by default)."""
    files = {f"formulas/{name}/K3.yaml": k3(name, version, **extra)}
    if manifests is None:
        manifests = {
            "configmap.yaml": (
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
                f'  name: {name}-config\ndata:\n  version: "{version}"\n'
            )
        }
    for filename, text in manifests.items():
        files[f"formulas/{name}/manifests/{filename}"] = text
    return files
