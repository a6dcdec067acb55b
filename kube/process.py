"""The one place kube starts external programs.

Always an argv list, never a shell string. Every child runs in its own process
group so that a timeout or Ctrl-C ends the whole tree it started, not just the
first process (a hook that forks a sleeper must not outlive kube).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from kube.errors import ProcessError, ProcessTimeout

# How long a process group gets between SIGTERM and SIGKILL.
_GRACE_SECONDS = 2.0


@dataclass(frozen=True)
class Completed:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def _kill_group(proc: subprocess.Popen[str]) -> None:
    try:
        pgid = os.getpgid(proc.pid)
    except ProcessLookupError:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=_GRACE_SECONDS)
            # The leader is gone, but children it forked may still hold the group.
        except subprocess.TimeoutExpired:
            continue
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


def describe(argv: Sequence[str]) -> str:
    """A short, readable form of a command for error messages."""
    text = " ".join(argv)
    return text if len(text) <= 120 else text[:117] + "..."


def run(
    argv: Sequence[str],
    *,
    input: str | None = None,
    timeout: float | None = None,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    capture: bool = True,
) -> Completed:
    """Run ``argv`` and wait for it.

    With ``capture=False`` the child shares kube's stdin/stdout/stderr (a hook
    that asks the user questions), and the result holds no output.
    Raises ``ProcessTimeout`` past ``timeout`` (the whole group is killed),
    ``ProcessError`` when the program is missing, or when it fails and
    ``check`` is true.
    """
    argv = tuple(str(a) for a in argv)
    pipe = subprocess.PIPE if capture else None
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if input is not None else (subprocess.DEVNULL if capture else None),
            stdout=pipe,
            stderr=pipe,
            cwd=cwd,
            env=dict(env) if env is not None else None,
            text=True,
            start_new_session=True,
        )
    except FileNotFoundError as exc:
        raise ProcessError(
            f"{argv[0]}: command not found",
            argv=argv,
            returncode=None,
            hint=f"install {os.path.basename(argv[0])} or put it on PATH",
        ) from exc
    except OSError as exc:
        raise ProcessError(f"cannot run {argv[0]}: {exc.strerror}", argv=argv, returncode=None) from exc
    try:
        stdout, stderr = proc.communicate(input=input, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        _kill_group(proc)
        out, err = proc.communicate()
        raise ProcessTimeout(
            f"`{describe(argv)}` did not finish within {timeout:g}s",
            argv=argv,
            returncode=None,
            stdout=out or "",
            stderr=err or "",
        ) from exc
    except BaseException:
        # KeyboardInterrupt and friends: never leave the child's group running.
        _kill_group(proc)
        raise
    result = Completed(argv, proc.returncode, stdout or "", stderr or "")
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


def last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "(no output)"


def tail(text: str, lines: int = 20) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])
