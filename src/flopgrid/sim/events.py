"""Event kinds and the event heap of the discrete-event engine.

Events are (time_s, seq, kind, a, b) tuples in a binary heap; `seq` breaks ties in
insertion order so runs are deterministic. Checkpoints are not separate events: a job's
progress is piecewise linear between events, and the work saved by its last checkpoint
is computed when a failure interrupts it (Young 1974 / Daly 2006 timeline: compute T,
write C, repeat).
"""

from __future__ import annotations

import heapq

ARRIVAL, FINISH, FAILURE, REPAIR, TIMER = range(5)
NAMES = ("arrival", "finish", "failure", "repair", "timer")


class EventQueue:
    __slots__ = ("_heap", "_seq", "pushed")

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, int, int, int]] = []
        self._seq = 0
        self.pushed = 0

    def push(self, time_s: float, kind: int, a: int = 0, b: int = 0) -> None:
        self._seq += 1
        self.pushed += 1
        heapq.heappush(self._heap, (time_s, self._seq, kind, a, b))

    def pop(self) -> tuple[float, int, int, int, int]:
        return heapq.heappop(self._heap)

    def peek_time(self) -> float:
        return self._heap[0][0] if self._heap else float("inf")

    def __len__(self) -> int:
        return len(self._heap)
