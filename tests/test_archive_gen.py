"""The benchmark archive generator (benchmarks/archive_gen.py): the same size and seed give the
same repository, commit for commit, in both of its ways of committing (one formula per commit,
and batches above ``batch_from``). Real ``git fast-import`` runs, at small sizes; nothing is
timed."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from benchmarks.archive_gen import generate


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


@pytest.mark.parametrize("batch_from", [5000, 20])
def test_same_size_and_seed_give_the_same_commits(tmp_path: Path, batch_from: int) -> None:
    heads = [
        _git(generate(60, tmp_path / name, seed=seed, batch_from=batch_from), "rev-parse", "HEAD")
        for name, seed in (("a", 16), ("b", 16), ("c", 17))
    ]
    assert heads[0] == heads[1]
    assert heads[0] != heads[2]  # the seed matters: the comparison can fail


def test_batches_add_every_formula_and_only_change_paths(tmp_path: Path) -> None:
    one = generate(60, tmp_path / "one", batch_from=5000)
    batched = generate(60, tmp_path / "batched", batch_from=20)  # three formulas per commit
    names = sorted(p.name for p in (one / "formulas").iterdir())
    assert len(names) == 60
    assert sorted(p.name for p in (batched / "formulas").iterdir()) == names
    commits = int(_git(batched, "rev-list", "--count", "HEAD"))
    assert 20 < commits < int(_git(one, "rev-list", "--count", "HEAD"))
    adds = _git(batched, "log", "--format=%s", "--grep=^add ").splitlines()
    assert len(adds) == 20 and all(line.startswith("add 3 formulas: ") for line in adds)
    # No commit deletes anything, and every formula's K3.yaml names its own version in the tree.
    assert _git(batched, "log", "--diff-filter=D", "--name-only", "--format=") == ""
    bumped = 0
    for name in names:
        k3 = (batched / "formulas" / name / "K3.yaml").read_text()
        assert k3.startswith(f"name: {name}\nversion: ")
        bumped += not k3.split("\n")[1].endswith('.0"')
    assert bumped > 0  # the bumps are there, batched into "update ..." commits


def test_the_archive_serves_a_partial_clone(tmp_path: Path) -> None:
    repo = generate(20, tmp_path / "src")
    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "-q", "--filter=blob:none", "--no-checkout", repo.as_uri(), str(clone)], check=True
    )
    missing = _git(clone, "rev-list", "--objects", "--missing=print", "HEAD")
    assert any(line.startswith("?") for line in missing.splitlines())  # blobs left on the source
