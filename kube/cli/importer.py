"""Command: import (plain upstream manifests -> a formula skeleton, then linted).

Exit status: 0 the formula was written (lint findings are the author's to-do list, not a
failure); 2 a bad option or the output directory exists; 3 a source is missing; 4 a source is
not plain Kubernetes objects (a Helm chart, a kustomization, broken YAML) or two files define one
object.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kube.cli import console
from kube.cli.options import Output, OutputFormat, choose, command_app
from kube.formula import importer

app = command_app()


@app.command("import")
def import_command(
    sources: Annotated[
        list[Path],
        typer.Argument(
            metavar="SOURCE...", help="Manifest files or folders: what you would pass to kubectl apply -f."
        ),
    ],
    name: Annotated[
        str | None,
        typer.Option("--name", help="The formula's name (default: the app.kubernetes.io/name label)."),
    ] = None,
    version: Annotated[
        str | None,
        typer.Option(
            "--version", help="The formula's version (default: the app.kubernetes.io/version label)."
        ),
    ] = None,
    home: Annotated[
        str | None, typer.Option("--home", metavar="URL", help="Where the project lives.")
    ] = None,
    description: Annotated[
        str | None, typer.Option("--description", help="One line on what it runs.")
    ] = None,
    maintainers: Annotated[
        list[str] | None,
        typer.Option("--maintainer", metavar="'NAME <EMAIL>'", help="A maintainer (repeatable)."),
    ] = None,
    into: Annotated[
        Path | None,
        typer.Option("--into", metavar="DIR", help="Write the formula to DIR/NAME (default: ./NAME)."),
    ] = None,
    recursive: Annotated[
        bool,
        typer.Option(
            "--recursive", "-R", help="Read the folders inside the given folders too, as kubectl -R does."
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be written; write nothing.")
    ] = False,
    output: Output = None,
) -> None:
    """Turn plain upstream manifests into a formula: one object per file, images as values, linted."""
    fmt = choose(output, OutputFormat.json)
    plan = importer.plan(
        sources,
        name=name,
        version=version,
        home=home,
        description=description,
        maintainers=maintainers or (),
        recursive=recursive,
    )
    target = (into or Path.cwd()) / plan.name
    report = None
    if not dry_run:
        importer.write(plan, target)
        from kube.lint import run as lint

        report = lint.lint([str(target)])
    if fmt is OutputFormat.json:
        console.print_json(
            {
                "name": plan.name,
                "version": plan.version,
                "directory": str(target),
                "written": not dry_run,
                "files": [{"path": f.path, "objects": list(f.objects)} for f in plan.files],
                "images": {i.key: i.reference for i in plan.images},
                "namespace_removed": plan.namespace,
                "kept_namespaces": [{"object": o, "namespace": n} for o, n in plan.other_namespaces],
                "dropped": [
                    {
                        "reason": left.why.value,
                        "message": left.message(),
                        "count": len(left.objects),
                        "objects": list(left.objects),
                        "fields": list(left.fields),
                    }
                    for left in plan.dropped
                ],
                "skipped": plan.skipped,
                "to_decide": plan.to_decide,
                "lint": None
                if report is None
                else [
                    {
                        "location": f.location,
                        "severity": f.severity.value,
                        "rule": f.rule,
                        "message": f.message,
                    }
                    for f in report.findings
                ],
            }
        )
        return
    for skipped in plan.skipped:
        console.warn(f"skipped {skipped}")
    for left in plan.dropped:
        console.info(f"left out {left.message()}")
    if plan.namespace:
        console.info(f"namespace {plan.namespace} taken out of the objects: kube install -n chooses it")
    console.print_table(
        ["FILE", "OBJECT"], [(f.path, ", ".join(f.objects)) for f in plan.files], title=None, wide_column=1
    )
    for image in plan.images:
        note = "  (no tag upstream: latest is what it pulls)" if image.tag_defaulted else ""
        if image.digest:
            note = f"  (the digest wins over the tag: change or empty images.{image.key}.digest with it)"
        console.line(f"value images.{image.key} = {image.reference}{note}")
    verb = "would write" if dry_run else "wrote"
    console.info(
        f"{verb} {target}: {len(plan.files)} manifest file(s), {len(plan.images)} image value(s), "
        f"version {plan.version}"
    )
    for item in plan.to_decide:
        console.line(f"  to decide: {item}")
    if report is not None:
        for finding in report.findings:
            console.line(
                f"  lint: {finding.location} {finding.severity.value} {finding.rule}: {finding.message}"
            )
        console.info(
            f"next: edit {target}, then kube lint --strict {target}"
            if report.findings or plan.to_decide
            else f"next: kube test {target}"
        )
