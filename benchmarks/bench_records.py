#!/usr/bin/env python3
"""Benchmark release records (format 2): encoded size and encode / decode time at 30, 500 and 5,000 objects.

The render is tests/release_objects.py: per app a ConfigMap with a small config file, a Deployment
with probes, resources, a dozen env entries and an image digest, and a Service, with the labels
kube adds; each object gets a uid, as the API server gives them. ``encode`` is what a write does
before kubectl (JSON, gzip, size check); ``decode`` is what a read does with each Secret (base64,
bounded gunzip, JSON, every check). Times are the median of ``--runs`` in this process.

The format 1 record (names and uids only, no manifest, no values, uncompressed JSON) is shown
beside it, and so is what Helm's encoding (base64 of the gzip, inside the Secret's own data)
would store for the same document.

Usage: python benchmarks/bench_records.py [--sizes 30,500,5000] [--runs 9]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kube.core.errors import FormulaError
from kube.k8s import records, release_format, releases
from kube.k8s.release_format import ReleaseOutcome, ReleaseStatus, Revision
from tests import release_objects


def revision(count: int) -> Revision:
    manifest = release_objects.render(count)
    return Revision(
        release="shop",
        namespace="shop",
        revision=1,
        formula="shop",
        version="2.4.1",
        status=ReleaseStatus.DEPLOYED,
        outcome=ReleaseOutcome.COMPLETE,
        time=release_format.utc_now(),
        values={"replicas": 2, "image": {"tag": "2.4.1"}, "ingress": {"host": "shop.example.com"}},
        hook_values={"db": {"password": "x" * 32}},
        manifest=tuple(manifest),
        objects=release_objects.recorded(manifest),
        summary=f"installed shop 2.4.1 ({count} objects)",
    )


def v1_size(rev: Revision) -> int:
    record = records.Record(
        formula=rev.formula,
        version=rev.version,
        namespace=rev.namespace,
        objects=tuple(records.RecordedObject(o.ref, o.uid) for o in rev.objects),
        values_digest=rev.values_digest,
    )
    return len(json.dumps(record.to_json(), separators=(",", ":")))


def median_ms(action: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="30,500,5000")
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    limit = release_format.DATA_LIMIT
    print(f"limit: {limit} bytes of Secret data ({limit // 1024} KiB of the API server's 1 MiB)")
    header = (
        f"{'objects':>8} {'JSON':>11} {'stored':>10} {'of limit':>9} {'Helm-style':>11} "
        f"{'format 1':>9} {'encode ms':>10} {'decode ms':>10}"
    )
    print(header)
    for count in (int(s) for s in args.sizes.split(",")):
        rev = revision(count)
        raw = len(json.dumps(release_format.document(rev), separators=(",", ":")).encode())
        try:
            stored = release_format.check_size(rev)
        except FormulaError as exc:
            print(f"{count:>8} {raw:>11} refused: {exc.message}")
            continue
        secret = release_format.to_secret(rev)
        assert releases.from_secret(secret) == rev
        encode = median_ms(lambda: release_format.to_secret(rev), args.runs)  # noqa: B023
        decode = median_ms(lambda: releases.from_secret(secret), args.runs)  # noqa: B023
        helm = (stored + 2) // 3 * 4
        print(
            f"{count:>8} {raw:>11} {stored:>10} {stored / limit:>8.1%} {helm:>11} "
            f"{v1_size(rev):>9} {encode:>10.1f} {decode:>10.1f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
