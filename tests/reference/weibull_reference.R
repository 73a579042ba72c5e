#!/usr/bin/env Rscript
# Weibull proportional-hazards maximum-likelihood reference (R survival::survreg) for hccbayes' Weibull model.
#
# Usage:
#   Rscript weibull_reference.R <cohort.csv> <output.csv> <endpoint:time_column:event_column> <covariates>
#
# survreg fits the Weibull as an accelerated-failure-time model, log T = mu + x'gamma + sigma * W (W standard
# minimum extreme value). The same model in the proportional-hazards parameterisation hccbayes uses,
# h(t | x) = k t^(k-1) exp(b0 + x'beta), has shape k = 1/sigma and log-HRs beta = -gamma / sigma; their
# standard errors come from the delta method on survreg's covariance of (gamma, log sigma).
# Output: one long CSV (endpoint, term, quantity, value) with 17 significant digits; rows for every
# covariate's ph_coef and ph_se, the shape, survreg's intercept mu (aft_intercept) and the log-likelihood.
suppressPackageStartupMessages(library(survival))

args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 4) stop("usage: weibull_reference.R <cohort.csv> <output.csv> <endpoint:time:event> <covariates>")
ep <- strsplit(args[[3]], ":")[[1]]
covariates <- strsplit(args[[4]], ",")[[1]]
df <- read.csv(args[[1]], stringsAsFactors = FALSE, check.names = FALSE)
f <- as.formula(paste0("Surv(", ep[[2]], ", ", ep[[3]], ") ~ ", paste(covariates, collapse = " + ")))
fit <- survreg(f, data = df, dist = "weibull")
sigma <- fit$scale
gamma <- coef(fit)[covariates]
V <- vcov(fit)  # over (intercept, covariates, Log(scale))
rows <- list()
emit <- function(term, quantity, value) {
  rows[[length(rows) + 1]] <<- data.frame(endpoint = ep[[1]], term = term, quantity = quantity,
                                          value = sprintf("%.17g", value), stringsAsFactors = FALSE)
}
for (term in covariates) {
  # beta = -gamma / sigma = -gamma * exp(-log sigma): gradient wrt (gamma, log sigma) = (-1/sigma, gamma/sigma)
  g <- c(-1 / sigma, gamma[[term]] / sigma)
  idx <- c(term, "Log(scale)")
  emit(term, "ph_coef", -gamma[[term]] / sigma)
  emit(term, "ph_se", sqrt(drop(t(g) %*% V[idx, idx] %*% g)))
}
emit("", "shape", 1 / sigma)
emit("", "aft_intercept", coef(fit)[["(Intercept)"]])  # mu: log H(t | x) = (log t - mu - x'gamma) / sigma
emit("", "loglik", fit$loglik[[2]])
out <- do.call(rbind, rows)
header <- sprintf("# R: %s; survival %s; input %s; survreg(dist = \"weibull\") %s", R.version.string,
                  as.character(packageVersion("survival")), basename(args[[1]]), deparse(f, width.cutoff = 500))
writeLines(header, args[[2]])
suppressWarnings(write.table(out, args[[2]], sep = ",", row.names = FALSE, append = TRUE, qmethod = "double"))
