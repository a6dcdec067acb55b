"""The web catalogue: a static site built from the archive (``kube site build``) and a local
preview server (``kube site serve``).

This package reads the archive through kube's formula and index modules and writes files; it
never prints (``kube/cli/site.py`` does). Templates and assets are package data in
``templates/`` and ``static/``.
"""

from __future__ import annotations

from kube.site.build import SiteReport, build_site

__all__ = ["SiteReport", "build_site"]
