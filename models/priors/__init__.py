"""hccbayes.models.priors: every prior as one kind of immutable value (``values``: normal-family and Dirichlet
priors, the z constants; ``rates``: Beta priors and robust mixtures for proportions) and the prior sets
(``sets``: the named sets, a plan's custom sets, the MCID)."""
