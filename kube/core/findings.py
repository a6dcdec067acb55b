"""Findings: one problem in a formula, with where it is and how to fix it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Finding:
    """One problem. ``path`` is shown as given (relative where possible);
    ``line`` is 1-based, 0 when the problem is not on a line."""

    path: str
    line: int
    rule: str
    message: str
    severity: Severity = Severity.ERROR
    hint: str = ""

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path

    def __str__(self) -> str:
        # A finding about a whole formula may have the formula's own directory, ".", for a path.
        return self.message if self.location in ("", ".") else f"{self.location} {self.message}"


def errors(findings: list[Finding] | tuple[Finding, ...]) -> list[Finding]:
    return [f for f in findings if f.severity is Severity.ERROR]


def warnings(findings: list[Finding] | tuple[Finding, ...]) -> list[Finding]:
    return [f for f in findings if f.severity is Severity.WARNING]
