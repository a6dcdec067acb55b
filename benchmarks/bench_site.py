"""Time `kube site build` and the catalogue's search in a real browser.

    python benchmarks/bench_site.py [--formulas N] [--repeat R] [--no-browser] [--keep DIR]

Builds, each several times (median printed), with the installed ``kube`` run as a subprocess:

* the project's own catalogue (``formulas/``, 15 kubes);
* a synthetic archive of N formulas (default 5,000) made by bench_archive.py (small K3.yaml, no
  README);
* a realistic archive of N formulas: copies of the real ones under new names, README and all,
  so the pages and the search index are as heavy as real kubes make them.

For each: seconds, output size, search index size. Then, in headless Chromium (Debian's, as the
browser tests use it), the realistic N-kube catalogue opened from file://: time from navigation
to the first search result (``kubes.html?q=etcd``), and the time of one keystroke's search.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from bench_archive import git, make_archive  # noqa: E402  (a sibling script, not a package)


def realistic_archive(root: Path, count: int) -> Path:
    """``count`` formulas copied from the real ones (README, manifests, values), renamed."""
    repo = root / "realistic"
    real = sorted(p for p in (ROOT / "formulas").iterdir() if p.is_dir())
    for i in range(count):
        source = real[i % len(real)]
        name = source.name if i < len(real) else f"{source.name}-{i:05d}"
        target = repo / "formulas" / name
        shutil.copytree(source, target)
        k3 = (target / "K3.yaml").read_text(encoding="utf-8")
        (target / "K3.yaml").write_text(
            re.sub(r"^name: .*$", f"name: {name}", k3, count=1, flags=re.M), encoding="utf-8"
        )
    shutil.copy(ROOT / "CONTRIBUTING.md", repo / "CONTRIBUTING.md")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", f"{count} formulas")
    return repo


def build(archive: Path, out: Path, repeat: int) -> tuple[float, float, int, int, int]:
    """(median wall seconds, median CPU seconds, output bytes, search index bytes, files) of
    `kube site build`; CPU counts the page-writing workers too, and says less about the load."""
    env = {**os.environ, "KUBE_HOME": str(out.parent / "kube-home"), "PYTHONPATH": str(ROOT)}
    times, cpu = [], []
    for _ in range(repeat):
        os.sync()  # nor the previous build's
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "kube", "site", "build", "--archive", str(archive), "--out", str(out)],
            env=env,
            check=True,
            capture_output=True,
        )
        times.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    files = [p for p in out.rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in files)
    index = (out / "search-index.js").stat().st_size
    return statistics.median(times), statistics.median(cpu), size, index, len(files)


def browser_search(site: Path, repeat: int) -> tuple[float, float, float, float]:
    """Milliseconds: from navigation to the first result (kubes.html?q=etcd), of one keystroke's
    search, to load that page, and from the first keystroke on the home page to its result."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait

    options = Options()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"):
        options.add_argument(flag)
    options.add_argument("--disable-background-networking")
    options.add_argument(f"--user-data-dir={tempfile.mkdtemp(prefix='bench-chromium-')}")
    os.environ.setdefault("SE_OFFLINE", "true")
    driver = webdriver.Chrome(
        options=options, service=Service(executable_path=shutil.which("chromedriver") or "chromedriver")
    )
    # Record, inside the page, the moment the results first appear (no polling error).
    driver.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument",
        {
            "source": "new MutationObserver(function (m, o) {"
            "  var box = document.getElementById('results');"
            "  if (box && !box.hidden && box.querySelector('.result')) {"
            "    window.firstResult = performance.now(); o.disconnect(); }"
            "}).observe(document, {subtree: true, childList: true, attributes: true});"
        },
    )
    first, keystroke, load, typed = [], [], [], []
    try:
        page = (site / "kubes.html").resolve().as_uri()
        for _ in range(repeat):
            driver.get(page + "?q=etcd")
            WebDriverWait(driver, 60).until(lambda d: d.execute_script("return window.firstResult"))
            first.append(driver.execute_script("return window.firstResult"))
            load.append(
                driver.execute_script(
                    "var t = performance.getEntriesByType('navigation')[0]; return t.loadEventEnd;"
                )
            )
            keystroke.append(
                driver.execute_script(
                    "var q = document.getElementById('q'); var t0 = performance.now();"
                    "q.value = 'etcd-ha'; q.dispatchEvent(new Event('input'));"
                    "return performance.now() - t0;"
                )
            )
        home = (site / "index.html").resolve().as_uri()
        for _ in range(repeat):
            driver.get(home)
            WebDriverWait(driver, 60).until(
                lambda d: d.execute_script("return document.readyState") == "complete"
            )
            # Focus the box and type at once: the index loads on focus, so this is the first search's
            # whole cost on a fresh page.
            start = driver.execute_script(
                "var q = document.getElementById('q'); var t0 = performance.now(); q.focus();"
                "q.value = 'etcd'; q.dispatchEvent(new Event('input')); return t0;"
            )
            WebDriverWait(driver, 60).until(lambda d: d.execute_script("return window.firstResult"))
            typed.append(driver.execute_script("return window.firstResult") - start)
    finally:
        driver.quit()
    return (
        statistics.median(first),
        statistics.median(keystroke),
        statistics.median(load),
        statistics.median(typed),
    )


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--formulas", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-browser", action="store_true", help="skip the browser measurement")
    parser.add_argument("--keep", type=Path, help="build in DIR and keep it")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-site-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        rows = []
        rows.append(("the project's catalogue", 15, *build(ROOT, work / "catalogue" / "_site", args.repeat)))
        synthetic = make_archive(work / "synthetic", args.formulas)
        os.sync()  # the archive's writeback must not land in the timed builds
        figures = build(synthetic, work / "synthetic-site" / "_site", args.repeat)
        rows.append(("synthetic (bench_archive.py)", args.formulas, *figures))
        realistic = realistic_archive(work, args.formulas)
        os.sync()
        figures = build(realistic, work / "realistic-site" / "_site", args.repeat)
        rows.append(("realistic (copies of formulas/)", args.formulas, *figures))
        load = os.getloadavg()[0]
        print(f"load average {load:.1f}; medians of {args.repeat}")
        print(f"{'archive':34} {'kubes':>6} {'build':>8} {'CPU':>8} {'output':>9} {'index':>9} {'files':>7}")
        for name, count, seconds, cpu, size, index, files in rows:
            print(
                f"{name:34} {count:>6} {seconds:>7.2f}s {cpu:>7.2f}s {size / 1e6:>7.1f}MB "
                f"{index / 1e6:>7.2f}MB {files:>7}"
            )
        if not args.no_browser:
            first, keystroke, load, typed = browser_search(work / "realistic-site" / "_site", args.repeat)
            print(
                f"browser, {args.formulas} realistic kubes from file://: kubes.html?q=etcd shows its first "
                f"result {first:.0f} ms after navigation (page loaded at {load:.0f} ms); on the home page, "
                f"{typed:.0f} ms from the first keystroke (index loaded then) to the result; "
                f"a keystroke's search once loaded {keystroke:.1f} ms"
            )
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
