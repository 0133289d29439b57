"""DetectionBuffer: retention, count cap, camera isolation, `recent` boundaries."""

from __future__ import annotations

import pytest

from custom_components.frigate_rules.core.buffer import MAX_REMEMBERED_NAMES, DetectionBuffer
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
        top_confidence_pct=90.0,
        zones=zones,
        entered_zones=zones,
        stationary=False,
        kind=Kind.UPDATE,
        source=Source.EVENTS,
        frame_time=at,
        observed_at=at,
    )


def test_retention_drops_old_observations_of_the_camera_on_add() -> None:
    buffer = DetectionBuffer(retention_seconds=10, max_observations=1000)
    buffer.add(obs(0))
    buffer.add(obs(5))
    buffer.add(obs(10))
    assert len(buffer) == 3  # 0 is exactly at the edge: kept
    buffer.add(obs(10.5))
    assert [o.observed_at for o in buffer.recent(["backyard"], {"person"}, 0)] == [5, 10, 10.5]
    assert buffer.expired == 1
    assert buffer.dropped == 0


def test_prune_trims_cameras_that_went_quiet() -> None:
    buffer = DetectionBuffer(retention_seconds=10, max_observations=1000)
    buffer.add(obs(0, camera="a"))
    buffer.add(obs(1, camera="b"))
    buffer.prune(10.5)
    assert buffer.size_by_camera() == {"a": 0, "b": 1}
    assert len(buffer) == 1
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
    remaining = sorted(o.observed_at for o in buffer.recent(["a", "b", "c"], {"person"}, 0))
    assert remaining == [3, 4, 5]


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
    ("since", "expected"),
    [(0, [1, 2, 3]), (2, [2, 3]), (2.0001, [3]), (3, [3]), (3.5, [])],
)
def test_recent_since_is_inclusive(since: float, expected: list[float]) -> None:
    buffer = DetectionBuffer(retention_seconds=3600, max_observations=1000)
    for at in (1, 2, 3):
        buffer.add(obs(at))
    assert [o.observed_at for o in buffer.recent(["backyard"], {"person"}, since)] == expected


def test_closed_events_stay_until_they_age_out() -> None:
    buffer = DetectionBuffer(retention_seconds=10, max_observations=1000)
    buffer.add(obs(0))
    closed = obs(1)
    buffer.add(
        Observation(
            **{field: getattr(closed, field) for field in closed.__slots__} | {"kind": Kind.END}
        )
    )
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
    assert [o.observed_at for o in buffer.latest(2)] == [2, 3]
    assert buffer.latest(0) == []
    buffer.clear()
    assert len(buffer) == 0
    assert buffer.cameras == ["a", "b"]


def test_zones_seen_are_remembered_and_bounded() -> None:
    buffer = DetectionBuffer(retention_seconds=3600, max_observations=10 * MAX_REMEMBERED_NAMES)
    buffer.add(obs(1, zones=("yard",)))
    buffer.add(obs(2, zones=("patio",)))
    assert buffer.zones_seen == {"backyard": {"yard", "patio"}}
    for index in range(MAX_REMEMBERED_NAMES + 5):
        buffer.add(obs(3, camera=f"cam{index}", zones=(f"z{index}",)))
    assert len(buffer.zones_seen) == MAX_REMEMBERED_NAMES
    for index in range(MAX_REMEMBERED_NAMES + 5):
        buffer.add(obs(4, zones=(f"zone{index}",)))
    assert len(buffer.zones_seen["backyard"]) <= MAX_REMEMBERED_NAMES + 1


def test_recent_keeps_arrival_order_for_same_time_ties_across_labels() -> None:
    buffer = DetectionBuffer(retention_seconds=3600, max_observations=1000)
    first = obs(5, label="person", event_id="first")
    second = obs(5, label="person", event_id="second")
    buffer.add(obs(4, label="car"))
    buffer.add(first)
    buffer.add(second)
    found = buffer.recent(["backyard"], {"person", "car"}, 0)
    assert [o.event_id for o in found if o.label == "person"] == ["first", "second"]
    assert [o.observed_at for o in found] == [4, 5, 5]
