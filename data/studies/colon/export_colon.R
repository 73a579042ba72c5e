#!/usr/bin/env Rscript
# Writes data/studies/colon/cohort.csv from R's survival::colon (Moertel et al. 1990 adjuvant colon cancer
# trial, Intergroup 0035): one row per patient (929), the two event types of the data set (etype 1 =
# recurrence, etype 2 = death) as two endpoints, covariates recoded to the labels of study.toml.
# Missing values (nodes: 18 patients, differ: 23) stay missing (empty cells).
#
# Run from the repository root:
#   Rscript data/studies/colon/export_colon.R data/studies/colon/cohort.csv
suppressPackageStartupMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args) >= 1) args[[1]] else "cohort.csv"
rec <- colon[colon$etype == 1, ]
dth <- colon[colon$etype == 2, ]
rec <- rec[order(rec$id), ]
dth <- dth[order(dth$id), ]
stopifnot(identical(rec$id, dth$id), nrow(rec) == 929)
lab <- function(x, labels) ifelse(is.na(x), NA, labels[x])
cohort <- data.frame(
  id = sprintf("C%03d", rec$id),
  arm = as.character(rec$rx),
  sex = ifelse(rec$sex == 1, "Male", "Female"),
  age = rec$age,
  obstruct = rec$obstruct,
  perfor = rec$perfor,
  adhere = rec$adhere,
  nodes = rec$nodes,
  differ = lab(rec$differ, c("well", "moderate", "poor")),
  extent = lab(rec$extent, c("submucosa", "muscle", "serosa", "contiguous")),
  surg = ifelse(rec$surg == 1, "long", "short"),
  rec_days = rec$time,
  rec_event = rec$status,
  os_days = dth$time,
  os_event = dth$status,
  stringsAsFactors = FALSE)
write.csv(cohort, out, row.names = FALSE, na = "", quote = FALSE)
cat(sprintf("wrote %d patients to %s (R %s, survival %s)\n", nrow(cohort), out, getRversion(),
            packageVersion("survival")))
