"""Where the archive comes from, and ``$KUBE_HOME/config.yaml``, which remembers it.

The URL is ``--repo``, else ``KUBE_REPO``, else config.yaml, else the built-in
default. ``--repo`` and ``--branch`` are written to config.yaml after an
update succeeds; ``KUBE_REPO`` is an override for one shell and is not.

kube writes the file itself as ``key: "json string"`` lines, which are valid
YAML 1.2 and can be read back without loading a YAML library (``kube update``
with nothing new has a 300 ms budget). A file edited by hand in any other
YAML style is read with ruamel's safe loader. Writes are atomic.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kube.archive.lazy import LazyModule
from kube.core import paths
from kube.core.errors import KubeError

if TYPE_CHECKING:
    from kube.archive import git as gitcmd
else:
    gitcmd = LazyModule("kube.archive.git")

_KEYS = ("repo", "branch")
_SIMPLE_LINE = re.compile(r'^(?P<key>[a-z_]+):\s*(?P<value>"(?:[^"\\]|\\.)*"|null)\s*$')


@dataclass(frozen=True)
class Config:
    repo: str | None = None
    branch: str | None = None


@dataclass(frozen=True)
class ArchiveSource:
    url: str
    branch: str | None  # None: the remote's default branch
    origin: str = "default"  # where the URL came from: --repo, KUBE_REPO, config.yaml, default


def resolve_source(repo: str | None = None, branch: str | None = None) -> ArchiveSource:
    """The validated URL and branch to use (UsageError for a URL or branch git must not see)."""
    config = read_config()
    if repo:
        url, origin = repo, "--repo"
    elif os.environ.get("KUBE_REPO"):
        url, origin = os.environ["KUBE_REPO"], "KUBE_REPO"
    elif config.repo:
        url, origin = config.repo, "config.yaml"
    else:
        url, origin = paths.default_repo(), "default"
    url = gitcmd.validate_url(url)
    if branch is None and config.branch and (config.repo is None or gitcmd.validate_url(config.repo) == url):
        branch = config.branch
    return ArchiveSource(url, gitcmd.validate_branch(branch) if branch else None, origin)


def remember(repo: str | None, branch: str | None, source: ArchiveSource) -> None:
    """Save what ``--repo``/``--branch`` chose (call after the update worked)."""
    if repo is None and branch is None:
        return
    current = read_config()
    wanted = Config(
        repo=source.url if repo is not None else current.repo,
        branch=branch if branch is not None else (current.branch if repo is None else None),
    )
    if wanted != current:
        write_config(wanted)


def _parse_simple(text: str) -> dict[str, Any] | None:
    data: dict[str, Any] = {}
    for raw in text.splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _SIMPLE_LINE.match(stripped)
        if match is None:
            return None
        data[match["key"]] = json.loads(match["value"])
    return data


def _parse_yaml(text: str, where: Path) -> dict[str, Any]:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        data = YAML(typ="safe", pure=True).load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise KubeError(
            f"{where}{line}: not valid YAML: {getattr(exc, 'problem', None) or exc}",
            hint=f"fix or delete {where}",
        ) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise KubeError(f"{where}: expected a mapping of settings", hint=f"fix or delete {where}")
    return data


def read_config(path: Path | None = None) -> Config:
    """The saved settings; an absent file means defaults."""
    where = path or paths.config_file()
    try:
        text = where.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Config()
    except (OSError, UnicodeDecodeError) as exc:
        raise KubeError(f"cannot read {where}: {exc}", hint=f"fix or delete {where}") from exc
    data = _parse_simple(text)
    if data is None:
        data = _parse_yaml(text, where)
    values: dict[str, str | None] = {}
    for key in _KEYS:
        value = data.get(key)
        if value is not None and not isinstance(value, str):
            raise KubeError(f"{where}: `{key}` must be a string", hint=f"fix or delete {where}")
        values[key] = value or None
    return Config(repo=values["repo"], branch=values["branch"])


def write_config(config: Config, path: Path | None = None) -> None:
    lines = ["# kube settings; written by `kube update --repo/--branch`."]
    for key in _KEYS:
        value = getattr(config, key)
        if value is not None:
            lines.append(f"{key}: {json.dumps(value)}")
    try:
        paths.atomic_write(path or paths.config_file(), ("\n".join(lines) + "\n").encode("utf-8"))
    except OSError as exc:
        raise KubeError(f"cannot write {path or paths.config_file()}: {exc.strerror}") from exc
