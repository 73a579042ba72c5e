"""hccbayes.data.reconstruction: pseudo-patient cohorts for studies whose patient data are not public —
from tabulated summaries (``summaries``: baseline columns, survival profiles, an arrangement search) or
from digitised Kaplan–Meier curves (``kmipd``: Guyot et al. 2012). Their fidelity checks use the
frequentist reference estimators and live in :mod:`hccbayes.inference.frequentist`."""
