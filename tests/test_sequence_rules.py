"""Sequences in Home Assistant (DESIGN 4.9): "driveway, then back door", on Frigate 0.17 fixtures.

A sequence is a config subentry of type `sequence` with its own binary_sensor, device,
alert, device trigger and `chain` attribute; it turns off on time when no chain fits its
window any more.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components import automation
from homeassistant.components.device_automation import (
    DeviceAutomationType,
    async_get_device_automations,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_mock_service,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.frigate_rules.const import DOMAIN, EVENT_ALERT, SUBENTRY_SEQUENCE
from custom_components.frigate_rules.logbook import describe_alert

from .conftest import make_entry, replay, rule_device, setup_entry
from .helpers import EVENT_KEYS

START = "2026-12-01 10:00:00+00:00"
START_TS = datetime.fromisoformat(START).timestamp()
DRIVEWAY_THEN_BACKDOOR = {
    "step_1_cameras": ["driveway"],
    "step_1_zones": ["drive"],
    "step_2_cameras": ["backdoor"],
    "step_2_zones": ["steps"],
    "within_seconds": 20,
    "min_confidence_pct": 70,
    "cooldown_seconds": 0,
}


def sequence(name: str, subentry_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "data": {"name": name, **fields},
        "subentry_type": SUBENTRY_SEQUENCE,
        "title": name,
        "unique_id": None,
        "subentry_id": subentry_id,
    }


async def setup(hass: HomeAssistant, **fields: Any) -> tuple[MockConfigEntry, str]:
    entry = await setup_entry(
        hass, make_entry(rules=[sequence("Driveway then back door", "seq", **fields)])
    )
    entity_id = er.async_get(hass).async_get_entity_id(
        "binary_sensor", DOMAIN, f"{entry.entry_id}_seq"
    )
    assert entity_id is not None
    return entry, entity_id


async def test_a_person_from_the_driveway_to_the_back_door_alerts_with_the_chain(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(START)
    entry, entity_id = await setup(hass, **DRIVEWAY_THEN_BACKDOOR)
    alerts = async_capture_events(hass, EVENT_ALERT)
    states: list[tuple[float, str]] = []

    def watch(elapsed: float, line: dict[str, Any]) -> None:
        state = hass.states.get(entity_id)
        assert state is not None
        if not states or states[-1][1] != state.state:
            states.append((round(elapsed, 2), state.state))

    await replay(hass, "k_driveway_to_backdoor_v017.jsonl", freezer, watch, max_step=0.05)
    assert [state for _, state in states] == ["off", "on", "off"], states
    assert len(alerts) == 1
    data = alerts[0].data
    assert set(data) == EVENT_KEYS | {"chain"}
    assert (data["rule_id"], data["camera"], data["aggregation"]) == ("seq", "backdoor", None)
    assert [(link["camera"], link["zones"]) for link in data["chain"]] == [
        ("driveway", ["drive"]),
        ("backdoor", ["steps"]),
    ]
    # Off on time: 20 s after the driveway link, without new input.
    first = datetime.fromisoformat(data["chain"][0]["observed_at"]).timestamp() - START_TS
    final = hass.states.get(entity_id)
    assert final is not None
    off_at = final.last_changed.timestamp() - START_TS
    assert first + 20 <= off_at <= first + 20.1, (first, off_at, states)
    device = rule_device(hass, entry, "seq")
    assert device is not None
    assert (device.name, device.model) == ("Driveway then back door", "Sequence")


async def test_the_other_direction_does_not_match(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(START)
    _, entity_id = await setup(hass, **DRIVEWAY_THEN_BACKDOOR)
    alerts = async_capture_events(hass, EVENT_ALERT)
    reasons: set[str] = set()

    def watch(_elapsed: float, _line: dict[str, Any]) -> None:
        state = hass.states.get(entity_id)
        assert state is not None
        assert state.state == "off"
        reasons.add(state.attributes["reason"])

    await replay(hass, "l_backdoor_to_driveway_v017.jsonl", freezer, watch)
    assert alerts == []
    assert "incomplete_sequence" in reasons


@pytest.mark.parametrize("explain_via", ["buffer", "call"])
async def test_simulate_explains_a_sequence_step_by_step(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, explain_via: str
) -> None:
    _, entity_id = await setup(hass, **DRIVEWAY_THEN_BACKDOOR)
    data: dict[str, Any] = {"entity_id": entity_id}
    if explain_via == "call":
        data["observations"] = [
            {"camera": "backdoor", "zones": ["steps"], "confidence_pct": 90, "seconds_ago": 5},
            {"camera": "driveway", "zones": ["drive"], "confidence_pct": 90, "seconds_ago": 2},
        ]
    response = await hass.services.async_call(
        DOMAIN, "simulate", data, blocking=True, return_response=True
    )
    assert response is not None
    clauses = [clause["clause"] for clause in response["trace"]]  # type: ignore[union-attr]
    assert clauses[-2:] == ["step_1", "step_2"]
    assert response["matched"] is False
    assert response["rule"]["step_1_cameras"] == ["driveway"]  # type: ignore[index]
    expected = "incomplete_sequence" if explain_via == "call" else "no_detections"
    assert response["reason"] == expected


async def test_the_sequence_device_offers_its_alert_trigger_and_it_fires(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(START)
    entry, entity_id = await setup(hass, **DRIVEWAY_THEN_BACKDOOR)
    device = rule_device(hass, entry, "seq")
    assert device is not None
    (trigger,) = [
        t
        for t in (
            await async_get_device_automations(hass, DeviceAutomationType.TRIGGER, [device.id])
        )[device.id]
        if t["domain"] == DOMAIN
    ]
    assert trigger["type"] == "alert"
    calls = async_mock_service(hass, "test", "alerted")
    alerts = async_capture_events(hass, EVENT_ALERT)
    assert await async_setup_component(
        hass,
        automation.DOMAIN,
        {
            automation.DOMAIN: {
                "triggers": [trigger | {"camera": "backdoor"}],
                "actions": {
                    "action": "test.alerted",
                    "data": {
                        "chain": "{{ trigger.event.data.chain | map(attribute='camera') | list }}"
                    },
                },
            }
        },
    )
    await replay(hass, "k_driveway_to_backdoor_v017.jsonl", freezer, lambda *_: None, max_step=0.05)
    assert [call.data["chain"] for call in calls] == [["driveway", "backdoor"]]
    # The logbook line names the step that completed the sequence.
    (alert,) = alerts
    pct = round(alert.data["confidence_pct"])
    assert describe_alert(alert.data) == f"alerted: person on backdoor (steps) at {pct} %"
