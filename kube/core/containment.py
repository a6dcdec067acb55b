"""Keep everything a hook starts inside kube's reach, and end all of it.

A process group is not enough: a hook's child may call ``setsid()`` (a new
session and group), double-fork so that its parent is init, close its file
descriptors and replace its environment, and then nothing ties it to the hook.
On Linux kube makes itself a *child subreaper* while the hook runs (``prctl
PR_SET_CHILD_SUBREAPER``, Linux 3.4+, no privileges needed): an orphan in the
hook's tree is re-parented to kube instead of init, whatever session or group
it moved to. When the hook ends, every process in kube's tree that was not
there before is killed (SIGKILL) and reaped, repeatedly until none is left.

Not covered: processes started on the hook's behalf by something outside its
tree (a systemd user unit, ``at``, ``ssh localhost``), and everything when kube
itself is killed with SIGKILL (which cannot be caught; SIGTERM, SIGHUP and
Ctrl-C are, see ``kube.signals``). Where the subreaper is unavailable (not
Linux, or prctl refused), ``contained`` yields false and the caller falls back
to the process group and the environment marker, which a hook can escape.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

_PR_SET_CHILD_SUBREAPER = 36
_PR_GET_CHILD_SUBREAPER = 37
# How long kube keeps killing a tree that keeps forking before it gives up.
_KILL_FOR = 5.0
SUBREAPER, PROCESS_GROUP = "subreaper", "process group"


def _prctl(option: int, value: int) -> int | None:
    """``prctl(option, value)``; for the GET option the current value. None when unavailable."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None
    if option == _PR_GET_CHILD_SUBREAPER:
        current = ctypes.c_int()
        if libc.prctl(option, ctypes.byref(current), 0, 0, 0) != 0:
            return None
        return current.value
    return None if libc.prctl(option, value, 0, 0, 0) != 0 else value


@functools.cache
def method() -> str:
    """``SUBREAPER`` when kube can contain a hook's tree here, else ``PROCESS_GROUP``."""
    works = _prctl(_PR_GET_CHILD_SUBREAPER, 0) is not None and Path("/proc/self/stat").exists()
    return SUBREAPER if works else PROCESS_GROUP


@contextlib.contextmanager
def contained() -> Iterator[bool]:
    """Run the body with kube as a child subreaper, then kill what the body left behind
    in kube's process tree. Yields whether that containment is in force."""
    if method() != SUBREAPER:
        yield False
        return
    me = os.getpid()
    before = {pid for pid, (parent, _) in _processes().items() if parent == me}
    previous = _prctl(_PR_GET_CHILD_SUBREAPER, 0) or 0
    if _prctl(_PR_SET_CHILD_SUBREAPER, 1) is None:
        yield False
        return
    try:
        yield True
    finally:
        try:
            kill_tree(me, spare=before)
        finally:
            _prctl(_PR_SET_CHILD_SUBREAPER, previous)


def kill_tree(root: int, *, spare: set[int]) -> None:
    """SIGKILL every descendant of ``root`` except the children in ``spare`` (and theirs),
    reaping ``root``'s own children, until no descendant is left (or ``_KILL_FOR`` passed)."""
    deadline = time.monotonic() + _KILL_FOR
    while True:
        table = _processes()
        children: dict[int, list[int]] = {}
        for pid, (parent, _) in table.items():
            children.setdefault(parent, []).append(pid)
        mine = [pid for pid in children.get(root, []) if pid not in spare]
        tree, todo = [], list(mine)
        while todo:
            pid = todo.pop()
            tree.append(pid)
            todo.extend(children.get(pid, []))
        if not tree:
            return
        for pid in tree:
            if table[pid][1] != "Z":
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
        if root == os.getpid():
            for pid in mine:
                _reap(pid)
        if time.monotonic() > deadline:
            return
        time.sleep(0.01)


def _reap(pid: int) -> None:
    # Only this pid: waitpid(-1) could take the status of a child subprocess.Popen waits for.
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def _processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, state letter) of every process in /proc."""
    table: dict[int, tuple[int, str]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return table
    for name in entries:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split at the last ")".
        fields = stat.rpartition(b")")[2].split()
        if len(fields) >= 2 and fields[1].isdigit():
            table[int(name)] = (int(fields[1]), fields[0].decode("ascii", "replace"))
    return table
