"""Exceptions raised at the toolkit's boundaries.

Every error a user can cause (a bad cohort file, a malformed study or registry file, a wrong CLI
argument) is an :class:`HccbayesError`. The CLI maps it to exit code 2 and prints its message as one
readable block, never a traceback.
"""
from __future__ import annotations

from dataclasses import dataclass


class HccbayesError(Exception):
    """Base class of every user-facing error (CLI exit code 2)."""


@dataclass(frozen=True)
class Problem:
    """One problem found in an input file: where it is and how to fix it."""

    file: str
    message: str
    fix: str = ""
    row: int | None = None  # 1-based data row (header excluded); None for file-level problems
    column: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column is not None:
            where += f", column '{self.column}'"
        text = f"{where}: {self.message}"
        if self.fix:
            text += f" — fix: {self.fix}"
        return text


class InputError(HccbayesError):
    """One or more problems in an input file; ``problems`` lists all of them."""

    def __init__(self, problems: list[Problem] | Problem, summary: str | None = None):
        if isinstance(problems, Problem):
            problems = [problems]
        self.problems = list(problems)
        n = len(self.problems)
        head = summary or (f"{n} problem{'s' if n != 1 else ''} found")
        super().__init__(head + ":\n" + "\n".join(f"  - {p}" for p in self.problems))


class CohortError(InputError):
    """The cohort CSV does not satisfy the study's schema."""


class StudyError(InputError):
    """A study folder or its study.toml is missing or malformed."""


class RegistryError(InputError):
    """A published-figure registry (published.toml) is malformed."""


class PlanError(InputError):
    """An analysis plan is malformed."""
