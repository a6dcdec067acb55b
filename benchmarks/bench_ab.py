"""Two kube builds side by side on the same ``$KUBE_HOME``: the read-only commands, alternated.

    python benchmarks/bench_ab.py KUBE_HOME NAME --a 'CMD' --b 'CMD' [--repeat 15]

On a shared machine whose load changes from second to second, figures taken
minutes apart are not comparable. This runs ``--help``, ``search database``
(many hits), a search without a match, a regex search and ``info NAME``
with build A, then the same with build B, ``--repeat`` times, interleaved,
and prints for each the fastest run (the least disturbed) and the median,
beside ``python -c pass`` taken the same way (the floor under every command).
``KUBECONFIG`` is unset, as for a user without a cluster.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path


def run(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("home", type=Path)
    parser.add_argument("name")
    parser.add_argument("--a", required=True, help="command line of build A (e.g. 'python -m kube')")
    parser.add_argument("--b", required=True)
    parser.add_argument("--a-path", default="", help="PYTHONPATH for build A")
    parser.add_argument("--b-path", default="")
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in ("KUBECONFIG", "PYTHONPATH", "PYTHONDONTWRITEBYTECODE")
    }
    base.update(KUBE_HOME=str(args.home), PYTHONPYCACHEPREFIX=str(args.home.parent / "pycache-ab"))
    builds = {
        "A": (shlex.split(args.a), {**base, **({"PYTHONPATH": args.a_path} if args.a_path else {})}),
        "B": (shlex.split(args.b), {**base, **({"PYTHONPATH": args.b_path} if args.b_path else {})}),
    }
    commands = {
        "--help": ["--help"],
        "search database": ["search", "database"],
        "search (no match)": ["search", "zzqqxx"],
        "search -r (regex)": ["search", "-r", "^zz[0-9]+$"],
        "info NAME": ["info", args.name],
    }
    samples: dict[tuple[str, str], list[float]] = {}
    floor: list[float] = []
    for kube, env in builds.values():  # warm the bytecode caches
        run([*kube, "--help"], env)
    for _ in range(args.repeat):
        floor.append(run([sys.executable, "-c", "pass"], base))
        for label, argv in commands.items():
            for build, (kube, env) in builds.items():
                samples.setdefault((label, build), []).append(run([*kube, *argv], env))
    print(
        f"{args.home}: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f},"
        f" {args.repeat} runs each, interleaved"
    )
    print(f"A = {args.a}  {args.a_path}\nB = {args.b}  {args.b_path}")
    print(
        f"python -c pass: fastest {min(floor) * 1000:.0f} ms, median {statistics.median(floor) * 1000:.0f} ms"
    )
    print(f"{'command':22} {'A fastest':>10} {'B fastest':>10} {'A median':>10} {'B median':>10}")
    for label in commands:
        a, b = samples[(label, "A")], samples[(label, "B")]
        print(
            f"{label:22} {min(a) * 1000:8.0f}ms {min(b) * 1000:8.0f}ms"
            f" {statistics.median(a) * 1000:8.0f}ms {statistics.median(b) * 1000:8.0f}ms"
        )


if __name__ == "__main__":
    main()
