"""One writer at a time in ``$KUBE_HOME``: an exclusive lock on ``$KUBE_HOME/.lock``.

The lock is an ``flock`` (via filelock), so the kernel releases it when its
holder dies, even by SIGKILL: a killed update never leaves a stale lock.
Readers (search, info) do not lock; they read files that are only ever
replaced atomically.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from kube.core import paths
from kube.core.errors import ArchiveError

# Long enough for another process's first clone of a big archive.
DEFAULT_TIMEOUT = 900.0


MAX_TIMEOUT = 86400.0


def _timeout() -> float:
    from kube.core.durations import env_seconds

    value = env_seconds("KUBE_LOCK_TIMEOUT", DEFAULT_TIMEOUT)
    # nan never times out and inf overflows; 0 and below mean "do not wait".
    return min(value, MAX_TIMEOUT) if value == value else DEFAULT_TIMEOUT


@contextmanager
def locked(*, on_wait: Callable[[str], None] | None = None, timeout: float | None = None) -> Iterator[None]:
    """Hold the ``$KUBE_HOME`` lock; ``on_wait`` is told when another process has it."""
    from filelock import FileLock, Timeout

    paths.check_home()
    # Read first: a bad value is the user's to hear of now, not only the day another kube waits.
    limit = _timeout() if timeout is None else timeout
    where = paths.lock_file()
    lock = FileLock(where, thread_local=False, preserve_lock_file=True)
    try:
        where.parent.mkdir(parents=True, exist_ok=True)
        lock.acquire(timeout=0)
    except Timeout:  # before OSError: filelock's Timeout is a TimeoutError
        if on_wait is not None:
            on_wait(f"waiting for another kube process to finish (lock {where})")
        try:
            lock.acquire(timeout=limit)
        except Timeout:
            raise ArchiveError(
                f"another kube process held {where} for more than {limit:g}s",
                hint="wait for it to finish, or find it with `fuser " + str(where) + "`",
            ) from None
    except OSError as exc:  # a full disk, a read-only KUBE_HOME
        raise ArchiveError(
            f"cannot create the lock {where}: {exc.strerror}", hint=f"check {where.parent}"
        ) from None
    try:
        yield
    finally:
        lock.release()
