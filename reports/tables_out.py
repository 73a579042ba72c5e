"""Table writers: CSV and booktabs LaTeX of a display table (strings only), both atomic."""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from hccbayes.atomic import write_text

LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                 "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                 "\u2212": "$-$", "\u2264": r"$\le$", "\u2265": r"$\ge$", "\u2013": "--"}
_LATEX_TABLE = str.maketrans(LATEX_SPECIAL)
LINK = re.compile(r"\[([^\]]+)\]\(#[^)]+\)")


def plain(text: str) -> str:
    """Markdown links and bold markers removed (for CSV and LaTeX)."""
    return LINK.sub(r"\1", str(text)).replace("**", "")


def latex_escape(text: str) -> str:
    return plain(text).translate(_LATEX_TABLE)


def to_latex(frame: pd.DataFrame, caption: str, label: str) -> str:
    """A booktabs table (needs \\usepackage{booktabs}; long tables may want longtable)."""
    cols = "l" * len(frame.columns)
    lines = [r"\begin{table}[ht]", r"\centering", r"\small", f"\\caption{{{latex_escape(caption)}}}",
             f"\\label{{tab:{label}}}", f"\\begin{{tabular}}{{{cols}}}", r"\toprule",
             " & ".join(latex_escape(c) for c in frame.columns) + r" \\", r"\midrule"]
    for row in frame.itertuples(index=False):
        lines.append(" & ".join(latex_escape(v) for v in row) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}", ""]
    return "\n".join(lines)


def write_tables(frame: pd.DataFrame, caption: str, name: str, folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    csv = write_text(folder / f"{name}.csv", frame.map(plain).to_csv(index=False))
    tex = write_text(folder / f"{name}.tex", to_latex(frame, caption, name))
    return {"csv": csv, "tex": tex}
