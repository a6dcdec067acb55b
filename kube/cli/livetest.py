"""Command: test (install a formula into a scratch namespace, run its tests/, remove it)."""

from __future__ import annotations

from typing import Annotated

import typer

from kube.cli import completers, console
from kube.cli.options import Context, Kubeconfig, Output, OutputFormat, choose, command_app, namespace_option
from kube.core.durations import parse_duration
from kube.livetest import run as testing
from kube.livetest.steps import EXIT_TESTS_NOT_RUN, TestReport

app = command_app()


@app.command("test")
def test_command(
    target: Annotated[
        str,
        typer.Argument(
            metavar="NAME|PATH", help="A formula name or directory.", autocompletion=completers.formulas
        ),
    ],
    namespace: Annotated[
        str | None,
        namespace_option(
            "Test in NS (default: a fresh kube-test-NAME-XXXXXX); made and deleted unless it exists."
        ),
    ] = None,
    context: Context = None,
    kubeconfig: Kubeconfig = None,
    timeout: Annotated[
        str, typer.Option("--timeout", help="How long objects and tests may take to be ready (e.g. 90s, 5m).")
    ] = "5m",
    output: Output = None,
    allow_namespaces: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-namespace",
            metavar="NS",
            help="Let the formula create objects in namespace NS too, as kube install does (repeatable).",
        ),
    ] = None,
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
    fmt = choose(output, OutputFormat.json)
    report = testing.run_test(
        target,
        context=context,
        kubeconfig=kubeconfig,
        timeout=parse_duration(timeout),
        progress=_progress,
        allow_namespaces=tuple(allow_namespaces or ()),
        namespace=namespace,
    )
    if fmt is OutputFormat.json:
        console.print_json(report.to_json())
    else:
        _test_table(report)
    if report.failed:
        raise typer.Exit(1)
    if report.not_run and not allow_simulated:
        raise typer.Exit(EXIT_TESTS_NOT_RUN)


def _progress(step: str) -> None:
    console.info(step)


def _test_table(report: TestReport) -> None:
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
