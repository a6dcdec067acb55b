"""Durations as the command line gives them (``--timeout 5m``) and as messages show them.

In the core layer, not beside the waiting in ``kube.k8s.wait``: a command that only parses
its options (``kube template``, a dry run) does not load the readiness machinery."""

from __future__ import annotations

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
