"""Command: lint (offline checks of formulas)."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from kube.cli import console
from kube.cli.options import Context, Kubeconfig, OutputFormat, choose, command_app, output_option
from kube.core.findings import Finding
from kube.lint import run as lint
from kube.lint.run import LintReport

app = command_app()


@app.command("lint")
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
            help="Kubernetes version whose schemas to check against (default 1.30; 1.20-1.24 "
            "from a cache that --cluster made).",
        ),
    ] = None,
    cluster: Annotated[
        bool,
        typer.Option(
            "--cluster",
            help="Check against the OpenAPI of the kubeconfig's cluster (fetched now, cached by version).",
        ),
    ] = False,
    context: Context = None,
    kubeconfig: Kubeconfig = None,
    output: Annotated[OutputFormat | None, output_option(OutputFormat.json, OutputFormat.github)] = None,
) -> None:
    """Check formulas offline: K3.yaml, manifests against the Kubernetes schema, templates, hooks, files.

    Exit status 0 when clean, 1 on errors (and on warnings with --strict).
    """
    fmt = choose(output, OutputFormat.json, OutputFormat.github)
    kubectl = None
    if cluster:
        from kube.k8s.kubectl import Kubectl

        kubectl = Kubectl(context=context, kubeconfig=kubeconfig)
    elif context or kubeconfig:
        from kube.core.errors import UsageError

        raise UsageError("--context and --kubeconfig only go with --cluster", hint="kube lint --cluster ...")
    report = lint.lint(
        paths or (), all_formulas=all_formulas, changed=changed, kube_version=kube_version, cluster=kubectl
    )
    if fmt is OutputFormat.json:
        _lint_json(report, strict)
    elif fmt is OutputFormat.github:
        _lint_github(report)
    else:
        _lint_table(report)
    if strict and fmt is not OutputFormat.json:
        _lint_suppressed(report, github=fmt is OutputFormat.github)
    _lint_summary(report, strict)
    if not report.passed(strict=strict):
        raise typer.Exit(1)


def _lint_table(report: LintReport) -> None:
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
    for found in report.findings:
        # GitHub reads workflow commands from stdout, as plain lines (no Rich wrapping).
        sys.stdout.write(console.safe(github_annotation(found)) + "\n")


def _lint_suppressed(report: LintReport, *, github: bool) -> None:
    """What the formulas' ``lint.ignore`` left out, with their reasons, for reviewers."""
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
