"""Generated input: the buffer path, the given-observations path and DESIGN 4.3 agree.

`evaluate` (through the buffer, with and without the explain trace) and
`evaluate_observations` must reach the same outcome on every input, down to which
observation stands for each camera; a plain rewrite of DESIGN 4.3 checks the values.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custom_components.frigate_rules.core.buffer import DetectionBuffer
from custom_components.frigate_rules.core.incremental import CandidateCache
from custom_components.frigate_rules.core.model import (
    Aggregation,
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
from custom_components.frigate_rules.core.rules import evaluate, evaluate_observations

from .test_rules_core import reference_aggregate

CAMERAS = ("cam1", "cam2")
LABELS = ("person", "dog", "car")
ZONES = ("yard", "patio", "porch")
# Few distinct values, so that equal confidences and equal times are common.
CONFIDENCES = (None, 43.4, 80.0, 95.7, 100.0)
STEPS = (0.0, 0.1, 0.5, 1.0, 2.5, 4.0)
BACKWARD_STEPS = (*STEPS, -0.5, -3.0)
START = 1_000.0

fuzz = settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def sightings(steps: Sequence[float]) -> st.SearchStrategy[list[Observation]]:
    """Observations in arrival order, in moments of one to three at the same time.

    Each moment is `observed_at` moved by a drawn step, so same-time ties (across
    labels and cameras) are common. Weighted towards candidates, so that what filters
    them out is the exception.
    """
    one = st.tuples(
        st.sampled_from(CAMERAS),
        st.sampled_from(LABELS),
        st.one_of(st.just([]), st.lists(st.sampled_from(ZONES), unique=True, max_size=2)),
        st.sampled_from((False, False, False, True)),
        st.sampled_from((Kind.NEW, Kind.UPDATE, Kind.UPDATE, Kind.UPDATE, Kind.END)),
        st.sampled_from(CONFIDENCES),
    )
    moment = st.tuples(st.sampled_from(steps), st.lists(one, min_size=1, max_size=3))

    def build(moments: list[tuple[float, list[tuple[Any, ...]]]]) -> list[Observation]:
        at = START
        built: list[Observation] = []
        for step, rows in moments:
            at += step
            for camera, label, zones, stationary, kind, confidence in rows:
                built.append(
                    Observation(
                        event_id=f"e{len(built)}",
                        camera=camera,
                        label=label,
                        sub_label=None,
                        confidence_pct=confidence,
                        zones=tuple(zones),
                        entered_zones=tuple(zones),
                        stationary=stationary,
                        kind=kind,
                        source=Source.EVENTS if confidence is not None else Source.REVIEWS,
                        frame_time=None,
                        observed_at=at,
                    )
                )
        return built

    return st.lists(moment, max_size=10).map(build)


rules = st.builds(
    Rule,
    rule_id=st.just("r"),
    name=st.just("Generated"),
    # Repeats and a camera never seen are allowed: a hand-built rule may have them.
    cameras=st.sampled_from(
        (("cam1",), ("cam2",), ("cam1", "cam2"), ("cam2", "cam1"), ("cam2", "cam9", "cam2"))
    ),
    labels=st.sampled_from(
        (("person",), ("dog", "person"), ("person", "dog"), ("car", "dog", "person"))
    ),
    zones=st.one_of(
        st.just(()), st.lists(st.sampled_from(ZONES), max_size=3, unique=True).map(tuple)
    ),
    zone_match=st.sampled_from(ZoneMatch),
    within_seconds=st.sampled_from((0.5, 1.0, 2.5, 10.0, 10.0, 60.0, 60.0)),
    min_confidence_pct=st.sampled_from((0.0, 50.0, 80.0, 90.0, 95.7, 100.0)),
    aggregation=st.sampled_from(Aggregation),
    percentile=st.integers(min_value=1, max_value=100),
    on_unavailable=st.sampled_from(OnUnavailable),
    include_stationary=st.booleans(),
    alarm_entity=st.sampled_from((None, None, None, "alarm_control_panel.house")),
    alarm_states=st.lists(
        st.sampled_from(("armed_away", "armed_home")), max_size=2, unique=True
    ).map(tuple),
)
contexts = st.builds(
    Context,
    frigate_available=st.sampled_from((True, True, True, False)),
    alarm_state=st.sampled_from((None, "armed_away", "disarmed")),
    unavailable_cameras=st.one_of(
        st.just(frozenset()), st.frozensets(st.sampled_from(CAMERAS), max_size=2)
    ),
)
# Where `now` falls after the last observation: negative evaluates the past (simulate).
offsets = st.sampled_from((-3.0, -0.5, 0.0, 0.0, 0.0, 0.5, 2.5, 30.0))


def outcome(evaluation: Evaluation) -> tuple[object, ...]:
    """The outcome, with each camera's representative compared by identity."""
    return (
        evaluation.matched,
        evaluation.reason,
        evaluation.camera,
        evaluation.confidence_pct,
        id(evaluation.observation),
        evaluation.candidates,
        evaluation.next_change_at,
        {
            camera: (agg.confidence_pct, agg.candidates, agg.matched, id(agg.observation))
            for camera, agg in evaluation.per_camera.items()
        },
        evaluation.unavailable_cameras,
    )


def design(
    rule: Rule, observations: list[Observation], now: float, context: Context
) -> tuple[object, ...]:
    """DESIGN 4.3 written plainly, on observations in arrival (= time) order."""
    if rule.alarm_entity is not None and context.alarm_state not in rule.alarm_states:
        return (False, Reason.ALARM_STATE, None, None, 0, None, {})
    if not context.frigate_available:
        matched = rule.on_unavailable is OnUnavailable.TREAT_AS_MATCH
        return (matched, Reason.FRIGATE_UNAVAILABLE, None, None, 0, None, {})
    down = context.unavailable_cameras
    if all(camera in down for camera in rule.cameras):
        matched = rule.on_unavailable is OnUnavailable.TREAT_AS_MATCH
        return (matched, Reason.CAMERA_UNAVAILABLE, None, None, 0, None, {})
    zones = set(rule.zones)

    def candidate(o: Observation, camera: str) -> bool:
        in_zones = (
            not zones
            or (rule.zone_match is ZoneMatch.ANY and bool(zones & set(o.zones)))
            or (rule.zone_match is ZoneMatch.ALL and zones <= set(o.zones))
        )
        return (
            o.camera == camera
            and now - rule.within_seconds <= o.observed_at <= now
            and o.label in rule.labels
            and o.kind is not Kind.END
            and o.confidence_pct is not None
            and (rule.include_stationary or not o.stationary)
            and in_zones
        )

    per_camera: dict[str, tuple[float, int]] = {}
    oldest: float | None = None
    for camera in dict.fromkeys(c for c in rule.cameras if c not in down):
        found = [o for o in observations if candidate(o, camera)]
        if found:
            values = [o.confidence_pct for o in found if o.confidence_pct is not None]
            per_camera[camera] = (
                reference_aggregate(values, rule.aggregation, rule.percentile),
                len(found),
            )
            first = found[0].observed_at
            oldest = first if oldest is None else min(oldest, first)
    if not per_camera:
        return (False, Reason.NO_DETECTIONS, None, None, 0, None, {})
    best = min(per_camera, key=lambda camera: (-per_camera[camera][0], camera))
    value = per_camera[best][0]
    matched = value >= rule.min_confidence_pct
    assert oldest is not None
    return (
        matched,
        Reason.MATCHED if matched else Reason.BELOW_THRESHOLD,
        best,
        value,
        sum(count for _, count in per_camera.values()),
        oldest + rule.within_seconds,
        per_camera,
    )


def design_view(evaluation: Evaluation) -> tuple[object, ...]:
    return (
        evaluation.matched,
        evaluation.reason,
        evaluation.camera,
        evaluation.confidence_pct,
        evaluation.candidates,
        evaluation.next_change_at,
        {
            camera: (agg.confidence_pct, agg.candidates)
            for camera, agg in evaluation.per_camera.items()
        },
    )


def check_agreement(
    rule: Rule, observations: list[Observation], now: float, context: Context
) -> None:
    buffer = DetectionBuffer(retention_seconds=10**6, max_observations=10**6)
    for observation in observations:
        buffer.add(observation)
    expected = evaluate_observations(rule, observations, now, context)
    assert design_view(expected) == design(rule, observations, now, context)
    for result in (
        evaluate(rule, buffer, now, context),
        evaluate(rule, buffer, now, context, cache=CandidateCache()),
        evaluate(rule, buffer, now, context, explain=True),
        evaluate_observations(rule, observations, now, context, explain=True),
        evaluate_observations(rule, iter(observations), now, context),
    ):
        assert outcome(result) == outcome(expected)


@fuzz
@given(rule=rules, observations=sightings(STEPS), context=contexts, offset=offsets)
def test_buffer_and_given_observations_agree(
    rule: Rule, observations: list[Observation], context: Context, offset: float
) -> None:
    now = (observations[-1].observed_at if observations else START) + offset
    check_agreement(rule, observations, now, context)


@fuzz
@given(rule=rules, observations=sightings(BACKWARD_STEPS), context=contexts, offset=offsets)
def test_agreement_survives_a_wall_clock_stepping_back(
    rule: Rule, observations: list[Observation], context: Context, offset: float
) -> None:
    """Once buffered, observations stamped back in time read as of the newest before them."""
    stamped = [o.observed_at for o in observations]
    buffer = DetectionBuffer(retention_seconds=10**6, max_observations=10**6)
    for observation in observations:
        buffer.add(observation)
    newest = float("-inf")
    for observation, at in zip(observations, stamped, strict=True):
        newest = max(newest, at)
        assert observation.observed_at == newest
    assert buffer.clock_corrections == sum(
        1 for index, at in enumerate(stamped) if at < max(stamped[: index + 1])
    )
    now = (observations[-1].observed_at if observations else START) + offset
    check_agreement(rule, observations, now, context)
