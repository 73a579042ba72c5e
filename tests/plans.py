"""Small plans shared by the run-engine tests (each fit about 0.1 s after one PEM compile)."""

MINI_PLAN = """
[plan]
name = "mini"
study = "."
seed = 7

[defaults]
prior_sets = ["weakly_informative", "skeptical"]
models = ["pem"]
thresholds = { hr = [1.0, 0.7], median_diff = [0.0], rmst_diff = [0.0], rate_diff = [0.0] }
sampler = { draws = 300, tune = 300, chains = 2 }

[[analyses]]
id = "arm_os"
kind = "survival"
endpoint = "os"
terms = ["tki_ici"]
strata = "arm"
link = ["cox_hr", "km_median"]
tipping_points = true

[[analyses]]
id = "afp_os"
kind = "survival"
endpoint = "os"
terms = ["afp_gt400"]
strata = "afp"
link = ["cox_hr", "km_median"]

[[analyses]]
id = "t3"
kind = "response"
comparisons = ["best_response"]

[[analyses]]
id = "summary"
kind = "summary"
tables = ["t5"]
"""
