"""The first program of a hook sandboxed with ``unshare`` (``kube.install.hooks``), where
bubblewrap is missing: run inside new user, mount, network, PID, IPC and UTS namespaces, it
makes every mount read-only but the writable paths it is given, then runs the hook.

    python -I -S sandbox_init.py WRITABLE... -- ARGV...

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
        sys.stderr.write("sandbox: usage: sandbox_init.py WRITABLE... -- ARGV...\n")
        return 2
    split = args.index("--")
    writable, argv = [os.fsencode(p) for p in args[:split]], args[split + 1 :]
    libc = ctypes.CDLL(None, use_errno=True)
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
    return _supervise(argv, writable[0] if writable else b"/")


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
