"""Commands: site build, site serve (the static web catalogue of the archive).

Exit codes: 0 ok; 2 bad option, an --out that is not a site, a bad --results file, a port in
use; 3 no archive (no formulas/ in --archive, no site to serve); 5 git failed reading the archive.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kube.cli import console
from kube.cli.archive import ensure_archive
from kube.cli.options import command_app
from kube.core import paths

app = command_app()
# `site` is a group (build, serve): its own small app under the module's one. Its help and
# the line `kube --help` shows come from the callback's docstring.
site_app = command_app()
app.add_typer(site_app, name="site", no_args_is_help=True)

DEFAULT_OUT = Path("_site")


@site_app.callback()
def site_group() -> None:
    """Build the static web catalogue of the archive, or preview it."""


@site_app.command("build")
def build_command(
    archive: Annotated[
        Path | None,
        typer.Option(
            "--archive", help="A formulas repository checkout (default: kube's archive, cloned if missing)."
        ),
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", help="Where to write the site (replaced whole).")
    ] = DEFAULT_OUT,
    results: Annotated[
        Path | None, typer.Option("--results", help="Test results written by scripts/ci-formulas --results.")
    ] = None,
) -> None:
    """Build the catalogue: pages, JSON API (api/kubes.json, api/kube/NAME.json) and search index."""
    # Here, not at the top: the page renderer (markdown-it, Jinja2) is for `build` only.
    from kube.site import build_site

    if archive is None:
        ensure_archive()
        archive = paths.archive_dir()
    report = build_site(archive, out, results=results)
    invalid = f", {report.invalid} invalid" if report.invalid else ""
    tested = f", {report.tested} with test results" if results is not None else ""
    console.line(
        f"Built {report.out}: {report.kubes} kubes{invalid}{tested}, {report.files} files, "
        f"{report.bytes / 1e6:.1f} MB (search index {report.search_index_bytes / 1e3:.0f} kB) "
        f"in {report.seconds:.1f}s."
    )
    console.info(
        f"Open {(report.out / 'index.html').resolve().as_uri()} or run `kube site serve --dir {out}`"
    )


@site_app.command("serve")
def serve_command(
    directory: Annotated[
        Path, typer.Option("--dir", help="The built site (from `kube site build`).")
    ] = DEFAULT_OUT,
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port on 127.0.0.1 (0 picks a free one).")
    ] = 8000,
) -> None:
    """Serve a built site on 127.0.0.1 for previewing; Ctrl-C stops it."""
    from kube.site.serve import make_server

    server = make_server(directory, port)
    bound = server.server_address[1]
    console.line(f"Serving {directory} at http://127.0.0.1:{bound}/ (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        console.info("Stopped")
    finally:
        server.server_close()
