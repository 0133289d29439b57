"""Sequences (DESIGN 4.9): "A then B" in time, against the real buffer and real fixtures."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence as Seq
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custom_components.frigate_rules.core.buffer import DetectionBuffer
from custom_components.frigate_rules.core.explain import deciding_clause
from custom_components.frigate_rules.core.frigate import parse_event
from custom_components.frigate_rules.core.model import (
    ChainLink,
    Clause,
    Context,
    Evaluation,
    Kind,
    Observation,
    OnUnavailable,
    Reason,
    Sequence,
    SequenceStep,
    Source,
)
from custom_components.frigate_rules.core.sequences import (
    FILTER_CLAUSES,
    clauses_of,
    evaluate_sequence,
    evaluate_sequence_observations,
    sequence_gate,
)

from .test_rules_core import obs

NOW = 1_000.0
FIXTURES = Path(__file__).parent / "fixtures"
ALARM = "alarm_control_panel.house"

type StepSpec = str | tuple[tuple[str, ...], tuple[str, ...]]


def make(*steps: StepSpec, **changes: Any) -> Sequence:
    """A sequence of `steps`: a camera name, or (cameras, zones)."""
    built = tuple(
        SequenceStep((step,)) if isinstance(step, str) else SequenceStep(*step) for step in steps
    )
    return replace(Sequence(sequence_id="s1", name="Seq", steps=built), **changes)


def outcome(evaluation: Evaluation) -> tuple[object, ...]:
    """Everything but the trace; the observation by identity."""
    return (
        evaluation.matched,
        evaluation.reason,
        evaluation.camera,
        evaluation.confidence_pct,
        id(evaluation.observation),
        evaluation.candidates,
        evaluation.next_change_at,
        evaluation.chain,
        evaluation.unavailable_cameras,
    )


def run(
    sequence: Sequence,
    observations: Seq[Observation],
    *,
    now: float = NOW,
    context: Context | None = None,
) -> Evaluation:
    """Evaluate through the buffer and the given observations, fast and explained.

    All four must agree; observations are buffered in the given (receive) order.
    Returns the explained evaluation through the buffer.
    """
    context = context or Context()
    buffer = DetectionBuffer(retention_seconds=10**6, max_observations=10**6)
    for observation in observations:
        buffer.add(observation)
    fast = evaluate_sequence(sequence, buffer, now, context)
    explained = evaluate_sequence(sequence, buffer, now, context, explain=True)
    given_fast = evaluate_sequence_observations(sequence, observations, now, context)
    given_explained = evaluate_sequence_observations(
        sequence, iter(observations), now, context, explain=True
    )
    assert fast.trace == given_fast.trace == ()
    assert outcome(fast) == outcome(explained) == outcome(given_fast) == outcome(given_explained)
    if all(o.camera in sequence.cameras for o in observations):
        # Only given observations can be on other cameras (the buffer path reads none).
        assert explained.trace == given_explained.trace
    assert [c.clause for c in explained.trace] == list(clauses_of(sequence))
    first_failure = deciding_clause(explained)
    if explained.reason is Reason.MATCHED:
        assert first_failure is None
    else:
        assert first_failure is not None
    return explained


def chain_ids(evaluation: Evaluation) -> list[str]:
    return [link.event_id for link in evaluation.chain]


def clause(evaluation: Evaluation, name: str) -> Clause:
    return next(c for c in evaluation.trace if c.clause == name)


# --- order ---------------------------------------------------------------------------


def test_a_then_b_matches() -> None:
    a = obs(85.0, at=NOW - 5, camera="driveway", zones=("drive",), event_id="a")
    b = obs(91.0, at=NOW, camera="backdoor", zones=("steps",), event_id="b")
    result = run(make("driveway", "backdoor"), [a, b])
    assert (result.matched, result.reason) == (True, Reason.MATCHED)
    assert result.chain == (
        ChainLink("driveway", ("drive",), "a", NOW - 5, 85.0),
        ChainLink("backdoor", ("steps",), "b", NOW, 91.0),
    )
    assert (result.camera, result.confidence_pct, result.observation) == ("backdoor", 91.0, b)
    assert result.candidates == 2
    assert result.next_change_at == NOW - 5 + 30


def test_b_then_a_does_not_match() -> None:
    b = obs(at=NOW - 5, camera="backdoor", event_id="b")
    a = obs(at=NOW, camera="driveway", event_id="a")
    result = run(make("driveway", "backdoor"), [b, a])
    assert (result.matched, result.reason) == (False, Reason.INCOMPLETE_SEQUENCE)
    assert (result.chain, result.camera, result.confidence_pct) == ((), None, None)
    assert result.observation is None
    assert result.candidates == 2
    assert result.next_change_at is None, "a partial chain needs new input, not a timer"


def test_direction_of_travel_on_one_camera() -> None:
    path = obs(at=NOW - 3, camera="backdoor", zones=("path",), event_id="p")
    door = obs(at=NOW - 1, camera="backdoor", zones=("door",), event_id="d")
    going_in = make((("backdoor",), ("path",)), (("backdoor",), ("door",)))
    coming_out = make((("backdoor",), ("door",)), (("backdoor",), ("path",)))
    assert run(going_in, [path, door]).matched
    assert not run(coming_out, [path, door]).matched
    assert run(coming_out, [door, replace(path, observed_at=NOW)]).matched


def test_interleaved_people_chain_across_event_ids() -> None:
    """Frigate does not track across cameras: any A sighting before a B sighting will do."""
    seen = [
        obs(at=NOW - 20, camera="driveway", event_id="p1-drive"),
        obs(at=NOW - 12, camera="driveway", event_id="p2-drive"),
        obs(at=NOW - 8, camera="backdoor", event_id="p1-back"),
        obs(at=NOW - 6, camera="driveway", event_id="p1-drive-again"),
        obs(at=NOW - 4, camera="backdoor", event_id="p2-back"),
    ]
    result = run(make("driveway", "backdoor"), seen)
    assert chain_ids(result) == ["p1-drive-again", "p2-back"]
    assert result.next_change_at == NOW - 6 + 30
    assert result.candidates == 5


def test_reports_the_chain_whose_first_link_is_latest() -> None:
    seen = [
        obs(at=NOW - 9, camera="a", event_id="a1"),
        obs(at=NOW - 8, camera="b", event_id="b1"),
        obs(at=NOW - 7, camera="a", event_id="a2"),
        obs(at=NOW - 6, camera="b", event_id="b2"),
        obs(at=NOW - 5, camera="a", event_id="a3"),
    ]
    result = run(make("a", "b"), seen)
    assert chain_ids(result) == ["a2", "b2"]
    # It holds until a2 leaves the window, although a1 -> b1 leaves it sooner.
    assert result.next_change_at == NOW - 7 + 30
    assert run(make("a", "b"), seen, now=NOW - 7 + 30).matched
    assert not run(make("a", "b"), seen, now=NOW - 7 + 30.001).matched


# --- equal times -----------------------------------------------------------------------


def test_equal_times_across_cameras_chain_either_way() -> None:
    a = obs(at=NOW, camera="a", event_id="a")
    b = obs(at=NOW, camera="b", event_id="b")
    for seen in ([a, b], [b, a]):
        assert chain_ids(run(make("a", "b"), seen)) == ["a", "b"]
        assert chain_ids(run(make("b", "a"), seen)) == ["b", "a"]


def test_equal_times_on_one_camera_follow_arrival() -> None:
    path = obs(at=NOW, camera="backdoor", zones=("path",), event_id="p")
    door = obs(at=NOW, camera="backdoor", zones=("door",), event_id="d")
    going_in = make((("backdoor",), ("path",)), (("backdoor",), ("door",)))
    assert run(going_in, [path, door]).matched
    assert not run(going_in, [door, path]).matched


def test_one_observation_serves_one_step() -> None:
    both = obs(at=NOW, camera="backdoor", zones=("path", "door"), event_id="x")
    going_in = make((("backdoor",), ("path",)), (("backdoor",), ("door",)))
    assert run(going_in, [both]).reason is Reason.INCOMPLETE_SEQUENCE
    assert run(make("backdoor", "backdoor"), [both]).reason is Reason.INCOMPLETE_SEQUENCE
    again = replace(both, event_id="y")
    assert chain_ids(run(going_in, [both, again])) == ["x", "y"]
    assert chain_ids(run(make("backdoor", "backdoor"), [both, again])) == ["x", "y"]


def test_an_instant_of_several_cameras_is_searched() -> None:
    """At one instant the camera to use for a step can matter to the steps before it."""
    # At NOW - 1 step 3 must take c, leaving b for step 2, whichever arrived first.
    b_or_c = make("c", "b", (("b", "c"), ()), "d")
    seen = [
        obs(at=NOW - 5, camera="c", event_id="c0"),
        obs(at=NOW - 1, camera="c", event_id="c"),
        obs(at=NOW - 1, camera="b", event_id="b"),
        obs(at=NOW, camera="d", event_id="d"),
    ]
    assert chain_ids(run(b_or_c, seen)) == ["c0", "b", "c", "d"]
    swapped = [seen[0], seen[2], seen[1], seen[3]]
    assert chain_ids(run(b_or_c, swapped)) == ["c0", "b", "c", "d"]


# --- longer chains, zones ----------------------------------------------------------------


def test_three_steps() -> None:
    three = make("gate", "driveway", "backdoor")
    g, d, b = (
        obs(at=NOW - 9, camera="gate", event_id="g"),
        obs(at=NOW - 5, camera="driveway", event_id="d"),
        obs(at=NOW - 1, camera="backdoor", event_id="b"),
    )
    assert chain_ids(run(three, [g, d, b])) == ["g", "d", "b"]
    assert run(three, [d, b]).reason is Reason.INCOMPLETE_SEQUENCE
    assert not run(three, [g, replace(b, observed_at=NOW - 7), replace(d, observed_at=NOW)]).matched


def test_four_steps_revisiting_cameras() -> None:
    four = make("a", "b", "a", "b")
    times = [NOW - 4, NOW - 3, NOW - 2, NOW - 1]
    seen = [
        obs(at=t, camera=c, event_id=f"{c}{i}")
        for i, (t, c) in enumerate(zip(times, "abab", strict=True))
    ]
    assert chain_ids(run(four, seen)) == ["a0", "b1", "a2", "b3"]
    assert not run(four, seen[:3]).matched
    a_b_b_a = [
        seen[0],
        seen[1],
        replace(seen[3], observed_at=NOW - 2),
        replace(seen[2], observed_at=NOW - 1),
    ]
    assert not run(four, a_b_b_a).matched
    # A second B before the second A: the latest one serves step 2.
    extra_b = obs(at=NOW - 2.5, camera="b", event_id="b")
    assert chain_ids(run(four, [*seen[:2], extra_b, *seen[2:]])) == ["a0", "b", "a2", "b3"]


def test_step_zones_match_any_current_zone() -> None:
    in_drive = make((("driveway",), ("drive", "gate")), "backdoor")
    back = obs(at=NOW, camera="backdoor", event_id="b")
    cases: list[tuple[tuple[str, ...], bool]] = [
        (("lawn", "drive"), True),
        (("gate",), True),
        (("lawn",), False),
        ((), False),
    ]
    for zones, matched in cases:
        first = obs(at=NOW - 5, camera="driveway", zones=zones, event_id="a")
        assert run(in_drive, [first, back]).matched is matched, zones
    entered_only = obs(at=NOW - 5, camera="driveway", zones=(), entered=("drive",))
    assert not run(in_drive, [entered_only, back]).matched, "zones entered earlier do not count"


def test_candidates_count_observations_serving_a_step_once() -> None:
    both = make((("cam",), ("x",)), (("cam",), ("y",)))
    seen = [
        obs(at=NOW - 3, camera="cam", zones=("x", "y"), event_id="xy"),
        obs(at=NOW - 2, camera="cam", zones=("z",), event_id="z"),
        obs(at=NOW - 1, camera="cam", zones=("y",), event_id="y"),
    ]
    result = run(both, seen)
    assert chain_ids(result) == ["xy", "y"]
    assert result.candidates == 2


# --- filters -----------------------------------------------------------------------------


FILTER_CASES = [
    # id, sequence changes, changes to the step-1 sighting (on camera a), reason
    ("other-label", {}, {"label": "dog"}, Reason.INCOMPLETE_SEQUENCE),
    ("below", {}, {"confidence": 79.9}, Reason.INCOMPLETE_SEQUENCE),
    ("unscored-review", {}, {"confidence": None, "source": Source.REVIEWS},
     Reason.INCOMPLETE_SEQUENCE),
    ("end", {}, {"kind": Kind.END}, Reason.INCOMPLETE_SEQUENCE),
    ("stationary", {}, {"stationary": True}, Reason.INCOMPLETE_SEQUENCE),
    ("at-threshold", {"min_confidence_pct": 79.9}, {"confidence": 79.9}, Reason.MATCHED),
    ("default-threshold-edge", {}, {"confidence": 80.0}, Reason.MATCHED),
    ("label-of-the-sequence", {"labels": ("dog", "person")}, {"label": "dog"}, Reason.MATCHED),
    ("stationary-allowed", {"include_stationary": True}, {"stationary": True}, Reason.MATCHED),
    ("new", {}, {"kind": Kind.NEW}, Reason.MATCHED),
]  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "first", "reason"), [pytest.param(*case[1:], id=case[0]) for case in FILTER_CASES]
)
def test_filters(changes: dict[str, Any], first: dict[str, Any], reason: Reason) -> None:
    seen = [obs(**{"at": NOW - 2, "camera": "a", **first}), obs(at=NOW, camera="b")]
    assert run(make("a", "b", **changes), seen).reason is reason


def test_no_detections_when_no_step_has_a_candidate() -> None:
    a_b = make((("a",), ("x",)), "b")
    assert run(a_b, []).reason is Reason.NO_DETECTIONS
    assert run(a_b, [obs(camera="elsewhere")]).reason is Reason.NO_DETECTIONS
    result = run(a_b, [obs(camera="a", zones=("y",)), obs(camera="b", confidence=10.0)])
    assert (result.reason, result.candidates) == (Reason.NO_DETECTIONS, 0)


# --- window --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "matched"),
    [
        pytest.param(NOW - 0.001, False, id="last-link-in-future"),
        pytest.param(NOW, True, id="last-link-now"),
        pytest.param(NOW - 20 + 30, True, id="first-link-on-the-edge"),
        pytest.param(NOW - 20 + 30.001, False, id="first-link-gone"),
    ],
)
def test_window_edges_are_inclusive(now: float, matched: bool) -> None:
    seen = [obs(at=NOW - 20, camera="a"), obs(at=NOW, camera="b")]
    result = run(make("a", "b"), seen, now=now)
    assert result.matched is matched
    if matched:
        assert result.next_change_at == NOW - 20 + 30


def test_turns_off_on_time_and_stays_off() -> None:
    """With the first link gone, an older A cannot take its place: none is left."""
    seen = [
        obs(at=NOW - 25, camera="a", event_id="old"),
        obs(at=NOW - 10, camera="a", event_id="new"),
        obs(at=NOW - 5, camera="b", event_id="b"),
    ]
    sequence = make("a", "b", within_seconds=20)
    result = run(sequence, seen)
    assert chain_ids(result) == ["new", "b"]
    assert result.next_change_at == NOW + 10
    later = run(sequence, seen, now=NOW + 10.001)
    assert (later.matched, later.reason, later.next_change_at) == (
        False,
        Reason.INCOMPLETE_SEQUENCE,
        None,
    )


# --- gate and availability ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "context", "matched", "reason"),
    [
        pytest.param({"alarm_entity": ALARM, "alarm_states": ("armed_away",)},
                     Context(alarm_state="disarmed"), False, Reason.ALARM_STATE, id="alarm-off"),
        pytest.param({"alarm_entity": ALARM, "alarm_states": ("armed_away",)},
                     Context(alarm_state="armed_away"), True, Reason.MATCHED, id="alarm-on"),
        pytest.param({}, Context(frigate_available=False), False, Reason.FRIGATE_UNAVAILABLE,
                     id="frigate-down"),
        pytest.param({"on_unavailable": OnUnavailable.TREAT_AS_MATCH},
                     Context(frigate_available=False), True, Reason.FRIGATE_UNAVAILABLE,
                     id="frigate-down-fail-safe"),
        pytest.param({}, Context(unavailable_cameras=frozenset({"a", "b"})), False,
                     Reason.CAMERA_UNAVAILABLE, id="all-cameras-down"),
        pytest.param({"on_unavailable": OnUnavailable.TREAT_AS_MATCH},
                     Context(unavailable_cameras=frozenset({"a", "b", "z"})), True,
                     Reason.CAMERA_UNAVAILABLE, id="all-cameras-down-fail-safe"),
        pytest.param({}, Context(unavailable_cameras=frozenset({"z"})), True, Reason.MATCHED,
                     id="other-camera-down"),
    ],
)  # fmt: skip
def test_gate(changes: dict[str, Any], context: Context, matched: bool, reason: Reason) -> None:
    seen = [obs(at=NOW - 1, camera="a"), obs(at=NOW, camera="b")]
    result = run(make("a", "b", **changes), seen, context=context)
    assert (result.matched, result.reason) == (matched, reason)
    if reason is not Reason.MATCHED:
        assert result.chain == ()
        assert result.next_change_at is None


def test_sequence_gate_watches_every_step_camera() -> None:
    assert sequence_gate(make("a", "b"), Context()) is None
    a_or_c_then_b = make((("a", "c"), ()), "b")
    assert sequence_gate(a_or_c_then_b, Context(unavailable_cameras=frozenset({"a"}))) is None
    gated = sequence_gate(make("a", "b"), Context(unavailable_cameras=frozenset({"a", "b"})))
    assert gated is not None
    assert gated.unavailable_cameras == ("a", "b")
    # One whole step dark is enough: no chain can be completed.
    blind = sequence_gate(make("a", "b"), Context(unavailable_cameras=frozenset({"a"})))
    assert blind is not None
    assert (blind.reason, blind.unavailable_cameras) == (Reason.CAMERA_UNAVAILABLE, ("a",))


def test_an_unavailable_camera_is_left_out() -> None:
    a_then_b_or_c = make("a", (("b", "c"), ()))
    seen = [obs(at=NOW - 2, camera="a"), obs(at=NOW - 1, camera="b"), obs(at=NOW, camera="c")]
    down = Context(unavailable_cameras=frozenset({"c"}))
    result = run(a_then_b_or_c, seen, context=down)
    assert (result.camera, result.unavailable_cameras, result.candidates) == ("b", ("c",), 2)
    step_2 = clause(result, "step_2")
    assert step_2.details["unavailable"] == ["c"]
    assert clause(result, "window").details["other_cameras"] == 1
    whole_step_down = run(
        a_then_b_or_c, seen, context=Context(unavailable_cameras=frozenset({"b", "c"}))
    )
    assert whole_step_down.reason is Reason.CAMERA_UNAVAILABLE


def test_only_the_sequence_cameras_are_read() -> None:
    class Spy(DetectionBuffer):
        read: list[str]

        def window(
            self, camera: str, since: float = -math.inf, until: float = math.inf
        ) -> list[Observation]:
            self.read.append(camera)
            return super().window(camera, since, until)

    buffer = Spy(retention_seconds=600, max_observations=1000)
    buffer.read = []
    for camera in ("a", "b", "c", "d"):
        buffer.add(obs(camera=camera))
    sequence = make("b", (("a", "b"), ()), "d")
    for explain in (False, True):
        buffer.read.clear()
        evaluate_sequence(sequence, buffer, NOW, Context(), explain=explain)
        assert buffer.read == ["b", "a", "d"] == list(sequence.cameras)


# --- the explain trace -------------------------------------------------------------------


def test_trace_of_a_match() -> None:
    seen = [
        obs(at=NOW - 40, camera="a", event_id="old"),
        obs(at=NOW - 5, camera="a", label="dog", event_id="dog"),
        obs(60.0, at=NOW - 4, camera="a", event_id="weak"),
        obs(at=NOW - 3, camera="a", stationary=True, event_id="parked"),
        obs(at=NOW - 2, camera="a", zones=("x",), event_id="a"),
        obs(None, at=NOW - 1.5, camera="b", source=Source.REVIEWS, event_id="review"),
        obs(at=NOW - 1, camera="b", kind=Kind.END, event_id="gone"),
        obs(95.5, at=NOW, camera="b", event_id="b"),
        obs(at=NOW + 1, camera="b", event_id="future"),
    ]
    result = run(make("a", "b"), seen)
    assert result.matched
    assert all(c.passed for c in result.trace)
    assert clause(result, "window").details == {
        "since": NOW - 30,
        "until": NOW,
        "within_seconds": 30.0,
        "observations": 9,
        "too_old": 1,
        "in_future": 1,
        "other_cameras": 0,
        "end_messages": 1,
        "unscored": 1,
        "kept": 5,
    }
    assert clause(result, "labels").details == {
        "labels": ["person"],
        "seen": ["dog", "person"],
        "kept": 4,
    }
    assert clause(result, "confidence").details == {
        "min_confidence_pct": 80.0,
        "below": 1,
        "best": 95.5,
        "kept": 3,
    }
    assert clause(result, "stationary").details == {
        "include_stationary": False,
        "stationary": 1,
        "kept": 2,
    }
    assert clause(result, "step_1").details == {
        "cameras": ["a"],
        "zones": [],
        "candidates": 1,
        "used": {
            "camera": "a",
            "zones": ["x"],
            "event_id": "a",
            "observed_at": NOW - 2,
            "confidence_pct": 90.0,
        },
    }
    assert clause(result, "step_2").details["used"] == {
        "camera": "b",
        "zones": [],
        "event_id": "b",
        "observed_at": NOW,
        "confidence_pct": 95.5,
    }
    json.dumps([c.details for c in result.trace])


def test_trace_says_where_the_chain_stops() -> None:
    three = make("a", (("b",), ("door",)), "c")
    seen = [
        obs(at=NOW - 9, camera="a", event_id="a1"),
        obs(at=NOW - 8, camera="b", event_id="b-outside"),
        obs(at=NOW - 7, camera="c", event_id="c1"),
        obs(at=NOW - 6, camera="b", zones=("door",), event_id="b1"),
        obs(at=NOW - 5, camera="a", event_id="a2"),
    ]
    result = run(three, seen)
    assert result.reason is Reason.INCOMPLETE_SEQUENCE
    assert result.candidates == 4
    step_1, step_2, step_3 = (clause(result, f"step_{n}") for n in (1, 2, 3))
    # The longest run of steps from the first, each as early as it can be.
    assert (step_1.passed, step_1.details["used"]["event_id"]) == (True, "a1")  # type: ignore[index]
    assert (step_2.passed, step_2.details["used"]["event_id"]) == (True, "b1")  # type: ignore[index]
    assert step_2.details["candidates"] == 1
    assert not step_3.passed
    assert step_3.details == {
        "cameras": ["c"],
        "zones": [],
        "candidates": 1,
        "why": "none_at_or_after_previous_step",
        "not_before": NOW - 6,
    }
    assert deciding_clause(result) is step_3


@pytest.mark.parametrize(
    ("sequence", "seen", "context", "deciding", "reason"),
    [
        pytest.param(make("a", "b"), [], Context(), "window", Reason.NO_DETECTIONS, id="empty"),
        pytest.param(make("a", "b"), [obs(camera="a", label="cat")], Context(), "labels",
                     Reason.NO_DETECTIONS, id="labels"),
        pytest.param(make("a", "b"), [obs(50.0, camera="a")], Context(), "confidence",
                     Reason.NO_DETECTIONS, id="confidence"),
        pytest.param(make("a", "b"), [obs(camera="b", stationary=True)], Context(),
                     "stationary", Reason.NO_DETECTIONS, id="stationary"),
        pytest.param(make((("a",), ("x",)), "b"), [obs(camera="a")], Context(), "step_1",
                     Reason.NO_DETECTIONS, id="outside-the-zones"),
        pytest.param(make("a", "b"), [obs(camera="b")], Context(), "step_1",
                     Reason.INCOMPLETE_SEQUENCE, id="only-step-2"),
        pytest.param(make("a", "b"), [obs(camera="a")], Context(), "step_2",
                     Reason.INCOMPLETE_SEQUENCE, id="only-step-1"),
        pytest.param(make("a", "b", alarm_entity=ALARM, alarm_states=("armed_away",)),
                     [obs(camera="a")], Context(), "alarm_gate", Reason.ALARM_STATE, id="alarm"),
        pytest.param(make("a", "b"), [obs(camera="a")], Context(frigate_available=False),
                     "availability", Reason.FRIGATE_UNAVAILABLE, id="frigate"),
        pytest.param(make("a", "b"), [obs(camera="a")],
                     Context(unavailable_cameras=frozenset({"b", "a"})), "availability",
                     Reason.CAMERA_UNAVAILABLE, id="cameras"),
    ],
)  # fmt: skip
def test_deciding_clause(
    sequence: Sequence,
    seen: list[Observation],
    context: Context,
    deciding: str,
    reason: Reason,
) -> None:
    result = run(sequence, seen, context=context)
    assert result.reason is reason
    first = deciding_clause(result)
    assert first is not None
    assert first.clause == deciding
    after = result.trace[result.trace.index(first) + 1 :]
    assert all(c.details == {"skipped": True} and not c.passed for c in after)


def test_trace_of_the_gate() -> None:
    sequence = make("a", "b", alarm_entity=ALARM, alarm_states=("armed_away",))
    result = run(
        sequence,
        [],
        context=Context(alarm_state="armed_away", unavailable_cameras=frozenset({"b", "a"})),
    )
    assert result.trace[:2] == (
        Clause("alarm_gate", True, {"alarm_entity": ALARM, "alarm_state": "armed_away",
                                    "alarm_states": ["armed_away"]}),
        Clause("availability", False, {"frigate_available": True,
                                       "unavailable_cameras": ["a", "b"],
                                       "on_unavailable": "treat_as_no_match"}),
    )  # fmt: skip
    assert [c.clause for c in result.trace] == [*FILTER_CLAUSES, "step_1", "step_2"]


# --- real fixtures -------------------------------------------------------------------------


def fixture_observations(name: str) -> list[Observation]:
    """The `frigate/events` lines of a fixture, parsed at their receive times."""
    observations = []
    at = NOW
    for text in (FIXTURES / name).read_text().splitlines():
        line = json.loads(text)
        at += line["delay_ms"] / 1000
        if line["topic"] == "frigate/events":
            parsed = parse_event(json.dumps(line["payload"]), at)
            assert isinstance(parsed, Observation)
            observations.append(parsed)
    return observations


def replay(sequence: Sequence, observations: list[Observation]) -> list[Evaluation]:
    """Evaluate after every message, as the engine does (each message is `now`)."""
    return [
        run(sequence, observations[: i + 1], now=o.observed_at) for i, o in enumerate(observations)
    ]


K = "k_driveway_to_backdoor_v017.jsonl"
L = "l_backdoor_to_driveway_v017.jsonl"
DRIVE = (("driveway",), ("drive",))
STEPS = (("backdoor",), ("steps",))


@pytest.mark.parametrize(
    ("name", "steps"),
    [
        pytest.param(K, (DRIVE, STEPS), id="k-in-zones"),
        pytest.param(K, ("driveway", "backdoor"), id="k-anywhere"),
        pytest.param(L, (STEPS, DRIVE), id="l-in-zones"),
        pytest.param(L, ("backdoor", "driveway"), id="l-anywhere"),
    ],
)
def test_fixture_matches_in_its_direction(name: str, steps: tuple[StepSpec, ...]) -> None:
    observations = fixture_observations(name)
    sequence = make(*steps, within_seconds=20)
    results = replay(sequence, observations)
    first = next(i for i, r in enumerate(results) if r.matched)
    evaluation, trigger = results[first], observations[first]
    last_step, first_step = sequence.steps[-1], sequence.steps[0]
    assert trigger.camera in last_step.cameras
    assert evaluation.observation is trigger
    assert evaluation.chain[-1].event_id == trigger.event_id
    assert evaluation.chain[0].camera in first_step.cameras
    assert evaluation.chain[0].event_id != trigger.event_id, "two Frigate events, two cameras"
    assert set(first_step.zones) <= set(evaluation.chain[0].zones)
    assert 5 < trigger.observed_at - evaluation.chain[0].observed_at < 20
    # It then stays on until its first link leaves the 20 s window, and turns off.
    end = evaluation.next_change_at
    assert end == evaluation.chain[0].observed_at + 20
    assert all(
        r.matched
        for r, o in zip(results, observations, strict=True)
        if trigger.observed_at <= o.observed_at <= end
    )
    assert run(sequence, observations, now=end).matched
    assert not run(sequence, observations, now=end + 0.001).matched


@pytest.mark.parametrize(
    ("name", "steps"),
    [
        pytest.param(K, (STEPS, DRIVE), id="k-reversed-in-zones"),
        pytest.param(K, ("backdoor", "driveway"), id="k-reversed-anywhere"),
        pytest.param(L, (DRIVE, STEPS), id="l-reversed-in-zones"),
        pytest.param(L, ("driveway", "backdoor"), id="l-reversed-anywhere"),
    ],
)
def test_fixture_never_matches_the_other_way(name: str, steps: tuple[StepSpec, ...]) -> None:
    observations = fixture_observations(name)
    sequence = make(*steps, within_seconds=20)
    results = replay(sequence, observations)
    assert not any(r.matched for r in results)
    assert results[-1].reason is Reason.INCOMPLETE_SEQUENCE
    assert {o.camera for o in observations} == {"driveway", "backdoor"}


# --- generated input: the search against every chain ---------------------------------------

CAMS = ("a", "b", "c")
ZONES = ("x", "y")
START = 1_000.0
fuzz = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def sightings() -> st.SearchStrategy[list[Observation]]:
    """Observations in receive order, in moments of one to three at the same time.

    Steps back in time are allowed: the buffer then stamps the observation with the
    newest time before it, so equal times are common (as are filtered-out sightings).
    """
    one = st.tuples(
        st.sampled_from(CAMS),
        st.sampled_from(("person", "person", "person", "dog")),
        st.lists(st.sampled_from(ZONES), unique=True, max_size=2),
        st.sampled_from((False, False, False, False, True)),
        st.sampled_from((Kind.NEW, *[Kind.UPDATE] * 6, Kind.END)),
        st.sampled_from((None, 50.0, 80.0, *[95.0] * 5)),
    )
    moment = st.tuples(
        st.sampled_from((0.0, 0.0, 0.5, 1.0, 4.0, -1.0)), st.lists(one, min_size=1, max_size=3)
    )

    def build(moments: list[tuple[float, list[tuple[Any, ...]]]]) -> list[Observation]:
        at = START
        built: list[Observation] = []
        for step, rows in moments:
            at += step
            for camera, label, zones, stationary, kind, confidence in rows:
                built.append(
                    obs(
                        confidence,
                        at=at,
                        camera=camera,
                        label=label,
                        zones=tuple(zones),
                        stationary=stationary,
                        kind=kind,
                        event_id=f"e{len(built)}",
                    )
                )
        return built

    return st.lists(moment, min_size=2, max_size=8).map(build)


steps = st.builds(
    SequenceStep,
    st.lists(st.sampled_from(CAMS), min_size=1, max_size=2, unique=True).map(tuple),
    st.sampled_from(((), (), ("x",), ("x", "y"))),
)
sequences = st.builds(
    Sequence,
    sequence_id=st.just("s"),
    name=st.just("Generated"),
    steps=st.lists(steps, min_size=2, max_size=4).map(tuple),
    labels=st.sampled_from((("person",), ("person", "dog"))),
    within_seconds=st.sampled_from((1.0, 3.0, 10.0, 30.0, 30.0)),
    min_confidence_pct=st.sampled_from((0.0, 80.0, 80.0, 95.0)),
    on_unavailable=st.sampled_from(OnUnavailable),
    include_stationary=st.booleans(),
    alarm_entity=st.sampled_from((None, None, None, None, None, ALARM)),
    alarm_states=st.sampled_from(((), ("armed_away",))),
)
contexts = st.builds(
    Context,
    frigate_available=st.sampled_from((True,) * 9 + (False,)),
    alarm_state=st.sampled_from((None, "armed_away")),
    unavailable_cameras=st.one_of(
        *[st.just(frozenset())] * 3, st.frozensets(st.sampled_from(CAMS), max_size=2)
    ),
)
offsets = st.sampled_from((-1.0, 0.0, 0.0, 0.0, 0.0, 0.5, 2.0, 8.0))


def serves(o: Observation, step: SequenceStep) -> bool:
    return o.camera in step.cameras and (not step.zones or bool(set(step.zones) & set(o.zones)))


def every_chain(
    chain_steps: tuple[SequenceStep, ...], candidates: list[Observation]
) -> list[tuple[Observation, ...]]:
    """Every chain, by DESIGN 4.9 written plainly.

    Tuples of distinct candidates serving the steps in order, times never going
    back, links on one camera in the order they arrived.
    """
    arrival = {id(o): index for index, o in enumerate(candidates)}
    found: list[tuple[Observation, ...]] = []

    def extend(chain: tuple[Observation, ...]) -> None:
        if len(chain) == len(chain_steps):
            found.append(chain)
            return
        for o in candidates:
            if (
                serves(o, chain_steps[len(chain)])
                and all(o is not c for c in chain)
                and (not chain or chain[-1].observed_at <= o.observed_at)
                and all(c.camera != o.camera or arrival[id(c)] < arrival[id(o)] for c in chain)
            ):
                extend((*chain, o))

    extend(())
    return found


def design_candidates(
    sequence: Sequence, observations: list[Observation], now: float, context: Context
) -> list[Observation]:
    return [
        o
        for o in observations
        if now - sequence.within_seconds <= o.observed_at <= now
        and o.label in sequence.labels
        and o.kind is not Kind.END
        and o.confidence_pct is not None
        and o.confidence_pct >= sequence.min_confidence_pct
        and (sequence.include_stationary or not o.stationary)
        and o.camera not in context.unavailable_cameras
        and any(serves(o, step) for step in sequence.steps)
    ]


def design_gate(sequence: Sequence, context: Context) -> Reason | None:
    if sequence.alarm_entity is not None and context.alarm_state not in sequence.alarm_states:
        return Reason.ALARM_STATE
    if not context.frigate_available:
        return Reason.FRIGATE_UNAVAILABLE
    down = context.unavailable_cameras
    if any(all(camera in down for camera in step.cameras) for step in sequence.steps):
        return Reason.CAMERA_UNAVAILABLE  # a step that cannot be seen breaks every chain
    return None


@fuzz
@given(sequence=sequences, observations=sightings(), context=contexts, offset=offsets)
def test_finds_the_latest_chain_whenever_one_exists(
    sequence: Sequence, observations: list[Observation], context: Context, offset: float
) -> None:
    now = (observations[-1].observed_at if observations else START) + offset
    result = run(sequence, observations, now=now, context=context)  # buffered: times fixed
    gated = design_gate(sequence, context)
    if gated is not None:
        assert result.reason is gated
        assert result.matched is (
            gated is not Reason.ALARM_STATE
            and sequence.on_unavailable is OnUnavailable.TREAT_AS_MATCH
        )
        return
    candidates = design_candidates(sequence, observations, now, context)
    chains = every_chain(sequence.steps, candidates)
    assert result.candidates == len(candidates)
    assert result.matched is bool(chains)
    if not chains:
        assert result.reason is (Reason.INCOMPLETE_SEQUENCE if candidates else Reason.NO_DETECTIONS)
        assert (result.chain, result.next_change_at, result.observation) == ((), None, None)
    else:
        by_id = {o.event_id: o for o in candidates}
        reported = tuple(by_id[link.event_id] for link in result.chain)
        assert reported in chains
        latest_first = max(chain[0].observed_at for chain in chains)
        assert result.chain[0].observed_at == latest_first
        assert result.next_change_at == latest_first + sequence.within_seconds
        assert result.observation is reported[-1]
        assert (result.camera, result.confidence_pct) == (
            reported[-1].camera,
            reported[-1].confidence_pct,
        )
        assert result.chain == tuple(
            ChainLink(o.camera, o.zones, o.event_id, o.observed_at, o.confidence_pct or 0.0)
            for o in reported
        )
    # The trace passes the longest run of steps from the first that some chain serves.
    longest = max(
        (n for n in range(len(sequence.steps) + 1) if every_chain(sequence.steps[:n], candidates)),
    )
    passed = [c.clause for c in result.trace if c.passed and c.clause.startswith("step_")]
    assert passed == [f"step_{n}" for n in range(1, longest + 1)]
