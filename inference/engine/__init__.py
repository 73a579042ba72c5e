"""hccbayes.inference.engine: a plan in, a run folder out — plan loading and checks (``plan``,
``plan_check``), links to the published figures (``links``), the rows of the one comparison table
(``rows_survival``, ``rows_counts``, ``table``), executors and tasks, and the run itself (``run``)."""
