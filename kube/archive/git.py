"""Every git the archive runs: which URLs it may see, and how git is started.

GitPython is the engine: clone (``Repo.clone_from``), fetch (``Remote.fetch``),
the fast-forward (``HEAD.reset``), diffs with rename detection (``Diff``
objects read from ``-z`` output), ancestry, status and history go through its
``Repo`` and ``Git`` objects, so kube parses no diff or status text of its own.
How each git is *started* stays kube's (``KubeGit.execute``, below): GitPython's
own ``Git.execute`` copies ``os.environ`` into every child and its
``kill_after_timeout`` ends only the child and the descendants ``pgrep`` finds,
never the process group, and does nothing for streamed calls (clone, fetch,
diff). So a plain call runs through ``kube.core.process`` and a streamed one is
started in its own session with a watchdog; at the deadline
(``KUBE_GIT_TIMEOUT``) the whole group is killed either way.

Nothing from a URL, branch or formula name reaches git as an option: URLs are
checked against an allow-list before git is started, GitPython's own checks
stay on (``allow_unsafe_protocols=False``, ``allow_unsafe_options=False``) and
every command puts ``--`` before its operands. Git itself is also told to
refuse other transports (``GIT_ALLOW_PROTOCOL``), never to prompt, and to give
up on a stalled transfer; it runs with an explicit environment in which no
inherited ``GIT_*`` variable can point it at another repository.

Commands that change the clone run under a small guard that holds
``$KUBE_HOME/.lock-git`` for as long as git runs. If kube is killed, git is
orphaned and keeps going; the next kube takes the guard before it repairs
anything, so it never races a git that is still writing.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from kube.archive.index import SHA_RE
from kube.core import paths
from kube.core.errors import ArchiveError, ProcessError, ProcessTimeout, UsageError

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
    from kube.core.durations import env_seconds

    value = env_seconds("KUBE_GIT_TIMEOUT", DEFAULT_TIMEOUT)
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


# --- the engine: GitPython, started kube's way ----------------------------------------------------
#
# GitPython builds the command lines and reads what git gives back (refs, objects through
# ``cat-file --batch``, trees, fetch results); kube decides how each git is started. Its own ``Git.execute``
# cannot do that: it copies ``os.environ`` into every child (inherited GIT_* included, and
# ``update_environment`` can add variables but never remove one), and ``kill_after_timeout``
# kills the child and the descendants ``pgrep`` finds, not the process group, and nothing at
# all for a process started with ``as_process=True`` (clone, fetch, diff). So ``KubeGit``
# overrides ``execute``: a plain call runs through ``kube.core.process`` (the environment of
# ``environment()``, its own session, the deadline after which the whole group is killed); a
# streamed one (``as_process``) is started the same way, with a watchdog that kills its group
# at the deadline.
#
# ``Repo.__init__`` also reads GIT_DIR, GIT_WORK_TREE, GIT_COMMON_DIR and GIT_OBJECT_DIRECTORY
# from ``os.environ`` to find refs and objects; ``KubeRepo`` hides them while it opens a clone.


class _State:
    guarded = False  # inside ``guarded()``: commands that change the clone hold the git guard
    expired = False  # a watchdog killed a streamed git at its deadline


_state = _State()
_DISCOVERY = ("GIT_DIR", "GIT_WORK_TREE", "GIT_COMMON_DIR", "GIT_OBJECT_DIRECTORY")


@contextlib.contextmanager
def guarded() -> Iterator[None]:
    """Every git started inside holds ``$KUBE_HOME/.lock-git`` for as long as it runs."""
    if not _state.guarded:
        _check_guard_file()
    before, _state.guarded = _state.guarded, True
    try:
        yield
    finally:
        _state.guarded = before


def _check_guard_file() -> None:
    """ArchiveError, one line naming it, when the guard file cannot be opened as the guard
    opens it (a directory, no permission): the guard's own traceback would be git's "error"."""
    path = guard_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    except OSError as exc:
        raise ArchiveError(
            f"cannot use {path} (the lock git runs under): {exc.strerror}",
            hint=f"remove {path} if no kube is running, then run `kube update` again",
        ) from exc


@contextlib.contextmanager
def _hidden_discovery_variables() -> Iterator[None]:
    saved = {key: os.environ.pop(key) for key in _DISCOVERY if key in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def _kill_at_deadline(proc: subprocess.Popen[bytes], limit: float) -> None:
    def expire() -> None:
        if proc.poll() is None:  # still ours and running: its pid is its group's id
            _state.expired = True
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)

    timer = threading.Timer(limit, expire)
    timer.daemon = True
    timer.start()


def require_git() -> None:
    """ArchiveError, one line, when there is no ``git`` to run. GitPython's import looks for
    git itself and, without one, fails with a many-line ImportError (an internal error)."""
    if shutil.which("git", path=environment().get("PATH", os.defpath)) is None:
        raise ArchiveError("cannot run git: not found on PATH", hint="install git")


@functools.cache
def _engine() -> tuple[Any, Any, Any]:
    """The ``Git`` and ``Repo`` classes kube uses (GitPython is imported here, on first use:
    ``import git`` costs ~60 ms that search, info and --help never pay)."""
    require_git()
    import git as gp

    class KubeGitError(gp.GitCommandError):
        """A failed git, with its output as git printed it (GitPython decorates its copies)."""

        def __init__(self, command: Sequence[str], status: int, err: str, out: str) -> None:
            super().__init__(list(command), status, err, out)
            self.kube_output = (err, out)

    class KubeGit(gp.Git):
        def __init__(self, working_dir: Any = None) -> None:
            super().__init__(working_dir)
            self.kube_root: Path | None = None

        def execute(  # type: ignore[override]
            self,
            command: Sequence[Any],
            istream: Any = None,
            *,
            as_process: bool = False,
            with_extended_output: bool = False,
            with_exceptions: bool = True,
            stdout_as_string: bool = True,
            strip_newline_in_stdout: bool = True,
            **_ignored: Any,
        ) -> Any:
            # command[0] is GitPython's git executable; kube starts ``git`` with its own settings.
            args = [str(a) for a in command[1:]]
            persistent = istream is subprocess.PIPE  # cat-file --batch, alive while the Repo is
            full = argv(args, guarded=_state.guarded and not persistent, repo=self.kube_root)
            cwd = self.kube_root or (Path(self._working_dir) if self._working_dir else None)
            if as_process:
                try:
                    proc = subprocess.Popen(
                        full,
                        env=environment(),
                        cwd=cwd,
                        stdin=istream or subprocess.DEVNULL,
                        stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE,
                        start_new_session=True,
                    )
                except FileNotFoundError as exc:
                    raise gp.GitCommandNotFound(full, exc) from exc
                if not persistent:
                    _kill_at_deadline(proc, timeout())
                return self.AutoInterrupt(proc, full)
            from kube.core import process

            done = process.run(full, cwd=cwd, env=environment(), timeout=timeout(), check=False)
            out = done.stdout[:-1] if strip_newline_in_stdout and done.stdout.endswith("\n") else done.stdout
            err = done.stderr.removesuffix("\n")
            if with_exceptions and done.returncode != 0:
                raise KubeGitError(full, done.returncode, err, out)
            value = out if stdout_as_string else out.encode("utf-8", "surrogateescape")
            return (done.returncode, value, err) if with_extended_output else value

    class KubeRepo(gp.Repo):
        GitCommandWrapperType = KubeGit

        def __init__(self, path: Any, **kwargs: Any) -> None:
            with _hidden_discovery_variables():
                super().__init__(path, expand_vars=False, search_parent_directories=False, **kwargs)
            cast(Any, self.git).kube_root = Path(path)

    return KubeGit, KubeRepo, KubeGitError


@contextlib.contextmanager
def opened(root: Path) -> Iterator[Any]:
    """The clone at ``root`` as a GitPython ``Repo`` (closed afterwards: no cat-file outlives it)."""
    repo = _engine()[1](root)
    try:
        yield repo
    finally:
        repo.close()


def _output(exc: Any) -> tuple[str, str]:
    """stderr and stdout of a failed git (GitPython decorates them for its message)."""
    raw = getattr(exc, "kube_output", None)
    if raw is not None:
        return raw  # type: ignore[no-any-return]

    def plain(value: Any, label: str) -> str:
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value or "")
        return text.removeprefix(f"\n  {label}: '").removesuffix("'")

    return plain(exc.stderr, "stderr"), plain(exc.stdout, "stdout")


def _reason(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    first_error = [ln for ln in lines if ln.startswith("error:")][:1]
    fatal = [ln for ln in lines if ln.startswith("fatal:")][-1:]
    line = (first_error or fatal or lines or ["no output"])[0]
    return line.removeprefix("fatal: ").removeprefix("error: ")


def timed_out(what: str, hint: str | None = None) -> ArchiveError:
    """The error for a git that ran past ``KUBE_GIT_TIMEOUT``, doing ``what``."""
    return ArchiveError(
        f"{what}: git did not finish within {timeout():g}s (the server may be unreachable or not answering)",
        hint=hint or "check the URL and your network; KUBE_GIT_TIMEOUT sets the limit in seconds",
    )


@contextlib.contextmanager
def failures(what: str, *, hint: str | None = None, where: Path | None = None) -> Iterator[None]:
    """Whatever git or GitPython raise inside, as one ArchiveError line saying ``what`` failed."""
    require_git()
    import git as gp
    from gitdb.exc import ODBError  # type: ignore[import-untyped]

    _state.expired = False
    slow = timed_out(what, hint)
    try:
        yield
    except ProcessTimeout as exc:
        raise slow from exc
    except gp.GitCommandError as exc:
        if _state.expired:
            raise slow from exc
        err, out = _output(exc)
        if is_disk_full(err or out):
            raise disk_full(what, where or paths.kube_home()) from exc
        raise ArchiveError(f"{what}: {_reason(err or out)}", hint=hint) from exc
    except ProcessError as exc:  # git itself could not be started
        raise ArchiveError(f"{what}: {exc.message}", hint=exc.hint or hint) from exc
    except (gp.GitError, ODBError, ValueError) as exc:  # a ref or an object GitPython cannot read
        raise ArchiveError(f"{what}: {exc}", hint=hint) from exc
    except UnicodeDecodeError as exc:  # git quotes file names, but not every message it prints
        raise ArchiveError(f"{what}: git printed text that is not UTF-8", hint=hint) from exc


def run(args: Sequence[str], *, what: str, root: Path | None = None, cwd: Path | None = None) -> str:
    """A git command line of kube's own through the engine (``root``: the clone it works on,
    named with ``--git-dir``/``--work-tree``; ``cwd`` only where git needs no repository)."""
    with failures(what, where=root or cwd):
        engine = _engine()[0](str(root or cwd) if (root or cwd) else None)
        engine.kube_root = root
        return str(engine.execute(["git", *args]))


# A sparse clone checks out only what search, info and the index read: the repository's top-level
# files and every formula's K3.yaml and README.md. Non-cone patterns: cone mode cannot name one
# file in each of many directories. Other code adds ``/formulas/NAME/`` lines to this file when a
# formula's other files are needed; nothing here rewrites it after the clone.
SPARSE_PATTERNS = ("/*", "!/*/", "/formulas/*/K3.yaml", "/formulas/*/README.md")


def clone(url: str, dest: Path, *, branch: str | None, what: str, hint: str, shallow: bool = False) -> bool:
    """Clone ``url`` into ``dest`` (under the guard): a partial clone (``--filter=blob:none``)
    with a sparse checkout, so only the blobs of the checked-out files are fetched. True when
    the clone is partial; False when the server ignored the filter (it then sent every object,
    and the checkout is full, as without a filter). ``shallow`` asks for the branch's newest
    commit only (``--depth=1``: none of the history's trees), on servers that can send that;
    a server that cannot (git's dumb HTTP) gets the whole history, as without it. GitPython
    checks the URL and the options itself (``allow_unsafe_protocols=False``,
    ``allow_unsafe_options=False``) and puts ``--`` before them; kube's allow-list has already
    run (``validate_url``)."""
    options = ["--quiet", "--no-tags", "--single-branch", "--no-local", "--filter=blob:none", "--no-checkout"]
    options += [f"--branch={branch}"] if branch else []
    with failures(what, hint=hint, where=dest.parent), guarded():
        import git as gp  # loaded by _engine

        repo_class = _engine()[1]

        def clone_with(extra: list[str]) -> Any:
            safe = {"allow_unsafe_protocols": False, "allow_unsafe_options": False}
            return repo_class.clone_from(url, dest, multi_options=options + extra, **safe)

        try:
            repo = clone_with(["--depth=1"] if shallow else [])
        except gp.GitCommandError as exc:  # clone_from raises GitPython's own, not KubeGitError
            if not shallow or "shallow" not in _output(exc)[0]:
                raise
            shutil.rmtree(dest, ignore_errors=True)
            repo = clone_with([])
        try:
            # A server that ignores the filter sends every object, and git still marks the remote
            # as a promisor; what tells is whether HEAD's tree has blobs missing (``--missing=print``
            # lists them instead of fetching them).
            walk = ["git", "rev-list", "--objects", "--missing=print", "--no-walk", "HEAD", "--"]
            partial = any(line.startswith("?") for line in str(repo.git.execute(walk)).splitlines())
            if partial:
                repo.git.execute(["git", "sparse-checkout", "set", "--no-cone", "--", *SPARSE_PATTERNS])
            head = repo.git.execute(["git", "symbolic-ref", "--short", "-q", "HEAD"], with_exceptions=False)
            # The checkout fetches the blobs it needs in batches (one request, not one per file).
            repo.git.execute(["git", "checkout", "--quiet", str(head or "HEAD"), "--"])
        finally:
            repo.close()
    return bool(partial)


def shallow_commits(root: Path) -> set[str]:
    """The commits at the edge of a shallow clone's history (``.git/shallow``: git has them but
    not their parents); empty for a clone with its whole history."""
    try:
        text = (root / ".git" / "shallow").read_text(encoding="ascii")
    except FileNotFoundError:
        return set()
    except (OSError, UnicodeDecodeError) as exc:
        raise ArchiveError(f"cannot read {root / '.git' / 'shallow'}: {exc}") from exc
    return set(text.split())


def is_sparse(root: Path) -> bool:
    """Whether the clone at ``root`` has a sparse checkout (``core.sparseCheckout``; git keeps it
    in ``config.worktree``, which only git itself reads with the rest)."""
    try:
        value = run(
            ["config", "--bool", "--get", "core.sparseCheckout"], what="cannot read the archive", root=root
        )
    except ArchiveError:  # unset (git exits 1), or a damaged config: a full checkout
        return False
    return value.strip() == "true"


def sparse_add(root: Path, patterns: Sequence[str]) -> None:
    """Add ``patterns`` to the clone's sparse checkout (under the guard): git fetches the blobs
    the new paths need from the promisor remote, in one batch per call, and checks them out.
    Patterns go on the command line (they start with ``/``, never an option), 500 at a time so
    that linting a whole archive stays under the system's argument limit."""
    hint = "check your network, or run `kube update` (a server that dropped the archive needs `--repo`)"
    with failures("cannot fetch the formula's files", hint=hint, where=root), opened(root) as repo, guarded():
        for start in range(0, len(patterns), 500):
            repo.git.execute(["git", "sparse-checkout", "add", *patterns[start : start + 500]])


def _plain(root: Path, args: Sequence[str]) -> str | None:
    """What a read-only git prints, started without GitPython (for the no-op update, whose
    budget GitPython's import alone would eat); None when git fails. A git past its time
    raises ProcessTimeout: the caller says so rather than wait as long again for a fetch."""
    from kube.core import process

    try:
        done = process.run(argv(args, repo=root), env=environment(), timeout=timeout(), check=False)
    except ProcessTimeout:
        raise
    except ProcessError:
        return None
    return done.stdout if done.returncode == 0 else None


def origin_url(root: Path) -> str | None:
    """``remote.origin.url`` of the clone at ``root`` (None when it has none)."""
    found = _plain(root, ["config", "--get", "remote.origin.url"])
    return found.strip() if found else None


def remote_head(root: Path, branch: str) -> str | None:
    """The commit origin's ``branch`` is at now, from one ``git ls-remote`` (refs only, no
    objects); None when git cannot say: a fetch then finds out, and says, why."""
    ref = f"refs/heads/{branch}"
    listing = _plain(root, ["ls-remote", "--heads", "origin", ref])
    for line in (listing or "").splitlines():
        sha, _, name = line.partition("\t")
        if name == ref and SHA_RE.fullmatch(sha):
            return sha
    return None


def fetch(root: Path, refspec: str, *, what: str, hint: str, unshallow: bool = False) -> None:
    """Fetch ``refspec`` from origin (under the guard), GitPython's checks on. ``unshallow``
    also fetches the rest of a shallow clone's history (commits and trees: the clone's filter
    still leaves blobs to be fetched on use)."""
    more = {"unshallow": True} if unshallow else {}
    with failures(what, hint=hint, where=root), opened(root) as repo, guarded():
        repo.remote("origin").fetch(
            refspec, no_tags=True, allow_unsafe_protocols=False, allow_unsafe_options=False, **more
        )


def branch_refspec(branch: str) -> str:
    """The refspec that fetches origin's ``branch`` into its tracking ref."""
    return f"+refs/heads/{branch}:refs/remotes/origin/{branch}"


def state(root: Path) -> tuple[str, str, str] | None:
    """The clone's origin URL, branch (``HEAD`` when detached) and HEAD commit; None when
    ``root`` is not a clone GitPython can read. A git past its deadline is an ArchiveError:
    a slow git is not a damaged clone."""
    if not (root / ".git").is_dir():
        return None
    require_git()  # no git is not a damaged clone: it must not be cloned again
    try:
        with failures("cannot read the archive"), opened(root) as repo:
            head = repo.head.commit.hexsha
            branch = "HEAD" if repo.head.is_detached else repo.active_branch.name
            url = repo.config_reader("repository").get_value('remote "origin"', "url")
    except ArchiveError as exc:
        if isinstance(exc.__cause__, ProcessTimeout) or _state.expired:
            raise
        return None
    except Exception:  # a missing section, a damaged ref or object: not a clone kube can use
        return None
    return str(url), str(branch), str(head)


def resolve(root: Path, rev: str, *, what: str) -> str:
    with failures(what), opened(root) as repo:
        return str(repo.commit(rev).hexsha)


def is_ancestor(root: Path, old: str, new: str) -> bool:
    with failures("cannot compare archive versions"), opened(root) as repo:
        return bool(repo.is_ancestor(old, new))


@dataclass(frozen=True)
class Change:
    """One entry of a diff: ``status`` is git's letter (A, D, M, R, T, C)."""

    status: str
    old: str | None
    new: str | None


def _read(root: Path, args: Sequence[str], *, what: str) -> bytes:
    """What git prints, as bytes (streamed: the watchdog bounds it)."""
    with failures(what, where=root), opened(root) as repo:
        proc = repo.git.execute(["git", *args], as_process=True)
        out, err = proc.communicate()
        if proc.returncode != 0:
            raise _engine()[2](args, proc.returncode, os.fsdecode(err or b""), os.fsdecode(out or b""))
        return bytes(out or b"")


def _changes(raw: bytes) -> list[Change]:
    """``--name-status -z`` output: a status, then one path (two for a rename or a copy)."""
    fields = raw.split(b"\0")
    found: list[Change] = []
    i = 0
    while i < len(fields) and fields[i]:
        status = os.fsdecode(fields[i])[:1]
        if status in ("R", "C"):
            found.append(Change(status, os.fsdecode(fields[i + 1]), os.fsdecode(fields[i + 2])))
            i += 3
        else:
            name = os.fsdecode(fields[i + 1])
            found.append(Change(status, None if status == "A" else name, None if status == "D" else name))
            i += 2
    return found


# The diffs below are read through GitPython's ``Git`` as bytes, not as its ``Diff`` objects: its
# raw-diff reader decodes every path as strict UTF-8 in a reader thread, and on a name that is
# not UTF-8 that thread dies and the rest of the diff is silently lost (a formula whose files
# changed then kept its old index entry). ``-z`` names are exact bytes, never quoted.
_DIFF = ("--name-status", "-z", "--find-renames=90%", "--no-color", "--no-ext-diff")


def diff(root: Path, old: str, new: str) -> list[Change]:
    """What changed between two commits, renames found at 90 % similarity (a formula counts as
    renamed only when its files moved across nearly unchanged: K3.yaml itself always changes,
    since it holds the name). In a partial clone, rename detection reads the blobs of added and
    deleted files, so git fetches those it lacks (one batch per diff): accepted, they are the
    changed files only."""
    raw = _read(root, ["diff-tree", "-r", *_DIFF, old, new, "--"], what="cannot compare archive versions")
    return _changes(raw)


def formula_tree(root: Path, names: Sequence[str] | None = None) -> list[tuple[str, int, str]]:
    """Every file under ``formulas/`` at HEAD (only under ``formulas/<name>`` for ``names``) as
    ``(path, mode, object)``, read from the tree, not the work tree: in a sparse clone most of
    them are not on disk. Not ``-l``: sizes would make git fetch every missing blob."""
    what = "cannot read the archive"
    if names is None:
        entries = tree_files(root, "HEAD", "formulas/", what=what)
    else:  # an update that touched a few formulas lists those, not the whole archive
        entries = []
        for start in range(0, len(names), 500):
            chunk = [f"formulas/{n}" for n in names[start : start + 500]]
            entries += tree_files(root, "HEAD", chunk, what=what)
    return [(e.path, int(e.mode, 8), e.sha) for e in entries]


def blob_text(root: Path, obj: str) -> str:
    """The content of one blob (a symlink's target); in a partial clone git fetches it if missing."""
    return os.fsdecode(blob(root, obj))


def blob(root: Path, obj: str, *, what: str = "cannot read the archive") -> bytes:
    """The bytes of one blob; in a partial clone git fetches it if missing."""
    return _read(root, ["cat-file", "blob", obj], what=what)


def object_size(root: Path, obj: str, *, what: str) -> int:
    """The size in bytes of one object (git fetches a missing blob first, into its own store)."""
    return int(run(["cat-file", "-s", obj], what=what, root=root).strip())


def commit_file(root: Path, ref: str, name: str, data: bytes, *, message: str, epoch: int, what: str) -> str:
    """Point ``ref`` at a new parentless commit whose tree is the one file ``name`` holding
    ``data``; the commit's id. Written through GitPython's object store (no work tree, no
    index, nothing on stdin), by a fixed author at ``epoch``: the same data at the same time
    gives the same commit, so publishing an unchanged index changes nothing."""
    from io import BytesIO

    import git as gp
    from gitdb import IStream  # type: ignore[import-untyped]  # GitPython's own object store

    with failures(what, where=root), opened(root) as repo:
        stored = repo.odb.store(IStream(b"blob", len(data), BytesIO(data)))
        tree_data = b"100644 " + name.encode() + b"\0" + stored.binsha
        tree = repo.odb.store(IStream(b"tree", len(tree_data), BytesIO(tree_data)))
        who = gp.Actor("kube index", "kube-index@localhost")
        when = f"{epoch} +0000"
        commit = gp.Commit.create_from_tree(
            repo,
            gp.Tree(repo, tree.binsha),
            message,
            parent_commits=[],
            head=False,
            author=who,
            committer=who,
            author_date=when,
            commit_date=when,
        )
        repo.git.execute(["git", "update-ref", "--no-deref", ref, commit.hexsha])
        return str(commit.hexsha)


def commit_time(root: Path, commit: str, *, what: str) -> int:
    """The committer time of ``commit``, in seconds since the epoch."""
    with failures(what, where=root), opened(root) as repo:
        return int(repo.commit(commit).committed_date)


def tracked_changes(root: Path) -> list[str]:
    """Tracked files whose work-tree (or index) state differs from HEAD."""
    raw = _read(root, ["diff", *_DIFF, "HEAD", "--"], what="cannot read the archive's state")
    names: list[str] = []
    for change in _changes(raw):
        for name in (change.new, change.old):
            if name is not None and name not in names:
                names.append(name)
    return names


def untracked(root: Path, pathspecs: Sequence[str] | None = None) -> list[str]:
    """Untracked files: all of them outside .gitignore (no ``pathspecs``), or any at these
    literal paths, ignored or not (a file an update is about to overwrite)."""
    # Not -z: quoted names stay ASCII (raw ones need not be UTF-8, and git's output is read as text).
    if pathspecs is None:
        args = ["ls-files", "--others", "--exclude-standard"]
    else:
        args = ["--literal-pathspecs", "ls-files", "--others", "--", *pathspecs]
    listing = run(args, what="cannot read the archive's state", root=root)
    return [unquote(p) for p in listing.splitlines() if p]


def reset_hard(root: Path, commit: str, *, what: str) -> None:
    with failures(what, where=root), opened(root) as repo, guarded():
        repo.head.reset(commit, index=True, working_tree=True, quiet=True)


def clean(root: Path, *, what: str) -> None:
    with failures(what, where=root), opened(root) as repo, guarded():
        repo.git.clean("-ffdq")


def gc(root: Path) -> None:
    """``git gc --auto`` in the foreground, under the guard. Automatic gc is off for every other
    command (it would detach and outlive kube); here it runs only when git thinks it is due."""
    with failures("git gc failed", where=root), opened(root) as repo, guarded():
        repo.git(c=["gc.auto=6700", "gc.autoDetach=false"]).gc(auto=True, quiet=True)


def log(root: Path, log_range: str, *, what: str) -> str:
    """``git log`` of ``formulas``: one ``\\x01<commit> <date>`` line per commit, then the names
    it touched. One git for every formula: GitPython's ``iter_commits`` would need a git (or a
    tree diff) per commit or per formula to say which formulas a commit touched."""
    with failures(what), opened(root) as repo:
        return str(
            repo.git.log("--format=%x01%H %cI", "--name-only", "--no-renames", log_range, "--", "formulas")
        )


@dataclass(frozen=True)
class TreeEntry:
    """One file of a commit's tree: git's mode (``100644``, ``100755``, ``120000``, ``160000``)
    and object id, by its path from the top of the repository."""

    mode: str
    sha: str
    path: str


def tree_files(root: Path, commit: str, directory: str | Sequence[str], *, what: str) -> list[TreeEntry]:
    """Every file under ``directory`` (a literal path, ``formulas/<name>/``; or several) in
    ``commit``'s tree. Reading a tree needs no blob, so this works in a partial clone without
    the network."""
    paths_ = [directory] if isinstance(directory, str) else list(directory)
    args = ["--literal-pathspecs", "ls-tree", "-r", "-z", "--full-tree", commit, "--", *paths_]
    raw = _read(root, args, what=what)
    found: list[TreeEntry] = []
    for record in raw.split(b"\0"):
        if not record:
            continue
        meta, _, name = record.partition(b"\t")
        mode, _kind, sha = meta.decode("ascii").split(" ")
        found.append(TreeEntry(mode, sha, os.fsdecode(name)))
    return found


def hash_objects(root: Path, files: Sequence[Path], *, what: str) -> list[str]:
    """The blob ids git gives ``files`` of the work tree, its attributes and filters applied
    (``eol``, ``text``): what a checkout of those blobs would have written, seen from the file."""
    listing = run(["hash-object", "--", *(str(f) for f in files)], what=what, root=root)
    return listing.split()


def formula_names_at(root: Path, commit: str, *, what: str) -> list[str]:
    """The directory names under ``formulas/`` in ``commit``'s tree."""
    with failures(what), opened(root) as repo:
        tree = repo.commit(commit).tree
        try:
            formulas = tree / "formulas"
        except KeyError:
            return []
        return [str(t.name) for t in formulas.trees]


# "Out of diskspace": git's own words when writing a pack fails with ENOSPC (a fetch's index-pack).
_DISK_FULL = ("No space left on device", "Disk quota exceeded", "Out of diskspace")


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
