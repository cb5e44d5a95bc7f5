"""Gang placement inside fabric islands, node by node.

A pool is `nodes` nodes of `node_chips` chips, grouped into islands of `nodes_per_island`
nodes. A gang of g <= node_chips chips goes on one node (best fit: the fullest node that
still has room, then a free node of the least-free island); a larger gang takes
ceil(g / node_chips) whole free nodes inside one island (the island with the fewest free
nodes that suffices). Down nodes (failed, awaiting repair) hold no chips. Every operation
is O(node_chips + islands).
"""

from __future__ import annotations


class PoolState:
    def __init__(self, nodes: int, node_chips: int, nodes_per_island: int) -> None:
        self.nodes = nodes
        self.node_chips = node_chips
        self.npi = max(1, min(nodes_per_island, nodes))
        self.islands = (nodes + self.npi - 1) // self.npi
        self.free = [node_chips] * nodes
        self.down = [False] * nodes
        self.jobs_on: list[set[int]] = [set() for _ in range(nodes)]
        self.partial: list[set[int]] = [set() for _ in range(node_chips)]  # index = free chips (1..nc-1)
        self.full: list[set[int]] = [set(range(i * self.npi, min(nodes, (i + 1) * self.npi))) for i in range(self.islands)]
        self.free_chips = nodes * node_chips
        self.up_chips = nodes * node_chips

    # -- bucket bookkeeping -------------------------------------------------
    def _unfile(self, n: int) -> None:
        f = self.free[n]
        if f == self.node_chips:
            self.full[n // self.npi].discard(n)
        elif f > 0:
            self.partial[f].discard(n)

    def _file(self, n: int) -> None:
        f = self.free[n]
        if f == self.node_chips:
            self.full[n // self.npi].add(n)
        elif f > 0:
            self.partial[f].add(n)

    def _best_full_island(self, need: int) -> int:
        best, best_len = -1, 1 << 62
        for i, s in enumerate(self.full):
            ln = len(s)
            if need <= ln < best_len:
                best, best_len = i, ln
        return best

    # -- queries ------------------------------------------------------------
    def can_place(self, g: int) -> bool:
        if g > self.free_chips:
            return False
        nc = self.node_chips
        if g < nc:
            for k in range(g, nc):
                if self.partial[k]:
                    return True
            return self._best_full_island(1) >= 0
        return self._best_full_island(-(-g // nc)) >= 0

    def can_place_after_release(self, alloc: list[tuple[int, int]], job: int, g: int) -> bool:
        """Whether a gang of `g` fits once `job` releases `alloc` (state is left unchanged)."""
        self.release(alloc, job)
        ok = self.can_place(g)
        for n, c in alloc:
            self._take(n, c, job)
        return ok

    def max_gang(self) -> int:
        """Largest gang placeable now."""
        nc = self.node_chips
        most_full = max((len(s) for s in self.full), default=0)
        if most_full:
            return most_full * nc
        for k in range(nc - 1, 0, -1):
            if self.partial[k]:
                return k
        return 0

    # -- mutations ----------------------------------------------------------
    def place(self, g: int, job: int) -> list[tuple[int, int]] | None:
        """Allocate `g` chips for `job`; None if it does not fit now."""
        if g > self.free_chips:
            return None
        nc = self.node_chips
        if g < nc:
            for k in range(g, nc):
                if self.partial[k]:
                    n = min(self.partial[k])
                    self._take(n, g, job)
                    return [(n, g)]
            i = self._best_full_island(1)
            if i < 0:
                return None
            n = min(self.full[i])
            self._take(n, g, job)
            return [(n, g)]
        need = -(-g // nc)
        i = self._best_full_island(need)
        if i < 0:
            return None
        chosen = sorted(self.full[i])[:need]
        out = []
        left = g
        for n in chosen:
            c = min(nc, left)
            self._take(n, c, job)
            out.append((n, c))
            left -= c
        return out

    def _take(self, n: int, c: int, job: int) -> None:
        self._unfile(n)
        self.free[n] -= c
        self.free_chips -= c
        self.jobs_on[n].add(job)
        self._file(n)

    def release(self, alloc: list[tuple[int, int]], job: int) -> None:
        for n, c in alloc:
            self.jobs_on[n].discard(job)
            if self.down[n]:
                continue
            self._unfile(n)
            self.free[n] += c
            self.free_chips += c
            self._file(n)

    def take_down(self, n: int) -> set[int]:
        """Fail node `n`; returns the jobs running on it (the caller interrupts them)."""
        if self.down[n]:
            return set()
        self._unfile(n)
        self.free_chips -= self.free[n]
        self.up_chips -= self.node_chips
        self.free[n] = 0
        self.down[n] = True
        return set(self.jobs_on[n])

    def bring_up(self, n: int) -> None:
        if not self.down[n]:
            return
        self.down[n] = False
        used = 0  # jobs on a down node were all interrupted; any left keep their chips
        self.free[n] = self.node_chips - used
        self.free_chips += self.free[n]
        self.up_chips += self.node_chips
        self._file(n)
