"""Output for the CLI: Rich on a terminal, plain text when piped; prompts; hostile text made safe.

Everything printed that came from a formula (names, descriptions, messages of
kubectl) goes through ``safe`` first: formulas come from strangers, and a
description holding terminal escape sequences must print as harmless text.
Consoles are created per call so that output follows ``sys.stdout`` as it is
now (the test runner swaps it).
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import math
import os
import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, TextIO, cast

from kube.core.text import is_safe, safe, safe_line

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["is_safe", "safe", "safe_line"]

# Output that is not a terminal is read by scripts, grep and awk: plain text,
# aligned columns without box lines or colour, never folded. It also skips
# importing Rich (~40 ms), which keeps `kube search | ...` quick.
_COLUMN_GAP = "   "
_SHORT_COLUMN = 20
# Past this many rows a terminal gets kube's own table (Rich's layout without its styles)
# instead of Rich's: Rich measures and lays out every cell, about 0.23 ms a row, so a search
# with 3,300 hits spent 0.75 s printing them.
_RICH_ROWS = 200
# A last column narrower than this on the terminal is not wrapped (the terminal folds the line).
_NARROWEST_WRAP = 20


def _console(stream: TextIO) -> Console:
    from rich.console import Console

    return Console(file=stream, highlight=False, soft_wrap=True)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except ValueError:  # closed
        return False


def print_json(data: Any) -> None:
    """JSON on stdout. ``ensure_ascii`` writes every non-ASCII character (U+202E
    included) and every control character as a ``\\uXXXX`` escape: the output is
    plain ASCII, harmless on a terminal, and still decodes to the exact value."""
    try:
        text = json.dumps(data, indent=2, default=str, ensure_ascii=True, allow_nan=False)
    except ValueError:  # NaN or an infinity (a value from YAML's .nan, .inf): not JSON
        text = json.dumps(_finite(data), indent=2, default=str, ensure_ascii=True, allow_nan=False)
    sys.stdout.write(text + "\n")


def _finite(value: Any) -> Any:
    """``value`` with NaN and the infinities written as YAML writes them (".nan", ".inf",
    "-.inf"): strings, since JSON has no such number (jq, Go and JavaScript refuse them)."""
    if isinstance(value, float) and not math.isfinite(value):
        return ".nan" if math.isnan(value) else (".inf" if value > 0 else "-.inf")
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _emit(parts: Sequence[tuple[str, str]], *, stderr: bool) -> None:
    """Print (text, style) parts as one line: styled on a terminal, plain otherwise."""
    stream = sys.stderr if stderr else sys.stdout
    if not _is_terminal(stream):
        stream.write("".join(text for text, _ in parts) + "\n")
        stream.flush()
        return
    from rich.text import Text

    message = Text()
    for text, style in parts:
        message.append(text, style=style)
    _console(stream).print(message)


def line(text: str = "", *, style: str | None = None, stderr: bool = False) -> None:
    """Print untrusted text literally (no Rich markup is interpreted)."""
    _emit([(safe(text), style or "")], stderr=stderr)


def info(text: str) -> None:
    """A status message for people (``==>`` like Homebrew), on stderr."""
    _emit([("==> ", "bold blue"), (safe(text), "bold")], stderr=True)


def warn(text: str) -> None:
    _emit([("Warning: ", "bold yellow"), (safe(text), "")], stderr=True)


def error(text: str, hint: str | None = None) -> None:
    parts = [("Error: ", "bold red"), (safe_line(text), "")]
    if hint:
        parts.append((f" (hint: {safe_line(hint)})", "dim"))
    _emit(parts, stderr=True)


def print_table(
    columns: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    title: str | None = None,
    row_styles: Sequence[str] | None = None,
    wide_column: int | None = None,
) -> None:
    """A table on stdout: Rich on a terminal, plain aligned columns when piped.

    ``row_styles`` colours whole rows on a terminal; ``wide_column`` is the
    column that keeps room (36 characters at least) when a terminal is narrow.
    Short columns (statuses, rule ids) are never folded.
    """
    cells = _safe_cells(rows)
    if not _is_terminal(sys.stdout):
        _plain_table(columns, cells, title)
        return
    if len(cells) > _RICH_ROWS and row_styles is None and _aligned_by_length(columns, cells):
        _long_terminal_table(columns, cells, title)
        return
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for index, column in enumerate(columns):
        longest = max((len(row[index]) for row in cells if index < len(row)), default=0)
        table.add_column(
            column,
            overflow="fold",
            no_wrap=longest <= _SHORT_COLUMN,
            min_width=36 if index == wide_column else None,
        )
    for index, row in enumerate(cells):
        style = row_styles[index] if row_styles else None
        # Text, not str: a plain string cell would be parsed as Rich markup.
        table.add_row(*(Text(cell) for cell in row), style=style)
    _console(sys.stdout).print(table)


def _safe_cells(rows: Iterable[Sequence[object]]) -> list[Sequence[str]]:
    """Every cell through ``safe_line``. When every cell is a ``str`` and not one holds a
    character that would change (one scan of them all, in C), the rows as they are: thousands
    of rows (a search with many hits) then cost no Python step per cell."""
    rows = list(rows)
    # Exactly str: the str() of a subclass (an Enum mixin) may differ from its characters.
    if set(map(type, itertools.chain.from_iterable(rows))) <= {str}:
        cells = cast("list[Sequence[str]]", rows)
        # What safe_line changes are single characters (a class of them, CR and LF): a cell
        # holds one exactly when the cells joined by a space do. None is printable
        # (tests/test_console.py checks every code point), so a printable whole is safe in one
        # step; one with a tab, a no-break space... is checked by the pattern itself.
        whole = " ".join(itertools.chain.from_iterable(cells))
        if whole.isprintable() or (is_safe(whole) and "\n" not in whole and "\r" not in whole):
            return cells
    return [[safe_line(cell) for cell in row] for row in rows]


def _plain_table(columns: Sequence[str], cells: Sequence[Sequence[str]], title: str | None) -> None:
    lines = [title] if title else []
    if columns and set(map(len, cells)) <= {len(columns)}:
        # Every row as wide as the header: one format string pads a row's cells (all but the
        # last, whose padding rstrip would take off again).
        widths = [max(map(len, column)) for column in zip(columns, *cells, strict=True)]
        form = "".join(f"%-{width}s{_COLUMN_GAP}" for width in widths[:-1]) + "%s"
        lines += [(form % tuple(row)).rstrip() for row in [columns, *cells]]
        sys.stdout.write("\n".join(lines) + "\n")
        return
    widths = [len(column) for column in columns]
    for row in cells:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=False)]
    for row in [list(columns), *cells]:
        padded = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        lines.append(_COLUMN_GAP.join(padded).rstrip())
    sys.stdout.write("\n".join(lines) + "\n")


def _aligned_by_length(columns: Sequence[str], cells: Sequence[Sequence[str]]) -> bool:
    """Whether a row's length is its width on the terminal in every column but the last: every
    row is as wide as the header, and those columns are ASCII (no wide or combining characters)."""
    if not columns or set(map(len, cells)) != {len(columns)}:
        return False
    return all(" ".join(column).isascii() for column in list(zip(columns, *cells, strict=True))[:-1])


def _long_terminal_table(columns: Sequence[str], cells: Sequence[Sequence[str]], title: str | None) -> None:
    """Many rows on a terminal: Rich's layout (a rule under the header, columns three spaces
    apart), the last column wrapped at word boundaries to the terminal's width, unstyled."""
    import shutil
    import textwrap

    terminal = shutil.get_terminal_size().columns
    widths = [max(map(len, column)) for column in zip(columns, *cells, strict=True)]
    form = "".join(f"%-{width}s{_COLUMN_GAP}" for width in widths[:-1])
    indent = " " * (sum(widths[:-1]) + len(_COLUMN_GAP) * (len(widths) - 1))
    room = terminal - len(indent)
    # Rich's choice: its box characters unless the stream's encoding is not a UTF one.
    encoding = (getattr(sys.stdout, "encoding", None) or "utf-8").lower()
    underline = "\u2500" if encoding.startswith("utf") else "-"
    lines = [title] if title else []
    lines += [
        (form % tuple(columns[:-1]) + columns[-1]).rstrip(),
        underline * min(terminal, len(indent) + widths[-1]),
    ]
    for row in cells:
        last = row[-1]
        if len(last) <= room or room < _NARROWEST_WRAP:
            lines.append((form % tuple(row[:-1]) + last).rstrip())
            continue
        parts = textwrap.wrap(last, room, break_on_hyphens=False) or [""]
        lines.append(form % tuple(row[:-1]) + parts[0])
        lines += [indent + part for part in parts[1:]]
    sys.stdout.write("\n".join(lines) + "\n")


def is_interactive() -> bool:
    # None when kube was started with stdin closed (`<&-`): no terminal, as when it is a pipe.
    return sys.stdin is not None and _is_terminal(sys.stdin)


def confirm(question: str, *, default: bool = False) -> bool:
    """Ask a yes/no question on the terminal: ``Continue? [y/N]``."""
    suffix = " [Y/n] " if default else " [y/N] "
    sys.stderr.write(safe_line(question) + suffix)
    sys.stderr.flush()
    try:
        # A closed stdin (`<&-`, with KUBE_INTERACTIVE=1) answers as an empty one does: the default.
        answer = sys.stdin.readline() if sys.stdin is not None else ""
    except (OSError, ValueError):
        answer = ""
    if not answer:
        return default
    answer = answer.strip().lower()
    if not answer:
        return default
    return answer in ("y", "yes")


# -- the streams themselves ----------------------------------------------------------------------
#
# The messages of kube and of formulas hold characters a locale's encoding may lack (kube's own
# "→", a description in any script): under ISO-8859-1 a strict encoder made every such line an
# internal error. Output degrades instead: a few of kube's own marks have ASCII spellings, any
# other character becomes "?".
_ASCII_SPELLINGS = {
    "\u2192": "->", "\u2190": "<-", "\u2026": "...", "\u2014": "--", "\u2013": "-",
    "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2500": "-", "\u00a0": " ",
}  # fmt: skip
DEGRADE = "kube-degrade"


def _degrade(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    lost = exc.object[exc.start : exc.end]
    return "".join(_ASCII_SPELLINGS.get(ch, "?") for ch in lost), exc.end


class _Output(io.TextIOWrapper):
    """stdout on its buffer: a write that fails (a full disk, a descriptor not open for
    writing) is an ``OutputError``, one line; a reader that went away stays a BrokenPipeError."""

    def write(self, text: str) -> int:
        try:
            return super().write(text)
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise _output_error(exc) from None

    def flush(self) -> None:
        try:
            super().flush()
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise _output_error(exc) from None


class _QuietOutput(io.TextIOWrapper):
    """stderr: a message that cannot be written has nobody left to tell, and must not turn an
    error already being reported into another."""

    def write(self, text: str) -> int:
        try:
            return super().write(text)
        except OSError:
            return len(text)

    def flush(self) -> None:
        with contextlib.suppress(OSError):
            super().flush()


def _output_error(exc: OSError) -> Exception:
    from kube.core.errors import OutputError

    return OutputError(f"cannot write output: {exc.strerror or exc}")


class _ClosedOutput(io.TextIOBase):
    """What stdout is when kube was started with it closed (``>&-``): writing to it is writing
    to a reader that has gone, so kube ends as it does for a closed pipe (141)."""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        import errno

        raise BrokenPipeError(errno.EPIPE, "stdout is closed")

    def isatty(self) -> bool:
        return False


def prepare_streams() -> None:
    """Make stdout and stderr safe to write for the rest of the run (the console entry point
    calls this once; tests swap streams of their own): a closed one replaced, an encoding that
    cannot hold every character degraded, a full disk or a bad descriptor an ``OutputError``."""
    if sys.stdout is None:
        sys.stdout = _ClosedOutput()
    else:
        sys.stdout = _wrapped(sys.stdout, quiet=False)
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 (lives as long as kube)
    else:
        sys.stderr = _wrapped(sys.stderr, quiet=True)


def _wrapped(stream: TextIO, *, quiet: bool) -> TextIO:
    if type(stream) is not io.TextIOWrapper:
        return stream  # not the interpreter's own stream: leave it be
    import codecs

    try:
        codecs.lookup_error(DEGRADE)
    except LookupError:
        codecs.register_error(DEGRADE, _degrade)
    name = codecs.lookup(stream.encoding).name
    errors = stream.errors if name.startswith("utf") else DEGRADE
    stream.flush()
    kind = _QuietOutput if quiet else _Output
    return kind(
        stream.buffer,
        encoding=stream.encoding,
        errors=errors,
        line_buffering=stream.line_buffering,
        write_through=stream.write_through,
    )
