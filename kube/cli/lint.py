"""Commands: lint (offline checks of formulas) and test (install into a scratch namespace, run tests/)."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from kube.core.findings import Finding
    from kube.lint.run import LintReport
    from kube.livetest.run import TestReport


class LintOutput(StrEnum):
    table = "table"
    json = "json"
    github = "github"


class TestOutput(StrEnum):
    table = "table"
    json = "json"


def register(app: typer.Typer) -> None:
    """Add this module's commands to the kube app."""
    app.command("lint")(lint_command)
    app.command("test")(test_command)


def lint_command(
    paths: Annotated[
        list[str] | None,
        typer.Argument(metavar="PATH", help="Formula directories, directories of formulas, or names."),
    ] = None,
    all_formulas: Annotated[
        bool,
        typer.Option("--all", help="Every formula of this repository's formulas/ (else of the archive)."),
    ] = False,
    changed: Annotated[
        str | None,
        typer.Option(
            "--changed",
            metavar="BASE",
            help="Only formulas changed since the git revision BASE; each must bump its version.",
        ),
    ] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Fail on warnings too.")] = False,
    kube_version: Annotated[
        str | None,
        typer.Option(
            "--kube-version",
            metavar="V",
            help="Kubernetes version whose schemas to check against (default 1.30).",
        ),
    ] = None,
    output: Annotated[
        LintOutput, typer.Option("--output", "-o", help="table, json or github.")
    ] = LintOutput.table,
) -> None:
    """Check formulas offline: K3.yaml, manifests against the Kubernetes schema, templates, hooks, files.

    Exit status 0 when clean, 1 on errors (and on warnings with --strict).
    """
    from kube.lint import run as lint

    report = lint.lint(paths or (), all_formulas=all_formulas, changed=changed, kube_version=kube_version)
    if output is LintOutput.json:
        _lint_json(report, strict)
    elif output is LintOutput.github:
        _lint_github(report)
    else:
        _lint_table(report)
    if strict and output is not LintOutput.json:
        _lint_suppressed(report, github=output is LintOutput.github)
    _lint_summary(report, strict)
    if not report.passed(strict=strict):
        raise typer.Exit(1)


def _lint_table(report: LintReport) -> None:
    from kube.cli import console

    if not report.findings:
        return
    rows = [
        (f.location, f.severity.value, f.rule, f"{f.message} (fix: {f.hint})" if f.hint else f.message)
        for f in report.findings
    ]
    styles = ["red" if f.severity.value == "error" else "yellow" for f in report.findings]
    # The message matters most on a narrow terminal.
    console.print_table(["LOCATION", "LEVEL", "RULE", "MESSAGE"], rows, row_styles=styles, wide_column=3)


def _lint_json(report: LintReport, strict: bool) -> None:
    from kube.cli import console

    console.print_json(
        {
            "passed": report.passed(strict=strict),
            "strict": strict,
            "kube_version": report.kube_version,
            "changed_since": report.base,
            "formulas": list(report.formulas),
            "errors": len(report.errors),
            "warnings": len(report.warnings),
            "findings": [_finding_json(f) for f in report.findings],
            "suppressed": [
                {**_finding_json(s.finding), "reason": s.reason, "declared": s.declared}
                for s in report.suppressed
            ],
        }
    )


def _finding_json(found: Finding) -> dict[str, Any]:
    return {
        "path": found.path,
        "line": found.line,
        "rule": found.rule,
        "severity": found.severity.value,
        "message": found.message,
        "hint": found.hint,
    }


def github_annotation(found: Finding) -> str:
    """A GitHub Actions workflow command: ``::error file=F,line=N,title=RULE::message``."""
    level = "error" if found.severity.value == "error" else "warning"
    props = [f"file={_gh_property(found.path)}"]
    if found.line:
        props.append(f"line={found.line}")
    props.append(f"title={_gh_property(found.rule)}")
    message = found.message + (f" (fix: {found.hint})" if found.hint else "")
    return f"::{level} {','.join(props)}::{_gh_data(message)}"


def _gh_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_property(text: str) -> str:
    return _gh_data(text).replace(":", "%3A").replace(",", "%2C")


def _lint_github(report: LintReport) -> None:
    import sys

    from kube.cli import console

    for found in report.findings:
        # GitHub reads workflow commands from stdout, as plain lines (no Rich wrapping).
        sys.stdout.write(console.safe(github_annotation(found)) + "\n")


def _lint_suppressed(report: LintReport, *, github: bool) -> None:
    """What the formulas' ``lint.ignore`` left out, with their reasons, for reviewers."""
    import sys

    from kube.cli import console

    for s in report.suppressed:
        f = s.finding
        if github:
            props = f"file={_gh_property(f.path)}" + (f",line={f.line}" if f.line else "")
            text = f"{f.message} (ignored: {s.reason})"
            sys.stdout.write(
                console.safe(f"::notice {props},title={_gh_property(f.rule)}::{_gh_data(text)}") + "\n"
            )
        else:
            console.info(f"{f.location} {f.rule} ignored ({s.declared}): {s.reason}")


def _lint_summary(report: LintReport, strict: bool) -> None:
    from kube.cli import console

    count = len(report.formulas)
    what = f"{count} formula{'s' if count != 1 else ''}"
    since = f" changed since {report.base}" if report.base is not None else ""
    if count == 0:
        console.info(f"No formula{since} to lint.")
        return
    errors, warnings = len(report.errors), len(report.warnings)
    problems = f"{errors} error{'s' if errors != 1 else ''}, {warnings} warning{'s' if warnings != 1 else ''}"
    if report.suppressed:  # said even without --strict, so nobody takes "0 warnings" for "nothing"
        problems += f", {len(report.suppressed)} ignored by lint.ignore"
    verdict = "passed" if report.passed(strict=strict) else "FAILED"
    mode = " (strict)" if strict else ""
    console.info(
        f"Linted {what}{since} against Kubernetes {report.kube_version}: {problems}; {verdict}{mode}."
    )


def test_command(
    target: Annotated[str, typer.Argument(metavar="NAME|PATH", help="A formula name or directory.")],
    context: Annotated[str | None, typer.Option("--context", help="kubeconfig context to use.")] = None,
    kubeconfig: Annotated[str | None, typer.Option("--kubeconfig", help="kubeconfig file to use.")] = None,
    timeout: Annotated[
        str, typer.Option("--timeout", help="How long objects and tests may take to be ready (e.g. 90s, 5m).")
    ] = "5m",
    output: Annotated[TestOutput, typer.Option("--output", "-o", help="table or json.")] = TestOutput.table,
    allow_simulated: Annotated[
        bool,
        typer.Option(
            "--allow-simulated",
            help="Exit 0 when tests could not run because the node runs no containers (still reported).",
        ),
    ] = False,
) -> None:
    """Install a formula into a fresh namespace, wait until ready, run its tests/, uninstall, clean up.

    The hook runs sandboxed (no network, a throw-away HOME). Dependencies come from the
    formula's own archive and are installed into the same namespace first. On a node that
    runs no containers (the local control plane's simulated node) tests are reported
    `not run (simulated node)`.
    Exit status 0 when every step passed, 1 when one failed, 10 when the tests could not
    run on a simulated node (0 with --allow-simulated).
    """
    from kube.k8s.wait import parse_duration
    from kube.livetest import run as testing

    report = testing.run_test(
        target, context=context, kubeconfig=kubeconfig, timeout=parse_duration(timeout), progress=_progress
    )
    if output is TestOutput.json:
        from kube.cli import console

        console.print_json(report.to_json())
    else:
        _test_table(report)
    if report.failed:
        raise typer.Exit(1)
    if report.not_run and not allow_simulated:
        raise typer.Exit(testing.EXIT_TESTS_NOT_RUN)


def _progress(step: str) -> None:
    from kube.cli import console

    console.info(step)


def _test_table(report: TestReport) -> None:
    from kube.cli import console

    rows = [
        (s.name, s.status, f"{s.seconds:.1f}", s.detail.splitlines()[0] if s.detail else "")
        for s in report.steps
    ]
    console.print_table(["STEP", "STATUS", "SECONDS", "DETAIL"], rows, title=f"kube test {report.formula}")
    for step in report.steps:
        if step.status == "failed" and "\n" in step.detail:
            console.line(f"--- {step.name} ---", stderr=True)
            console.line(step.detail, stderr=True)
    if report.failed:
        verdict = "FAILED"
    elif report.not_run:
        verdict = f"NOT RUN ({', '.join(report.not_run)}: simulated node runs no containers)"
    else:
        verdict = "PASSED"
    where = f"namespace {report.namespace}"
    console.info(f"{report.formula} {report.version}: {verdict} in {report.seconds:.1f}s ({where})")
