"""One command on many clusters: ``--cluster NAME`` (repeatable), ``--all-clusters`` and
``--cluster-selector KEY=VALUE[,KEY=VALUE]`` on install, upgrade, uninstall, status and list.

One ``--cluster`` simply names the kubeconfig and context to use. More than one cluster (or
``--all-clusters``, or a selector) runs the same command once per cluster, in parallel (at most
``MAX_WORKERS`` at a time), each in a child ``kube`` process with that cluster's
``--kubeconfig``/``--context``, without a terminal: a failure on one cluster never stops the
others. Each cluster's own result table follows, then a summary (cluster, release, outcome,
duration). Exit code: 0 when every cluster succeeded, 12 (``CLUSTERS_PARTIAL``) when some did,
and when none did the code they all failed with, or 13 (``CLUSTERS_FAILED``) when they differ.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kube.cli import console
from kube.core import process
from kube.core.errors import ExitCode, KubeError, UsageError
from kube.core.text import safe_line

if TYPE_CHECKING:
    from kube.clusters.registry import Cluster

_VALUED = ("--cluster", "--cluster-selector")


class ClustersPartialError(KubeError):
    exit_code = ExitCode.CLUSTERS_PARTIAL


class ClustersFailedError(KubeError):
    exit_code = ExitCode.CLUSTERS_FAILED


@dataclass(frozen=True)
class Choice:
    """What the cluster options asked for: one cluster's kubeconfig/context, or many clusters."""

    context: str | None
    kubeconfig: str | None
    many: tuple[Cluster, ...] = ()


def choose(
    names: Sequence[str] | None,
    every: bool,
    selector: str | None,
    context: str | None,
    kubeconfig: str | None,
) -> Choice:
    if not names and not every and not selector:
        return Choice(context, kubeconfig)
    # Here, not at the top: a command on one cluster never loads the registry.
    from kube.clusters import registry

    if context or kubeconfig:
        raise UsageError(
            "--cluster, --all-clusters and --cluster-selector replace --context/--kubeconfig: "
            "give one or the other"
        )
    labels = registry.parse_labels(selector.split(","), "--cluster-selector") if selector else None
    if names and len(names) == 1 and not every and not selector:
        found = registry.get(names[0])
        return Choice(found.context, found.kubeconfig)
    return Choice(None, None, tuple(registry.select(names or (), every=every, selector=labels)))


@dataclass(frozen=True)
class Outcome:
    cluster: str
    code: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def ok(self) -> bool:
        return self.code == 0

    @property
    def error(self) -> str:
        lines = [line for line in self.stderr.splitlines() if line.startswith("Error: ")]
        text = lines[-1].removeprefix("Error: ") if lines else process.last_line(self.stderr)
        text = text.split(" (hint: ", 1)[0]  # the hint names one cluster's next step; the table has no room
        return safe_line(text if len(text) <= 160 else text[:157] + "...")


def child_args(args: Sequence[str], cluster: Cluster) -> list[str]:
    """``args`` without the cluster options, with the cluster's own kubeconfig and context."""
    kept: list[str] = []
    rest: list[str] = []
    skip = False
    for index, arg in enumerate(args):
        if skip:
            skip = False
            continue
        if arg == "--":  # what follows is arguments, never options: kept as given
            rest = list(args[index:])
            break
        if arg in _VALUED:
            skip = True
            continue
        if arg == "--all-clusters" or any(arg.startswith(f"{o}=") for o in _VALUED):
            continue
        kept.append(arg)
    kept.append(f"--kubeconfig={cluster.kubeconfig}")
    if cluster.context:
        kept.append(f"--context={cluster.context}")
    return kept + rest


def run_on(clusters: Sequence[Cluster], *, env: Mapping[str, str] | None = None) -> list[Outcome]:
    """This command, once per cluster, in parallel; each result in the order of ``clusters``."""
    import click  # the command line as Click was given it: only a command on many clusters asks

    from kube.cli.app import ARGS_KEY
    from kube.clusters.inspect import MAX_WORKERS, parallel

    args = click.get_current_context().find_root().meta.get(ARGS_KEY)
    if not args:
        raise UsageError("cannot run on many clusters here: the command line is unknown")
    environment = {**os.environ, "KUBE_INTERACTIVE": "0", **(env or {})}

    def one(cluster: Cluster) -> Outcome:
        began = time.monotonic()
        argv = [sys.executable, "-m", "kube", *child_args(args, cluster)]
        try:
            done = process.run(argv, check=False, env=environment)
        except KubeError as exc:
            return Outcome(
                cluster.name, ExitCode.ERROR, "", f"Error: {exc.message}", time.monotonic() - began
            )
        return Outcome(cluster.name, done.returncode, done.stdout, done.stderr, time.monotonic() - began)

    return parallel(clusters, one, workers=MAX_WORKERS)


def report(outcomes: Sequence[Outcome], *, verb: str, release: str, as_json: bool, success: str) -> None:
    """Each cluster's output, then the summary; raises with the documented exit code unless all succeeded."""
    if as_json:
        import json

        items: list[dict[str, Any]] = []
        for o in outcomes:
            try:
                result = json.loads(o.stdout) if o.stdout.strip() else None
            except ValueError:
                result = None
            items.append(
                {"cluster": o.cluster, "release": release, "exitCode": o.code, "ok": o.ok,
                 "outcome": success if o.ok else "failed", "error": "" if o.ok else o.error,
                 "seconds": round(o.seconds, 2), "result": result}
            )  # fmt: skip
        console.print_json({"clusters": items})
    else:
        for o in outcomes:
            console.line(f"== cluster {o.cluster}", style="bold")
            if o.stdout:
                sys.stdout.write(o.stdout if o.stdout.endswith("\n") else o.stdout + "\n")
                sys.stdout.flush()
            for line in o.stderr.splitlines():
                console.line(f"[{o.cluster}] {line}", stderr=True)
        console.line()
        console.print_table(
            ("CLUSTER", "RELEASE", "OUTCOME", "DURATION"),
            [
                (
                    o.cluster,
                    release,
                    success if o.ok else f"failed (exit {o.code}): {o.error}",
                    f"{o.seconds:.1f}s",
                )
                for o in outcomes
            ],
        )
    failed = [o for o in outcomes if not o.ok]
    if not failed:
        return
    names = ", ".join(f"{o.cluster} (exit {o.code})" for o in failed)
    if len(failed) < len(outcomes):
        raise ClustersPartialError(
            f"{verb} succeeded on {len(outcomes) - len(failed)} of {len(outcomes)} clusters; "
            f"failed on {names}",
            hint="see each cluster's output above; run it again with --cluster for those",
        )
    codes = {o.code for o in failed}
    error: KubeError = ClustersFailedError(
        f"{verb} failed on every cluster: {names}", hint="see each cluster's output above"
    )
    if len(codes) == 1:
        error.exit_code = codes.pop()
    raise error
