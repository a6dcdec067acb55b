#!/usr/bin/env python3
"""Benchmark kube on many clusters.

1. `kube install F --cluster a --cluster b --cluster c` beside three sequential
   `kube install F --kubeconfig ...` runs of the same formula (ten objects), each into a
   fresh namespace; prints the median times and their ratio.
2. `kube cluster list` with 10 registered clusters, 2 of them unreachable: one refuses
   connections (a closed loopback port), one accepts and never answers (so it costs the whole
   per-cluster --timeout); prints the median time beside that timeout.

Clusters a and b are created for the run with the local provisioner (`h13a`, `h13b`; about
10 s each once Kubernetes is built) and deleted at the end; c is the cluster in $KUBECONFIG.

Usage: eval "$(scripts/dev-cluster env)"; python benchmarks/bench_clusters.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

OBJECTS = 10


def formula(root: Path) -> Path:
    directory = root / "fan"
    (directory / "manifests").mkdir(parents=True)
    (directory / "K3.yaml").write_text(
        'name: fan\nversion: "1.0.0"\nhome: https://example.com/fan\ndescription: Ten objects\n'
        "maintainers: [Jane Doe <jane@example.com>]\n"
    )
    for i in range(OBJECTS // 2):
        (directory / "manifests" / f"cm{i}.yaml").write_text(
            f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: fan-{i}}}\ndata: {{i: '{i}'}}\n"
        )
        (directory / "manifests" / f"sa{i}.yaml").write_text(
            f"apiVersion: v1\nkind: ServiceAccount\nmetadata: {{name: fan-{i}}}\n"
        )
    return directory


def kube(*args: str, env: dict[str, str], check: bool = True) -> float:
    began = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "kube", *args],
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    took = time.monotonic() - began
    if check and proc.returncode != 0:
        sys.exit(f"kube {' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()[-400:]}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--list-timeout", type=float, default=3.0)
    args = parser.parse_args()
    shared = os.environ.get("KUBECONFIG")
    if not shared:
        sys.exit('needs a cluster: eval "$(scripts/dev-cluster env)" first')
    work = Path(tempfile.mkdtemp(prefix="bench-clusters-"))
    env = {**os.environ, "KUBE_HOME": str(work / "home"), "KUBE_INTERACTIVE": "0"}
    env.pop("KUBECONFIG")
    created: list[str] = []
    silent = socket.socket()
    try:
        for name in ("h13a", "h13b"):
            kube("cluster", "create", name, "--provisioner", "local", env=env)
            created.append(name)
        kube("cluster", "add", "c", "--kubeconfig", shared, env=env)
        source = formula(work)
        kubeconfigs = _kubeconfigs(env)
        fan, seq = [], []
        for _ in range(args.runs):
            ns = f"bench-fan-{uuid.uuid4().hex[:6]}"
            fan.append(kube("install", str(source), "-n", ns, "--cluster", "h13a", "--cluster", "h13b",
                            "--cluster", "c", env=env))  # fmt: skip
            kube("uninstall", "fan", "-n", ns, "--all-clusters", env=env)
            ns = f"bench-seq-{uuid.uuid4().hex[:6]}"
            total = 0.0
            for name in ("h13a", "h13b", "c"):
                total += kube("install", str(source), "-n", ns, f"--kubeconfig={kubeconfigs[name]}", env=env)
            seq.append(total)
            kube("uninstall", "fan", "-n", ns, "--all-clusters", env=env)
        fan_m, seq_m = statistics.median(fan), statistics.median(seq)
        print(f"install on 3 clusters, {OBJECTS} objects, median of {args.runs}:")
        print(f"  kube install --cluster x3      {fan_m:6.2f} s")
        print(f"  three sequential installs      {seq_m:6.2f} s")
        print(f"  ratio (sequential / parallel)  {seq_m / fan_m:6.2f}x")

        # 10 registered: the 3 real clusters, 5 more names for them, and 2 unreachable.
        for i in range(5):
            target = ("h13a", "h13b", "c")[i % 3]
            kube("cluster", "add", f"alias{i}", "--kubeconfig", kubeconfigs[target], env=env)
        timeout = f"{args.list_timeout:g}s"
        reachable = [kube("cluster", "list", "--timeout", timeout, env=env) for _ in range(args.runs)]
        print(f"kube cluster list, 8 reachable clusters, median of {args.runs}:")
        print(f"  {statistics.median(reachable):6.2f} s")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            closed = probe.getsockname()[1]
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        for name, port in (("refused", closed), ("silent", silent.getsockname()[1])):
            path = work / f"{name}.kubeconfig"
            path.write_text(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: x\n  cluster: {server: "
                f'"https://127.0.0.1:{port}", insecure-skip-tls-verify: true}}\nusers:\n- name: u\n'
                "  user: {token: t}\ncontexts:\n- name: x\n  context: {cluster: x, user: u}\n"
                "current-context: x\n"
            )
            kube("cluster", "add", name, "--kubeconfig", str(path), "--no-check", env=env)
        times = [kube("cluster", "list", "--timeout", timeout, env=env) for _ in range(args.runs)]
        print(f"kube cluster list, 10 clusters (2 unreachable), --timeout {timeout}, median of {args.runs}:")
        print(f"  {statistics.median(times):6.2f} s   (one silent cluster alone costs {timeout})")
    finally:
        silent.close()
        for name in created:
            kube("cluster", "delete", name, env=env, check=False)


def _kubeconfigs(env: dict[str, str]) -> dict[str, str]:
    import json

    text = (Path(env["KUBE_HOME"]) / "clusters.yaml").read_text().split("\n", 1)[1]
    return {name: entry["kubeconfig"] for name, entry in json.loads(text)["clusters"].items()}


if __name__ == "__main__":
    main()
