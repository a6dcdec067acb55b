"""Text safety for everything kube shows: control and invisible characters escaped, quoting, plurals.

Formulas, clusters and child processes come from strangers: a description holding
terminal escape sequences or a bidirectional override must print as harmless,
visible text wherever it appears (tables, errors, hints, findings, hook output).
"""

from __future__ import annotations

import json
import re

# What a terminal acts on or hides instead of showing: C0 controls except tab and
# newline, DEL, C1 controls (CSI among them); and the invisible Unicode format
# characters: the soft hyphen, zero-width space/joiners, the bidirectional marks,
# embeddings, overrides (U+202E, "Trojan Source") and isolates, the line and
# paragraph separators, word joiner and invisible operators, the BOM, interlinear
# annotations and the tag characters. A hostile formula could otherwise make
# `evil` read as `live`, hide text, or reorder a table row. Lone surrogates too
# (YAML's "\udb40" escape makes one): they cannot even be encoded for printing.
_CONTROL = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e"
    "\u2060-\u2064\u2066-\u206f\ud800-\udfff\ufeff\ufff9-\ufffb\U000e0000-\U000e007f]"
)
_QUOTE_WIDTH = 60


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def safe(text: object) -> str:
    """Replace control and invisible format characters (ESC, CSI, U+202E...) with a visible escape."""
    return _CONTROL.sub(_escape, str(text))


def is_safe(text: str) -> bool:
    """No character that ``safe`` would escape."""
    return _CONTROL.search(text) is None


def safe_line(text: object) -> str:
    """``safe`` and also fold newlines: for one-line fields."""
    return safe(text).replace("\r", " ").replace("\n", " ")


def quote(value: object) -> str:
    """A value quoted for a message: JSON quoting (control characters escaped), cut at 60 characters."""
    text = value if isinstance(value, str) else str(value)
    if len(text) > _QUOTE_WIDTH:
        text = text[: _QUOTE_WIDTH - 3] + "..."
    return json.dumps(text, ensure_ascii=False)


def plural(n: int, word: str) -> str:
    """``1 object``, ``2 objects``."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def clip(text: str, limit: int, rest: str = "") -> str:
    """``text`` cut at ``limit`` characters, saying how many more there were (and ``rest``:
    where to find them). API servers explain a refused object in one message that can run to
    100 KB (each invalid field of a large CRD's schema); its start says what is wrong."""
    if len(text) <= limit:
        return text
    where = f"; {rest}" if rest else ""
    return f"{text[:limit]}... ({len(text) - limit:,} more characters{where})"
