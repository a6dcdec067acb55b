"""The test results ``scripts/ci-formulas --results FILE`` writes, as the site reads them.

The file (schema 1)::

    {"schema": 1, "date": "2026-12-01T22:00:00+00:00", "commit": "<sha of the repository>",
     "cluster": {"version": "v1.20.2", "simulated": true},
     "kubes": {"redis": {"lint": {"errors": 0, "warnings": 1, "rules": ["..."]},
                         "test": {"outcome": "passed" | "failed" | "not-run",
                                  "detail": "not run (simulated node)", "seconds": 12.3}}}}

A kube that the file does not mention is "not tested". A kube tested on a node that runs no
containers (the local control plane's simulated node) is "not-run", never "passed".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kube.core.errors import UsageError

SCHEMA = 1
OUTCOMES = ("passed", "failed", "not-run")
RESULTS_LIMIT = 64 * 1024 * 1024


@dataclass(frozen=True)
class KubeResult:
    outcome: str  # passed, failed, not-run
    detail: str
    seconds: float
    lint_errors: int
    lint_warnings: int
    lint_rules: tuple[str, ...]
    date: str
    commit: str
    cluster_version: str
    simulated: bool

    @property
    def status(self) -> str:
        """What a page says: passed, failed, or not run (and why)."""
        return {"passed": "passed", "failed": "failed"}.get(self.outcome, self.detail or "not run")

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "detail": self.detail,
            "seconds": self.seconds,
            "lint": {
                "errors": self.lint_errors,
                "warnings": self.lint_warnings,
                "rules": list(self.lint_rules),
            },
            "date": self.date,
            "commit": self.commit,
            "cluster": {"version": self.cluster_version, "simulated": self.simulated},
        }


def _bad(path: Path, why: str) -> UsageError:
    return UsageError(
        f"{path} is not a results file of scripts/ci-formulas: {why}",
        hint="write one with `scripts/ci-formulas --all --results FILE`, or build without --results",
    )


def _text(value: object, limit: int = 200) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _number(value: object) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def _object(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def load_results(path: Path) -> dict[str, KubeResult]:
    """Results by kube name; UsageError (one line) for a missing, unreadable or malformed file."""
    try:
        if path.stat().st_size > RESULTS_LIMIT:
            raise _bad(path, "larger than 64 MiB")
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(
            f"--results {path} does not exist", hint="run `scripts/ci-formulas --all --results FILE` first"
        ) from None
    except OSError as exc:
        raise UsageError(f"cannot read --results {path}: {exc.strerror}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise _bad(path, f"not JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA or not isinstance(data.get("kubes"), dict):
        raise _bad(path, f'expected an object with "schema": {SCHEMA} and "kubes"')
    cluster = _object(data.get("cluster"))
    found: dict[str, KubeResult] = {}
    for name, raw in data["kubes"].items():
        if not isinstance(raw, dict):
            raise _bad(path, f"kubes.{name}: expected an object")
        lint, test = _object(raw.get("lint")), _object(raw.get("test"))
        outcome = test.get("outcome")
        if outcome not in OUTCOMES:
            raise _bad(path, f"kubes.{name}.test.outcome: expected one of {', '.join(OUTCOMES)}")
        rules = lint["rules"] if isinstance(lint.get("rules"), list) else []
        found[str(name)] = KubeResult(
            outcome=str(outcome),
            detail=_text(test.get("detail")),
            seconds=_number(test.get("seconds")),
            lint_errors=_count(lint.get("errors")),
            lint_warnings=_count(lint.get("warnings")),
            lint_rules=tuple(sorted({_text(r, 80) for r in rules if isinstance(r, str)})),
            date=_text(data.get("date"), 40),
            commit=_text(data.get("commit"), 64),
            cluster_version=_text(cluster.get("version"), 60),
            simulated=cluster.get("simulated") is True,
        )
    return found
