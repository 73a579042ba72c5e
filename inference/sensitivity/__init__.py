"""hccbayes.inference.sensitivity: how results move with the prior — prior-set grids (``grid``),
power-scaling (``power_scaling``) and tipping points (``tipping``, ``tipping_run``)."""
