"""Sequence subentries in the UI: create, validate, reconfigure — without reloading the entry."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.config_entries import SOURCE_RECONFIGURE, SOURCE_USER
from homeassistant.const import STATE_ON
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_mqtt_message
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.frigate_rules.const import SUBENTRY_SEQUENCE

from .conftest import fixture_lines, make_entry, rule_sensor_id, setup_entry, wire_payload
from .helpers import form_fields, form_input, serialized
from .test_sequence_rules import sequence

STEPS = {
    "step_1_cameras": ["driveway"],
    "step_2_cameras": ["backdoor"],
}
VALID = {"name": "Driveway then back door", **STEPS}


async def start_flow(
    hass: HomeAssistant, entry: MockConfigEntry, sequence_id: str | None = None
) -> dict[str, Any]:
    context: dict[str, Any] = {"source": SOURCE_USER}
    if sequence_id is not None:
        context = {"source": SOURCE_RECONFIGURE, "subentry_id": sequence_id}
    return await hass.config_entries.subentries.async_init(  # type: ignore[return-value]
        (entry.entry_id, SUBENTRY_SEQUENCE), context=context
    )


def expanded(result: dict[str, Any]) -> dict[str, bool]:
    return {f["name"]: f["expanded"] for f in serialized(result) if f.get("type") == "expandable"}


async def test_create_sequence_offers_seen_cameras_and_adds_its_sensor_without_reload(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    entry = await setup_entry(hass, make_entry())
    engine = entry.runtime_data.engine
    for line in fixture_lines("k_driveway_to_backdoor_v017.jsonl"):
        async_fire_mqtt_message(hass, line["topic"], wire_payload(line))
    await hass.async_block_till_done()

    result = await start_flow(hass, entry)
    assert result["type"] is FlowResultType.FORM
    assert expanded(result) == {"steps": True, "what": True, "alarm": True, "advanced": False}
    fields = form_fields(result)
    assert "driveway" in fields["step_1_cameras"]["selector"]["select"]["options"]
    assert fields["step_1_cameras"]["required"] is True
    assert not fields["step_3_cameras"].get("required", False)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        form_input(result, {**VALID, "step_1_zones": ["drive"], "within_seconds": 20}),
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    (subentry,) = entry.subentries.values()
    assert subentry.subentry_type == SUBENTRY_SEQUENCE
    assert subentry.title == "Driveway then back door"
    assert subentry.data["step_1_zones"] == ["drive"]
    assert subentry.data["step_3_cameras"] == []
    assert entry.runtime_data.engine is engine, "adding a sequence must not reload the entry"
    entity_id = rule_sensor_id(hass, entry, subentry.subentry_id)
    state = hass.states.get(entity_id)
    assert state is not None
    assert state.attributes["rule_id"] == subentry.subentry_id
    # Evaluated at once against what is buffered: the replay went driveway -> back door.
    assert state.state == STATE_ON
    assert [link["camera"] for link in state.attributes["chain"]] == ["driveway", "backdoor"]
    assert engine.rules[subentry.subentry_id].within_seconds == 20


@pytest.mark.parametrize(
    ("user_input", "errors"),
    [
        ({**VALID, "step_2_cameras": []}, {"steps": "no_cameras"}),
        ({**VALID, "step_4_cameras": ["garden"]}, {"steps": "no_cameras"}),
        (
            {**VALID, "step_2_cameras": VALID["step_1_cameras"], "step_2_zones": []},
            {"steps": "same_as_previous_step"},
        ),
        ({**VALID, "labels": []}, {"what": "no_labels"}),
        ({**VALID, "within_seconds": 601}, {"what": "out_of_range"}),
        ({**VALID, "action": "alarm_trigger"}, {"alarm": "alarm_entity_required"}),
        ({**VALID, "cooldown_seconds": -1}, {"advanced": "out_of_range"}),
        ({**VALID, "name": " "}, {"steps": "name_required"}),
    ],
)
async def test_sequence_errors_land_on_their_section(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    user_input: dict[str, Any],
    errors: dict[str, str],
) -> None:
    entry = await setup_entry(hass, make_entry())
    result = await start_flow(hass, entry)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], form_input(result, user_input)
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors
    assert entry.subentries == {}
    (section,) = errors
    assert expanded(result)["advanced"] is (section == "advanced")
    assert form_fields(result)["name"]["description"]["suggested_value"] == user_input["name"]


async def test_two_sequences_cannot_share_a_name(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    entry = await setup_entry(
        hass,
        make_entry(rules=[sequence("Driveway then back door", "seq", **STEPS)]),
    )
    result = await start_flow(hass, entry)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], form_input(result, {**VALID, "name": "driveway THEN back door"})
    )
    assert result["errors"] == {"steps": "name_taken"}


async def test_reconfigure_shortens_a_sequence_in_place(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    entry = await setup_entry(
        hass,
        make_entry(
            rules=[sequence("Three steps", "seq", **STEPS, step_3_cameras=["backyard"])],
        ),
    )
    engine = entry.runtime_data.engine
    entity_id = rule_sensor_id(hass, entry, "seq")
    assert len(engine.rules["seq"].steps) == 3
    result = await start_flow(hass, entry, "seq")
    assert result["step_id"] == "reconfigure"
    # The form shows the sequence as stored; the user empties step 3.
    submitted = form_input(result, {"name": "Two steps"})
    assert submitted["steps"]["step_3_cameras"] == ["backyard"]
    del submitted["steps"]["step_3_cameras"]
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], submitted)
    await hass.async_block_till_done()
    assert result["reason"] == "reconfigure_successful"
    assert entry.runtime_data.engine is engine
    edited = engine.rules["seq"]
    assert edited.name == "Two steps"
    assert [step.cameras for step in edited.steps] == [("driveway",), ("backdoor",)]
    assert rule_sensor_id(hass, entry, "seq") == entity_id
    assert entry.subentries["seq"].title == "Two steps"
