"""``kube site build``: the static catalogue of an archive, its JSON API and its search index.

The archive is read the way ``kube update`` indexes it (``kube.archive.changes``/``kube.archive.indexer``: the
same entries, so the pages, the API and ``kube info -o json`` agree), then every page is
rendered from the package's Jinja templates with autoescaping on. The build goes into a fresh
directory beside ``out`` and replaces ``out`` only when it is complete, so a failed build leaves
the last good site; ``out`` is replaced only if it is empty or an earlier build (it holds the
``.kube-site`` marker), never some other directory.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from kube.archive import git as gitcmd
from kube.archive.index import Entry
from kube.core.errors import ArchiveError, NotFoundError, UsageError
from kube.core.text import safe, safe_line
from kube.site import markdown
from kube.site.results import KubeResult, load_results
from kube.site.text import contact, web_url

MARKER = ".kube-site"
PACKAGE = Path(__file__).resolve().parent
SEARCH_INDEX = "search-index.js"
K3_LIMIT = 256 * 1024


@dataclass(frozen=True)
class SiteReport:
    """What a build wrote."""

    out: Path
    kubes: int
    invalid: int
    tested: int
    files: int
    bytes: int
    search_index_bytes: int
    seconds: float
    commit: str


@dataclass(frozen=True)
class KubePage:
    """Everything one kube's page shows (the templates read these fields)."""

    entry: Entry
    readme: str | None  # the README.md as written (rendered, sanitised, when the page is written)
    values: str  # the ``values:`` block of K3.yaml as written, comments included
    dependencies: tuple[tuple[str, str, bool], ...]  # (name, range, has a page)
    dependents: tuple[str, ...]
    result: KubeResult | None
    source_url: str | None
    commit_url: str | None
    home_url: str | None
    maintainers: tuple[tuple[str, str | None, str], ...] = field(default=())

    @property
    def status(self) -> str:
        """passed, failed, not-run or untested: the badge and the catalogue filter."""
        return self.result.outcome if self.result is not None else "untested"

    @property
    def status_text(self) -> str:
        return self.result.status if self.result is not None else "not tested"

    def api(self) -> dict[str, Any]:
        """The JSON of ``api/kube/NAME.json``: ``kube info -o json``'s fields of the archive (not
        the machine-local ``path``, ``workspace`` and ``installed``), plus what the site adds."""
        data = self.entry.to_dict()
        data["dependents"] = list(self.dependents)
        data["test"] = self.result.to_dict() if self.result is not None else None
        data["page"] = f"kube/{self.entry.name}.html"
        return data


@dataclass(frozen=True)
class _Git:
    head: str
    web: str | None  # https://github.com/OWNER/REPO when the origin is there


def _git_state(root: Path) -> _Git:
    try:
        # Only the top of a repository: formulas/ in a subdirectory of some other repository (a
        # home directory kept in git) has no history of its own to show.
        prefix = gitcmd.run(["rev-parse", "--show-prefix"], what="cannot read the archive", cwd=root)
        head = gitcmd.run(["rev-parse", "HEAD"], what="cannot read the archive", cwd=root).strip()
    except ArchiveError:
        return _Git("", None)
    if prefix.strip():
        return _Git("", None)
    try:
        origin = gitcmd.run(
            ["config", "--get", "remote.origin.url"], what="cannot read the archive", cwd=root
        ).strip()
    except ArchiveError:
        origin = ""
    return _Git(head, _web_of(origin))


def _web_of(origin: str) -> str | None:
    """The repository's page for a GitHub origin (https or scp-like ssh); credentials dropped."""
    if origin.startswith("git@github.com:"):
        path = origin.split(":", 1)[1]
    else:
        try:
            parts = urlsplit(origin)
        except ValueError:
            return None
        if parts.scheme not in ("https", "ssh") or parts.hostname != "github.com":
            return None
        path = parts.path
    path = path.strip("/").removesuffix(".git")
    if path.count("/") != 1 or not all(
        part and part.replace("-", "").replace("_", "").replace(".", "").isalnum() for part in path.split("/")
    ):
        return None
    return f"https://github.com/{path}"


def _entries(root: Path, git: _Git) -> dict[str, Entry]:
    """Every formula of the archive as ``kube update`` indexes it (commit and date of its last change)."""
    from kube.archive import indexer

    if git.head:
        from kube.archive.changes import build_index

        # _git_state saw that root is the top of its repository: the index's git reads it as one.
        raw: Mapping[str, Any] = build_index(root, git.head, None, None).entries
    else:
        raw = indexer.build_entries(root, indexer.formula_dir_names(root))[0]
    return {name: Entry.from_raw(value) for name, value in raw.items() if isinstance(value, dict)}


def _read(path: Path, limit: int) -> str | None:
    """A regular file's text (never through a symlink), cut at ``limit`` bytes; None when absent."""
    try:
        if path.is_symlink() or not path.is_file():
            return None
        with path.open("rb") as handle:
            return handle.read(limit).decode("utf-8", errors="replace")
    except OSError:
        return None


def values_block(k3: str) -> str:
    """The ``values:`` section of a K3.yaml as written, with its comments; "" when there is none."""
    lines = k3.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("values:")), None)
    if start is None:
        return ""
    end = start + 1
    while end < len(lines) and (not lines[end] or lines[end][0] in " \t#"):
        end += 1
    block = lines[start:end]
    while block and (not block[-1].strip() or block[-1].startswith("#")):
        block.pop()
    return "\n".join(block)


def _pages(
    root: Path, entries: Mapping[str, Entry], results: Mapping[str, KubeResult], git: _Git
) -> list[KubePage]:
    dependents: dict[str, list[str]] = {}
    for entry in entries.values():
        for dep, _ in entry.dependencies:
            dependents.setdefault(dep, []).append(entry.name)
    pages = []
    for name in sorted(entries):
        entry = entries[name]
        directory = root / "formulas" / name
        source = f"{git.web}/tree/{git.head}/formulas/{name}" if git.web and git.head else None
        text = _read(directory / "README.md", markdown.README_LIMIT + 1)
        k3 = _read(directory / "K3.yaml", K3_LIMIT) if entry.valid else None
        commit = entry.built_commit
        pages.append(
            KubePage(
                entry=entry,
                readme=text or None,
                values=values_block(k3) if k3 else "",
                dependencies=tuple((dep, rng, dep in entries) for dep, rng in entry.dependencies),
                dependents=tuple(sorted(dependents.get(name, ()))),
                result=results.get(name),
                source_url=source,
                commit_url=f"{git.web}/commit/{commit}" if git.web and commit else None,
                home_url=web_url(entry.home) or contact(entry.home)[1],
                maintainers=tuple(contact(m) for m in entry.maintainers),
            )
        )
    return pages


def _environment() -> Any:
    import jinja2
    import markupsafe

    def finalize(value: object) -> object:
        # Every {{ }} of formula text passes here before it is escaped.
        if value is None:
            return ""
        if isinstance(value, str) and not isinstance(value, markupsafe.Markup):
            return safe(value)
        return value

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(PACKAGE / "templates"),
        autoescape=True,
        finalize=finalize,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["line"] = safe_line
    env.filters["short"] = lambda text, n=12: str(text)[:n]
    return env


def _search_index(pages: Iterable[KubePage]) -> bytes:
    """The data search.js ranks, as a script (a page opened from file:// may not fetch JSON).

    Rows are ``[name, version, description, keywords, details, status]`` in name order: the
    order ``kube search`` walks its index, so equal-ranked results come out the same way."""
    rows = [
        [
            p.entry.name,
            p.entry.version,
            p.entry.description,
            list(p.entry.keywords),
            p.entry.details,
            p.status,
        ]
        for p in pages
    ]
    data = json.dumps({"schema": 1, "kubes": rows}, ensure_ascii=True, separators=(",", ":"))
    return b"window.KUBE_SEARCH_INDEX=" + data.encode() + b";\n"


def rank(pages: Iterable[KubePage], pattern: str) -> list[KubePage]:
    """``kube search``'s ranking (kube/index.py), which search.js repeats in the browser: the exact
    name, then names containing ``pattern``, then description, keywords or details containing it."""
    needle = pattern.casefold()
    exact: list[KubePage] = []
    by_name: list[KubePage] = []
    by_text: list[KubePage] = []
    for page in pages:
        entry = page.entry
        if entry.name == pattern.lower():
            exact.append(page)
        elif needle in entry.name.casefold():
            by_name.append(page)
        elif any(needle in text.casefold() for text in (entry.description, *entry.keywords, entry.details)):
            by_text.append(page)
    return [*exact, *by_name, *by_text]


def _sample(pages: list[KubePage]) -> tuple[str, list[tuple[str, str, str]], str]:
    """The home page's transcript: a real search of this catalogue (``etcd`` when it has some)."""
    query = "etcd" if any("etcd" in p.entry.name for p in pages) else "web"
    found = [p for p in rank(pages, query) if p.entry.valid][:3]
    rows = [(p.entry.name, p.entry.version, p.entry.description) for p in found]
    return query, rows, found[0].entry.name if found else "NAME"


def _check_out(out: Path, root: Path) -> None:
    resolved = out.resolve()
    if resolved == root.resolve() or root.resolve().is_relative_to(resolved):
        raise UsageError(f"--out {out} would replace the archive", hint="choose another --out")
    if resolved.is_relative_to((root / "formulas").resolve()):
        raise UsageError(f"--out {out} is inside the archive's formulas/", hint="choose another --out")
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise UsageError(f"--out {out} is not a directory", hint="choose another --out")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise UsageError(
            f"--out {out} is not empty and not a site kube built, so it is left alone",
            hint="choose another --out, or empty it",
        )


def _write(path: Path, data: bytes | str) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    path.write_bytes(raw)
    return len(raw)


def build_site(archive: Path, out: Path, *, results: Path | None = None) -> SiteReport:
    """Build the site of the archive at ``archive`` (a directory with ``formulas/``) into ``out``."""
    started = time.monotonic()
    if not (archive / "formulas").is_dir():
        raise NotFoundError(
            f"{archive} has no formulas/ directory, so it is not a kube archive",
            hint="give the archive with --archive DIR (a clone of the formulas repository)",
        )
    _check_out(out, archive)
    found = load_results(results) if results is not None else {}
    git = _git_state(archive)
    entries = _entries(archive, git)
    pages = _pages(archive, entries, found, git)
    env = _environment()
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat()
    contributing = _read(archive / "CONTRIBUTING.md", markdown.README_LIMIT)
    query, sample, sample_kube = _sample(pages)
    tested = sum(1 for p in pages if p.result is not None)
    common = {
        "sample_query": query,
        "sample": sample,
        "sample_kube": sample_kube,
        "commit": git.head,
        "generated": now,
        "repo_url": git.web,
        "count": len(pages),
        "tested": tested,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=out.parent))
    try:
        written = 0

        def page(rel: str, template: str, **extra: Any) -> None:
            nonlocal written
            depth = rel.count("/")
            html = env.get_template(template).render(**common, root="../" * depth, page=rel, **extra)
            written += _write(work / rel, html)

        page("index.html", "home.html")
        page("install.html", "install.html")
        source = f"{git.web}/blob/{git.head}/" if git.web and git.head else None
        guide = markdown.render(contributing, source=source) if contributing else None
        page("contributing.html", "contributing.html", guide=guide)
        page("kubes.html", "kubes.html", kubes=pages)
        page("404.html", "404.html")
        written += _kube_files(pages, work, env, common)
        api = [kube.api() for kube in pages]
        compact = json.dumps(api, separators=(",", ":"), ensure_ascii=False)  # read by scripts, not people
        written += _write(work / "api" / "kubes.json", compact + "\n")
        index = _search_index(pages)
        written += _write(work / SEARCH_INDEX, index)
        for asset in sorted((PACKAGE / "static").iterdir()):
            if asset.is_file():
                written += _write(work / "static" / asset.name, asset.read_bytes())
        _write(work / ".nojekyll", b"")  # GitHub Pages: serve the files as they are
        _write(work / MARKER, json.dumps({"commit": git.head, "generated": now}) + "\n")
        files = sum(len(names) for _, _, names in os.walk(work))
        _replace(work, out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return SiteReport(
        out=out,
        kubes=len(pages),
        invalid=sum(1 for p in pages if not p.entry.valid),
        tested=tested,
        files=files,
        bytes=written,
        search_index_bytes=len(index),
        seconds=time.monotonic() - started,
        commit=git.head,
    )


# A kube's page and its API file are independent of every other kube's: with many kubes they are
# written by a pool of forked workers (rendering READMEs is most of a big build). The job is a
# global so forked workers inherit it, compiled templates included, instead of unpickling it.
_PARALLEL_FROM = 200
_JOB: tuple[list[KubePage], Path, Any, dict[str, Any]] | None = None


def _kube_chunk(bounds: tuple[int, int]) -> int:
    if _JOB is None:  # pragma: no cover  (set before any worker starts)
        raise RuntimeError("no site build in progress")
    pages, work, env, common = _JOB
    template = env.get_template("kube.html")
    written = 0
    for kube in pages[bounds[0] : bounds[1]]:
        if kube.readme is not None:
            kube = replace(kube, readme=markdown.render(kube.readme, source=kube.source_url))
        name = kube.entry.name
        html = template.render(**common, root="../", page=f"kube/{name}.html", kube=kube)
        written += _write(work / "kube" / f"{name}.html", html)
        text = json.dumps(kube.api(), indent=2, ensure_ascii=False) + "\n"
        written += _write(work / "api" / "kube" / f"{name}.json", text)
    return written


def _kube_files(pages: list[KubePage], work: Path, env: Any, common: dict[str, Any]) -> int:
    """Write kube/NAME.html and api/kube/NAME.json for every kube; the bytes written."""
    import multiprocessing

    from kube.archive.indexer import _cpus, _watch_parent

    global _JOB
    (work / "kube").mkdir(parents=True, exist_ok=True)
    (work / "api" / "kube").mkdir(parents=True, exist_ok=True)
    workers = min(_cpus(), max(1, len(pages) // _PARALLEL_FROM))
    step = max(1, -(-len(pages) // (workers * 4)))
    chunks = [(i, min(i + step, len(pages))) for i in range(0, len(pages), step)]
    _JOB = (pages, work, env, common)
    try:
        if workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
            return sum(_kube_chunk(chunk) for chunk in chunks)
        from concurrent.futures import ProcessPoolExecutor

        context = multiprocessing.get_context("fork")
        pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=context, initializer=_watch_parent, initargs=(os.getpid(),)
        )
        with pool:
            return sum(pool.map(_kube_chunk, chunks))
    finally:
        _JOB = None


def _replace(work: Path, out: Path) -> None:
    """Put the finished build at ``out``; the earlier build is removed only after that."""
    os.chmod(work, 0o755)  # noqa: S103  (mkdtemp makes it private; a site is for everyone to read)
    if not out.exists():
        os.rename(work, out)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
    os.rmdir(old)
    os.rename(out, old)
    try:
        os.rename(work, out)
    except OSError:
        os.rename(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)
