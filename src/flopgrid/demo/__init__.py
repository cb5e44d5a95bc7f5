"""`flopgrid demo` (DESIGN.md "Command-line contract"): a day of the grid through the service's
HTTP API, against the same buyers under a GPU-hour market. Sits above api, client, dispatch
and sim (it drives them all); only the cli imports it.

- `world`: the scaled `grid-mixed` fleet, the day of `llm-market` buyers, their bids in both
  markets (pure);
- `server`: the service in this process (uvicorn on 127.0.0.1, a free port);
- `market_day`: one market day through the API (bids, gate, clear, readings, settle);
- `delivery`: the published schedule delivered in the fleet simulator, and its readings;
- `ray_slice`: `--engine ray`, a slice of the day as real gangs through the dispatcher;
- `figures`: the summary figures; `report`: DIR/report.html;
- `run`: `run_demo`, the whole day and its baseline.
"""

from flopgrid.demo.run import DemoResult, check_options, run_demo

__all__ = ["DemoResult", "check_options", "run_demo"]
