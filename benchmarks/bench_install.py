#!/usr/bin/env python3
"""Benchmark `kube install` on a 30-object formula.

1. `kube install --dry-run` (no cluster writes; with -n given, no kubectl at all).
2. `kube install` against the cluster in $KUBECONFIG, beside a bare `kubectl create -f DIR`
   of the same rendered objects, each into a fresh, pre-created namespace; prints the
   median times, their ratio (aim: within 1.5x) and how many kubectl processes each start.

kubectl processes are counted with a wrapper script that runs the real kubectl and logs
each invocation with its duration (`KUBE_KUBECTL` for kube, first on PATH for the bare
run); kube's own share is its total time minus the time spent in kubectl.

Usage: eval "$(scripts/dev-cluster env)"; python benchmarks/bench_install.py [--runs N]
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

KINDS = 30


def formula(root: Path) -> Path:
    """A formula of 30 objects: ConfigMaps, Secrets, ServiceAccounts, Services, Deployments."""
    directory = root / "bench"
    manifests = directory / "manifests"
    manifests.mkdir(parents=True)
    (directory / "K3.yaml").write_text(
        'name: bench\nversion: "1.0.0"\nhome: https://example.com/bench\ndescription: Thirty objects\n'
        "maintainers: [Jane Doe <jane@example.com>]\nvalues: {replicas: 1, greeting: hello}\n"
    )
    docs = []
    for i in range(8):
        docs.append(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm-{i}"}, "data": {"i": str(i)}}
        )
    for i in range(6):
        docs.append({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": f"secret-{i}"},
                     "stringData": {"k": str(i)}})  # fmt: skip
    for i in range(4):
        docs.append({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": f"sa-{i}"}})
    for i in range(6):
        docs.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": f"svc-{i}"},
                     "spec": {"selector": {"app": f"app-{i}"}, "ports": [{"port": 80}]}})  # fmt: skip
    for i in range(5):
        pod = {"metadata": {"labels": {"app": f"app-{i}"}},
               "spec": {"containers": [{"name": "c", "image": "nginx:1.19"}]}}  # fmt: skip
        spec = {"replicas": 1, "selector": {"matchLabels": {"app": f"app-{i}"}}, "template": pod}
        docs.append(
            {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": f"app-{i}"}, "spec": spec}
        )
    for i, doc in enumerate(docs):
        (manifests / f"{i:02d}-{doc['metadata']['name']}.json").write_text(json.dumps(doc))
    (manifests / "99-greeting.yaml.tmpl").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: greeting\ndata:\n"
        "  text: {{ greeting | quote }}\n  namespace: {{ kube.namespace }}\n"
    )
    assert len(docs) + 1 == KINDS
    return directory


def logging_kubectl(root: Path, real: str) -> tuple[Path, Path]:
    bindir = root / "bin"
    bindir.mkdir()
    log = root / "kubectl.log"
    wrapper = bindir / "kubectl"
    # Logs the time each call took and its arguments; stdin and stdout pass through.
    wrapper.write_text(
        "#!/bin/sh\nstart=$(date +%s%N)\n"
        f'"{real}" "$@"\nrc=$?\n'
        f'echo "$(( ($(date +%s%N) - start) / 1000000 )) $*" >> "{log}"\nexit $rc\n'
    )
    wrapper.chmod(0o755)
    return wrapper, log


def timed(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"failed: {' '.join(argv)}\n{done.stdout}\n{done.stderr}")
    return elapsed


def kubectl(real: str, *args: str) -> None:
    subprocess.run([real, *args], check=True, capture_output=True)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    real = shutil.which("kubectl")
    kube = shutil.which("kube") or sys.exit("kube is not on PATH (pip install -e .)")
    if not real or not os.environ.get("KUBECONFIG"):
        sys.exit('needs a cluster: eval "$(scripts/dev-cluster env)" first')
    with tempfile.TemporaryDirectory(prefix="kube-bench-") as tmp:
        root = Path(tmp)
        directory = formula(root)
        wrapper, log = logging_kubectl(root, real)
        env = {**os.environ, "KUBE_HOME": str(root / "kube-home"), "KUBE_KUBECTL": str(wrapper)}
        bare_env = {**os.environ, "PATH": f"{wrapper.parent}{os.pathsep}{os.environ['PATH']}"}

        dry = [
            timed([kube, "install", str(directory), "-n", "bench", "--dry-run"], env)
            for _ in range(args.runs)
        ]
        dry_calls = len(log.read_text().splitlines()) if log.exists() else 0
        rendered = root / "rendered"
        rendered.mkdir()
        out = subprocess.run([kube, "install", str(directory), "-n", "bench", "--dry-run", "-o", "json"],
                             env=env, capture_output=True, text=True, check=True)  # fmt: skip
        for i, item in enumerate(json.loads(out.stdout)["items"]):
            item["metadata"].pop("namespace", None)
            (rendered / f"{i:02d}.json").write_text(json.dumps(item))

        kube_times, bare_times, kube_calls, in_kubectl, namespaces = [], [], [], [], []
        try:
            for run in range(args.runs + 1):  # the first run of each warms kubectl's discovery cache
                ns_kube, ns_bare = f"bench-kube-{uuid.uuid4().hex[:6]}", f"bench-bare-{uuid.uuid4().hex[:6]}"
                namespaces += [ns_kube, ns_bare]
                kubectl(real, "create", "namespace", ns_kube)
                kubectl(real, "create", "namespace", ns_bare)
                log.write_text("")
                t_kube = timed([kube, "install", str(directory), "-n", ns_kube], env)
                calls = log.read_text().splitlines()
                log.write_text("")
                t_bare = timed(["kubectl", "create", "-n", ns_bare, "-f", str(rendered)], bare_env)
                bare_calls = len(log.read_text().splitlines())
                if run:
                    kube_times.append(t_kube)
                    bare_times.append(t_bare)
                    kube_calls.append(len(calls))
                    in_kubectl.append(sum(int(line.split()[0]) for line in calls) / 1000)
        finally:
            subprocess.run([real, "delete", "namespace", *namespaces, "--wait=false"], capture_output=True)

    k, b, spent = statistics.median(kube_times), statistics.median(bare_times), statistics.median(in_kubectl)
    print(f"formula: {KINDS} objects (one template), {args.runs} runs each, medians")
    dry_ms = statistics.median(dry) * 1000
    print(f"kube install --dry-run        {dry_ms:7.0f} ms   kubectl processes: {dry_calls}")
    print(f"kube install                  {k * 1000:7.0f} ms   kubectl processes: {max(kube_calls)}")
    print(f"kubectl create -f (rendered)  {b * 1000:7.0f} ms   kubectl processes: {bare_calls}")
    print(
        f"  of which in kubectl         {spent * 1000:7.0f} ms   (kube itself: {(k - spent) * 1000:.0f} ms)"
    )
    print(f"ratio kube / kubectl          {k / b:7.2f}x  (aim: within 1.5x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
