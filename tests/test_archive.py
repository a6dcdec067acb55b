"""The archive: clone, fast-forward, change reports, local edits, hostile remotes.

Every remote is a real git repository in tmp_path; nothing about git is mocked.
Crash and concurrency tests run kube as real processes and kill them for real.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kube.archive import git as gitcmd
from kube.archive import index, indexer
from kube.archive import update as archive
from kube.archive.config import Config, read_config, write_config
from kube.core.errors import ArchiveError, LocalChangesError, NotFoundError, UsageError
from tests.gitrepo import commit, formula_files, git, make_repo


def head(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD").strip()


def assert_consistent(kube_home: Path, remote: Path) -> None:
    """One clone at the remote's HEAD, an index for exactly that commit, nothing left over."""
    clone = kube_home / "archive"
    assert head(clone) == head(remote)
    assert git(clone, "status", "--porcelain", "--untracked-files=all") == ""
    loaded = index.load_index()
    assert loaded.header.commit == head(remote)
    expected = sorted(p.name for p in (remote / "formulas").iterdir())
    assert loaded.names() == expected
    for leftover in ("archive.new", "archive.old", ".update-journal.json"):
        assert not (kube_home / leftover).exists(), leftover


def run_kube(
    *args: str, env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kube", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


# --- clone and update ------------------------------------------------------------------


def test_first_update_clones_and_indexes_every_formula(remote_archive: Path, kube_home: Path) -> None:
    report = archive.update(str(remote_archive))
    assert report.cloned
    assert report.count == 2
    assert_consistent(kube_home, remote_archive)
    ponycorn = index.load_index().get("ponycorn")
    assert ponycorn is not None
    assert ponycorn.dependencies == (("nginx", "1.9 < x <= 1.10"),)
    assert ponycorn.built_commit == head(remote_archive)


def test_update_with_nothing_new_is_already_up_to_date(remote_archive: Path) -> None:
    archive.update(str(remote_archive))
    report = archive.update()
    assert report.up_to_date
    assert (report.new, report.updated, report.deleted, report.renamed) == ((), (), (), ())


def test_update_reports_new_formula(remote_archive: Path, kube_home: Path) -> None:
    archive.update(str(remote_archive))
    commit(remote_archive, formula_files("redis", "7.0.0"))
    report = archive.update()
    assert report.new == (("redis", "7.0.0"),)
    assert_consistent(kube_home, remote_archive)


def test_update_reports_updated_formula_with_old_and_new_version(remote_archive: Path) -> None:
    archive.update(str(remote_archive))
    commit(remote_archive, formula_files("nginx", "1.11.0"))
    report = archive.update()
    assert report.updated == (("nginx", "1.10.0", "1.11.0"),)
    assert report.new == () and report.deleted == ()


def test_update_reports_deleted_formula(remote_archive: Path, kube_home: Path) -> None:
    archive.update(str(remote_archive))
    commit(remote_archive, {"formulas/ponycorn": None})
    report = archive.update()
    assert report.deleted == ("ponycorn",)
    assert index.load_index().get("ponycorn") is None
    assert not (kube_home / "archive" / "formulas" / "ponycorn").exists()


def test_update_reports_renamed_formula(remote_archive: Path) -> None:
    archive.update(str(remote_archive))
    git(remote_archive, "mv", "formulas/ponycorn", "formulas/unicorn")
    k3 = (remote_archive / "formulas/unicorn/K3.yaml").read_text().replace("ponycorn", "unicorn")
    commit(remote_archive, {"formulas/unicorn/K3.yaml": k3})
    report = archive.update()
    assert report.renamed == (("ponycorn", "unicorn"),)
    assert report.new == () and report.deleted == ()


def test_update_records_when_each_formula_last_changed(remote_archive: Path) -> None:
    archive.update(str(remote_archive))
    first = head(remote_archive)
    second = commit(remote_archive, formula_files("nginx", "1.11.0"))
    archive.update()
    loaded = index.load_index()
    assert loaded.get("nginx").built_commit == second  # type: ignore[union-attr]
    assert loaded.get("ponycorn").built_commit == first  # type: ignore[union-attr]


def test_update_reparses_only_the_formulas_the_diff_touched(
    remote_archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive.update(str(remote_archive))
    commit(remote_archive, {**formula_files("nginx", "1.11.0"), **formula_files("redis", "7.0.0")})
    parsed: list[str] = []
    real = indexer.build_entries

    def spy(root: Path, names: object, tree: object = None) -> object:  # records, then runs the real build
        todo = sorted(names)  # type: ignore[call-overload]
        parsed.extend(todo)
        return real(root, todo, tree)  # type: ignore[arg-type]

    monkeypatch.setattr(indexer, "build_entries", spy)
    archive.update()
    assert parsed == ["nginx", "redis"]


def test_missing_index_is_rebuilt_in_full(remote_archive: Path, kube_home: Path) -> None:
    archive.update(str(remote_archive))
    (kube_home / "index.json").unlink()
    report = archive.update()
    assert report.up_to_date and report.rebuilt == "full"
    assert_consistent(kube_home, remote_archive)


def test_index_of_another_schema_version_is_rebuilt_in_full(remote_archive: Path, kube_home: Path) -> None:
    archive.update(str(remote_archive))
    path = kube_home / "index.json"
    header, _, body = path.read_bytes().partition(b"\n")
    path.write_bytes(header.replace(f'"schema":{index.SCHEMA},'.encode(), b'"schema":99,') + b"\n" + body)
    report = archive.update()
    assert report.rebuilt == "full"
    assert index.load_index().header.schema == index.SCHEMA


def test_damaged_index_is_rebuilt_when_read(remote_archive: Path, kube_home: Path) -> None:
    archive.update(str(remote_archive))
    path = kube_home / "index.json"
    path.write_bytes(path.read_bytes()[:-3] + b"}}\n")
    assert sorted(archive.read_index().names()) == ["nginx", "ponycorn"]
    assert index.load_index().header.commit == head(remote_archive)


def test_index_left_behind_by_an_older_commit_is_brought_up_to_date(
    remote_archive: Path, kube_home: Path
) -> None:
    archive.update(str(remote_archive))
    stale = (kube_home / "index.json").read_bytes()
    commit(remote_archive, formula_files("redis", "7.0.0"))
    archive.update()
    (kube_home / "index.json").write_bytes(stale)
    report = archive.update()
    assert report.rebuilt == "incremental"
    assert_consistent(kube_home, remote_archive)


# --- local edits, rewritten history, sources --------------------------------------------


def test_local_edits_stop_the_update_and_name_the_files(remote_archive: Path, kube_home: Path) -> None:
    archive.update(str(remote_archive))
    k3 = kube_home / "archive/formulas/nginx/K3.yaml"
    k3.write_text(k3.read_text() + "# mine\n")
    commit(remote_archive, formula_files("nginx", "1.11.0"))
    with pytest.raises(LocalChangesError) as caught:
        archive.update()
    assert caught.value.files == ("formulas/nginx/K3.yaml",)
    assert "kube get nginx" in (caught.value.hint or "")
    assert "kube update --reset" in (caught.value.hint or "")
    assert "# mine" in k3.read_text()


def test_untracked_file_where_the_update_writes_stops_the_update(
    remote_archive: Path, kube_home: Path
) -> None:
    archive.update(str(remote_archive))
    mine = kube_home / "archive/formulas/redis/K3.yaml"
    mine.parent.mkdir(parents=True)
    mine.write_text("name: redis  # my own draft\n")
    commit(remote_archive, formula_files("redis", "7.0.0"))
    with pytest.raises(LocalChangesError) as caught:
        archive.update()
    assert caught.value.files == ("formulas/redis/K3.yaml",)
    assert "my own draft" in mine.read_text()


def test_untracked_files_elsewhere_are_kept_by_an_update(remote_archive: Path, kube_home: Path) -> None:
    archive.update(str(remote_archive))
    notes = kube_home / "archive/formulas/nginx/notes.txt"
    notes.write_text("mine")
    commit(remote_archive, formula_files("nginx", "1.11.0"))
    assert archive.update().updated == (("nginx", "1.10.0", "1.11.0"),)
    assert notes.read_text() == "mine"


def test_reset_discards_local_edits_and_updates(remote_archive: Path, kube_home: Path) -> None:
    archive.update(str(remote_archive))
    (kube_home / "archive/formulas/nginx/notes.txt").write_text("mine")
    commit(remote_archive, formula_files("nginx", "1.11.0"))
    report = archive.update(reset=True)
    assert report.updated == (("nginx", "1.10.0", "1.11.0"),)
    assert any("discarded" in n for n in report.notes)
    assert_consistent(kube_home, remote_archive)


def test_rewritten_upstream_history_needs_reset(remote_archive: Path, kube_home: Path) -> None:
    archive.update(str(remote_archive))
    commit(remote_archive, formula_files("redis", "7.0.0"))
    archive.update()
    git(remote_archive, "reset", "-q", "--hard", "HEAD~1")
    commit(remote_archive, formula_files("valkey", "8.0.0"))
    with pytest.raises(ArchiveError, match=r"history .* was rewritten"):
        archive.update()
    report = archive.update(reset=True)
    assert report.new == (("valkey", "8.0.0"),) and report.deleted == ("redis",)
    assert_consistent(kube_home, remote_archive)


def test_changing_the_url_clones_the_new_archive(
    remote_archive: Path, kube_home: Path, tmp_path: Path
) -> None:
    archive.update(str(remote_archive))
    other = make_repo(tmp_path / "other", formula_files("redis", "7.0.0"))
    report = archive.update(str(other))
    assert report.cloned
    assert_consistent(kube_home, other)


def test_changing_the_url_keeps_local_edits_unless_reset(
    remote_archive: Path, kube_home: Path, tmp_path: Path
) -> None:
    archive.update(str(remote_archive))
    (kube_home / "archive/formulas/nginx/notes.txt").write_text("mine")
    other = make_repo(tmp_path / "other", formula_files("redis", "7.0.0"))
    with pytest.raises(LocalChangesError):
        archive.update(str(other))
    assert (kube_home / "archive/formulas/nginx/notes.txt").exists()
    archive.update(str(other), reset=True)
    assert_consistent(kube_home, other)


def test_repo_url_is_remembered_in_config(remote_archive: Path, kube_home: Path) -> None:
    archive.update(str(remote_archive), "main")
    assert read_config() == Config(repo=str(remote_archive), branch="main")
    assert archive.resolve_source() == archive.ArchiveSource(str(remote_archive), "main", "config.yaml")


def test_url_comes_from_flag_then_environment_then_config_then_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from kube.core import paths

    assert archive.resolve_source().url == paths.default_repo()
    write_config(Config(repo="https://config.example/a.git"))
    assert archive.resolve_source().url == "https://config.example/a.git"
    monkeypatch.setenv("KUBE_REPO", "https://env.example/a.git")
    assert archive.resolve_source().url == "https://env.example/a.git"
    assert archive.resolve_source("https://flag.example/a.git").url == "https://flag.example/a.git"


def test_config_written_by_hand_in_other_yaml_styles_is_read(kube_home: Path) -> None:
    kube_home.mkdir(parents=True)
    (kube_home / "config.yaml").write_text(
        "# mine\nrepo: https://example.com/a.git   # the mirror\nbranch: 'stable'\n"
    )
    assert read_config() == Config(repo="https://example.com/a.git", branch="stable")


def test_branch_option_follows_that_branch(remote_archive: Path, kube_home: Path) -> None:
    git(remote_archive, "checkout", "-q", "-b", "stable")
    commit(remote_archive, formula_files("redis", "7.0.0"))
    git(remote_archive, "checkout", "-q", "main")
    archive.update(str(remote_archive), "stable")
    assert "redis" in index.load_index().names()


# --- hostile and broken remotes ----------------------------------------------------------

HOSTILE = [
    "--upload-pack=touch {marker}",
    "-oProxyCommand=touch {marker}",
    "ext::sh -c touch% {marker}",
    "ssh://-oProxyCommand=touch%20{marker}/x",
    "git@-oProxyCommand=touch:{marker}",
    "http://example.com/a.git",
    "fd::17",
    "host:path-that-git-would-read-as-ssh",
    "https://",
    "https://example.com/a\nb",
]


@pytest.mark.parametrize("template", HOSTILE)
def test_hostile_urls_are_rejected_before_git_runs(template: str, tmp_path: Path, kube_home: Path) -> None:
    marker = tmp_path / "pwned"
    with pytest.raises(UsageError, match="not allowed"):
        archive.update(template.format(marker=marker))
    assert not marker.exists()
    assert not (kube_home / "archive").exists()


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/a/b.git",
        "ssh://git@example.com:2222/a.git",
        "git@github.com:a/b.git",
        "file:///srv/a",
    ],
)
def test_allowed_urls_pass_unchanged(url: str) -> None:
    assert gitcmd.validate_url(url) == url


def test_local_paths_are_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert gitcmd.validate_url("./repo") == str(tmp_path / "repo")


def test_git_itself_refuses_the_ext_transport(tmp_path: Path, kube_home: Path) -> None:
    """Defence in depth: even a URL that slipped past validation cannot run a command."""
    marker = tmp_path / "pwned"
    kube_home.mkdir(parents=True)
    with pytest.raises(ArchiveError):
        gitcmd.run(
            ["clone", "--", f"ext::sh -c touch% {marker}", str(tmp_path / "x")], what="clone", cwd=tmp_path
        )
    assert not marker.exists()


def test_gitpython_refuses_the_ext_transport_before_git_starts(tmp_path: Path, kube_home: Path) -> None:
    """GitPython's own check (``allow_unsafe_protocols=False``) stops it first."""
    marker = tmp_path / "pwned"
    kube_home.mkdir(parents=True)
    with pytest.raises(ArchiveError, match="ext::"):
        gitcmd.clone(f"ext::sh -c touch% {marker}", tmp_path / "x", branch=None, what="clone", hint="")
    assert not marker.exists()
    assert not (tmp_path / "x").exists()


def test_credentials_in_urls_are_not_shown() -> None:
    assert gitcmd.display_url("https://user:s3cret@example.com/a.git") == "https://***@example.com/a.git"
    assert "tok" not in gitcmd.display_url("https://tok@example.com/a.git")


@pytest.mark.parametrize("branch", ["-x", "a..b", "a b", "x.lock", "--upload-pack=x"])
def test_hostile_branch_names_are_rejected(branch: str, remote_archive: Path) -> None:
    with pytest.raises(UsageError, match="branch"):
        archive.update(str(remote_archive), branch)


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP server that accepts connections and never says anything."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_silent_server_times_out_with_one_clear_line(
    silent_server: int, monkeypatch: pytest.MonkeyPatch, kube_home: Path
) -> None:
    monkeypatch.setenv("KUBE_GIT_TIMEOUT", "2")
    started = time.monotonic()
    with pytest.raises(ArchiveError, match="did not finish within 2s") as caught:
        archive.update(f"https://127.0.0.1:{silent_server}/kubes.git")
    assert time.monotonic() - started < 20
    assert "\n" not in caught.value.message
    assert not (kube_home / "archive").exists() and not (kube_home / "archive.new").exists()


def test_unreachable_server_fails_with_one_clear_line() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    with pytest.raises(ArchiveError, match=r"cannot clone .*127\.0\.0\.1"):
        archive.update(f"https://127.0.0.1:{port}/kubes.git")


def test_directory_that_is_not_a_git_repository_fails_and_keeps_the_archive(
    remote_archive: Path, kube_home: Path, tmp_path: Path
) -> None:
    archive.update(str(remote_archive))
    (tmp_path / "plain").mkdir()
    with pytest.raises(ArchiveError, match="cannot clone"):
        archive.update(str(tmp_path / "plain"))
    assert_consistent(kube_home, remote_archive)


def test_tree_entry_named_dotdot_is_refused_and_the_archive_kept(
    remote_archive: Path, kube_home: Path
) -> None:
    archive.update(str(remote_archive))
    blob = subprocess.run(
        ["git", "-C", str(remote_archive), "hash-object", "-w", "--stdin"],
        input="name: x\n",
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()

    def mktree(lines: str) -> str:
        return subprocess.run(
            ["git", "-C", str(remote_archive), "mktree"],
            input=lines,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    evil = mktree(f"100644 blob {blob}\tK3.yaml\n")
    formulas = mktree(f"040000 tree {evil}\t..\n")
    root = mktree(f"040000 tree {formulas}\tformulas\n")
    bad = git(remote_archive, "commit-tree", root, "-p", "HEAD", "-m", "evil").strip()
    good = head(remote_archive)
    git(remote_archive, "update-ref", "refs/heads/main", bad)
    with pytest.raises(ArchiveError, match=r"\.\."):
        archive.update()
    git(remote_archive, "update-ref", "refs/heads/main", good)
    assert_consistent(kube_home, remote_archive)


def test_symlinked_formulas_are_reported_and_never_followed(remote_archive: Path, kube_home: Path) -> None:
    os.symlink("/etc", remote_archive / "formulas" / "evil")
    commit(remote_archive, formula_files("leaky"), "symlinks")
    os.symlink("/etc/passwd", remote_archive / "formulas/leaky/manifests/passwd.yaml")
    commit(remote_archive, {}, "more")
    report = archive.update(str(remote_archive))
    paths_warned = {w.path for w in report.warnings}
    assert {"formulas/evil", "formulas/leaky"} <= paths_warned
    loaded = index.load_index()
    assert loaded.get("evil") is None
    leaky = loaded.get("leaky")
    assert leaky is not None and not leaky.valid
    with pytest.raises(NotFoundError):
        archive.formula_dir("evil")


@pytest.mark.parametrize(
    "k3",
    [
        pytest.param("name: bad\nname: bad\n", id="duplicate-keys"),
        pytest.param(
            "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
            "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
            "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n",
            id="alias-bomb",
        ),
        pytest.param(
            "name: bad\nversion: 1.10\nhome: https://x.io\ndescription: d\nmaintainers: [A <a@b.c>]\n",
            id="float-version",
        ),
        pytest.param("name: bad\ndescription: \x1b]0;pwned\x07\x1b[31mred\n", id="escape-sequences"),
        pytest.param("name: bad\n" + "x: y\n" * 10_500_000, id="50MB"),
    ],
)
def test_bad_k3_yaml_does_not_break_the_update(remote_archive: Path, kube_home: Path, k3: str) -> None:
    archive.update(str(remote_archive))
    commit(remote_archive, {"formulas/bad/K3.yaml": k3})
    report = archive.update()
    assert report.new == (("bad", ""),)
    assert [w.path for w in report.warnings] == ["formulas/bad"]
    bad = index.load_index().get("bad")
    assert bad is not None and not bad.valid and bad.problems
    assert_consistent(kube_home, remote_archive)


def test_formula_dir_rejects_names_that_are_paths(remote_archive: Path) -> None:
    archive.update(str(remote_archive))
    for name in ("..", "../archive", "nginx/..", "/etc"):
        with pytest.raises(NotFoundError):
            archive.formula_dir(name)
    assert archive.formula_dir("nginx").name == "nginx"


def test_unknown_formula_suggests_close_names(remote_archive: Path) -> None:
    archive.update(str(remote_archive))
    with pytest.raises(NotFoundError, match="did you mean nginx") as caught:
        archive.formula_dir("ngnix")
    assert "kube update" in (caught.value.hint or "")


# --- two writers, and kills ------------------------------------------------------------------


def test_two_updates_at_once_both_finish_with_one_archive(remote_archive: Path, kube_home: Path) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "kube", "update", "--repo", str(remote_archive)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert sorted(out.splitlines()[-1].split(" ")[0] for out, _ in outputs) == ["Already", "Cloned"]
    assert_consistent(kube_home, remote_archive)
    commit(remote_archive, formula_files("redis", "7.0.0"))
    procs = [
        subprocess.Popen([sys.executable, "-m", "kube", "update"], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    assert [p.wait(timeout=180) for p in procs] == [0, 0]
    assert_consistent(kube_home, remote_archive)


# Where a stage falls: just before or just after a git command (a stand-in for git on PATH stops
# there), or just after kube renames a clone into place (strace holds kube at that rename's exit).
GIT_STAGES = {
    "after-clone": ("clone", "after"),
    "after-fetch": ("fetch", "after"),
    "before-checkout": ("reset", "before"),
    "after-checkout": ("reset", "after"),
    "after-index": ("gc", "before"),
}
MOVE_STAGES = {"after-move-old": "archive", "after-move-new": "archive.new"}  # the rename's source

STOPPING_GIT = """#!/bin/sh
# Stands in for git: runs the real one, but stops at one command ({sub}, {when} it runs),
# leaving a sleeping process that holds whatever git held (the guard's lock).
sub=
skip=
for a in "$@"; do
  if [ -n "$skip" ]; then skip=; continue; fi
  case "$a" in
    -c|-C) skip=1 ;;
    -*) ;;
    *) sub=$a; break ;;
  esac
done
stop() {{ echo $$ > "{marker}.tmp" && mv "{marker}.tmp" "{marker}"; exec sleep 3600; }}
[ "$sub" = "{sub}" ] && [ {when} = before ] && stop
"{real}" "$@"
rc=$?
[ "$sub" = "{sub}" ] && [ {when} = after ] && [ $rc = 0 ] && stop
exit $rc
"""


def _wait_for(check: object, proc: subprocess.Popen[bytes], stage: str) -> None:
    deadline = time.monotonic() + 120
    while not check():  # type: ignore[operator]
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline, f"never reached {stage}"
        time.sleep(0.02)


def kill_at(stage: str, tmp_path: Path, *args: str) -> None:
    """Run `kube update` until it reaches ``stage``, then SIGKILL it (and what it left running)."""
    command = [sys.executable, "-m", "kube", "update", *args]
    if stage in MOVE_STAGES:
        import shutil

        strace = shutil.which("strace")
        if strace is None:
            pytest.skip("strace is not installed: it holds kube right after the rename under test")
        home = Path(os.environ["KUBE_HOME"])
        source = home / MOVE_STAGES[stage]
        renames = "rename,renameat,renameat2"
        command = [strace, "-qq", "-o", os.devnull, "-P", str(source), "-e", f"trace={renames}"]
        command += ["-e", f"inject={renames}:delay_exit=120000000:when=1", sys.executable, "-m", "kube"]
        command += ["update", *args]
        proc = subprocess.Popen(command, stderr=subprocess.PIPE)
        old, new = home / "archive.old", home / "archive.new"
        # Both renames happen only once the new clone is complete: the old clone moved aside,
        # then (after-move-new) the new one moved into place.
        _wait_for(lambda: old.exists() and (stage == "after-move-old" or not new.exists()), proc, stage)
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        for child in children:  # kube itself, held by strace at the exit of its rename
            os.kill(int(child), signal.SIGKILL)
    else:
        import shutil

        sub, when = GIT_STAGES[stage]
        marker = tmp_path / f"paused-{stage}"
        bin_dir = tmp_path / f"stopping-git-{stage}"
        bin_dir.mkdir()
        wrapper = bin_dir / "git"
        real = shutil.which("git")
        assert real is not None
        wrapper.write_text(STOPPING_GIT.format(sub=sub, when=when, marker=marker, real=real))
        wrapper.chmod(0o755)
        env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
        proc = subprocess.Popen(command, env=env, stderr=subprocess.PIPE)
        _wait_for(marker.exists, proc, stage)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        os.kill(int(marker.read_text()), signal.SIGKILL)  # the stopped git, orphaned by the kill
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if proc.stderr:
        proc.stderr.close()


@pytest.mark.parametrize("stage", ["after-clone"])
def test_first_clone_killed_leaves_nothing_half_made(
    stage: str, remote_archive: Path, kube_home: Path, tmp_path: Path
) -> None:
    kill_at(stage, tmp_path, "--repo", str(remote_archive))
    assert not (kube_home / "archive").exists()
    result = run_kube("update", "--repo", str(remote_archive))
    assert result.returncode == 0, result.stderr
    assert_consistent(kube_home, remote_archive)


@pytest.mark.parametrize("stage", ["after-fetch", "before-checkout", "after-checkout", "after-index"])
def test_update_killed_at_any_step_leaves_a_usable_archive_and_the_next_update_repairs(
    stage: str, remote_archive: Path, kube_home: Path, tmp_path: Path
) -> None:
    archive.update(str(remote_archive))
    commit(remote_archive, {**formula_files("nginx", "1.11.0"), **formula_files("redis", "7.0.0")})
    kill_at(stage, tmp_path)
    # A reader right after the kill sees one consistent state (old or new), never a mix.
    shown = run_kube("info", "nginx")
    assert shown.returncode == 0, shown.stderr
    version = "1.11.0" if "1.11.0" in shown.stdout else "1.10.0"
    assert (kube_home / "archive/formulas/nginx/K3.yaml").read_text().count(version) >= 1
    result = run_kube("update")
    assert result.returncode == 0, result.stderr
    assert_consistent(kube_home, remote_archive)
    assert index.load_index().get("nginx").version == "1.11.0"  # type: ignore[union-attr]


@pytest.mark.parametrize("stage", ["after-clone", "after-move-old", "after-move-new"])
def test_reclone_killed_at_any_step_keeps_one_archive(
    stage: str, remote_archive: Path, kube_home: Path, tmp_path: Path
) -> None:
    archive.update(str(remote_archive))
    other = make_repo(tmp_path / "other", formula_files("redis", "7.0.0"))
    kill_at(stage, tmp_path, "--repo", str(other))
    shown = run_kube("search", "e")  # nginx/ponycorn (old archive) or redis (new one), consistently
    assert shown.returncode == 0, shown.stderr
    names = {line.split()[0] for line in shown.stdout.splitlines()[1:] if line.strip()}
    assert names in ({"nginx", "ponycorn"}, {"redis"})
    result = run_kube("update", "--repo", str(other))
    assert result.returncode == 0, result.stderr
    assert_consistent(kube_home, other)


def leftover_processes(kube_home: Path, *, wait: float = 10.0) -> list[int]:
    """Processes still running with this test's KUBE_HOME (Linux /proc): what a killed kube left."""
    marker = b"\0KUBE_HOME=" + str(kube_home).encode() + b"\0"
    deadline = time.monotonic() + wait
    while True:
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and int(entry.name) != os.getpid():
                try:
                    if marker in b"\0" + (entry / "environ").read_bytes():
                        found.append(int(entry.name))
                except OSError:
                    continue
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def big_formula(name: str, version: str) -> dict[str, str]:
    manifests = {f"m{j}.yaml": f"kind: {version}\n" * 200 for j in range(5)}
    return formula_files(name, version, manifests=manifests)


def test_update_killed_at_arbitrary_moments_is_repaired(kube_home: Path, tmp_path: Path) -> None:
    """Kills land wherever they land (fetch, the checkout of 1,800 files, indexing): no stage hook."""
    remote = make_repo(
        tmp_path / "big", {k: v for i in range(300) for k, v in big_formula(f"f{i:03d}", "1.0.0").items()}
    )
    archive.update(str(remote))
    commit(remote, {k: v for i in range(300) for k, v in big_formula(f"f{i:03d}", "2.0.0").items()})

    def back_to_the_old_commit() -> None:
        git(kube_home / "archive", "reset", "-q", "--hard", "HEAD~1")
        git(kube_home / "archive", "update-ref", "refs/remotes/origin/main", "HEAD")
        (kube_home / "index.json").unlink()
        archive.read_index()

    # Kill times are fractions of one whole update timed here, so that they fall inside an
    # update on a fast machine and on a loaded one alike.
    started = time.monotonic()
    assert run_kube("update").returncode == 0
    whole = time.monotonic() - started
    back_to_the_old_commit()
    interrupted = []
    for fraction in (0.15, 0.25, 0.35, 0.5, 0.65, 0.8, 0.95):
        proc = subprocess.Popen(
            [sys.executable, "-m", "kube", "update"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(fraction * whole)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        # In the middle: the new commit was fetched, but the index was not yet written for it.
        fetched = git(kube_home / "archive", "rev-parse", "refs/remotes/origin/main").strip() == head(remote)
        header = index.read_header()
        interrupted.append(fetched and (header is None or header.commit != head(remote)))
        result = run_kube("update")
        assert result.returncode == 0, (fraction, result.stderr)
        assert_consistent(kube_home, remote)
        if Path("/proc/self/environ").exists():
            assert leftover_processes(kube_home) == [], "a killed kube left processes behind"
        loaded = index.load_index()
        assert {loaded.raw[name]["version"] for name in loaded.names()} == {"2.0.0"}
        back_to_the_old_commit()  # and an index for it, for the next round
    assert any(interrupted), f"no kill landed in the middle of a {whole:.2f}s update: this proved nothing"


def test_default_archive_of_a_source_checkout_is_the_checkout_with_its_formulas() -> None:
    """Tests run from the project's checkout: kube update with nothing configured uses it."""
    from kube.core import paths

    checkout = Path(paths.__file__).resolve().parents[2]
    source = archive.resolve_source()
    assert source.origin == "default"
    assert source.url == str(checkout)
    assert (Path(source.url) / "formulas" / "etcd-standalone" / "K3.yaml").is_file()


def test_search_and_info_read_the_lookup_copy_while_it_matches_the_index(
    remote_archive: Path, kube_home: Path
) -> None:
    from kube.archive.lookup import LookupIndex

    archive.update(str(remote_archive))
    assert (kube_home / "index.sqlite").is_file()
    fast = archive.read_index()
    assert isinstance(fast, LookupIndex)
    assert fast.header == index.load_index().header
    stale = (kube_home / "index.json").read_bytes()
    commit(remote_archive, formula_files("redis", "7.0.0"))
    archive.update()
    assert archive.read_index().get("redis") is not None
    # An index written without its lookup copy (a kube killed between the two): never the old copy.
    sqlite_of_new = (kube_home / "index.sqlite").read_bytes()
    archive.update()
    (kube_home / "index.json").write_bytes(stale)
    (kube_home / "index.sqlite").write_bytes(sqlite_of_new)
    found = archive.read_index()
    assert found.get("redis") is None and not isinstance(found, LookupIndex)
    assert isinstance(archive.read_index(), LookupIndex)  # written again from index.json
