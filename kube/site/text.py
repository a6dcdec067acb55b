"""Making text from formulas safe to put into a page: control characters, bidi overrides, URLs.

Everything here returns plain strings; HTML escaping is Jinja's autoescape (and markdown-it's
renderer for READMEs), applied after these clean-ups.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# C0 controls except tab and newline, DEL, C1 controls, and the bidirectional overrides and
# isolates that reorder what a reader sees (U+202A-U+202E, U+2066-U+2069).
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def clean(text: str) -> str:
    """``text`` with control characters and bidi overrides shown as visible escapes (``\\x1b``)."""
    return _CONTROL_RE.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else "\ufffd", text)


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
