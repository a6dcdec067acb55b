#!/usr/bin/env python3
"""Benchmark `kube install` and `kube uninstall` against a cluster, beside kubectl (and Helm).

On a formula of ``--objects`` objects (ConfigMaps, Secrets, ServiceAccounts, Services,
Deployments, one of them from a template), each run:

1. `kube install F -n NS` into a namespace that does not exist yet (kube creates it, as it
   does for a user), then `kube uninstall F -n NS` (which deletes that namespace again);
2. `kubectl create -f DIR` of the same rendered objects, DIR holding the Namespace too (one
   process, the way a user creates it all), then `kubectl delete -f DIR --wait=false`;
3. `kube install --wait` into another new namespace, then its uninstall (not timed);
4. where `helm` is on PATH: `helm install --create-namespace` of a chart holding the same
   objects, then `helm uninstall` (Helm leaves the namespace: it is deleted, untimed, after).

Before the runs, `kube install --dry-run` (-o yaml, the default, and -o json) is timed on its
own. Every kubectl process is counted with a wrapper that logs when each call started and ended
(`KUBE_KUBECTL` for kube, first on PATH for the bare runs); "in kubectl" is the wall time
during which at least one kubectl ran (calls kube overlaps count once), and kube's own share is
its wall time minus that. The first run warms kubectl's discovery cache and is not
counted. Medians are printed, with the load average before and after.

Usage: source /tmp/kube-shared.env (or eval "$(scripts/dev-cluster env)");
       python benchmarks/bench_install.py [--runs 5] [--objects 10] [--show-calls]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

NAME = "bench"


def formula(root: Path, count: int) -> Path:
    """``count`` objects: a template ConfigMap, then ConfigMaps, Secrets, ServiceAccounts,
    Services and Deployments in turn (JSON manifests, one per object)."""
    directory = root / NAME
    manifests = directory / "manifests"
    manifests.mkdir(parents=True)
    (directory / "K3.yaml").write_text(
        f'name: {NAME}\nversion: "1.0.0"\nhome: https://example.com/bench\ndescription: {count} objects\n'
        "maintainers: [Jane Doe <jane@example.com>]\nvalues: {replicas: 1, greeting: hello}\n"
    )
    for i in range(count - 1):
        kind = i % 5
        if kind == 0:
            doc = {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": f"cm-{i}"},
                "data": {"i": str(i)},
            }
        elif kind == 1:
            doc = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": f"secret-{i}"},
                   "stringData": {"k": str(i)}}  # fmt: skip
        elif kind == 2:
            doc = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": f"sa-{i}"}}
        elif kind == 3:
            doc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": f"svc-{i}"},
                   "spec": {"selector": {"app": f"app-{i}"}, "ports": [{"port": 80}]}}  # fmt: skip
        else:
            pod = {"metadata": {"labels": {"app": f"app-{i}"}},
                   "spec": {"containers": [{"name": "c", "image": "nginx:1.19"}]}}  # fmt: skip
            spec = {"replicas": 1, "selector": {"matchLabels": {"app": f"app-{i}"}}, "template": pod}
            doc = {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": f"app-{i}"},
                "spec": spec,
            }
        (manifests / f"{i:03d}-{doc['metadata']['name']}.json").write_text(json.dumps(doc))
    (manifests / "999-greeting.yaml.tmpl").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: greeting\ndata:\n"
        "  text: {{ greeting | quote }}\n  namespace: {{ kube.namespace }}\n"
    )
    return directory


def logging_kubectl(root: Path, real: str) -> tuple[Path, Path]:
    bindir = root / "bin"
    bindir.mkdir()
    log = root / "kubectl.log"
    wrapper = bindir / "kubectl"
    # Logs when each call started and ended (ns) and its arguments; stdin and stdout pass
    # through. Start and end, not a duration: kube runs some reads beside other calls.
    wrapper.write_text(
        "#!/bin/sh\nstart=$(date +%s%N)\n"
        f'"{real}" "$@"\nrc=$?\n'
        f'echo "$start $(date +%s%N) $*" >> "{log}"\nexit $rc\n'
    )
    wrapper.chmod(0o755)
    return wrapper, log


class Calls:
    """The kubectl processes logged since the last ``take``."""

    def __init__(self, log: Path) -> None:
        self.log = log

    def take(self) -> list[str]:
        lines = self.log.read_text().splitlines() if self.log.exists() else []
        self.log.write_text("")
        return lines

    @staticmethod
    def seconds(lines: list[str]) -> float:
        """Wall time with at least one kubectl running: overlapping calls count once."""
        spans = sorted((int(line.split()[0]), int(line.split()[1])) for line in lines)
        total, reach = 0, 0
        for start, end in spans:
            if end > reach:
                total += end - max(start, reach)
                reach = end
        return total / 1e9

    @staticmethod
    def verbs(lines: list[str]) -> list[str]:
        shown = []
        for line in lines:
            words = [
                w
                for w in line.split()[2:]
                if not w.startswith("--kubeconfig") and not w.startswith("--context")
            ]
            shown.append(" ".join(w for w in words[:3] if not w.startswith("--request-timeout")))
        return shown


def timed(argv: list[str], env: dict[str, str], *, check: bool = True) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if check and done.returncode != 0:
        sys.exit(f"failed: {' '.join(argv)}\n{done.stdout}\n{done.stderr}")
    return elapsed


def rendered_objects(kube: str, directory: Path, env: dict[str, str]) -> list[dict[str, object]]:
    out = subprocess.run([kube, "install", str(directory), "-n", "bench", "--dry-run", "-o", "json",
                          "--show-secrets"], env=env, capture_output=True, text=True, check=True)  # fmt: skip
    items: list[dict[str, object]] = json.loads(out.stdout)["items"]
    for item in items:
        meta = item["metadata"]
        assert isinstance(meta, dict)
        meta.pop("namespace", None)
    return items


def bare_files(root: Path, items: list[dict[str, object]], ns: str) -> Path:
    """The objects in namespace ``ns``, the Namespace first: what `kubectl create -f` is given."""
    directory = root / f"bare-{ns}"
    directory.mkdir()
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
    (directory / "000-namespace.json").write_text(json.dumps(namespace))
    for i, item in enumerate(items, start=1):
        meta = item["metadata"]
        assert isinstance(meta, dict)
        (directory / f"{i:03d}.json").write_text(json.dumps({**item, "metadata": {**meta, "namespace": ns}}))
    return directory


def helm_chart(root: Path, items: list[dict[str, object]]) -> Path:
    chart = root / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text(f"apiVersion: v2\nname: {NAME}\nversion: 1.0.0\n")
    for i, item in enumerate(items):
        (chart / "templates" / f"{i:03d}.yaml").write_text(json.dumps(item) + "\n")
    return chart


def ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:7.0f} ms" if values else "      - "


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--objects", type=int, default=10)
    parser.add_argument("--show-calls", action="store_true", help="print the kubectl calls of one run")
    parser.add_argument("--kube", default="", help="the kube program to measure (default: kube on PATH)")
    args = parser.parse_args()
    real = shutil.which("kubectl")
    kube = args.kube or shutil.which("kube") or sys.exit("kube is not on PATH (pip install -e .)")
    helm = shutil.which("helm")
    if not real or not os.environ.get("KUBECONFIG"):
        sys.exit('needs a cluster: eval "$(scripts/dev-cluster env)" first')
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="kube-bench-") as tmp:
        root = Path(tmp)
        directory = formula(root, args.objects)
        wrapper, log = logging_kubectl(root, real)
        calls = Calls(log)
        env = {**os.environ, "KUBE_HOME": str(root / "kube-home"), "KUBE_KUBECTL": str(wrapper)}
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: bytecode cached
        bare_env = {**os.environ, "PATH": f"{wrapper.parent}{os.pathsep}{os.environ['PATH']}"}
        dry_ns = f"bench-dry-{uuid.uuid4().hex[:6]}"  # does not exist: a dry run of a first install

        timed([kube, "install", str(directory), "-n", dry_ns, "--dry-run"], env)  # bytecode, caches
        dry = [
            timed([kube, "install", str(directory), "-n", dry_ns, "--dry-run"], env) for _ in range(args.runs)
        ]
        dry_json = [
            timed([kube, "install", str(directory), "-n", dry_ns, "--dry-run", "-o", "json"], env)
            for _ in range(args.runs)
        ]
        dry_calls = len(calls.take()) // (2 * args.runs + 1)
        items = rendered_objects(kube, directory, env)
        chart = helm_chart(root, items) if helm else None
        calls.take()

        rows: dict[str, list[float]] = {}
        counts: dict[str, int] = {}
        inside: dict[str, list[float]] = {}
        shown: dict[str, list[str]] = {}
        namespaces: list[str] = []

        def record(key: str, elapsed: float, lines: list[str] | None, counted: bool) -> None:
            if not counted:
                return
            rows.setdefault(key, []).append(elapsed)
            if lines is not None:
                counts[key] = max(counts.get(key, 0), len(lines))
                inside.setdefault(key, []).append(Calls.seconds(lines))
                shown.setdefault(key, Calls.verbs(lines))

        try:
            for run in range(args.runs + 1):  # the first run warms kubectl's discovery cache
                counted = run > 0
                tag = uuid.uuid4().hex[:6]
                ns_kube, ns_bare, ns_wait, ns_helm = (
                    f"bench-{w}-{tag}" for w in ("kube", "bare", "wait", "helm")
                )
                namespaces += [ns_kube, ns_bare, ns_wait, ns_helm]
                calls.take()
                t = timed([kube, "install", str(directory), "-n", ns_kube], env)
                record("kube install", t, calls.take(), counted)
                t = timed([kube, "uninstall", NAME, "-n", ns_kube], env)
                record("kube uninstall", t, calls.take(), counted)

                bare = bare_files(root, items, ns_bare)
                t = timed(["kubectl", "create", "-f", str(bare)], bare_env)
                record("kubectl create -f", t, calls.take(), counted)
                t = timed(["kubectl", "delete", "-f", str(bare), "--wait=false"], bare_env)
                record("kubectl delete -f", t, calls.take(), counted)

                t = timed([kube, "install", str(directory), "-n", ns_wait, "--wait"], env)
                record("kube install --wait", t, calls.take(), counted)
                timed([kube, "uninstall", NAME, "-n", ns_wait], env)
                calls.take()

                if helm and chart is not None:
                    t = timed(
                        [helm, "install", NAME, str(chart), "-n", ns_helm, "--create-namespace"], bare_env
                    )
                    record("helm install", t, None, counted)
                    t = timed([helm, "uninstall", NAME, "-n", ns_helm], bare_env)
                    record("helm uninstall", t, None, counted)
                    t = timed([helm, "install", NAME, str(chart), "-n", ns_wait + "h", "--create-namespace",
                               "--wait"], bare_env)  # fmt: skip
                    record("helm install --wait", t, None, counted)
                    timed([helm, "uninstall", NAME, "-n", ns_wait + "h"], bare_env)
                    namespaces.append(ns_wait + "h")
                    t = timed([helm, "template", NAME, str(chart)], bare_env)
                    record("helm template", t, None, counted)
                calls.take()
        finally:
            subprocess.run([real, "delete", "namespace", *namespaces, "--ignore-not-found", "--wait=false"],
                           capture_output=True)  # fmt: skip
    load_after = os.getloadavg()

    print(f"formula: {args.objects} objects (one template), {args.runs} runs each, medians")
    print(f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after")
    print(f"{'':30} {'time':>10}   kubectl processes   in kubectl   kube itself")
    print(f"{'kube install --dry-run':30} {ms(dry)}   {dry_calls}")
    print(f"{'kube install --dry-run -o json':30} {ms(dry_json)}   {dry_calls}")
    keys = ("kube install", "kube uninstall", "kubectl create -f", "kubectl delete -f", "kube install --wait",
            "helm install", "helm uninstall", "helm install --wait", "helm template")  # fmt: skip
    for key in keys:
        if key not in rows:
            continue
        line = f"{key:30} {ms(rows[key])}"
        if key in counts:
            spent, total = statistics.median(inside[key]), statistics.median(rows[key])
            line += f"   {counts[key]:<17}   {spent * 1000:7.0f} ms"
            if key.startswith("kube"):
                line += f"   {(total - spent) * 1000:7.0f} ms"
        print(line)
    ratios = [
        ("install", "kube install", "kubectl create -f"),
        ("uninstall", "kube uninstall", "kubectl delete -f"),
    ]
    for what, mine, bare in ratios:
        ratio = statistics.median(rows[mine]) / statistics.median(rows[bare])
        print(f"ratio kube / kubectl, {what:9} {ratio:7.2f}x")
    if not helm:
        print("helm: not on PATH, not measured")
    if args.show_calls:
        for key in ("kube install", "kube uninstall", "kube install --wait"):
            print(f"{key}: " + "; ".join(shown.get(key, [])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
