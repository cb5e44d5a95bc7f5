"""Old import path of the policies, which now live in `flopgrid.sched` (kept as an alias)."""

from flopgrid.sched import *  # noqa: F403
from flopgrid.sched import __all__  # noqa: F401
