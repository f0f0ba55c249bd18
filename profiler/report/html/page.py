"""The page around the plots: one HTML document, its own CSS, Bokeh's JavaScript inlined.

Nothing is fetched when the page opens: no CDN, no web font, no image. System
fonts keep it readable without downloading any.
"""

from __future__ import annotations

from html import escape

from bokeh.resources import Resources

STYLE = """
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: #222; background: #f6f7f9; margin: 0; }
main { max-width: 1400px; margin: 0 auto; padding: 16px 24px 48px; }
h1 { font-size: 22px; margin: 8px 0; }
h2 { font-size: 17px; margin: 28px 0 6px; border-bottom: 1px solid #dde; padding-bottom: 4px; }
h3 { font-size: 13px; margin: 0 0 6px; color: #555; text-transform: uppercase; letter-spacing: .04em; }
code { font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: #eef0f3;
       padding: 1px 4px; border-radius: 3px; }
.settings { color: #555; }
.verdict { background: #fff; border-left: 4px solid #4e79a7; padding: 8px 12px; }
.banner { background: #fff4e5; border-left: 4px solid #f28e2b; padding: 8px 12px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(210px, 1fr)); gap: 12px; }
.card { background: #fff; border: 1px solid #e1e4e8; border-radius: 6px; padding: 10px 14px; }
.card .line { display: flex; justify-content: space-between; gap: 8px; }
.card .label { color: #666; }
.card .figure { font-weight: 600; font-variant-numeric: tabular-nums; }
.card .shares { color: #666; font-size: 12px; margin-top: 4px; }
.note { color: #555; }
.empty { color: #666; font-style: italic; }
.plot { background: #fff; border: 1px solid #e1e4e8; border-radius: 6px; padding: 8px; }
.row { display: grid; grid-template-columns: repeat(auto-fit, minmax(480px, 1fr)); gap: 16px; }
table { border-collapse: collapse; background: #fff; margin: 6px 0; }
th, td { border: 1px solid #e1e4e8; padding: 3px 8px; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f0f2f5; }
footer { color: #777; margin-top: 32px; font-size: 12px; }
"""

# Only the core bundle: the report uses no widgets, tables, WebGL or MathJax, and
# inlining those would add about 2.6 MB that the page never runs.
BOKEH_RESOURCES = Resources(mode="inline", components=["bokeh"])


def page(title: str, body: str, plot_script: str) -> str:
    return "\n".join(
        (
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{escape(title)}</title>",
            f"<style>{STYLE}</style>",
            BOKEH_RESOURCES.render_js(),
            "</head>",
            "<body>",
            f"<main>{body}</main>",
            plot_script,
            "</body>",
            "</html>",
        )
    )
