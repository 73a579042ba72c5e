"""``hccbayes explore RUN_DIR --analysis ID [--model M] [--term T] --prior "normal(mu, sigma)" [--prior ...]``:
what a finished run's hazard ratio would be under other log-HR priors, without refitting.

Reweights the stored posterior of one survival fit of the run (:mod:`hccbayes.inference.engine.explore_run`,
:mod:`hccbayes.inference.sensitivity.explore`) to each prior given for one term (default: the contrast) and
prints, per prior, the posterior median HR with its 95% equal-tailed interval, P(HR < 1), P(HR < mcid), the
Pareto k̂ and whether the answer was reweighted or — k̂ above 0.7 — refitted. Nothing is written to the run.
Exit codes: 0 done; 2 a bad run folder, analysis, model, term or prior.
"""
from __future__ import annotations

import argparse
import math
import re
import sys
import time

from hccbayes.errors import HccbayesError

NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
PRIOR = re.compile(rf"\s*normal\s*\(\s*({NUMBER})\s*,\s*({NUMBER})\s*\)\s*", re.IGNORECASE)


class PriorSyntaxError(HccbayesError):
    """A --prior that is not normal(mu, sigma) with sigma > 0."""


def parse_prior(text: str) -> tuple[float, float]:
    """(mu, sigma) of ``normal(mu, sigma)`` — a Normal prior on the log hazard ratio."""
    m = PRIOR.fullmatch(text)
    if not m:
        raise PriorSyntaxError(f"--prior {text!r}: not normal(mu, sigma) — fix: write e.g. --prior \"normal(0, 0.5)\" "
                               "(mean and SD of the log hazard ratio)")
    mu, sigma = float(m.group(1)), float(m.group(2))
    if not (math.isfinite(mu) and math.isfinite(sigma) and sigma > 0):
        raise PriorSyntaxError(f"--prior {text!r}: the SD must be a positive number — fix: e.g. normal({mu:g}, 0.5)")
    return mu, sigma


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "explore", help="a run's hazard ratio under other log-HR priors, by reweighting its stored posterior",
        description="Reweight a stored survival posterior of a finished run to other Normal priors on one term's "
        "log hazard ratio (Pareto-smoothed importance sampling); where the Pareto k-hat exceeds 0.7 the model is "
        "refitted instead. Prints the HR median and 95%% interval, P(HR<1), P(HR<mcid), k-hat and the method.")
    p.add_argument("run_dir", metavar="RUN_FOLDER", help="run folder written by 'hccbayes run' or 'reproduce'")
    p.add_argument("--analysis", required=True, help="a survival analysis id of the run (e.g. arm_pfs)")
    p.add_argument("--model", default=None, help="survival model of the fit (default: the analysis' first)")
    p.add_argument("--term", default=None, help="the term whose prior changes (default: the fit's contrast term)")
    p.add_argument("--prior", action="append", default=[], metavar='"normal(MU, SIGMA)"',
                   help="Normal prior of the term's log HR; repeat for several")
    p.add_argument("--tipping", action="store_true",
                   help="also search the tipping points of P(HR<1) (prior mean; skeptical MCID) by reweighting")
    p.add_argument("--mcid", type=float, default=None, help="HR threshold of P(HR < mcid) (default: the analysis')")
    p.add_argument("--no-refit", action="store_true", help="never refit: flag k-hat > 0.7 instead")
    p.set_defaults(run=run)
    return p


def run(args: argparse.Namespace) -> int:
    from hccbayes.inference.engine.explore_run import open_exploration
    from hccbayes.models.priors.values import Normal

    t0 = time.perf_counter()
    if not args.prior and not args.tipping:
        raise PriorSyntaxError("nothing to explore — fix: give --prior \"normal(mu, sigma)\" (repeatable) or --tipping")
    priors = [Normal(*parse_prior(text)) for text in args.prior]
    if args.mcid is not None and not 0 < args.mcid:
        raise PriorSyntaxError(f"--mcid {args.mcid:g}: not a hazard ratio — fix: e.g. --mcid 0.7")
    explorer, fit, mcid = open_exploration(args.run_dir, args.analysis, model=args.model, term=args.term,
                                           mcid=args.mcid, ci_prob=0.95, refit=None if args.no_refit else _refitter)
    stored = explorer.stored
    head = (f"{args.analysis}: {fit.path.name} (prior set {fit.attrs.get('prior_set')}: {explorer.term} log-HR "
            f"~ Normal({stored.mu:.4g}, {stored.sigma:.4g}), {explorer.draws.size} draws)")
    columns = (f"{'prior (log HR)':<22} {'HR median (95% CrI)':<24} {'P(HR<1)':>8} {f'P(HR<{mcid:g})':>10} "
               f"{'k-hat':>6}  method")
    out = [head, columns] if priors else [head]
    for prior in priors:
        res = explorer.at(prior)
        s = res.summary
        khat = "-" if s.khat == float("-inf") else f"{s.khat:.2f}"
        out.append(f"{f'Normal({prior.mu:g}, {prior.sigma:g})':<22} "
                   f"{f'{s.median:.3f} ({s.lower:.3f}-{s.upper:.3f})':<24} {s.below[1.0]:>8.3f} "
                   f"{s.below[mcid]:>10.3f} {khat:>6}  {res.method}" + (f" ({res.note})" if res.note else ""))
    if args.tipping:
        out.extend(_tipping_lines(explorer, mcid))
    out.append(f"{len(priors)} prior(s){' and the tipping points' if args.tipping else ''} in "
               f"{time.perf_counter() - t0:.2f} s")
    print("\n".join(out), file=sys.stdout)
    return 0


def _refitter(*args):
    """The refit of the explored fit (:func:`~hccbayes.inference.engine.explore_refit.run_refitter`), imported when
    the first prior with k̂ > 0.7 needs it: a reweighted answer needs neither PyMC nor pandas."""
    from hccbayes.inference.engine.explore_refit import run_refitter

    return run_refitter(*args)


def _tipping_lines(explorer, mcid: float) -> list[str]:
    """The tipping points of P(HR < 1), searched by reweighting (refitting where k̂ > 0.7), one line each."""
    from hccbayes.inference.sensitivity.explore_tipping import reweighted_tipping_points
    from hccbayes.inference.sensitivity.tipping import MC_Z, skeptical_sigma

    points, refits = reweighted_tipping_points(explorer, mcid)
    out = [f"tipping points of P(HR<1), by reweighting ({refits} evaluation(s) refitted):"]
    for tp in points:
        what = (f"prior centre (HR) of Normal(m, {skeptical_sigma(mcid):.4f})" if tp.parameter == "prior_mean"
                else "MCID of a skeptical Normal(0, -ln(mcid)/1.645) prior")
        if not tp.crossed:
            out.append(f"  {what} at P = {tp.target:g}: not crossed ({tp.note})")
            continue
        value = math.exp(tp.value) if tp.parameter == "prior_mean" else tp.value
        se = MC_Z * tp.se if math.isfinite(tp.se) else float("nan")
        spread = f" (±{MC_Z:g} MC SE: {math.exp(tp.value - se):.3f}-{math.exp(tp.value + se):.3f})" \
            if tp.parameter == "prior_mean" else f" (±{MC_Z:g} MC SE: ±{se:.3f})"
        out.append(f"  {what} at P = {tp.target:g}: {value:.3f}{spread}, {tp.evaluations} evaluations")
    return out
