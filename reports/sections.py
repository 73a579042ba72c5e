"""The sections of a report, as blocks (:mod:`hccbayes.reports.document`), from a :class:`RunData`.

Order: reading guide (interpretation guard), data and provenance, sentences for papers, comparisons
(primary and response first, then every other comparison), figures (survival curves, forest plots,
response densities), prior sensitivity, diagnostics, methods, reporting checklist.
"""
from __future__ import annotations

import logging
import re
from dataclasses import replace

import pandas as pd

from hccbayes.models.survival.families import FAMILIES
from hccbayes.reports.cohort_basis import basis as cohort_basis
from hccbayes.reports.document import (
    BASIS,
    Figure,
    Heading,
    Para,
    Table,
    anchor,
    comparison_frame,
    comparison_groups,
    comparison_title,
)
from hccbayes.reports.figures import CI_PROB, forest_figure, forest_rows, survival_figure
from hccbayes.reports.figures_extra import (
    diagnostics_frame,
    response_density_figure,
    sensitivity_figure,
    sensitivity_frame,
    trace_rank_figures,
)
from hccbayes.reports.kmipd_figure import reconstruction_figure
from hccbayes.reports.methods import checklist_blocks, methods_blocks
from hccbayes.reports.model_checks_section import checks_blocks
from hccbayes.reports.numbers import fmt
from hccbayes.reports.selection_section import selection_blocks
from hccbayes.reports.sentences import COHORT_TAG, NULL, comparison_kind, comparison_sentences, two_groups
from hccbayes.reports.tipping_section import tipping_blocks

log = logging.getLogger(__name__)

LEVEL = fmt(100 * CI_PROB, "count")  # the credible/confidence level of figures, e.g. "95"
ONE = fmt(NULL["ratio"], "real")
MAX_TRACE_FITS = 2  # trace/rank plots for the two worst failing fits only (each costs about a second)
# the variables of trace and rank plots: log-HRs and every family's baseline parameters
DIAG_VARS = ("log_hr", *dict.fromkeys(v for f in FAMILIES.values() for v in f.diagnostic_vars))


def primary_prior_set(run) -> str:
    plan = run.run.get("plan") or {}
    wanted = plan.get("primary_prior_set") if isinstance(plan, dict) else None
    sets = [p for p in run.table["prior_set"].unique() if p]
    for p in (wanted, "weakly_informative"):
        if p in sets:
            return p
    return sets[0] if sets else ""


def provenance_blocks(run) -> list:
    text = run.provenance
    blocks = [Heading("Data and provenance", "data"), Para(cohort_basis(run.study.cohort).guard, "guard")]
    if text:
        head = text.split("\n## ")[0].split("\n", 1)[-1].strip()
        blocks.append(Para(" ".join(head.split())))
        lim = re.search(r"\n## Known limitations[^\n]*\n(.*?)(?:\n## |\Z)", text, re.S)
        if lim:
            items = [" ".join(i.split()) for i in re.split(r"\n- ", "\n" + lim.group(1).strip()) if i.strip()]
            blocks.append(Para("Known limitations of the reconstruction (from PROVENANCE.md): "
                               + " ".join(f"({k}) {i}" for k, i in zip("abcdefghij", items))))
    fid = run.fidelity
    if fid is not None:
        rows = []
        for kind in ("hard", "soft"):
            sub = fid[fid["kind"] == kind]
            passed = sub["passed"].astype(str).str.lower().eq("true")
            rows.append({"Targets": kind, "Met": fmt(int(passed.sum()), "count"), "Of": fmt(len(sub), "count"),
                         "Missed": ", ".join(sub.loc[~passed, "target"]) or "none"})
        blocks.append(Table("fidelity", "Fidelity of the pseudo-patient cohort to the published targets "
                            "(recomputed with the reference estimators)", pd.DataFrame(rows)))
    if (rebuilt := run.km_reconstruction) is not None:  # a cohort from digitised KM curves
        blocks.append(Figure("km_reconstruction", "Patients reconstructed from the digitised Kaplan–Meier curves "
                             "(Guyot et al. 2012): digitised points, the cleaned curves and the Kaplan–Meier "
                             "curves of the cohort; numbers at risk of the published table / the cohort",
                             reconstruction_figure(rebuilt, f"Time ({run.study.time_unit})")))
    f = run.findings
    if f is not None:
        counts = f["severity"].value_counts()
        blocks.append(Para("Consistency audit of the paper's printed figures: "
                           + ", ".join(f"{fmt(int(counts.get(s, 0)), 'count')} {s}" for s in ("error", "warning", "info"))
                           + " findings (each below with the printed numbers involved)."))
        blocks.append(Table("audit", "Audit findings about the published figures",
                            f[["severity", "rule", "message", "arithmetic"]].rename(columns=str.capitalize),
                            collapsed=True))
    return blocks


def _sentence_para(s) -> Para:
    return Para(s.text, "sentence" if s.diagnostics_ok else "failed")


def sentence_blocks(run, event_labels) -> list:
    """Per comparison: the sentences of the primary prior set (one per model), then one brief line per
    other prior set ("Under the skeptical prior (...): ..."); the full sentence of every prior set is in
    the comparison's own section."""
    prior = primary_prior_set(run)
    blocks = [Heading("Sentences for papers", "sentences"), Para(cohort_basis(run.study.cohort).guard, "guard"),
              Para(f"Each comparison leads with the {prior.replace('_', ' ')} prior (the plan's primary prior "
                   "set); the other prior sets follow as one sensitivity line each, and their full sentences are "
                   "under the comparison in [Comparisons](#comparisons).")]
    by_key: dict[tuple, list] = {}
    for s in _sentences(run, event_labels):
        by_key.setdefault(s.key, []).append(s)
    for group in by_key.values():
        bases = list(dict.fromkeys(s.basis for s in group))
        for basis in bases:  # published counts and the pseudo-patient cohort: each its own lead and line
            same = [s for s in group if s.basis == basis]
            lead = [s for s in same if s.prior_set == prior] or same[:1]
            blocks += [_sentence_para(s) for s in lead]
            rest = [s.brief for s in same if s not in lead]
            if rest:
                what = f" ({basis})" if len(bases) > 1 else ""
                blocks.append(Para(f"Prior sensitivity{what}: " + " ".join(rest), "sensitivity"))
    return blocks


_SENTENCES: dict[int, tuple] = {}


def _sentences(run, event_labels) -> list:
    """The run's sentences, computed once per report (two sections use them)."""
    key = id(run.table)
    if key not in _SENTENCES or _SENTENCES[key][0] is not run.table:
        _SENTENCES.clear()
        tag = cohort_basis(run.study.cohort).sentence
        sentences = comparison_sentences(run.table, event_labels, run.population_labels, run.study.randomised_arms)
        _SENTENCES[key] = (run.table, [replace(s, text=s.text.replace(COHORT_TAG, tag),
                                               basis=tag if s.basis == COHORT_TAG else s.basis) for s in sentences])
    return _SENTENCES[key][1]


def _cohort_words(run, frame: pd.DataFrame) -> pd.DataFrame:
    """The Basis column in the words of the run's cohort (reports/cohort_basis.py)."""
    if "Basis" in frame:
        frame["Basis"] = frame["Basis"].replace(BASIS[True], cohort_basis(run.study.cohort).short)
    return frame


def comparison_blocks(run, event_labels) -> list:
    blocks = [Heading("Comparisons", "comparisons"), Para(cohort_basis(run.study.cohort).guard, "guard")]
    others = []
    sentences: dict[tuple, list] = {}
    for s in _sentences(run, event_labels):
        sentences.setdefault(s.key, []).append(s)
    for key, rows in comparison_groups(run.table):
        if comparison_kind(rows) is None:
            others.append(rows)
            continue
        title = comparison_title(rows.iloc[0])
        blocks.append(Heading(title, anchor("cmp-" + "-".join(key)), 3))
        blocks.append(Table(anchor("cmp-" + "-".join(key)), title, _cohort_words(run, comparison_frame(rows))))
        blocks += [_sentence_para(s) for s in sentences.get(tuple(key), [])]
        blocks += _fit_notes(rows)
    if others:
        blocks.append(Heading("All other comparisons", "comparisons-other", 3))
        blocks.append(Table("comparisons_other", "Every other comparison of the table (published hazard ratios "
                            "of the paper's tables, their summary-level posteriors and the Cox fits on the cohort)",
                            _cohort_words(run, comparison_frame(pd.concat(others), with_key=True)), collapsed=True))
    return blocks


def _fit_notes(rows: pd.DataFrame) -> list:
    """What happened in the Bayesian fits of a comparison: automatic refits and data the likelihood could
    not inform (no events in a group, tiny subgroups), as recorded in the table's note column."""
    bayes = rows[rows["source"].str.startswith("bayes:")]
    parts = [part.strip() for note in bayes["note"] if note for part in str(note).split(";")]
    notes = list(dict.fromkeys(p for p in parts if p.startswith("refit after") or "no events" in p
                               or p.endswith(" patients")))
    return [Para("What happened in these fits: " + "; ".join(notes) + ".", "notes")] if notes else []


def figure_name(prefix: str, key: tuple) -> str:
    """File stem of a per-comparison figure: unique per (analysis, population, endpoint, contrast)."""
    return f"{prefix}_{anchor('-'.join(str(k) for k in key if k))}"


def _two_group_contrasts(table: pd.DataFrame) -> dict[str, tuple[str, str]]:
    """analysis -> (reference, comparison) for analyses with a Bayesian HR: the HR's own contrast when it
    names two groups ("B vs A"), else the two-group contrast of another Bayesian row of the same
    analysis (a run engine may label the HR by its term, "treated", and the median difference by groups)."""
    bayes = table[table["source"].str.startswith("bayes:")]
    hr = bayes[bayes["quantity"] == "hr"]
    named = pd.concat([hr, bayes[bayes["quantity"] != "hr"]])  # the HR's own contrast first
    # only analyses whose groups have their own survival summaries (the plan's strata: arms, AFP
    # strata): a KM figure per univariable Cox row of the published tables would repeat the forest plot 100 times
    grouped = bayes["group"].fillna("") != "" if "group" in bayes else True
    stratified = set(bayes.loc[(bayes["quantity"].isin(["median", "median_diff"])) & grouped, "analysis"])
    with_hr = set(hr["analysis"]) & stratified
    out = {}
    for analysis, contrast in zip(named["analysis"], named["contrast"]):
        groups = two_groups(contrast)
        if groups and analysis not in out and analysis in with_hr:
            out[analysis] = (groups[1], groups[0])
    return out


def _stored_curves(run, analysis: str, prior: str, models) -> tuple[dict, pd.DataFrame] | None:
    """The stored posterior bands (per model) and Kaplan–Meier tables of one analysis, or None when the run
    has none for it."""
    curves, km = run.curves, run.km
    if curves is None or km is None:
        return None
    mine = curves[(curves["analysis"] == analysis) & (curves["prior_set"] == prior)]
    bands = {m: mine[mine["model"] == m] for m in models}
    steps = km[km["analysis"] == analysis]
    if steps.empty or any(b.empty for b in bands.values()):
        return None
    return bands, steps


def _survival_figures(run, prior: str, study) -> list:
    """One figure per analysis whose HR contrasts two named groups (arm, AFP stratum ...), fits of the
    primary prior set; multivariable and regimen-effect fits are left to the tables. The curves are the
    run's own (``curves.csv``, ``km.csv``)."""
    out = []
    contrasts = _two_group_contrasts(run.table)
    by_analysis: dict[str, dict] = {}
    for info in run.fits.values():
        spec = info.spec
        if (info.prior_set == prior and info.analysis in contrasts and not spec.get("regimen_effects")
                and len(spec.get("terms", ())) == 1):
            by_analysis.setdefault(info.analysis, {})[info.model] = info
    for analysis, infos in by_analysis.items():
        endpoint = next(iter(infos.values())).spec.get("endpoint", "")
        label = next((ep.label for ep in study.endpoints if ep.name == endpoint), endpoint)
        stored = _stored_curves(run, analysis, prior, infos)
        if stored is None:
            log.warning("no stored survival curves for %s (%s prior) in %s: figure left out", analysis, prior,
                        run.path)
            continue
        failed = [m for m, i in infos.items() if not i.diagnostics.get("ok", True)]
        km = stored[1]
        names = tuple(km.drop_duplicates("level").sort_values("level")["group"]) if "group" in km else contrasts[analysis]
        fig = survival_figure(*stored, names, label, run.study.time_unit)
        note = (" Diagnostics FAILED for: " + ", ".join(failed) + "." if failed else "")
        out.append(Figure(f"km_{anchor(analysis)}", f"{label}: Kaplan–Meier curves per arm (steps) with the posterior "
                          f"median and {LEVEL}% band of the standardised survival curve per model ({prior.replace('_', ' ')}"
                          f" prior); numbers at risk below the axis. Pseudo-patient cohort, not patient records.{note}",
                          fig))
    return out


def figure_blocks(run, study) -> list:
    prior = primary_prior_set(run)
    blocks = [Heading("Figures", "figures"), Para(cohort_basis(run.study.cohort).guard, "guard")]
    blocks += _survival_figures(run, prior, study)
    for prefix, name in run.study.tables.items():  # the registry's tables; those without HRs have no rows
        for endpoint in (ep.name for ep in run.study.endpoints):
            rows = forest_rows(run.table, prefix, endpoint, prior)
            if rows.empty:
                continue
            title = f"{name}, {endpoint.upper()}: hazard ratios"
            blocks.append(Figure(f"forest_{prefix}_{endpoint}", f"{title}: published {LEVEL}% CI, Cox {LEVEL}% CI on the "
                                 f"pseudo-patient cohort, posterior {LEVEL}% CrI ({prior.replace('_', ' ')} prior); "
                                 f"right: P(HR < {ONE}) of the same model under each prior set. Each label ends "
                                 "with the term's log-HR prior in the posterior shown; its prior under every set is "
                                 "in the [Methods](#methods).",
                                 forest_figure(rows, title)))
    panels: dict[str, list] = {}
    t = run.table
    for key, rows in comparison_groups(t):
        if comparison_kind(rows) != "response":
            continue
        comp, ref = two_groups(rows["contrast"].iloc[0])
        # the per-group rate rows may carry no contrast: take the endpoint's rows of the analysis
        rows = t[(t["analysis"] == key[0]) & (t["endpoint"] == key[2])]
        label = str(key[2]).split(":")[-1]  # the panel: its endpoint (CR, ORR, ...)
        panels.setdefault(key[0], []).append((rows, ref, comp, label))
    for analysis, items in panels.items():
        first = items[0][0].iloc[0]
        head = str(first["title"] or analysis)
        head = head[: -len(items[0][3]) - 2] if head.endswith(f": {items[0][3]}") else head  # the analysis' title
        title = (f"{head}: posterior of the difference in rate" if len(items) > 1
                 else f"{comparison_title(first)}: posterior of the difference in rate")
        panels_note = " (one panel per comparison)" if len(items) > 1 else ""
        blocks.append(Figure(f"response_{anchor(analysis)}", f"{title}, per prior set{panels_note}; dashed and "
                             "dotted lines at the thresholds of the posterior probabilities. Densities "
                             "from Beta posteriors recovered from the table's rate rows (exact re-analysis of the "
                             "published counts; for the clinical sets, whose rates are a log-odds model, the Beta "
                             "with the same median and interval).", response_density_figure(items, title)))
    return blocks


def sensitivity_blocks(run) -> list:
    """One figure per primary HR comparison (each model and prior set), the summary-level multivariable
    HRs, then the tipping points. The hazard ratios of the published tables have their P(HR < 1) per prior set in
    the right panel of the forest plots."""
    blocks = [Heading("Prior sensitivity", "sensitivity"), Para(cohort_basis(run.study.cohort).guard, "guard"),
              Para("The hazard ratios of the published tables show their prior sensitivity in the "
                   "forest plots under [Figures](#figures): the right panel gives P(HR < 1) under each prior set.")]
    for key, rows in comparison_groups(run.table):
        if comparison_kind(rows) != "hr":
            continue
        frame = sensitivity_frame(rows)
        if len(frame) < 2:
            continue
        title = f"{comparison_title(rows.iloc[0])}: prior sensitivity"
        blocks.append(Figure(figure_name("sensitivity", key), f"{title}. Left: posterior median HR and {LEVEL}% "
                             f"CrI per model and prior set; right: P(HR < {ONE}). Hollow red points: diagnostics "
                             "failed.", sensitivity_figure(frame, title)))
    for registry_id in run.study.arm_multivariable_hrs:
        rows = run.table[run.table["registry_id"] == registry_id]
        frame = sensitivity_frame(rows)
        if len(frame) >= 2:
            title = f"{comparison_title(rows.iloc[0])}: prior sensitivity (published HR, summary level)"
            blocks.append(Figure(f"sensitivity_{anchor(registry_id)}", title + ".", sensitivity_figure(frame, title)))
    return blocks + tipping_blocks(run)


def _failures(run) -> list:
    """One line per analysis (or the model checks) that failed inside a fit or a check (run.json)."""
    failed = [f"{k}: {s.get('error', '')}" for k, s in run.run.get("analyses", {}).items()
              if s.get("status") == "failed"]
    if run.run.get("checks_error"):
        failed.append(f"model checks: {run.run['checks_error']}")
    return [Para("FAILED, no rows in this report — " + "; ".join(failed), "failed")] if failed else []


def diagnostics_blocks(run) -> list:
    blocks = [Heading("Diagnostics", "diagnostics"), *_failures(run)]
    if not run.fits:
        return blocks + [Para("No MCMC fits in this run: every Bayesian row is closed form or summary level.")]
    d = diagnostics_frame(run.fits)
    show = pd.DataFrame({"Fit": d["fit"], "Model": d["model"], "Prior set": d["prior_set"],
                         "Max R-hat": d["max_rhat"].map(lambda v: fmt(v, "rhat")),
                         "Min bulk ESS": d["min_ess_bulk"].map(lambda v: fmt(v, "count")),
                         "Min tail ESS": d["min_ess_tail"].map(lambda v: fmt(v, "count")),
                         "Divergences": d["divergences"].map(lambda v: fmt(v, "count")),
                         "Min E-BFMI": d["min_bfmi"].map(lambda v: fmt(v, "real")),
                         "Status": d["ok"].map(lambda v: "ok" if v else "FAILED")})
    blocks.append(Table("diagnostics", "MCMC diagnostics of every fit (from the fits' attrs)", show))
    failing = sorted((k for k, i in run.fits.items() if not i.diagnostics.get("ok", True)),
                     key=lambda k: -float(run.fits[k].diagnostics.get("max_rhat") or 0.0))
    if len(failing) > MAX_TRACE_FITS:
        blocks.append(Para(f"Trace and rank plots are drawn for the {fmt(MAX_TRACE_FITS, 'count')} of the "
                           f"{fmt(len(failing), 'count')} failing fits with the largest R-hat; the table above "
                           "lists every fit."))
    for key in failing[:MAX_TRACE_FITS]:
        posterior = run.fits[key].load(("posterior",))["posterior"].to_dataset()
        names = [v for v in DIAG_VARS if v in posterior]
        for kind, fig in zip(("trace", "rank"), trace_rank_figures(posterior, names)):
            blocks.append(Figure(f"{kind}_{anchor(key)}", f"{key}: {kind} plot of the parameters with the largest "
                                 "R-hat (diagnostics FAILED).", fig))
    return blocks


def report_blocks(run) -> list:
    study = run.study
    labels = {ep.name: ep.event_label for ep in study.endpoints}
    title = f"Bayesian re-analysis: {study.name}"
    blocks = [Heading(title, "top", 1), Para(study.citation), Heading("Reading this report", "interpretation"),
              Para(cohort_basis(run.study.cohort).guard, "guard")]
    for part in (provenance_blocks(run), sentence_blocks(run, labels), comparison_blocks(run, labels),
                 figure_blocks(run, study), sensitivity_blocks(run), diagnostics_blocks(run),
                 checks_blocks(run), selection_blocks(run), methods_blocks(run), checklist_blocks()):
        blocks += part
    return blocks
