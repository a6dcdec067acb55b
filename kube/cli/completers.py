"""Completers: what the shell offers after a command's argument or option.

Each returns the candidates that start with what was typed. A completer that cannot answer
(no archive yet, no cluster, a timeout) answers nothing: completion must never print an error
into the user's prompt. Cluster questions get ``CLUSTER_TIMEOUT`` seconds, so a dead cluster
never blocks the prompt. This module imports nothing heavy at load: the commands that use it
load it on every run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click  # loaded already by the root group; Typer reads the completers' annotations at run time

if TYPE_CHECKING:
    from kube.k8s.kubectl import Kubectl

#: Seconds a completer may spend asking the cluster.
CLUSTER_TIMEOUT = 2.0


def _starting(candidates: list[str], incomplete: str) -> list[str]:
    return sorted({c for c in candidates if c.startswith(incomplete)})


def formulas(incomplete: str) -> list[str]:
    """Formula names from the archive's index (local; nothing is fetched)."""
    try:
        from kube.archive import index

        return _starting(index.load_index().names(), incomplete)
    except Exception:
        return []


def _kubectl(ctx: click.Context) -> Kubectl:
    from kube.k8s.kubectl import Kubectl

    params: dict[str, Any] = ctx.params
    return Kubectl(params.get("context"), params.get("kubeconfig"), timeout=CLUSTER_TIMEOUT)


def releases(ctx: click.Context, incomplete: str) -> list[str]:
    """Release names in ``-n`` (or everywhere), from the cluster within ``CLUSTER_TIMEOUT``."""
    try:
        from kube.k8s.releases import list_releases

        found = list_releases(_kubectl(ctx), ctx.params.get("namespace"))
        return _starting([r.name for r in found], incomplete)
    except Exception:
        return []


def namespaces(ctx: click.Context, incomplete: str) -> list[str]:
    """Namespace names from the cluster within ``CLUSTER_TIMEOUT``."""
    try:
        items = _kubectl(ctx).list_objects("namespaces", namespace=None)
        return _starting([str(i.get("metadata", {}).get("name", "")) for i in items], incomplete)
    except Exception:
        return []


def clusters(incomplete: str) -> list[str]:
    """Names of the registered clusters (``kube cluster add``)."""
    try:
        from kube.core import paths
        from kube.formula import yaml_strict

        registry = paths.kube_home() / "clusters.yaml"
        data = yaml_strict.load_one(registry.read_text(encoding="utf-8"), source=str(registry))
        entries = data.get("clusters", data) if isinstance(data, dict) else {}
        names = list(entries) if isinstance(entries, dict) else [e.get("name", "") for e in entries]
        return _starting([str(n) for n in names], incomplete)
    except Exception:
        return []
