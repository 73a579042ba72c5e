#!/usr/bin/env Rscript
# Weibull proportional-hazards reference for hccbayes' standardised (g-computation) medians and RMST.
#
# Usage:
#   Rscript gcomp_reference.R <cohort.csv> <output.csv> <endpoints> <horizon> <model>=<terms> [...]
#     endpoints  comma-separated name:time_column:event_column
#     horizon    RMST horizon (the study's time unit)
#     model      a name and the comma-separated covariates of one survreg model; the arm is coded by 0/1
#                columns, and every covariate whose name is in ARM_TERMS below is one of them
#
# For each endpoint and model: survreg(dist = "weibull") on the complete cases (R's default na.omit), then
# for each arm (all arm columns 0 = the reference arm, or one of them 1) the standardised survival curve
# S_a(t) = mean_i exp(-(t / exp(lp_i(a)))^(1 / sigma)), lp_i(a) the linear predictor of patient i with the
# arm columns set to arm a and the patient's own other covariates (g-computation over the modelled
# population). median_a solves S_a(t) = 0.5 (uniroot); rmst_a = integral of S_a over [0, horizon]
# (integrate). Also the PH-scale log-HRs (-gamma / sigma) and the shape 1/sigma. 17 significant digits.
suppressPackageStartupMessages(library(survival))
ARM_TERMS <- c("lev", "lev5fu")
args <- commandArgs(trailingOnly = TRUE)
if (length(args) < 5) stop("usage: gcomp_reference.R <cohort.csv> <output.csv> <endpoints> <horizon> <model>=<terms> ...")
df <- read.csv(args[[1]], stringsAsFactors = FALSE, check.names = FALSE)
endpoints <- strsplit(strsplit(args[[3]], ",")[[1]], ":")
horizon <- as.numeric(args[[4]])
models <- lapply(args[5:length(args)], function(a) strsplit(a, "=")[[1]])
rows <- list()
emit <- function(...) rows[[length(rows) + 1]] <<- data.frame(..., stringsAsFactors = FALSE)
for (ep in endpoints) for (m in models) {
  covs <- strsplit(m[[2]], ",")[[1]]
  f <- as.formula(paste0("Surv(", ep[[2]], ", ", ep[[3]], ") ~ ", paste(covs, collapse = " + ")))
  fit <- survreg(f, data = df, dist = "weibull")
  cc <- df[complete.cases(df[, c(ep[[2]], ep[[3]], covs)]), ]
  sigma <- fit$scale
  gamma <- coef(fit)
  arms <- c("reference", intersect(ARM_TERMS, covs))
  emit(endpoint = ep[[1]], model = m[[1]], arm = "", quantity = "n", value = sprintf("%.17g", nrow(cc)))
  emit(endpoint = ep[[1]], model = m[[1]], arm = "", quantity = "shape", value = sprintf("%.17g", 1 / sigma))
  for (term in covs) emit(endpoint = ep[[1]], model = m[[1]], arm = term, quantity = "ph_coef",
                          value = sprintf("%.17g", -gamma[[term]] / sigma))
  for (a in arms) {
    x <- cc
    for (t in intersect(ARM_TERMS, covs)) x[[t]] <- as.numeric(t == a)
    lp <- drop(model.matrix(delete.response(terms(fit)), x) %*% gamma)
    surv <- function(t) vapply(t, function(s) mean(exp(-(s / exp(lp))^(1 / sigma))), 0.0)
    med <- if (surv(max(df[[ep[[2]]]])) > 0.5) NA else uniroot(function(t) surv(t) - 0.5, c(1e-8, 1e6), tol = 1e-10)$root
    rm <- integrate(surv, 0, horizon, rel.tol = 1e-10)$value
    emit(endpoint = ep[[1]], model = m[[1]], arm = a, quantity = "median", value = sprintf("%.17g", med))
    emit(endpoint = ep[[1]], model = m[[1]], arm = a, quantity = sprintf("rmst_%g", horizon),
         value = sprintf("%.17g", rm))
  }
}
out <- do.call(rbind, rows)
header <- sprintf("# R: %s; survival %s; input %s; survreg(dist = \"weibull\"), g-computation over the complete cases",
                  R.version.string, as.character(packageVersion("survival")), basename(args[[1]]))
writeLines(header, args[[2]])
suppressWarnings(write.table(out, args[[2]], sep = ",", row.names = FALSE, append = TRUE, qmethod = "double"))
