"""kube site build / serve: the pages, the JSON API, escaping of hostile formulas, every link.

The archive is a real git repository made from the project's own formulas/ and CONTRIBUTING.md,
plus three made for these tests: ``evil`` (hostile K3.yaml and README that are still valid),
``broken`` (an invalid K3.yaml) and ``needs-phantom`` (depends on a kube the archive lacks).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from kube.cli.app import app
from kube.core.errors import ExitCode
from kube.site import build_site
from kube.site.markdown import render
from kube.site.results import load_results
from tests.cluster import Cluster
from tests.gitrepo import make_repo

ROOT = Path(__file__).resolve().parents[1]
LONG = "x" * 200
EVIL_DESCRIPTION = (
    '<script>alert("desc")</script><img src=x onerror=alert(1)> \x1b[31mred\x1b[0m \u202eevil ' + LONG
)
EVIL_K3 = f"""\
name: evil
version: "6.6.6"
home: https://evil.example/"onmouseover="alert(1)
description: {json.dumps(EVIL_DESCRIPTION)}
maintainers:
  - Eve "onclick=alert(5)" <https://evil.example/"onmouseover="alert(2)>
  - Mallory <mallory@example.com>
keywords: ["<b>bold</b>", etcd]
details: |
  <script>alert("details")</script>
  javascript:alert(3)
values:
  # <script>alert("comment")</script>
  greeting: "</code></pre><script>alert(4)</script>"
"""
EVIL_README = """\
# evil <script>alert("title")</script>

<script>alert("raw")</script>
<img src="x" onerror="alert('img')">
<a href="javascript:alert('a')">raw link</a>

[click me](javascript:alert('md'))
[entity](javascript&#58;alert('entity'))
[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)
[protocol-relative](//evil.example/x)
[the values](K3.yaml)
[fine](https://etcd.io)
![tracker](https://evil.example/pixel.png)
"""


def kube(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def archive_files() -> dict[str, str | bytes]:
    files: dict[str, str | bytes] = {}
    for path in sorted((ROOT / "formulas").rglob("*")):
        if path.is_file():
            files[path.relative_to(ROOT).as_posix()] = path.read_bytes()
    files["CONTRIBUTING.md"] = (ROOT / "CONTRIBUTING.md").read_bytes()
    files["formulas/evil/K3.yaml"] = EVIL_K3
    files["formulas/evil/README.md"] = EVIL_README
    files["formulas/evil/manifests/cm.yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: evil}\n"
    files["formulas/broken/K3.yaml"] = 'name: broken\nversion: "not a version"\n'
    files["formulas/needs-phantom/K3.yaml"] = (
        'name: needs-phantom\nversion: "1.0.0"\nhome: https://example.com\ndescription: Needs a phantom\n'
        "maintainers: [Jane Doe <jane@example.com>]\ndependencies:\n  - name: phantom\n    version: '>=1'\n"
        "  - name: redis\n    version: '>=1'\n"
    )
    return files


RESULTS = {
    "schema": 1,
    "date": "2026-12-01T20:00:00+00:00",
    "commit": "0123456789abcdef0123456789abcdef01234567",
    "cluster": {"version": "v1.20.2", "simulated": True},
    "kubes": {
        "redis": {
            "lint": {"errors": 0, "warnings": 0, "rules": []},
            "test": {"outcome": "passed", "detail": "passed", "seconds": 21.5},
        },
        "mysql": {
            "lint": {"errors": 0, "warnings": 2, "rules": ["security-host-path", "image-latest"]},
            "test": {"outcome": "failed", "detail": "failed (exit 1)", "seconds": 40.0},
        },
        "etcd-standalone": {
            "lint": {"errors": 0, "warnings": 0, "rules": []},
            "test": {"outcome": "not-run", "detail": "not run (simulated node)", "seconds": 9.0},
        },
    },
}


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_repo(tmp_path_factory.mktemp("site-archive") / "formulas-repo", archive_files())


@pytest.fixture(scope="module")
def site(repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    results = tmp_path_factory.mktemp("results") / "results.json"
    results.write_text(json.dumps(RESULTS), encoding="utf-8")
    out = tmp_path_factory.mktemp("site") / "_site"
    report = build_site(repo, out, results=results)
    assert report.kubes == len(list((repo / "formulas").iterdir()))
    return out


def formula_names() -> list[str]:
    return sorted(p.name for p in (ROOT / "formulas").iterdir() if p.is_dir())


# --- pages and API -------------------------------------------------------------------------


def test_build_writes_every_page_and_the_api(site: Path) -> None:
    for page in ("index.html", "install.html", "contributing.html", "kubes.html", "404.html"):
        assert (site / page).is_file(), page
    for name in [*formula_names(), "evil", "broken", "needs-phantom"]:
        assert (site / "kube" / f"{name}.html").is_file(), name
        assert (site / "api" / "kube" / f"{name}.json").is_file(), name
    assert (site / "search-index.js").is_file()
    assert (site / "static" / "search.js").is_file() and (site / "static" / "site.css").is_file()
    assert (site / ".nojekyll").exists()
    listed = json.loads((site / "api" / "kubes.json").read_text(encoding="utf-8"))
    assert [k["name"] for k in listed] == sorted([*formula_names(), "evil", "broken", "needs-phantom"])
    catalogue = (site / "kubes.html").read_text(encoding="utf-8")
    for name in formula_names():
        assert f'href="kube/{name}.html"' in catalogue
    guide = (site / "contributing.html").read_text(encoding="utf-8")
    assert "Contributing a kube" in guide and "kube lint" in guide


def test_api_has_the_fields_of_kube_info_json(site: Path, repo: Path) -> None:
    assert kube("update", "--repo", str(repo)).exit_code == 0
    for name in ("etcd-ha-cluster", "wordpress", "evil", "broken", "needs-phantom"):
        result = kube("info", name, "-o", "json")
        assert result.exit_code == 0, result.output
        info = json.loads(result.stdout)
        api = json.loads((site / "api" / "kube" / f"{name}.json").read_text(encoding="utf-8"))
        local = {
            "path",
            "workspace",
            "installed",
            "dependency_status",
        }  # facts of the user's machine and cluster
        assert set(info) - local <= set(api), name
        shared = set(info) - local
        assert {key: api[key] for key in shared} == {key: info[key] for key in shared}
    listed = json.loads((site / "api" / "kubes.json").read_text(encoding="utf-8"))
    redis = json.loads((site / "api" / "kube" / "redis.json").read_text(encoding="utf-8"))
    assert next(k for k in listed if k["name"] == "redis") == redis
    assert redis["test"]["outcome"] == "passed" and redis["test"]["cluster"]["version"] == "v1.20.2"


def test_kube_page_shows_install_command_dependencies_values_and_readme(site: Path) -> None:
    page = (site / "kube" / "wordpress.html").read_text(encoding="utf-8")
    assert "kube install wordpress" in page
    assert 'href="mysql.html"' in page  # wordpress depends on mysql
    mysql = (site / "kube" / "mysql.html").read_text(encoding="utf-8")
    assert 'href="wordpress.html"' in mysql  # and is used by it
    etcd = (site / "kube" / "etcd-ha-cluster.html").read_text(encoding="utf-8")
    assert "# Hours of history to keep; older revisions are compacted automatically." in etcd  # comments kept
    assert "manifests/shards/member.yaml.tmpl" in etcd
    assert "<h1>etcd-ha-cluster</h1>" in etcd  # the README, rendered
    phantom = (site / "kube" / "needs-phantom.html").read_text(encoding="utf-8")
    assert "phantom <em>(not in the archive)</em>" in phantom and 'href="phantom.html"' not in phantom
    assert 'href="redis.html"' in phantom
    broken = (site / "kube" / "broken.html").read_text(encoding="utf-8")
    assert "K3.yaml is invalid" in broken and "kube install broken" not in broken


def test_test_results_are_shown_as_they_happened(site: Path) -> None:
    def result_of(name: str) -> str:
        page = (site / "kube" / f"{name}.html").read_text(encoding="utf-8")
        return page.split('<section aria-labelledby="tests">', 1)[1].split("</section>", 1)[0]

    assert "status-passed" in result_of("redis") and "21.5 s" in result_of("redis")
    assert "status-failed" in result_of("mysql") and "security-host-path" in result_of("mysql")
    simulated = result_of("etcd-standalone")
    assert "not run (simulated node)" in simulated and "passed" not in simulated
    assert "not tested" in result_of("nginx")
    index = (site / "search-index.js").read_text(encoding="utf-8")
    rows = json.loads(index.removeprefix("window.KUBE_SEARCH_INDEX=").rstrip().removesuffix(";"))["kubes"]
    status = {row[0]: row[5] for row in rows}
    assert status["redis"] == "passed" and status["mysql"] == "failed"
    assert status["etcd-standalone"] == "not-run" and status["nginx"] == "untested"


# --- hostile content -----------------------------------------------------------------------


class Page(HTMLParser):
    """Every element with its attributes, and the text, of one page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        self.elements.append((tag, found))
        if "id" in found:
            self.ids.add(found["id"])

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def html_files(site: Path) -> Iterator[Path]:
    return iter(sorted(site.rglob("*.html")))


def test_hostile_formula_is_inert_on_every_page(site: Path) -> None:
    for path in html_files(site):
        raw = path.read_text(encoding="utf-8")
        assert "\x1b" not in raw and "\u202e" not in raw, path
        page = parse(path)
        for tag, attrs in page.elements:
            assert not any(name.startswith("on") for name in attrs), (path, tag, attrs)
            if tag == "script":
                assert attrs.get("src", "").endswith(("static/search.js", "search-index.js")), path
            if tag in ("img", "iframe", "object", "embed", "form") and tag != "form":
                raise AssertionError(f"{path}: <{tag}> from formula content")
            for name in ("href", "src", "action"):
                if name in attrs:
                    value = attrs[name].strip().lower()
                    scheme = re.match(r"^([a-z][a-z0-9+.-]*):", value)
                    assert scheme is None or scheme.group(1) in ("http", "https"), (path, attrs)
                    assert not value.startswith("//"), (path, attrs)
    evil = parse(site / "kube" / "evil.html")
    text = "".join(evil.text)
    assert '<script>alert("desc")</script>' in text  # shown as text
    assert "\\x1b[31mred" in text  # the escape is visible, not interpreted
    assert LONG in text
    assert "javascript:alert('md')" in text  # not a link: text
    links = [attrs["href"] for tag, attrs in evil.elements if tag == "a" and "href" in attrs]
    assert "https://etcd.io" in links
    assert "https://evil.example/pixel.png" in links  # an image became a link: nothing loads from there
    assert not any("evil.example/x" in link for link in links)
    home = [a for t, a in evil.elements if t == "a" and a.get("href", "").startswith("https://evil.example/")]
    assert all('"' not in a["href"] or "onmouseover" not in a for a in home)
    raw = (site / "kube" / "evil.html").read_text(encoding="utf-8")
    assert "<script>alert" not in raw and "<b>bold</b>" not in raw


def test_markdown_keeps_only_web_and_in_page_links() -> None:
    html = render(
        "[a](javascript:alert(1)) [b](JAVASCRIPT:alert(1)) [c](vbscript:x) [d](file:///etc/passwd) "
        "[e](https://ok.example/) [f](#values) [g](mailto:x@y.z) [h](  javascript:x) <b>raw</b>"
    )
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert hrefs == ["https://ok.example/", "#values"]
    assert "&lt;b&gt;raw&lt;/b&gt;" in html
    relative = render("[v](K3.yaml)", source="https://github.com/o/r/tree/abc/formulas/x")
    assert 'href="https://github.com/o/r/tree/abc/formulas/x/K3.yaml"' in relative


# --- links ---------------------------------------------------------------------------------


def test_every_internal_link_resolves(site: Path) -> None:
    checked = 0
    for path in html_files(site):
        page = parse(path)
        for tag, attrs in page.elements:
            for name in ("href", "src", "action"):
                target = attrs.get(name)
                if target is None or re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):
                    continue
                if tag == "a" and name == "href" and path.name == "404.html" and target.startswith("/"):
                    continue
                file_part, _, fragment = target.partition("#")
                file_part = file_part.split("?", 1)[0]
                resolved = (path.parent / file_part).resolve() if file_part else path
                assert resolved.is_file(), f"{path.relative_to(site)}: {name}={target!r} does not exist"
                assert resolved.is_relative_to(site.resolve()), f"{path}: {target} leaves the site"
                if fragment and resolved.suffix == ".html":
                    where = f"{path.relative_to(site)}: #{fragment}"
                    assert fragment in parse(resolved).ids, f"{where} is missing"
                checked += 1
    assert checked > 200


# --- the command line ----------------------------------------------------------------------


def test_cli_build_prints_one_line_and_rebuilds_in_place(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "public"
    result = kube("site", "build", "--archive", str(repo), "--out", str(out))
    assert result.exit_code == 0, result.output
    count = len(list((repo / "formulas").iterdir()))
    assert result.stdout.startswith(f"Built {out}: {count} kubes, 1 invalid")
    (out / "stale.html").write_text("old", encoding="utf-8")
    assert kube("site", "build", "--archive", str(repo), "--out", str(out)).exit_code == 0
    assert not (out / "stale.html").exists() and (out / "index.html").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".public.")]  # no temporary left


def test_cli_build_from_kubes_own_archive(repo: Path, tmp_path: Path) -> None:
    assert kube("update", "--repo", str(repo)).exit_code == 0
    result = kube("site", "build", "--out", str(tmp_path / "s"))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "s" / "kube" / "redis.html").is_file()


def test_cli_build_leaves_a_directory_that_is_not_a_site_alone(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("years of work", encoding="utf-8")
    result = kube("site", "build", "--archive", str(repo), "--out", str(out))
    assert result.exit_code == ExitCode.USAGE
    assert "is not empty and not a site kube built" in result.stderr
    assert [p.name for p in out.iterdir()] == ["thesis.tex"]
    result = kube("site", "build", "--archive", str(repo), "--out", str(repo))
    assert result.exit_code == ExitCode.USAGE and "would replace the archive" in result.stderr
    result = kube("site", "build", "--archive", str(repo), "--out", str(repo / "formulas" / "site"))
    assert result.exit_code == ExitCode.USAGE and "inside the archive's formulas/" in result.stderr
    assert not (repo / "formulas" / "site").exists()


def test_cli_build_without_formulas_is_not_found(tmp_path: Path) -> None:
    result = kube("site", "build", "--archive", str(tmp_path), "--out", str(tmp_path / "s"))
    assert result.exit_code == ExitCode.NOT_FOUND
    assert "has no formulas/ directory" in result.stderr
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        ("{not json", "not JSON"),
        ('{"schema": 9, "kubes": {}}', '"schema": 1'),
        ('{"schema": 1, "kubes": {"redis": {"test": {"outcome": "great"}}}}', "kubes.redis.test.outcome"),
    ],
)
def test_cli_build_refuses_a_bad_results_file(
    repo: Path, tmp_path: Path, content: str | None, message: str
) -> None:
    results = tmp_path / "results.json"
    if content is not None:
        results.write_text(content, encoding="utf-8")
    out = tmp_path / "s"
    result = kube("site", "build", "--archive", str(repo), "--out", str(out), "--results", str(results))
    assert result.exit_code == ExitCode.USAGE, result.output
    assert message in result.stderr and "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) <= 2  # the error and its hint
    assert not out.exists()


def test_serve_binds_localhost_and_stops_cleanly_on_ctrl_c(site: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "kube", "site", "serve", "--dir", str(site), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", first)
        assert match, first
        base = f"http://127.0.0.1:{match.group(1)}"
        with urllib.request.urlopen(f"{base}/kube/redis.html", timeout=10) as r:
            assert "kube install redis" in r.read().decode()
        with urllib.request.urlopen(f"{base}/api/kube/redis.json", timeout=10) as r:
            assert json.loads(r.read())["name"] == "redis"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
        assert "Traceback" not in proc.stderr.read() if proc.stderr else True
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_serve_on_a_port_in_use_is_one_line(site: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = kube("site", "serve", "--dir", str(site), "--port", str(port))
    assert result.exit_code == ExitCode.USAGE
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr


def test_serve_without_a_site_is_not_found(tmp_path: Path) -> None:
    result = kube("site", "serve", "--dir", str(tmp_path / "nothing"))
    assert result.exit_code == ExitCode.NOT_FOUND
    assert "holds no site built by kube" in result.stderr


# --- scripts/ci-formulas --results ---------------------------------------------------------


def test_ci_formulas_results_file_is_what_site_build_reads(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    script = [sys.executable, str(ROOT / "scripts" / "ci-formulas")]
    done = subprocess.run(
        [*script, "--no-test", "--results", str(results), "formulas/redis", "formulas/nginx"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    data: dict[str, Any] = json.loads(results.read_text(encoding="utf-8"))
    assert data["schema"] == 1 and len(data["commit"]) == 40 and data["date"]
    assert set(data["kubes"]) == {"redis", "nginx"}
    assert data["kubes"]["redis"]["lint"] == {"errors": 0, "warnings": 0, "rules": []}
    found = load_results(results)
    assert found["redis"].outcome == "not-run" and found["redis"].detail == "not run (--no-test)"


@pytest.mark.cluster
def test_ci_formulas_on_the_simulated_node_records_not_run(tmp_path: Path, cluster: Cluster) -> None:
    """On the local control plane no container runs: a test that "passed" there is recorded not run."""
    results = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "ci-formulas"), "--results", str(results), "formulas/nginx"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **cluster.env, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    data = json.loads(results.read_text(encoding="utf-8"))
    assert data["cluster"]["simulated"] is True, done.stderr
    assert data["cluster"]["version"].startswith("v1.")
    test = data["kubes"]["nginx"]["test"]
    assert test["outcome"] == "not-run", "a simulated node must never give a passed test"
    assert test["detail"] == "not run (simulated node)"
    out = tmp_path / "s"
    build_site(ROOT, out, results=results)
    page = (out / "kube" / "nginx.html").read_text(encoding="utf-8")
    section = page.split('<section aria-labelledby="tests">', 1)[1].split("</section>", 1)[0]
    assert "status-passed" not in section
    shutil.rmtree(out)


def test_parallel_build_writes_the_same_site(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Big archives render kube pages in forked workers; the pages are the same as one process makes."""
    from kube.site import build

    serial = tmp_path / "serial"
    build_site(repo, serial)
    monkeypatch.setattr(build, "_PARALLEL_FROM", 2)
    monkeypatch.setattr("kube.archive.indexer._cpus", lambda: 2)
    parallel = tmp_path / "parallel"
    build_site(repo, parallel)

    def files(root: Path) -> dict[str, bytes]:
        stamp = re.compile(rb"built \d{4}-\d\d-\d\dT[\d:+]+")
        return {
            p.relative_to(root).as_posix(): stamp.sub(b"built -", p.read_bytes())
            for p in root.rglob("*")
            if p.is_file() and p.name != ".kube-site"
        }

    assert files(parallel) == files(serial)


def test_build_from_a_directory_that_is_not_a_git_repository(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    shutil.copytree(ROOT / "formulas" / "redis", plain / "formulas" / "redis")
    report = build_site(plain, tmp_path / "s")
    assert report.kubes == 1 and report.commit == ""
    page = (tmp_path / "s" / "kube" / "redis.html").read_text(encoding="utf-8")
    assert "<dt>Last change</dt><dd>unknown</dd>" in page
    api = json.loads((tmp_path / "s" / "api" / "kube" / "redis.json").read_text(encoding="utf-8"))
    assert api["built"] == {"commit": "", "date": ""} and api["valid"] is True
    # Nor a directory inside some other repository: its history is not the archive's.
    make_repo(tmp_path / "home", {"notes.txt": "x"})
    shutil.copytree(plain, tmp_path / "home" / "kubes")
    assert build_site(tmp_path / "home" / "kubes", tmp_path / "s2").commit == ""
