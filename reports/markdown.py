"""Markdown writer: blocks → report.md (figures linked as files under figures/)."""
from __future__ import annotations

from hccbayes.reports.document import Figure, Heading, Para, Table


def _cell(v) -> str:
    return str(v).replace("|", "\\|").replace("\n", " ")


def md_table(frame) -> str:
    head = "| " + " | ".join(_cell(c) for c in frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    rows = ["| " + " | ".join(_cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([head, rule, *rows])


def render_markdown(blocks: list) -> str:
    out: list[str] = []
    n_table = n_fig = 0
    for b in blocks:
        if isinstance(b, Heading):
            out.append(f'{"#" * b.level} {b.text} <a id="{b.anchor}"></a>')
        elif isinstance(b, Para):
            text = b.text
            if b.cls == "guard":
                text = "> **Interpretation.** " + text
            elif b.cls == "failed":
                text = "- **[diagnostics failed]** " + text
            elif b.cls == "sentence":
                text = "- " + text
            elif b.cls == "sensitivity":
                text = "  - " + text
            out.append(text)
        elif isinstance(b, Table):
            n_table += 1
            out.append(f"*Table {n_table}. {b.caption}* (tables/{b.name}.csv, tables/{b.name}.tex)")
            out.append(md_table(b.frame))
        elif isinstance(b, Figure):
            n_fig += 1
            out.append(f"![{b.name}](figures/{b.name}.png)")
            out.append(f"*Figure {n_fig}. {b.caption}* (figures/{b.name}.svg)")
    return "\n\n".join(out) + "\n"
