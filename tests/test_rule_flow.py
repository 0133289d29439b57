"""Rule subentries: create, validate, reconfigure, delete — without reloading the entry."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.config_entries import SOURCE_RECONFIGURE, SOURCE_USER
from homeassistant.const import STATE_ON
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_mqtt_message
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from .conftest import (
    fixture_lines,
    make_entry,
    rule_device,
    rule_sensor_id,
    rule_subentry,
    setup_entry,
    wire_payload,
)

VALID = {"name": "Backyard person", "cameras": ["backyard"]}


async def start_rule_flow(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, Any]:
    return await hass.config_entries.subentries.async_init(  # type: ignore[return-value]
        (entry.entry_id, "rule"), context={"source": SOURCE_USER}
    )


async def test_create_rule_adds_sensor_without_reload(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    entry = await setup_entry(hass, make_entry())
    engine = entry.runtime_data.engine
    for line in fixture_lines("a_person_backyard_v017.jsonl"):
        async_fire_mqtt_message(hass, line["topic"], wire_payload(line))
    await hass.async_block_till_done()

    result = await start_rule_flow(hass, entry)
    assert result["type"] is FlowResultType.FORM
    schema = result["data_schema"].schema
    cameras = next(k for k in schema if k == "cameras")
    assert schema[cameras].config["options"] == ["backyard"]
    zones = next(k for k in schema if k == "zones")
    assert set(schema[zones].config["options"]) >= {"yard", "patio"}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {**VALID, "zones": ["patio"], "min_confidence_pct": 90, "within_seconds": 10},
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    (subentry,) = entry.subentries.values()
    assert subentry.title == "Backyard person"
    assert subentry.data["zones"] == ["patio"]
    assert subentry.data["labels"] == ["person"]
    assert entry.runtime_data.engine is engine, "adding a rule must not reload the entry"
    entity_id = rule_sensor_id(hass, entry, subentry.subentry_id)
    assert entity_id == "binary_sensor.backyard_person"
    state = hass.states.get(entity_id)
    assert state is not None
    # Evaluated at once against what is already buffered: the person reached the
    # patio at 0.93 moments ago.
    assert state.state == STATE_ON
    assert state.attributes["rule_id"] == subentry.subentry_id
    assert state.attributes["reason"] == "matched"
    assert state.attributes["camera"] == "backyard"
    assert state.attributes["confidence_pct"] == 93.4  # 0.93359375 on the wire
    device = rule_device(hass, entry, subentry.subentry_id)
    assert device is not None
    assert device.name == "Backyard person"


@pytest.mark.parametrize(
    ("user_input", "errors"),
    [
        ({"name": "x", "cameras": []}, {"cameras": "no_cameras"}),
        ({**VALID, "labels": []}, {"labels": "no_labels"}),
        ({**VALID, "aggregation": "percentile"}, {"percentile": "percentile_required"}),
        (
            {**VALID, "alarm_entity": "alarm_control_panel.house"},
            {"alarm_states": "alarm_states_required"},
        ),
        ({**VALID, "action": "alarm_trigger"}, {"alarm_entity": "alarm_entity_required"}),
        ({**VALID, "within_seconds": 0}, {"within_seconds": "out_of_range"}),
        ({**VALID, "within_seconds": 3601}, {"within_seconds": "out_of_range"}),
        ({**VALID, "min_confidence_pct": 101}, {"min_confidence_pct": "out_of_range"}),
        ({**VALID, "cooldown_seconds": 86401}, {"cooldown_seconds": "out_of_range"}),
        (
            {**VALID, "aggregation": "percentile", "percentile": 0},
            {"percentile": "out_of_range"},
        ),
        ({**VALID, "name": "  "}, {"name": "name_required"}),
    ],
)
async def test_rule_validation_errors(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    user_input: dict[str, Any],
    errors: dict[str, str],
) -> None:
    entry = await setup_entry(hass, make_entry())
    result = await start_rule_flow(hass, entry)
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], user_input)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors
    assert entry.subentries == {}


async def test_duplicate_rule_name_is_refused(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    entry = await setup_entry(hass, make_entry(rules=[rule_subentry("Backyard person")]))
    result = await start_rule_flow(hass, entry)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"name": "backyard  PERSON", "cameras": ["porch"]}
    )
    assert result["errors"] == {"name": "name_taken"}


async def test_reconfigure_edits_in_place_and_keeps_entity_id(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    entry = await setup_entry(
        hass, make_entry(rules=[rule_subentry("Backyard person", subentry_id="rule1")])
    )
    engine = entry.runtime_data.engine
    entity_id = rule_sensor_id(hass, entry, "rule1")
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "rule"),
        context={"source": SOURCE_RECONFIGURE, "subentry_id": "rule1"},
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            "name": "Garden person",
            "cameras": ["backyard", "garden"],
            "aggregation": "percentile",
            "percentile": 50,
        },
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.runtime_data.engine is engine
    rule = engine.rules["rule1"]
    assert rule.name == "Garden person"
    assert rule.cameras == ("backyard", "garden")
    assert rule.percentile == 50
    assert rule_sensor_id(hass, entry, "rule1") == entity_id
    state = hass.states.get(entity_id)
    assert state is not None
    assert state.attributes["cameras"] == ["backyard", "garden"]
    assert state.attributes["aggregation"] == "percentile"
    device = rule_device(hass, entry, "rule1")
    assert device is not None
    assert device.name == "Garden person"


async def test_reconfigure_can_clear_optional_fields(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    entry = await setup_entry(
        hass,
        make_entry(
            rules=[
                rule_subentry(
                    "Gated",
                    subentry_id="rule1",
                    zones=["patio"],
                    alarm_entity="alarm_control_panel.house",
                    alarm_states=["armed_away"],
                )
            ]
        ),
    )
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "rule"),
        context={"source": SOURCE_RECONFIGURE, "subentry_id": "rule1"},
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"name": "Gated", "cameras": ["backyard"]}
    )
    await hass.async_block_till_done()
    assert result["reason"] == "reconfigure_successful"
    rule = entry.runtime_data.engine.rules["rule1"]
    assert rule.alarm_entity is None
    assert rule.alarm_states == ()
    assert rule.zones == ()


async def test_delete_rule_removes_entity_and_device_only(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    entry = await setup_entry(
        hass,
        make_entry(
            rules=[
                rule_subentry("One", subentry_id="rule1"),
                rule_subentry("Two", subentry_id="rule2", cameras=["porch"]),
            ]
        ),
    )
    engine = entry.runtime_data.engine
    one = rule_sensor_id(hass, entry, "rule1")
    two = rule_sensor_id(hass, entry, "rule2")
    assert hass.config_entries.async_remove_subentry(entry, "rule1")
    await hass.async_block_till_done()
    assert entry.runtime_data.engine is engine
    assert set(engine.rules) == {"rule2"}
    assert engine._rules_by_camera == {"porch": (engine.rules["rule2"],)}
    assert hass.states.get(one) is None
    assert er.async_get(hass).async_get(one) is None
    assert hass.states.get(two) is not None
    assert rule_device(hass, entry, "rule1") is None


async def test_invalid_stored_rule_is_skipped_with_warning(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, caplog: pytest.LogCaptureFixture
) -> None:
    entry = await setup_entry(
        hass,
        make_entry(
            rules=[
                rule_subentry("Broken", subentry_id="bad", cameras=[]),
                rule_subentry("Fine", subentry_id="good"),
            ]
        ),
    )
    assert set(entry.runtime_data.engine.rules) == {"good"}
    assert "Rule 'Broken' is invalid and is ignored (cameras: no_cameras)" in caplog.text
