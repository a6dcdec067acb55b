"""The first ``kube update`` with and without a published index, beside ``git clone``.

    python benchmarks/bench_published.py [--formulas 5000] [--repeat 3] [--keep DIR]

It generates an archive (``archive_gen``: one commit per formula plus version bumps),
serves it with partial clone allowed, publishes its index (``kube index publish``, timed),
and runs, each in a fresh ``KUBE_HOME``: ``kube update`` of the archive with its
``kube-index`` branch, of a copy without it (the index built locally: every formula parsed,
the whole history read to date them), a full ``git clone`` and a partial one. It then adds one
formula commit on top and times the first update again: the published index now describes
an ancestor, so kube parses only what changed since. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from archive_gen import generate

KUBE = str(Path(sys.executable).with_name("kube"))


Runs = list[tuple[float, float]]


def timed(argv: Sequence[str], env: dict[str, str], repeat: int, fresh: Path | None = None) -> Runs:
    """``(wall, user CPU)`` seconds of ``argv`` and every process it waited for, ``repeat``
    times; ``fresh`` is removed before each run. User CPU is shown beside the wall time: on a
    VM whose disk is shared, creating files (system time) varies several-fold between runs."""
    runs = []
    for _ in range(repeat):
        if fresh is not None:
            shutil.rmtree(fresh, ignore_errors=True)
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
        started = time.perf_counter()
        subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wall = time.perf_counter() - started
        runs.append((wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime - before))
    return runs


def row(label: str, runs: Runs, base: Runs | None = None) -> None:
    wall = statistics.median(w for w, _ in runs)
    user = statistics.median(u for _, u in runs)
    ratio = ""
    if base:
        ratio = f"  {wall / statistics.median(w for w, _ in base):5.2f}x full clone"
    print(
        f"{label:<52} {wall * 1000:8.0f} ms (min {min(w for w, _ in runs) * 1000:.0f}), "
        f"user CPU {user * 1000:6.0f} ms{ratio}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--formulas", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="Reuse (or keep) the generated archive here.")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="kube-bench-published-"))
    source = args.keep or work / "archive"
    try:
        if not (source / ".git").is_dir():
            started = time.perf_counter()
            generate(args.formulas, source)
            print(f"generated {args.formulas} kubes in {time.perf_counter() - started:.1f}s", file=sys.stderr)
        subprocess.run(["git", "-C", str(source), "config", "uploadpack.allowFilter", "true"], check=True)
        unpublished = work / "unpublished.git"
        subprocess.run(
            ["git", "clone", "-q", "--bare", "--no-local", str(source), str(unpublished)], check=True
        )
        subprocess.run(["git", "-C", str(unpublished), "branch", "-D", "kube-index"], capture_output=True)
        subprocess.run(
            ["git", "-C", str(unpublished), "config", "uploadpack.allowFilter", "true"], check=True
        )
        env = {k: v for k, v in os.environ.items() if k not in ("KUBE_REPO", "KUBECONFIG")}
        env["HOME"] = str(work)
        home = work / "home"
        env["KUBE_HOME"] = str(home)
        load = os.getloadavg()[0]
        print(
            f"{args.formulas} kubes · {platform.node()} · {os.cpu_count()} CPUs · Python "
            f"{platform.python_version()} · load {load:.1f} · median of {args.repeat}"
        )
        row(
            "kube index publish (in the archive's CI)", timed([KUBE, "index", "publish", str(source)], env, 1)
        )
        clone = work / "clone"
        full = timed(["git", "clone", "-q", "--no-local", str(source), str(clone)], env, args.repeat, clone)
        row("git clone (full)", full)
        base = full
        partial = [
            "git",
            "clone",
            "-q",
            "--no-local",
            "--filter=blob:none",
            "--no-checkout",
            str(source),
            str(clone),
        ]
        row("git clone --filter=blob:none --no-checkout", timed(partial, env, args.repeat, clone), base)
        update = [KUBE, "update", "--repo"]
        row(
            "kube update (first), index built locally",
            timed([*update, f"file://{unpublished}"], env, args.repeat, home),
            base,
        )
        row(
            "kube update (first), published index of HEAD",
            timed([*update, f"file://{source}"], env, args.repeat, home),
            base,
        )
        name = "bench-published-extra"
        extra = source / "formulas" / name
        extra.mkdir()
        (extra / "K3.yaml").write_text(
            f"name: {name}\nversion: 1.0.0\nhome: https://example.com\ndescription: one more\n"
            "maintainers: [Jane Doe <jane@example.com>]\n"
        )
        identity = ["-c", "user.name=bench", "-c", "user.email=bench@example.com"]
        subprocess.run(["git", "-C", str(source), "add", "-A"], check=True)
        subprocess.run(["git", "-C", str(source), *identity, "commit", "-qm", "one more"], check=True)
        row(
            "kube update (first), published index of HEAD~1",
            timed([*update, f"file://{source}"], env, args.repeat, home),
            base,
        )
        subprocess.run(["git", "-C", str(source), "reset", "-q", "--hard", "HEAD~1"], check=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
