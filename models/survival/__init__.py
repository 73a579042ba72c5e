"""hccbayes.models.survival: proportional-hazards survival models — the design (``arrays``: the data of one
analysis; ``design``: specs, centring, a cohort to arrays), the survival families (``family``: the shared base;
one module per family, registered in ``families``), the censored likelihood and linear predictor
(``likelihood``), the PEM intervals and posterior quantities (HR, S(t), median, RMST)."""
