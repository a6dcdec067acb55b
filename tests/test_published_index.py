"""The published index (issue 16): an archive's CI publishes its search index on the branch
``kube-index`` with ``kube index publish``; a first ``kube update`` uses it when it describes
the fetched commit or an ancestor of it, and builds the index itself otherwise.

Every source here is a real git repository; the hostile branches are written with git's own
plumbing, not with kube's code. "The same index" is checked against an update of the same
source in another ``KUBE_HOME`` with no published branch: what a local build gives.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kube.archive import index, published
from kube.archive import update as archive
from kube.core.errors import UsageError
from tests.gitrepo import GIT_ENV, commit, formula_files, git, make_repo, replace_history


def _files() -> dict[str, str | bytes | None]:
    files: dict[str, str | bytes | None] = {"README.md": "The archive\n"}
    files.update(formula_files("nginx", "1.10.0", keywords=["web"], details="A web server."))
    files.update(
        formula_files("ponycorn", "1.0.3", dependencies=[{"name": "nginx", "version": "1.9 < x <= 1.10"}])
    )
    files["formulas/broken/K3.yaml"] = "name: broken\nversion: [not, a, version]\n"  # indexed as invalid
    files["formulas/Bad-Name/K3.yaml"] = "name: bad\n"  # skipped with a warning
    return files


@pytest.fixture(params=["partial", "full"])
def source(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """An archive served with partial clone, and one without (kube then clones it in full)."""
    repo = make_repo(tmp_path / "src", _files())
    os.symlink("/etc", repo / "formulas" / "evil")  # skipped with a warning, never followed
    commit(repo, {}, "a symlink")
    if request.param == "partial":
        git(repo, "config", "uploadpack.allowFilter", "true")
    return repo


def _use_home(name: str) -> None:
    os.environ["KUBE_HOME"] = str(Path(os.environ["HOME"]) / name)


def _entries() -> dict[str, object]:
    loaded = index.load_index()
    return {n: json.loads(line) for n in loaded.names() if (line := loaded.line(n)) is not None}


def _local_build(source: Path) -> tuple[dict[str, object], list[str]]:
    """Entries and warnings of an update of ``source`` without its published branch."""
    bare = source.parent / f"{source.name}-unpublished.git"
    if not bare.exists():
        git(source.parent, "clone", "-q", "--bare", "--no-local", str(source), str(bare))
        if git(bare, "branch", "--list", published.BRANCH).strip():
            git(bare, "branch", "-D", published.BRANCH)
    saved = os.environ["KUBE_HOME"]
    _use_home("local-build")
    try:
        report = archive.update(f"file://{bare}")
        assert report.rebuilt == "full"
        return _entries(), [f"{w.path} {w.message}" for w in report.warnings]
    finally:
        os.environ["KUBE_HOME"] = saved


def _write_branch(repo: Path, files: dict[str, bytes], *, mode: str = "100644") -> None:
    """Point ``kube-index`` at a parentless commit holding ``files``, with git plumbing."""
    env = {**os.environ, **GIT_ENV}
    rows = []
    for name, data in files.items():
        blob = (
            subprocess.run(
                ["git", "-C", str(repo), "hash-object", "-w", "--stdin"],
                input=data,
                capture_output=True,
                check=True,
                env=env,
            )
            .stdout.decode()
            .strip()
        )
        kind = "tree" if mode == "040000" else "blob"
        rows.append(f"{mode} {kind} {blob}\t{name}\n")
    tree = (
        subprocess.run(
            ["git", "-C", str(repo), "mktree"],
            input="".join(rows).encode(),
            capture_output=True,
            check=True,
            env=env,
        )
        .stdout.decode()
        .strip()
    )
    made = git(repo, "commit-tree", tree, "-m", "index").strip()
    git(repo, "update-ref", f"refs/heads/{published.BRANCH}", made)


def _published_bytes(repo: Path) -> bytes:
    return subprocess.run(
        ["git", "-C", str(repo), "cat-file", "blob", f"{published.BRANCH}:{published.FILE}"],
        capture_output=True,
        check=True,
    ).stdout


def _note(report: archive.UpdateReport, start: str) -> str:
    found = [n for n in report.notes if n.startswith(start)]
    assert found, report.notes
    return found[0]


def test_first_update_uses_the_index_published_for_its_commit(source: Path) -> None:
    done = published.publish(source)
    head = git(source, "rev-parse", "HEAD").strip()
    assert (done.described, done.count, done.invalid) == (head, 3, 1)
    assert git(source, "rev-parse", published.BRANCH).strip() == done.commit
    assert git(source, "ls-tree", "--name-only", done.commit).split() == [published.FILE]
    # A file on its own: the branch has no history and no other file.
    assert git(source, "rev-list", "--count", published.BRANCH).strip() == "1"

    report = archive.update(f"file://{source}")
    assert report.rebuilt == "published"
    assert _note(report, "used the search index the archive published") == (
        f"used the search index the archive published for {head[:8]}"
    )
    got, warnings = _entries(), sorted(f"{w.path} {w.message}" for w in report.warnings)
    want, want_warnings = _local_build(source)
    assert got == want
    assert warnings == sorted(want_warnings)
    assert any("formulas/broken" in w for w in warnings) and any("formulas/evil" in w for w in warnings)
    header = index.read_header()
    assert header is not None and header.url == f"file://{source}" and header.commit == head
    # The fetched branch is not kept in the clone.
    clone = Path(os.environ["KUBE_HOME"]) / "archive"
    assert published.LOCAL_REF not in git(clone, "for-each-ref", "--format=%(refname)")
    assert [e.name for e in archive.read_index().search("web")] == ["nginx"]


def test_an_index_of_an_ancestor_is_used_and_what_changed_since_is_read(source: Path) -> None:
    published.publish(source)
    old = git(source, "rev-parse", "HEAD").strip()
    changes: dict[str, str | bytes | None] = dict(formula_files("redis", "7.0.0", keywords=["cache"]))
    changes.update(formula_files("nginx", "1.11.0", keywords=["web"]))
    changes["formulas/ponycorn"] = None
    commit(source, changes, "redis, nginx 1.11.0, no ponycorn")

    report = archive.update(f"file://{source}")
    assert report.rebuilt == "published"
    assert _note(report, "used the search index") == (
        f"used the search index the archive published for {old[:8]}, and read what changed since"
    )
    got = _entries()
    assert sorted(got) == ["broken", "nginx", "redis"]
    assert got == _local_build(source)[0]
    nginx = archive.read_index().get("nginx")
    assert nginx is not None and nginx.version == "1.11.0"


def test_an_index_of_another_history_is_not_used(source: Path) -> None:
    published.publish(source)
    head = git(source, "rev-parse", "HEAD").strip()
    replace_history(source, formula_files("nginx", "9.0.0"), "another history")

    report = archive.update(f"file://{source}")
    assert report.rebuilt == "full"
    note = _note(report, "the archive's published search index was not used")
    assert f"it describes {head[:8]}, which is not part of the branch" in note
    assert _entries() == _local_build(source)[0]


def _forged(source: Path, edit: object) -> bytes:
    """The index ``publish`` writes for ``source``, its entries changed by ``edit`` and its
    header recomputed (so the CRC is right and only the content lies)."""
    published.publish(source)
    real = index.parse(_published_bytes(source), Path("x"))
    entries: dict[str, object] = {n: json.loads(real.line(n) or b"") for n in real.names()}
    assert callable(edit)
    edit(entries)
    return index.encode(url="", branch="main", commit=real.header.commit, entries=entries)  # type: ignore[arg-type]


def _ghost(entries: dict[str, object]) -> None:
    entries["ghost"] = {"name": "ghost", "version": "1.0.0", "valid": True}


def _bad_keywords(entries: dict[str, object]) -> None:
    entries["nginx"] = {**entries["nginx"], "keywords": 7}  # type: ignore[dict-item]


def _bad_dependencies(entries: dict[str, object]) -> None:
    entries["ponycorn"] = {**entries["ponycorn"], "dependencies": [["nginx"]]}  # type: ignore[dict-item]


def _dropped(entries: dict[str, object]) -> None:
    del entries["nginx"]


@pytest.mark.parametrize(
    ("edit", "why"),
    [
        (_ghost, "its kubes are not the formulas of"),
        (_dropped, "its kubes are not the formulas of"),
        (_bad_keywords, "its entry for nginx has a keywords that is not a list of text"),
        (_bad_dependencies, "its entry for ponycorn has dependencies that are not (name, range) pairs"),
    ],
)
def test_a_published_index_that_lies_about_its_shape_is_not_used(
    source: Path, edit: object, why: str
) -> None:
    _write_branch(source, {published.FILE: _forged(source, edit)})
    report = archive.update(f"file://{source}")
    assert report.rebuilt == "full"
    assert why in _note(report, "the archive's published search index was not used")
    assert _entries() == _local_build(source)[0]


def test_damaged_oversized_and_misshapen_branches_are_not_used(source: Path) -> None:
    published.publish(source)
    good = _published_bytes(source)
    cases: list[tuple[dict[str, bytes], str, str]] = [
        ({published.FILE: good[:-10]}, "100644", "it is damaged or of another schema"),
        ({published.FILE: good.replace(b'"schema":1', b'"schema":99', 1)}, "100644", "another schema"),
        ({"other.json": good}, "100644", f"does not hold a plain file {published.FILE}"),
        ({published.FILE: b"x"}, "120000", f"does not hold a plain file {published.FILE}"),
        (
            {published.FILE: b" " * (published.BASE_LIMIT + 3 * published.PER_FORMULA_LIMIT + 1)},
            "100644",
            "bytes are more",
        ),
    ]
    want = None
    for number, (files, mode, why) in enumerate(cases):
        _write_branch(source, files, mode=mode)
        _use_home(f"case-{number}")
        report = archive.update(f"file://{source}")
        assert report.rebuilt == "full", why
        assert why in _note(report, "the archive's published search index was not used")
        want = want or _local_build(source)[0]
        assert _entries() == want


def test_the_published_index_serves_search_and_info_only(source: Path, tmp_path: Path) -> None:
    """An index that lies about a formula's content (its shape being right) changes what search
    and info say, which the archive's owner controls anyway; what is installed or copied out
    is read from the formula itself."""

    def lie(entries: dict[str, object]) -> None:
        entries["nginx"] = {**entries["nginx"], "version": "9.9.9"}  # type: ignore[dict-item]

    _write_branch(source, {published.FILE: _forged(source, lie)})
    archive.update(f"file://{source}")
    nginx = archive.read_index().get("nginx")
    assert nginx is not None and nginx.version == "9.9.9"
    from kube.formula.load import load_formula

    assert str(load_formula(archive.formula_dir("nginx")).version) == "1.10.0"


def test_an_archive_without_a_published_index_says_nothing_about_one(source: Path) -> None:
    report = archive.update(f"file://{source}")
    assert report.rebuilt == "full"
    assert not [n for n in report.notes if "published" in n]


def test_publish_refuses_a_checkout_with_changes_and_is_repeatable(source: Path) -> None:
    first = published.publish(source)
    again = published.publish(source)
    assert again.commit == first.commit and again.unchanged and not first.unchanged
    (source / "formulas/nginx/K3.yaml").write_text("name: nginx\nversion: 2.0.0\n")
    with pytest.raises(
        UsageError, match=r"changes under formulas/ that HEAD does not hold: formulas/nginx/K3.yaml"
    ):
        published.publish(source)
    git(source, "checkout", "-q", "--", "formulas")
    (source / "formulas/new").mkdir()
    (source / "formulas/new/K3.yaml").write_text("name: new\n")
    with pytest.raises(UsageError, match=r"formulas/new/K3\.yaml"):
        published.publish(source)
    with pytest.raises(UsageError, match=r"branch"):
        published.publish(source, branch="-rf")
    git(source, "checkout", "-q", "--", ".")
    git(source, "clean", "-qfd")


@pytest.mark.parametrize("branch", ["main", "work"])
def test_publish_never_replaces_a_branch_that_is_not_an_index(source: Path, branch: str) -> None:
    git(source, "branch", "work")
    tips = git(source, "for-each-ref", "--format=%(refname) %(objectname)")
    with pytest.raises(UsageError, match=f"branch {branch} of .* is not a published index"):
        published.publish(source, branch=branch)
    assert git(source, "for-each-ref", "--format=%(refname) %(objectname)") == tips


def test_cli_publish_then_update(source: Path) -> None:
    env = dict(os.environ)
    run = subprocess.run(
        [sys.executable, "-m", "kube", "index", "publish", str(source)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert run.returncode == 0, run.stderr
    head = git(source, "rev-parse", "HEAD").strip()
    assert run.stdout.startswith("refs/heads/kube-index written: ")
    assert f"holds the index of {head[:8]}, 3 kubes (1 invalid)" in run.stdout
    assert "git push --force origin kube-index" in run.stderr
    shown = subprocess.run(
        [sys.executable, "-m", "kube", "update", "--repo", f"file://{source}", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["index"] == "published"
    outside = subprocess.run(
        [sys.executable, "-m", "kube", "index", "publish", str(source / "formulas")],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert outside.returncode == 2
    assert outside.stderr.startswith("Error: ") and len(outside.stderr.splitlines()) == 1
