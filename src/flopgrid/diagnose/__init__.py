"""Why is this run's MFU below its ceiling, and what would fix it? (DESIGN.md layer
`diagnose`; pure functions over parsed meter logs and perf predictions, no torch.)

`diagnose(log, overrides)` -> `Diagnosis`: measured MFU (over wall time), the perf model's
MFU for the declared plan and for the best plan on the same chips (the ceiling), the gap
split into parts that add up exactly (flopgrid.diagnose.gap) and recommendations with
their expected gains (flopgrid.diagnose.recommend).
"""

from flopgrid.diagnose.diagnosis import Diagnosis, diagnose
from flopgrid.diagnose.facts import Overrides, RunFacts, run_facts
from flopgrid.diagnose.gap import GAP_PARTS, Gap, split_gap, standalone_gain
from flopgrid.diagnose.perf_adapter import perf_call, run_cluster
from flopgrid.diagnose.recommend import Recommendation, recommend

__all__ = ["GAP_PARTS", "Diagnosis", "Gap", "Overrides", "Recommendation", "RunFacts", "diagnose", "perf_call",
           "recommend", "run_cluster", "run_facts", "split_gap", "standalone_gain"]
