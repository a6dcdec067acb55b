"""Rich output for the CLI: consoles, tables, prompts, and making hostile text safe.

Everything printed that came from a formula (names, descriptions, messages of
kubectl) goes through ``safe`` first: formulas come from strangers, and a
description holding terminal escape sequences must print as harmless text.
Consoles are created per call so that output follows ``sys.stdout`` as it is
now (the test runner swaps it).
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

# C0 controls except tab/newline, DEL, and C1 controls (which include CSI).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def safe(text: object) -> str:
    """Replace control characters (ESC, BEL, CSI...) with a visible escape."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))


def safe_line(text: object) -> str:
    """``safe`` and also fold newlines: for one-line fields."""
    return safe(text).replace("\r", " ").replace("\n", " ")


# Piped output is read by scripts and grep, not by eyes at 80 columns: never fold it.
_PIPE_WIDTH = 240


def _console(stream: TextIO) -> Console:
    from rich.console import Console

    width = None if stream.isatty() or os.environ.get("COLUMNS") else _PIPE_WIDTH
    return Console(file=stream, highlight=False, soft_wrap=True, width=width)


def out() -> Console:
    return _console(sys.stdout)


def err() -> Console:
    return _console(sys.stderr)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


def line(text: str = "", *, style: str | None = None, stderr: bool = False) -> None:
    """Print untrusted text literally (no Rich markup is interpreted)."""
    from rich.text import Text

    console = err() if stderr else out()
    console.print(Text(safe(text), style=style or ""))


def info(text: str) -> None:
    """A status message for people (``==>`` like Homebrew), on stderr."""
    from rich.text import Text

    message = Text("==> ", style="bold blue")
    message.append(safe(text), style="bold")
    err().print(message)


def warn(text: str) -> None:
    from rich.text import Text

    message = Text("Warning: ", style="bold yellow")
    message.append(safe(text))
    err().print(message)


def error(text: str, hint: str | None = None) -> None:
    from rich.text import Text

    message = Text("Error: ", style="bold red")
    message.append(safe_line(text))
    if hint:
        message.append(f" (hint: {safe_line(hint)})", style="dim")
    err().print(message)


def table(columns: Sequence[str], rows: Iterable[Sequence[object]], *, title: str | None = None) -> Table:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    result = Table(title=title, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for column in columns:
        result.add_column(column, overflow="fold")
    for row in rows:
        # Text, not str: a plain string cell would be parsed as Rich markup.
        result.add_row(*(Text(safe_line(cell)) for cell in row))
    return result


def print_table(
    columns: Sequence[str], rows: Iterable[Sequence[object]], *, title: str | None = None
) -> None:
    out().print(table(columns, rows, title=title))


def is_interactive() -> bool:
    return sys.stdin.isatty()


def confirm(question: str, *, default: bool = False) -> bool:
    """Ask a yes/no question on the terminal: ``Continue? [y/N]``."""
    suffix = " [Y/n] " if default else " [y/N] "
    sys.stderr.write(safe_line(question) + suffix)
    sys.stderr.flush()
    answer = sys.stdin.readline()
    if not answer:
        return default
    answer = answer.strip().lower()
    if not answer:
        return default
    return answer in ("y", "yes")
