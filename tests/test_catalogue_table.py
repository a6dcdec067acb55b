"""The README's catalogue table is generated from formulas/ and must match it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kube.archive.catalogue_table import END, START, table, updated
from kube.core.errors import FormulaError, UsageError
from tests.gitrepo import formula_files

ROOT = Path(__file__).resolve().parents[1]


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_the_readme_table_matches_the_archive() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "readme-catalogue"), "--check"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr  # run scripts/readme-catalogue after adding or changing a kube
    readme = (ROOT / "README.md").read_text()
    for formula in sorted(p.name for p in (ROOT / "formulas").iterdir() if p.is_dir()):
        assert f"| [{formula}](formulas/{formula}/README.md) |" in readme


def test_rows_come_from_k3_yaml(tmp_path: Path) -> None:
    write(tmp_path, formula_files("nginx", "1.10.0", description="web | server"))
    write(
        tmp_path,
        formula_files("ponycorn", "1.0.3", dependencies=[{"name": "nginx", "version": "1.9 < x <= 1.10"}]),
    )
    text = table(tmp_path / "formulas")
    assert text.startswith("2 kubes")
    assert "| [nginx](formulas/nginx/README.md) | 1.10.0 | web \\| server | — |" in text
    assert "| [ponycorn](formulas/ponycorn/README.md) | 1.0.3 |" in text
    assert "nginx `1.9 < x <= 1.10`" in text


def test_only_the_marked_block_is_replaced(tmp_path: Path) -> None:
    write(tmp_path, formula_files("nginx", "1.10.0"))
    readme = f"# Title\n\nbefore\n{START}\nstale\n{END}\nafter\n"
    new = updated(readme, tmp_path / "formulas")
    assert new.startswith(f"# Title\n\nbefore\n{START}\n\n1 kubes")
    assert new.endswith(f"\n\n{END}\nafter\n")
    assert "stale" not in new
    assert updated(new, tmp_path / "formulas") == new
    with pytest.raises(UsageError):
        updated("# no markers\n", tmp_path / "formulas")


def test_a_broken_formula_is_named(tmp_path: Path) -> None:
    write(tmp_path, formula_files("nginx", "1.10.0"))
    (tmp_path / "formulas" / "nginx" / "K3.yaml").write_text("name: nginx\nversion: latest\n")
    with pytest.raises(FormulaError, match="cannot list nginx"):
        table(tmp_path / "formulas")
