"""The clearing problem's formulation: `columns` (the one candidate enumerator: feasible
(bid, pool, gang) options with start ranges, and `Columns`, candidate columns with one start
each) and `model` (`MarketModel`: the MILP built per row family, mapping rows and duals back
to pools, intervals and bids)."""
