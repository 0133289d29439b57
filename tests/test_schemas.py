"""Every flow and service schema, fed good and bad input on this HA's validation engine.

HA 2026.10 validates with probatio and aliases `voluptuous` to it; HA 2025.4 uses
voluptuous itself. The same cases, with the same expected results, run on both venvs,
so a schema that validates differently on one engine fails there.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from homeassistant.const import __version__ as HA_VERSION
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.frigate_rules.compat import vol
from custom_components.frigate_rules.config_flow import _entry_schema, _reauth_schema
from custom_components.frigate_rules.device_trigger import TRIGGER_SCHEMA
from custom_components.frigate_rules.options_flow import options_schema
from custom_components.frigate_rules.rule_flow import rule_schema
from custom_components.frigate_rules.services import (
    OBSERVATION_SCHEMA,
    RESET_COOLDOWN_SCHEMA,
    SIMULATE_SCHEMA,
)

from .conftest import make_entry

OPTIONS = {
    "retention_seconds": 600,
    "max_observations": 50000,
    "availability_grace_seconds": 180,
    "publish_enabled": True,
    "base_topic": "frigate_rules",
    "message_expiry_seconds": 300,
    "qos": 1,
    "birth_payload": "online",
    "will_payload": "offline",
}


def test_the_engine_is_the_one_this_ha_uses() -> None:
    major, minor = (int(part) for part in HA_VERSION.split(".")[:2])
    expected = "probatio" if (major, minor) >= (2026, 10) else "voluptuous"
    assert vol.__name__.split(".")[0] == expected
    assert vol.Schema({}).__class__.__module__.split(".")[0] == expected


def entry() -> MockConfigEntry:
    return make_entry()


RULE_INPUT: dict[str, Any] = {
    "what": {
        "name": "Backyard",
        "cameras": ["backyard"],
        "labels": ["person", "raccoon"],
        "zones": ["yard"],
        "within_seconds": 10,
        "min_confidence_pct": 90,
    },
    "alarm": {
        "alarm_entity": "alarm_control_panel.house",
        "alarm_states": ["armed_away"],
        "action": "alarm_trigger",
    },
    "advanced": {
        "aggregation": "percentile",
        "percentile": 50,
        "zone_match": "all",
        "include_stationary": True,
        "on_unavailable": "treat_as_match",
        "cooldown_seconds": 0,
    },
}


GOOD: list[tuple[str, Any, dict[str, Any], dict[str, Any]]] = [
    (
        "entry",
        lambda: _entry_schema({}),
        {"topic_prefix": "nvr", "frigate_url": "http://frigate:5000"},
        {"topic_prefix": "nvr", "frigate_url": "http://frigate:5000"},
    ),
    ("entry default", lambda: _entry_schema({}), {}, {"topic_prefix": "frigate"}),
    (
        "entry with a Frigate login",
        lambda: _entry_schema({}),
        {"login": {"frigate_username": "admin", "frigate_password": "pw"}},
        {
            "topic_prefix": "frigate",
            "login": {"frigate_username": "admin", "frigate_password": "pw"},
        },
    ),
    (
        "reauth",
        lambda: _reauth_schema("admin"),
        {"frigate_username": "admin", "frigate_password": "pw"},
        {"frigate_username": "admin", "frigate_password": "pw"},
    ),
    (
        "options",
        lambda: options_schema(OPTIONS),
        {
            "retention_seconds": 900,
            "max_observations": 2000,
            "availability_grace_seconds": 0,
            "publisher": {"qos": "2", "publish_enabled": False},
            "broker": {"broker_host": "mqtt.local", "broker_port": 8883, "broker_tls": True},
        },
        {
            "retention_seconds": 900,
            "max_observations": 2000,
            "availability_grace_seconds": 0,
            "publisher": {"qos": "2", "publish_enabled": False},
            "broker": {"broker_host": "mqtt.local", "broker_port": 8883, "broker_tls": True},
        },
    ),
    ("options: sections left out", lambda: options_schema(OPTIONS), {}, {}),
    ("rule", lambda: rule_schema(entry(), {}), RULE_INPUT, RULE_INPUT),
    (
        "reset_cooldown",
        lambda: RESET_COOLDOWN_SCHEMA,
        {"entity_id": "binary_sensor.backyard", "camera": "backyard"},
        {"entity_id": "binary_sensor.backyard", "camera": "backyard"},
    ),
    (
        "observation",
        lambda: OBSERVATION_SCHEMA,
        {"camera": "yard", "confidence_pct": "92.5", "zones": "patio"},
        {
            "camera": "yard",
            "label": "person",
            "confidence_pct": 92.5,
            "zones": ["patio"],
            "seconds_ago": 0,
            "stationary": False,
        },
    ),
    (
        "simulate",
        lambda: SIMULATE_SCHEMA,
        {
            "rule": {"cameras": ["yard"]},
            "now": "2026-12-01T10:00:00+00:00",
            "frigate_available": "off",
            "observations": [{"camera": "yard", "confidence_pct": 80, "seconds_ago": 2}],
        },
        {
            "rule": {"cameras": ["yard"]},
            "now": datetime(2026, 12, 1, 10, tzinfo=UTC),
            "frigate_available": False,
            "observations": [
                {
                    "camera": "yard",
                    "label": "person",
                    "confidence_pct": 80.0,
                    "zones": [],
                    "seconds_ago": 2.0,
                    "stationary": False,
                }
            ],
        },
    ),
    (
        "device trigger",
        lambda: TRIGGER_SCHEMA,
        {"platform": "device", "domain": "frigate_rules", "device_id": "abc", "type": "alert"},
        {"platform": "device", "domain": "frigate_rules", "device_id": "abc", "type": "alert"},
    ),
]

BAD: list[tuple[str, Any, dict[str, Any]]] = [
    ("entry: prefix not text", lambda: _entry_schema({}), {"topic_prefix": 5}),
    ("entry: unknown key", lambda: _entry_schema({}), {"topic_prefix": "x", "nope": 1}),
    ("reauth: password missing", lambda: _reauth_schema(None), {"frigate_username": "a"}),
    (
        "reauth: password not text",
        lambda: _reauth_schema(None),
        {"frigate_username": "a", "frigate_password": 5},
    ),
    (
        "entry: login field outside its section",
        lambda: _entry_schema({}),
        {"topic_prefix": "x", "frigate_username": "admin"},
    ),
    ("options: not a number", lambda: options_schema(OPTIONS), {"retention_seconds": "ten"}),
    (
        "options: qos not offered",
        lambda: options_schema(OPTIONS),
        {"publisher": {"qos": "3"}},
    ),
    (
        "options: port not a number",
        lambda: options_schema(OPTIONS),
        {"broker": {"broker_port": "high"}},
    ),
    (
        "options: publisher field outside its section",
        lambda: options_schema(OPTIONS),
        {"qos": "1"},
    ),
    ("rule: name missing", lambda: rule_schema(entry(), {}), {"what": {"cameras": ["yard"]}}),
    ("rule: cameras missing", lambda: rule_schema(entry(), {}), {"what": {"name": "x"}}),
    (
        "rule: field outside its section",
        lambda: rule_schema(entry(), {}),
        {"name": "x", "cameras": ["yard"]},
    ),
    (
        "rule: field in another section",
        lambda: rule_schema(entry(), {}),
        {"what": {"name": "x", "cameras": ["yard"], "aggregation": "max"}},
    ),
    (
        "rule: unknown aggregation",
        lambda: rule_schema(entry(), {}),
        {"what": {"name": "x", "cameras": ["yard"]}, "advanced": {"aggregation": "median"}},
    ),
    (
        "rule: alarm entity of another domain",
        lambda: rule_schema(entry(), {}),
        {"what": {"name": "x", "cameras": ["yard"]}, "alarm": {"alarm_entity": "light.kitchen"}},
    ),
    (
        "rule: camera not a name",
        lambda: rule_schema(entry(), {}),
        {"what": {"name": "x", "cameras": [{"camera": "yard"}]}},
    ),
    (
        "rule: alarm state not offered",
        lambda: rule_schema(entry(), {}),
        {
            "what": {"name": "x", "cameras": ["yard"]},
            "alarm": {"alarm_states": ["armed_away", "on"]},
        },
    ),
    (
        "rule: section not a mapping",
        lambda: rule_schema(entry(), {}),
        {"what": ["x"]},
    ),
    ("reset_cooldown: no entity", lambda: RESET_COOLDOWN_SCHEMA, {"camera": "yard"}),
    ("reset_cooldown: bad entity id", lambda: RESET_COOLDOWN_SCHEMA, {"entity_id": "yard"}),
    (
        "observation: confidence above 100",
        lambda: OBSERVATION_SCHEMA,
        {"camera": "yard", "confidence_pct": 101},
    ),
    (
        "observation: negative age",
        lambda: OBSERVATION_SCHEMA,
        {"camera": "yard", "confidence_pct": 50, "seconds_ago": -1},
    ),
    (
        "simulate: rule and entity together",
        lambda: SIMULATE_SCHEMA,
        {"entity_id": "binary_sensor.x", "rule": {"cameras": ["a"]}},
    ),
    ("simulate: not a time", lambda: SIMULATE_SCHEMA, {"rule": {}, "now": "yesterday-ish"}),
    (
        "device trigger: other type",
        lambda: TRIGGER_SCHEMA,
        {"platform": "device", "domain": "frigate_rules", "device_id": "abc", "type": "fired"},
    ),
]


@pytest.mark.parametrize(
    ("schema", "given", "expected"),
    [pytest.param(make, given, expected, id=name) for name, make, given, expected in GOOD],
)
def test_good_input_validates_to_the_same_values(
    schema: Any, given: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert schema()(given) == expected


@pytest.mark.parametrize(
    ("schema", "given"),
    [pytest.param(make, given, id=name) for name, make, given in BAD],
)
def test_bad_input_is_refused(schema: Any, given: dict[str, Any]) -> None:
    with pytest.raises(vol.Invalid):
        schema()(given)
