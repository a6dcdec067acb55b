"""Time the archive commands on a generated archive (default 5,000 formulas).

    python benchmarks/bench_archive.py [--formulas N] [--repeat R] [--keep DIR]

Runs the installed ``kube`` console script as a subprocess (what a user runs),
each measurement several times, and prints the median: the first update
beside a plain ``git clone`` of the same repository, a no-op update, an update
with 10 changed formulas, ``kube search``, ``kube info`` and ``kube --help``.

Bytecode is cached (in a private PYTHONPYCACHEPREFIX) and warmed before
timing, as it is for an installed kube; a PYTHONDONTWRITEBYTECODE=1 in the
environment would otherwise make every run compile kube's modules again.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}
KEYWORDS = ("web", "database", "cache", "queue", "monitoring", "storage", "proxy", "search")


def k3(i: int, version: str) -> str:
    name = f"formula-{i:05d}"
    deps = (
        f"dependencies:\n  - name: formula-{(i + 1) % 5000:05d}\n    version: '>=1.0, <2'\n"
        if i % 10 == 0
        else ""
    )
    return (
        f"name: {name}\n"
        f'version: "{version}"\n'
        f"home: https://example.com/{name}\n"
        f"description: The {name} service for {KEYWORDS[i % len(KEYWORDS)]} workloads\n"
        "maintainers:\n  - Jane Doe <jane@example.com>\n"
        f"{deps}"
        f"keywords: [{KEYWORDS[i % len(KEYWORDS)]}, {KEYWORDS[(i * 7) % len(KEYWORDS)]}]\n"
        f"details: |\n  {name} runs as a Deployment with a Service in front of it.\n"
        "values:\n  replicas: 1\n"
    )


def manifest(i: int) -> str:
    name = f"formula-{i:05d}"
    return (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
        f"  name: {{{{ kube.formula }}}}-config\ndata:\n  name: {name}\n  replicas: '{{{{ replicas }}}}'\n"
    )


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, env={**os.environ, **GIT_ENV}
    )


def make_archive(root: Path, count: int) -> Path:
    repo = root / "source"
    for i in range(count):
        folder = repo / "formulas" / f"formula-{i:05d}"
        (folder / "manifests").mkdir(parents=True)
        (folder / "K3.yaml").write_text(k3(i, "1.0.0"), encoding="utf-8")
        (folder / "manifests" / "configmap.yaml.tmpl").write_text(manifest(i), encoding="utf-8")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", f"{count} formulas")
    return repo


def change_formulas(repo: Path, first: int, count: int, version: str) -> None:
    for i in range(first, first + count):
        (repo / "formulas" / f"formula-{i:05d}" / "K3.yaml").write_text(k3(i, version), encoding="utf-8")
    git(repo, "commit", "-q", "-am", f"bump {count} formulas to {version}")


Sample = tuple[float, float]  # (wall seconds, CPU seconds of the process and everything it waited for)


def timed(argv: Sequence[str], env: dict[str, str]) -> Sample:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 3):
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def median_of(repeat: int, run: Callable[[], Sample]) -> tuple[float, float, list[Sample]]:
    samples = [run() for _ in range(repeat)]
    return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples), samples


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--formulas", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=11)
    parser.add_argument("--clone-repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="work in this directory and leave it behind")
    args = parser.parse_args()

    kube = Path(sys.prefix) / "bin" / "kube"
    python = Path(sys.executable)
    if not kube.exists():
        raise SystemExit(f"{kube} not found: install kube (make install) with this interpreter first")
    work = args.keep or Path(tempfile.mkdtemp(prefix="kube-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "KUBE_REPO")}
    env.update(PYTHONPYCACHEPREFIX=str(work / "pycache"), KUBE_HOME=str(work / "kube-home"), **GIT_ENV)
    results: list[tuple[str, float, float, list[Sample]]] = []
    try:
        started = time.perf_counter()
        repo = make_archive(work, args.formulas)
        print(
            f"generated {args.formulas} formulas in {time.perf_counter() - started:.1f}s at {repo}",
            flush=True,
        )
        url = repo.as_uri()

        def plain_clone() -> Sample:
            shutil.rmtree(work / "plain", ignore_errors=True)
            return timed(["git", "clone", "-q", url, str(work / "plain")], env)

        def first_update() -> Sample:
            shutil.rmtree(work / "kube-home", ignore_errors=True)
            return timed([str(kube), "update", "--repo", url], env)

        timed([str(kube), "--help"], env)  # writes the bytecode cache
        results.append(("plain git clone", *median_of(args.clone_repeat, plain_clone)))
        results.append(("kube update (first: clone + index)", *median_of(args.clone_repeat, first_update)))
        results.append(
            ("kube update (no-op)", *median_of(args.repeat, lambda: timed([str(kube), "update"], env)))
        )
        bumps = iter(range(1, 1000))

        def ten_changed() -> Sample:
            change_formulas(repo, 100, 10, f"1.0.{next(bumps)}")
            return timed([str(kube), "update"], env)

        results.append(("kube update (10 formulas changed)", *median_of(args.repeat, ten_changed)))
        name = f"formula-{args.formulas // 2:05d}"
        for label, argv in (
            (f"kube search {name}", [str(kube), "search", name]),
            ("kube search monitoring (1/8 of all)", [str(kube), "search", "monitoring", "-o", "json"]),
            (f"kube info {name}", [str(kube), "info", name]),
            ("kube --help", [str(kube), "--help"]),
            ("python -c pass", [str(python), "-c", "pass"]),
            ("python -c 'import kube.cli'", [str(python), "-c", "import kube.cli"]),
            (
                "python -c 'import kube.cli, rich.console'",
                [str(python), "-c", "import kube.cli, rich.console"],
            ),
        ):
            results.append((label, *median_of(args.repeat, lambda argv=argv: timed(argv, env))))  # type: ignore[misc]
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    version = sys.version.split()[0]
    print(f"\n{args.formulas} formulas, {os.cpu_count()} CPUs, load average {load:.1f}, Python {version}")
    print("wall = median elapsed time; min = fastest run (least disturbed by other load);")
    print("cpu = median user+sys time of kube and every process it waited for; samples are wall seconds.")
    print(f"{'measurement':48} {'wall':>8} {'min':>8} {'cpu':>8}   samples")
    for label, wall, cpu, samples in results:
        shown = " ".join(f"{s[0]:.3f}" for s in samples)
        fastest = min(s[0] for s in samples)
        print(f"{label:48} {wall * 1000:6.0f}ms {fastest * 1000:6.0f}ms {cpu * 1000:6.0f}ms   {shown}")
    (_, clone_wall, clone_cpu, _), (_, first_wall, first_cpu, _) = results[0], results[1]
    ratio = f"{first_wall / clone_wall:.2f}x wall, {first_cpu / clone_cpu:.2f}x cpu"
    print(f"\nfirst update / plain clone = {ratio}")


if __name__ == "__main__":
    main()
