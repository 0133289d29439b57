"""Device trigger "alert" on rule devices, with an optional camera filter."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.components import automation
from homeassistant.components.device_automation import (
    DeviceAutomationType,
    async_get_device_automations,
)
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import async_mock_service
from pytest_homeassistant_custom_component.typing import MqttMockHAClient, WebSocketGenerator

from custom_components.frigate_rules.const import DOMAIN

from .conftest import make_entry, rule_device, rule_subentry, setup_entry
from .test_alerts import sighting


def device_id(hass: HomeAssistant, entry: ConfigEntry, rule_id: str) -> str:
    device = rule_device(hass, entry, rule_id)
    assert device is not None, rule_id
    return device.id


async def setup_rules(hass: HomeAssistant) -> ConfigEntry:
    return await setup_entry(
        hass,
        make_entry(
            rules=[
                rule_subentry("Yard", subentry_id="yard", cameras=["backyard", "front"]),
                rule_subentry("Porch", subentry_id="porch", cameras=["front"]),
            ]
        ),
    )


def ours(triggers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Our own triggers (the entities on a device bring theirs too)."""
    return [
        {key: value for key, value in trigger.items() if key != "metadata"}
        for trigger in triggers
        if trigger["domain"] == DOMAIN
    ]


async def test_alert_trigger_is_offered_on_rule_devices_only(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    entry = await setup_rules(hass)
    yard = device_id(hass, entry, "yard")
    porch = device_id(hass, entry, "porch")
    frigate = entry.runtime_data.entry_device_id
    found = await async_get_device_automations(
        hass, DeviceAutomationType.TRIGGER, [yard, porch, frigate]
    )
    registry = er.async_get(hass)
    for rule_device_id, rule_id in ((yard, "yard"), (porch, "porch")):
        sensor = registry.async_get_entity_id(
            "binary_sensor", DOMAIN, f"{entry.entry_id}_{rule_id}"
        )
        assert sensor is not None
        assert ours(found[rule_device_id]) == [
            {
                "platform": "device",
                "domain": DOMAIN,
                "device_id": rule_device_id,
                "type": "alert",
                # The registry id of the rule's sensor: the editor names the trigger
                # "<rule> alerted" after it.
                "entity_id": registry.async_get(sensor).id,  # type: ignore[union-attr]
            }
        ]
    assert ours(found[frigate]) == []


async def test_trigger_capabilities_offer_the_camera(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, hass_ws_client: WebSocketGenerator
) -> None:
    entry = await setup_rules(hass)
    assert await async_setup_component(hass, "device_automation", {})
    yard = device_id(hass, entry, "yard")
    client = await hass_ws_client(hass)
    await client.send_json(
        {
            "id": 1,
            "type": "device_automation/trigger/capabilities",
            "trigger": {
                "platform": "device",
                "domain": DOMAIN,
                "device_id": yard,
                "type": "alert",
            },
        }
    )
    response = await client.receive_json()
    assert response["success"], response
    fields = response["result"]["extra_fields"]
    assert [(f["name"], f["type"], f["optional"]) for f in fields] == [("camera", "string", True)]
    # Newer voluptuous-serialize also writes `required`; when present it must agree.
    assert fields[0].get("required", False) is False


async def setup_automation(hass: HomeAssistant, trigger: dict[str, Any]) -> list[ServiceCall]:
    calls = async_mock_service(hass, "test", "alerted")
    assert await async_setup_component(
        hass,
        automation.DOMAIN,
        {
            automation.DOMAIN: [
                {
                    "alias": "On alert",
                    "trigger": trigger,
                    "action": {
                        "service": "test.alerted",
                        "data": {
                            "rule": "{{ trigger.event.data.rule_name }}",
                            "camera": "{{ trigger.event.data.camera }}",
                            "platform": "{{ trigger.platform }}",
                        },
                    },
                }
            ]
        },
    )
    await hass.async_block_till_done()
    return calls


async def test_automation_fires_on_the_rule_alert(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    entry = await setup_rules(hass)
    yard = device_id(hass, entry, "yard")
    calls = await setup_automation(
        hass, {"platform": "device", "domain": DOMAIN, "device_id": yard, "type": "alert"}
    )
    # Porch's alert on `front` comes with Yard's: only Yard's reaches this automation.
    await sighting(hass, "front")
    await hass.async_block_till_done()
    assert [call.data for call in calls] == [
        {"rule": "Yard", "camera": "front", "platform": "device"}
    ]
    await sighting(hass, "backyard")
    await hass.async_block_till_done()
    assert [call.data["camera"] for call in calls] == ["front", "backyard"]


async def test_camera_filter_is_respected(hass: HomeAssistant, mqtt_mock: MqttMockHAClient) -> None:
    entry = await setup_rules(hass)
    yard = device_id(hass, entry, "yard")
    calls = await setup_automation(
        hass,
        {
            "platform": "device",
            "domain": DOMAIN,
            "device_id": yard,
            "type": "alert",
            "camera": "backyard",
        },
    )
    await sighting(hass, "front")
    await hass.async_block_till_done()
    assert calls == []
    await sighting(hass, "backyard")
    await hass.async_block_till_done()
    assert [call.data["camera"] for call in calls] == ["backyard"]


async def test_trigger_on_a_device_that_is_no_rule_is_refused(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, caplog: pytest.LogCaptureFixture
) -> None:
    entry = await setup_rules(hass)
    frigate = entry.runtime_data.entry_device_id
    calls = await setup_automation(
        hass, {"platform": "device", "domain": DOMAIN, "device_id": frigate, "type": "alert"}
    )
    assert f"Device {frigate} is not a rule" in caplog.text
    await sighting(hass, "front")
    await hass.async_block_till_done()
    assert calls == []
