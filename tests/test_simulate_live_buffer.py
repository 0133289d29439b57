"""`simulate` on the live buffer traces what the window and label clauses dropped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import async_fire_mqtt_message
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from .conftest import make_entry, rule_subentry, setup_entry
from .test_simulate import event_payload, simulate


def details(response: dict[str, Any], clause: str) -> dict[str, Any]:
    found: dict[str, Any] = next(c["details"] for c in response["trace"] if c["clause"] == clause)
    return found


async def test_window_and_labels_see_everything_the_buffer_holds(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    await setup_entry(
        hass, make_entry(rules=[rule_subentry("Patio", subentry_id="patio", zones=["patio"])])
    )
    async_fire_mqtt_message(hass, "frigate/events", event_payload(id="car-1", label="car"))
    async_fire_mqtt_message(hass, "frigate/events", event_payload(id="person-1"))
    await hass.async_block_till_done()

    now = await simulate(hass, entity_id="binary_sensor.patio")
    assert now["reason"] == "matched"
    assert details(now, "window")["observations"] == 2
    assert details(now, "labels") == {"labels": ["person"], "seen": ["car", "person"], "kept": 1}

    later = datetime.now(UTC) + timedelta(seconds=60)
    aged = await simulate(hass, entity_id="binary_sensor.patio", now=later)
    assert aged["reason"] == "no_detections"
    window = details(aged, "window")
    assert (window["observations"], window["too_old"], window["kept"]) == (2, 2, 0)

    earlier = datetime.now(UTC) - timedelta(seconds=60)
    before = await simulate(hass, entity_id="binary_sensor.patio", now=earlier)
    window = details(before, "window")
    assert (window["observations"], window["in_future"], window["kept"]) == (2, 2, 0)
