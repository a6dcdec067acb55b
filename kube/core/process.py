"""The one place kube starts external programs.

Always an argv list, never a shell string. Every child runs in its own process
group (its own session) so that a timeout or Ctrl-C ends the whole tree it
started, not just the first process (a hook that forks a sleeper must not
outlive kube).

What a child prints is read as bytes and decoded as UTF-8 with invalid bytes
replaced (U+FFFD): a program that prints Latin-1 or binary must not crash kube.
``last_line`` and ``tail``, which quote a child's output in messages, also
neutralise control characters and bidirectional overrides.

The deadline covers reading the output, not only waiting for the exit: a child
may exit while something it started (a daemon in a new session) still holds
its stdout, and reading until end-of-file would then never end. Once the child
itself has exited, its pipes get ``PIPE_GRACE`` seconds more; then kube stops
reading, closes them and kills the child's process group. A timeout may be any
number of seconds, even ``inf``: kube never hands it to the OS in one piece
(``select`` and ``poll`` overflow on very large values), it waits in short steps.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import selectors
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from kube.core.errors import ProcessError, ProcessTimeout
from kube.core.text import safe

# How long a process group gets between SIGTERM and SIGKILL.
_GRACE_SECONDS = 2.0
#: How long kube keeps reading a child's pipes after the child itself exited.
PIPE_GRACE = 0.5
# The longest single wait: kube wakes up this often to check the child and the deadline.
_STEP = 0.1
_CHUNK = 64 * 1024
_DONE, _HELD, _EXPIRED = "done", "held", "expired"


@dataclass(frozen=True)
class Completed:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    # start_new_session makes the child the leader of a group whose id is its pid. The id stays
    # valid while any member lives, even once the leader is gone and reaped, so it is used as is:
    # asking os.getpgid() would fail for a reaped leader and spare the grandchildren.
    pgid = proc.pid
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            break
        except PermissionError:
            pass
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=_GRACE_SECONDS)
    # The leader is gone, but children it forked may still hold the group.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=_GRACE_SECONDS)


def describe(argv: Sequence[str]) -> str:
    """A short, readable form of a command for error messages."""
    text = safe(" ".join(argv)).replace("\n", " ")
    return text if len(text) <= 120 else text[:117] + "..."


def decode(data: bytes) -> str:
    """A child's output as text: UTF-8, invalid bytes replaced."""
    return data.decode("utf-8", errors="replace")


def _encode(text: str) -> bytes:
    # surrogateescape gives back the bytes a non-UTF-8 argument or file arrived with; any other
    # lone surrogate (a JSON "\ud800") cannot be encoded and becomes "?" instead of raising.
    return _NOT_ESCAPE.sub("?", text).encode("utf-8", errors="surrogateescape")


_NOT_ESCAPE = re.compile("[\ud800-\udc7f\udd00-\udfff]")


def run(
    argv: Sequence[str],
    *,
    input: str | None = None,
    timeout: float | None = None,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    capture: bool = True,
    keep: int | None = None,
    umask: int = -1,
) -> Completed:
    """Run ``argv`` and wait for it.

    With ``capture=False`` the child shares kube's stdin/stdout/stderr (a hook
    that asks the user questions), and the result holds no output. ``keep``
    bounds the bytes kept of each stream (the end is kept). ``umask`` is the
    child's (``-1``: kube's own).
    Raises ``ProcessTimeout`` past ``timeout`` (the whole group is killed),
    ``ProcessError`` when the program is missing or cannot be started, or when
    it fails and ``check`` is true.
    """
    argv = tuple(str(a) for a in argv)
    pipe = subprocess.PIPE if capture else None
    stdin = subprocess.PIPE if input is not None else (subprocess.DEVNULL if capture else None)
    proc = _spawn(argv, stdin=stdin, stdout=pipe, cwd=cwd, env=env, umask=umask)
    return _exchange(proc, argv, None if input is None else _encode(input), timeout, keep, check)


def _exchange(
    proc: subprocess.Popen[bytes], argv: tuple[str, ...], data: bytes | None, timeout: float | None,
    keep: int | None, check: bool,
) -> Completed:  # fmt: skip
    """Feed ``data`` to a started child, read its output and judge it, within ``timeout`` from now."""
    deadline = _deadline(timeout)
    try:
        out, err, state = _communicate(proc, data, deadline, keep)
    except BaseException:
        # KeyboardInterrupt and friends: never leave the child's group running.
        _kill_group(proc)
        _close(proc)
        raise
    return _finish(proc, argv, out, err, state, deadline, timeout, check)


class Started:
    """A child started now and collected later (``start``): a read kube will need, begun while
    kube does other work. A thread reads its output meanwhile, so it never waits on a full pipe."""

    def __init__(self, argv: tuple[str, ...], proc: subprocess.Popen[bytes], timeout: float | None) -> None:
        import threading

        self.argv = argv
        self._proc = proc
        self._timeout = timeout
        self._deadline = _deadline(timeout)
        self._read: tuple[bytes, bytes, str] | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._communicate, name="kube-start", daemon=True)
        self._thread.start()

    def _communicate(self) -> None:
        try:
            self._read = _communicate(self._proc, None, self._deadline, None)
        except BaseException as exc:  # handed to the thread that asks for the result
            self._error = exc

    def result(self, *, check: bool = True) -> Completed:
        """Wait for the child (within the timeout given to ``start``), as ``run`` would have."""
        try:
            self._thread.join()
        except BaseException:
            self.cancel()
            raise
        if self._error is not None or self._read is None:
            _kill_group(self._proc)
            _close(self._proc)
            what = f"cannot read {safe(self.argv[0])}: {self._error}"
            raise ProcessError(what, argv=self.argv, returncode=None)
        out, err, state = self._read
        return _finish(self._proc, self.argv, out, err, state, self._deadline, self._timeout, check)

    def cancel(self) -> None:
        """Stop the child and its group, if still running: its answer is not wanted."""
        if self._proc.poll() is None:
            _kill_group(self._proc)
        # The reading thread then sees the pipes end; they are closed once it has let go of them.
        self._thread.join(timeout=_GRACE_SECONDS)
        _close(self._proc)


def start(
    argv: Sequence[str], *, timeout: float | None = None, env: Mapping[str, str] | None = None
) -> Started:
    """Start ``argv`` now, with no input and its output captured, and return at once;
    ``Started.result()`` waits for it as ``run`` does (same errors, same deadline, counted from
    now). Raises ``ProcessError`` when the program is missing or cannot be started."""
    argv = tuple(str(a) for a in argv)
    proc = _spawn(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, cwd=None, env=env, umask=-1)
    return Started(argv, proc, timeout)


class Waiting:
    """A child started before its input is known (``start_waiting``): it loads, reads its
    configuration and connects while kube works, then blocks on its stdin until ``run`` hands it
    the input. Until then it has been told nothing to do; one never given its input is stopped
    with ``cancel`` (and if kube itself dies, the child reads an empty input)."""

    def __init__(self, argv: tuple[str, ...], proc: subprocess.Popen[bytes]) -> None:
        self.argv = argv
        self._proc = proc

    def run(self, input: str, *, timeout: float | None = None, check: bool = True) -> Completed:
        """``run(argv, input=input, timeout=timeout, check=check)`` of this child: the same
        errors, the deadline counted from now."""
        return _exchange(self._proc, self.argv, _encode(input), timeout, None, check)

    def cancel(self) -> None:
        """Stop the child and its group, if still running: the call is not going to be made."""
        if self._proc.poll() is None:
            _kill_group(self._proc)
        _close(self._proc)


def start_waiting(argv: Sequence[str], *, env: Mapping[str, str] | None = None) -> Waiting:
    """Start ``argv`` now with its stdin a pipe kept empty and open, its output captured, and
    return at once (``Waiting``). Raises ``ProcessError`` when the program is missing or cannot
    be started. The pipe is kube's alone: no other child inherits it (pipes are made non-inheritable)."""
    argv = tuple(str(a) for a in argv)
    proc = _spawn(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=None, env=env, umask=-1)
    return Waiting(argv, proc)


def _spawn(
    argv: tuple[str, ...], *, stdin: int | None, stdout: int | None, cwd: Path | None,
    env: Mapping[str, str] | None, umask: int,
) -> subprocess.Popen[bytes]:  # fmt: skip
    """The child, in a session of its own; ``stdout`` is also stderr's mode (both piped or neither)."""
    try:
        return subprocess.Popen(
            argv,
            stdin=stdin,
            stdout=stdout,
            stderr=stdout,
            cwd=cwd,
            env=dict(env) if env is not None else None,
            start_new_session=True,
            umask=umask,
        )
    except FileNotFoundError as exc:
        raise ProcessError(
            f"{safe(argv[0])}: command not found",
            argv=argv,
            returncode=None,
            hint=f"install {safe(os.path.basename(argv[0]))} or put it on PATH",
        ) from exc
    except OSError as exc:
        raise ProcessError(f"cannot run {safe(argv[0])}: {exc.strerror}", argv=argv, returncode=None) from exc
    except (ValueError, UnicodeError) as exc:
        # A NUL byte or an unencodable character in an argument or the environment.
        raise ProcessError(f"cannot run {safe(argv[0])}: {exc}", argv=argv, returncode=None) from exc


def _finish(
    proc: subprocess.Popen[bytes], argv: tuple[str, ...], out: bytes, err: bytes, state: str,
    deadline: float | None, timeout: float | None, check: bool,
) -> Completed:  # fmt: skip
    """Wait for the child whose output was read (``_communicate``), and judge it."""
    try:
        if state == _HELD:
            # The child exited but something it started still holds its output: that belongs to
            # the child and goes with it (a new session escapes the group; kube.hooks covers that).
            _kill_group(proc)
        finished = state != _EXPIRED and _wait(proc, deadline)
    except BaseException:
        _kill_group(proc)
        _close(proc)
        raise
    if not finished:
        _kill_group(proc)
        _close(proc)
        raise ProcessTimeout(
            f"`{describe(argv)}` did not finish within {_seconds(timeout)}",
            argv=argv,
            returncode=None,
            stdout=decode(out),
            stderr=decode(err),
        )
    result = Completed(argv, proc.returncode, decode(out), decode(err))
    if check and not result.ok:
        raise ProcessError(
            f"`{describe(argv)}` failed with exit code {proc.returncode}: "
            f"{last_line(result.stderr or result.stdout)}",
            argv=argv,
            returncode=proc.returncode,
            stdout=result.stdout,
            stderr=result.stderr,
        )
    return result


def _deadline(timeout: float | None) -> float | None:
    if timeout is None or math.isnan(timeout) or math.isinf(timeout):
        return None
    return time.monotonic() + timeout


def _seconds(timeout: float | None) -> str:
    return f"{timeout:g}s" if timeout is not None else "its time limit"


def _wait(proc: subprocess.Popen[bytes], deadline: float | None) -> bool:
    """Wait for the child until ``deadline``, in short steps; false if it is still running."""
    if deadline is None:
        proc.wait()
        return True
    while proc.poll() is None:
        if time.monotonic() >= deadline:
            return False
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=_STEP)
    return True


def _close(proc: subprocess.Popen[bytes]) -> None:
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()


def _communicate(
    proc: subprocess.Popen[bytes], data: bytes | None, deadline: float | None, keep: int | None
) -> tuple[bytes, bytes, str]:
    """Feed ``data`` and read both pipes until end-of-file (``_DONE``), the deadline
    (``_EXPIRED``), or ``PIPE_GRACE`` after the child exited (``_HELD``: someone else still
    holds the pipes). Returns stdout, stderr (what was read) and that state."""
    got = (bytearray(), bytearray())
    selector = selectors.DefaultSelector()
    # Each registration carries (stream, index in ``got``; -1 for stdin).
    streams: list[IO[bytes]] = []
    payload = memoryview(data or b"")
    offset = 0
    if proc.stdin is not None:
        if payload:
            os.set_blocking(proc.stdin.fileno(), False)
            selector.register(proc.stdin, selectors.EVENT_WRITE, (proc.stdin, -1))
            streams.append(proc.stdin)
        else:
            proc.stdin.close()
    for index, stream in enumerate((proc.stdout, proc.stderr)):
        if stream is not None:
            selector.register(stream, selectors.EVENT_READ, (stream, index))
            streams.append(stream)

    exited_at: float | None = None
    state = _DONE
    try:
        while selector.get_map():
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                state = _EXPIRED
                break
            if exited_at is None and proc.poll() is not None:
                exited_at = now
            if exited_at is not None and now - exited_at >= PIPE_GRACE:
                state = _HELD
                break
            step = _STEP
            if deadline is not None:
                step = min(step, deadline - now)
            if exited_at is not None:
                step = min(step, exited_at + PIPE_GRACE - now)
            for key, _ in selector.select(max(step, 0.0)):
                stream, index = key.data
                if index < 0:
                    try:
                        offset += os.write(key.fd, payload[offset : offset + _CHUNK])
                    except BlockingIOError:
                        continue
                    except BrokenPipeError:  # the child does not read all of it: its business
                        offset = len(payload)
                    if offset >= len(payload):
                        selector.unregister(stream)
                        stream.close()
                    continue
                chunk = os.read(key.fd, _CHUNK)
                if not chunk:
                    selector.unregister(stream)
                    stream.close()
                    continue
                buffer = got[index]
                buffer += chunk
                if keep is not None and len(buffer) > keep:
                    del buffer[: len(buffer) - keep]
    finally:
        selector.close()
        for stream in streams:
            with contextlib.suppress(OSError):
                stream.close()
    return bytes(got[0]), bytes(got[1]), state


# C0 controls except tab and newline, DEL, C1 controls (CSI...), and the invisible
# formatting characters that reorder or hide text (bidirectional overrides U+202E...).
#: The most characters of one line of a child's output that a message quotes: a hook or a tool
#: that prints a megabyte on one line must not make kube's one-line error a megabyte long.
LINE_LIMIT = 2000


def last_line(text: str) -> str:
    """The last non-blank line of a child's output, safe to print, cut at ``LINE_LIMIT``."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return safe(_cut(lines[-1].strip())) if lines else "(no output)"


def tail(text: str, lines: int = 20) -> str:
    """The last ``lines`` lines of a child's output, safe to print, each cut at ``LINE_LIMIT``."""
    return safe("\n".join(_cut(line) for line in text.rstrip().splitlines()[-lines:]))


def _cut(line: str) -> str:
    if len(line) <= LINE_LIMIT:
        return line
    return f"{line[:LINE_LIMIT]}... ({len(line) - LINE_LIMIT:,} more characters)"
