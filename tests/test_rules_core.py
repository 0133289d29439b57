"""Table-driven tests of the pure evaluator (DESIGN 4.3) against the real buffer."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import pytest

from custom_components.frigate_rules.core.buffer import DetectionBuffer
from custom_components.frigate_rules.core.model import (
    Aggregation,
    Clause,
    Context,
    Evaluation,
    Kind,
    Observation,
    OnUnavailable,
    Reason,
    Rule,
    Source,
    ZoneMatch,
)
from custom_components.frigate_rules.core.rules import (
    CLAUSES,
    aggregate,
    deciding_clause,
    evaluate,
    evaluate_observations,
    percentile_rank,
)

NOW = 1_000.0
FIXTURES = Path(__file__).parent / "fixtures"


def obs(
    confidence: float | None = 90.0,
    *,
    at: float = NOW,
    camera: str = "backyard",
    label: str = "person",
    zones: tuple[str, ...] = (),
    entered: tuple[str, ...] = (),
    stationary: bool = False,
    kind: Kind = Kind.UPDATE,
    source: Source = Source.EVENTS,
    event_id: str = "e1",
) -> Observation:
    return Observation(
        event_id=event_id,
        camera=camera,
        label=label,
        sub_label=None,
        confidence_pct=confidence,
        zones=zones,
        entered_zones=entered,
        stationary=stationary,
        kind=kind,
        source=source,
        frame_time=None,
        observed_at=at,
    )


def make_rule(**changes: object) -> Rule:
    base = Rule(rule_id="r1", name="Backyard person", cameras=("backyard",))
    return replace(base, **changes)  # type: ignore[arg-type]


def outcome(evaluation: Evaluation) -> tuple[object, ...]:
    """Everything but the trace, for comparing the fast and explain paths."""
    return (
        evaluation.matched,
        evaluation.reason,
        evaluation.camera,
        evaluation.confidence_pct,
        evaluation.observation,
        evaluation.per_camera,
        evaluation.candidates,
        evaluation.next_change_at,
    )


def run(
    rule: Rule,
    observations: Sequence[Observation],
    *,
    now: float = NOW,
    context: Context | None = None,
) -> Evaluation:
    """Evaluate through the real buffer; check that all four entry points agree.

    Observations are added to the buffer in the given order (callers give them in
    receive order, as the buffer expects). Returns the explain evaluation.
    """
    context = context or Context()
    buffer = DetectionBuffer(retention_seconds=7200, max_observations=100_000)
    for observation in observations:
        buffer.add(observation)
    fast = evaluate(rule, buffer, now, context)
    explained = evaluate(rule, buffer, now, context, explain=True)
    given_fast = evaluate_observations(rule, observations, now, context)
    given_explained = evaluate_observations(rule, iter(observations), now, context, explain=True)
    assert fast.trace == ()
    assert given_fast.trace == ()
    assert outcome(fast) == outcome(explained) == outcome(given_fast) == outcome(given_explained)
    assert [c.clause for c in explained.trace] == list(CLAUSES)
    assert [c.clause for c in given_explained.trace] == list(CLAUSES)
    return explained


def series(values: Iterable[float], *, step: float = 0.01, **kwargs: object) -> list[Observation]:
    """Chronological observations ending at NOW, event ids o0, o1, ..."""
    values = list(values)
    return [
        obs(value, at=NOW - (len(values) - 1 - i) * step, event_id=f"o{i}", **kwargs)  # type: ignore[arg-type]
        for i, value in enumerate(values)
    ]


def clause(evaluation: Evaluation, name: str) -> Clause:
    return next(c for c in evaluation.trace if c.clause == name)


def reference_aggregate(
    values: Sequence[float], aggregation: Aggregation, percentile: int
) -> float:
    """DESIGN 4.3 step 4 written plainly: latest, max or nearest-rank percentile."""
    if aggregation is Aggregation.LATEST:
        return values[-1]
    if aggregation is Aggregation.MAX:
        return max(values)
    rank = max(1, math.ceil(Fraction(percentile * len(values), 100)))
    return sorted(values)[rank - 1]


# --- aggregation -------------------------------------------------------------------

TEN = [55.0, 91.0, 62.0, 88.0, 70.0, 99.0, 45.0, 83.0, 77.0, 66.0]
# sorted ascending: 45 55 62 66 70 77 83 88 91 99 (indexes in TEN: 6 0 2 9 4 8 7 3 1 5)

AGGREGATION_CASES = [
    # id, aggregation, percentile, chronological values, expected value, index of representative
    ("latest", Aggregation.LATEST, 90, [70.0, 95.0, 80.0], 80.0, 2),
    ("latest-single", Aggregation.LATEST, 90, [42.0], 42.0, 0),
    ("max", Aggregation.MAX, 90, [70.0, 95.0, 80.0], 95.0, 1),
    ("max-tie-latest-wins", Aggregation.MAX, 90, [95.0, 70.0, 95.0], 95.0, 2),
    ("p1-n1", Aggregation.PERCENTILE, 1, [42.0], 42.0, 0),
    ("p50-n1", Aggregation.PERCENTILE, 50, [42.0], 42.0, 0),
    ("p90-n1", Aggregation.PERCENTILE, 90, [42.0], 42.0, 0),
    ("p100-n1", Aggregation.PERCENTILE, 100, [42.0], 42.0, 0),
    # n=2, sorted [60, 80]: p1 rank 1, p50 rank 1 (exactly 1.0), p90 rank 2 (1.8), p100 rank 2
    ("p1-n2", Aggregation.PERCENTILE, 1, [80.0, 60.0], 60.0, 1),
    ("p50-n2", Aggregation.PERCENTILE, 50, [80.0, 60.0], 60.0, 1),
    ("p90-n2", Aggregation.PERCENTILE, 90, [80.0, 60.0], 80.0, 0),
    ("p100-n2", Aggregation.PERCENTILE, 100, [80.0, 60.0], 80.0, 0),
    # n=10: p1 rank 1 (0.1), p50 rank 5, p90 rank 9, p100 rank 10
    ("p1-n10", Aggregation.PERCENTILE, 1, TEN, 45.0, 6),
    ("p50-n10", Aggregation.PERCENTILE, 50, TEN, 70.0, 4),
    ("p90-n10", Aggregation.PERCENTILE, 90, TEN, 91.0, 1),
    ("p100-n10", Aggregation.PERCENTILE, 100, TEN, 99.0, 5),
    # p51 of 10: 5.1 -> rank 6 -> 77
    ("p51-n10", Aggregation.PERCENTILE, 51, TEN, 77.0, 8),
    # equal values: the later one stands for the rank
    ("percentile-tie", Aggregation.PERCENTILE, 100, [80.0, 80.0, 60.0], 80.0, 1),
    # 1..100 at p7 is rank 7 (value 7); float ceil(0.07 * 100) would say 8
    ("p7-n100-no-float-trap", Aggregation.PERCENTILE, 7, [float(v) for v in range(1, 101)], 7.0, 6),
]


@pytest.mark.parametrize(
    ("aggregation", "percentile", "values", "expected", "index"),
    [pytest.param(*case[1:], id=case[0]) for case in AGGREGATION_CASES],
)
def test_aggregation(
    aggregation: Aggregation,
    percentile: int,
    values: list[float],
    expected: float,
    index: int,
) -> None:
    rule = make_rule(aggregation=aggregation, percentile=percentile, min_confidence_pct=0.0)
    observations = series(values)
    result = run(rule, observations)
    assert reference_aggregate(values, aggregation, percentile) == expected
    assert aggregate(observations, aggregation, percentile) is observations[index]
    assert result.confidence_pct == expected
    assert result.observation is observations[index]
    assert result.per_camera["backyard"].observation is observations[index]
    assert result.per_camera["backyard"].candidates == len(values)
    assert result.candidates == len(values)
    assert result.matched
    assert result.reason is Reason.MATCHED


def test_latest_uses_observed_at_not_input_order() -> None:
    rule = make_rule(aggregation=Aggregation.LATEST, min_confidence_pct=0.0)
    late = obs(50.0, at=NOW - 1, event_id="late")
    early = obs(99.0, at=NOW - 5, event_id="early")
    tie = obs(60.0, at=NOW - 1, event_id="tie")
    for explain in (False, True):
        result = evaluate_observations(rule, [late, early, tie], NOW, Context(), explain=explain)
        assert result.observation is tie
        assert result.confidence_pct == 60.0
        assert result.next_change_at == NOW - 5 + 10.0


def test_max_tie_prefers_latest_then_later_input() -> None:
    rule = make_rule(aggregation=Aggregation.MAX, min_confidence_pct=0.0)
    newer = obs(90.0, at=NOW - 1, event_id="newer")
    older = obs(90.0, at=NOW - 5, event_id="older")
    same_time = obs(90.0, at=NOW - 1, event_id="same-time")
    result = evaluate_observations(rule, [newer, older, same_time], NOW, Context())
    assert result.observation is same_time
    result = evaluate_observations(rule, [newer, older], NOW, Context())
    assert result.observation is newer


@pytest.mark.parametrize(
    ("count", "percentile", "rank"),
    [
        pytest.param(1, 1, 1, id="n1-p1"),
        pytest.param(3, 1, 1, id="n3-p1-clamped-up"),
        pytest.param(3, 34, 2, id="n3-p34"),
        pytest.param(3, 100, 3, id="n3-p100"),
        pytest.param(20, 95, 19, id="n20-p95"),
    ],
)
def test_percentile_rank(count: int, percentile: int, rank: int) -> None:
    assert percentile_rank(count, percentile) == rank


def test_aggregate_refuses_empty() -> None:
    with pytest.raises(ValueError, match="no candidates"):
        aggregate([], Aggregation.MAX, 90)


# --- threshold and window edges ----------------------------------------------------


@pytest.mark.parametrize(
    ("minimum", "confidence", "matched"),
    [
        pytest.param(90.0, 90.0, True, id="equal-passes"),
        pytest.param(90.0, math.nextafter(90.0, 0.0), False, id="hair-below-fails"),
        pytest.param(90.0, 89.0, False, id="below-fails"),
        pytest.param(0.0, 0.0, True, id="zero-threshold"),
        pytest.param(100.0, 100.0, True, id="full-threshold"),
    ],
)
def test_threshold_boundary(minimum: float, confidence: float, matched: bool) -> None:
    result = run(make_rule(min_confidence_pct=minimum), [obs(confidence)])
    assert result.matched is matched
    assert result.reason is (Reason.MATCHED if matched else Reason.BELOW_THRESHOLD)
    assert result.confidence_pct == confidence
    assert result.camera == "backyard"
    assert result.matching_cameras == (frozenset({"backyard"}) if matched else frozenset())


@pytest.mark.parametrize(
    ("observed_at", "inside"),
    [
        pytest.param(NOW - 10.0, True, id="oldest-edge-in"),
        pytest.param(math.nextafter(NOW - 10.0, 0.0), False, id="hair-older-out"),
        pytest.param(NOW - 5.0, True, id="middle-in"),
        pytest.param(NOW, True, id="now-in"),
        pytest.param(math.nextafter(NOW, math.inf), False, id="future-out"),
    ],
)
def test_window_edges(observed_at: float, inside: bool) -> None:
    result = run(make_rule(within_seconds=10.0), [obs(95.0, at=observed_at)])
    assert result.matched is inside
    assert result.reason is (Reason.MATCHED if inside else Reason.NO_DETECTIONS)
    assert result.candidates == (1 if inside else 0)
    assert result.next_change_at == (observed_at + 10.0 if inside else None)


# --- candidate filters -------------------------------------------------------------

ZONE_CASES = [
    # id, rule zones, match, observation current zones, entered zones, candidate?
    ("empty-rule-no-zones", (), ZoneMatch.ANY, (), (), True),
    ("empty-rule-some-zone", (), ZoneMatch.ANY, ("yard",), ("yard",), True),
    ("empty-rule-all-mode", (), ZoneMatch.ALL, (), (), True),
    ("any-exact", ("patio",), ZoneMatch.ANY, ("patio",), ("patio",), True),
    ("any-overlap", ("patio", "yard"), ZoneMatch.ANY, ("yard",), ("yard",), True),
    ("any-disjoint", ("patio",), ZoneMatch.ANY, ("yard",), ("yard",), False),
    ("any-between-zones", ("patio",), ZoneMatch.ANY, (), ("yard", "patio"), False),
    ("all-partial", ("patio", "yard"), ZoneMatch.ALL, ("yard",), ("yard", "patio"), False),
    ("all-superset", ("patio", "yard"), ZoneMatch.ALL, ("yard", "patio", "lawn"), (), True),
    ("all-between-zones", ("patio",), ZoneMatch.ALL, (), ("patio",), False),
]


@pytest.mark.parametrize(
    ("zones", "zone_match", "current", "entered", "candidate"),
    [pytest.param(*case[1:], id=case[0]) for case in ZONE_CASES],
)
def test_zones(
    zones: tuple[str, ...],
    zone_match: ZoneMatch,
    current: tuple[str, ...],
    entered: tuple[str, ...],
    candidate: bool,
) -> None:
    rule = make_rule(zones=zones, zone_match=zone_match)
    result = run(rule, [obs(95.0, zones=current, entered=entered)])
    assert result.candidates == (1 if candidate else 0)
    assert result.matched is candidate
    zones_clause = clause(result, "zones")
    assert zones_clause.passed is candidate
    assert zones_clause.details["kept"] == (1 if candidate else 0)
    assert zones_clause.details["zones"] == list(zones)
    assert zones_clause.details["zone_match"] == zone_match.value
    assert zones_clause.details["seen"] == sorted(current)


# The evaluator has a separate fast filter for no zone, one zone and several zones.
RULE_ZONE_SHAPES = [
    pytest.param((), id="anywhere"),
    pytest.param(("patio",), id="one-zone"),
    pytest.param(("patio", "yard"), id="two-zones"),
]


@pytest.mark.parametrize(
    ("include_stationary", "stationary", "candidate"),
    [
        pytest.param(False, False, True, id="moving-counted"),
        pytest.param(False, True, False, id="stationary-ignored"),
        pytest.param(True, True, True, id="stationary-included"),
        pytest.param(True, False, True, id="moving-with-include"),
    ],
)
@pytest.mark.parametrize("zones", RULE_ZONE_SHAPES)
def test_stationary(
    include_stationary: bool, stationary: bool, candidate: bool, zones: tuple[str, ...]
) -> None:
    rule = make_rule(include_stationary=include_stationary, zones=zones)
    result = run(rule, [obs(95.0, stationary=stationary, zones=("patio", "yard"))])
    assert result.matched is candidate
    assert result.candidates == (1 if candidate else 0)
    assert clause(result, "stationary").passed is candidate


def test_labels_filter() -> None:
    rule = make_rule(labels=("person", "dog"))
    result = run(rule, [obs(99.0, label="car", at=NOW - 2), obs(85.0, label="dog", at=NOW - 1)])
    assert result.candidates == 1
    assert result.confidence_pct == 85.0
    assert result.observation is not None
    assert result.observation.label == "dog"


@pytest.mark.parametrize("zones", RULE_ZONE_SHAPES)
@pytest.mark.parametrize("include_stationary", [False, True])
@pytest.mark.parametrize(
    "excluded",
    [
        pytest.param(obs(99.0, kind=Kind.END, event_id="x"), id="end-message"),
        pytest.param(obs(None, source=Source.REVIEWS, event_id="x"), id="review-no-score"),
        pytest.param(obs(None, event_id="x"), id="event-no-score"),
    ],
)
def test_not_sightings_excluded(
    excluded: Observation, include_stationary: bool, zones: tuple[str, ...]
) -> None:
    rule = make_rule(include_stationary=include_stationary, zones=zones)
    excluded = replace(excluded, zones=("patio", "yard"))
    result = run(rule, [excluded])
    assert result.reason is Reason.NO_DETECTIONS
    assert result.candidates == 0
    assert result.next_change_at is None
    # Next to a real sighting they change nothing: not counted, not the oldest.
    excluded_early = replace(excluded, observed_at=NOW - 8)
    sighting = obs(85.0, at=NOW - 3, event_id="s", zones=("patio", "yard"))
    result = run(rule, [excluded_early, sighting])
    assert result.candidates == 1
    assert result.observation is sighting
    assert result.next_change_at == NOW - 3 + 10.0


def test_updates_before_end_stay_candidates() -> None:
    update = obs(95.0, at=NOW - 6, event_id="ev")
    end = obs(93.0, at=NOW - 1, kind=Kind.END, event_id="ev")
    result = run(make_rule(), [update, end])
    assert result.matched
    assert result.observation is update
    assert result.candidates == 1
    assert result.next_change_at == NOW - 6 + 10.0
    later = run(make_rule(), [update, end], now=NOW + 4.5)
    assert later.reason is Reason.NO_DETECTIONS


# --- gates -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "matched"),
    [
        pytest.param(OnUnavailable.TREAT_AS_MATCH, True, id="treat-as-match"),
        pytest.param(OnUnavailable.TREAT_AS_NO_MATCH, False, id="treat-as-no-match"),
    ],
)
@pytest.mark.parametrize(
    "confidences",
    [pytest.param([], id="no-detections"), pytest.param([99.0], id="with-detections")],
)
def test_on_unavailable(policy: OnUnavailable, matched: bool, confidences: list[float]) -> None:
    rule = make_rule(on_unavailable=policy)
    result = run(rule, series(confidences), context=Context(frigate_available=False))
    assert result.matched is matched
    assert result.reason is Reason.FRIGATE_UNAVAILABLE
    assert result.camera is None
    assert result.confidence_pct is None
    assert result.per_camera == {}
    assert result.candidates == 0
    assert result.next_change_at is None
    failing = deciding_clause(result)
    assert failing is not None
    assert failing.clause == "availability"
    assert failing.details == {
        "frigate_available": False,
        "unavailable_cameras": [],
        "on_unavailable": policy.value,
    }


ALARM = "alarm_control_panel.home"
GATE_CASES = [
    # id, alarm_entity, alarm_states, alarm_state, frigate_available, matched, reason
    ("no-entity-ignores-state", None, (), None, True, True, Reason.MATCHED),
    ("no-entity-unavailable", None, (), "disarmed", False, True, Reason.FRIGATE_UNAVAILABLE),
    ("state-unknown", ALARM, ("armed_away",), None, True, False, Reason.ALARM_STATE),
    ("state-not-listed", ALARM, ("armed_away",), "disarmed", True, False, Reason.ALARM_STATE),
    ("state-listed", ALARM, ("armed_home", "armed_away"), "armed_away", True, True, Reason.MATCHED),
    (
        "gate-before-unavailable",
        ALARM,
        ("armed_away",),
        "disarmed",
        False,
        False,
        Reason.ALARM_STATE,
    ),
    (
        "gate-open-then-unavailable",
        ALARM,
        ("armed_away",),
        "armed_away",
        False,
        True,
        Reason.FRIGATE_UNAVAILABLE,
    ),
]


@pytest.mark.parametrize(
    ("entity", "states", "state", "available", "matched", "reason"),
    [pytest.param(*case[1:], id=case[0]) for case in GATE_CASES],
)
def test_alarm_gate(
    entity: str | None,
    states: tuple[str, ...],
    state: str | None,
    available: bool,
    matched: bool,
    reason: Reason,
) -> None:
    rule = make_rule(
        alarm_entity=entity, alarm_states=states, on_unavailable=OnUnavailable.TREAT_AS_MATCH
    )
    context = Context(frigate_available=available, alarm_state=state)
    result = run(rule, [obs(95.0, at=NOW - 1)], context=context)
    assert result.matched is matched
    assert result.reason is reason
    gate = clause(result, "alarm_gate")
    assert gate.passed is (reason is not Reason.ALARM_STATE)
    assert gate.details == {
        "alarm_entity": entity,
        "alarm_state": state,
        "alarm_states": list(states),
    }
    if reason is Reason.ALARM_STATE:
        assert result.candidates == 0
        assert result.next_change_at is None
        assert result.per_camera == {}
        assert [c.details for c in result.trace[1:]] == [{"skipped": True}] * (len(CLAUSES) - 1)
        assert not any(c.passed for c in result.trace[1:])


# --- several cameras ---------------------------------------------------------------

CAMERAS = ("front", "back", "side")


def multi(*per_camera: tuple[str, list[float]]) -> list[Observation]:
    """Interleave per-camera confidences in time, newest last, ids <camera><i>."""
    out = [
        obs(value, camera=camera, at=NOW - 5 + i * 0.5 + k * 0.1, event_id=f"{camera}{i}")
        for k, (camera, values) in enumerate(per_camera)
        for i, value in enumerate(values)
    ]
    return sorted(out, key=lambda o: o.observed_at)


MULTI_CASES = [
    # id, cameras and values, aggregation, best camera, best value, matching cameras
    (
        "max-best-is-highest",
        [("front", [70.0, 85.0]), ("back", [95.0]), ("side", [60.0])],
        Aggregation.MAX,
        "back",
        95.0,
        {"front", "back"},
    ),
    (
        "latest-changes-best",
        [("front", [99.0, 81.0]), ("back", [70.0, 90.0]), ("side", [60.0])],
        Aggregation.LATEST,
        "back",
        90.0,
        {"front", "back"},
    ),
    (
        "tie-goes-to-name-order",
        [("side", [90.0]), ("back", [90.0]), ("front", [85.0])],
        Aggregation.MAX,
        "back",
        90.0,
        {"side", "back", "front"},
    ),
    (
        "none-matches-closest-reported",
        [("front", [70.0]), ("back", [75.0, 60.0]), ("side", [40.0])],
        Aggregation.MAX,
        "back",
        75.0,
        set(),
    ),
    (
        "other-camera-ignored",
        [("garage", [99.0]), ("side", [82.0])],
        Aggregation.MAX,
        "side",
        82.0,
        {"side"},
    ),
]


@pytest.mark.parametrize(
    ("data", "aggregation", "best", "value", "matching"),
    [pytest.param(*case[1:], id=case[0]) for case in MULTI_CASES],
)
def test_several_cameras(
    data: list[tuple[str, list[float]]],
    aggregation: Aggregation,
    best: str,
    value: float,
    matching: set[str],
) -> None:
    rule = make_rule(cameras=CAMERAS, aggregation=aggregation, min_confidence_pct=80.0)
    observations = multi(*data)
    result = run(rule, observations)
    assert result.camera == best
    assert result.confidence_pct == value
    assert result.matched is bool(matching)
    assert result.reason is (Reason.MATCHED if matching else Reason.BELOW_THRESHOLD)
    assert result.matching_cameras == frozenset(matching)
    watched = [(camera, values) for camera, values in data if camera in CAMERAS]
    assert list(result.per_camera) == [c for c in CAMERAS if c in dict(watched)]
    assert result.candidates == sum(len(values) for _, values in watched)
    for camera, values in watched:
        agg = result.per_camera[camera]
        assert agg.candidates == len(values)
        assert agg.confidence_pct == reference_aggregate(values, aggregation, 90)
        assert agg.matched is (camera in matching)
    assert result.observation is result.per_camera[best].observation


def test_duplicate_camera_in_hand_built_rule_counts_once() -> None:
    rule = make_rule(cameras=("backyard", "backyard"))
    result = run(rule, [obs(95.0)])
    assert result.candidates == 1
    assert list(result.per_camera) == ["backyard"]


# --- next_change_at ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("observations", "expected"),
    [
        pytest.param([], None, id="nothing"),
        pytest.param([obs(95.0, at=NOW - 3)], NOW + 7, id="one"),
        pytest.param(
            [obs(40.0, at=NOW - 8, event_id="a"), obs(95.0, at=NOW - 2, event_id="b")],
            NOW + 2,
            id="oldest-even-if-low",
        ),
        pytest.param(
            [obs(95.0, at=NOW - 9, zones=("yard",)), obs(95.0, at=NOW - 4, zones=("patio",))],
            NOW + 6,
            id="non-candidates-ignored",
        ),
        pytest.param(
            [
                obs(95.0, at=NOW - 12),
                obs(95.0, at=NOW - 9, camera="garage"),
                obs(95.0, at=NOW - 5),
            ],
            NOW + 5,
            id="aged-and-other-camera-ignored",
        ),
    ],
)
def test_next_change_at(observations: list[Observation], expected: float | None) -> None:
    rule = make_rule(zones=("patio",)) if any(o.zones for o in observations) else make_rule()
    assert run(rule, observations).next_change_at == expected


def test_past_now_keeps_the_edge_and_drops_later() -> None:
    """Evaluating at an earlier `now` (simulate): observed_at == now is in, later is out."""
    at_now = obs(85.0, at=NOW, event_id="at-now")
    later = obs(99.0, at=NOW + 1, event_id="later")
    result = run(make_rule(), [at_now, later])
    assert result.candidates == 1
    assert result.observation is at_now
    assert clause(result, "window").details["in_future"] == 1


def test_next_change_at_timeline() -> None:
    """At next_change_at the candidate is still in; a tick later it is gone."""
    rule = make_rule(within_seconds=10.0)
    first = run(rule, [obs(95.0, at=NOW)])
    assert first.next_change_at == NOW + 10.0
    at_edge = run(rule, [obs(95.0, at=NOW)], now=NOW + 10.0)
    assert at_edge.matched
    after = run(rule, [obs(95.0, at=NOW)], now=NOW + 10.001)
    assert after.reason is Reason.NO_DETECTIONS
    assert after.next_change_at is None


def test_next_change_at_none_when_gated() -> None:
    rule = make_rule(alarm_entity=ALARM, alarm_states=("armed_away",))
    gated = run(rule, [obs(95.0)], context=Context(alarm_state="disarmed"))
    assert gated.next_change_at is None
    unavailable = run(make_rule(), [obs(95.0)], context=Context(frigate_available=False))
    assert unavailable.next_change_at is None


# --- trace -------------------------------------------------------------------------

TRACE_CASES = [
    # id, rule changes, context, observations (buffer order), reason, deciding clause
    (
        "alarm-state",
        {"alarm_entity": ALARM, "alarm_states": ("armed_away",)},
        Context(alarm_state="disarmed"),
        [obs(95.0)],
        Reason.ALARM_STATE,
        "alarm_gate",
    ),
    (
        "unavailable",
        {},
        Context(frigate_available=False),
        [obs(95.0)],
        Reason.FRIGATE_UNAVAILABLE,
        "availability",
    ),
    ("empty", {}, Context(), [], Reason.NO_DETECTIONS, "window"),
    ("too-old", {}, Context(), [obs(95.0, at=NOW - 30)], Reason.NO_DETECTIONS, "window"),
    ("only-end", {}, Context(), [obs(95.0, kind=Kind.END)], Reason.NO_DETECTIONS, "window"),
    (
        "only-review",
        {},
        Context(),
        [obs(None, source=Source.REVIEWS)],
        Reason.NO_DETECTIONS,
        "window",
    ),
    ("wrong-label", {}, Context(), [obs(95.0, label="car")], Reason.NO_DETECTIONS, "labels"),
    (
        "wrong-zone",
        {"zones": ("patio",)},
        Context(),
        [obs(95.0, zones=("yard",))],
        Reason.NO_DETECTIONS,
        "zones",
    ),
    (
        "stationary",
        {},
        Context(),
        [obs(95.0, stationary=True)],
        Reason.NO_DETECTIONS,
        "stationary",
    ),
    ("below-threshold", {}, Context(), [obs(50.0)], Reason.BELOW_THRESHOLD, "threshold"),
    ("matched", {}, Context(), [obs(95.0)], Reason.MATCHED, None),
]


@pytest.mark.parametrize(
    ("changes", "context", "observations", "reason", "deciding"),
    [pytest.param(*case[1:], id=case[0]) for case in TRACE_CASES],
)
def test_trace_names_deciding_clause(
    changes: dict[str, object],
    context: Context,
    observations: list[Observation],
    reason: Reason,
    deciding: str | None,
) -> None:
    result = run(make_rule(**changes), observations, context=context)
    assert result.reason is reason
    failing = deciding_clause(result)
    names = [c.clause for c in result.trace]
    if deciding is None:
        assert failing is None
        assert all(c.passed for c in result.trace)
        return
    assert failing is not None
    assert failing.clause == deciding
    position = names.index(deciding)
    assert all(c.passed for c in result.trace[:position])
    assert "skipped" not in failing.details
    assert all(c.details == {"skipped": True} for c in result.trace[position + 1 :])


def test_trace_for_wrong_camera_in_given_observations() -> None:
    rule = make_rule()
    result = evaluate_observations(rule, [obs(95.0, camera="garage")], NOW, Context(), explain=True)
    assert result.reason is Reason.NO_DETECTIONS
    failing = deciding_clause(result)
    assert failing is not None
    assert failing.clause == "cameras"
    assert failing.details == {"cameras": ["backyard"], "seen": ["garage"], "kept": 0}


def test_trace_details_of_a_match() -> None:
    rule = make_rule(
        zones=("patio",), aggregation=Aggregation.PERCENTILE, percentile=50, within_seconds=10.0
    )
    observations = [
        obs(99.0, at=NOW - 40, zones=("patio",), event_id="old"),
        obs(97.0, at=NOW - 6, label="car", zones=("patio",), event_id="car"),
        obs(70.0, at=NOW - 5, zones=("yard",), event_id="yard"),
        obs(91.0, at=NOW - 4, zones=(), event_id="between"),
        obs(85.0, at=NOW - 3, zones=("patio",), event_id="p1"),
        obs(92.0, at=NOW - 2, zones=("patio",), stationary=True, event_id="still"),
        obs(95.0, at=NOW - 1, zones=("patio",), event_id="p2"),
        obs(95.0, at=NOW - 0.5, kind=Kind.END, zones=("patio",), event_id="p2"),
        obs(None, at=NOW - 0.5, source=Source.REVIEWS, zones=("patio",), event_id="rev"),
    ]
    result = run(rule, observations)
    assert result.matched
    assert result.confidence_pct == 85.0  # p50 of [85, 95]: rank 1
    trace = {c.clause: c for c in result.trace}
    assert trace["alarm_gate"] == Clause(
        "alarm_gate", True, {"alarm_entity": None, "alarm_state": None, "alarm_states": []}
    )
    assert trace["availability"] == Clause(
        "availability",
        True,
        {
            "frigate_available": True,
            "unavailable_cameras": [],
            "on_unavailable": "treat_as_no_match",
        },
    )
    assert trace["window"].details == {
        "since": NOW - 10,
        "until": NOW,
        "within_seconds": 10.0,
        "observations": 9,
        "too_old": 1,
        "in_future": 0,
        "end_messages": 1,
        "unscored": 1,
        "kept": 6,
    }
    assert trace["labels"].details == {"labels": ["person"], "seen": ["car", "person"], "kept": 5}
    assert trace["cameras"].details == {"cameras": ["backyard"], "seen": ["backyard"], "kept": 5}
    assert trace["zones"].details == {
        "zones": ["patio"],
        "zone_match": "any",
        "seen": ["patio", "yard"],
        "outside_any_zone": 1,
        "kept": 3,
    }
    assert trace["stationary"].details == {"include_stationary": False, "stationary": 1, "kept": 2}
    assert trace["aggregation"].details == {
        "aggregation": "percentile",
        "percentile": 50,
        "per_camera": {
            "backyard": {
                "confidence_pct": 85.0,
                "candidates": 2,
                "event_id": "p1",
                "observed_at": NOW - 3,
            }
        },
    }
    assert trace["threshold"] == Clause(
        "threshold",
        True,
        {
            "min_confidence_pct": 80.0,
            "camera": "backyard",
            "confidence_pct": 85.0,
            "matching_cameras": ["backyard"],
        },
    )
    assert all(c.passed for c in result.trace)


def test_aggregation_details_omit_percentile_for_max() -> None:
    result = run(make_rule(), [obs(95.0)])
    assert clause(result, "aggregation").details["aggregation"] == "max"
    assert "percentile" not in clause(result, "aggregation").details


def test_deciding_clause_without_trace() -> None:
    assert deciding_clause(evaluate_observations(make_rule(), [], NOW, Context())) is None


# --- replay of a real fixture ------------------------------------------------------


def test_fixture_person_reaches_patio() -> None:
    """a_person_backyard_v017: off until the person is in patio at >= 0.90, then on."""
    from custom_components.frigate_rules.core.frigate import parse_event

    rule = make_rule(
        zones=("patio",),
        min_confidence_pct=90.0,
        aggregation=Aggregation.MAX,
        within_seconds=10.0,
    )
    buffer = DetectionBuffer(retention_seconds=600, max_observations=1000)
    elapsed_ms = 0
    states: list[tuple[float, bool, tuple[str, ...], float | None]] = []
    for line in (FIXTURES / "a_person_backyard_v017.jsonl").read_text().splitlines():
        message = json.loads(line)
        elapsed_ms += message["delay_ms"]
        if message["topic"] != "frigate/events":
            continue
        now = elapsed_ms / 1000
        observation = parse_event(json.dumps(message["payload"]), now)
        assert isinstance(observation, Observation)
        buffer.add(observation)
        result = evaluate(rule, buffer, now, Context())
        states.append((now, result.matched, observation.zones, observation.confidence_pct))
    assert len(states) == 12
    first_on = next(i for i, (_, matched, _, _) in enumerate(states) if matched)
    # Before: never both in patio and >= 90 %; from then on the rule holds.
    for _, matched, zones, confidence in states[:first_on]:
        assert not matched
        assert confidence is not None
        assert "patio" not in zones or confidence < 90.0
    _, _, zones, confidence = states[first_on]
    assert "patio" in zones
    assert confidence is not None
    assert confidence >= 90.0
    assert all(matched for _, matched, _, _ in states[first_on:])
    # Seen in patio at 0.88671875 first, so the first patio update is still off.
    assert any("patio" in z and not m for _, m, z, _ in states)
    # The end message adds no candidate, and the window closes 10 s after the last
    # sighting in patio.
    last_sighting = states[-2][0]
    final = evaluate(rule, buffer, states[-1][0], Context())
    assert final.next_change_at is not None
    assert final.matched
    closing = evaluate(rule, buffer, last_sighting + 10.0 + 0.001, Context())
    assert closing.reason is Reason.NO_DETECTIONS


# --- regressions found by an independent reference of DESIGN 4.3 -------------------


def test_latest_same_time_ties_across_labels_keep_arrival_order() -> None:
    """Two labels on one camera at the same instant: the later arrival is the latest."""
    rule = make_rule(
        cameras=("cam2",),
        labels=("dog", "person"),
        aggregation=Aggregation.LATEST,
        min_confidence_pct=90.0,
        within_seconds=2.5,
    )
    person = obs(95.7, camera="cam2", label="person", event_id="person")
    dog = obs(43.4, camera="cam2", label="dog", event_id="dog")
    result = run(rule, [person, dog])
    assert result.reason is Reason.BELOW_THRESHOLD
    assert result.confidence_pct == 43.4
    assert result.observation is dog


def test_wall_clock_stepping_back_keeps_the_buffer_in_time_order() -> None:
    """An observation stamped before the newest one (NTP step) is read as of that time."""
    rule = make_rule(within_seconds=3.0)
    first = obs(95.0, at=1_000.0, event_id="first")
    stepped_back = obs(40.0, at=995.0, event_id="stepped-back")
    buffer = DetectionBuffer(retention_seconds=7200, max_observations=100)
    buffer.add(first)
    buffer.add(stepped_back)
    assert stepped_back.observed_at == 1_000.0
    for explain in (False, True):
        result = evaluate(rule, buffer, 1_000.0, Context(), explain=explain)
        assert result.matched
        assert result.observation is first
        assert result.candidates == 2
        assert result.next_change_at == 1_003.0
