"""hccbayes.inference"""
from hccbayes.inference.survival_freq import km_at_times, km_medians, logrank, study_km, study_logrank
from hccbayes.inference.cox_freq import cox_fit, cox_univariable, select_and_fit, study_cox, study_frame
from hccbayes.inference.proportions import contingency_test, rank_test, recompute_published_p
from hccbayes.inference.executors import (DaskExecutor, InlineExecutor, ProcessExecutor, Task, make_executor,
                                          run_tasks)
