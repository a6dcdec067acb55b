"""Making text from formulas safe to put into a page: URLs and contacts.

Control characters and bidi overrides are escaped by ``kube.core.text.safe``, the set kube
escapes in terminal output. Everything here returns plain strings; HTML escaping is Jinja's
autoescape (and markdown-it's renderer for READMEs), applied after these clean-ups.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from kube.core.text import is_safe


def web_url(text: str) -> str | None:
    """``text`` when it is an absolute http(s) URL a page may link to; None for anything else
    (``javascript:``, ``data:``, ``//host``, e-mail addresses, text with spaces)."""
    candidate = text.strip()
    if not candidate or not is_safe(candidate) or any(ch.isspace() for ch in candidate):
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
