"""The kube an archive needs: ``requires-kube`` in ``archive.yaml`` at the archive's root.

An archive may say which kube versions read it correctly, as a PEP 440
specifier (``requires-kube: ">=0.2"``), the way a package index tells an old
client to upgrade. kube's own version is a Python distribution's version, so
this is PEP 440 (``packaging``), not the SemVer of formula versions. A kube
that is too old, or an archive that says it badly, gets one warning; the update
itself still happens (formulas an old kube cannot read are reported by the
index as they always are).
"""

from __future__ import annotations

from pathlib import Path

from kube.core.errors import FormulaError

ARCHIVE_FILE = "archive.yaml"
UPGRADE = "pip install -U kube"
_LIMIT = 64 * 1024


def check(root: Path, running: str | None = None) -> str | None:
    """The warning for the archive at ``root`` and the running kube (``running``, default
    ``kube.__version__``); None when it has no ``requires-kube`` or this kube satisfies it."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import InvalidVersion, Version

    from kube.formula import yaml_strict

    if running is None:
        from kube import __version__

        running = __version__
    path = root / ARCHIVE_FILE
    if not path.exists() and not path.is_symlink():
        return None
    try:
        data = yaml_strict.load_one(
            yaml_strict.read_capped(path, limit=_LIMIT, display=ARCHIVE_FILE), source=ARCHIVE_FILE
        )
    except FormulaError as exc:
        return f"{exc.message}; kube cannot tell which kube versions this archive needs"
    if not isinstance(data, dict) or "requires-kube" not in data:
        return None
    value = data["requires-kube"]
    where = f"{ARCHIVE_FILE}:{yaml_strict.line_of(data, 'requires-kube')}"
    try:
        wanted = SpecifierSet(value if isinstance(value, str) else "\0")
    except InvalidSpecifier:
        return (
            f"{where}: requires-kube {str(value)!r} is not a PEP 440 version specifier "
            '(such as ">=0.2"); kube cannot tell whether it is new enough for this archive'
        )
    try:
        version = Version(running)
    except InvalidVersion:
        return None  # a kube built from a checkout with a local version string: nothing to compare
    if wanted.contains(version, prereleases=True):
        return None
    return f"this archive needs kube {value} ({where}), but this is kube {running}; upgrade with `{UPGRADE}`"
