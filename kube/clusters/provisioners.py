"""Provisioners: the plugins that create and delete clusters (kube never installs Kubernetes).

A provisioner is found by name among the Python entry points of group
``kube.provisioners`` (``importlib.metadata``), so another package can ship
one (GKE, EKS, kind, k3d) without changing kube. The entry point names a class
(or any callable) that takes no arguments and returns an object with::

    create(name: str, options: Mapping[str, str], timeout: float) -> str | os.PathLike
        # make the cluster; return the path of a kubeconfig whose current context reaches it
    delete(name: str) -> None      # remove the cluster and what create left on this machine
    status(name: str) -> str       # one line: "running", "stopped", "not found"...

kube calls every method in a child process (``python -m kube.clusters.runner``)
bounded by a timeout, so a provisioner that fails or hangs costs at most that
long and is reported in one line; its process group is ended on timeout.

Two ship with kube: ``local`` (``kube.clusters.local``: a real control plane on
this machine) and ``kubeconfig`` (imports an existing context, so ``create``
works the same for clusters made by other means).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

from kube.clusters import registry
from kube.core import process
from kube.core.errors import (
    ClusterError,
    KubeError,
    NotFoundError,
    ProcessTimeout,
    UsageError,
    WaitTimeoutError,
)

GROUP = "kube.provisioners"
#: Found without package metadata too (kube run from a checkout that was never pip-installed).
BUILTIN = {
    "local": "kube.clusters.local:LocalProvisioner",
    "kubeconfig": "kube.clusters.provisioners:KubeconfigProvisioner",
}
DEFAULT_TIMEOUT = 600.0


class Provisioner(Protocol):
    def create(self, name: str, options: Mapping[str, str], timeout: float) -> str | os.PathLike[str]: ...

    def delete(self, name: str) -> None: ...

    def status(self, name: str) -> str: ...


def available() -> dict[str, str]:
    """Provisioner name -> its entry point (``module:attribute``)."""
    found = dict(BUILTIN)
    for entry in metadata.entry_points(group=GROUP):
        found[entry.name] = entry.value
    return found


def load(name: str) -> Provisioner:
    """The provisioner ``name``, instantiated. Runs in the child process only."""
    target = available().get(name)
    if target is None:
        raise NotFoundError(
            f"no provisioner named {name!r} ({', '.join(sorted(available()))})",
            hint=f"install the package that provides it (entry point group {GROUP})",
        )
    module, _, attribute = target.partition(":")
    obj: Any = __import__(module, fromlist=["_"])
    for part in attribute.split("."):
        obj = getattr(obj, part)
    provisioner: Provisioner = obj()
    return provisioner


def check_exists(name: str) -> None:
    """A one-line NotFoundError before anything runs, for a name no entry point has."""
    if name not in available():
        load(name)


def call(
    provisioner: str, action: str, name: str, options: Mapping[str, str], timeout: float
) -> dict[str, Any]:
    """Run ``action`` (create, delete, status) of ``provisioner`` in a child process, bounded by ``timeout``.

    Raises ``WaitTimeoutError`` (exit 9) when it does not finish in time (its process group is
    ended) and ``ClusterError`` (exit 8) with the provisioner's own last line when it fails."""
    check_exists(provisioner)
    argv = [
        sys.executable,
        "-m",
        "kube.clusters.runner",
        action,
        provisioner,
        name,
        json.dumps(dict(options)),
    ]
    argv.append(f"{max(1.0, timeout - 2):g}")
    what = f"provisioner {provisioner!r}: {action} of cluster {name!r}"
    env = {**os.environ, "PYTHONPATH": _python_path()}
    try:
        done = process.run(argv, timeout=timeout, check=False, env=env, keep=1 << 20)
    except ProcessTimeout:
        raise WaitTimeoutError(
            f"{what} did not finish within {timeout:g}s; it was stopped",
            hint="give it longer with --timeout, or check the provisioner",
        ) from None
    if done.returncode != 0:
        raise ClusterError(f"{what} failed: {process.last_line(done.stderr or done.stdout)}")
    try:
        result = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise ClusterError(f"{what} printed no result: {process.last_line(done.stdout)}") from None
    if not isinstance(result, dict):
        raise ClusterError(f"{what} printed no result")
    return result


def _python_path() -> str:
    """The child finds this very kube first (a checkout run without installing it)."""
    here = str(Path(__file__).resolve().parents[2])
    rest = os.environ.get("PYTHONPATH", "")
    return os.pathsep.join([here, rest]) if rest else here


def parse_options(items: list[str]) -> dict[str, str]:
    options: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--option {item!r}: give key=value")
        options[key] = value
    return options


class KubeconfigProvisioner:
    """Imports an existing context: options ``kubeconfig`` (default: kubectl's) and ``context``
    (default: the current one). Its credentials are copied, certificates inlined, into
    ``$KUBE_HOME/clusters/NAME/kubeconfig`` (mode 0600); delete removes that copy only."""

    def create(self, name: str, options: Mapping[str, str], timeout: float) -> str:
        from kube.k8s.kubectl import Kubectl

        unknown = set(options) - {"kubeconfig", "context"}
        if unknown:
            raise UsageError(f"unknown option {sorted(unknown)[0]!r} (kubeconfig, context)")
        kubectl = Kubectl(
            context=options.get("context"), kubeconfig=options.get("kubeconfig"), timeout=timeout
        )
        text = kubectl.flattened_kubeconfig()
        target = registry.copies_dir() / registry.validate_name(name) / "kubeconfig"
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, text.encode("utf-8"))
        finally:
            os.close(fd)
        return str(target)

    def delete(self, name: str) -> None:
        target = registry.copies_dir() / registry.validate_name(name) / "kubeconfig"
        target.unlink(missing_ok=True)

    def status(self, name: str) -> str:
        target = registry.copies_dir() / registry.validate_name(name) / "kubeconfig"
        return "imported" if target.is_file() else "not found"


def describe_failure(exc: BaseException) -> str:
    if isinstance(exc, KubeError):
        return exc.message
    return f"{type(exc).__name__}: {exc}"
