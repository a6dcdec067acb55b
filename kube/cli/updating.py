"""What ``kube update`` does and prints, without Typer: the full CLI and the start-up fast path
(``kube.cli.entry``, for a plain ``kube update [-o json]``) both call ``run_update``."""

from __future__ import annotations

from kube.archive import update as archive
from kube.archive.changes import UpdateReport
from kube.cli import console
from kube.cli.archive import waiting


def _cloning(url: str) -> None:
    console.info(f"Cloning the kube archive from {url}")


def run_update(repo: str | None, branch: str | None, *, reset: bool, as_json: bool) -> None:
    report = archive.update(repo, branch, reset=reset, on_clone=_cloning, on_wait=waiting)
    if as_json:
        console.print_json(report.to_dict())
        return
    _print_update(report)


def _print_update(report: UpdateReport) -> None:
    for note in report.notes:
        console.info(note[0].upper() + note[1:])
    for warning in report.warnings:
        console.warn(f"{warning.path} {warning.message}")
    if report.kube_warning:
        console.warn(report.kube_warning)
    if report.cloned:
        console.line(f"Cloned {report.url} ({report.branch}): {report.count} kubes.")
        return
    if report.up_to_date:
        console.line("Already up-to-date.")
        return
    console.line(
        f"Updated the archive from {report.url} ({(report.old_commit or '?')[:8]}..{report.new_commit[:8]})."
    )
    sections: list[tuple[str, list[str]]] = [
        ("New kubes", [f"{name} {version or '(invalid)'}" for name, version in report.new]),
        ("Updated kubes", [_updated(name, old, new) for name, old, new in report.updated]),
        ("Renamed kubes", [f"{old} → {new}" for old, new in report.renamed]),
        ("Deleted kubes", list(report.deleted)),
    ]
    for title, lines in sections:
        if lines:
            console.line(f"==> {title}", style="bold")
            for text in lines:
                console.line(text)
    if not any(lines for _, lines in sections):
        console.line("No kubes changed.")


def _updated(name: str, old: str, new: str) -> str:
    new = new or "(invalid)"
    return f"{name} {old} → {new}" if old and old != new else f"{name} {new}"
