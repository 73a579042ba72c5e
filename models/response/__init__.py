"""hccbayes.models.response: response-rate and adverse-event comparisons — counts from a cohort or
the published figures (``counts``), closed-form beta-binomial posteriors (``beta_binomial``) and the
hierarchical regimen model (``hierarchical``)."""
