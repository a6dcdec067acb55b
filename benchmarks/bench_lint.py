#!/usr/bin/env python3
"""Benchmark ``kube lint`` per formula, in process, on one core.

    python benchmarks/bench_lint.py [--formulas 150] [--repeat 3] [--work DIR] [--profile N]

Two sets: ``--formulas`` kubes of ``archive_gen.py`` (generated into ``--work``, or reused
when that directory already holds an archive of that size) and the project's own
``formulas/`` (operators, CRDs, many kinds). Each formula directory goes through what
``kube lint`` runs for it (``kube.lint.run._lint_one``: files, K3.yaml, manifests and
templates, patches, schemas, dependencies, ``lint.ignore``), in this process, one after
the other. The first formula of a set is linted once before timing (imports, schemas and
templates' environment loaded, as ``kube lint --all`` does before it forks; that time is
printed as "the first one alone"), and the
archive's dependency cache starts empty for each pass, as in one run. Printed: per set,
the median per-formula time of ``--repeat`` passes and the fastest pass, with the load
average; CPU is this process's, which the other work on a shared machine disturbs least.
``--profile N`` prints the N costliest functions (cumulative) of one pass of
each set instead.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kube.lint import run as lint_run  # noqa: E402
from kube.lint import schema as lint_schema  # noqa: E402


def archive(count: int, work: Path) -> Path:
    """``work`` as an archive_gen.py archive of ``count`` kubes (made when missing)."""
    formulas = work / "formulas"
    if not (work / ".git").is_dir() or len(list(formulas.iterdir())) != count:
        if work.exists() and any(work.iterdir()):
            raise SystemExit(f"{work} is not an archive of {count} kubes; give another --work")
        subprocess.run(
            [sys.executable, str(ROOT / "benchmarks" / "archive_gen.py"), str(count), str(work)], check=True
        )
    return formulas


def one_pass(directories: list[Path], version: lint_schema.Schemas) -> tuple[float, float]:
    """Wall and CPU seconds to lint every directory, with a fresh dependency cache (one
    ``kube lint`` run)."""
    archives: dict[Path, lint_run._Archive] = {}
    start, cpu = time.perf_counter(), time.process_time()
    for directory in directories:
        lint_run._lint_one(directory, version, archives)
    return time.perf_counter() - start, time.process_time() - cpu


def measure(
    label: str, directories: list[Path], version: lint_schema.Schemas, args: argparse.Namespace
) -> None:
    start = time.perf_counter()
    lint_run._lint_one(directories[0], version, {})  # warm: imports, schemas, environments
    first = (time.perf_counter() - start) * 1000
    if args.profile:
        profile = cProfile.Profile()
        profile.enable()
        one_pass(directories, version)
        profile.disable()
        print(f"== {label}: {len(directories)} formulas")
        pstats.Stats(profile).sort_stats(args.sort).print_stats(args.profile)
        return
    passes = [one_pass(directories, version) for _ in range(args.repeat)]
    wall = [w / len(directories) * 1000 for w, _ in passes]
    cpu = [c / len(directories) * 1000 for _, c in passes]
    print(
        f"{label:<24} {len(directories):>4} formulas: {statistics.median(wall):5.1f} ms per formula "
        f"(median of {len(wall)} passes; fastest {min(wall):.1f} ms), CPU {statistics.median(cpu):.1f} ms; "
        f"the first one alone {first:.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--formulas", type=int, default=150)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--work", type=Path, default=None, help="where the generated archive is (or goes)")
    parser.add_argument("--profile", type=int, default=0, metavar="N")
    parser.add_argument("--sort", default="cumulative", help="the order of --profile (pstats keys)")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    work = args.work or Path(f"/tmp/kube-bench-lint-{args.formulas}")
    generated = sorted(p for p in archive(args.formulas, work).iterdir() if p.is_dir())
    own = sorted(p for p in (ROOT / "formulas").iterdir() if (p / "K3.yaml").is_file())
    version = lint_schema.choose(None)
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}, Kubernetes {version}")
    os.chdir(ROOT)
    measure(f"archive_gen.py ({args.formulas})", generated, version, args)
    measure("formulas/", own, version, args)


if __name__ == "__main__":
    main()
