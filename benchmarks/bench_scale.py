"""The archive commands at 500 / 5,000 / 20,000 / 50,000 kubes, and how each grows.

    python benchmarks/bench_scale.py [--sizes 500,5000,20000,50000] [--rows ROW,...]
        [--archives DIR] [--homes DIR] [--results FILE] [--first-timeout SECONDS]
        [--repeat 7] [--work DIR] [--lint-sample 200] [--kube CMD]
    python benchmarks/bench_scale.py --table --results FILE --sizes ...   # print a saved run

Archives come from ``archive_gen.py`` (one commit per formula plus version
bumps up to 5,000 kubes, batches of formulas per commit above). With
``--archives DIR`` the archive of N kubes is ``DIR/N`` (generated there when
missing, kept); without it, ``--work/aN``. Every row runs the
installed ``kube`` console script the way a user does and prints its median
wall time over ``--repeat`` runs (one run for the clones and the first update)
with the peak resident memory of the command and its children (``wait4``).

Rows (``--rows``, default all): ``floor`` (``python -c pass``), ``help``,
``search`` (``kube search database``, many hits), ``nomatch``, ``regex``,
``info``, ``noop`` (a no-op ``kube update``), ``clone`` (plain ``git
clone``), ``partial`` (``--filter=blob:none --no-checkout``), ``sparse``
(partial clone, then a sparse checkout of every K3.yaml and README.md),
``first`` (the first ``kube update``, into an empty ``$KUBE_HOME``; the disk
``$KUBE_HOME`` uses after it is kept as well), ``lint`` (``kube lint`` per
formula, over ``--lint-sample`` formulas), ``helm`` (``helm search repo`` and
``helm show chart`` on an equivalent chart repository, when ``helm`` is on
PATH).

``$KUBE_HOME`` is ``--homes DIR/N`` (default ``--work/homeN``). Without the
``first`` row an existing one is reused, so the first update is measured once
per size and the read-only rows read what it wrote. ``--first-timeout`` stops
a first update that runs longer (its process group is killed) and records it
as stopped. ``--results FILE`` keeps every figure (merged with what the file
already holds), so sizes and rows can be measured in separate runs and printed
together with ``--table``. The growth column compares the smallest size with
the largest: flat (under 1.5x), linear (up to 1.5x the size ratio), or worse.

``--kube 'python -m kube'`` with ``PYTHONPATH`` set times another checkout.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from archive_gen import generate

SPARSE = ["/*", "!/*/", "/formulas/*/K3.yaml", "/formulas/*/README.md"]

# Row key -> label, in the order of the table.
LABELS = {
    "floor": "python -c pass (the floor)",
    "help": "kube --help",
    "search": "kube search database",
    "nomatch": "kube search (no match)",
    "regex": "kube search -r (regex)",
    "info": "kube info NAME",
    "noop": "kube update (no-op)",
    "clone": "git clone (full)",
    "partial": "git clone --filter=blob:none --no-checkout",
    "sparse": "partial clone + sparse checkout K3.yaml, README.md",
    "first": "kube update (first)",
    "lint": "kube lint, per formula",
    "helm-search": "helm search repo database",
    "helm-show": "helm show chart NAME",
}
ROWS = (
    "floor",
    "help",
    "search",
    "nomatch",
    "regex",
    "info",
    "noop",
    "clone",
    "partial",
    "sparse",
    "first",
    "lint",
    "helm",
)


class Stopped(Exception):
    def __init__(self, elapsed: float, rss: int) -> None:
        self.elapsed, self.rss = elapsed, rss


def run(
    argv: Sequence[str],
    env: dict[str, str],
    ok: tuple[int, ...] = (0, 3),
    timeout: float | None = None,
    cwd: Path | None = None,
) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of ``argv`` and its children; ``Stopped`` after ``timeout``."""
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        # A session of its own, so a stopped run takes its git children with it.
        proc = subprocess.Popen(
            argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True
        )
        if timeout is None:
            _, status, usage = os.wait4(proc.pid, 0)  # blocking: no polling delay in short rows
        else:
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                if time.perf_counter() - started > timeout:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGKILL)
                    _, status, usage = os.wait4(proc.pid, 0)
                    proc.returncode = -9
                    raise Stopped(time.perf_counter() - started, usage.ru_maxrss)
                time.sleep(0.2)
        elapsed = time.perf_counter() - started
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        if code not in ok:
            err.seek(0)
            text = err.read()[-20000:].decode(errors="replace")
            raise SystemExit(f"{' '.join(argv)} failed ({code}):\n{text}")
    return elapsed, usage.ru_maxrss


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


class Results:
    """Every figure of this and earlier runs: ``rows[label][size]`` and ``disk[size]``."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        data: dict[str, Any] = {}
        if path is not None and path.exists():
            data = json.loads(path.read_text())
        self.rows: dict[str, dict[str, dict[str, Any]]] = data.get("rows", {})
        self.disk: dict[str, dict[str, Any]] = data.get("disk", {})
        self.runs: list[dict[str, Any]] = data.get("runs", [])

    def put(self, label: str, size: int, samples: list[tuple[float, int]], stopped: bool = False) -> None:
        wall = statistics.median(s[0] for s in samples)
        rss = max(s[1] for s in samples)
        load = os.getloadavg()[0]
        self.rows.setdefault(label, {})[str(size)] = {
            "wall": wall,
            "rss": rss,
            "load": round(load, 1),
            "runs": len(samples),
            "stopped": stopped,
            "when": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
        }
        shown = f"> {wall:.0f} s (stopped)" if stopped else f"{wall * 1000:9.1f} ms"
        print(f"  {size:>6} {label:52} {shown} {rss / 1024:7.0f} MB  load {load:.1f}", flush=True)
        self.save()

    def put_disk(self, size: int, home: Path) -> None:
        parts = {p.name: du(p) for p in home.iterdir()} if home.is_dir() else {}
        self.disk[str(size)] = {"total": du(home), "parts": parts}
        print(
            f"  {size:>6} {'$KUBE_HOME after first update':52} {self.disk[str(size)]['total'] / 1e6:9.1f} MB"
        )
        self.save()

    def save(self) -> None:
        if self.path is not None:
            data = {"rows": self.rows, "disk": self.disk, "runs": self.runs}
            self.path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")

    def table(self, sizes: list[int]) -> str:
        head = " | ".join(f"{s:,}" for s in sizes)
        lines = [f"| measurement | {head} | growth |", f"|---|{'---|' * len(sizes)}---|"]
        ratio = sizes[-1] / sizes[0]
        for label in [*LABELS.values(), *(k for k in self.rows if k not in LABELS.values())]:
            by_size = self.rows.get(label, {})
            if not any(str(s) in by_size for s in sizes):
                continue
            cells = []
            for s in sizes:
                cell = by_size.get(str(s))
                if cell is None:
                    cells.append("–")
                elif cell["stopped"]:
                    cells.append(f"> {cell['wall'] / 60:.0f} min (stopped; {cell['rss'] // 1024} MB)")
                elif "per formula" in label:
                    cells.append(f"{cell['wall'] * 1000:.1f} ms ({cell['rss'] // 1024} MB)")
                elif cell["wall"] >= 10:
                    cells.append(f"{cell['wall']:.1f} s ({cell['rss'] // 1024} MB)")
                else:
                    cells.append(f"{cell['wall'] * 1000:.0f} ms ({cell['rss'] // 1024} MB)")
            ends = [by_size.get(str(sizes[0])), by_size.get(str(sizes[-1]))]
            grew = ""
            if ends[0] and ends[1] and len(sizes) > 1:
                grew = growth(ends[0]["wall"], ends[1]["wall"], ratio)
                if ends[1]["stopped"]:
                    grew = f"at least {grew}"
            lines.append(f"| {label} | {' | '.join(cells)} | {grew} |")
        if any(str(s) in self.disk for s in sizes):
            cells = [
                f"{self.disk[str(s)]['total'] / 1e6:.0f} MB" if str(s) in self.disk else "–" for s in sizes
            ]
            low, high = self.disk.get(str(sizes[0])), self.disk.get(str(sizes[-1]))
            grew = growth(low["total"], high["total"], ratio) if low and high and len(sizes) > 1 else ""
            lines.append(f"| $KUBE_HOME after first update | {' | '.join(cells)} | {grew} |")
        loads = [
            f"{s:,}: {min(c['load'] for c in cs)}–{max(c['load'] for c in cs)}"
            for s in sizes
            if (cs := [r[str(s)] for r in self.rows.values() if str(s) in r])
        ]
        lines.append(f"\nLoad average (1 min) at the end of each row, per size: {'; '.join(loads)}")
        return "\n".join(lines)


def chart_repo(repo: Path, charts: Path, env: dict[str, str]) -> Path:
    """An equivalent Helm chart repository: one chart per formula (Chart.yaml from K3.yaml's
    name, version, description, keywords and dependencies) and ``helm repo index`` over them."""
    if (charts / "index.yaml").exists():
        return charts
    charts.mkdir(parents=True, exist_ok=True)
    for name in sorted(os.listdir(repo / "formulas")):
        k3 = (repo / "formulas" / name / "K3.yaml").read_text()
        fields = dict(line.split(": ", 1) for line in k3.splitlines() if line[:1].isalpha() and ": " in line)
        chart = charts / name
        (chart / "templates").mkdir(parents=True, exist_ok=True)
        (chart / "Chart.yaml").write_text(
            f"apiVersion: v2\nname: {name}\nversion: {fields['version']}\n"
            f"description: {fields['description']}\nkeywords: {fields.get('keywords', '[]')}\n"
        )
    run(["helm", "repo", "index", str(charts)], env, ok=(0,))
    return charts


def measure(size: int, rows: set[str], args: argparse.Namespace, results: Results) -> None:
    kube = shlex.split(args.kube)
    archives = args.archives or args.work
    repo = archives / (str(size) if args.archives else f"a{size}")
    if not (repo / ".git").is_dir():
        started = time.perf_counter()
        generate(size, repo)
        print(f"generated {size} kubes in {time.perf_counter() - started:.1f}s", flush=True)
    home = (args.homes / str(size)) if args.homes else args.work / f"home{size}"
    args.work.mkdir(parents=True, exist_ok=True)
    # No kubeconfig: with one, `kube info` asks the cluster where the kube is installed (a kubectl).
    dropped = ("PYTHONDONTWRITEBYTECODE", "KUBE_REPO", "KUBECONFIG")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(KUBE_HOME=str(home), PYTHONPYCACHEPREFIX=str(args.work / "pycache"))
    url = repo.as_uri()
    scratch = args.work / f"clone{size}"
    run([*kube, "--help"], env)  # the bytecode cache

    def once(argvs: list[list[str]]) -> tuple[float, int]:
        """One fresh clone: the commands in turn, wall times summed, the largest peak."""
        shutil.rmtree(scratch, ignore_errors=True)
        samples = [run(argv, env, ok=(0,)) for argv in argvs]
        shutil.rmtree(scratch, ignore_errors=True)
        return sum(s[0] for s in samples), max(s[1] for s in samples)

    clones = {
        "clone": [["git", "clone", "-q", url, str(scratch)]],
        "partial": [["git", "clone", "-q", "--filter=blob:none", "--no-checkout", url, str(scratch)]],
        "sparse": [
            ["git", "clone", "-q", "--filter=blob:none", "--no-checkout", url, str(scratch)],
            ["git", "-C", str(scratch), "sparse-checkout", "set", "--no-cone", *SPARSE],
            ["git", "-C", str(scratch), "checkout", "-q", "main"],
        ],
    }
    for key, argvs in clones.items():
        if key in rows:
            results.put(LABELS[key], size, [once(argvs) for _ in range(args.clone_repeat)])
    if "first" in rows:
        shutil.rmtree(home, ignore_errors=True)
        try:
            sample = run([*kube, "update", "--repo", url], env, timeout=args.first_timeout)
            results.put(LABELS["first"], size, [sample])
            results.put_disk(size, home)
        except Stopped as stop:
            results.put(LABELS["first"], size, [(stop.elapsed, stop.rss)], stopped=True)
    reads = rows & {"floor", "help", "search", "nomatch", "regex", "info", "noop"}
    if reads and not (home / "archive").is_dir():
        print(f"  {size:>6} no archive in {home}: read-only rows skipped (run the `first` row)", flush=True)
        reads = set()
    names = sorted(os.listdir(repo / "formulas"))
    name = names[len(names) // 2]
    commands = {
        "floor": [sys.executable, "-c", "pass"],
        "help": [*kube, "--help"],
        "search": [*kube, "search", "database"],
        "nomatch": [*kube, "search", "zzqqxx"],
        "regex": [*kube, "search", "-r", "^zz[0-9]+$"],
        "info": [*kube, "info", name],
        "noop": [*kube, "update"],
    }
    for key, argv in commands.items():
        if key in reads:
            results.put(LABELS[key], size, [run(argv, env) for _ in range(args.repeat)])
    if "lint" in rows:
        chosen = [str(repo / "formulas" / n) for n in names[:: max(1, len(names) // args.lint_sample)]]
        wall, rss = run([*kube, "lint", *chosen], env, ok=(0, 1))
        results.put(LABELS["lint"], size, [(wall / len(chosen), rss)])
    if "helm" in rows:
        if shutil.which("helm") is None:
            print(f"  {size:>6} helm is not on PATH: helm rows skipped", flush=True)
        else:
            helm_home = args.work / f"helm{size}"
            helm_env = {
                **env,
                "HELM_CACHE_HOME": str(helm_home / "cache"),
                "HELM_CONFIG_HOME": str(helm_home),
            }
            helm_env["HELM_DATA_HOME"] = str(helm_home / "data")
            charts = chart_repo(repo, args.work / f"charts{size}", helm_env)
            if not (helm_home / "repositories.yaml").exists():
                run(["helm", "repo", "add", "bench", charts.as_uri()], helm_env, ok=(0,))
            for key, argv in (
                ("helm-search", ["helm", "search", "repo", "database"]),
                ("helm-show", ["helm", "show", "chart", f"bench/{name}"]),
            ):
                results.put(LABELS[key], size, [run(argv, helm_env, ok=(0,)) for _ in range(args.repeat)])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="500,5000,20000,50000")
    parser.add_argument("--rows", default=",".join(ROWS), help=f"a subset of {','.join(ROWS)}")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--clone-repeat", type=int, default=1)
    parser.add_argument("--lint-sample", type=int, default=200)
    parser.add_argument("--work", type=Path, default=Path("/tmp/kube-bench-scale"))
    parser.add_argument("--archives", type=Path, help="the archive of N kubes is DIR/N")
    parser.add_argument("--homes", type=Path, help="$KUBE_HOME for N kubes is DIR/N")
    parser.add_argument("--results", type=Path, help="a JSON file keeping every figure, merged run to run")
    parser.add_argument("--first-timeout", type=float, help="stop a first update after this many seconds")
    parser.add_argument("--table", action="store_true", help="print the table of --results and exit")
    parser.add_argument("--kube", default=str(Path(sys.prefix) / "bin" / "kube"))
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    rows = set(args.rows.split(","))
    unknown = rows - set(ROWS)
    if unknown:
        parser.error(f"unknown rows {', '.join(sorted(unknown))} (choose from {','.join(ROWS)})")
    results = Results(args.results)
    if not args.table:
        git = subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.strip()
        results.runs.append(
            {
                "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                "sizes": sizes,
                "rows": sorted(rows),
                "kube": args.kube,
                "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, "
                f"Python {sys.version.split()[0]}, {git}",
                "load": round(os.getloadavg()[0], 1),
            }
        )
        for size in sizes:
            measure(size, rows, args, results)
    print(f"\n{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, Python {sys.version.split()[0]}")
    print(results.table(sizes))


if __name__ == "__main__":
    main()
