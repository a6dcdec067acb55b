"""Where kube keeps its local state (``$KUBE_HOME``) and the names of its files.

Default ``${XDG_DATA_HOME:-~/.local/share}/kube``; never ``~/.kube``, which
belongs to kubectl.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

DEFAULT_REPO = "https://github.com/kube-archive/kube.git"
FORMULAS_DIR = "formulas"
METADATA_FILE = "K3.yaml"


def default_repo() -> str:
    """The archive used when nothing names one.

    Run from a source checkout (``make install``), kube uses that checkout: it
    holds ``formulas/``, works offline and matches the code. Installed from a
    package, it uses the project's published repository.
    """
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / FORMULAS_DIR).is_dir() and (checkout / ".git").exists():
        return str(checkout)
    return DEFAULT_REPO


def kube_home() -> Path:
    """``$KUBE_HOME`` (a relative one is taken from the directory kube started in, as git takes
    ``GIT_DIR``: a clone made at a relative path would land elsewhere), else
    ``$XDG_DATA_HOME/kube`` (a relative one is ignored, as the XDG spec says), else
    ``~/.local/share/kube``."""
    explicit = os.environ.get("KUBE_HOME")
    if explicit:
        return Path(os.path.abspath(Path(explicit).expanduser()))
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg and os.path.isabs(xdg) else Path.home() / ".local" / "share"
    return base / "kube"


def check_home() -> Path:
    """``kube_home()`` when kube can use it: a directory, or one that can be made.

    Raises UsageError (one line) when it is a file, sits below a file, or is not UTF-8 (it is
    printed, and given to git)."""
    from kube.core.errors import UsageError

    home = kube_home()
    name = "KUBE_HOME" if os.environ.get("KUBE_HOME") else "kube's home directory"
    hint = "set KUBE_HOME to a directory (or move what is in the way)"
    text = str(home)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError(
            f"{name} {text!r} holds bytes that are not UTF-8",
            hint="set KUBE_HOME to a directory with a UTF-8 name",
        ) from None
    if home == Path(home.anchor):
        raise UsageError(f"{name} {home} is the filesystem's root", hint="give kube a directory of its own")
    if not os.environ.get("KUBE_HOME") and not os.environ.get("XDG_DATA_HOME"):
        user_home = Path.home()
        if not user_home.is_dir():
            # HOME=/nonexistent is how daemon accounts say they have none: never made here.
            raise UsageError(
                f"your home directory {user_home} does not exist, and kube keeps its state in it",
                hint="set KUBE_HOME to a directory for kube's state",
            )
    probe = home
    while True:
        try:
            mode = os.stat(probe).st_mode  # a KUBE_HOME that is a link to a directory is fine
        except (FileNotFoundError, NotADirectoryError):
            if probe.parent == probe:
                return home
            probe = probe.parent
            continue
        except OSError as exc:
            raise UsageError(f"{name} {home} cannot be used: {exc.strerror}", hint=hint) from None
        if stat.S_ISDIR(mode):
            return home
        kind = "a file" if stat.S_ISREG(mode) else "not a directory"
        if probe == home:
            raise UsageError(f"{name} {home} is {kind}", hint=hint)
        raise UsageError(f"{name} {home} cannot be created: {probe} is {kind}", hint=hint)


def config_file() -> Path:
    return kube_home() / "config.yaml"


def archive_dir() -> Path:
    return kube_home() / "archive"


def formulas_in(root: Path) -> Path | None:
    """``root/formulas`` when it is a directory itself; None when it is missing, a file or a symlink.

    An archive comes from strangers: a ``formulas`` committed as a symlink (to ``/etc``, to ``/``)
    must not turn indexing, ``info``, ``get`` or ``install`` into reads outside the clone."""
    path = root / FORMULAS_DIR
    try:
        return path if stat.S_ISDIR(os.lstat(path).st_mode) else None
    except OSError:
        return None


def index_file() -> Path:
    return kube_home() / "index.json"


def workspace_dir() -> Path:
    return kube_home() / "workspace"


def lock_file() -> Path:
    return kube_home() / ".lock"


def log_dir() -> Path:
    return kube_home() / "log"


def atomic_write(path: Path, data: bytes, mode: int | None = None) -> None:
    """Replace ``path`` with ``data``: a reader sees the old file or the new one (a temporary
    file beside it, flushed to disk, then renamed over it). The file is the user's alone
    (0600) unless ``mode`` says otherwise."""
    import contextlib
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
