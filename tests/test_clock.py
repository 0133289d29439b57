"""MonotonicWallClock: receive times that never go backwards, nor freeze."""

from __future__ import annotations

import time

from custom_components.frigate_rules.core.buffer import DetectionBuffer
from custom_components.frigate_rules.core.clock import MonotonicWallClock

from .test_buffer import obs


class Sources:
    """A wall clock and a monotonic clock the test moves by hand."""

    def __init__(self, wall: float, monotonic: float = 0.0) -> None:
        self.wall = wall
        self.monotonic = monotonic

    def step(self, seconds: float, *, wall: float | None = None) -> None:
        """Let `seconds` pass; `wall` sets where the wall clock lands (NTP)."""
        self.monotonic += seconds
        self.wall = self.wall + seconds if wall is None else wall

    def clock(self) -> MonotonicWallClock:
        return MonotonicWallClock(wall=lambda: self.wall, monotonic=lambda: self.monotonic)


def test_follows_the_wall_clock_while_it_moves_forward() -> None:
    sources = Sources(wall=1_000.0, monotonic=50.0)
    clock = sources.clock()
    readings = [clock()]
    for _ in range(3):
        sources.step(0.5)
        readings.append(clock())
    assert readings == [1_000.0, 1_000.5, 1_001.0, 1_001.5]
    sources.step(1.0, wall=2_000.0)  # a step forward is taken at once
    assert clock() == 2_000.0
    assert clock.corrections == 0


def test_a_step_back_neither_goes_back_nor_freezes() -> None:
    sources = Sources(wall=1_000.0)
    clock = sources.clock()
    assert clock() == 1_000.0
    sources.step(1.0, wall=995.0)  # NTP puts the wall clock 6 s back
    assert clock() == 1_001.0  # time still passes at the monotonic pace
    sources.step(1.0)
    assert clock() == 1_002.0
    assert clock.corrections == 2
    sources.step(1.0, wall=1_003.5)  # the wall clock is ahead again: follow it
    assert clock() == 1_003.5
    sources.step(0.25)
    assert clock() == 1_003.75
    assert clock.corrections == 2


def test_read_jitter_between_the_two_clocks_is_not_a_step_back() -> None:
    sources = Sources(wall=1_000.0, monotonic=10.0)
    clock = sources.clock()
    clock()
    sources.wall = 1_000.999_999
    sources.monotonic = 11.000_001
    reading = clock()
    assert 1_000.999_999 <= reading <= 1_001.000_001
    assert clock.corrections == 0


def test_buffer_fed_from_the_clock_needs_no_correction() -> None:
    sources = Sources(wall=1_000.0)
    clock = sources.clock()
    buffer = DetectionBuffer(retention_seconds=3600, max_observations=1000)
    for seconds, wall in [(0.5, None), (0.5, 990.0), (0.5, None), (20.0, None), (0.5, 2_000.0)]:
        sources.step(seconds, wall=wall)
        buffer.add(obs(clock()))
    assert buffer.clock_corrections == 0
    assert [o.observed_at for o in buffer.window("backyard")] == [
        1_000.5,
        1_001.0,
        1_001.5,
        1_021.5,
        2_000.0,
    ]


def test_default_sources_are_the_system_clocks() -> None:
    clock = MonotonicWallClock()
    first = clock()
    assert abs(first - time.time()) < 5.0
    assert clock() >= first
