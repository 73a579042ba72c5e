#!/usr/bin/env Rscript
# Public two-arm trials from R's survival package, exported for the validation of
# hccbayes.data.reconstruction.kmipd (patient data reconstructed from Kaplan-Meier curves, Guyot et al. 2012).
#
# Usage (from the repository root):  Rscript tests/reference/kmipd/export_trials.R tests/reference/kmipd
# Writes, into the given folder:
#   trials.csv     trial, arm, time, event: one row per patient (the true data the tests digitise)
#   reference.csv  trial, quantity, arm, time, value: R's own numbers on those data
#     n, events            per arm
#     median               print(survfit) median per arm (conf.type = "log"; NA if not reached)
#     n_risk, surv         summary(survfit, times = <at-risk times>, extend = TRUE) per arm
#     cox_log_hr, cox_se   coxph(Surv(time, event) ~ arm, ties = "efron"): coefficient of the 2nd arm
# Values are written with 17 significant digits (every double round-trips).
#
# The trials (data sets of the survival package, version printed in reference.csv as quantity "version"):
#   colon    Moertel et al. adjuvant colon cancer trial, death endpoint (etype == 2),
#            arms Obs vs Lev+5FU (the Lev-alone arm is dropped); time in days
#   gbsg     German Breast Cancer Study Group 2, recurrence-free survival (rfstime, status),
#            arms no hormonal therapy vs tamoxifen (hormon 0/1); days
#   veteran  Veterans' Administration lung cancer trial, survival, standard vs test chemotherapy (trt); days
#   lung     NCCTG advanced lung cancer, survival by sex (male vs female: not randomised, a two-group
#            comparison); days
suppressPackageStartupMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args)) args[1] else "."

colon2 <- subset(colon, etype == 2 & rx != "Lev")
trials <- list(
  colon = data.frame(arm = ifelse(colon2$rx == "Obs", "Obs", "Lev+5FU"), time = colon2$time,
                     event = colon2$status),
  gbsg = data.frame(arm = ifelse(gbsg$hormon == 1, "tamoxifen", "no tamoxifen"), time = gbsg$rfstime,
                    event = gbsg$status),
  veteran = data.frame(arm = ifelse(veteran$trt == 1, "standard", "test"), time = veteran$time,
                       event = veteran$status),
  lung = data.frame(arm = ifelse(lung$sex == 1, "male", "female"), time = lung$time,
                    event = lung$status - 1)
)
# reference arm first; at-risk table every `step` time units, as a paper prints it
arms <- list(colon = c("Obs", "Lev+5FU"), gbsg = c("no tamoxifen", "tamoxifen"),
             veteran = c("standard", "test"), lung = c("male", "female"))
step <- c(colon = 365, gbsg = 365, veteran = 100, lung = 100)

fmt <- function(x) trimws(formatC(x, digits = 17, format = "g"))
rows <- list()
add <- function(trial, quantity, arm, time, value) {
  rows[[length(rows) + 1]] <<- data.frame(trial = trial, quantity = quantity, arm = arm, time = time,
                                          value = value)
}
all <- list()
for (name in names(trials)) {
  d <- trials[[name]]
  d$arm <- factor(d$arm, levels = arms[[name]])
  all[[name]] <- data.frame(trial = name, arm = as.character(d$arm), time = d$time, event = d$event)
  times <- seq(0, max(d$time), by = step[[name]])
  for (a in levels(d$arm)) {
    s <- d[d$arm == a, ]
    fit <- survfit(Surv(time, event) ~ 1, data = s, conf.type = "log")
    add(name, "n", a, NA, nrow(s))
    add(name, "events", a, NA, sum(s$event))
    add(name, "median", a, NA, summary(fit)$table[["median"]])
    sm <- summary(fit, times = times, extend = TRUE)
    for (j in seq_along(sm$time)) {
      add(name, "n_risk", a, sm$time[j], sm$n.risk[j])
      add(name, "surv", a, sm$time[j], sm$surv[j])
    }
  }
  cox <- coxph(Surv(time, event) ~ arm, data = d, ties = "efron")
  add(name, "cox_log_hr", levels(d$arm)[2], NA, unname(coef(cox)))
  add(name, "cox_se", levels(d$arm)[2], NA, unname(sqrt(diag(vcov(cox)))))
}
add("all", "version", "", NA, NA)
ref <- do.call(rbind, rows)
ref$arm[ref$quantity == "version"] <- paste("survival", packageVersion("survival"))
ref$time <- ifelse(is.na(ref$time), "", fmt(ref$time))
ref$value <- ifelse(is.na(ref$value), "NA", fmt(ref$value))
write.csv(do.call(rbind, all), file.path(out, "trials.csv"), row.names = FALSE, quote = FALSE)
write.csv(ref, file.path(out, "reference.csv"), row.names = FALSE, quote = FALSE)
