"""SIGTERM and SIGHUP end kube the way Ctrl-C does: by unwinding.

Left to their default action they kill kube on the spot: no ``finally`` runs,
so a hook keeps running orphaned and the private directory holding the values
(generated passwords among them) stays in TMPDIR. ``install`` turns them into
``Terminated``, a ``KeyboardInterrupt``, raised where kube is; every clean-up
on the way out runs (the hook's processes are killed, temporary files
removed), the CLI prints one line and kube exits ``128 + signal``: 143 for
SIGTERM, 129 for SIGHUP (130 stays Ctrl-C's).

Only the first of these signals unwinds; one that arrives while kube is
already unwinding is ignored, so that it cannot cut a clean-up short (SIGKILL
still ends kube at once; a second Ctrl-C still interrupts, as it always has).
"""

from __future__ import annotations

import signal
from types import FrameType

HANDLED = (signal.SIGTERM, signal.SIGHUP)


class Terminated(KeyboardInterrupt):
    """kube received SIGTERM or SIGHUP; ``signum`` says which."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"terminated by {signal.Signals(signum).name}")
        self.signum = signum


_received: list[int] = []


def _handler(signum: int, frame: FrameType | None) -> None:
    if _received:
        return
    _received.append(signum)
    raise Terminated(signum)


def install() -> None:
    """Handle SIGTERM and SIGHUP as described above (main thread only)."""
    for signum in HANDLED:
        # A signal ignored by whoever started kube (nohup) stays ignored.
        if signal.getsignal(signum) is not signal.SIG_IGN:
            signal.signal(signum, _handler)


def received() -> int | None:
    """The signal that ended this run, if one did."""
    return _received[0] if _received else None


def exit_code(code: int) -> int:
    """The exit code for a run that would exit ``code``: ``128 + signal`` if a signal ended it."""
    signum = received()
    return 128 + signum if signum is not None else code
