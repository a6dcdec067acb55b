#!/usr/bin/env python3
"""Benchmark `kube upgrade` on a 30-object formula (bench_install.py's), beside `kubectl apply --server-side`.

1. `kube upgrade` with no change (the same formula again: every object unchanged).
2. `kube upgrade` with one changed object (a ConfigMap's data, the version kept, so exactly
   one object changes), alternating between the two copies so that every run changes one.
Beside each, a bare `kubectl apply --server-side -f DIR` of the same rendered objects in its own
namespace (the same no-change and one-change files). Prints the median times, their ratio and
how many kubectl processes each start (counted with a KUBE_KUBECTL wrapper that logs each call
and its duration; kube's own share is its time minus the time spent in kubectl).

Usage: eval "$(scripts/dev-cluster env)"; python benchmarks/bench_upgrade.py [--runs N]
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
import uuid
from pathlib import Path

from bench_install import KINDS, formula, kubectl, logging_kubectl, timed

REPO = Path(__file__).resolve().parents[1]


def changed_copy(directory: Path, root: Path) -> Path:
    """The same formula and version with one ConfigMap's data changed."""
    copy = root / "changed" / directory.name
    shutil.copytree(directory, copy)
    target = copy / "manifests" / "00-cm-0.json"
    doc = json.loads(target.read_text())
    doc["data"] = {"i": "changed"}
    target.write_text(json.dumps(doc))
    return copy


def render(kube: list[str], directory: Path, out: Path, env: dict[str, str]) -> None:
    out.mkdir(parents=True)
    done = subprocess.run([*kube, "install", str(directory), "-n", "bench", "--dry-run", "-o", "json"],
                          env=env, capture_output=True, text=True, check=True)  # fmt: skip
    sys.path.insert(0, str(REPO))
    from kube.install.apply import with_default_protocols

    for i, found in enumerate(json.loads(done.stdout)["items"]):
        # The objects exactly as kube upgrade sends them (Kubernetes 1.20's apply needs protocol).
        item = dict(with_default_protocols(found))
        item["metadata"].pop("namespace", None)
        (out / f"{i:02d}.json").write_text(json.dumps(item))


def measure(argv: list[str], env: dict[str, str], log: Path) -> tuple[float, int, float]:
    """(seconds, kubectl processes, seconds spent in kubectl)."""
    log.write_text("")
    elapsed = timed(argv, env)
    calls = log.read_text().splitlines()
    return elapsed, len(calls), sum(int(line.split()[0]) for line in calls) / 1000


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    real = shutil.which("kubectl")
    if not real or not os.environ.get("KUBECONFIG"):
        sys.exit('needs a cluster: eval "$(scripts/dev-cluster env)" first')
    kube = [sys.executable, "-m", "kube"]
    with tempfile.TemporaryDirectory(prefix="kube-bench-") as tmp:
        root = Path(tmp)
        same = formula(root)
        other = changed_copy(same, root)
        wrapper, log = logging_kubectl(root, real)
        env = {**os.environ, "KUBE_HOME": str(root / "kube-home"), "KUBE_KUBECTL": str(wrapper),
               "PYTHONPATH": str(REPO), "KUBE_INTERACTIVE": "0"}  # fmt: skip
        bare_env = {**os.environ, "PATH": f"{wrapper.parent}{os.pathsep}{os.environ['PATH']}"}
        render(kube, same, root / "rendered-same", env)
        render(kube, other, root / "rendered-other", env)
        ns_kube, ns_bare = f"bench-up-kube-{uuid.uuid4().hex[:6]}", f"bench-up-bare-{uuid.uuid4().hex[:6]}"
        rows: dict[str, list[tuple[float, int, float]]] = {
            "noop": [],
            "one": [],
            "bare-noop": [],
            "bare-one": [],
        }
        try:
            kubectl(real, "create", "namespace", ns_kube)
            kubectl(real, "create", "namespace", ns_bare)
            timed([*kube, "install", str(same), "-n", ns_kube], env)
            bare = ["kubectl", "apply", "--server-side", "--field-manager=bench", "-n", ns_bare, "-f"]
            # Warm-up: the first apply takes the objects over from kubectl create's field manager.
            timed([*kube, "upgrade", "bench", str(same), "-n", ns_kube], env)
            timed([*bare, str(root / "rendered-same")], bare_env)
            current = same
            for _ in range(args.runs):
                rows["noop"].append(
                    measure([*kube, "upgrade", "bench", str(current), "-n", ns_kube], env, log)
                )
                current = other if current is same else same
                rows["one"].append(
                    measure([*kube, "upgrade", "bench", str(current), "-n", ns_kube], env, log)
                )
                side = "rendered-other" if current is other else "rendered-same"
                previous = "rendered-same" if current is other else "rendered-other"
                rows["bare-noop"].append(measure([*bare, str(root / previous)], bare_env, log))
                rows["bare-one"].append(measure([*bare, str(root / side)], bare_env, log))
        finally:
            subprocess.run(
                [real, "delete", "namespace", ns_kube, ns_bare, "--wait=false"], capture_output=True
            )

    def med(key: str, index: int) -> float:
        return statistics.median(r[index] for r in rows[key])

    print(f"formula: {KINDS} objects (one template), {args.runs} runs each, medians")
    for key, label, bare_key in (
        ("noop", "no change", "bare-noop"),
        ("one", "one changed object", "bare-one"),
    ):
        k, b, spent = med(key, 0), med(bare_key, 0), med(key, 2)
        calls, bare_calls = max(r[1] for r in rows[key]), max(r[1] for r in rows[bare_key])
        print(f"kube upgrade, {label:<20} {k * 1000:7.0f} ms   kubectl processes: {calls}")
        own = (k - spent) * 1000
        print(f"  of which in kubectl              {spent * 1000:7.0f} ms   (kube itself: {own:.0f} ms)")
        print(f"kubectl apply --server-side       {b * 1000:7.0f} ms   kubectl processes: {bare_calls}")
        print(f"ratio kube / kubectl              {k / b:7.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
