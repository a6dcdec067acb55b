#!/usr/bin/env python3
"""Benchmark a table on a terminal: Rich's layout against kube's own, by rows.

    python benchmarks/bench_terminal_table.py [--rows 100,1000,3300,9722] [--width 120] [--repeat 5]

``kube.cli.console.print_table`` on a stream that says it is a terminal, with rows shaped
like a search's hits (a name, a version, a description of 5 to 18 words), once with Rich
laying out every row and once as printed now (Rich up to ``console._RICH_ROWS`` rows, kube's
own layout past them). In process, after one unmeasured call of each (Rich imported);
printed: the fastest of ``--repeat`` calls and the lines written. 3,300 and 9,722 are the
hits of ``kube search database`` at 5,000 and 50,000 generated kubes.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kube.cli import console

WORDS = ("fast", "database", "cache", "reliable", "cluster", "operator", "for", "the", "with", "backup")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def rows_of(count: int) -> list[tuple[str, str, str]]:
    pick = random.Random(16)
    return [
        (
            f"app-{i}-database",
            f"1.{i % 20}.{i % 7}",
            " ".join(pick.choice(WORDS) for _ in range(pick.randint(5, 18))),
        )
        for i in range(count)
    ]


def timed(rows: list[tuple[str, str, str]], rich_rows: int, repeat: int) -> tuple[float, int]:
    console._RICH_ROWS = rich_rows
    best, lines = float("inf"), 0
    for _ in range(repeat + 1):  # the first call imports Rich (or warms it): not counted
        out, real = Terminal(), sys.stdout
        sys.stdout = out
        try:
            started = time.perf_counter()
            console.print_table(("NAME", "VERSION", "DESCRIPTION"), rows)
            took = time.perf_counter() - started
        finally:
            sys.stdout = real
        best = min(best, took) if lines else float("inf")
        lines = out.getvalue().count("\n")
    return best, lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", default="100,1000,3300,9722")
    parser.add_argument("--width", type=int, default=120)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    os.environ["COLUMNS"] = str(args.width)  # what shutil.get_terminal_size and Rich read
    shipped = console._RICH_ROWS
    print(f"terminal {args.width} columns; kube's layout past {shipped} rows; fastest of {args.repeat}")
    print(f"{'rows':>6}  {'Rich, every row':>16}  {'as printed now':>15}  lines (Rich / now)")
    for count in (int(n) for n in args.rows.split(",")):
        rows = rows_of(count)
        rich, rich_lines = timed(rows, sys.maxsize, args.repeat)
        now, now_lines = timed(rows, shipped, args.repeat)
        print(f"{count:>6}  {rich * 1000:>13.1f} ms  {now * 1000:>12.1f} ms  {rich_lines} / {now_lines}")


if __name__ == "__main__":
    main()
