"""hccbayes.inference.frequentist: the reference estimators kept beside every posterior — Kaplan–Meier
and log-rank (``survival``), Cox (``cox``), χ²/Fisher and rank tests (``proportions``) — and the
fidelity checks of reconstructed cohorts that use them (``fidelity``, ``kmipd_fidelity``)."""
