"""`frigate_rules.reset_cooldown`: let the next activation alert at once."""

from __future__ import annotations

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_OFF, STATE_ON
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from pytest_homeassistant_custom_component.common import async_capture_events
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.frigate_rules.const import DOMAIN, EVENT_ALERT

from .conftest import advance, make_entry, rule_sensor_id, rule_subentry, setup_entry
from .test_alerts import START, sighting, state_of


async def reset(hass: HomeAssistant, entity_id: str, camera: str | None = None) -> None:
    data = {"entity_id": entity_id} | ({"camera": camera} if camera else {})
    await hass.services.async_call(DOMAIN, "reset_cooldown", data, blocking=True)


async def test_reset_clears_every_camera_of_the_rule(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(START)
    entry = await setup_entry(
        hass,
        make_entry(
            rules=[
                rule_subentry("Yard", subentry_id="r", cameras=["backyard", "front"]),
                rule_subentry("Other", subentry_id="o", cameras=["backyard"]),
            ]
        ),
    )
    yard = rule_sensor_id(hass, entry, "r")
    events = async_capture_events(hass, EVENT_ALERT)
    await sighting(hass, "backyard")
    await sighting(hass, "front")
    assert sorted((e.data["rule_id"], e.data["camera"]) for e in events) == [
        ("o", "backyard"),
        ("r", "backyard"),
        ("r", "front"),
    ]
    await advance(hass, freezer, 10.1)
    assert state_of(hass, yard) == STATE_OFF

    # Inside the 300 s cooldown nothing alerts ...
    await sighting(hass, "backyard")
    assert state_of(hass, yard) == STATE_ON
    assert len(events) == 3
    await advance(hass, freezer, 10.1)

    # ... until the rule's cooldowns are reset; the other rule keeps its own.
    await reset(hass, yard)
    await sighting(hass, "backyard")
    await sighting(hass, "front")
    assert sorted((e.data["rule_id"], e.data["camera"]) for e in events[3:]) == [
        ("r", "backyard"),
        ("r", "front"),
    ]


async def test_reset_one_camera_only(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(START)
    entry = await setup_entry(
        hass,
        make_entry(rules=[rule_subentry("Yard", subentry_id="r", cameras=["backyard", "front"])]),
    )
    yard = rule_sensor_id(hass, entry, "r")
    events = async_capture_events(hass, EVENT_ALERT)
    await sighting(hass, "backyard")
    await sighting(hass, "front")
    assert len(events) == 2
    await advance(hass, freezer, 10.1)

    await reset(hass, yard, camera="front")
    await sighting(hass, "backyard")
    await sighting(hass, "front")
    assert [e.data["camera"] for e in events[2:]] == ["front"]

    # A camera the rule never alerted on is no error.
    await reset(hass, yard, camera="garage")


async def test_reset_before_any_alert_is_harmless(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    entry = await setup_entry(hass, make_entry(rules=[rule_subentry("Yard", subentry_id="r")]))
    await reset(hass, rule_sensor_id(hass, entry, "r"))
    events = async_capture_events(hass, EVENT_ALERT)
    await sighting(hass)
    assert len(events) == 1


@pytest.mark.parametrize(
    "entity_id",
    [
        "binary_sensor.nothing_here",  # not in the registry
        "binary_sensor.frigate_availability",  # ours, but not a rule
        "binary_sensor.someone_elses",  # a rule-like entity of another integration
    ],
)
async def test_unknown_entity_is_a_validation_error(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, entity_id: str
) -> None:
    await setup_entry(hass, make_entry(rules=[rule_subentry("Yard", subentry_id="r")]))
    hass.states.async_set("binary_sensor.someone_elses", STATE_ON)
    assert hass.states.get("binary_sensor.frigate_availability") is not None
    with pytest.raises(ServiceValidationError) as raised:
        await reset(hass, entity_id)
    assert raised.value.translation_domain == DOMAIN
    assert raised.value.translation_key == "unknown_rule_entity"
    assert raised.value.translation_placeholders == {"entity_id": entity_id}
    # The translated message names the entity.
    assert entity_id in str(raised.value)


async def test_entity_of_an_unloaded_entry_is_unknown(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    entry = await setup_entry(hass, make_entry(rules=[rule_subentry("Yard", subentry_id="r")]))
    entity_id = rule_sensor_id(hass, entry, "r")
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    with pytest.raises(ServiceValidationError) as raised:
        await reset(hass, entity_id)
    assert raised.value.translation_key == "unknown_rule_entity"
