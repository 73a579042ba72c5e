"""hccbayes.inference.checks: checks of the models — PSIS-LOO and predictive checks of a run's fits
(``model_checks``, ``ppc``) and simulation-based calibration (``sbc``, ``sbc_models``)."""
