"""The first update clones shallow (issue 16: read less than a clone): the branch's newest
commit only, and the rest of the history only when kube needs it, which is when the archive
publishes no index of that commit (every formula is then dated from the history).

Every source is a real git repository served over ``file://`` (git's own protocol, as over ssh
or https) or, for the one server that cannot send a shallow clone, git's "dumb" HTTP protocol
over TLS, served by a real HTTP server in this process with a certificate made by openssl.
"""

from __future__ import annotations

import http.server
import os
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from kube.archive import index, published
from kube.archive import update as archive
from kube.core.errors import ArchiveError
from tests.gitrepo import commit, formula_files, git, make_repo, replace_history


def _files() -> dict[str, str | bytes | None]:
    files: dict[str, str | bytes | None] = {"README.md": "The archive\n"}
    files.update(formula_files("nginx", "1.10.0", keywords=["web"]))
    files.update(formula_files("redis", "7.0.0", keywords=["cache"]))
    return files


@pytest.fixture(params=["partial", "full"])
def source(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """An archive of three commits, served with partial clone and without."""
    repo = make_repo(tmp_path / "src", _files())
    commit(repo, formula_files("memcached", "1.6.0"), "memcached")
    commit(repo, formula_files("redis", "7.2.0", keywords=["cache"]), "redis 7.2.0")
    if request.param == "partial":
        git(repo, "config", "uploadpack.allowFilter", "true")
    return repo


def _clone() -> Path:
    return Path(os.environ["KUBE_HOME"]) / "archive"


def _is_shallow(clone: Path) -> bool:
    return git(clone, "rev-parse", "--is-shallow-repository").strip() == "true"


def _built(name: str) -> tuple[str, str]:
    entry = archive.read_index().get(name)
    assert entry is not None
    return entry.built_commit, entry.built_date


def _last_change(repo: Path, name: str) -> tuple[str, str]:
    line = git(repo, "log", "-1", "--format=%H %cI", "--", f"formulas/{name}").split()
    return line[0], line[1]


def test_an_index_published_for_the_branch_head_needs_no_history(source: Path) -> None:
    published.publish(source)
    report = archive.update(f"file://{source}")
    assert report.rebuilt == "published"
    clone = _clone()
    assert _is_shallow(clone)
    assert git(clone, "rev-list", "--count", "HEAD").strip() == "1"
    # The published index dates every formula from the source's whole history.
    for name in ("nginx", "redis", "memcached"):
        assert _built(name) == _last_change(source, name)

    # Later updates fetch what is new and read its history, as in a full clone.
    new = commit(source, formula_files("nginx", "1.11.0", keywords=["web"]), "nginx 1.11.0")
    report = archive.update()
    assert (report.old_commit, report.new_commit) == (git(source, "rev-parse", "HEAD~1").strip(), new)
    assert [(n, old, now) for n, old, now in report.updated] == [("nginx", "1.10.0", "1.11.0")]
    assert _built("nginx") == _last_change(source, "nginx")
    assert _built("redis") == _last_change(source, "redis")
    assert git(clone, "status", "--porcelain").strip() == ""


def test_a_rewritten_history_is_refused_and_taken_with_reset_in_a_shallow_clone(source: Path) -> None:
    published.publish(source)
    archive.update(f"file://{source}")
    assert _is_shallow(_clone())
    git(source, "reset", "-q", "--hard", "HEAD~1")  # drops redis 7.2.0
    rewritten = commit(source, formula_files("valkey", "8.0.0"), "valkey instead")
    with pytest.raises(ArchiveError, match=r"history .* was rewritten"):
        archive.update()
    report = archive.update(reset=True)
    assert report.new_commit == rewritten
    assert report.new == (("valkey", "8.0.0"),)
    assert report.updated == (("redis", "7.2.0", "7.0.0"),)
    assert _built("valkey") == _last_change(source, "valkey")
    assert git(_clone(), "status", "--porcelain").strip() == ""


def test_without_a_published_index_the_whole_history_is_fetched(source: Path) -> None:
    report = archive.update(f"file://{source}")
    assert report.rebuilt == "full"
    clone = _clone()
    assert not _is_shallow(clone)
    assert git(clone, "rev-list", "HEAD") == git(source, "rev-list", "HEAD")
    for name in ("nginx", "redis", "memcached"):
        assert _built(name) == _last_change(source, name)


def test_an_index_of_an_older_commit_fetches_the_history_it_is_checked_against(source: Path) -> None:
    published.publish(source)
    described = git(source, "rev-parse", "HEAD").strip()
    commit(source, formula_files("postgres", "16.0.0"), "postgres")
    report = archive.update(f"file://{source}")
    assert report.rebuilt == "published"
    note = f"used the search index the archive published for {described[:8]}, and read what changed since"
    assert note in report.notes
    assert not _is_shallow(_clone())
    assert _built("postgres") == _last_change(source, "postgres")
    assert _built("memcached") == _last_change(source, "memcached")


def test_an_unusable_published_index_is_said_once_and_the_history_fetched(source: Path) -> None:
    published.publish(source)
    # The index now describes another history.
    replace_history(source, formula_files("nginx", "9.0.0"), "another history")
    report = archive.update(f"file://{source}")
    assert report.rebuilt == "full"
    notes = [n for n in report.notes if n.startswith("the archive's published search index was not used")]
    assert len(notes) == 1 and "which is not part of the branch" in notes[0]
    assert not _is_shallow(_clone())
    assert _built("nginx") == _last_change(source, "nginx")


def test_an_index_rebuilt_in_a_shallow_clone_does_not_make_up_dates(source: Path) -> None:
    """A lost index is rebuilt from the clone, which has only the commits since it was cloned:
    what last changed a formula before that is unknown, and ``kube info`` says so."""
    published.publish(source)
    archive.update(f"file://{source}")
    changed = commit(source, formula_files("redis", "7.4.0", keywords=["cache"]), "redis 7.4.0")
    archive.update()
    for kept in Path(os.environ["KUBE_HOME"]).glob("index*"):
        kept.unlink()
    rebuilt = archive.read_index()
    assert rebuilt.header.commit == changed
    assert _built("redis") == _last_change(source, "redis")
    assert _built("nginx") == ("", "")
    from typer.testing import CliRunner

    from kube.cli.app import app

    shown = CliRunner().invoke(app, ["info", "nginx"])
    assert shown.exit_code == 0, shown.output
    assert "Built:       unknown" in shown.output


def test_a_source_that_is_a_shallow_clone_itself_is_dated_as_far_as_it_can_be(
    source: Path, tmp_path: Path
) -> None:
    """A CI checkout is often a shallow clone, and kube's default archive may be one: it has no
    history to send past its own edge, so the formulas seen only there are not dated."""
    shallow_source = tmp_path / "ci-checkout"
    git(tmp_path, "clone", "-q", "--depth=2", "--no-local", f"file://{source}", str(shallow_source))
    git(shallow_source, "config", "uploadpack.allowFilter", "true")
    report = archive.update(f"file://{shallow_source}")
    assert report.rebuilt == "full"
    assert f"file://{shallow_source} sent only part of its history (it is a shallow clone itself)" in (
        " ".join(report.notes)
    )
    assert _built("redis") == _last_change(source, "redis")  # the newest commit: dated
    # The edge commit looks to git as if it added every file: what it changed is not known.
    assert _built("memcached") == ("", "")
    assert _built("nginx") == ("", "")
    assert sorted(archive.read_index().names()) == ["memcached", "nginx", "redis"]


@pytest.fixture
def dumb_https(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, str]]:
    """A bare archive served by a static web server over TLS (git's dumb HTTP protocol: no
    shallow clone, no filter), trusted through ``GIT_SSL_CAINFO``, which kube passes to git."""
    if shutil.which("openssl") is None:
        pytest.fail("openssl is needed for the HTTPS server (apt-get install openssl)")
    work = make_repo(tmp_path / "work", _files())
    commit(work, formula_files("memcached", "1.6.0"), "memcached")
    published.publish(work)
    bare = tmp_path / "served" / "archive.git"
    git(tmp_path, "clone", "-q", "--bare", "--no-local", str(work), str(bare))
    git(bare, "fetch", "-q", str(work), f"{published.BRANCH}:{published.BRANCH}")
    git(bare, "update-server-info")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(bare.parent)))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("GIT_SSL_CAINFO", str(cert))
    try:
        yield work, f"https://127.0.0.1:{server.server_address[1]}/archive.git"
    finally:
        server.shutdown()
        server.server_close()


def test_a_server_that_cannot_send_a_shallow_clone_gets_a_full_one(dumb_https: tuple[Path, str]) -> None:
    work, url = dumb_https
    report = archive.update(url)
    assert report.rebuilt == "published"
    assert "the server does not support partial clone; made a full clone" in report.notes
    clone = _clone()
    assert not _is_shallow(clone)
    assert git(clone, "rev-list", "HEAD") == git(work, "rev-list", "HEAD")
    assert sorted(archive.read_index().names()) == ["memcached", "nginx", "redis"]
    assert index.read_header() is not None
