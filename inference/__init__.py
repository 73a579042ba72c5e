"""hccbayes.inference"""
from hccbayes.inference.engine.executors import (
                                                 DaskExecutor,
                                                 InlineExecutor,
                                                 ProcessExecutor,
                                                 Task,
                                                 make_executor,
                                                 run_tasks,
)
from hccbayes.inference.frequentist.cox import cox_fit, cox_univariable, select_and_fit, study_cox, study_frame
from hccbayes.inference.frequentist.proportions import contingency_test, rank_test, recompute_published_p
from hccbayes.inference.frequentist.survival import km_at_times, km_medians, logrank, study_km, study_logrank
