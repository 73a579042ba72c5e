#!/usr/bin/env Rscript
# Landmark-analysis reference for hccbayes.models.survival.landmark and the run engine's landmark rows.
#
# Usage:
#   Rscript landmark_reference.R <cohort.csv> <output.csv> <landmark> <term> <subset> <endpoints>
#     landmark   the landmark time (the study's time unit)
#     term       the 0/1 covariate measured at the landmark
#     subset     column=value: the analysed population (compared as text)
#     endpoints  comma-separated name:time_column:event_column
#
# The landmark cohort is built the textbook way (Anderson, Cain & Gelber 1983; Dafni 2011, Circ Cardiovasc
# Qual Outcomes 4:363): the patients still at risk at the landmark, i.e. whose observed time exceeds it
# (R's own survfit at-risk rule: a patient with an event or censored at the landmark is no longer at risk
# just after it), with time re-measured from the landmark. Per endpoint: n, events; coxph (Efron ties)
# coef, se, hr, p; Kaplan-Meier medians per level of the term (print(survfit) rule, log CI). Also the
# patients at risk just after the landmark from the time-zero survfit (n.risk of summary(fit, times =
# landmark + 1e-9)), which must equal the landmark cohort's n. 17 significant digits.
suppressPackageStartupMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
df <- read.csv(args[[1]], stringsAsFactors = FALSE, check.names = FALSE)
landmark <- as.numeric(args[[3]])
term <- args[[4]]
sub <- strsplit(args[[5]], "=")[[1]]
df <- df[as.character(df[[sub[[1]]]]) == sub[[2]], ]
endpoints <- strsplit(strsplit(args[[6]], ",")[[1]], ":")
rows <- list()
emit <- function(...) rows[[length(rows) + 1]] <<- data.frame(..., stringsAsFactors = FALSE)
for (ep in endpoints) {
  name <- ep[[1]]; tcol <- ep[[2]]; ecol <- ep[[3]]
  full <- survfit(as.formula(paste0("Surv(", tcol, ", ", ecol, ") ~ 1")), data = df)
  emit(endpoint = name, group = "", quantity = "at_risk_after_landmark",
       value = summary(full, times = landmark + 1e-9)$n.risk)
  d <- df[df[[tcol]] > landmark, ]
  d$lm_time <- d[[tcol]] - landmark
  d$lm_event <- d[[ecol]]
  emit(endpoint = name, group = "", quantity = "n", value = nrow(d))
  emit(endpoint = name, group = "", quantity = "events", value = sum(d$lm_event))
  fit <- coxph(as.formula(paste("Surv(lm_time, lm_event) ~", term)), data = d, ties = "efron")
  s <- summary(fit)$coefficients
  emit(endpoint = name, group = "", quantity = "coef", value = s[1, "coef"])
  emit(endpoint = name, group = "", quantity = "se", value = s[1, "se(coef)"])
  emit(endpoint = name, group = "", quantity = "hr", value = s[1, "exp(coef)"])
  emit(endpoint = name, group = "", quantity = "p", value = s[1, "Pr(>|z|)"])
  km <- survfit(as.formula(paste("Surv(lm_time, lm_event) ~", term)), data = d, conf.type = "log")
  tab <- summary(km)$table
  for (i in seq_len(nrow(tab))) {
    level <- sub(paste0(term, "="), "", rownames(tab)[i])
    emit(endpoint = name, group = level, quantity = "median", value = tab[i, "median"])
    emit(endpoint = name, group = level, quantity = "n", value = tab[i, "records"])
  }
}
out <- do.call(rbind, rows)
out$value <- trimws(formatC(out$value, digits = 17, format = "g"))
con <- file(args[[2]], "w")
writeLines(paste0("# ", R.version.string, "; survival ", packageVersion("survival"), "; landmark ", landmark,
                  ", term ", term, ", subset ", args[[5]]), con)
write.csv(out, con, row.names = FALSE, quote = FALSE)
close(con)
