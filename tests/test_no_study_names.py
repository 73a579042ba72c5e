"""No name of the flagship study in library code (issue 15 part 4): its arms, regimens, factors, populations
and table ids live in data/studies/yin2025/*.toml, and the library reads them from there.

The names are read from the study's own files, not written here, so a name added to the study is checked too.
Left out on purpose, with the reason: the registry format's own words ``all`` (the whole cohort) and ``text``
(the Results text), which every study's published.toml uses, and the outcome kinds of ``[comparisons]``
(``best_response``, ``adverse_event``: the library's vocabulary, which yin2025 uses as comparison names); and the study's column names (``age``, ``arm``,
``regimen``, ...), which are ordinary words — except the columns that name its populations' partitions
(``afp``, ``afp_change``), which are checked.
"""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from hccbayes.data.published.comparisons import OUTCOMES

ROOT = Path(__file__).resolve().parents[1]
STUDY = ROOT / "data" / "studies" / "yin2025"
PACKAGES = ("hccbayes", "models", "inference", "reports", "data")
FORMAT_WORDS = {"all", "text", *OUTCOMES}  # registry vocabulary of every published.toml, not names of this study


def _read(name: str) -> dict:
    return tomllib.loads((STUDY / name).read_text(encoding="utf-8"))


def study_names() -> set[str]:
    """Arm labels, regimen names, factor names, population names (and the variable of each population that
    is not the arm or regimen column), registry table ids and the study name, from yin2025's TOML files."""
    study, published = _read("study.toml"), _read("published.toml")
    head = study["study"]
    names = {head["name"], published["registry"]["study"]}
    names |= set(study.get("arms", {})) | set(study.get("regimens", {}))
    names |= set(study.get("factors", {}))
    names |= {f"{col}_high" for col, spec in study.get("columns", {}).items() if "cutoff" in spec}
    generic_columns = {head.get("arm_column"), head.get("regimen_column")}
    for pop in published.get("populations", {}):
        names.add(pop)
        variable, sep, _ = pop.partition(":")
        if sep and variable not in generic_columns:
            names.add(variable)
    names |= set(published.get("tables", {})) | set(published.get("comparisons", {}))
    return names - FORMAT_WORDS


def pattern(names: set[str]) -> re.Pattern:
    """Each name as a whole word: not inside a longer identifier (``REG`` is not found in ``REGISTRY``)."""
    alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return re.compile(rf"(?<![\w+\-])(?:{alternatives})(?![\w+\-])")


def library_files() -> list[Path]:
    studies = ROOT / "data" / "studies"
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py") if studies not in p.parents)


def occurrences(files: list[Path], names: set[str]) -> list[str]:
    rx = pattern(names)
    hits = []
    for path in files:
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            for m in rx.finditer(line):
                where = path.relative_to(ROOT) if ROOT in path.parents else path
                hits.append(f"{where}:{i}: {m.group(0)!r} in {line.strip()[:100]}")
    return hits


def test_names_come_from_the_study_files():
    """The list is read from the TOML files and holds each kind of name (a guard against an empty list)."""
    names = study_names()
    for expected in ("yin2025", "TKI", "TKI+ICI", "REG-ICI", "tki_ici", "anri_high", "arm:TKI",
                     "afp_change:elevated", "afp_change", "t3", "t6", "afp_change_response"):
        assert expected in names
    assert not names & FORMAT_WORDS


def test_library_code_names_no_study():
    hits = occurrences(library_files(), study_names())
    assert not hits, "yin2025 names in library code (declare them in the study folder):\n" + "\n".join(hits)


@pytest.mark.parametrize("line", ['ARMS = ("arm:TKI", "arm:TKI+ICI")', 'tables = ("t4", "t5")',
                                  'terms = ["tki_ici"]', "regimen REG-ICI", "default study yin2025"])
def test_a_name_put_back_is_found(tmp_path, line):
    """The check fails on each kind of name (the mutation the test exists for) ..."""
    f = tmp_path / "mod.py"
    f.write_text(f"x = 1\n{line}\n", encoding="utf-8")
    assert occurrences([f], study_names())


@pytest.mark.parametrize("line", ["REGISTRY = {}", "t34 = 1", "tki_ici_like = 2", "label = 'all'",
                                  'kind = "text"', "start = 2.8"])
def test_words_that_only_contain_a_name_are_not_found(tmp_path, line):
    """... and not on identifiers that merely contain one, nor on the registry format's own words."""
    f = tmp_path / "mod.py"
    f.write_text(f"{line}\n", encoding="utf-8")
    assert not occurrences([f], study_names())
