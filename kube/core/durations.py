"""Durations as the command line gives them (``--timeout 5m``) and as messages show them.

In the core layer, not beside the waiting in ``kube.k8s.wait``: a command that only parses
its options (``kube template``, a dry run) does not load the readiness machinery."""

from __future__ import annotations

import os
import re

from kube.core.errors import UsageError

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)?")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def parse_duration(text: str, option: str = "--timeout") -> float:
    """``300``, ``300s``, ``5m``, ``1h30m``, ``1.5m`` -> seconds (more than zero)."""
    cleaned = text.strip().lower()
    parts = list(_DURATION.finditer(cleaned))
    if not cleaned or "".join(p.group(0) for p in parts) != cleaned:
        raise UsageError(f"{option} {text!r}: expected a duration like 90s, 5m or 1h30m")
    seconds = sum(float(p.group(1)) * _UNITS[p.group(2)] for p in parts)
    if seconds <= 0:
        raise UsageError(f"{option} {text!r}: the duration must be more than zero")
    return seconds


def format_duration(seconds: float) -> str:
    if seconds < 60 or seconds % 60:
        return f"{seconds:g}s"
    return f"{seconds / 60:g}m"


def env_seconds(name: str, default: float) -> float:
    """``$name`` as a number of seconds (``90``, ``90s``), ``default`` when unset or empty.
    Text that is no number (``soon``) is a usage error: ignored, it would leave the user
    believing a limit is set. Out-of-range numbers are the caller's to bound."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        return float(text.removesuffix("s"))
    except ValueError:
        raise UsageError(f"{name}={text!r}: give a number of seconds, e.g. 60 or 60s") from None
