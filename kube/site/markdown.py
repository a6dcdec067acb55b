"""Formula READMEs rendered from Markdown: they come from strangers, so nothing in them is trusted.

markdown-it-py (CommonMark, the parser Rich already depends on) with raw HTML off: ``<script>``
in a README is text. Links are kept only when they point to http(s) or inside the page (``#x``);
a relative link to one of the formula's files points to the formula's source when the site
knows where that is, and is plain text otherwise (the site does not publish those files).
Images become links: a page loads nothing from another host (its Content-Security-Policy would
refuse it anyway).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urljoin, urlsplit

from markdown_it import MarkdownIt
from markdown_it.token import Token

from kube.core.text import safe
from kube.site.text import web_url

README_LIMIT = 256 * 1024
_SCHEME_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def _allowed(url: str) -> bool:
    """What markdown-it may turn into a link at all: http(s), or relative without a scheme."""
    text = url.strip()
    if text.startswith("//"):
        return False
    if _SCHEME_RE.match(text):
        return web_url(text) is not None
    return True


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable("table")
    md.enable("strikethrough")
    md.validateLink = _allowed  # type: ignore[method-assign]
    md.add_render_rule("image", _render_image)
    return md


def _render_image(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    token = tokens[idx]
    alt = self.renderInlineAsText(token.children or [], options, env) or "image"
    src = str(token.attrGet("src") or "")
    escape = _escape
    url = web_url(src)
    if url is None:
        return f'<span class="image-alt">[{escape(alt)}]</span>'
    return f'<a href="{escape(url)}" rel="nofollow noopener noreferrer">[image: {escape(alt)}]</a>'


def _escape(text: str) -> str:
    from markdown_it.common.utils import escapeHtml

    return escapeHtml(text)


def _fix_links(tokens: Sequence[Token], source: str | None) -> None:
    for token in tokens:
        if token.children:
            _fix_links(token.children, source)
        if token.type != "link_open":
            continue
        href = str(token.attrGet("href") or "")
        if href.startswith("#"):
            continue
        url = web_url(href)
        if url is None and source is not None and not _SCHEME_RE.match(href):
            url = web_url(urljoin(source, href))
        if url is None or not urlsplit(url).netloc:
            token.tag = "span"  # the closing token is matched below by nesting
            token.attrs = {"class": "dropped-link", "title": "link not published on this site"}
            token.meta["dropped"] = True
            continue
        token.attrs = {"href": url, "rel": "nofollow noopener noreferrer"}
    _close_spans(tokens)


def _close_spans(tokens: Sequence[Token]) -> None:
    stack: list[Token] = []
    for token in tokens:
        if token.type == "link_open":
            stack.append(token)
        elif token.type == "link_close" and stack and stack.pop().meta.get("dropped"):
            token.tag = "span"


_MD: MarkdownIt | None = None


def render(text: str, *, source: str | None = None) -> str:
    """The README as HTML (escaped and sanitised); ``source`` is the http(s) URL of the formula's
    directory, for relative links, when known."""
    global _MD
    if _MD is None:
        _MD = _parser()
    if len(text) > README_LIMIT:
        text = text[:README_LIMIT] + "\n\n*(README truncated)*\n"
    tokens = _MD.parse(safe(text.replace("\r\n", "\n").replace("\r", "\n")))
    _fix_links(tokens, source.rstrip("/") + "/" if source else None)
    return str(_MD.renderer.render(tokens, _MD.options, {}))
