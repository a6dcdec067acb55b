"""Running ``git`` for the archive: which URLs it may see, and how it is started.

Nothing from a URL, branch or formula name reaches git as an option: URLs are
checked against an allow-list before git is started, and every argv puts
``--`` before them. Git itself is also told to refuse other transports
(``GIT_ALLOW_PROTOCOL``), never to prompt, and to give up on a stalled
transfer; ``kube.process`` kills it after a deadline (``KUBE_GIT_TIMEOUT``).

Commands that change the clone run under a small guard that holds
``$KUBE_HOME/.lock-git`` for as long as git runs. If kube is killed, git is
orphaned and keeps going; the next kube takes the guard before it repairs
anything, so it never races a git that is still writing.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from kube.core import paths
from kube.core.errors import ArchiveError, ProcessError, ProcessTimeout, UsageError

if TYPE_CHECKING:
    from kube.core.process import Completed

DEFAULT_TIMEOUT = 300.0  # http.lowSpeed* does not cover a TLS handshake that never completes
ALLOWED = "https://, ssh://, git@host:path, file:// or a local path"
_SCP = re.compile(r"^(?P<user>[A-Za-z0-9._~+]+)@(?P<host>[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):(?P<path>.+)$")
_BRANCH = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._/+-]*$")
_CONFIG = (
    "protocol.allow=never",
    "protocol.https.allow=always",
    "protocol.ssh.allow=always",
    "protocol.file.allow=always",
    "protocol.ext.allow=never",
    "http.lowSpeedLimit=1000",
    "http.lowSpeedTime=30",
    "core.hooksPath=/dev/null",
    "submodule.recurse=false",
    "advice.detachedHead=false",
    "gc.auto=0",
    "transfer.fsckObjects=true",  # rejects trees holding "..", ".git" and the like before they land
)
# Holds an inherited flock on argv[1] for the life of the git it execs.
_GUARD = (
    "import fcntl,os,sys\n"
    "fd=os.open(sys.argv[1],os.O_RDWR|os.O_CREAT,0o600)\n"
    "fcntl.flock(fd,fcntl.LOCK_EX)\n"
    "os.set_inheritable(fd,True)\n"
    "os.execvp(sys.argv[2],sys.argv[2:])\n"
)


def _reject(url: str, why: str) -> UsageError:
    return UsageError(f"repository URL {display_url(url)!r} is not allowed: {why}", hint=f"use {ALLOWED}")


def validate_url(url: str) -> str:
    """The URL git may be given, normalised (local paths made absolute); UsageError otherwise."""
    if not url:
        raise _reject(url, "it is empty")
    try:
        url.encode("utf-8")
    except UnicodeEncodeError:  # bytes the shell passed through undecoded (`--repo $'\\xff'`)
        raise _reject(url, "it holds bytes that are not UTF-8") from None
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise _reject(url, "it contains control characters")
    if url.startswith("-"):
        raise _reject(url, "it starts with '-' and would be read as a git option")
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    from urllib.parse import urlsplit

    if scheme in ("https", "ssh"):
        parts = urlsplit(url)
        host = parts.hostname or ""
        if not host or host.startswith("-") or (parts.username or "").startswith("-"):
            raise _reject(url, "the host is missing or starts with '-'")
        if any(ch.isspace() for ch in url):
            raise _reject(url, "it contains spaces")
        return url
    if scheme == "file":
        if not urlsplit(url).path:
            raise _reject(url, "the path is missing")
        return url
    if scheme:
        raise _reject(url, f"the {scheme}:// transport is not allowed")
    if "::" in url:
        raise _reject(url, "git remote helpers (`transport::address`) are not allowed")
    match = _SCP.match(url)
    if match:
        if match["host"].startswith("-") or match["path"].startswith("-"):
            raise _reject(url, "the host or path starts with '-'")
        return url
    colon, slash = url.find(":"), url.find("/")
    if colon != -1 and (slash == -1 or colon < slash):
        # git reads `host:path` as ssh; a local path with a colon must start with ./ or /
        raise _reject(url, "it is neither a URL nor a path git would read as local (write ./" + url + ")")
    return os.path.abspath(os.path.expanduser(url))


def validate_branch(branch: str) -> str:
    bad = (
        not _BRANCH.match(branch) or ".." in branch or "//" in branch or branch.endswith(("/", ".", ".lock"))
    )
    if bad:
        raise UsageError(
            f"branch name {branch!r} is not allowed", hint="use a plain branch name such as `main`"
        )
    return branch


def display_url(url: str) -> str:
    """The URL with any password or token removed, for messages and reports."""
    if "://" in url and "@" in url:
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        if parts.password is not None or (parts.username and parts.scheme == "https"):
            host = parts.hostname or ""
            if parts.port:
                host = f"{host}:{parts.port}"
            return parts._replace(netloc=f"***@{host}").geturl()
    return url


MAX_TIMEOUT = 86400.0  # `inf` or 1e308 overflowed the poll in subprocess (an internal error)


def timeout() -> float:
    try:
        value = float(os.environ.get("KUBE_GIT_TIMEOUT", DEFAULT_TIMEOUT))
    except ValueError:
        return DEFAULT_TIMEOUT
    return min(value, MAX_TIMEOUT) if value > 0 else DEFAULT_TIMEOUT  # nan is not > 0


# Inherited GIT_* variables are dropped: GIT_DIR, GIT_WORK_TREE, GIT_INDEX_FILE, GIT_OBJECT_DIRECTORY,
# GIT_CONFIG_* and the like, exported by a git hook, a worktree or a CI step, would point kube's git at
# the user's own repository (an update then moved it, and `--reset` cleaned its untracked files).
# Only the ssh transport the user chose is kept (keys, jump hosts, a wrapper), and the CA bundle
# for https through a TLS-inspecting proxy; neither can redirect git to another repository.
_KEPT_GIT_VARIABLES = frozenset(
    {"GIT_SSH", "GIT_SSH_COMMAND", "GIT_SSH_VARIANT", "GIT_SSL_CAINFO", "GIT_SSL_CAPATH"}
)


def environment() -> dict[str, str]:
    """The whole environment of every git kube runs: the user's, minus what would steer git.

    No system or global git config is read (``GIT_CONFIG_NOSYSTEM``, ``GIT_CONFIG_GLOBAL``):
    ``url.insteadOf``, ``core.worktree``, ``core.fsmonitor`` or an alias there would change
    what kube's git does. Credentials therefore come from the URL or from ssh (its agent and
    keys are untouched), never from a credential helper configured for the user."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("GIT_") or key in _KEPT_GIT_VARIABLES
    }
    env.update(
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_TERMINAL_PROMPT="0",
        GIT_ALLOW_PROTOCOL="file:https:ssh",
        GIT_OPTIONAL_LOCKS="0",
        GCM_INTERACTIVE="never",
        LC_ALL="C",
    )
    if "GIT_SSH_COMMAND" not in env and "GIT_SSH" not in env:
        env["GIT_SSH_COMMAND"] = "ssh -o BatchMode=yes -o ConnectTimeout=30"
    return env


def guard_file() -> Path:
    return paths.kube_home() / ".lock-git"


def argv(args: Sequence[str], *, guarded: bool = False, repo: Path | None = None) -> list[str]:
    """The full command line; with ``repo``, git is told exactly which repository and work tree
    to use, so nothing depends on discovery from the current directory (an archive whose ``.git``
    went missing must not let git find the user's repository above ``$KUBE_HOME``)."""
    command = ["git"]
    if repo is not None:
        command += [f"--git-dir={repo / '.git'}", f"--work-tree={repo}"]
    for setting in _CONFIG:
        command += ["-c", setting]
    command += list(args)
    if guarded:
        return [sys.executable, "-I", "-S", "-c", _GUARD, str(guard_file()), *command]
    return command


_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}


def unquote(path: str) -> str:
    """A path as git prints it, as the file name it is. Git C-quotes a name holding a quote,
    a backslash, a control or a non-ASCII byte (``"formulas/nginx/\\377.yaml"``); read as is,
    such a line named no formula, and the formula it changed kept its old index entry."""
    if len(path) < 2 or path[0] != '"' or path[-1] != '"':
        return path
    body, out, i = path[1:-1], bytearray(), 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if re.fullmatch("[0-7]{3}", body[i + 1 : i + 4]):
                out.append(int(body[i + 1 : i + 4], 8) & 0xFF)
                i += 4
                continue
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
                i += 2
                continue
        out += ch.encode("utf-8", "surrogateescape")
        i += 1
    return out.decode("utf-8", "surrogateescape")


def _reason(exc: ProcessError) -> str:
    lines = [ln.strip() for ln in (exc.stderr or exc.stdout).splitlines() if ln.strip()]
    first_error = [ln for ln in lines if ln.startswith("error:")][:1]
    fatal = [ln for ln in lines if ln.startswith("fatal:")][-1:]
    text = (first_error or fatal or lines or ["no output"])[0]
    return text.removeprefix("fatal: ").removeprefix("error: ")


def run(
    args: Sequence[str],
    *,
    what: str,
    repo: Path | None = None,
    cwd: Path | None = None,
    guarded: bool = False,
    check: bool = True,
    hint: str | None = None,
) -> str:
    """Run git and return its stdout; failures become one-line ArchiveErrors saying ``what`` failed.

    ``repo`` is the clone git works on (``--git-dir``/``--work-tree``, and its directory);
    ``cwd`` only where git needs no repository (a clone)."""
    return completed(args, what=what, repo=repo, cwd=cwd, guarded=guarded, check=check, hint=hint).stdout


def completed(
    args: Sequence[str],
    *,
    what: str,
    repo: Path | None = None,
    cwd: Path | None = None,
    guarded: bool = False,
    check: bool = True,
    hint: str | None = None,
) -> Completed:
    """``run``, returning the whole result (for commands whose exit code is the answer)."""
    from kube.core import process

    limit = timeout()
    try:
        done = process.run(
            argv(args, guarded=guarded, repo=repo),
            cwd=repo if repo is not None else cwd,
            env=environment(),
            timeout=limit,
            check=check,
        )
    except ProcessTimeout as exc:
        raise ArchiveError(
            f"{what}: git did not finish within {limit:g}s (the server may be unreachable or not answering)",
            hint=hint or "check the URL and your network; KUBE_GIT_TIMEOUT sets the limit in seconds",
        ) from exc
    except ProcessError as exc:
        if is_disk_full(exc.stderr or exc.stdout):
            raise disk_full(what, repo or cwd or paths.kube_home()) from exc
        raise ArchiveError(f"{what}: {_reason(exc)}", hint=hint) from exc
    except UnicodeDecodeError as exc:  # git quotes file names, but not every message it prints
        raise ArchiveError(f"{what}: git printed text that is not UTF-8", hint=hint) from exc
    return done


_DISK_FULL = ("No space left on device", "Disk quota exceeded")


def is_disk_full(text: str) -> bool:
    """Whether git failed for want of space (its messages are in English: ``LC_ALL=C``)."""
    return any(marker in text for marker in _DISK_FULL)


def disk_full(what: str, where: Path) -> ArchiveError:
    """The one line for a git that ran out of space: not "check your network"."""
    return ArchiveError(
        f"{what}: disk full at {where}",
        hint="free some space on that disk, then run `kube update` again",
    )


def remove_temporaries(root: Path, *, loose: bool = True) -> int:
    """Delete what a failed or killed git left in the clone's object store (``tmp_pack_*``,
    ``tmp_idx_*``, quarantined ``incoming-*`` directories, and with ``loose`` the ``tmp_obj_*``
    of loose objects): on a full disk they keep it full. Only call with the archive lock held
    and no git running. Returns the bytes freed."""
    import shutil

    objects = root / ".git" / "objects"
    freed = 0
    folders = [objects, objects / "pack"]
    if loose:
        with contextlib.suppress(OSError):
            folders += [Path(e.path) for e in os.scandir(objects) if len(e.name) == 2 and e.is_dir()]
    for folder in folders:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            if not entry.name.startswith(("tmp_", "incoming-")) or entry.is_symlink():
                continue
            path = Path(entry.path)
            freed += _size(path)
            if entry.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    path.unlink()
    return freed


def _size(path: Path) -> int:
    try:
        if not path.is_dir():
            return path.lstat().st_size
        return sum(p.lstat().st_size for p in path.rglob("*") if not p.is_dir())
    except OSError:
        return 0


def wait_for_orphans(limit: float = 120.0) -> None:
    """Block until no git started by an earlier (killed) kube is still running."""
    from filelock import FileLock, Timeout

    path = guard_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(path, thread_local=False, preserve_lock_file=True)
    try:
        lock.acquire(timeout=limit)
    except Timeout:
        raise ArchiveError(
            f"a git process from an earlier kube run still holds {path} after {limit:g}s",
            hint="wait for it to finish, then run `kube update` again",
        ) from None
    lock.release()
