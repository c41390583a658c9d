"""The report page: one self-contained HTML file people explore offline.

Everything is inline: the style, the script and the data (``page_data``), so the page
works from ``file://``, from a CI artifact, or mailed, with no network. A content
security policy of ``default-src 'none'`` makes that a promise the browser keeps: the
page cannot fetch anything even by mistake. The script and style are package files
(``page_assets/``), read once; no framework, because a chart of a few thousand points
needs none.
"""

from __future__ import annotations

import functools
import html
import json
from importlib import resources
from typing import Any

from autograd_mem.reporters.page_data import view

_TEMPLATE = """\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; \
style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<meta name="color-scheme" content="light dark">
<title>{title}</title>
<style>
{style}
</style>
</head>
<body>
<main id="report" aria-live="polite"><noscript>This report draws itself with JavaScript;
its figures are in the JSON below and in <code>agmem report FILE</code>.</noscript></main>
<script type="application/json" id="agmem-data">{data}</script>
<script>
{script}
</script>
</body>
</html>
"""


@functools.cache
def _asset(name: str) -> str:
    return resources.files("autograd_mem.reporters").joinpath("page_assets", name).read_text(
        encoding="utf-8"
    )


def _script_safe_json(data: Any) -> str:
    """JSON that cannot end its ``<script>`` element early: every ``<`` is escaped."""
    text = json.dumps(data, separators=(",", ":"), allow_nan=False, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def render_data(data: dict[str, Any], title: str) -> str:
    """The page for a view already built (``page_data.view``, or the pytest plugin's)."""
    return _TEMPLATE.format(
        title=html.escape(title),
        style=_asset("page.css"),
        data=_script_safe_json({**data, "title": title}),
        script=_asset("page.js"),
    )


def render(report: object, title: str) -> str:
    """The page of any report agmem makes (a run, a comparison, a check)."""
    return render_data(view(report), title)
