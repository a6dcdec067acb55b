"""The first program of a hook sandboxed with ``unshare`` (``kube.install.hooks``), where
bubblewrap is missing: run inside new user, mount, network, PID, IPC and UTS namespaces, it
hides the home directories it is given (``--hide``) behind empty tmpfs mounts, putting back
what the hook needs under them (``--show``: its interpreter; the writable paths), makes every
mount read-only but the writable paths, gives up every capability of the user namespace (as
its root the hook could remount them read-write), then runs the hook.

    python -I -S sandbox_init.py [--hide=DIR]... [--show=PATH]... WRITABLE... -- ARGV...

It runs before anything of the formula's, with the standard library only (``-S``: no site),
and stops with one line on stderr (exit 1) when a mount cannot be made read-only: the hook
never runs with less than it was promised. Mounts the caller cannot reach (EACCES, ENOENT)
are skipped: the hook cannot reach them either. The flags a mount has (nosuid, nodev,
noexec, its atime rule) are kept, as the kernel requires of a remount in a user namespace.
"""

from __future__ import annotations

import ctypes
import errno
import os
import re
import signal
import sys

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT = 1, 2, 4, 8, 32
MS_NOATIME, MS_NODIRATIME, MS_BIND, MS_REC = 1024, 2048, 4096, 16384
MS_RELATIME, MS_STRICTATIME = 1 << 21, 1 << 24
# Options of /proc/self/mountinfo's per-mount field that a read-only remount must repeat.
_KEPT = {
    b"nosuid": MS_NOSUID,
    b"nodev": MS_NODEV,
    b"noexec": MS_NOEXEC,
    b"noatime": MS_NOATIME,
    b"nodiratime": MS_NODIRATIME,
    b"relatime": MS_RELATIME,
}
_UNREACHABLE = (errno.EACCES, errno.ENOENT)


def _mount(libc: ctypes.CDLL, source: bytes | None, target: bytes, flags: int) -> int:
    """0, or the errno of mount(2)."""
    if libc.mount(source, target, None, ctypes.c_ulong(flags), None) != 0:
        return ctypes.get_errno()
    return 0


def _unescape(field: bytes) -> bytes:
    """A mountinfo path: spaces, tabs, newlines and backslashes come as octal escapes."""
    return re.sub(rb"\\([0-7]{3})", lambda m: bytes([int(m.group(1), 8)]), field)


def _below(path: bytes, root: bytes) -> bool:
    return path == root or path.startswith(root.rstrip(b"/") + b"/")


def remount_flags(options: bytes) -> int:
    """The flags that make a mount with these mountinfo ``options`` read-only, keeping the rest."""
    names = set(options.split(b","))
    flags = MS_REMOUNT | MS_BIND | MS_RDONLY
    for name, bit in _KEPT.items():
        if name in names:
            flags |= bit
    # No atime option shown means strictatime; left out, the kernel would pick relatime.
    return flags if names & {b"noatime", b"relatime"} else flags | MS_STRICTATIME


def main(args: list[str]) -> int:
    if "--" not in args:
        sys.stderr.write(
            "sandbox: usage: sandbox_init.py [--hide=DIR]... [--show=PATH]... WRITABLE... -- ARGV...\n"
        )
        return 2
    split = args.index("--")
    given, argv = args[:split], args[split + 1 :]
    hidden = [os.fsencode(o.removeprefix("--hide=")) for o in given if o.startswith("--hide=")]
    shown = [os.fsencode(o.removeprefix("--show=")) for o in given if o.startswith("--show=")]
    writable = [os.fsencode(o) for o in given if not o.startswith(("--hide=", "--show="))]
    libc = ctypes.CDLL(None, use_errno=True)
    if hidden and (problem := _hide(libc, hidden, [*shown, *writable])):
        sys.stderr.write(f"sandbox: {problem}\n")
        return 1
    for path in writable:
        # Its own mount: the read-only remount of what holds it leaves it writable.
        if failed := _mount(libc, path, path, MS_BIND | MS_REC):
            sys.stderr.write(f"sandbox: cannot bind {os.fsdecode(path)}: {os.strerror(failed)}\n")
            return 1
    with open("/proc/self/mountinfo", "rb") as info:
        rows = [line.split() for line in info]
    for row in rows:
        point, options = _unescape(row[4]), row[5]
        # /proc is the new PID namespace's own (unshare --mount-proc).
        if _below(point, b"/proc") or any(_below(point, w) for w in writable):
            continue
        failed = _mount(libc, None, point, remount_flags(options))
        if failed and failed not in _UNREACHABLE:
            where = os.fsdecode(point)
            sys.stderr.write(f"sandbox: cannot make {where} read-only: {os.strerror(failed)}\n")
            return 1
    if problem := _drop_capabilities(libc):
        sys.stderr.write(f"sandbox: {problem}\n")
        return 1
    return _supervise(argv, writable[0] if writable else b"/")


# open_tree(2) and move_mount(2): one number on every architecture (Linux 5.2 and later).
_OPEN_TREE, _MOVE_MOUNT = 428, 429
_OPEN_TREE_CLONE, _AT_RECURSIVE, _AT_FDCWD, _MOVE_MOUNT_F_EMPTY_PATH = 1, 0x8000, -100, 4
_PR_CAPBSET_DROP, _PR_SET_NO_NEW_PRIVS, _PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL = 24, 38, 47, 4


def _hide(libc: ctypes.CDLL, hidden: list[bytes], keep: list[bytes]) -> str:
    """An empty tmpfs over each of ``hidden``, with the paths of ``keep`` under them cloned
    first and put back in place (open_tree, then move_mount); "" when done, else what failed."""
    libc.syscall.restype = ctypes.c_long
    clones: list[tuple[bytes, int, bool]] = []
    for path in keep:
        if not any(_below(path, h) for h in hidden):
            continue
        flags = _OPEN_TREE_CLONE | _AT_RECURSIVE | os.O_CLOEXEC
        fd = libc.syscall(_OPEN_TREE, _AT_FDCWD, path, ctypes.c_uint(flags))
        if fd < 0:
            why = os.strerror(ctypes.get_errno())
            return f"cannot keep {os.fsdecode(path)} while hiding the home directories: {why}"
        clones.append((path, fd, os.path.isdir(path)))
    for home in hidden:
        if libc.mount(b"tmpfs", home, b"tmpfs", ctypes.c_ulong(MS_NOSUID | MS_NODEV), b"mode=0755") != 0:
            return f"cannot hide {os.fsdecode(home)}: {os.strerror(ctypes.get_errno())}"
    for path, fd, is_dir in clones:
        try:
            if is_dir:
                os.makedirs(path, exist_ok=True)
            else:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                open(path, "ab").close()
        except OSError as exc:
            return f"cannot show {os.fsdecode(path)} again: {exc.strerror}"
        if libc.syscall(_MOVE_MOUNT, fd, b"", _AT_FDCWD, path, ctypes.c_uint(_MOVE_MOUNT_F_EMPTY_PATH)) != 0:
            return f"cannot show {os.fsdecode(path)} again: {os.strerror(ctypes.get_errno())}"
        os.close(fd)
    return ""


def _drop_capabilities(libc: ctypes.CDLL) -> str:
    """Give up, for the hook and all it starts, every capability of this user namespace: as its
    root the hook could otherwise remount / read-write again. The bounding set goes (a program
    it executes as uid 0 gets no capability back), and no program may gain privileges."""
    for cap in range(64):
        if libc.prctl(_PR_CAPBSET_DROP, ctypes.c_ulong(cap), 0, 0, 0) != 0:
            if ctypes.get_errno() == errno.EINVAL:
                break  # past the last capability this kernel knows
            return f"cannot drop capability {cap}: {os.strerror(ctypes.get_errno())}"
    libc.prctl(_PR_CAP_AMBIENT, ctypes.c_ulong(_PR_CAP_AMBIENT_CLEAR_ALL), 0, 0, 0)
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, ctypes.c_ulong(1), 0, 0, 0) != 0:
        return f"cannot forbid new privileges: {os.strerror(ctypes.get_errno())}"
    return ""


def _supervise(argv: list[str], cwd: bytes) -> int:
    """Start the hook and stay, as the PID namespace's init, until it exits: a signal that ends
    kube's process group (the SIGTERM of a timeout) ends this process, and with it every
    process of the namespace. ``unshare --fork`` itself ignores SIGTERM while it waits."""
    child = os.fork()
    if child == 0:
        try:
            # A session of its own, as bubblewrap's --new-session: no controlling terminal to
            # push keystrokes into (TIOCSTI), even when its stdin is the user's terminal.
            os.setsid()
            os.chdir(cwd)
            # The hook replaces this child: kube.core.process already runs and bounds the sandbox.
            os.execv(argv[0], argv)  # noqa: S606
        except OSError as exc:
            sys.stderr.write(f"sandbox: cannot start {argv[0] if argv else 'nothing'}: {exc.strerror}\n")
        os._exit(127)
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, lambda number, _frame: os._exit(128 + number))
    while True:
        # As init it also reaps what the hook orphans; the namespace ends with the hook.
        done, status = os.wait()
        if done == child:
            code = os.waitstatus_to_exitcode(status)
            return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
