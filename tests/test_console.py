"""How kube prints: plain columns when piped, hostile text made harmless."""

from __future__ import annotations

import enum
import io
import re
import sys
from collections.abc import Sequence

import pytest

from kube.cli import console


def test_piped_tables_are_plain_aligned_columns() -> None:
    """Scripts read piped output: no box lines, no colour codes, one row per line."""
    buffer = io.StringIO()
    real, sys.stdout = sys.stdout, buffer
    try:
        console.print_table(("NAME", "STATUS"), [("a-long-name", "ok"), ("b", "failed [/x]\x1b[2J")])
    finally:
        sys.stdout = real
    assert buffer.getvalue().splitlines() == [
        "NAME          STATUS",
        "a-long-name   ok",
        "b             failed [/x]\\x1b[2J",
    ]


def test_error_is_one_plain_line_with_control_characters_escaped(capsys: pytest.CaptureFixture[str]) -> None:
    console.error("bad \x1b]0;title\x07 name\nsecond line", "run `kube update`")
    assert capsys.readouterr().err == (
        "Error: bad \\x1b]0;title\\x07 name second line (hint: run `kube update`)\n"
    )


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_terminal_tables_escape_bidi_overrides_and_invisible_characters() -> None:
    """The Rich path: what a person sees on a terminal."""
    buffer = _Terminal()
    real, sys.stdout = sys.stdout, buffer
    try:
        console.print_table(("NAME", "DESCRIPTION"), [("a\u202eb", "x\u2066y\u200bz\ufeff\x9b[31m")])
    finally:
        sys.stdout = real
    shown = buffer.getvalue()
    for hidden in ("\u202e", "\u2066", "\u200b", "\ufeff", "\x9b"):
        assert hidden not in shown
    assert "a\\u202eb" in shown and "x\\u2066y\\u200bz\\ufeff\\x9b[31m" in shown


def test_every_bidi_control_and_invisible_format_character_is_escaped() -> None:
    bidi = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
    invisible = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u2028\u2029\U000e0001\ud800"
    c1 = "".join(chr(code) for code in range(0x80, 0xA0))
    text = console.safe(bidi + invisible + c1 + "\x00\x1b\x7f")
    assert text.isascii() and text.isprintable()
    assert text.startswith("\\u202a\\u202b") and "\\U000e0001" in text and "\\ud800" in text
    assert console.safe("tab\tnewline\né ü 日本 ✓") == "tab\tnewline\né ü 日本 ✓", (
        "ordinary text is left alone"
    )


def test_every_character_safe_line_changes_is_unprintable() -> None:
    """Tables skip safe_line when all their cells joined are printable: sound only while no
    printable character is one that safe_line escapes or folds."""
    printable = "".join(c for c in map(chr, range(0x110000)) if c.isprintable())
    assert console.safe_line(printable) == printable
    changed = [c for c in map(chr, range(0x110000)) if console.safe_line(c) != c]
    assert len(changed) > 200 and not any(c.isprintable() for c in changed)


class _Mixed(str, enum.Enum):  # noqa: UP042 (on purpose: str() is "_Mixed.OK", its characters "ok")
    OK = "ok"


def _slow_table(columns: Sequence[str], rows: Sequence[Sequence[object]], title: str | None) -> str:
    """The plain table one cell at a time: safe_line, then ljust, then rstrip of each line."""
    cells = [[console.safe_line(cell) for cell in row] for row in rows]
    widths = [len(column) for column in columns]
    for row in cells:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=False)]
    lines = [title] if title else []
    for row in [list(columns), *cells]:
        lines.append("   ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip())
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("columns", "rows", "title"),
    [
        (
            ("NAME", "VERSION", "DESCRIPTION"),
            [("a", "1.0", "plain"), ("bbbbbbbbbbbb", "10.20.30", "x")],
            None,
        ),
        (
            ("NAME", "VERSION", "DESCRIPTION"),
            [("a", "1", "trailing   "), ("b", "2", ""), ("c", "", "")],
            None,
        ),
        (
            ("NAME", "DESCRIPTION"),
            [("tab\there", "no-break\u00a0space\u00a0"), ("日本", "ends\t")],
            "A title",
        ),
        (("NAME", "DESCRIPTION"), [("a\u202eb", "x\x1b[31my\r\nz"), ("ok", "fine")], None),
        (("NAME", "DESCRIPTION"), [("lone\ud800", "\u2028line"), ("w", "\x9b\x7f\x00")], None),
        (("NAME", "STATUS"), [(_Mixed.OK, "up"), ("b", _Mixed.OK)], None),
        (("NAME", "COUNT", "WHEN"), [("a", 3, None), ("b", 10.5, True)], None),
        (("A", "B", "C"), [("short",), ("x", "y", "z", "extra"), ("p", "q")], None),  # ragged
        (("ONLY",), [("one",), ("three  ",)], None),
        (("NAME", "VERSION"), [], None),
        (("NAME", "VERSION"), [], "empty"),
    ],
)
def test_plain_table_is_the_cell_by_cell_table(
    columns: Sequence[str], rows: list[Sequence[object]], title: str | None
) -> None:
    buffer = io.StringIO()
    real, sys.stdout = sys.stdout, buffer
    try:
        console.print_table(columns, iter(rows), title=title)  # any iterable, read once
    finally:
        sys.stdout = real
    assert buffer.getvalue() == _slow_table(columns, rows, title)


def _on_terminal(columns: Sequence[str], rows: list[Sequence[object]]) -> str:
    buffer = _Terminal()
    real, sys.stdout = sys.stdout, buffer
    try:
        console.print_table(columns, rows)
    finally:
        sys.stdout = real
    return buffer.getvalue()


def _many_rows(count: int, description: str) -> list[Sequence[object]]:
    return [(f"app-{i}", f"1.{i % 13}.0", f"{description} {i}") for i in range(count)]


def test_a_terminal_table_of_many_rows_is_laid_out_as_rich_lays_it_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past _RICH_ROWS rows kube lays the table out itself (Rich took 0.75 s for 3,300): the
    same characters as Rich's table, but for the styles and trailing spaces."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    monkeypatch.setenv("COLUMNS", "100")
    rows = _many_rows(console._RICH_ROWS + 50, "A database that fits on one line")
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for column in ("NAME", "VERSION", "DESCRIPTION"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*map(str, row))
    rich_text = io.StringIO()
    Console(file=rich_text, width=100, color_system=None, highlight=False, soft_wrap=True).print(table)
    shown = _on_terminal(("NAME", "VERSION", "DESCRIPTION"), rows)
    assert shown.splitlines() == [line.rstrip() for line in rich_text.getvalue().splitlines()]
    assert "\x1b" not in shown


def test_a_long_last_column_wraps_within_its_column_on_a_narrow_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    words = "a cache for the cluster with replicas and a backup every night and \x1b[2J more"
    rows = _many_rows(console._RICH_ROWS + 1, words)
    lines = _on_terminal(("NAME", "VERSION", "DESCRIPTION"), rows).splitlines()
    assert all(len(line) <= 60 for line in lines), max(lines, key=len)
    indent = lines[2].index("a cache")
    first = next(i for i, line in enumerate(lines) if line.startswith("app-7 "))
    block = [lines[first]]
    for line in lines[first + 1 :]:
        if not line.startswith(" "):
            break
        block.append(line)
    assert len(block) > 1 and all(line[:indent].strip() == "" for line in block[1:])
    text = " ".join(line[indent:] for line in block)
    assert text == words.replace("\x1b", "\\x1b") + " 7"  # escaped, and not a word lost


def test_a_terminal_table_with_wide_characters_before_its_last_column_is_rich_s(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A name of wide characters is as wide on the screen as two ASCII letters each: Rich
    measures it, kube's own layout would not, so that table stays Rich's."""
    monkeypatch.setenv("COLUMNS", "100")
    rows = [*_many_rows(console._RICH_ROWS + 1, "plain"), ("数据库", "1.0.0", "wide name")]
    shown = re.sub(r"\x1b\[[0-9;]*m", "", _on_terminal(("NAME", "VERSION", "DESCRIPTION"), rows))
    lines = shown.splitlines()
    version_at = lines[0].index("VERSION")
    wide = next(line for line in lines if line.startswith("数据库"))
    from rich.cells import cell_len

    assert cell_len(wide[: wide.index("1.0.0")]) == version_at


def test_json_output_never_holds_nan_or_infinity(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    console.print_json({"ratio": float("nan"), "limits": [float("inf"), -float("inf"), 1.5]})
    text = capsys.readouterr().out

    def refuse(constant: str) -> None:
        raise AssertionError(f"not JSON: {constant}")

    assert json.loads(text, parse_constant=refuse) == {"ratio": ".nan", "limits": [".inf", "-.inf", 1.5]}
