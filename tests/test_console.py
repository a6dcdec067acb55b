"""How kube prints: plain columns when piped, hostile text made harmless."""

from __future__ import annotations

import io
import sys

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
