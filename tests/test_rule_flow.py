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
from .helpers import form_fields, form_input, serialized

VALID = {"name": "Backyard person", "cameras": ["backyard"]}


async def start_rule_flow(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, Any]:
    return await hass.config_entries.subentries.async_init(  # type: ignore[return-value]
        (entry.entry_id, "rule"), context={"source": SOURCE_USER}
    )


async def start_edit_flow(
    hass: HomeAssistant, entry: MockConfigEntry, rule_id: str = "rule1"
) -> dict[str, Any]:
    return await hass.config_entries.subentries.async_init(  # type: ignore[return-value]
        (entry.entry_id, "rule"), context={"source": SOURCE_RECONFIGURE, "subentry_id": rule_id}
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
    fields = form_fields(result)
    assert fields["cameras"]["selector"]["select"]["options"] == ["backyard"]
    zones = fields["zones"]["selector"]["select"]["options"]
    assert {"value": "patio", "label": "patio (backyard)"} in zones
    assert {"value": "yard", "label": "yard (backyard)"} in zones
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        form_input(
            result, {**VALID, "zones": ["patio"], "min_confidence_pct": 90, "within_seconds": 10}
        ),
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
        ({"name": "x", "cameras": []}, {"what": "no_cameras"}),
        ({**VALID, "labels": []}, {"what": "no_labels"}),
        (
            {**VALID, "aggregation": "percentile", "percentile": None},
            {"advanced": "percentile_required"},
        ),
        (
            {**VALID, "alarm_entity": "alarm_control_panel.house"},
            {"alarm": "alarm_states_required"},
        ),
        ({**VALID, "action": "alarm_trigger"}, {"alarm": "alarm_entity_required"}),
        ({**VALID, "within_seconds": 0}, {"what": "out_of_range"}),
        ({**VALID, "within_seconds": 3601}, {"what": "out_of_range"}),
        ({**VALID, "min_confidence_pct": 101}, {"what": "out_of_range"}),
        ({**VALID, "cooldown_seconds": 86401}, {"advanced": "out_of_range"}),
        (
            {**VALID, "aggregation": "percentile", "percentile": 0},
            {"advanced": "out_of_range"},
        ),
        ({**VALID, "name": "  "}, {"what": "name_required"}),
        ({**VALID, "recognition_wait_seconds": 31}, {"who": "out_of_range"}),
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
    submitted = form_input(result, user_input)
    if user_input.get("percentile", 90) is None:  # the user emptied the field
        del submitted["advanced"]["percentile"]
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], submitted)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors
    assert entry.subentries == {}
    # The section holding the error is open, the others keep their usual state.
    (section,) = errors
    expanded = {
        f["name"]: f["expanded"] for f in serialized(result) if f.get("type") == "expandable"
    }
    assert expanded == {
        "what": True,
        "alarm": True,
        "who": section == "who",
        "advanced": section == "advanced",
    }
    # What the user typed is still there.
    assert form_fields(result)["name"]["description"]["suggested_value"] == user_input["name"]


async def test_who_section_offers_the_names_frigate_recognized(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    entry = await setup_entry(hass, make_entry())
    for line in fixture_lines("g_known_face_v017.jsonl"):
        async_fire_mqtt_message(hass, line["topic"], wire_payload(line))
    await hass.async_block_till_done()
    result = await start_rule_flow(hass, entry)
    # Frigate recognized alice at 93 % in the replay.
    assert form_fields(result)["known_sub_labels"]["selector"]["select"]["options"] == ["alice"]
    family = {"sub_label_mode": "unknown_only", "known_sub_labels": ["alice", "bob"]}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        form_input(result, {**VALID, **family, "recognition_wait_seconds": 3}),
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    (subentry,) = entry.subentries.values()
    rule = entry.runtime_data.engine.rules[subentry.subentry_id]
    assert rule.sub_label_mode == "unknown_only"
    assert rule.known_sub_labels == ("alice", "bob")
    assert rule.recognition_wait_seconds == 3


async def test_duplicate_rule_name_is_refused(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    entry = await setup_entry(hass, make_entry(rules=[rule_subentry("Backyard person")]))
    result = await start_rule_flow(hass, entry)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], form_input(result, {"name": "backyard  PERSON", "cameras": ["porch"]})
    )
    assert result["errors"] == {"what": "name_taken"}


async def test_reconfigure_edits_in_place_and_keeps_entity_id(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    entry = await setup_entry(
        hass, make_entry(rules=[rule_subentry("Backyard person", subentry_id="rule1")])
    )
    engine = entry.runtime_data.engine
    entity_id = rule_sensor_id(hass, entry, "rule1")
    result = await start_edit_flow(hass, entry)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        form_input(
            result,
            {
                "name": "Garden person",
                "cameras": ["backyard", "garden"],
                "aggregation": "percentile",
                "percentile": 50,
            },
        ),
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
    result = await start_edit_flow(hass, entry)
    # The form shows the rule as it is; the user empties the zones, the alarm panel
    # and its states (the frontend then leaves those keys out).
    submitted = form_input(result, {})
    assert submitted["what"]["zones"] == ["patio"]
    assert submitted["alarm"]["alarm_entity"] == "alarm_control_panel.house"
    del submitted["what"]["zones"]
    del submitted["alarm"]["alarm_entity"]
    del submitted["alarm"]["alarm_states"]
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], submitted)
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


RULE_LAYOUT = [
    (
        "what",
        True,
        ["name", "cameras", "labels", "zones", "min_confidence_pct", "within_seconds"],
    ),
    ("alarm", True, ["alarm_entity", "alarm_states", "action"]),
    (
        "who",
        False,
        ["sub_label_mode", "known_sub_labels", "recognition_wait_seconds", "min_dwell_seconds"],
    ),
    (
        "advanced",
        False,
        [
            "aggregation",
            "percentile",
            "zone_match",
            "include_stationary",
            "on_unavailable",
            "cooldown_seconds",
        ],
    ),
]


def layout(result: dict[str, Any]) -> list[tuple[str, bool, list[str]]]:
    return [
        (f["name"], f["expanded"], [inner["name"] for inner in f["schema"]])
        for f in serialized(result)
    ]


async def test_add_and_edit_share_one_sectioned_form(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    entry = await setup_entry(
        hass,
        make_entry(
            rules=[
                rule_subentry(
                    "Porch",
                    subentry_id="rule1",
                    cameras=["porch"],
                    zones=["steps"],
                    cooldown_seconds=5,
                )
            ]
        ),
    )
    added = await start_rule_flow(hass, entry)
    assert layout(added) == RULE_LAYOUT
    defaults = form_input(added, {})
    assert defaults == {
        # As in ha-form: a required text starts empty; no camera is chosen for the user.
        "what": {
            "name": "",
            "cameras": [],
            "labels": ["person"],
            "min_confidence_pct": 80,
            "within_seconds": 10,
        },
        "alarm": {"action": "notify"},
        "who": {"sub_label_mode": "any", "recognition_wait_seconds": 0, "min_dwell_seconds": 0},
        "advanced": {
            "aggregation": "max",
            "percentile": 90,
            "zone_match": "any",
            "include_stationary": False,
            "on_unavailable": "treat_as_no_match",
            "cooldown_seconds": 300,
        },
    }
    # Zones that rules use are offered with their cameras, custom values allowed.
    zones = form_fields(added)["zones"]["selector"]["select"]
    assert zones["options"] == [{"value": "steps", "label": "steps (porch)"}]
    assert zones["custom_value"] is True
    assert zones["multiple"] is True

    edited = await start_edit_flow(hass, entry)
    assert layout(edited) == RULE_LAYOUT
    prefilled = form_input(edited, {})
    assert prefilled["what"]["name"] == "Porch"
    assert prefilled["what"]["zones"] == ["steps"]
    assert prefilled["advanced"]["cooldown_seconds"] == 5
