"""hccbayes.data.published: what a paper printed — the typed registry of published figures
(``registry``) and the consistency audit of those figures against each other (``audit``, ``audit_rules``,
``audit_totals``)."""
