"""hccbayes.models.priors: priors as immutable values and named prior sets — for survival log-HRs and
baselines (``survival``) and for response rates (``response``)."""
