"""HTML writer: blocks → one self-contained report.html (inline CSS, figures as base64 PNG, no scripts,
no external requests of any kind)."""
from __future__ import annotations

import base64
import html
import re

from hccbayes.reports.document import Figure, Heading, Para, Table

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;line-height:1.45;
margin:0;color:#1a1a1a;background:#fff}
main{max-width:1180px;margin:0 auto;padding:1rem 1.5rem 4rem}
nav{background:#f3f5f7;border-bottom:1px solid #d8dde3;padding:.5rem 1.5rem;font-size:.9rem;position:sticky;top:0}
nav a{margin-right:1rem;color:#0b4f8a;text-decoration:none}
h1{font-size:1.6rem;margin:.8rem 0 .3rem}h2{font-size:1.3rem;border-bottom:2px solid #0072B2;padding-bottom:.2rem;
margin-top:2rem}h3{font-size:1.05rem;margin-top:1.4rem}
.guard{background:#fff6e0;border-left:4px solid #E69F00;padding:.5rem .8rem;font-size:.92rem}
.sentence{margin:.4rem 0 .4rem 1rem}
.sensitivity{margin:.2rem 0 .6rem 2.2rem;font-size:.9rem;color:#333}
.failed{margin:.4rem 0 .4rem 1rem;border-left:4px solid #D55E00;padding-left:.6rem;background:#fdeee6}
.tablewrap{overflow-x:auto;margin:.4rem 0 1rem}
table{border-collapse:collapse;font-size:.82rem;width:100%}
th,td{border-bottom:1px solid #e1e4e8;padding:.25rem .45rem;text-align:left;vertical-align:top}
th{background:#f3f5f7;border-top:2px solid #444;border-bottom:1px solid #444}
tbody tr:last-child td{border-bottom:2px solid #444}
td.bad{color:#a33a00;font-weight:600}
caption{caption-side:top;text-align:left;font-style:italic;padding:.2rem 0}
figure{margin:1rem 0 1.5rem}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.88rem;color:#333}
details summary{cursor:pointer;color:#0b4f8a;margin:.4rem 0}
"""
BOLD = re.compile(r"\*\*(.+?)\*\*")
ITALIC = (re.compile(r"(?<![\w*])\*(?![\s*])([^*\n]+?)(?<![\s*])\*(?![\w*])"),
          re.compile(r"(?<![\w])_(?![\s_])([^_\n]+?)(?<![\s_])_(?![\w])"))
LINK = re.compile(r"\[([^\]]+)\]\((#[A-Za-z0-9_-]+)\)")


def inline(text: str) -> str:
    """Escaped text with the Markdown subset the blocks use (**bold**, *italic* or _italic_,
    [text](#anchor)); underscores inside words (snake_case names) stay as they are."""
    out = html.escape(str(text), quote=True)
    out = BOLD.sub(r"<strong>\1</strong>", out)
    for pattern in ITALIC:
        out = pattern.sub(r"<em>\1</em>", out)
    return LINK.sub(r'<a href="\2">\1</a>', out)


def html_table(b: Table, number: int) -> str:
    head = "".join(f"<th>{inline(c)}</th>" for c in b.frame.columns)
    rows = []
    for row in b.frame.itertuples(index=False):
        cells = "".join(f'<td class="bad">{inline(v)}</td>' if str(v).startswith("FAILED") else f"<td>{inline(v)}</td>"
                        for v in row)
        rows.append(f"<tr>{cells}</tr>")
    table = (f'<div class="tablewrap"><table id="table-{b.name}"><caption>Table {number}. {inline(b.caption)}</caption>'
             f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>")
    if b.collapsed:
        return f"<details><summary>Show the table: {inline(b.caption)}</summary>{table}</details>"
    return table


def html_figure(b: Figure, number: int) -> str:
    data = base64.b64encode(b.files["png_bytes"]).decode("ascii")
    return (f'<figure id="figure-{b.name}"><img alt="{html.escape(b.caption)}" src="data:image/png;base64,{data}">'
            f"<figcaption>Figure {number}. {inline(b.caption)}</figcaption></figure>")


def render_html(blocks: list, title: str) -> str:
    body, nav = [], []
    n_table = n_fig = 0
    for b in blocks:
        if isinstance(b, Heading):
            body.append(f'<h{b.level} id="{b.anchor}">{inline(b.text)}</h{b.level}>')
            if b.level == 2:
                nav.append(f'<a href="#{b.anchor}">{inline(b.text)}</a>')
        elif isinstance(b, Para):
            body.append(f'<p class="{b.cls}">{inline(b.text)}</p>' if b.cls else f"<p>{inline(b.text)}</p>")
        elif isinstance(b, Table):
            n_table += 1
            body.append(html_table(b, n_table))
        elif isinstance(b, Figure):
            n_fig += 1
            body.append(html_figure(b, n_fig))
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>"
            f"<nav>{''.join(nav)}</nav><main>{''.join(body)}</main></body></html>\n")
