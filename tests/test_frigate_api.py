"""Frigate's API rows as observations, the clock skew, and the duplicate memory (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from custom_components.frigate_rules.core.fields import Rejected
from custom_components.frigate_rules.core.frigate_api import (
    SEEN_CAP,
    SKEW_SAMPLES,
    ClockSkew,
    SeenEvents,
    parse_api_event,
)
from custom_components.frigate_rules.core.model import Kind, Observation, Source


def row(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "1718031234.123456-abc123",
        "camera": "backyard",
        "label": "person",
        "sub_label": None,
        "zones": ["yard", "patio"],
        "start_time": 1718031234.1,
        "end_time": None,
        "top_score": None,
        "data": {"score": 0.8671875, "top_score": 0.91796875, "type": "object"},
    }
    return {**base, **changes}


def test_a_current_api_row_is_a_moving_sighting_from_rest() -> None:
    got = parse_api_event(row(), 100.0)
    assert got == Observation(
        event_id="1718031234.123456-abc123",
        camera="backyard",
        label="person",
        sub_label=None,
        confidence_pct=86.71875,
        zones=("yard", "patio"),
        entered_zones=("yard", "patio"),
        stationary=False,
        kind=Kind.UPDATE,
        source=Source.REST,
        frame_time=None,
        observed_at=100.0,
    )


@pytest.mark.parametrize(
    ("changes", "confidence", "sub_label"),
    [
        # Frigate 0.12: top_score is a column, no data object.
        ({"data": None, "top_score": 0.75}, 75.0, None),
        ({"data": {}, "top_score": None, "score": 0.5}, 50.0, None),
        ({"sub_label": "alice"}, 86.71875, "alice"),
        ({"sub_label": ["bob", 0.93]}, 86.71875, "bob"),
        ({"end_time": 1718031299.5}, 86.71875, None),
    ],
)
def test_every_version_s_shape(
    changes: dict[str, Any], confidence: float, sub_label: str | None
) -> None:
    got = parse_api_event(row(**changes), 1.0)
    assert isinstance(got, Observation)
    assert (got.confidence_pct, got.sub_label) == (confidence, sub_label)
    assert got.frame_time == changes.get("end_time")


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ([], "not_an_object"),
        (row(id=""), "missing_field:id"),
        (row(camera=None), "missing_field:camera"),
        (row(label=3), "bad_type:label"),
        (row(camera="c" * 129), "too_long:camera"),  # names are bounded as on MQTT
        (row(data={"score": 1.5}), "score_out_of_range"),
        (row(data=None, top_score=None), "missing_field:score"),
        (row(zones="yard"), "bad_type:zones"),
        (row(sub_label=7), "bad_type:sub_label"),
    ],
)
def test_broken_rows_are_refused_with_a_reason(event: object, reason: str) -> None:
    assert parse_api_event(event, 1.0) == Rejected(reason)


def test_skew_is_the_median_of_recent_messages() -> None:
    skew = ClockSkew()
    assert skew.seconds == 0.0
    for frame_time, received in ((130.0, 100.0), (131.0, 101.0), (500.0, 102.0), (None, 5.0)):
        skew.note(frame_time, received)
    assert skew.seconds == 30.0, "one late message does not move it"
    assert skew.to_ha(1030.0) == 1000.0
    assert skew.to_frigate(1000.0) == 1030.0
    for n in range(SKEW_SAMPLES):
        skew.note(n - 5.0, float(n))
    assert skew.seconds == -5.0, "old samples fall out"


def test_seen_pairs_are_taken_once_and_bounded() -> None:
    seen = SeenEvents()
    assert seen.first_time("a", 10.0001)
    assert not seen.first_time("a", 10.0002), "the same Frigate time to the millisecond"
    assert seen.first_time("a", 11.0)
    for n in range(SEEN_CAP + 10):
        seen.first_time(f"e{n}", float(n))
    assert len(seen) == SEEN_CAP
    assert seen.first_time("a", 10.0), "the oldest pairs are forgotten first"
