"""Commands: cluster add, list, info, rm, create, delete, backup, restore (clusters by short name).

Exit codes: 0 ok; 2 bad option; 3 no such cluster or provisioner; 8 a cluster that does not
answer (``add``, ``info``) or a provisioner that failed; 9 a provisioner that ran past --timeout.
``cluster list`` exits 0 even when some clusters are unreachable: it says why, per cluster.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kube.cli import completers, console
from kube.cli.options import Output, OutputFormat, choose, command_app
from kube.clusters import inspect, provisioners, registry
from kube.clusters.registry import Cluster
from kube.core.durations import parse_duration
from kube.core.errors import ClusterError, KubeError, UsageError

app = command_app()
cluster_app = command_app()
app.add_typer(cluster_app, name="cluster", no_args_is_help=True)

Labels = Annotated[
    list[str] | None,
    typer.Option("--label", metavar="KEY=VALUE", help="A label, for --cluster-selector (repeatable)."),
]
ListTimeout = Annotated[
    str, typer.Option("--timeout", metavar="DURATION", help="How long each cluster may take to answer.")
]


@cluster_app.callback()
def cluster_group() -> None:
    """Register clusters by name, check them, create and delete them through provisioners, back them up."""


@cluster_app.command("add")
def add_command(
    name: Annotated[str, typer.Argument(metavar="NAME", help="A short name for the cluster.")],
    kubeconfig: Annotated[
        Path, typer.Option("--kubeconfig", metavar="FILE", help="The kubeconfig that reaches it.")
    ],
    context: Annotated[
        str | None, typer.Option("--context", metavar="CTX", help="Its context (default: the current one).")
    ] = None,
    labels: Labels = None,
    copy: Annotated[
        bool, typer.Option("--copy", help="Keep a copy of the kubeconfig (mode 0600) under $KUBE_HOME.")
    ] = False,
    timeout: ListTimeout = "10s",
    no_check: Annotated[
        bool, typer.Option("--no-check", help="Register it even if it does not answer now.")
    ] = False,
) -> None:
    """Register a cluster under a short name, and check that it answers."""
    registry.validate_name(name)
    limit = parse_duration(timeout)
    entry = Cluster(name, str(kubeconfig), context, registry.parse_labels(labels or ()))
    # Checked before it is registered: a kubeconfig that reaches nothing is not worth a name.
    summary = inspect.summarize(entry, timeout=limit)
    if not summary.reachable and not no_check:
        if summary.answered:
            raise ClusterError(
                f"cluster {name}: {summary.reason}",
                hint="check the context's user (`kubectl auth can-i get nodes`), or give another context",
            )
        raise ClusterError(
            f"cluster {name} does not answer: {summary.reason}",
            hint="check the kubeconfig and context (`kubectl cluster-info`)",
        )
    added = registry.add(entry, copy=copy)
    where = "a copy of its kubeconfig" if added.copied else "its kubeconfig"
    state = (
        f"{summary.version}, {summary.nodes_ready}/{summary.nodes_total} nodes ready"
        if summary.reachable
        else f"not answering: {summary.reason}"
    )
    console.line(f"added cluster {name}: {summary.endpoint or '-'}, {state} ({where}: {added.kubeconfig})")


@cluster_app.command("list")
def list_command(output: Output = None, timeout: ListTimeout = "5s") -> None:
    """List the registered clusters: endpoint, version, nodes ready, kube releases, or why unreachable."""
    fmt = choose(output, OutputFormat.json)
    clusters = sorted(registry.load().values(), key=lambda c: c.name)
    found = inspect.summarize_all(clusters, timeout=parse_duration(timeout))
    if fmt is OutputFormat.json:
        console.print_json(
            [{**s.to_json(), "labels": dict(c.labels)} for s, c in zip(found, clusters, strict=True)]
        )
        return
    if not found:
        console.info("no clusters registered (add one with `kube cluster add NAME --kubeconfig FILE`)")
        return
    rows = [
        (
            s.name,
            s.endpoint or "-",
            s.version or "-",
            f"{s.nodes_ready}/{s.nodes_total}" if s.reachable else "-",
            s.releases if s.reachable else "-",
            "reachable" if s.reachable else f"unreachable: {s.reason}",
        )
        for s in found
    ]
    console.print_table(("NAME", "ENDPOINT", "VERSION", "NODES", "RELEASES", "STATUS"), rows)


@cluster_app.command("info")
def info_command(
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="A registered cluster.", autocompletion=completers.clusters)
    ],
    output: Output = None,
    timeout: ListTimeout = "30s",
) -> None:
    """Show a cluster: endpoint, CA, kind of credentials, version, node usage, pods, kube releases."""
    fmt = choose(output, OutputFormat.json)
    limit = parse_duration(timeout)
    cluster = registry.get(name)
    made_by = _provisioner_status(cluster, limit)
    try:
        found = inspect.info(cluster, timeout=limit)
    except ClusterError as exc:
        if made_by:
            exc.hint = f"its provisioner says: {made_by}" + (f"; {exc.hint}" if exc.hint else "")
        raise
    if fmt is OutputFormat.json:
        console.print_json({**found.to_json(), "provisionerStatus": made_by or None})
        return
    labels = ", ".join(f"{k}={v}" for k, v in found.labels.items()) or "-"
    for key, value in (
        ("Cluster", found.name),
        ("Endpoint", found.access.endpoint),
        ("Context", found.access.context),
        ("CA (SHA-256)", found.access.ca_fingerprint),
        ("Credentials", found.access.credentials),
        ("Server", f"{found.version} ({found.platform})"),
        ("Labels", labels),
        ("Provisioner", f"{found.provisioner} ({made_by})" if found.provisioner else "-"),
    ):
        console.line(f"{key + ':':<14}{value}")
    console.line()
    console.print_table(
        ("NODE", "READY", "CPU CAP", "CPU ALLOC", "CPU REQ", "MEM CAP", "MEM ALLOC", "MEM REQ", "PODS"),
        [
            (
                n.name, "yes" if n.ready else "no",
                inspect.cpu_text(n.capacity_cpu), inspect.cpu_text(n.allocatable_cpu),
                inspect.cpu_text(n.requested_cpu), inspect.memory_text(n.capacity_memory),
                inspect.memory_text(n.allocatable_memory), inspect.memory_text(n.requested_memory), n.pods,
            )
            for n in found.nodes
        ],
    )  # fmt: skip
    console.line()
    console.print_table(("NAMESPACE", "PODS RUNNING"), list(found.pods_running.items()))
    console.line()
    if found.releases:
        console.print_table(
            ("RELEASE", "NAMESPACE", "FORMULA", "VERSION", "REVISION", "STATUS"),
            [(r.name, r.namespace, r.formula, r.version, r.revision, r.status) for r in found.releases],
        )
    else:
        console.line("no kube releases")


def _provisioner_status(cluster: Cluster, timeout: float) -> str:
    """What the provisioner that created ``cluster`` says of it, in one line ("" if none made it)."""
    if cluster.provisioner is None:
        return ""
    try:
        said = provisioners.call(cluster.provisioner, "status", cluster.name, {}, timeout)
    except KubeError as exc:
        return f"status unknown: {exc.message}"
    return str(said.get("status", "?"))


@cluster_app.command("rm")
def rm_command(
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="A registered cluster.", autocompletion=completers.clusters)
    ],
) -> None:
    """Forget a cluster (the cluster itself is not touched)."""
    removed = registry.remove(name)
    console.line(f"forgot cluster {name}" + (" and its kubeconfig copy" if removed.copied else ""))


@cluster_app.command("create")
def create_command(
    name: Annotated[str, typer.Argument(metavar="NAME", help="The new cluster's short name.")],
    provisioner: Annotated[
        str, typer.Option("--provisioner", metavar="P", help="Who creates it: local, kubeconfig or a plugin.")
    ],
    option: Annotated[
        list[str] | None,
        typer.Option("--option", metavar="KEY=VALUE", help="An option for the provisioner (repeatable)."),
    ] = None,
    labels: Labels = None,
    timeout: Annotated[
        str, typer.Option("--timeout", metavar="DURATION", help="How long the provisioner may take.")
    ] = "10m",
) -> None:
    """Create a cluster through a provisioner and register it."""
    registry.validate_name(name)
    limit = parse_duration(timeout)
    chosen = registry.parse_labels(labels or ())
    options = provisioners.parse_options(option or [])
    if name in registry.load():
        raise UsageError(f"a cluster named {name!r} is already registered", hint="choose another name")
    console.info(f"creating cluster {name} with provisioner {provisioner}")
    made = provisioners.call(provisioner, "create", name, options, limit)
    kubeconfig = str(made.get("kubeconfig", ""))
    # A kubeconfig the provisioner wrote under $KUBE_HOME goes when the cluster is forgotten.
    inside = Path(kubeconfig).resolve().is_relative_to(registry.copies_dir().resolve())
    added = registry.add(Cluster(name, kubeconfig, None, chosen, copied=inside, provisioner=provisioner))
    summary = inspect.summarize(added, timeout=10)
    state = (
        f"{summary.version}, {summary.nodes_ready}/{summary.nodes_total} nodes ready"
        if summary.reachable
        else f"not answering yet: {summary.reason}"
    )
    console.line(f"created cluster {name} ({provisioner}): {summary.endpoint or '-'}, {state}")


@cluster_app.command("delete")
def delete_command(
    name: Annotated[
        str,
        typer.Argument(
            metavar="NAME",
            help="A cluster made by `kube cluster create`.",
            autocompletion=completers.clusters,
        ),
    ],
    timeout: Annotated[
        str, typer.Option("--timeout", metavar="DURATION", help="How long the provisioner may take.")
    ] = "5m",
) -> None:
    """Delete a cluster through the provisioner that created it, and forget it."""
    cluster = registry.get(name)
    if cluster.provisioner is None:
        raise UsageError(
            f"cluster {name} was added, not created by a provisioner: kube does not delete it",
            hint=f"forget it with `kube cluster rm {name}`",
        )
    limit = parse_duration(timeout)
    provisioners.call(cluster.provisioner, "delete", name, {}, limit)
    registry.remove(name)
    console.line(f"deleted cluster {name} ({cluster.provisioner}) and forgot it")


@cluster_app.command("backup")
def backup_command(
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="A registered cluster.", autocompletion=completers.clusters)
    ],
    out: Annotated[Path, typer.Option("--out", metavar="DIR", help="A new (or empty) directory.")],
    include_secrets: Annotated[
        bool,
        typer.Option(
            "--include-secrets", help="Keep values and Secrets too (files mode 0600); restore needs them."
        ),
    ] = False,
) -> None:
    """Write every kube release of a cluster (revision history, rendered manifests) to a directory."""
    from kube.clusters import backup

    cluster = registry.get(name)
    done = backup.backup(inspect.kubectl_of(cluster), out, cluster=name, include_secrets=include_secrets)
    console.print_table(
        ("RELEASE", "NAMESPACE", "REVISIONS", "OBJECTS"),
        [(b.release, b.namespace, b.revisions, b.objects) for b in done],
    )
    kept = "values and Secrets included, files mode 0600" if include_secrets else "no values or Secret data"
    console.line(f"backed up {len(done)} releases of cluster {name} to {out} ({kept})")


@cluster_app.command("restore")
def restore_command(
    name: Annotated[
        str,
        typer.Argument(
            metavar="NAME", help="The registered cluster to restore onto.", autocompletion=completers.clusters
        ),
    ],
    source: Annotated[Path, typer.Option("--from", metavar="DIR", help="A `kube cluster backup` directory.")],
    skip_existing: Annotated[
        bool, typer.Option("--skip-existing", help="Leave releases that exist here alone (else an error).")
    ] = False,
) -> None:
    """Re-create the releases of a backup on a cluster: objects first, then every revision record."""
    from kube.clusters import backup

    cluster = registry.get(name)
    done = backup.restore(inspect.kubectl_of(cluster), source, skip_existing=skip_existing)
    console.print_table(
        ("RELEASE", "NAMESPACE", "OUTCOME", "OBJECTS", "REVISIONS"),
        [(r.release, r.namespace, r.outcome, r.objects, r.revisions) for r in done],
    )
    for r in done:
        if r.detail:
            console.line(f"  {r.namespace}/{r.release}: {r.detail}")
    restored = sum(1 for r in done if r.outcome == "restored")
    console.line(f"restored {restored} of {len(done)} releases onto cluster {name}")
    if partial := [r for r in done if r.outcome == "partial"]:
        raise ClusterError(
            f"{len(partial)} releases only partly restored: "
            + ", ".join(f"{r.namespace}/{r.release}" for r in partial),
            hint="see the lines above; remove what was made with `kube uninstall`, then restore again",
        )
