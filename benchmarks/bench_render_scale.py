#!/usr/bin/env python3
"""Benchmark `kube install --dry-run` as formulas grow: 500, 2,000 and 10,000 objects.

Each formula holds ConfigMaps split over 20 manifest files, a CustomResourceDefinition with one
custom resource per 50 objects (so the scope lookup and the CRD wave are exercised), and a
depends-on reference on every 25th object. kube runs as a subprocess, the way a user runs it,
with `-n` given and `KUBE_KUBECTL=false`, so the one read a dry run makes (is the release there?)
fails at once instead of waiting for a cluster; the time printed is the median wall time, after
one unmeasured run (bytecode written). Before the scope index, depends-on index and linear
pairing, 2,000 objects took 22 s and 10,000 over five minutes: time that grows like n² shows as
a ratio of about 4 per doubling, linear time as 2.

`--command template` times `kube template` instead: the same render with no cluster to ask.

The largest size is above kube's limit of objects per formula (kube.install.pipeline.MAX_OBJECTS); for
this measurement only, the subprocess raises the limit to the size being measured.

Usage: python benchmarks/bench_render_scale.py [--sizes 500,2000,10000] [--runs 3] [--output yaml]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FILES = 20
GROUP = "bench.example.com"
# Runs kube's CLI with the object limit raised to the size measured (argv[1]), through the
# console script's entry point (kube.cli.entry), as `kube` itself does.
LAUNCH = (
    "import sys, kube.install.pipeline as p; "
    "p.MAX_OBJECTS = max(getattr(p, 'MAX_OBJECTS', 0), int(sys.argv.pop(1))); "
    "from kube.cli.entry import main; sys.argv[0] = 'kube'; main()"
)


def formula(root: Path, size: int) -> Path:
    directory = root / str(size) / "scale"
    manifests = directory / "manifests"
    manifests.mkdir(parents=True)
    (directory / "K3.yaml").write_text(
        f'name: scale\nversion: "1.0.0"\nhome: https://example.com/scale\n'
        f"description: {size} objects\nmaintainers: [Jane Doe <jane@example.com>]\n"
    )
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"widgets.{GROUP}"},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
            "versions": [{"name": "v1", "served": True, "storage": True}],
        },
    }
    docs: list[list[str]] = [[] for _ in range(FILES)]
    docs[0].append(json.dumps(crd))
    for i in range(1, size):
        if i % 50 == 0:
            obj = {"apiVersion": f"{GROUP}/v1", "kind": "Widget", "metadata": {"name": f"w{i}"}}
        else:
            obj = {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": f"c{i}"},
                "data": {"i": str(i)},
            }
        if i % 25 == 0 and i > 1:
            obj["metadata"]["annotations"] = {"config.kubernetes.io/depends-on": f"/ConfigMap/c{i - 1}"}
        docs[i % FILES].append(json.dumps(obj))
    for index, items in enumerate(docs):
        (manifests / f"part{index:02d}.yaml").write_text("\n---\n".join(items) + "\n")
    return directory


#: What renders: ``install --dry-run`` (reads the release first) or ``template`` (no cluster).
COMMANDS = {"dry-run": ["install", "--dry-run"], "template": ["template"]}


def measure(directory: Path, size: int, env: dict[str, str], output: str, command: str = "dry-run") -> float:
    first, *flags = COMMANDS[command]
    argv = [sys.executable, "-c", LAUNCH, str(size), first, str(directory), "-n", "bench",
            *flags, "-o", output]  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(
            f"kube {' '.join(COMMANDS[command])} of {size} objects failed: {done.stderr.strip()}"
        )
    listed = "objects" if command == "dry-run" else "items"
    count = len(json.loads(done.stdout)[listed]) if output == "json" else done.stdout.count("\nkind: ")
    if count != size:
        raise SystemExit(f"expected {size} objects, kube reported {count}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="500,2000,10000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--output", choices=("json", "yaml"), default="json", help="-o of the dry run")
    parser.add_argument("--command", choices=tuple(COMMANDS), default="dry-run", help="what renders")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="kube-bench-scale-") as tmp:
        root = Path(tmp)
        env = {**os.environ, "PYTHONPATH": str(REPO), "HOME": str(root / "home"),
               "KUBE_HOME": str(root / "kube-home"), "KUBE_INTERACTIVE": "0"}  # fmt: skip
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: bytecode cached
        env["KUBE_KUBECTL"] = "false"  # a dry run's read of the release finds no cluster: none is used
        print(
            f"{'objects':>8}  {'median':>9}  {'fastest':>9}  {'per object':>10}  ratio to previous",
            flush=True,
        )
        previous: tuple[int, float] | None = None
        for size in sizes:
            directory = formula(root, size)
            measure(directory, size, env, args.output, args.command)  # bytecode written, files cached
            times = [measure(directory, size, env, args.output, args.command) for _ in range(args.runs)]
            median = statistics.median(times)
            ratio = ""
            if previous:
                ratio = f"{median / previous[1]:.1f}x time for {size / previous[0]:.1f}x objects"
            line = f"{size:>8}  {median:>8.2f}s  {min(times):>8.2f}s  {median / size * 1000:>8.2f}ms  {ratio}"
            print(line, flush=True)
            previous = (size, median)


if __name__ == "__main__":
    main()
