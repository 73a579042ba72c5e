#!/usr/bin/env Rscript
# Reference values from R's survival package for hccbayes.inference.frequentist.survival.
#
# Usage:
#   Rscript survival_reference.R <cohort.csv> <output.csv> [covariates] [group] [endpoints] [times] [multi] [subset]
#     covariates  comma-separated 0/1 columns for Cox models ("" for none); default ""
#     group       grouping column for Kaplan-Meier and log-rank; default "arm"
#     endpoints   comma-separated name:time_column:event_column; default
#                 "pfs:pfs_months:pfs_event,os:os_months:os_event"
#     times       comma-separated times for numbers at risk / S(t); default "3,6,12"
#     multi       comma-separated covariates of the cox_multi model; default (or "") all covariates
#     subset      column=value: keep only the rows whose column equals value (compared as text);
#                 default (or "") all rows
#
# Output: one long CSV (section, endpoint, group, term, time, quantity, value), values written with
# 17 significant digits so that every double round-trips exactly (15 digits do not guarantee that).
# Warnings raised by coxph (e.g. non-convergence) are written as extra "# warning:" lines after the
# first header line, so they travel with the numbers.
# Sections:
#   km_median   per group and "overall": n, events; median/lower/upper as print(survfit) shows them
#               (summary(fit)$table, conf.type = "log") and as quantile(fit, 0.5) gives them
#   km_times    summary(fit, times = ..., extend = TRUE): n.risk, surv, lower, upper
#   logrank     survdiff: chisq, df, p
#   cox_uni     coxph(ties = "efron"), one model per covariate: coef, se, hr, lower, upper, p, n, events
#   cox_multi   one model with all covariates (or the "multi" list)
#   cox_selected  one model with the covariates whose univariable Wald p < 0.1 (the paper's rule)
suppressPackageStartupMessages(library(survival))

args <- commandArgs(trailingOnly = TRUE)
if (length(args) < 2) stop("usage: survival_reference.R <cohort.csv> <output.csv> [covariates] [group] [endpoints] [times] [multi] [subset]")
arg <- function(i, default) if (length(args) >= i && nzchar(args[[i]])) args[[i]] else default
csv_path <- args[[1]]
out_path <- args[[2]]
covariates <- strsplit(arg(3, ""), ",")[[1]]
group_col <- arg(4, "arm")
endpoints <- strsplit(strsplit(arg(5, "pfs:pfs_months:pfs_event,os:os_months:os_event"), ",")[[1]], ":")
times <- as.numeric(strsplit(arg(6, "3,6,12"), ",")[[1]])
multi <- strsplit(arg(7, paste(covariates, collapse = ",")), ",")[[1]]
subset_arg <- arg(8, "")

df <- read.csv(csv_path, stringsAsFactors = FALSE, check.names = FALSE)
if (nzchar(subset_arg)) {
  kv <- regmatches(subset_arg, regexpr("=", subset_arg), invert = TRUE)[[1]]
  if (length(kv) != 2 || !(kv[[1]] %in% names(df))) stop("subset must be column=value, got: ", subset_arg)
  df <- df[as.character(df[[kv[[1]]]]) == kv[[2]], , drop = FALSE]
  if (nrow(df) == 0) stop("subset ", subset_arg, " keeps no rows")
}
df[[group_col]] <- as.character(df[[group_col]])
rows <- list()
emit <- function(section, endpoint, group = "", term = "", time = NA, quantity, value) {
  rows[[length(rows) + 1]] <<- data.frame(section = section, endpoint = endpoint, group = group, term = term,
    time = ifelse(is.na(time), "", sprintf("%.17g", time)), quantity = quantity,
    value = ifelse(is.na(value), "NA", sprintf("%.17g", value)), stringsAsFactors = FALSE)
}

km_section <- function(ep, d, label) {
  fit <- survfit(Surv(d$time, d$event) ~ 1, conf.type = "log")
  tab <- summary(fit)$table
  emit("km_median", ep, label, quantity = "n", value = tab[["records"]])
  emit("km_median", ep, label, quantity = "events", value = tab[["events"]])
  emit("km_median", ep, label, quantity = "median_print", value = tab[["median"]])
  emit("km_median", ep, label, quantity = "lower_print", value = tab[["0.95LCL"]])
  emit("km_median", ep, label, quantity = "upper_print", value = tab[["0.95UCL"]])
  q <- quantile(fit, probs = 0.5)
  emit("km_median", ep, label, quantity = "median_quantile", value = unname(q$quantile))
  emit("km_median", ep, label, quantity = "lower_quantile", value = unname(q$lower))
  emit("km_median", ep, label, quantity = "upper_quantile", value = unname(q$upper))
  s <- summary(fit, times = times, extend = TRUE)
  for (k in seq_along(s$time)) {
    emit("km_times", ep, label, time = s$time[k], quantity = "n_risk", value = s$n.risk[k])
    emit("km_times", ep, label, time = s$time[k], quantity = "surv", value = s$surv[k])
    emit("km_times", ep, label, time = s$time[k], quantity = "lower", value = s$lower[k])
    emit("km_times", ep, label, time = s$time[k], quantity = "upper", value = s$upper[k])
  }
}

warns <- character(0)
cox_section <- function(section, ep, d, terms) {
  fit <- withCallingHandlers(coxph(as.formula(paste("Surv(time, event) ~", paste(sprintf("`%s`", terms), collapse = " + "))),
               data = d, ties = "efron"),
    warning = function(w) {
      warns <<- c(warns, sprintf("%s %s (%s): %s", section, ep, paste(terms, collapse = ","), conditionMessage(w)))
      invokeRestart("muffleWarning")
    })
  co <- summary(fit)$coefficients
  ci <- summary(fit)$conf.int
  for (k in seq_along(terms)) {
    term <- terms[[k]]
    emit(section, ep, term = term, quantity = "coef", value = co[k, "coef"])
    emit(section, ep, term = term, quantity = "se", value = co[k, "se(coef)"])
    emit(section, ep, term = term, quantity = "hr", value = co[k, "exp(coef)"])
    emit(section, ep, term = term, quantity = "lower", value = ci[k, "lower .95"])
    emit(section, ep, term = term, quantity = "upper", value = ci[k, "upper .95"])
    emit(section, ep, term = term, quantity = "p", value = co[k, "Pr(>|z|)"])
    emit(section, ep, term = term, quantity = "n", value = fit$n)
    emit(section, ep, term = term, quantity = "events", value = fit$nevent)
  }
  co[, "Pr(>|z|)"]
}

for (e in endpoints) {
  ep <- e[[1]]
  d <- data.frame(time = df[[e[[2]]]], event = df[[e[[3]]]], group = df[[group_col]])
  for (cv in covariates) d[[cv]] <- df[[cv]]
  km_section(ep, d, "overall")
  for (g in sort(unique(d$group))) km_section(ep, d[d$group == g, ], g)
  lr <- survdiff(Surv(time, event) ~ group, data = d)
  dof <- length(lr$n) - 1
  emit("logrank", ep, quantity = "chisq", value = lr$chisq)
  emit("logrank", ep, quantity = "df", value = dof)
  emit("logrank", ep, quantity = "p", value = pchisq(lr$chisq, dof, lower.tail = FALSE))
  if (length(covariates) > 0) {
    p_uni <- sapply(covariates, function(cv) cox_section("cox_uni", ep, d, cv))
    if (length(multi) > 0) cox_section("cox_multi", ep, d, multi)
    selected <- covariates[!is.na(p_uni) & p_uni < 0.1]
    if (length(selected) > 0) cox_section("cox_selected", ep, d, selected)
  }
}

header <- c(sprintf("# R: %s; survival %s; input %s; covariates %s", R.version.string,
                    as.character(packageVersion("survival")), basename(csv_path), paste(covariates, collapse = ",")))
if (!identical(multi, covariates)) header <- paste0(header, "; multi ", paste(multi, collapse = ","))
if (nzchar(subset_arg)) header <- paste0(header, "; subset ", subset_arg)
if (length(warns) > 0) header <- c(header, paste("# warning:", gsub("[\r\n]+", " ", warns)))
con <- file(out_path, "w")
writeLines(header, con)
write.csv(do.call(rbind, rows), con, row.names = FALSE, quote = TRUE)
close(con)
