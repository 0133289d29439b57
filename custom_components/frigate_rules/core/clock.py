"""Receive-time clock: wall-clock seconds that never go backwards.

Windows are measured on HA's wall clock (`observed_at` and `now` are epoch seconds),
and the wall clock can step back when NTP corrects it. Read through this clock, a step
back neither reorders the buffer nor freezes time: while the wall clock is behind the
last reading, the clock runs on at the monotonic clock's pace, and it follows the wall
clock again once that has caught up. A step forward is followed at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class MonotonicWallClock:
    """`clock()` is max(wall clock, last reading + monotonic time elapsed since it).

    Both sources are injected so tests can step them; `corrections` counts the
    readings where the wall clock was behind the last reading (a step back).
    """

    __slots__ = ("_last", "_last_monotonic", "_monotonic", "_wall", "corrections")

    def __init__(
        self,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._wall = wall
        self._monotonic = monotonic
        self._last = -float("inf")
        self._last_monotonic = 0.0
        self.corrections = 0

    def __call__(self) -> float:
        """The time now, in epoch seconds."""
        wall = self._wall()
        tick = self._monotonic()
        projected = self._last + max(0.0, tick - self._last_monotonic)
        self._last_monotonic = tick
        if wall < projected:
            # Also true by a few ns of read jitter between the two clocks: only a
            # wall clock behind the last reading counts as a step back.
            if wall < self._last:
                self.corrections += 1
            wall = projected
        self._last = wall
        return wall
