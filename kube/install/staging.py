"""A private copy of a formula (the staged copy) that the hook runs in and rendering reads.

Kept apart from ``kube.install.hooks`` so that installing a formula without a hook never
loads the hook runner.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path

from kube.core.errors import FormulaError
from kube.formula.hook_needs import HOOK
from kube.formula.manifests import FORMULA_LIMIT

#: Largest formula copied to staging.
STAGE_LIMIT = FORMULA_LIMIT


def has_hook(staged_dir: Path) -> bool:
    """Whether the staged copy holds something at the hook's path (a symlink too: the hook
    runner refuses it)."""
    return os.path.lexists(staged_dir / HOOK)


def stage_formula(src: Path, dest_parent: Path) -> Path:
    """Copy the formula at ``src`` into a new private (0700) directory under
    ``dest_parent`` and return it. Symlinks, special files and anything that
    escapes the formula are refused (``FormulaError``)."""
    from kube.formula.load import formula_files

    files = formula_files(src)
    total = 0
    for path in files:
        total += path.lstat().st_size
        if total > STAGE_LIMIT:
            raise FormulaError(f"{src}: the formula is larger than {STAGE_LIMIT // (1024 * 1024)} MiB")
    dest_parent.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(prefix=f"{src.name}-", dir=dest_parent))
    for path in files:
        rel = path.relative_to(src)
        target = staged / rel
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        _copy_nofollow(src / rel, target)
    return staged


def _copy_nofollow(src: Path, dest: Path) -> None:
    fd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as reader:
        if not stat.S_ISREG(os.fstat(reader.fileno()).st_mode):
            raise FormulaError(f"{src}: is not a regular file")
        out = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        with os.fdopen(out, "wb") as writer:
            shutil.copyfileobj(reader, writer)
