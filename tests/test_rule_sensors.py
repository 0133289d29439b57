"""Rule binary_sensors driven by real fixture timing: on, off on time, never stuck."""

from __future__ import annotations

from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_OFF, STATE_ON
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import (
    async_fire_mqtt_message,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from .conftest import (
    advance,
    fixture_lines,
    make_entry,
    replay,
    rule_sensor_id,
    rule_subentry,
    setup_entry,
    wire_payload,
)


def attrs(hass: HomeAssistant, entity_id: str) -> dict[str, Any]:
    state = hass.states.get(entity_id)
    assert state is not None
    return dict(state.attributes) | {"state": state.state}


EVENT = {
    "type": "update",
    "before": {},
    "after": {
        "id": "1.0-abcdef",
        "camera": "backyard",
        "label": "person",
        "score": 0.95,
        "top_score": 0.95,
        "current_zones": ["patio"],
        "entered_zones": ["patio"],
        "stationary": False,
        "frame_time": 1.0,
    },
}


def fire_event(hass: HomeAssistant, **after: Any) -> None:
    payload = {**EVENT, "after": {**EVENT["after"], **after}}
    async_fire_mqtt_message(hass, "frigate/events", wire_payload({"payload": payload}))


async def test_window_closes_on_time_without_new_input(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, freezer: FrozenDateTimeFactory
) -> None:
    entry = await setup_entry(
        hass, make_entry(rules=[rule_subentry("Patio", subentry_id="r", zones=["patio"])])
    )
    entity_id = rule_sensor_id(hass, entry, "r")
    assert attrs(hass, entity_id)["state"] == STATE_OFF
    fire_event(hass)
    await hass.async_block_till_done()
    first = attrs(hass, entity_id)
    assert first["state"] == STATE_ON
    assert first["reason"] == "matched"
    assert first["confidence_pct"] == 95.0
    assert first["camera"] == "backyard"
    assert first["event_id"] == "1.0-abcdef"
    assert first["zones"] == ["patio"]
    assert first["detections"] == 1
    assert first["last_matched"] is not None
    await advance(hass, freezer, 9.9)
    assert attrs(hass, entity_id)["state"] == STATE_ON
    # A later sighting extends the window.
    fire_event(hass, score=0.85)
    await hass.async_block_till_done()
    assert attrs(hass, entity_id)["detections"] == 2
    await advance(hass, freezer, 0.2)  # the first sighting has left the window
    current = attrs(hass, entity_id)
    assert current["state"] == STATE_ON
    assert current["detections"] == 1
    assert current["confidence_pct"] == 85.0
    await advance(hass, freezer, 9.6)
    assert attrs(hass, entity_id)["state"] == STATE_ON
    await advance(hass, freezer, 0.25)  # 10.05 s after the last sighting
    final = attrs(hass, entity_id)
    assert final["state"] == STATE_OFF
    assert final["reason"] == "no_detections"
    assert final["confidence_pct"] is None
    assert final["last_matched"] == current["last_matched"] or final["last_matched"]


async def test_below_threshold_and_other_zone(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    entry = await setup_entry(
        hass,
        make_entry(
            rules=[rule_subentry("Patio", subentry_id="r", zones=["patio"], min_confidence_pct=90)]
        ),
    )
    entity_id = rule_sensor_id(hass, entry, "r")
    fire_event(hass, score=0.89)
    await hass.async_block_till_done()
    assert attrs(hass, entity_id)["reason"] == "below_threshold"
    assert attrs(hass, entity_id)["confidence_pct"] == 89.0
    fire_event(hass, score=0.99, current_zones=["yard"])
    await hass.async_block_till_done()
    assert attrs(hass, entity_id)["state"] == STATE_OFF
    fire_event(hass, score=0.9)
    await hass.async_block_till_done()
    assert attrs(hass, entity_id)["state"] == STATE_ON


async def test_only_rules_watching_the_camera_are_evaluated(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry = await setup_entry(
        hass,
        make_entry(
            rules=[
                rule_subentry("Back", subentry_id="back"),
                rule_subentry("Front", subentry_id="front", cameras=["front"]),
                rule_subentry("Cars", subentry_id="cars", labels=["car"]),
            ]
        ),
    )
    engine = entry.runtime_data.engine
    seen: list[str] = []
    real = engine._evaluate
    monkeypatch.setattr(
        engine, "_evaluate", lambda rule, now: (seen.append(rule.rule_id), real(rule, now))
    )
    fire_event(hass)
    await hass.async_block_till_done()
    assert seen == ["back"]


async def test_person_backyard_replay_turns_on_only_in_patio_at_90(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, freezer: FrozenDateTimeFactory
) -> None:
    entry = await setup_entry(
        hass,
        make_entry(
            rules=[
                rule_subentry(
                    "Backyard patio",
                    subentry_id="r",
                    zones=["patio"],
                    min_confidence_pct=90,
                    aggregation="max",
                    within_seconds=10,
                )
            ]
        ),
    )
    entity_id = rule_sensor_id(hass, entry, "r")
    first_on: list[tuple[dict[str, Any], dict[str, Any]]] = []
    states: list[str] = []

    def check(elapsed: float, line: dict[str, Any]) -> None:
        current = attrs(hass, entity_id)
        states.append(current["state"])
        if current["state"] == STATE_ON and not first_on:
            first_on.append((line, current))

    end = await replay(hass, "a_person_backyard_v017.jsonl", freezer, check)
    assert first_on, "the rule never turned on"
    line, on_attrs = first_on[0]
    after = line["payload"]["after"]
    assert line["topic"] == "frigate/events"
    assert "patio" in after["current_zones"]
    assert after["score"] >= 0.90
    # Before that line, no event had a patio sighting at >= 0.90.
    earlier = [
        item["payload"]["after"]
        for item in fixture_lines("a_person_backyard_v017.jsonl")[: states.index(STATE_ON)]
        if item["topic"] == "frigate/events"
    ]
    assert not [a for a in earlier if "patio" in a["current_zones"] and a["score"] >= 0.9]
    assert on_attrs["camera"] == "backyard"
    assert on_attrs["confidence_pct"] == round(after["score"] * 100, 1)
    assert on_attrs["event_id"] == after["id"]
    assert on_attrs["zones"] == after["current_zones"]
    assert end > 10
    await advance(hass, freezer, 10.1)
    assert attrs(hass, entity_id)["state"] == STATE_OFF


@pytest.mark.parametrize(("include_stationary", "on_while_parked"), [(False, False), (True, True)])
async def test_parked_car_does_not_keep_rule_on(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    freezer: FrozenDateTimeFactory,
    include_stationary: bool,
    on_while_parked: bool,
) -> None:
    entry = await setup_entry(
        hass,
        make_entry(
            rules=[
                rule_subentry(
                    "Driveway car",
                    subentry_id="r",
                    cameras=["driveway"],
                    labels=["car"],
                    zones=["parking"],
                    include_stationary=include_stationary,
                )
            ]
        ),
    )
    entity_id = rule_sensor_id(hass, entry, "r")
    parked_states: list[str] = []
    moving_states: list[str] = []

    def check(elapsed: float, line: dict[str, Any]) -> None:
        if line["topic"] != "frigate/events":
            return
        after = line["payload"]["after"]
        if after["stationary"]:
            parked_states.append(attrs(hass, entity_id)["state"])
        elif "parking" in after["current_zones"] and after["score"] >= 0.8:
            moving_states.append(attrs(hass, entity_id)["state"])

    await replay(hass, "e_parked_car_driveway_v017.jsonl", freezer, check)
    assert moving_states
    assert set(moving_states) == {STATE_ON}
    assert len(parked_states) == 9
    assert set(parked_states) == ({STATE_ON} if on_while_parked else {STATE_OFF})


@pytest.mark.parametrize(
    ("policy", "expected_after_will"),
    [("treat_as_match", STATE_ON), ("treat_as_no_match", STATE_OFF)],
)
async def test_last_will_applies_the_unavailable_policy(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    freezer: FrozenDateTimeFactory,
    policy: str,
    expected_after_will: str,
) -> None:
    entry = await setup_entry(
        hass,
        make_entry(
            rules=[
                rule_subentry(
                    "Front door", subentry_id="r", cameras=["front_door"], on_unavailable=policy
                )
            ]
        ),
    )
    entity_id = rule_sensor_id(hass, entry, "r")
    after_will: list[dict[str, Any]] = []
    after_back: list[dict[str, Any]] = []

    def check(elapsed: float, line: dict[str, Any]) -> None:
        if line["topic"] == "frigate/available":
            (after_will if line["payload"] == "offline" else after_back).append(
                attrs(hass, entity_id)
            )

    await replay(hass, "f_offline_mid_event_v017.jsonl", freezer, check)
    assert after_will[0]["state"] == expected_after_will
    assert after_will[0]["reason"] == "frigate_unavailable"
    back = after_back[-1]
    assert back["state"] == STATE_OFF
    assert back["reason"] == "no_detections"


async def test_sensor_starts_off_after_reload(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    entry = await setup_entry(hass, make_entry(rules=[rule_subentry("Patio", subentry_id="r")]))
    entity_id = rule_sensor_id(hass, entry, "r")
    fire_event(hass)
    await hass.async_block_till_done()
    assert attrs(hass, entity_id)["state"] == STATE_ON
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert attrs(hass, entity_id)["state"] == STATE_OFF
    assert attrs(hass, entity_id)["reason"] == "no_detections"


async def test_alarm_gate_follows_the_panel_state(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    hass.states.async_set("alarm_control_panel.house", "disarmed")
    entry = await setup_entry(
        hass,
        make_entry(
            rules=[
                rule_subentry(
                    "Armed patio",
                    subentry_id="r",
                    alarm_entity="alarm_control_panel.house",
                    alarm_states=["armed_away"],
                )
            ]
        ),
    )
    entity_id = rule_sensor_id(hass, entry, "r")
    fire_event(hass)
    await hass.async_block_till_done()
    assert attrs(hass, entity_id)["reason"] == "alarm_state"
    hass.states.async_set("alarm_control_panel.house", "armed_away")
    await hass.async_block_till_done()
    assert attrs(hass, entity_id)["state"] == STATE_ON
    hass.states.async_set("alarm_control_panel.house", "disarmed")
    await hass.async_block_till_done()
    assert attrs(hass, entity_id)["state"] == STATE_OFF
