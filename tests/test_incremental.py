"""The engine's candidate cache reaches what reading the whole window would, every time.

It is fed as the engine feeds it: observations arrive one by one into a buffer that
drops what is too old or too many, and rules are evaluated after arrivals, at the
arrival's time or later (or, now and then, before it). After every step the cached
evaluation must equal the uncached one, down to the observation standing for each
camera.
"""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from custom_components.frigate_rules.core.buffer import DetectionBuffer
from custom_components.frigate_rules.core.incremental import CandidateCache
from custom_components.frigate_rules.core.model import (
    Aggregation,
    Context,
    Kind,
    Observation,
    Rule,
    Source,
    SubLabelMode,
)
from custom_components.frigate_rules.core.rules import evaluate

from .test_core_properties import STEPS, contexts, fuzz, outcome, rules, sightings

# Where `now` falls after each arrival: mostly at it, sometimes later, rarely before.
LAGS = st.lists(st.sampled_from((0.0, 0.0, 0.0, 0.3, 2.0, 15.0, -1.0)), min_size=40, max_size=40)


@fuzz
@given(
    rule_set=st.lists(rules, min_size=1, max_size=3),
    observations=sightings(STEPS),
    context=contexts,
    lags=LAGS,
    cap=st.sampled_from((2, 5, 1000)),
    retention=st.sampled_from((3.0, 60.0)),
)
def test_cached_evaluations_agree_with_reading_the_window(
    rule_set: list[Rule],
    observations: list[Observation],
    context: Context,
    lags: list[float],
    cap: int,
    retention: float,
) -> None:
    # Distinct ids: the cache keys by rule id, as the engine's rules have.
    rule_set = [_with_id(rule, f"r{index}") for index, rule in enumerate(rule_set)]
    buffer = DetectionBuffer(retention_seconds=retention, max_observations=cap)
    cache = CandidateCache()
    for observation, lag in zip(observations, lags, strict=False):
        buffer.add(observation)
        now = observation.observed_at + lag
        for rule in rule_set:
            cached = evaluate(rule, buffer, now, context, cache=cache)
            assert outcome(cached) == outcome(evaluate(rule, buffer, now, context))


def _with_id(rule: Rule, rule_id: str) -> Rule:
    return replace(rule, rule_id=rule_id)


def sighting(
    at: float, *, camera: str, confidence_pct: float = 90.0, event_id: str = "e"
) -> Observation:
    return Observation(
        event_id=event_id,
        camera=camera,
        label="person",
        sub_label=None,
        confidence_pct=confidence_pct,
        zones=(),
        entered_zones=(),
        stationary=False,
        kind=Kind.UPDATE,
        source=Source.EVENTS,
        frame_time=None,
        observed_at=at,
    )


def test_a_camera_dropped_and_back_starts_afresh() -> None:
    rule = Rule(rule_id="r", name="R", cameras=("cam1",), aggregation=Aggregation.MAX)
    buffer = DetectionBuffer(retention_seconds=600, max_observations=1000, max_names=1)
    cache = CandidateCache()
    context = Context()
    buffer.add(sighting(0.0, camera="cam1", confidence_pct=95.0, event_id="a"))
    assert evaluate(rule, buffer, 0.0, context, cache=cache).confidence_pct == 95.0
    # A second camera pushes cam1 out (one name at most); cam1 comes back lower.
    buffer.add(sighting(1.0, camera="cam2", event_id="b"))
    buffer.add(sighting(2.0, camera="cam1", confidence_pct=81.0, event_id="c"))
    result = evaluate(rule, buffer, 2.0, context, cache=cache)
    assert (result.confidence_pct, result.candidates) == (81.0, 1)


def test_entries_go_with_their_camera_and_with_clear() -> None:
    rule = Rule(rule_id="r", name="R", cameras=("cam1",))
    buffer = DetectionBuffer(retention_seconds=5, max_observations=1000)
    cache = CandidateCache()
    buffer.add(sighting(0.0, camera="cam1"))
    evaluate(rule, buffer, 0.0, Context(), cache=cache)
    assert len(cache) == 1
    buffer.prune(100.0)
    assert evaluate(rule, buffer, 100.0, Context(), cache=cache).candidates == 0
    assert len(cache) == 0
    evaluate(rule, buffer, 100.0, Context(), cache=cache)
    buffer.add(sighting(101.0, camera="cam1"))
    evaluate(rule, buffer, 101.0, Context(), cache=cache)
    cache.clear()
    assert len(cache) == 0


def test_rules_that_judge_objects_read_the_window() -> None:
    rule = Rule(rule_id="r", name="R", cameras=("cam1",), sub_label_mode=SubLabelMode.UNKNOWN_ONLY)
    buffer = DetectionBuffer(retention_seconds=600, max_observations=1000)
    cache = CandidateCache()
    buffer.add(sighting(0.0, camera="cam1"))
    assert evaluate(rule, buffer, 0.0, Context(), cache=cache).matched
    assert len(cache) == 0, "who counts changes without an arrival: no cache for it"
