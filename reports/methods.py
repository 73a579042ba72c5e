"""Methods paragraph and reporting checklist (BARG, ROBUST) of a report.

Everything numeric comes from the run: sampler settings, seeds and prior descriptions from the fits'
attrs, software versions from run.json (or the fits), diagnostics thresholds from
:mod:`hccbayes.inference.fitting.diagnostics`, wording thresholds from :mod:`hccbayes.reports.sentences`.

Checklists: Bayesian Analysis Reporting Guidelines (Kruschke 2021, Nature Human Behaviour 5:1282–1291;
items condensed) and ROBUST, the reporting of Bayes used in clinical studies (Sung et al. 2005, Int J
Technol Assess Health Care 21:371–377). Each item points to the report section (anchor) addressing it.
"""
from __future__ import annotations

import json

import pandas as pd

from hccbayes.inference.fitting.diagnostics import BFMI_MIN, ESS_MIN, RHAT_MAX
from hccbayes.models.priors.sets import PriorSet
from hccbayes.models.survival.families import FAMILIES
from hccbayes.models.survival.imputation import WORDS as IMPUTATION_WORDS
from hccbayes.reports.document import Heading, Para, Table
from hccbayes.reports.numbers import fmt, model_label
from hccbayes.reports.sentences import PROBABLE, STRONG
from hccbayes.reports.term_priors import rate_prior_frame, term_prior_frame

# (guideline, item, what it asks, section anchor)
CHECKLIST = (
    ("BARG", "Explain the model: likelihood, parameters and why this model", "methods"),
    ("BARG", "Report the prior and justify it; state it in words", "methods"),
    ("BARG", "Report the computation: sampler, chains, draws, seeds, software versions", "methods"),
    ("BARG", "Report MCMC diagnostics: R-hat, effective sample size, divergences", "diagnostics"),
    ("BARG", "Check the model against the data (posterior curves against Kaplan–Meier)", "figures"),
    ("BARG", "Report the posterior: central tendency and credible interval of every quantity", "comparisons"),
    ("BARG", "Report posterior probabilities of decisions at stated thresholds", "sentences"),
    ("BARG", "Report sensitivity of the posterior to the prior", "sensitivity"),
    ("BARG", "Make the analysis reproducible: data provenance, code and run record", "data"),
    ("ROBUST", "Specify the prior distributions", "methods"),
    ("ROBUST", "Justify the priors (derivation, type: vague, sceptical, enthusiastic)", "methods"),
    ("ROBUST", "Report sensitivity analysis over alternative priors", "sensitivity"),
    ("ROBUST", "Describe the statistical model", "methods"),
    ("ROBUST", "Describe the computational methods", "methods"),
    ("ROBUST", "Report the posterior distribution: central tendency", "comparisons"),
    ("ROBUST", "Report the posterior distribution: standard deviation or credible interval", "comparisons"),
)
SECTION_TITLES = {"methods": "Methods", "diagnostics": "Diagnostics", "figures": "Figures",
                  "comparisons": "Comparisons", "sentences": "Sentences for papers",
                  "sensitivity": "Prior sensitivity", "data": "Data and provenance"}


def _count(n: int, noun: str, plural: str | None = None) -> str:
    return f"{fmt(n, 'count')} {noun if n == 1 else plural or noun + 's'}"


def _settings_text(fits) -> str:
    """Sampler settings grouped: the most common with its number of fits, the others with their analyses."""
    groups: dict[tuple, list] = {}
    for f in fits.values():
        s = f.sampler
        groups.setdefault((s.get("chains"), s.get("tune"), s.get("draws"), s.get("target_accept")), []).append(f)
    parts = []
    for i, ((chains, tune, draws, ta), members) in enumerate(sorted(groups.items(), key=lambda kv: -len(kv[1]))):
        where = _count(len(members), "fit")
        if i:  # a minority setting: say which analyses use it
            names = sorted({str(f.attrs.get("analysis") or f.key) for f in members})
            where += " of " + ", ".join(names)
        parts.append(f"{fmt(chains, 'count')} chains of {fmt(tune, 'count')} tuning and {fmt(draws, 'count')} "
                     f"kept draws, target acceptance {fmt(ta, 'real')} ({where})")
    return "; ".join(parts)


def _seeds_text(run) -> str:
    plan_seed = (run.run.get("plan") or {}).get("seed")
    refits = sum(bool(f.attrs.get("refit")) for f in run.fits.values())
    text = ("Seeds: each fit has its own seed, derived from the plan seed"
            + (f" {plan_seed}" if plan_seed is not None else "") + " and the names of the analysis, model and "
            "prior set (a hash, so a re-run draws the same numbers); every fit file stores its seed, sampler "
            "settings, priors and data hash in its attributes, and run.json lists them per fit.")
    if refits:
        text += (f" {_count(refits, 'fit')} failed the diagnostics gate at first and "
                 f"{'was' if refits == 1 else 'were'} refitted once automatically (the reason is recorded in the "
                 "fit file).")
    return text


def _either(words: list[str]) -> str:
    """'a', 'a or b', 'a, b or c'."""
    return " or ".join([", ".join(words[:-1]), words[-1]] if len(words) > 2 else words)


def _baseline_text(fits) -> str:
    """Baseline-hazard and regimen priors (fixed across prior sets) of every survival family fitted, in its own
    words (:meth:`~hccbayes.models.survival.family.SurvivalFamily.describe`), with what it chose from the data."""
    survival = [f for f in fits.values() if f.model in FAMILIES]
    if not survival:
        return ""
    parts = []
    for name, fam in FAMILIES.items():
        mine = [f for f in survival if f.model == name]
        if mine:
            settings = fam.settings(PriorSet.from_json(mine[0].attrs["priors"]))
            fitted = [(str(f.attrs.get("analysis") or f.key), json.loads(f.attrs.get("fitted_spec", "{}")))
                      for f in mine]
            parts.append(fam.describe(settings, fitted, fmt))
    if any(f.spec.get("regimen_effects") for f in survival):
        tau = FAMILIES[survival[0].model].settings(PriorSet.from_json(survival[0].attrs["priors"]))["regimen_tau"]
        parts.append(f"regimen effects: deviations from their arm's log hazard ratio with sd "
                     f"τ ~ {tau.text(lambda v: fmt(v, 'real'))}, one τ per arm, centred within the arm (their "
                     "patient-weighted mean is zero), so the arm term is the contrast of the arms, not of two "
                     "typical regimens")
    return ("Baseline hazards, the same under every prior set (covariates centred, so the baseline is that of "
            "an average patient): " + "; ".join(parts) + ".") if parts else ""


def design_text(study) -> str:
    """How the study's design sets the verbs of the sentences (``randomised`` in study.toml)."""
    if study.randomised:
        return ("The study is randomised: a contrast between two of its arms is worded as an effect (\"reduced "
                "the hazard\"); every other contrast (covariates, strata, subgroups) as an association (\"was "
                "associated with a lower hazard\").")
    return ("The study is not randomised (study.toml), so its arm comparisons may be confounded by who received "
            "which treatment: every contrast, between arms and of covariates alike, is worded as an association "
            "(\"was associated with a lower hazard\"), never as an effect.")


def landmark_text(table: pd.DataFrame) -> str:
    """The landmark analyses of post-baseline covariates and the naive analyses beside them, from the rows'
    titles and notes (:mod:`hccbayes.models.survival.landmark`)."""
    first = table.drop_duplicates("analysis")
    landmark = first[first["note"].str.startswith("landmark analysis from")]
    naive = first[first["title"].str.endswith("(naive analysis from time zero)")]
    if landmark.empty and naive.empty:
        return ""
    text = ("Covariates measured after time zero (study.toml: measured_at) are not known when follow-up starts; "
            "used as baseline covariates they credit the time a patient had to survive to be measured to the "
            "group of the later value (guarantee-time bias).")
    if not landmark.empty:
        text += (" Landmark analyses start the clock at the measurement: only the patients free of the event and "
                 "in follow-up at the landmark, with time from the landmark (" + "; ".join(
                     f"{r.title}: {r.note.split(';')[0].removeprefix('landmark analysis from ')}"
                     for r in landmark.itertuples()) + ").")
    if not naive.empty:
        text += (f" The {_count(len(naive), 'analysis', 'analyses')} that {'uses' if len(naive) == 1 else 'use'} "
                 "such a covariate from time zero, as "
                 "the paper did, are kept for comparison with the published figures and labelled \"naive analysis "
                 "from time zero\".")
    return text


def methods_blocks(run) -> list:
    table = run.table
    bayes = table[table["source"].str.startswith("bayes:")]
    models = list(dict.fromkeys(bayes["model"].where(bayes["model"] != "", bayes["source"].str.split(":").str[1])))
    priors = list(dict.fromkeys(bayes["prior_set"]))
    baselines = _either([f.baseline_words for m, f in FAMILIES.items() if m in models]
                        or [f.baseline_words for f in FAMILIES.values()])
    blocks = [Heading("Methods", "methods"),
              Para("Models: " + ", ".join(model_label(m) for m in models) + ". Survival models are proportional-"
                   f"hazards models with {baselines} baseline "
                   "hazard fitted to the patient-level times of the cohort; response rates are "
                   "compared with conjugate beta-binomial models in closed form on the published counts; "
                   "published hazard ratios are re-analysed at summary level (normal likelihood for the log "
                   "hazard ratio from the printed confidence interval, normal prior). Posterior summaries are "
                   "medians with equal-tailed credible intervals (CrI).")]
    described = {}
    for f in run.fits.values():
        if f.attrs.get("prior_description"):
            described.setdefault(f.prior_set, f.attrs["prior_description"])
    text = "Prior sets: " + ", ".join(p.replace("_", " ") for p in priors) + "."
    if described:
        text += " Survival-model priors on the log hazard ratios, in words: " + "; ".join(
            described[p] for p in priors if p in described) + "."
    blocks.append(Para(text))
    frame = term_prior_frame(table)
    if not frame.empty:
        blocks.append(Para("The prior of every term: a term has the same log-HR prior in every model of a prior set "
                           "(univariable, multivariable, each population and endpoint), given by its role in the "
                           "plan; the summary-level re-analysis of the published hazard ratios gives each factor the "
                           "prior of its role too (each row's note names it)."))
        blocks.append(Table("term_priors", "Log-HR prior of every term under each prior set", frame))
    rates = rate_prior_frame(table)
    if not rates.empty:
        blocks.append(Para("Response and adverse-event rates: vague and weakly informative are Jeffreys and uniform "
                           "Beta priors per group (no belief about the difference); the clinical sets put theirs on "
                           "the log odds ratio, calibrated like the hazard-ratio sets (the MCID as an odds ratio, 5% "
                           "prior mass beyond it) for comparisons of arms and the neutral shrinkage for the others, "
                           "with the reference group's log-odds Normal(0, 1.5) unless the plan gives historical "
                           "counts; nothing in them is taken from the counts analysed."))
        blocks.append(Table("rate_priors", "Priors of the rate comparisons under each prior set", rates))
    baseline = _baseline_text(run.fits)
    if baseline:
        blocks.append(Para(baseline))
    if any(f.model in FAMILIES and f.spec.get("missing") == "impute" for f in run.fits.values()):
        blocks.append(Para(IMPUTATION_WORDS))
    if run.fits:
        blocks.append(Para("Sampling: the No-U-Turn sampler (nutpie) with " + _settings_text(run.fits) + ". "
                           + _seeds_text(run)))
    if landmark_text(table):
        blocks.append(Para(landmark_text(table)))
    if getattr(run, "selection", None) is not None and not run.selection.empty:
        blocks.append(Para("Multivariable models: the terms each model uses, the paper's published lists and the "
                           "lists the univariable screen picks on the cohort are under [Variable selection]"
                           "(#selection); every row of such a model says where its terms come from."))
    blocks.append(Para(f"Diagnostics gate: every MCMC fit must have R-hat ≤ {fmt(RHAT_MAX, 'real')}, bulk and "
                       f"tail effective sample size ≥ {fmt(ESS_MIN, 'count')}, no divergent transitions and "
                       f"E-BFMI ≥ {fmt(BFMI_MIN, 'real')} in every chain; rows of a fit that fails are marked "
                       "FAILED wherever they appear, and their sentences say so."))
    blocks.append(Para(f"Wording of sentences: a direction is stated without qualification when its posterior "
                       f"probability is at least {fmt(STRONG, 'prob')}, as \"probably\" when it is at least "
                       f"{fmt(PROBABLE, 'prob')}, and as \"no clear difference\" below that. "
                       + design_text(run.study)))
    versions = run.versions
    if versions:
        blocks.append(Para("Software: " + ", ".join(f"{k} {v}" for k, v in versions.items()) + "."))
    return blocks


def checklist_blocks() -> list:
    rows, count = [], {}
    for guideline, item, anchor in CHECKLIST:
        count[guideline] = count.get(guideline, 0) + 1
        rows.append({"Guideline": guideline, "Item": f"{guideline} item {count[guideline]}", "Asks for": item,
                     "Addressed in": f"[{SECTION_TITLES[anchor]}](#{anchor})"})
    return [Heading("Reporting checklist", "checklist"),
            Para("Bayesian Analysis Reporting Guidelines (BARG; Kruschke 2021) and ROBUST (Sung et al. 2005), "
                 "each item with the section of this report that addresses it."),
            Table("checklist", "Reporting checklist (BARG, ROBUST)", pd.DataFrame(rows))]
