"""The one error tree of kube, and the exit code each kind of error maps to.

Every error a user can cause is a ``KubeError``. Its message is one line that
says what went wrong and where; ``hint`` says what to run next. The CLI is the
only place that turns these into output and exit codes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kube.core.findings import Finding


class ExitCode:
    """Documented exit codes (README, "Exit codes")."""

    OK = 0
    ERROR = 1  # generic failure, lint errors, failed kube test
    USAGE = 2  # bad command line (Typer / Click's own code)
    NOT_FOUND = 3  # formula, record or file not found
    INVALID_FORMULA = 4  # K3.yaml, manifest or template problem
    ARCHIVE = 5  # git clone / fetch / local changes / lock
    DEPENDENCY = 6  # unsatisfied dependency declined, or cycle
    HOOK = 7  # pre-install hook failed or timed out
    CLUSTER = 8  # kubectl / API server refused or unreachable
    TIMEOUT = 9  # --wait ran past --timeout
    CLUSTERS_PARTIAL = 12  # a command on many clusters succeeded on some, not all
    CLUSTERS_FAILED = 13  # ... on none, failing in different ways (the same way: that code)
    INTERNAL = 70  # a bug in kube: traceback written to the log
    INTERRUPTED = 130  # Ctrl-C


class KubeError(Exception):
    """Base class: a one-line message plus an optional next step."""

    exit_code: int = ExitCode.ERROR

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(KubeError):
    exit_code = ExitCode.USAGE


class NotFoundError(KubeError):
    exit_code = ExitCode.NOT_FOUND


class FormulaError(KubeError):
    """A formula is invalid; ``findings`` lists every problem found at once."""

    exit_code = ExitCode.INVALID_FORMULA

    def __init__(
        self,
        message: str,
        *,
        findings: Sequence[Finding] = (),
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.findings = tuple(findings)


class RenderError(FormulaError):
    """A template or manifest could not be rendered or parsed."""


class ArchiveError(KubeError):
    exit_code = ExitCode.ARCHIVE


class LocalChangesError(ArchiveError):
    """The archive clone has edits that an update would throw away."""

    def __init__(self, message: str, *, files: Sequence[str], hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.files = tuple(files)


class DependencyError(KubeError):
    exit_code = ExitCode.DEPENDENCY


class HookError(KubeError):
    """The pre-install hook failed; ``output`` holds the end of what it printed."""

    exit_code = ExitCode.HOOK

    def __init__(self, message: str, *, output: str = "", hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.output = output


class ClusterError(KubeError):
    exit_code = ExitCode.CLUSTER


class WaitTimeoutError(ClusterError):
    exit_code = ExitCode.TIMEOUT


class ProcessError(KubeError):
    """An external program failed. Domain modules usually re-raise it as a
    more specific error; the message always names the command."""

    def __init__(
        self,
        message: str,
        *,
        argv: Sequence[str],
        returncode: int | None,
        stdout: str = "",
        stderr: str = "",
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.argv = tuple(argv)
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr


class ProcessTimeout(ProcessError):
    exit_code = ExitCode.TIMEOUT


class OutputError(KubeError):
    """stdout cannot be written (a full disk, a descriptor not open for writing); a reader that
    went away is not one (kube ends quietly with 141)."""
