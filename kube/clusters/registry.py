"""``$KUBE_HOME/clusters.yaml``: the registered clusters, by short name.

Each entry names a kubeconfig file (referenced where it is, or copied under
``$KUBE_HOME/clusters/NAME/kubeconfig`` with mode 0600 by ``--copy``), an
optional context, labels (``env=prod``) for ``--cluster-selector``, and the
provisioner that created it, if any. The file never holds credentials.

Writers hold the ``$KUBE_HOME`` lock and replace the file atomically; readers
do not lock. kube writes JSON, which is YAML too, and reads either.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import stat
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from kube.archive.lock import locked
from kube.core import paths
from kube.core.errors import KubeError, NotFoundError, UsageError

FORMAT_VERSION = 1
_NAME = re.compile(r"[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?")
_LABEL_KEY = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._/-]{0,61}[A-Za-z0-9])?")
_LABEL_VALUE = re.compile(r"([A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)?")


def registry_file() -> Path:
    return paths.kube_home() / "clusters.yaml"


def copies_dir() -> Path:
    return paths.kube_home() / "clusters"


@dataclass(frozen=True)
class Cluster:
    name: str
    kubeconfig: str
    context: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    copied: bool = False
    provisioner: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kubeconfig": self.kubeconfig,
            "context": self.context,
            "labels": dict(self.labels),
            "copied": self.copied,
            "provisioner": self.provisioner,
        }


def validate_name(name: str) -> str:
    """Cluster names: lower-case letters, digits and '-', at most 32 (the local engine's rule)."""
    if not _NAME.fullmatch(name):
        raise UsageError(
            f"invalid cluster name {name!r}: use lower-case letters, digits and '-', at most 32 characters"
        )
    return name


def parse_labels(items: Iterable[str], option: str = "--label") -> dict[str, str]:
    """``key=value`` pairs (Kubernetes label syntax); a bad one is one line naming it."""
    labels: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not _LABEL_KEY.fullmatch(key) or not _LABEL_VALUE.fullmatch(value):
            raise UsageError(f"{option} {item!r}: give key=value (letters, digits, '-', '_', '.')")
        labels[key] = value
    return labels


def load() -> dict[str, Cluster]:
    """Every registered cluster by name; an empty registry when the file does not exist."""
    path = registry_file()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeError) as exc:
        raise KubeError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from exc
    try:
        doc = json.loads(text)
    except ValueError:
        doc = _load_yaml(text, path)
    clusters = doc.get("clusters") if isinstance(doc, dict) else None
    if not isinstance(clusters, dict):
        raise KubeError(f"{path}: expected a mapping `clusters:`", hint=f"fix or remove {path}")
    found: dict[str, Cluster] = {}
    for name, entry in clusters.items():
        found[str(name)] = _entry(path, str(name), entry)
    return found


def _load_yaml(text: str, path: Path) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        return YAML(typ="safe", pure=True).load(text)
    except YAMLError as exc:
        raise KubeError(f"{path}: not valid YAML: {str(exc).splitlines()[0]}", hint=f"fix {path}") from None


def _entry(path: Path, name: str, entry: Any) -> Cluster:
    where = f"{path}: cluster {name!r}"
    if not _NAME.fullmatch(name) or not isinstance(entry, dict):
        raise KubeError(f"{where}: not a cluster entry", hint=f"fix {path}, or `kube cluster rm {name}`")
    kubeconfig, context = entry.get("kubeconfig"), entry.get("context")
    labels = entry.get("labels") or {}
    if not isinstance(kubeconfig, str) or not kubeconfig or not (context is None or isinstance(context, str)):
        raise KubeError(
            f"{where}: needs a kubeconfig path (and an optional context name)", hint=f"fix {path}"
        )
    if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
        raise KubeError(f"{where}: labels must map names to strings", hint=f"fix {path}")
    provisioner = entry.get("provisioner")
    return Cluster(
        name=name,
        kubeconfig=kubeconfig,
        context=context or None,
        labels={str(k): v for k, v in labels.items()},
        copied=bool(entry.get("copied", False)),
        provisioner=provisioner if isinstance(provisioner, str) else None,
    )


def _save(clusters: Mapping[str, Cluster]) -> None:
    doc = {
        "formatVersion": FORMAT_VERSION,
        "clusters": {
            name: {k: v for k, v in c.to_json().items() if k != "name"}
            for name, c in sorted(clusters.items())
        },
    }
    data = "# Clusters registered with `kube cluster add`; no credentials are kept here.\n"
    data += json.dumps(doc, indent=2) + "\n"
    path = registry_file()
    try:
        paths.atomic_write(path, data.encode("utf-8"))
    except OSError as exc:
        raise _write_error(exc, path, "nothing was registered") from exc


def _write_error(exc: OSError, path: Path, outcome: str) -> KubeError:
    """One line for a write under ``$KUBE_HOME`` that failed: a full disk is said as such."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return KubeError(
            f"disk full at {path}: {outcome}",
            hint="free some space on that disk, then run the command again",
        )
    return KubeError(f"cannot write {path}: {exc.strerror or exc}: {outcome}", hint=f"check {path.parent}")


def update(change: Callable[[dict[str, Cluster]], None]) -> dict[str, Cluster]:
    """Read, ``change`` in place and write back, holding the ``$KUBE_HOME`` lock throughout."""
    with locked():
        clusters = load()
        change(clusters)
        _save(clusters)
        return clusters


def get(name: str) -> Cluster:
    clusters = load()
    found = clusters.get(name)
    if found is None:
        known = ", ".join(sorted(clusters)) or "none registered"
        raise NotFoundError(
            f"no cluster named {name!r} ({known})",
            hint="see `kube cluster list`, or add it with `kube cluster add`",
        )
    return found


def add(cluster: Cluster, *, copy: bool = False, replace_existing: bool = False) -> Cluster:
    """Register ``cluster``; with ``copy`` its kubeconfig is copied (mode 0600) under ``$KUBE_HOME``."""
    validate_name(cluster.name)
    source = Path(cluster.kubeconfig).expanduser()
    try:
        if not stat.S_ISREG(os.stat(source).st_mode):
            raise UsageError(f"--kubeconfig {source}: not a regular file")
    except FileNotFoundError:
        raise NotFoundError(f"--kubeconfig {source}: no such file") from None
    entry = replace(cluster, kubeconfig=str(source.resolve()))

    def change(clusters: dict[str, Cluster]) -> None:
        if cluster.name in clusters and not replace_existing:
            raise UsageError(
                f"a cluster named {cluster.name!r} is already registered",
                hint=f"forget it first with `kube cluster rm {cluster.name}`, or choose another name",
            )
        nonlocal entry
        if copy:
            target = _copy_kubeconfig(source, cluster.name, made)
            entry = replace(entry, kubeconfig=str(target), copied=True)
        clusters[cluster.name] = entry

    # The directories the copy creates: removed again if the cluster is not registered after all
    # (a full disk), so that a failed add leaves nothing behind.
    made: list[Path] = []
    try:
        update(change)
    except BaseException:
        for directory in reversed(made):
            shutil.rmtree(directory, ignore_errors=True)
        raise
    return entry


def _copy_kubeconfig(source: Path, name: str, made: list[Path]) -> Path:
    """``source`` copied to ``clusters/NAME/kubeconfig`` (0600), whole or not at all; the
    directories it had to create are added to ``made``."""
    target = copies_dir() / name / "kubeconfig"
    try:
        data = source.read_bytes()
    except OSError as exc:
        raise KubeError(f"cannot read --kubeconfig {source}: {exc.strerror or exc}") from exc
    made += [d for d in (copies_dir(), target.parent) if not d.exists()]
    try:
        for directory in made:
            directory.mkdir(mode=0o700)
        paths.atomic_write(target, data, mode=0o600)
    except OSError as exc:
        raise _write_error(exc, target, "the kubeconfig was not copied and nothing was registered") from exc
    return target


def remove(name: str) -> Cluster:
    """Forget ``name`` (and its copied kubeconfig); the cluster itself is not touched."""
    removed: list[Cluster] = []

    def change(clusters: dict[str, Cluster]) -> None:
        if name not in clusters:
            raise NotFoundError(f"no cluster named {name!r}", hint="see `kube cluster list`")
        removed.append(clusters.pop(name))

    update(change)
    if removed[0].copied:
        shutil.rmtree(copies_dir() / name, ignore_errors=True)
    return removed[0]


def select(
    names: Iterable[str] = (), *, every: bool = False, selector: Mapping[str, str] | None = None
) -> list[Cluster]:
    """The clusters named, or all of them, or those whose labels match ``selector``; in order, once each."""
    clusters = load()
    chosen: list[Cluster] = []
    for name in names:
        if name not in clusters:
            get(name)  # raises the one-line NotFoundError
        if clusters[name] not in chosen:
            chosen.append(clusters[name])
    if every or selector:
        for cluster in sorted(clusters.values(), key=lambda c: c.name):
            matches = all(cluster.labels.get(k) == v for k, v in (selector or {}).items())
            if matches and cluster not in chosen:
                chosen.append(cluster)
    if not chosen:
        what = "no cluster matches " + ",".join(f"{k}={v}" for k, v in (selector or {}).items())
        raise NotFoundError(
            what if selector else "no clusters registered",
            hint="register clusters with `kube cluster add NAME --kubeconfig FILE [--label k=v]`",
        )
    return chosen
