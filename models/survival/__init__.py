"""hccbayes.models.survival: proportional-hazards survival models — the design (data, specs,
centring), the baseline families (Weibull, piecewise exponential), the shared censored likelihood, the
PEM intervals and posterior quantities (HR, S(t), median, RMST)."""
