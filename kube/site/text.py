"""Making text from formulas safe to put into a page: control characters, bidi overrides, URLs.

Everything here returns plain strings; HTML escaping is Jinja's autoescape (and markdown-it's
renderer for READMEs), applied after these clean-ups.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# What a page would hide or reorder instead of showing, the set kube escapes in terminal output:
# C0 controls except tab and newline, DEL, C1 controls, the soft hyphen, zero-width characters,
# bidirectional marks, embeddings, overrides (U+202E) and isolates, line and paragraph
# separators, invisible operators, the BOM, interlinear annotations, tag characters and lone
# surrogates. A hostile formula could otherwise make "evil" read as "live".
_CONTROL_RE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e"
    "\u2060-\u2064\u2066-\u206f\ud800-\udfff\ufeff\ufff9-\ufffb\U000e0000-\U000e007f]"
)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def clean(text: str) -> str:
    """``text`` with those characters shown as visible escapes (``\\x1b``, ``\\u202e``)."""
    return _CONTROL_RE.sub(_escape, text)


def clean_line(text: str) -> str:
    """``clean`` and newlines folded: for fields that are one line in a page."""
    return clean(text).replace("\r", " ").replace("\n", " ")


def web_url(text: str) -> str | None:
    """``text`` when it is an absolute http(s) URL a page may link to; None for anything else
    (``javascript:``, ``data:``, ``//host``, e-mail addresses, text with spaces)."""
    candidate = text.strip()
    if not candidate or _CONTROL_RE.search(candidate) or any(ch.isspace() for ch in candidate):
        return None
    try:
        parts = urlsplit(candidate)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return candidate


_CONTACT_RE = re.compile(r"(?P<name>.*?)\s*<(?P<contact>[^<>]+)>\s*")


def contact(text: str) -> tuple[str, str | None, str]:
    """A ``Name <email-or-url>`` (or a bare URL) as (name, link or None, the contact shown as text)."""
    match = _CONTACT_RE.fullmatch(text)
    if match is None:
        url = web_url(text)
        return (text, url, "") if url else (text, None, "")
    name, where = match.group("name"), match.group("contact")
    return name or where, web_url(where), "" if web_url(where) else where
