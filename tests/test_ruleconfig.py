"""Building a validated Rule from a mapping, and back."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from custom_components.frigate_rules.core.model import (
    Action,
    Aggregation,
    OnUnavailable,
    Rule,
    ZoneMatch,
)
from custom_components.frigate_rules.core.ruleconfig import (
    ALARM_STATES,
    RULE_DEFAULTS,
    InvalidRule,
    rule_from_mapping,
    rule_to_mapping,
)

MINIMAL: dict[str, Any] = {"name": "Backyard", "cameras": ["backyard"]}
ALARM = "alarm_control_panel.home"


def with_(**changes: Any) -> dict[str, Any]:
    return {**MINIMAL, **changes}


def test_defaults() -> None:
    rule = rule_from_mapping("sub1", MINIMAL)
    assert rule == Rule(
        rule_id="sub1",
        name="Backyard",
        cameras=("backyard",),
        labels=("person",),
        zones=(),
        zone_match=ZoneMatch.ANY,
        within_seconds=10.0,
        min_confidence_pct=80.0,
        aggregation=Aggregation.MAX,
        percentile=90,
        on_unavailable=OnUnavailable.TREAT_AS_NO_MATCH,
        include_stationary=False,
        alarm_entity=None,
        alarm_states=(),
        cooldown_seconds=300.0,
        action=Action.NOTIFY,
    )


def test_defaults_table_agrees_with_rule_defaults() -> None:
    fields = {f.name: f.default for f in dataclasses.fields(Rule)}
    for key, default in RULE_DEFAULTS.items():
        expected = fields[key]
        if isinstance(expected, tuple):
            assert default == list(expected), key
        else:
            assert default == expected, key
    assert set(RULE_DEFAULTS) == set(fields) - {"rule_id", "name", "cameras"}
    json.dumps(RULE_DEFAULTS)


def test_none_takes_the_default() -> None:
    data = with_(**dict.fromkeys(RULE_DEFAULTS))
    assert rule_from_mapping("sub1", data) == rule_from_mapping("sub1", MINIMAL)


def test_defaults_are_not_shared_state() -> None:
    rule_from_mapping("sub1", MINIMAL)
    assert RULE_DEFAULTS["labels"] == ["person"]
    assert RULE_DEFAULTS["zones"] == []


COERCION_CASES = [
    # id, input changes, attribute, expected value
    ("name-stripped", {"name": "  Back yard  "}, "name", "Back yard"),
    ("list-to-tuple", {"cameras": ["a", "b"]}, "cameras", ("a", "b")),
    ("tuple-accepted", {"cameras": ("a",)}, "cameras", ("a",)),
    ("single-string", {"cameras": "front"}, "cameras", ("front",)),
    ("strings-stripped", {"labels": [" person ", "car"]}, "labels", ("person", "car")),
    ("empties-dropped", {"zones": ["", "patio", "  "]}, "zones", ("patio",)),
    ("dedupe-keeps-order", {"cameras": ["b", "a", "b", " a"]}, "cameras", ("b", "a")),
    ("int-to-float", {"within_seconds": 30}, "within_seconds", 30.0),
    ("numeric-string", {"min_confidence_pct": " 92.5 "}, "min_confidence_pct", 92.5),
    ("float-percentile-to-int", {"percentile": 75.0}, "percentile", 75),
    ("string-percentile", {"percentile": "95"}, "percentile", 95),
    ("enum-from-string", {"zone_match": " all "}, "zone_match", ZoneMatch.ALL),
    ("enum-instance", {"aggregation": Aggregation.LATEST}, "aggregation", Aggregation.LATEST),
    ("bool", {"include_stationary": True}, "include_stationary", True),
    ("empty-alarm-entity", {"alarm_entity": "  "}, "alarm_entity", None),
    ("alarm-entity-stripped", {"alarm_entity": f" {ALARM} ", "alarm_states": ["armed_away"]},
     "alarm_entity", ALARM),
    ("alarm-states", {"alarm_states": ["armed_away", "armed_home", "armed_away"]},
     "alarm_states", ("armed_away", "armed_home")),
    ("low-edges", {"within_seconds": 1, "min_confidence_pct": 0, "cooldown_seconds": 0},
     "within_seconds", 1.0),
    ("high-edges", {"within_seconds": 3600, "min_confidence_pct": 100, "cooldown_seconds": 86400},
     "cooldown_seconds", 86400.0),
    ("percentile-low", {"percentile": 1}, "percentile", 1),
    ("percentile-high", {"percentile": 100}, "percentile", 100),
    ("unknown-keys-ignored", {"colour": "red"}, "name", "Backyard"),
    ("on-unavailable", {"on_unavailable": "treat_as_match"}, "on_unavailable",
     OnUnavailable.TREAT_AS_MATCH),
    ("alarm-trigger", {"action": "alarm_trigger", "alarm_entity": ALARM,
                       "alarm_states": ["armed_away"]}, "action", Action.ALARM_TRIGGER),
]  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "attribute", "expected"),
    [pytest.param(*case[1:], id=case[0]) for case in COERCION_CASES],
)
def test_coercion(changes: dict[str, Any], attribute: str, expected: object) -> None:
    rule = rule_from_mapping("sub1", with_(**changes))
    value = getattr(rule, attribute)
    assert value == expected
    assert type(value) is type(expected)


ERROR_CASES = [
    # id, data, field, error
    ("name-missing", {"cameras": ["a"]}, "name", "name_required"),
    ("name-blank", with_(name="   "), "name", "name_required"),
    ("name-not-string", with_(name=5), "name", "name_required"),
    ("cameras-missing", {"name": "x"}, "cameras", "no_cameras"),
    ("cameras-empty", with_(cameras=[]), "cameras", "no_cameras"),
    ("cameras-only-blank", with_(cameras=["", " "]), "cameras", "no_cameras"),
    ("cameras-not-list", with_(cameras=5), "cameras", "invalid_value"),
    ("cameras-item-not-string", with_(cameras=["a", 3]), "cameras", "invalid_value"),
    ("labels-empty", with_(labels=[]), "labels", "no_labels"),
    ("labels-blank", with_(labels=" "), "labels", "no_labels"),
    ("zone-match-unknown", with_(zone_match="some"), "zone_match", "invalid_choice"),
    ("zone-match-not-string", with_(zone_match=1), "zone_match", "invalid_choice"),
    ("aggregation-unknown", with_(aggregation="mean"), "aggregation", "invalid_choice"),
    ("on-unavailable-unknown", with_(on_unavailable="ignore"), "on_unavailable", "invalid_choice"),
    ("action-unknown", with_(action="siren"), "action", "invalid_choice"),
    ("within-low", with_(within_seconds=0.5), "within_seconds", "out_of_range"),
    ("within-high", with_(within_seconds=3601), "within_seconds", "out_of_range"),
    ("within-nan", with_(within_seconds=float("nan")), "within_seconds", "out_of_range"),
    ("within-inf", with_(within_seconds="inf"), "within_seconds", "out_of_range"),
    ("within-text", with_(within_seconds="soon"), "within_seconds", "invalid_value"),
    ("within-bool", with_(within_seconds=True), "within_seconds", "invalid_value"),
    ("within-list", with_(within_seconds=[10]), "within_seconds", "invalid_value"),
    ("confidence-low", with_(min_confidence_pct=-1), "min_confidence_pct", "out_of_range"),
    ("confidence-high", with_(min_confidence_pct=100.5), "min_confidence_pct", "out_of_range"),
    ("percentile-low", with_(percentile=0), "percentile", "out_of_range"),
    ("percentile-high", with_(percentile=101), "percentile", "out_of_range"),
    ("percentile-fraction", with_(percentile=90.5), "percentile", "invalid_value"),
    ("cooldown-low", with_(cooldown_seconds=-1), "cooldown_seconds", "out_of_range"),
    ("cooldown-high", with_(cooldown_seconds=86401), "cooldown_seconds", "out_of_range"),
    (
        "percentile-missing",
        with_(aggregation="percentile"),
        "percentile",
        "percentile_required",
    ),
    (
        "percentile-none",
        with_(aggregation=Aggregation.PERCENTILE, percentile=None),
        "percentile",
        "percentile_required",
    ),
    ("stationary-not-bool", with_(include_stationary="yes"), "include_stationary", "invalid_value"),
    ("alarm-entity-wrong-domain", with_(alarm_entity="light.kitchen", alarm_states=["armed_away"]),
     "alarm_entity", "invalid_alarm_entity"),
    ("alarm-entity-no-object-id", with_(alarm_entity="alarm_control_panel.",
                                        alarm_states=["armed_away"]),
     "alarm_entity", "invalid_alarm_entity"),
    ("alarm-entity-not-string", with_(alarm_entity=["alarm_control_panel.home"]),
     "alarm_entity", "invalid_alarm_entity"),
    ("alarm-states-missing", with_(alarm_entity=ALARM), "alarm_states", "alarm_states_required"),
    ("alarm-states-blank", with_(alarm_entity=ALARM, alarm_states=[""]),
     "alarm_states", "alarm_states_required"),
    ("alarm-states-typo", with_(alarm_entity=ALARM, alarm_states=["armed-away"]),
     "alarm_states", "invalid_choice"),
    ("alarm-trigger-no-entity", with_(action="alarm_trigger"), "alarm_entity",
     "alarm_entity_required"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("data", "field", "error"),
    [pytest.param(*case[1:], id=case[0]) for case in ERROR_CASES],
)
def test_errors(data: dict[str, Any], field: str, error: str) -> None:
    with pytest.raises(InvalidRule) as caught:
        rule_from_mapping("sub1", data)
    assert caught.value.field == field
    assert caught.value.error == error
    assert caught.value.errors == {field: error}
    assert isinstance(caught.value, ValueError)
    assert str(caught.value) == f"{field}: {error}"


def test_every_error_key_is_covered() -> None:
    keys = {case[3] for case in ERROR_CASES}
    assert keys == {
        "name_required",
        "no_cameras",
        "no_labels",
        "percentile_required",
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
        "cameras": [],
        "within_seconds": 0,
        "alarm_entity": ALARM,
        "action": "alarm_trigger",
    }
    with pytest.raises(InvalidRule) as caught:
        rule_from_mapping("sub1", data)
    assert caught.value.errors == {
        "name": "name_required",
        "cameras": "no_cameras",
        "within_seconds": "out_of_range",
        "alarm_states": "alarm_states_required",
    }
    assert (caught.value.field, caught.value.error) == ("name", "name_required")


def test_combination_not_judged_on_a_broken_entity() -> None:
    data = with_(alarm_entity="switch.siren", action="alarm_trigger")
    with pytest.raises(InvalidRule) as caught:
        rule_from_mapping("sub1", data)
    assert caught.value.errors == {"alarm_entity": "invalid_alarm_entity"}


def test_percentile_defaults_when_not_the_aggregation() -> None:
    assert rule_from_mapping("sub1", with_(aggregation="latest")).percentile == 90


def test_alarm_states_list_is_every_panel_state() -> None:
    assert "armed_away" in ALARM_STATES
    assert "disarmed" in ALARM_STATES
    assert len(set(ALARM_STATES)) == len(ALARM_STATES) == 10
    for state in ALARM_STATES:
        rule = rule_from_mapping("s", with_(alarm_entity=ALARM, alarm_states=[state]))
        assert rule.alarm_states == (state,)


ROUND_TRIP_RULES = [
    Rule(rule_id="a", name="Minimal", cameras=("front",)),
    Rule(
        rule_id="b",
        name="Everything",
        cameras=("backyard", "side"),
        labels=("person", "dog"),
        zones=("patio", "yard"),
        zone_match=ZoneMatch.ALL,
        within_seconds=2.5,
        min_confidence_pct=92.5,
        aggregation=Aggregation.PERCENTILE,
        percentile=75,
        on_unavailable=OnUnavailable.TREAT_AS_MATCH,
        include_stationary=True,
        alarm_entity=ALARM,
        alarm_states=("armed_away", "armed_night"),
        cooldown_seconds=0.0,
        action=Action.ALARM_TRIGGER,
    ),
]


@pytest.mark.parametrize("rule", ROUND_TRIP_RULES, ids=lambda r: r.name)
def test_round_trip(rule: Rule) -> None:
    mapping = rule_to_mapping(rule)
    assert "rule_id" not in mapping
    restored = rule_from_mapping(rule.rule_id, json.loads(json.dumps(mapping)))
    assert restored == rule
    assert rule_to_mapping(restored) == mapping
    assert isinstance(mapping["cameras"], list)
    assert mapping["aggregation"] == rule.aggregation.value
