"""DetectionBuffer: retention, count and name caps, time order, `window`/`recent`/`latest`."""

from __future__ import annotations

import gc
import sys
import time
import tracemalloc
from dataclasses import dataclass, field
from math import inf

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custom_components.frigate_rules.core.buffer import (
    EXPIRY_STEP_SECONDS,
    MAX_REMEMBERED_NAMES,
    MAX_REMEMBERED_ZONES,
    DetectionBuffer,
)
from custom_components.frigate_rules.core.model import Kind, Observation, Source


def obs(
    at: float,
    camera: str = "backyard",
    label: str = "person",
    zones: tuple[str, ...] = (),
    event_id: str = "e1",
) -> Observation:
    return Observation(
        event_id=event_id,
        camera=camera,
        label=label,
        sub_label=None,
        confidence_pct=90.0,
        zones=zones,
        entered_zones=zones,
        stationary=False,
        kind=Kind.UPDATE,
        source=Source.EVENTS,
        frame_time=at,
        observed_at=at,
    )


def times(observations: list[Observation]) -> list[float]:
    return [o.observed_at for o in observations]


# --- age, count and name bounds ------------------------------------------------------


def test_retention_is_enforced_on_add_in_steps_and_exactly_by_prune() -> None:
    buffer = DetectionBuffer(retention_seconds=10, max_observations=1000)
    for at in (0, 5, 10, 10.5):
        buffer.add(obs(at))
    # 0 is past the retention at 10.5, but not yet by a whole step.
    assert len(buffer) == 4
    assert buffer.expired == 0
    buffer.add(obs(10 + EXPIRY_STEP_SECONDS + 0.01))
    assert times(buffer.window("backyard")) == [5, 10, 10.5, 11.01]
    assert buffer.expired == 1
    buffer.prune(15.0)  # exact: 5 is exactly at the edge and stays
    assert times(buffer.window("backyard")) == [5, 10, 10.5, 11.01]
    buffer.prune(15.001)
    assert times(buffer.window("backyard")) == [10, 10.5, 11.01]
    assert buffer.expired == 2
    assert buffer.dropped == 0


def test_prune_forgets_cameras_that_went_quiet_but_not_their_names() -> None:
    buffer = DetectionBuffer(retention_seconds=10, max_observations=1000)
    buffer.add(obs(0, camera="a"))
    buffer.add(obs(1, camera="b"))
    buffer.prune(10.5)
    assert buffer.size_by_camera() == {"b": 1}
    assert len(buffer) == 1
    assert buffer.window("a") == []
    assert buffer.cameras == ["a", "b"]


def test_cap_drops_oldest_across_cameras_and_counts() -> None:
    buffer = DetectionBuffer(retention_seconds=3600, max_observations=3)
    buffer.add(obs(1, camera="a"))
    buffer.add(obs(2, camera="b"))
    buffer.add(obs(3, camera="a"))
    buffer.add(obs(4, camera="b"))
    assert len(buffer) == 3
    assert buffer.dropped == 1
    assert buffer.size_by_camera() == {"a": 1, "b": 2}
    buffer.add(obs(5, camera="c"))
    assert buffer.dropped == 2
    remaining = sorted(times(buffer.recent(["a", "b", "c"], {"person"}, 0)))
    assert remaining == [3, 4, 5]


def test_name_cap_drops_the_camera_seen_least_recently() -> None:
    buffer = DetectionBuffer(retention_seconds=3600, max_observations=1000, max_names=2)
    buffer.add(obs(1, camera="a"))
    buffer.add(obs(2, camera="b"))
    buffer.add(obs(3, camera="a"))  # b is now the least recently seen
    buffer.add(obs(4, camera="garbage"))
    assert buffer.size_by_camera() == {"a": 2, "garbage": 1}
    assert buffer.names_overflow == 1
    assert buffer.dropped == 1
    # b's stale bookkeeping does not disturb the later bounds.
    buffer.add(obs(5, camera="b"))
    assert buffer.size_by_camera() == {"garbage": 1, "b": 1}
    buffer.prune(3600 + 4.5)
    assert buffer.size_by_camera() == {"b": 1}
    assert buffer.expired == 1
    assert buffer.dropped == 3


def test_dropped_observations_are_released() -> None:
    buffer = DetectionBuffer(retention_seconds=3600, max_observations=10)
    first = obs(0)
    unbuffered = sys.getrefcount(first)
    buffer.add(first)
    assert sys.getrefcount(first) > unbuffered
    for at in range(1, 12):
        buffer.add(obs(at))
    assert buffer.dropped == 2
    assert sys.getrefcount(first) == unbuffered
    # The same when a few of a long list age out at once.
    buffer = DetectionBuffer(retention_seconds=100, max_observations=1000)
    oldest = obs(0)
    unbuffered = sys.getrefcount(oldest)
    for observation in [oldest, obs(0.5), *(obs(1 + at) for at in range(100))]:
        buffer.add(observation)
    buffer.prune(100.9)
    assert buffer.expired == 2
    assert sys.getrefcount(oldest) == unbuffered


def buffer_bytes(
    buffer: DetectionBuffer, observations: list[Observation], prune_at: float | None = None
) -> int:
    """Bytes the buffer still holds after taking `observations` (made beforehand).

    With `prune_at`, measured after pruning at that time.
    """
    gc.collect()
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        for observation in observations:
            buffer.add(observation)
        if prune_at is not None:
            buffer.prune(prune_at)
        gc.collect()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return after - before


def test_one_busy_camera_keeps_a_bounded_list() -> None:
    observations = [obs(at * 0.01) for at in range(50_000)]
    buffer = DetectionBuffer(retention_seconds=3600, max_observations=1000)
    used = buffer_bytes(buffer, observations)
    assert len(buffer) == 1000
    # The observations are the test's; the buffer's own share is its list of 1000
    # (slots of 8 bytes, a quarter more before it is compacted, and some to grow).
    assert used < 1000 * 8 * 3


def test_distinct_camera_names_cost_neither_time_nor_memory() -> None:
    """DESIGN 5: 100,000 camera names at max_observations 1000 (a hostile publisher).

    Ingest stays far above the 20,000 msg/s floor (CPU time of a 100,000-message
    batch, so other processes on the machine do not count), and once the names have
    aged out nothing is left of them but the capped list the rule form offers.
    """
    names = 100_000
    observations = [
        obs(index * 0.001, camera=f"cam{index}", zones=(f"zone{index}",), event_id=f"e{index}")
        for index in range(names)
    ]
    buffer = DetectionBuffer(retention_seconds=600, max_observations=1000)
    gc.collect()
    start = time.process_time()
    for observation in observations:
        buffer.add(observation)
    elapsed = time.process_time() - start
    assert names / elapsed > 20_000
    assert len(buffer) == 1000
    assert len(buffer.size_by_camera()) == 1000

    fresh = [
        obs(index * 0.001, camera=f"cam{index}", zones=(f"zone{index}",), event_id=f"e{index}")
        for index in range(names)
    ]
    buffer = DetectionBuffer(retention_seconds=600, max_observations=1000)
    left = buffer_bytes(buffer, fresh, prune_at=names * 0.001 + 600 + 1)
    assert len(buffer) == 0
    assert buffer.size_by_camera() == {}
    assert len(buffer.cameras) == MAX_REMEMBERED_NAMES
    # ~1 KB per name before; now a bounded amount per remembered name and none per other.
    assert left < MAX_REMEMBERED_NAMES * 1000


# --- time order --------------------------------------------------------------------------


def test_observation_earlier_than_the_newest_is_moved_forward_and_counted() -> None:
    buffer = DetectionBuffer(retention_seconds=3600, max_observations=1000)
    first = obs(1000.0, camera="a")
    stepped_back = obs(995.0, camera="b")
    buffer.add(first)
    buffer.add(stepped_back)
    assert stepped_back.observed_at == 1000.0
    assert buffer.clock_corrections == 1
    later = obs(1001.0, camera="b")
    buffer.add(later)
    assert later.observed_at == 1001.0
    assert buffer.clock_corrections == 1
    assert buffer.window("b") == [stepped_back, later]


def test_same_time_ties_keep_arrival_order_across_labels() -> None:
    buffer = DetectionBuffer(retention_seconds=3600, max_observations=1000)
    car = obs(5, label="car", event_id="car")
    person = obs(5, label="person", event_id="person")
    dog = obs(5, label="dog", event_id="dog")
    for observation in (obs(4, label="person"), car, person, dog):
        buffer.add(observation)
    assert buffer.window("backyard", 5) == [car, person, dog]
    assert buffer.recent(["backyard"], {"dog", "car"}, 0) == [car, dog]


# --- reads -------------------------------------------------------------------------------


def test_recent_reads_only_the_asked_cameras_and_labels() -> None:
    buffer = DetectionBuffer(retention_seconds=3600, max_observations=1000)
    buffer.add(obs(1, camera="a", label="person"))
    buffer.add(obs(2, camera="a", label="car"))
    buffer.add(obs(3, camera="b", label="person"))
    found = buffer.recent(["a"], {"person"}, 0)
    assert [(o.camera, o.label, o.observed_at) for o in found] == [("a", "person", 1)]
    assert buffer.recent(["missing"], {"person"}, 0) == []
    both = buffer.recent(["b", "a"], {"person", "car"}, 0)
    assert [(o.camera, o.observed_at) for o in both] == [("b", 3), ("a", 1), ("a", 2)]


@pytest.mark.parametrize(
    ("since", "until", "expected"),
    [
        (-inf, inf, [1, 2, 2, 3]),
        (2, inf, [2, 2, 3]),
        (2.0001, inf, [3]),
        (3, 3, [3]),
        (3.5, inf, []),
        (-inf, 2, [1, 2, 2]),
        (-inf, 1.9999, [1]),
        (2, 2, [2, 2]),
        (-inf, 0.5, []),
    ],
)
def test_window_edges_are_inclusive(since: float, until: float, expected: list[float]) -> None:
    buffer = DetectionBuffer(retention_seconds=3600, max_observations=1000)
    for at in (1, 2, 2, 3):
        buffer.add(obs(at))
    assert times(buffer.window("backyard", since, until)) == expected
    assert times(buffer.recent(["backyard"], {"person"}, since)) == [
        at for at in [1, 2, 2, 3] if at >= since
    ]


def test_closed_events_stay_until_they_age_out() -> None:
    buffer = DetectionBuffer(retention_seconds=10, max_observations=1000)
    buffer.add(obs(0))
    closed = obs(1)
    closed.kind = Kind.END
    buffer.add(closed)
    assert len(buffer) == 2
    buffer.prune(10.9)
    assert len(buffer) == 1
    buffer.prune(11.1)
    assert len(buffer) == 0


def test_latest_and_clear() -> None:
    buffer = DetectionBuffer(retention_seconds=3600, max_observations=1000)
    buffer.add(obs(1, camera="a"))
    buffer.add(obs(2, camera="b"))
    buffer.add(obs(3, camera="a"))
    assert times(buffer.latest(2)) == [2, 3]
    assert times(buffer.latest(10)) == [1, 2, 3]
    assert buffer.latest(0) == []
    buffer.clear()
    assert len(buffer) == 0
    assert buffer.latest(5) == []
    assert buffer.cameras == ["a", "b"]
    # The clock stays: nothing may be stamped before what was already buffered.
    earlier = obs(2.5, camera="a")
    buffer.add(earlier)
    assert earlier.observed_at == 3


def test_latest_reads_across_many_cameras() -> None:
    buffer = DetectionBuffer(retention_seconds=3600, max_observations=100_000)
    for index in range(3000):
        buffer.add(obs(index, camera=f"cam{index % 700}", event_id=f"e{index}"))
    assert [o.event_id for o in buffer.latest(4)] == ["e2996", "e2997", "e2998", "e2999"]


# --- names remembered for the rule form ---------------------------------------------------


def test_remembered_cameras_keep_the_most_recently_seen() -> None:
    buffer = DetectionBuffer(retention_seconds=3600, max_observations=10)
    buffer.add(obs(0, camera="backyard", zones=("yard",)))
    for index in range(MAX_REMEMBERED_NAMES - 1):
        buffer.add(obs(1, camera=f"garbage{index}"))
    buffer.add(obs(2, camera="backyard", zones=("yard",)))  # seen again: most recent now
    for index in range(MAX_REMEMBERED_NAMES - 1):
        buffer.add(obs(3, camera=f"more{index}"))
    cameras = buffer.cameras
    assert len(cameras) == MAX_REMEMBERED_NAMES
    assert "backyard" in cameras
    assert not any(camera.startswith("garbage") for camera in cameras)
    assert buffer.zones_seen["backyard"] == {"yard"}
    # A camera that stopped sending is forgotten once enough newer names came.
    buffer.add(obs(4, camera="one-more"))
    assert "backyard" not in buffer.cameras
    assert "backyard" not in buffer.zones_seen


def test_remembered_zones_keep_the_most_recently_seen_per_camera() -> None:
    buffer = DetectionBuffer(retention_seconds=3600, max_observations=10)
    real = ("yard", "patio")
    buffer.add(obs(0, zones=real))
    for index in range(MAX_REMEMBERED_ZONES):
        buffer.add(obs(1, zones=(f"z{index}",)))
        if index % 10 == 0:
            buffer.add(obs(1, zones=real))  # the real zones keep being seen
    zones = buffer.zones_seen["backyard"]
    assert len(zones) == MAX_REMEMBERED_ZONES
    assert {"yard", "patio"} <= zones
    assert "z0" not in zones
    assert f"z{MAX_REMEMBERED_ZONES - 1}" in zones


def test_remembered_zones_read_current_and_entered_zones() -> None:
    buffer = DetectionBuffer(retention_seconds=3600, max_observations=10)
    observation = obs(0, zones=("patio",))
    observation.entered_zones = ("yard", "patio")
    buffer.add(observation)
    buffer.add(obs(1, camera="porch"))
    assert buffer.zones_seen == {"backyard": {"yard", "patio"}, "porch": set()}


# --- the bounds against a plain reference ----------------------------------------------------


@dataclass
class ReferenceBuffer:
    """The documented bounds written plainly: one list in arrival order."""

    retention: float
    max_observations: int
    max_names: int
    items: list[Observation] = field(default_factory=list)
    newest: float = -inf
    last_seen: dict[str, int] = field(default_factory=dict)
    arrivals: int = 0
    dropped: int = 0
    expired: int = 0
    names_overflow: int = 0
    clock_corrections: int = 0

    def add(self, observation: Observation) -> None:
        if observation.observed_at < self.newest:
            observation.observed_at = self.newest
            self.clock_corrections += 1
        self.newest = observation.observed_at
        buffered = {o.camera for o in self.items}
        if observation.camera not in buffered and len(buffered) >= self.max_names:
            least = min(buffered, key=self.last_seen.__getitem__)
            self.dropped += sum(1 for o in self.items if o.camera == least)
            self.items = [o for o in self.items if o.camera != least]
            self.names_overflow += 1
        self.arrivals += 1
        self.last_seen[observation.camera] = self.arrivals
        self.items.append(observation)
        cutoff = observation.observed_at - self.retention
        if min(o.observed_at for o in self.items) < cutoff - EXPIRY_STEP_SECONDS:
            self.prune_to(cutoff)
        while len(self.items) > self.max_observations:
            oldest = min(
                range(len(self.items)),
                key=lambda i: (self.items[i].observed_at, self.items[i].camera, i),
            )
            del self.items[oldest]
            self.dropped += 1

    def prune_to(self, cutoff: float) -> None:
        kept = [o for o in self.items if o.observed_at >= cutoff]
        self.expired += len(self.items) - len(kept)
        self.items = kept


CAMERAS = ("a", "b", "c", "d")
STEPS = (-3.0, -0.5, 0.0, 0.0, 0.25, 1.0, 2.5, 7.0)
OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.sampled_from(CAMERAS), st.sampled_from(STEPS)),
        st.tuples(st.just("prune"), st.just(""), st.sampled_from((0.0, 1.0, 4.0, 40.0))),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(
    operations=OPERATIONS,
    retention=st.sampled_from((2.0, 5.0, 30.0)),
    max_observations=st.sampled_from((1, 3, 8, 100)),
    max_names=st.sampled_from((1, 2, 3, 10)),
)
def test_bounds_match_the_reference(
    operations: list[tuple[str, str, float]],
    retention: float,
    max_observations: int,
    max_names: int,
) -> None:
    buffer = DetectionBuffer(retention, max_observations, max_names)
    reference = ReferenceBuffer(retention, max_observations, max_names)
    clock = 100.0
    for index, (operation, camera, step) in enumerate(operations):
        if operation == "add":
            clock += step
            label = ("person", "car")[index % 2]
            buffer.add(obs(clock, camera=camera, label=label, event_id=f"e{index}"))
            reference.add(obs(clock, camera=camera, label=label, event_id=f"e{index}"))
        else:
            buffer.prune(max(clock, reference.newest) + step)
            reference.prune_to(max(clock, reference.newest) + step - retention)
        ids = [o.event_id for o in reference.items]
        assert len(buffer) == len(ids)
        assert (
            buffer.dropped,
            buffer.expired,
            buffer.names_overflow,
            buffer.clock_corrections,
        ) == (
            reference.dropped,
            reference.expired,
            reference.names_overflow,
            reference.clock_corrections,
        )
        expected_sizes: dict[str, int] = {}
        for o in reference.items:
            expected_sizes[o.camera] = expected_sizes.get(o.camera, 0) + 1
        assert buffer.size_by_camera() == expected_sizes
        for name in CAMERAS:
            mine = [o for o in reference.items if o.camera == name]
            assert [o.event_id for o in buffer.window(name)] == [o.event_id for o in mine]
            for since, until in ((clock - 2.5, clock), (clock - 7.0, clock - 0.5)):
                assert [o.event_id for o in buffer.window(name, since, until)] == [
                    o.event_id for o in mine if since <= o.observed_at <= until
                ]
        for limit in (1, 3, len(ids) + 1):
            latest = buffer.latest(limit)
            assert times(latest) == times(reference.items[-limit:])
            assert len({o.event_id for o in latest}) == len(latest)
            assert {o.event_id for o in latest} <= set(ids)
