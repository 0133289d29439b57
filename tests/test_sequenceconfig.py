"""Building a validated Sequence from a mapping, and back (DESIGN 4.9)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from custom_components.frigate_rules.core.model import (
    Action,
    OnUnavailable,
    Sequence,
    SequenceStep,
)
from custom_components.frigate_rules.core.ruleconfig import RANGES, InvalidRule
from custom_components.frigate_rules.core.sequenceconfig import (
    SEQUENCE_DEFAULTS,
    SEQUENCE_RANGES,
    STEP_FIELDS,
    InvalidSequence,
    sequence_from_mapping,
    sequence_to_mapping,
)

MINIMAL: dict[str, Any] = {
    "name": "Driveway to back door",
    "step_1_cameras": ["driveway"],
    "step_2_cameras": ["backdoor"],
}
ALARM = "alarm_control_panel.home"


def with_(**changes: Any) -> dict[str, Any]:
    return {**MINIMAL, **changes}


def test_defaults() -> None:
    assert sequence_from_mapping("sub1", MINIMAL) == Sequence(
        sequence_id="sub1",
        name="Driveway to back door",
        steps=(SequenceStep(("driveway",)), SequenceStep(("backdoor",))),
        labels=("person",),
        within_seconds=30.0,
        min_confidence_pct=80.0,
        on_unavailable=OnUnavailable.TREAT_AS_NO_MATCH,
        include_stationary=False,
        alarm_entity=None,
        alarm_states=(),
        cooldown_seconds=300.0,
        action=Action.NOTIFY,
    )


def test_defaults_table_agrees_with_sequence_defaults() -> None:
    fields = {f.name: f.default for f in dataclasses.fields(Sequence)}
    shared = {key: value for key, value in SEQUENCE_DEFAULTS.items() if key not in STEP_FIELDS}
    for key, default in shared.items():
        expected = fields[key]
        assert default == (list(expected) if isinstance(expected, tuple) else expected), key
    assert set(shared) == set(fields) - {"sequence_id", "name", "steps"}
    assert {key for key in SEQUENCE_DEFAULTS if key in STEP_FIELDS} == set(STEP_FIELDS) - {
        "step_1_cameras",
        "step_2_cameras",
    }
    json.dumps(SEQUENCE_DEFAULTS)


def test_none_takes_the_default() -> None:
    data = with_(**dict.fromkeys(SEQUENCE_DEFAULTS))
    assert sequence_from_mapping("sub1", data) == sequence_from_mapping("sub1", MINIMAL)


def test_defaults_are_not_shared_state() -> None:
    sequence_from_mapping("sub1", with_(step_3_cameras=["garden"]))
    assert SEQUENCE_DEFAULTS["labels"] == ["person"]
    assert SEQUENCE_DEFAULTS["step_3_cameras"] == []


def test_each_range_lies_within_the_rule_fields() -> None:
    """The rule parser checks its range first: it must never refuse a valid sequence."""
    for key, (low, high) in SEQUENCE_RANGES.items():
        rule_low, rule_high = RANGES[key]
        assert rule_low <= low <= high <= rule_high, key


STEP_CASES = [
    # id, changes, expected steps
    ("two", {}, [("driveway",), ("backdoor",)]),
    ("three", {"step_3_cameras": ["garden"]}, [("driveway",), ("backdoor",), ("garden",)]),
    ("four", {"step_3_cameras": ["garden"], "step_4_cameras": "shed"},
     [("driveway",), ("backdoor",), ("garden",), ("shed",)]),
    ("several-cameras", {"step_1_cameras": ["drive", " gate ", "drive"]},
     [("drive", "gate"), ("backdoor",)]),
    ("blank-step-3-unused", {"step_3_cameras": [" "], "step_3_zones": [""]},
     [("driveway",), ("backdoor",)]),
    ("back-where-it-started", {"step_3_cameras": ["driveway"]},
     [("driveway",), ("backdoor",), ("driveway",)]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "cameras"), [pytest.param(*case[1:], id=case[0]) for case in STEP_CASES]
)
def test_steps(changes: dict[str, Any], cameras: list[tuple[str, ...]]) -> None:
    sequence = sequence_from_mapping("sub1", with_(**changes))
    assert [step.cameras for step in sequence.steps] == cameras
    assert sequence.cameras == tuple(dict.fromkeys(c for cams in cameras for c in cams))


def test_step_zones_and_the_same_camera_twice() -> None:
    data = with_(
        step_1_cameras=["backdoor"],
        step_1_zones=["path", " steps ", "path"],
        step_2_cameras=["backdoor"],
        step_2_zones="door",
    )
    sequence = sequence_from_mapping("sub1", data)
    assert sequence.steps == (
        SequenceStep(("backdoor",), ("path", "steps")),
        SequenceStep(("backdoor",), ("door",)),
    )
    assert sequence.cameras == ("backdoor",)


COERCION_CASES = [
    # id, changes, attribute, expected
    ("name-stripped", {"name": "  In  "}, "name", "In"),
    ("labels", {"labels": [" car ", "person", "car"]}, "labels", ("car", "person")),
    ("within-low", {"within_seconds": 1}, "within_seconds", 1.0),
    ("within-high", {"within_seconds": "600"}, "within_seconds", 600.0),
    ("confidence-edges", {"min_confidence_pct": 0}, "min_confidence_pct", 0.0),
    ("confidence-high", {"min_confidence_pct": 100}, "min_confidence_pct", 100.0),
    ("cooldown-low", {"cooldown_seconds": 0}, "cooldown_seconds", 0.0),
    ("cooldown-high", {"cooldown_seconds": 86400}, "cooldown_seconds", 86400.0),
    ("stationary", {"include_stationary": True}, "include_stationary", True),
    ("on-unavailable", {"on_unavailable": " treat_as_match "}, "on_unavailable",
     OnUnavailable.TREAT_AS_MATCH),
    ("alarm", {"alarm_entity": ALARM, "alarm_states": ["armed_away", "armed_away"]},
     "alarm_states", ("armed_away",)),
    ("alarm-trigger", {"action": "alarm_trigger", "alarm_entity": ALARM,
                       "alarm_states": ["armed_night"]}, "action", Action.ALARM_TRIGGER),
    ("empty-alarm-entity", {"alarm_entity": " "}, "alarm_entity", None),
    ("unknown-keys-ignored", {"step_5_cameras": ["x"], "zones": ["y"]}, "name",
     "Driveway to back door"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "attribute", "expected"),
    [pytest.param(*case[1:], id=case[0]) for case in COERCION_CASES],
)
def test_coercion(changes: dict[str, Any], attribute: str, expected: object) -> None:
    value = getattr(sequence_from_mapping("sub1", with_(**changes)), attribute)
    assert value == expected
    assert type(value) is type(expected)


def without(*keys: str, **changes: Any) -> dict[str, Any]:
    return {k: v for k, v in with_(**changes).items() if k not in keys}


ERROR_CASES = [
    # id, data, field, error
    ("name-missing", without("name"), "name", "name_required"),
    ("name-blank", with_(name=" "), "name", "name_required"),
    ("step-1-missing", without("step_1_cameras"), "step_1_cameras", "no_cameras"),
    ("step-2-empty", with_(step_2_cameras=[]), "step_2_cameras", "no_cameras"),
    ("step-2-blank", with_(step_2_cameras=[" "]), "step_2_cameras", "no_cameras"),
    ("step-2-zones-only", with_(step_2_cameras=None, step_2_zones=["door"]),
     "step_2_cameras", "no_cameras"),
    ("step-3-zones-only", with_(step_3_zones=["lawn"]), "step_3_cameras", "no_cameras"),
    ("step-4-without-3", with_(step_4_cameras=["shed"]), "step_3_cameras", "no_cameras"),
    ("step-4-zones-without-3", with_(step_4_zones=["shed"]), "step_4_cameras", "no_cameras"),
    ("step-2-same-as-1", with_(step_2_cameras=["driveway"]), "step_2_cameras",
     "same_as_previous_step"),
    ("step-2-same-as-1-reordered", with_(step_1_cameras=["a", "b"], step_1_zones=["z", "y"],
     step_2_cameras=["b", " a"], step_2_zones=["y", "z", "y"]), "step_2_cameras",
     "same_as_previous_step"),
    ("step-3-same-as-2", with_(step_3_cameras=["backdoor"]), "step_3_cameras",
     "same_as_previous_step"),
    ("step-cameras-not-list", with_(step_1_cameras=5), "step_1_cameras", "invalid_value"),
    ("step-zones-item-not-string", with_(step_2_zones=["a", 1]), "step_2_zones",
     "invalid_value"),
    ("labels-empty", with_(labels=[]), "labels", "no_labels"),
    ("within-low", with_(within_seconds=0.5), "within_seconds", "out_of_range"),
    ("within-above-sequence-range", with_(within_seconds=601), "within_seconds",
     "out_of_range"),
    ("within-above-rule-range", with_(within_seconds=7200), "within_seconds", "out_of_range"),
    ("within-nan", with_(within_seconds=float("nan")), "within_seconds", "out_of_range"),
    ("within-text", with_(within_seconds="soon"), "within_seconds", "invalid_value"),
    ("within-bool", with_(within_seconds=True), "within_seconds", "invalid_value"),
    ("confidence-high", with_(min_confidence_pct=100.5), "min_confidence_pct", "out_of_range"),
    ("cooldown-low", with_(cooldown_seconds=-1), "cooldown_seconds", "out_of_range"),
    ("cooldown-high", with_(cooldown_seconds=86401), "cooldown_seconds", "out_of_range"),
    ("on-unavailable-unknown", with_(on_unavailable="ignore"), "on_unavailable",
     "invalid_choice"),
    ("action-unknown", with_(action="siren"), "action", "invalid_choice"),
    ("stationary-not-bool", with_(include_stationary="yes"), "include_stationary",
     "invalid_value"),
    ("alarm-entity-wrong-domain", with_(alarm_entity="light.hall", alarm_states=["armed_away"]),
     "alarm_entity", "invalid_alarm_entity"),
    ("alarm-states-missing", with_(alarm_entity=ALARM), "alarm_states",
     "alarm_states_required"),
    ("alarm-states-typo", with_(alarm_entity=ALARM, alarm_states=["armed-away"]),
     "alarm_states", "invalid_choice"),
    ("alarm-trigger-no-entity", with_(action="alarm_trigger"), "alarm_entity",
     "alarm_entity_required"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("data", "field", "error"), [pytest.param(*case[1:], id=case[0]) for case in ERROR_CASES]
)
def test_errors(data: dict[str, Any], field: str, error: str) -> None:
    with pytest.raises(InvalidSequence) as caught:
        sequence_from_mapping("sub1", data)
    assert caught.value.errors == {field: error}
    assert (caught.value.field, caught.value.error) == (field, error)
    # The flow and `simulate` handle both kinds alike.
    assert isinstance(caught.value, InvalidRule)
    assert str(caught.value) == f"{field}: {error}"


def test_every_error_key_is_a_rule_key_but_one() -> None:
    """Rule errors keep the rule's keys; only a repeated step has a key of its own."""
    assert {case[3] for case in ERROR_CASES} - {"same_as_previous_step"} == {
        "name_required",
        "no_cameras",
        "no_labels",
        "alarm_states_required",
        "alarm_entity_required",
        "invalid_alarm_entity",
        "out_of_range",
        "invalid_choice",
        "invalid_value",
    }


def test_all_errors_reported_first_in_field_order() -> None:
    data = {
        "name": "",
        "step_2_cameras": ["backdoor"],
        "step_4_cameras": ["shed"],
        "within_seconds": 0,
        "alarm_entity": ALARM,
    }
    with pytest.raises(InvalidSequence) as caught:
        sequence_from_mapping("sub1", data)
    assert list(caught.value.errors.items()) == [
        ("name", "name_required"),
        ("step_1_cameras", "no_cameras"),
        ("step_3_cameras", "no_cameras"),
        ("within_seconds", "out_of_range"),
        ("alarm_states", "alarm_states_required"),
    ]
    assert (caught.value.field, caught.value.error) == ("name", "name_required")


ROUND_TRIP = [
    sequence_from_mapping("a", MINIMAL),
    Sequence(
        sequence_id="b",
        name="Everything",
        steps=(
            SequenceStep(("driveway", "gate"), ("drive",)),
            SequenceStep(("backdoor",), ("path",)),
            SequenceStep(("backdoor",), ("steps", "door")),
            SequenceStep(("hall",)),
        ),
        labels=("person", "dog"),
        within_seconds=2.5,
        min_confidence_pct=92.5,
        on_unavailable=OnUnavailable.TREAT_AS_MATCH,
        include_stationary=True,
        alarm_entity=ALARM,
        alarm_states=("armed_away", "armed_night"),
        cooldown_seconds=0.0,
        action=Action.ALARM_TRIGGER,
    ),
]


@pytest.mark.parametrize("sequence", ROUND_TRIP, ids=lambda s: s.name)
def test_round_trip(sequence: Sequence) -> None:
    mapping = sequence_to_mapping(sequence)
    assert "sequence_id" not in mapping
    assert "steps" not in mapping
    assert set(STEP_FIELDS) <= set(mapping)
    restored = sequence_from_mapping(sequence.sequence_id, json.loads(json.dumps(mapping)))
    assert restored == sequence
    assert sequence_to_mapping(restored) == mapping


def test_shortening_a_sequence_clears_its_later_steps() -> None:
    """The mapping names every step, so a reconfigured shorter sequence drops the rest."""
    mapping = sequence_to_mapping(ROUND_TRIP[0])
    assert mapping["step_3_cameras"] == mapping["step_4_zones"] == []
    assert len(sequence_from_mapping("a", mapping).steps) == 2
