"""Solvers of a `MarketModel`: `highs` (the MILP, the fixed-integer LP for prices, the LP
relaxation, an incremental LP for column generation: it only solves), `uncongested` (the
exact fast path when every bid's best option fits at once), `greedy` (a feasible vector:
warm start and the safe fallback)."""
