"""Who and how long (DESIGN 4.8) in the pure core: recognition, the wait, loitering."""

from __future__ import annotations

from typing import Any

import pytest

from custom_components.frigate_rules.core.buffer import DetectionBuffer
from custom_components.frigate_rules.core.model import (
    Context,
    Evaluation,
    Kind,
    Observation,
    Reason,
    Rule,
    Source,
    SubLabelMode,
)
from custom_components.frigate_rules.core.objects import MAX_NAMES_SEEN, MAX_OBJECTS, ObjectMemory
from custom_components.frigate_rules.core.rules import evaluate, evaluate_observations

T0 = 1_000.0


def sighting(
    at: float,
    *,
    event_id: str = "e1",
    score: float = 95.0,
    zones: tuple[str, ...] = ("porch",),
    sub_label: str | None = None,
) -> Observation:
    return Observation(
        event_id=event_id,
        camera="front_door",
        label="person",
        sub_label=sub_label,
        confidence_pct=score,
        zones=zones,
        entered_zones=zones,
        stationary=False,
        kind=Kind.UPDATE,
        source=Source.EVENTS,
        frame_time=None,
        observed_at=at,
    )


def rule(**fields: Any) -> Rule:
    values: dict[str, Any] = {
        "rule_id": "r",
        "name": "Front door",
        "cameras": ("front_door",),
        "within_seconds": 10.0,
        "min_confidence_pct": 80.0,
    }
    return Rule(**(values | fields))


class World:
    """A buffer and an object memory fed like the engine feeds them."""

    def __init__(self, min_recognition_pct: float = 90.0) -> None:
        self.buffer = DetectionBuffer(600, 10_000)
        self.objects = ObjectMemory(min_recognition_pct)
        self.seen: list[Observation] = []

    def add(self, *observations: Observation) -> None:
        for observation in observations:
            self.buffer.add(observation)
            self.objects.observe(observation)
            self.seen.append(observation)

    def evaluate(self, the_rule: Rule, now: float, *, explain: bool = False) -> Evaluation:
        context = Context(objects=self.objects)
        result = evaluate(the_rule, self.buffer, now, context, explain=explain)
        if not explain:
            # The explain path decides alike, and traces why.
            explained = evaluate(the_rule, self.buffer, now, context, explain=True)
            assert (explained.matched, explained.reason, explained.next_change_at) == (
                result.matched,
                result.reason,
                result.next_change_at,
            )
        return result


UNKNOWN_WAIT_3 = {"sub_label_mode": SubLabelMode.UNKNOWN_ONLY, "recognition_wait_seconds": 3.0}


def test_an_unknown_person_counts_once_the_wait_is_over_exactly() -> None:
    world = World()
    world.add(sighting(T0), sighting(T0 + 1))
    waiting = world.evaluate(rule(**UNKNOWN_WAIT_3), T0 + 1)
    assert (waiting.matched, waiting.reason) == (False, Reason.AWAITING_RECOGNITION)
    assert waiting.awaiting_until == T0 + 3
    assert waiting.next_change_at == T0 + 3, "re-evaluated when the wait ends"
    assert world.evaluate(rule(**UNKNOWN_WAIT_3), T0 + 2.999).matched is False
    at_the_end = world.evaluate(rule(**UNKNOWN_WAIT_3), T0 + 3)
    assert (at_the_end.matched, at_the_end.reason) == (True, Reason.MATCHED)
    assert at_the_end.awaiting_until is None


def test_a_face_recognized_during_the_wait_never_counts() -> None:
    world = World()
    world.add(sighting(T0))
    world.objects.recognition("e1", "alice", 93.0)
    world.add(sighting(T0 + 2))
    for now in (T0 + 2, T0 + 3, T0 + 9):
        result = world.evaluate(rule(**UNKNOWN_WAIT_3), now)
        assert (result.matched, result.reason) == (False, Reason.NO_DETECTIONS), now
    known = world.evaluate(rule(sub_label_mode=SubLabelMode.KNOWN_ONLY), T0 + 2)
    assert known.matched is True
    assert known.sub_label is None or known.sub_label == "alice"


def test_recognition_after_the_wait_takes_the_object_out_again() -> None:
    world = World()
    world.add(sighting(T0), sighting(T0 + 4))
    assert world.evaluate(rule(**UNKNOWN_WAIT_3), T0 + 4).matched is True
    world.objects.recognition("e1", "alice", 95.0)
    late = world.evaluate(rule(**UNKNOWN_WAIT_3), T0 + 4.5)
    assert (late.matched, late.reason) == (False, Reason.NO_DETECTIONS)


@pytest.mark.parametrize(
    ("score", "threshold", "recognized"),
    [(89.9, 90.0, False), (90.0, 90.0, True), (70.0, 50.0, True)],
)
def test_updates_below_min_recognition_pct_do_not_name_anyone(
    score: float, threshold: float, recognized: bool
) -> None:
    world = World(min_recognition_pct=threshold)
    world.add(sighting(T0))
    world.objects.recognition("e1", "bob", score)
    result = world.evaluate(rule(sub_label_mode=SubLabelMode.UNKNOWN_ONLY), T0)
    assert result.matched is (not recognized)


def test_sub_label_on_the_event_is_recognition_whatever_the_score() -> None:
    world = World()
    world.add(sighting(T0, sub_label="alice"))
    assert world.evaluate(rule(sub_label_mode=SubLabelMode.UNKNOWN_ONLY), T0).matched is False
    known = world.evaluate(rule(sub_label_mode=SubLabelMode.KNOWN_ONLY), T0)
    assert (known.matched, known.sub_label) == (True, None)  # the engine fills it in


def test_known_sub_labels_narrow_who_is_known() -> None:
    world = World()
    world.add(sighting(T0, event_id="bob-id", sub_label="bob"))
    family = {"known_sub_labels": ("alice", "carol")}
    stranger = world.evaluate(rule(sub_label_mode=SubLabelMode.UNKNOWN_ONLY, **family), T0)
    assert stranger.matched is True, "bob is recognized, but not as family"
    assert (
        world.evaluate(rule(sub_label_mode=SubLabelMode.KNOWN_ONLY, **family), T0).matched is False
    )


def test_two_people_one_known_one_not() -> None:
    world = World()
    world.add(
        sighting(T0, event_id="alice", sub_label="alice", score=99.0),
        sighting(T0 + 0.5, event_id="stranger", score=85.0),
    )
    result = world.evaluate(rule(sub_label_mode=SubLabelMode.UNKNOWN_ONLY), T0 + 1)
    assert (result.matched, result.confidence_pct) == (True, 85.0)
    assert result.observation is not None
    assert result.observation.event_id == "stranger"


def test_awaiting_only_for_someone_who_would_match() -> None:
    world = World()
    world.add(sighting(T0, score=40.0))
    result = world.evaluate(rule(**UNKNOWN_WAIT_3), T0 + 1)
    assert result.reason is Reason.NO_DETECTIONS, "a 40 % person would not alarm anyway"
    assert result.next_change_at == T0 + 3


def test_loitering_counts_after_the_dwell_and_restarts_on_leaving() -> None:
    world = World()
    loiter = rule(zones=("porch",), min_dwell_seconds=30.0, within_seconds=10.0)
    world.add(sighting(T0 - 1, zones=("walkway",)), sighting(T0), sighting(T0 + 20))
    early = world.evaluate(loiter, T0 + 20)
    assert (early.matched, early.reason, early.next_change_at) == (
        False,
        Reason.NO_DETECTIONS,
        T0 + 30,
    )
    world.add(sighting(T0 + 29))
    assert world.evaluate(loiter, T0 + 30).matched is True
    # A step out of the porch restarts the clock.
    world.add(sighting(T0 + 31, zones=()), sighting(T0 + 32))
    again = world.evaluate(loiter, T0 + 33)
    assert (again.matched, again.next_change_at) == (False, T0 + 62)


def test_loitering_without_zones_is_time_on_the_camera() -> None:
    world = World()
    world.add(sighting(T0, zones=()), sighting(T0 + 5, zones=("yard",)))
    on_camera = rule(min_dwell_seconds=5.0)
    assert world.evaluate(on_camera, T0 + 4.9).matched is False
    assert world.evaluate(on_camera, T0 + 5).matched is True


def test_given_observations_and_the_buffer_agree() -> None:
    world = World()
    world.add(sighting(T0), sighting(T0 + 1, sub_label="alice", event_id="e2"), sighting(T0 + 2))
    for fields in (
        UNKNOWN_WAIT_3,
        {"sub_label_mode": SubLabelMode.KNOWN_ONLY},
        {"min_dwell_seconds": 1.5, "zones": ("porch",)},
    ):
        for now in (T0 + 1, T0 + 2.5, T0 + 3, T0 + 4):
            buffer_path = evaluate(rule(**fields), world.buffer, now, Context())
            given = evaluate_observations(rule(**fields), world.seen, now, Context())
            assert (buffer_path.matched, buffer_path.reason, buffer_path.next_change_at) == (
                given.matched,
                given.reason,
                given.next_change_at,
            ), (fields, now)


def test_the_trace_says_who_was_counted_and_who_stayed_how_long() -> None:
    world = World()
    world.add(sighting(T0, event_id="a", sub_label="alice"), sighting(T0, event_id="s"))
    world.objects.recognition("s", "bob", 60.0)
    traced = world.evaluate(
        rule(sub_label_mode=SubLabelMode.UNKNOWN_ONLY, min_dwell_seconds=2.0), T0 + 1, explain=True
    )
    clauses = {clause.clause: clause for clause in traced.trace}
    recognition, dwell = clauses["recognition"], clauses["dwell"]
    assert recognition.passed is True
    assert recognition.details["objects"] == {"a": ["alice"], "s": []}
    assert recognition.details["counted"] == ["s"]
    assert dwell.passed is False
    assert dwell.details["in_zones_for"] == {"s": 1.0}
    assert traced.reason is Reason.NO_DETECTIONS
    assert traced.next_change_at == T0 + 2


def test_the_object_memory_is_bounded() -> None:
    memory = ObjectMemory()
    for n in range(MAX_OBJECTS + 5):
        memory.observe(sighting(float(n), event_id=f"e{n}"))
    assert len(memory) == MAX_OBJECTS
    assert memory.forgotten == 5
    assert memory.get("e0") is None
    memory.recognition("e0", "ghost", 99.0)  # forgotten: nothing to add to
    assert memory.names("e0") == frozenset()
    for n in range(20):
        memory.recognition(f"e{MAX_OBJECTS}", f"name{n}", 99.0)
    assert len(memory.names(f"e{MAX_OBJECTS}")) == 8
    memory.prune(before=MAX_OBJECTS)
    assert len(memory) == 5


def test_names_seen_are_recognitions_at_the_threshold_most_recent_last_and_bounded() -> None:
    memory = ObjectMemory(min_recognition_pct=90.0)
    memory.observe(sighting(T0))
    memory.recognition("e1", "mallory", 89.9)
    memory.recognition("e1", "alice", 93.0)
    memory.observe(sighting(T0, event_id="e2", sub_label="bob"))
    memory.recognition("e1", "alice", 95.0)
    assert memory.names_seen == ["bob", "alice"]
    for n in range(MAX_NAMES_SEEN):
        memory.observe(sighting(T0, event_id=f"person{n}"))
        memory.recognition(f"person{n}", f"name{n}", 99.0)
    assert len(memory.names_seen) == MAX_NAMES_SEEN
    assert "bob" not in memory.names_seen
    assert memory.names_seen[-1] == f"name{MAX_NAMES_SEEN - 1}"
