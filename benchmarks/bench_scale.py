"""The archive commands at 500 / 5,000 / 20,000 / 50,000 kubes, and how each grows.

    python benchmarks/bench_scale.py [--sizes 500,5000,20000] [--repeat 7] [--work DIR] [--lint-sample 200]

Archives come from ``archive_gen.py`` (one commit per formula plus version
bumps; generated once into ``--work`` and reused). For every size it prints,
as medians of ``--repeat`` runs of the installed ``kube`` console script (the
way a user runs it): ``kube --help``, ``kube search database`` (many hits),
``kube search`` with no match, ``kube info NAME``, a no-op ``kube update``, the
first ``kube update`` beside a plain and a partial (``--filter=blob:none``)
``git clone``, ``kube lint`` per formula (over ``--lint-sample`` formulas), peak
memory of each command, and the disk ``$KUBE_HOME`` uses after the first
update. Then how each figure grows from the smallest size to the largest:
flat (under 1.5x), linear (roughly in step with the archive), or worse.

``--kube 'python -m kube'`` with ``PYTHONPATH`` set times another checkout.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from archive_gen import generate

Sample = tuple[float, int]  # wall seconds, peak RSS in KiB


def run(argv: Sequence[str], env: dict[str, str], ok: tuple[int, ...] = (0, 3)) -> Sample:
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code not in ok:
        err = proc.stderr.read().decode() if proc.stderr else ""
        raise SystemExit(f"{' '.join(argv)} failed ({code}):\n{err}")
    if proc.stderr:
        proc.stderr.close()
    return elapsed, usage.ru_maxrss


def median(samples: list[Sample]) -> Sample:
    return statistics.median(s[0] for s in samples), max(s[1] for s in samples)


def du(path: Path) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
    return total


def growth(small: float, big: float, ratio: float) -> str:
    factor = big / small if small > 0 else float("inf")
    if factor < 1.5:
        return f"flat ({factor:.1f}x)"
    if factor <= ratio * 1.5:
        return f"linear ({factor:.1f}x)"
    return f"worse ({factor:.1f}x)"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="500,5000,20000")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--clone-repeat", type=int, default=1)
    parser.add_argument("--lint-sample", type=int, default=200)
    parser.add_argument("--work", type=Path, default=Path("/tmp/kube-bench-scale"))
    parser.add_argument("--kube", default=str(Path(sys.prefix) / "bin" / "kube"))
    parser.add_argument("--skip-first-update", action="store_true", help="reuse $KUBE_HOME of an earlier run")
    args = parser.parse_args()
    kube = shlex.split(args.kube)
    sizes = [int(s) for s in args.sizes.split(",")]
    table: dict[str, dict[int, Sample]] = {}
    disk: dict[int, int] = {}
    for size in sizes:
        repo = args.work / f"a{size}"
        if not (repo / ".git").is_dir():
            started = time.perf_counter()
            generate(size, repo)
            print(f"generated {size} kubes in {time.perf_counter() - started:.1f}s", flush=True)
        home = args.work / f"home{size}"
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "KUBE_REPO")}
        env.update(
            KUBE_HOME=str(home), PYTHONPYCACHEPREFIX=str(args.work / "pycache"), KUBECONFIG="/nonexistent"
        )
        url = repo.as_uri()

        def put(label: str, samples: list[Sample], size: int = size) -> None:
            table.setdefault(label, {})[size] = median(samples)
            wall, rss = table[label][size]
            print(f"  {size:>6} {label:40} {wall * 1000:9.0f} ms {rss / 1024:7.0f} MB", flush=True)

        run([*kube, "--help"], env)  # bytecode cache
        clones = []
        partial = []
        firsts = []
        for _ in range(args.clone_repeat):
            shutil.rmtree(args.work / "plain", ignore_errors=True)
            clones.append(run(["git", "clone", "-q", url, str(args.work / "plain")], env))
            shutil.rmtree(args.work / "plain", ignore_errors=True)
            partial.append(
                run(
                    [
                        "git",
                        "clone",
                        "-q",
                        "--filter=blob:none",
                        "--no-checkout",
                        url,
                        str(args.work / "plain"),
                    ],
                    env,
                )
            )
            shutil.rmtree(args.work / "plain", ignore_errors=True)
            if not args.skip_first_update:
                shutil.rmtree(home, ignore_errors=True)
                firsts.append(run([*kube, "update", "--repo", url], env))
        put("git clone (full)", clones)
        put("git clone --filter=blob:none", partial)
        if firsts:
            put("kube update (first)", firsts)
        disk[size] = du(home)
        names = sorted(os.listdir(repo / "formulas"))
        name = names[len(names) // 2]
        for label, argv in (
            ("python -c pass (the floor)", [sys.executable, "-c", "pass"]),
            ("kube --help", [*kube, "--help"]),
            ("kube search database", [*kube, "search", "database"]),
            ("kube search (no match)", [*kube, "search", "zzqqxx"]),
            ("kube search -r (regex)", [*kube, "search", "-r", "^zz[0-9]+$"]),
            ("kube info NAME", [*kube, "info", name]),
            ("kube update (no-op)", [*kube, "update"]),
        ):
            put(label, [run(argv, env) for _ in range(args.repeat)])
        sample = [str(repo / "formulas" / n) for n in names[:: max(1, len(names) // args.lint_sample)]]
        wall, rss = run([*kube, "lint", *sample], env, ok=(0, 1))
        table.setdefault("kube lint, per formula", {})[size] = (wall / len(sample), rss)
        print(f"  {size:>6} {'kube lint, per formula':40} {wall / len(sample) * 1000:9.1f} ms", flush=True)
    load = os.getloadavg()[0]
    print(f"\n{os.cpu_count()} CPUs, load average {load:.1f}, Python {sys.version.split()[0]}")
    head = " | ".join(f"{s:,}" for s in sizes)
    print(f"| measurement | {head} | growth |\n|---|{'---|' * len(sizes)}---|")
    ratio = sizes[-1] / sizes[0]
    for label, by_size in table.items():
        cells = []
        for s in sizes:
            wall, rss = by_size.get(s, (float("nan"), 0))
            cells.append(
                f"{wall * 1000:.1f} ms"
                if "per formula" in label
                else f"{wall * 1000:.0f} ms ({rss // 1024} MB)"
            )
        walls = [by_size[s][0] for s in sizes if s in by_size]
        grew = growth(walls[0], walls[-1], ratio) if len(walls) > 1 else ""
        print(f"| {label} | {' | '.join(cells)} | {grew} |")
    cells = [f"{disk[s] / 1e6:.0f} MB" for s in sizes]
    grew = growth(disk[sizes[0]], disk[sizes[-1]], ratio)
    print(f"| $KUBE_HOME after first update | {' | '.join(cells)} | {grew} |")


if __name__ == "__main__":
    main()
