"""What ``kube test`` reports: its steps, their statuses, the report, and the labels it sets.

Shared by ``run`` (which runs the steps) and ``pods`` (the tests step), so that
neither imports the other's caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kube.core.errors import KubeError

PASSED, FAILED, SKIPPED, NOT_RUN = "passed", "failed", "skipped", "not run"
STEPS = (
    "resolve",
    "namespace",
    "dependencies",
    "install",
    "ready",
    "tests",
    "uninstall",
    "leftovers",
    "cleanup",
)
TEST_LABEL = "kube.sh/test"
#: `kube test`'s exit status when nothing failed but tests could not run (a simulated
#: node); ``--allow-simulated`` makes it 0. README, "Exit codes".
EXIT_TESTS_NOT_RUN = 10


class StepFailed(KubeError):
    """A step did not pass; ``detail`` may hold several lines (states, logs)."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail


class StepNotRun(KubeError):
    """A step could not really run (tests on a node that runs no containers): neither passed nor failed."""


@dataclass(frozen=True)
class TestStep:
    __test__ = False  # not a pytest class

    name: str
    status: str
    seconds: float
    detail: str = ""


@dataclass(frozen=True)
class TestReport:
    """The outcome of one ``kube test``: every step in order."""

    __test__ = False

    formula: str
    version: str
    namespace: str
    steps: tuple[TestStep, ...]

    @property
    def passed(self) -> bool:
        """Every step ran and none failed: a step that could not run is no pass."""
        return bool(self.steps) and all(s.status not in (FAILED, NOT_RUN) for s in self.steps)

    @property
    def failed(self) -> bool:
        return any(s.status == FAILED for s in self.steps)

    @property
    def not_run(self) -> tuple[str, ...]:
        """The steps that could not run (``tests`` on a simulated node)."""
        return tuple(s.name for s in self.steps if s.status == NOT_RUN)

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.steps)

    def step(self, name: str) -> TestStep:
        return next(s for s in self.steps if s.name == name)

    def to_json(self) -> dict[str, Any]:
        return {
            "formula": self.formula,
            "version": self.version,
            "namespace": self.namespace,
            "passed": self.passed,
            "notRun": list(self.not_run),
            "seconds": round(self.seconds, 2),
            "steps": [
                {"step": s.name, "status": s.status, "seconds": round(s.seconds, 2), "detail": s.detail}
                for s in self.steps
            ],
        }
