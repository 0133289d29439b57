"""`frigate_rules.simulate`: explain a rule, name the failing clause, change nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from pytest_homeassistant_custom_component.common import (
    async_capture_events,
    async_fire_mqtt_message,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.frigate_rules.const import DOMAIN, EVENT_ALERT

from .conftest import make_entry, rule_subentry, setup_entry, wire_payload

CLAUSES = [
    "alarm_gate",
    "availability",
    "window",
    "labels",
    "cameras",
    "zones",
    "stationary",
    "recognition",
    "dwell",
    "aggregation",
    "threshold",
]


async def simulate(hass: HomeAssistant, **data: Any) -> dict[str, Any]:
    response = await hass.services.async_call(
        DOMAIN, "simulate", data, blocking=True, return_response=True
    )
    assert isinstance(response, dict)
    return response


def first_failing(response: dict[str, Any]) -> str | None:
    return next((c["clause"] for c in response["trace"] if not c["passed"]), None)


def event_payload(**after: Any) -> str:
    base = {
        "id": "1.0-abcdef",
        "camera": "backyard",
        "label": "person",
        "score": 0.93,
        "top_score": 0.93,
        "current_zones": ["patio"],
        "entered_zones": ["yard", "patio"],
        "stationary": False,
        "frame_time": 1.0,
    }
    return wire_payload({"payload": {"type": "update", "before": {}, "after": base | after}})


@pytest.fixture
async def loaded(hass: HomeAssistant, mqtt_mock: MqttMockHAClient) -> Any:
    hass.states.async_set("alarm_control_panel.house", "disarmed")
    return await setup_entry(
        hass,
        make_entry(
            rules=[
                rule_subentry("Patio", subentry_id="patio", zones=["patio"], min_confidence_pct=90),
                rule_subentry(
                    "Armed",
                    subentry_id="armed",
                    alarm_entity="alarm_control_panel.house",
                    alarm_states=["armed_away"],
                ),
            ]
        ),
    )


async def test_simulate_rule_entity_against_live_buffer(hass: HomeAssistant, loaded: Any) -> None:
    async_fire_mqtt_message(hass, "frigate/events", event_payload())
    await hass.async_block_till_done()
    alerts = async_capture_events(hass, EVENT_ALERT)
    engine = loaded.runtime_data.engine
    before = (dict(engine.evaluations), len(engine.buffer), dict(engine.last_matched))

    response = await simulate(hass, entity_id="binary_sensor.patio")

    assert [c["clause"] for c in response["trace"] if not c["passed"]] == []
    assert response["reason"] == "matched"
    assert response["camera"] == "backyard"
    assert response["confidence_pct"] == pytest.approx(93.0)
    assert response["observations_from"] == "buffer"
    assert response["per_camera"]["backyard"]["candidates"] == 1
    assert [c["clause"] for c in response["trace"]] == CLAUSES
    assert all(c["passed"] for c in response["trace"])
    assert response["rule"]["zones"] == ["patio"]
    # No side effects: nothing fired, nothing stored.
    await hass.async_block_till_done()
    assert alerts == []
    assert (dict(engine.evaluations), len(engine.buffer), dict(engine.last_matched)) == before


@pytest.mark.parametrize(
    ("call", "reason", "clause"),
    [
        ({"entity_id": "binary_sensor.armed"}, "alarm_state", "alarm_gate"),
        (
            {"entity_id": "binary_sensor.patio", "frigate_available": False},
            "frigate_unavailable",
            "availability",
        ),
        ({"entity_id": "binary_sensor.patio", "observations": []}, "no_detections", "window"),
        (
            {
                "entity_id": "binary_sensor.patio",
                "observations": [{"camera": "backyard", "label": "dog", "confidence_pct": 99}],
            },
            "no_detections",
            "labels",
        ),
        (
            {
                "entity_id": "binary_sensor.patio",
                "observations": [{"camera": "porch", "confidence_pct": 99, "zones": ["patio"]}],
            },
            "no_detections",
            "cameras",
        ),
        (
            {
                "entity_id": "binary_sensor.patio",
                "observations": [{"camera": "backyard", "confidence_pct": 99, "zones": ["yard"]}],
            },
            "no_detections",
            "zones",
        ),
        (
            {
                "entity_id": "binary_sensor.patio",
                "observations": [
                    {
                        "camera": "backyard",
                        "confidence_pct": 99,
                        "zones": ["patio"],
                        "stationary": True,
                    }
                ],
            },
            "no_detections",
            "stationary",
        ),
        (
            {
                "entity_id": "binary_sensor.patio",
                "observations": [
                    {"camera": "backyard", "confidence_pct": 89.9, "zones": ["patio"]}
                ],
            },
            "below_threshold",
            "threshold",
        ),
        (
            {
                "entity_id": "binary_sensor.patio",
                "observations": [
                    {
                        "camera": "backyard",
                        "confidence_pct": 99,
                        "zones": ["patio"],
                        "seconds_ago": 10.5,
                    }
                ],
            },
            "no_detections",
            "window",
        ),
    ],
)
async def test_trace_names_the_failing_clause(
    hass: HomeAssistant, loaded: Any, call: dict[str, Any], reason: str, clause: str
) -> None:
    response = await simulate(hass, **call)
    assert response["matched"] is False
    assert response["reason"] == reason
    assert first_failing(response) == clause
    assert [c["clause"] for c in response["trace"]] == CLAUSES


async def test_alarm_state_override_and_given_observations(
    hass: HomeAssistant, loaded: Any
) -> None:
    response = await simulate(
        hass,
        entity_id="binary_sensor.armed",
        alarm_state="armed_away",
        observations=[
            {"camera": "backyard", "confidence_pct": 70, "seconds_ago": 1},
            {"camera": "backyard", "confidence_pct": 85, "seconds_ago": 2},
        ],
    )
    assert response["matched"] is True
    assert response["context"]["alarm_state"] == "armed_away"
    assert response["observations_from"] == "call"
    assert response["per_camera"]["backyard"] == {
        "confidence_pct": 85.0,
        "candidates": 2,
        "matched": True,
        "event_id": "simulated-1",
    }


async def test_inline_rule_with_percentile_at_given_time(hass: HomeAssistant, loaded: Any) -> None:
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    scores = [50, 60, 70, 80, 90, 91, 92, 93, 94, 95]
    response = await simulate(
        hass,
        rule={"cameras": ["garden"], "aggregation": "percentile", "percentile": 50},
        now=now,
        observations=[{"camera": "garden", "confidence_pct": s, "seconds_ago": 1} for s in scores],
    )
    # Nearest rank: ceil(0.5 * 10) = 5th smallest.
    assert response["confidence_pct"] == 90
    assert response["matched"] is True
    assert response["now"] == now.isoformat()
    assert response["next_change_at"] == (now + timedelta(seconds=9)).isoformat()


async def test_given_observations_can_say_who_frigate_recognized(
    hass: HomeAssistant, loaded: Any
) -> None:
    family_excluded = {
        "cameras": ["front_door"],
        "sub_label_mode": "unknown_only",
        "known_sub_labels": ["alice", "bob"],
    }
    seen = {"camera": "front_door", "confidence_pct": 91, "seconds_ago": 1}
    alice = await simulate(hass, rule=family_excluded, observations=[seen | {"sub_label": "alice"}])
    stranger = await simulate(hass, rule=family_excluded, observations=[seen])
    assert (alice["matched"], first_failing(alice)) == (False, "recognition")
    assert stranger["matched"] is True


@pytest.mark.parametrize(
    ("call", "key"),
    [
        ({"entity_id": "binary_sensor.nope"}, "unknown_rule_entity"),
        ({"rule": {"cameras": []}}, "invalid_rule"),
        ({}, "rule_or_entity_required"),
        ({"rule": {"cameras": ["a"]}, "config_entry_id": "missing"}, "unknown_config_entry"),
    ],
)
async def test_validation_errors_are_translated(
    hass: HomeAssistant, loaded: Any, call: dict[str, Any], key: str
) -> None:
    with pytest.raises(ServiceValidationError) as caught:
        await simulate(hass, **call)
    assert caught.value.translation_key == key
    assert caught.value.translation_domain == DOMAIN


async def test_inline_rule_needs_an_entry_choice_with_several(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    from pytest_homeassistant_custom_component.common import MockConfigEntry

    await setup_entry(hass, make_entry())
    other = MockConfigEntry(
        domain=DOMAIN,
        unique_id="nvr",
        data={"topic_prefix": "nvr"},
        options={"publish_enabled": False},
    )
    other.add_to_hass(hass)
    assert await hass.config_entries.async_setup(other.entry_id)
    await hass.async_block_till_done()
    with pytest.raises(ServiceValidationError) as caught:
        await simulate(hass, rule={"cameras": ["a"]})
    assert caught.value.translation_key == "config_entry_required"
    response = await simulate(hass, rule={"cameras": ["a"]}, config_entry_id=other.entry_id)
    assert response["reason"] == "no_detections"


async def test_no_loaded_entry(hass: HomeAssistant, mqtt_mock: MqttMockHAClient) -> None:
    entry = await setup_entry(hass, make_entry())
    assert await hass.config_entries.async_unload(entry.entry_id)
    with pytest.raises(ServiceValidationError) as caught:
        await simulate(hass, rule={"cameras": ["a"]})
    assert caught.value.translation_key == "no_loaded_entry"
