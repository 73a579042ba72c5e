"""Which published hazard ratios a summary-level re-analysis may use, and with which standard error: the
audit of the published figures (:func:`hccbayes.data.published.audit.audit`) decides, and every decision is
said in the rows' notes.

A printed "HR (95% CI)" is read as y = ln HR with SE = (ln upper − ln lower) / (2·1.96)
(:func:`hccbayes.models.summary_hr.log_hr_likelihood`). That reading needs the three numbers to agree. Rules,
in this order:

1. **A quantity printed twice is analysed once.** Entries that measure the same thing (same registry key:
   measure, population, endpoint, model, factor), e.g. a Results-text HR repeating a Table 4 cell, are one
   quantity: the first of them, in the order (no error-level audit finding, a table before the text, registry
   order), is analysed; the others keep their ``published`` row with a note naming the one analysed.
2. **An estimate off its CI** (audit rule ``e.ratio_ci`` at severity error: the estimate is not at the CI's
   geometric centre, beyond rounding) means the CI cannot be the estimate ± 1.96 SE. The SE is **re-derived
   from the printed p-value** — two-sided Wald, SE = |ln HR| / Φ⁻¹(1 − p/2) — when a p is printed as a number
   (not "< 0.001"), 0 < p < 1 and HR ≠ 1; the note gives the arithmetic, the SE range over the rounding of p and
   the SE the CI would have given. Otherwise the entry is **excluded** (published row only, note says why).
3. **A p-value that disagrees with a self-consistent CI** (``f.p_vs_ci`` at severity error without an
   ``e.ratio_ci`` error: the estimate sits at the CI's centre) leaves the SE from the CI — estimate and CI
   agree, the p is the odd one out — and the note says so.
4. Findings of lower severity (warning, info) are named in the note; the numbers are used as printed.

The ANRI example of issue 16: the Results text prints HR 0.23 (0.08–0.26), p = 0.004 for the Table 4 cell
0.23 (0.08–0.62), p = 0.004; the text entry is the same quantity (rule 1) and its CI is off its estimate, so
only the table's entry is analysed (SE 0.522), not the text's (SE 0.301 from its CI: a posterior 1.7 times too
narrow). Table 4's SN multivariable PFS cell 0.47 (0.08–0.62), p = 0.402 is rule 2: SE = 0.755 / 0.838 = 0.901.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import special

from hccbayes.data.published.registry import Entry
from hccbayes.models.summary_hr import log_hr_likelihood

RULES = ("e.ratio_ci", "f.p_vs_ci", "h.duplicate")  # the audit rules about a printed HR (95% CI) and its p


@dataclass(frozen=True)
class SummaryInput:
    """One published HR as the summary-level analysis uses it: ``y``/``se`` of the normal likelihood of ln HR
    (None when the entry is not analysed), ``status`` (as printed | re-derived | excluded | duplicate) and the
    note every row of the entry carries."""

    entry: Entry
    p_entry: Entry | None
    y: float | None
    se: float | None
    status: str
    note: str

    @property
    def analysed(self) -> bool:
        return self.se is not None


def _z_of_p(p: float) -> float:
    return float(-special.ndtri(p / 2))  # Φ⁻¹(1 − p/2)


def se_from_p(hr: float, p: float) -> float:
    """SE of ln HR that makes the two-sided Wald p of ln HR equal ``p``: |ln HR| / Φ⁻¹(1 − p/2)."""
    return abs(math.log(hr)) / _z_of_p(p)


def _findings_of(entry: Entry, p_entry: Entry | None, findings) -> list:
    ids = {entry.id} | ({p_entry.id} if p_entry is not None else set())
    return [f for f in findings if f.rule in RULES and ids & set(f.entries)]


def _has_error(found, rule: str) -> bool:
    return any(f.rule == rule and f.severity == "error" for f in found)


def _rederive(entry: Entry, p_entry: Entry | None, ci_se: float) -> tuple[float | None, str]:
    """(SE from the printed p, the note) or (None, why it cannot be)."""
    if p_entry is None or p_entry.p_bound != "=" or not 0 < p_entry.p < 1 or entry.estimate == 1:
        printed = "no p-value is printed" if p_entry is None else f"the printed p ({p_entry.raw}) cannot give it"
        return None, (f"excluded: the printed CI ({entry.lower:g}-{entry.upper:g}) is not centred on the estimate "
                      f"{entry.estimate:g} (audit e.ratio_ci), so it gives no SE, and {printed}")
    se = se_from_p(entry.estimate, p_entry.p)
    half = 0.5 * 10.0 ** -p_entry.decimals.get("p", 3)
    lo, hi = sorted(se_from_p(entry.estimate, min(max(p, 1e-300), 1 - 1e-12))
                    for p in (p_entry.p - half, p_entry.p + half))
    return se, (f"SE re-derived from the printed p = {p_entry.raw} (two-sided Wald): |ln {entry.estimate:g}| / "
                f"{_z_of_p(p_entry.p):.3f} = {se:.3f} ({lo:.3f}-{hi:.3f} over the rounding of p); the printed CI "
                f"({entry.lower:g}-{entry.upper:g}) is not centred on the estimate (audit e.ratio_ci) and would "
                f"give SE {ci_se:.3f}")


def _one(entry: Entry, p_entry: Entry | None, found) -> SummaryInput:
    y, ci_se = log_hr_likelihood(entry.estimate, entry.lower, entry.upper)
    minor = "; ".join(f"audit {f.rule} ({f.severity}): {f.message}" for f in found if f.severity != "error"
                      and f.rule != "h.duplicate")
    if _has_error(found, "e.ratio_ci"):
        se, why = _rederive(entry, p_entry, ci_se)
        note = "; ".join(filter(None, (why, minor)))
        return SummaryInput(entry, p_entry, y if se else None, se, "re-derived" if se else "excluded", note)
    if _has_error(found, "f.p_vs_ci"):
        why = (f"the printed p ({p_entry.raw if p_entry else '?'}) disagrees with the CI (audit f.p_vs_ci), whose "
               "limits are centred on the estimate: the SE is taken from the CI")
        return SummaryInput(entry, p_entry, y, ci_se, "as printed", "; ".join(filter(None, (why, minor))))
    return SummaryInput(entry, p_entry, y, ci_se, "as printed", minor)


def summary_inputs(pairs, findings) -> list[SummaryInput]:
    """Every (HR entry, p entry) of ``pairs`` (:func:`hccbayes.models.summary_hr.published_hrs`) as a
    :class:`SummaryInput`, in the given order, by the rules of the module docstring."""
    found = {e.id: _findings_of(e, p, findings) for e, p in pairs}
    groups: dict[tuple, list[int]] = {}
    for i, (e, _) in enumerate(pairs):
        groups.setdefault(e.key, []).append(i)
    analysed = {}
    for members in groups.values():
        best = min(members, key=lambda i: (any(f.severity == "error" and f.rule != "h.duplicate"
                                               for f in found[pairs[i][0].id]), pairs[i][0].table == "text", i))
        for i in members:
            analysed[i] = best
    out = []
    for i, (e, p) in enumerate(pairs):
        if analysed[i] == i:
            out.append(_one(e, p, found[e.id]))
            continue
        kept = pairs[analysed[i]][0]
        differs = any(f.rule == "h.duplicate" and kept.id in f.entries for f in found[e.id])
        own = sorted({f.rule for f in found[e.id] if f.severity == "error" and f.rule != "h.duplicate"})
        note = (f"duplicate: the same quantity as {kept.id} ({kept.raw}), analysed once, there"
                + ("; the two printings disagree (audit h.duplicate)" if differs else "")
                + (f"; this printing is itself inconsistent (audit {', '.join(own)})" if own else ""))
        out.append(SummaryInput(e, p, None, None, "duplicate", note))
    return out
