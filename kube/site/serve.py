"""``kube site serve``: a preview of a built site on 127.0.0.1 (never another address)."""

from __future__ import annotations

import errno
import functools
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from kube.core.errors import KubeError, NotFoundError, UsageError
from kube.site.build import MARKER

HOST = "127.0.0.1"


class _Handler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the command prints; request lines would bury its one line."""

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")  # a preview shows the latest build
        self.send_header("X-Content-Type-Options", "nosniff")
        super().end_headers()


def make_server(directory: Path, port: int) -> ThreadingHTTPServer:
    """A server for the site in ``directory``, bound to 127.0.0.1:``port`` (0: a free port)."""
    if not (directory / "index.html").is_file() or not (directory / MARKER).is_file():
        raise NotFoundError(
            f"{directory} holds no site built by kube", hint=f"run `kube site build --out {directory}` first"
        )
    handler = functools.partial(_Handler, directory=str(directory.resolve()))
    try:
        server = ThreadingHTTPServer((HOST, port), handler)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise UsageError(
                f"port {port} on {HOST} is already in use", hint="choose another with --port (0 picks one)"
            ) from None
        raise KubeError(f"cannot listen on {HOST}:{port}: {exc.strerror}") from None
    server.daemon_threads = True
    return server
