"""How kube prints: plain columns when piped, hostile text made harmless."""

from __future__ import annotations

import io
import sys

import pytest

from kube import console


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
