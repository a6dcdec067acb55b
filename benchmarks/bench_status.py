#!/usr/bin/env python3
"""Benchmark `kube status` and `kube list --status` on 50 releases.

Installs 50 releases of 3 objects each (a ConfigMap, a Service, a one-replica Deployment) into one
fresh namespace with `kube install --wait`, then measures, beside a bare `kubectl get -f` of the
same 150 objects:

1. `kube status RELEASE` of one release;
2. `kube list --status -n NS` over the 50 releases, all Current;
3. the same once one Deployment can never become available (its Pods are read for the reason);
4. `kube status` of each of the 50 releases in turn (what a script looping over them pays).

Prints median wall times and how many kubectl processes each starts (counted with a wrapper set
as `KUBE_KUBECTL` that logs every call, then runs the real kubectl).

Usage: eval "$(scripts/dev-cluster env)"; python benchmarks/bench_status.py [--releases 50] [--runs 5]
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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


def formula(root: Path, name: str) -> Path:
    directory = root / name
    (directory / "manifests").mkdir(parents=True)
    (directory / "K3.yaml").write_text(
        f'name: {name}\nversion: "1.0.0"\nhome: https://example.com/{name}\ndescription: Three objects\n'
        "maintainers: [Jane Doe <jane@example.com>]\n"
    )
    pod = {
        "metadata": {"labels": {"app": name}},
        "spec": {"containers": [{"name": "c", "image": "nginx:1.19"}]},
    }
    docs = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"{name}-cfg"}, "data": {"a": "b"}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
         "spec": {"selector": {"app": name}, "ports": [{"port": 80}]}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
         "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}}, "template": pod}},
    ]  # fmt: skip
    for i, doc in enumerate(docs):
        (directory / "manifests" / f"{i}.json").write_text(json.dumps(doc))
    return directory


def run(argv: list[str], env: dict[str, str], ok: tuple[int, ...] = (0,)) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode not in ok:
        sys.exit(f"failed ({done.returncode}): {' '.join(argv)}\n{done.stdout}\n{done.stderr}")
    return elapsed


def measure(
    argv: list[str], env: dict[str, str], log: Path, runs: int, ok: tuple[int, ...] = (0,)
) -> tuple[float, int]:
    """Median seconds of ``runs`` runs (after one that warms kubectl's discovery cache), and the
    kubectl calls of a run."""
    run(argv, env, ok)
    times, calls = [], []
    for _ in range(runs):
        log.write_text("")
        times.append(run(argv, env, ok))
        calls.append(len(log.read_text().splitlines()))
    return statistics.median(times), max(calls)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--releases", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    real = shutil.which("kubectl")
    if not real or not os.environ.get("KUBECONFIG"):
        sys.exit('needs a cluster: eval "$(scripts/dev-cluster env)" first')
    kube = [shutil.which("kube")] if shutil.which("kube") else [sys.executable, "-m", "kube"]
    namespace = f"bench-status-{uuid.uuid4().hex[:6]}"
    with tempfile.TemporaryDirectory(prefix="kube-bench-") as tmp:
        root = Path(tmp)
        log = root / "kubectl.log"
        wrapper = root / "kubectl-logged"
        wrapper.write_text(f'#!/bin/sh\necho "$*" >> "{log}"\nexec "{real}" "$@"\n')
        wrapper.chmod(0o755)
        env = {**os.environ, "KUBE_HOME": str(root / "kube-home"), "KUBE_KUBECTL": str(wrapper)}
        names = [f"rel-{i:02d}" for i in range(args.releases)]
        subprocess.run([real, "create", "namespace", namespace], check=True, capture_output=True)
        try:
            started = time.perf_counter()
            install_env = {k: v for k, v in env.items() if k != "KUBE_KUBECTL"}

            def install(name: str) -> float:
                directory = formula(root / "formulas", name)
                return run(
                    [*kube, "install", str(directory), "-n", namespace, "--wait", "--timeout", "120s"],
                    install_env,
                )

            with ThreadPoolExecutor(max_workers=4) as pool:
                list(pool.map(install, names))
            setup = time.perf_counter() - started

            objects = root / "objects.json"
            kinds = (("v1", "ConfigMap", "{}-cfg"), ("v1", "Service", "{}"), ("apps/v1", "Deployment", "{}"))
            stubs = [
                {
                    "apiVersion": api,
                    "kind": kind,
                    "metadata": {"name": n.format(name), "namespace": namespace},
                }
                for name in names
                for api, kind, n in kinds
            ]
            objects.write_text("".join(json.dumps(stub) + "\n" for stub in stubs))
            bare_env = {**os.environ, "PATH": f"{root}{os.pathsep}{os.environ['PATH']}"}
            shutil.copy(wrapper, root / "kubectl")
            bare = measure(["kubectl", "get", "-f", str(objects), "-o", "json"], bare_env, log, args.runs)
            one = measure([*kube, "status", names[0], "-n", namespace], env, log, args.runs)
            listed = measure([*kube, "list", "--status", "-n", namespace], env, log, args.runs)

            loop_log = []
            for name in names:
                log.write_text("")
                loop_log.append(
                    (run([*kube, "status", name, "-n", namespace], env), len(log.read_text().splitlines()))
                )

            subprocess.run([real, "patch", "deployment", names[-1], "-n", namespace, "--type=merge", "-p",
                            '{"spec":{"template":{"spec":{"nodeSelector":{"no":"such-node"}}}}}'],
                           check=True, capture_output=True)  # fmt: skip
            stuck = measure([*kube, "list", "--status", "-n", namespace], env, log, args.runs, ok=(1,))
        finally:
            subprocess.run([real, "delete", "namespace", namespace, "--wait=false"], capture_output=True)

    objects_count = 3 * len(names)
    print(f"{len(names)} releases of 3 objects ({objects_count} objects), {args.runs} runs each, medians")
    print(f"setup: {len(names)} x kube install --wait, 4 at a time: {setup:.1f} s")
    rows = [
        (f"kubectl get -f ({objects_count} objects)", *bare),
        ("kube status (one release)", *one),
        (f"kube list --status ({len(names)} releases)", *listed),
        ("kube list --status, 1 Deployment stuck", *stuck),
    ]
    for label, seconds, calls in rows:
        print(f"{label:42} {seconds * 1000:7.0f} ms   kubectl processes: {calls}")
    total = sum(t for t, _ in loop_log)
    each = statistics.median(t for t, _ in loop_log) * 1000
    calls = sum(c for _, c in loop_log)
    label = "kube status of each release in turn"
    print(f"{label:42} {total * 1000:7.0f} ms   kubectl processes: {calls} ({each:.0f} ms each)")
    print(f"ratio list --status / kubectl get          {listed[0] / bare[0]:7.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
