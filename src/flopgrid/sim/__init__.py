"""Fleet simulator: a simulated `flopgrid.sched.Cluster` (discrete-event engine), fleets,
trace loaders, metrics (work and money), report.

Imports sched (the policies), perf (MFU via flopgrid.perf when installed), reliability and
market.prices."""

from flopgrid.sched import POLICIES, make_policy
from flopgrid.sim.engine import Simulation
from flopgrid.sim.fleet import FLEETS, FleetSpec, PoolSpec, load_fleet
from flopgrid.sim.jobs import Job, JobSpec
from flopgrid.sim.metrics import summarize
from flopgrid.sim.run import simulate
from flopgrid.sim.throughput import RateTable
from flopgrid.sim.traces import load_trace

__all__ = ["FLEETS", "POLICIES", "FleetSpec", "Job", "JobSpec", "PoolSpec", "RateTable", "Simulation",
           "load_fleet", "load_trace", "make_policy", "simulate", "summarize"]
