"""Never blind (DESIGN 4.11): a camera whose detection is down is not silently "no person".

`<prefix>/<camera>/status/detect` (online/offline/disabled, Frigate 0.17+) and
`<prefix>/<camera>/detect/state` (ON/OFF) make a camera unavailable while either says
so; a rule whose cameras are all unavailable follows `on_unavailable` with reason
`camera_unavailable`, one with only some of them evaluates the others.
"""

from __future__ import annotations

from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import (
    async_capture_events,
    async_fire_mqtt_message,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.frigate_rules.const import EVENT_ALERT
from custom_components.frigate_rules.core.availability import MAX_DOWN_CAMERAS

from .conftest import make_entry, replay, rule_sensor_id, rule_subentry, setup_entry

START = "2026-12-01 10:00:00+00:00"


def attributes(hass: HomeAssistant, entity_id: str) -> dict[str, Any]:
    state = hass.states.get(entity_id)
    assert state is not None
    return {**state.attributes, "state": state.state}


def sighting(camera: str, score: float = 0.95) -> str:
    import json

    return json.dumps(
        {
            "type": "new",
            "before": {},
            "after": {
                "id": f"1.0-{camera[:6]}",
                "camera": camera,
                "label": "person",
                "score": score,
                "current_zones": [],
                "entered_zones": [],
                "stationary": False,
            },
        }
    )


async def test_a_fail_safe_rule_turns_on_when_its_camera_goes_dark(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    entry = await setup_entry(
        hass,
        make_entry(
            rules=[
                rule_subentry("Safe", subentry_id="safe", on_unavailable="treat_as_match"),
                rule_subentry("Plain", subentry_id="plain"),
            ]
        ),
    )
    safe, plain = rule_sensor_id(hass, entry, "safe"), rule_sensor_id(hass, entry, "plain")
    alerts = async_capture_events(hass, EVENT_ALERT)
    async_fire_mqtt_message(hass, "frigate/backyard/status/detect", "offline")
    await hass.async_block_till_done()
    got = attributes(hass, safe)
    assert (got["state"], got["reason"], got["unavailable_cameras"]) == (
        "on",
        "camera_unavailable",
        ["backyard"],
    )
    assert attributes(hass, plain)["state"] == "off"
    assert attributes(hass, plain)["reason"] == "camera_unavailable"
    assert [(a.data["rule_id"], a.data["camera"], a.data["reason"]) for a in alerts] == [
        ("safe", None, "camera_unavailable")
    ]
    # Frigate itself is fine: its availability sensor stays on.
    assert hass.states.get("binary_sensor.frigate_availability").state == "on"  # type: ignore[union-attr]

    async_fire_mqtt_message(hass, "frigate/backyard/status/detect", "online")
    await hass.async_block_till_done()
    assert attributes(hass, safe)["reason"] == "no_detections"
    assert attributes(hass, safe)["unavailable_cameras"] == []
    # A second outage alerts again (once per outage).
    async_fire_mqtt_message(hass, "frigate/backyard/status/detect", "disabled")
    await hass.async_block_till_done()
    assert len(alerts) == 2


async def test_detection_turned_off_counts_like_a_dark_camera(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    entry = await setup_entry(
        hass,
        make_entry(rules=[rule_subentry("Safe", subentry_id="s", on_unavailable="treat_as_match")]),
    )
    entity_id = rule_sensor_id(hass, entry, "s")
    async_fire_mqtt_message(hass, "frigate/backyard/detect/state", "OFF")
    await hass.async_block_till_done()
    assert attributes(hass, entity_id)["reason"] == "camera_unavailable"
    # Either signal keeps it unavailable: status online alone does not bring it back.
    async_fire_mqtt_message(hass, "frigate/backyard/status/detect", "online")
    await hass.async_block_till_done()
    assert attributes(hass, entity_id)["reason"] == "camera_unavailable"
    async_fire_mqtt_message(hass, "frigate/backyard/detect/state", "ON")
    await hass.async_block_till_done()
    assert attributes(hass, entity_id)["reason"] == "no_detections"


async def test_with_some_cameras_dark_the_others_are_evaluated(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    entry = await setup_entry(
        hass,
        make_entry(rules=[rule_subentry("Two", subentry_id="two", cameras=["backyard", "porch"])]),
    )
    entity_id = rule_sensor_id(hass, entry, "two")
    async_fire_mqtt_message(hass, "frigate/events", sighting("backyard"))
    await hass.async_block_till_done()
    assert attributes(hass, entity_id)["camera"] == "backyard"
    async_fire_mqtt_message(hass, "frigate/backyard/status/detect", "offline")
    await hass.async_block_till_done()
    # The backyard's sighting no longer counts; the porch is still watched.
    got = attributes(hass, entity_id)
    assert (got["state"], got["reason"], got["unavailable_cameras"]) == (
        "off",
        "no_detections",
        ["backyard"],
    )
    async_fire_mqtt_message(hass, "frigate/events", sighting("porch"))
    await hass.async_block_till_done()
    got = attributes(hass, entity_id)
    assert (got["state"], got["camera"], got["unavailable_cameras"]) == (
        "on",
        "porch",
        ["backyard"],
    )


@pytest.mark.parametrize(
    ("topic", "payload"),
    [
        ("frigate/backyard/status/detect", "maybe"),
        ("frigate/backyard/detect/state", "1"),
        ("frigate/backyard/detect/state", "x" * 100),
    ],
)
async def test_unknown_status_payloads_are_counted_not_applied(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, topic: str, payload: str
) -> None:
    entry = await setup_entry(hass, make_entry(rules=[rule_subentry("R", subentry_id="r")]))
    async_fire_mqtt_message(hass, topic, payload)
    await hass.async_block_till_done()
    engine = entry.runtime_data.engine
    assert engine.parse_errors == 1
    assert engine.parse_failures[-1].reason == "bad_camera_status"
    assert engine.cameras.unavailable == frozenset()


async def test_invented_camera_names_stay_bounded(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    entry = await setup_entry(hass, make_entry())
    for n in range(MAX_DOWN_CAMERAS + 50):
        async_fire_mqtt_message(hass, f"frigate/cam{n}/status/detect", "offline")
    await hass.async_block_till_done()
    cameras = entry.runtime_data.engine.cameras
    assert len(cameras.unavailable) == MAX_DOWN_CAMERAS
    assert cameras.overflow == 50


async def test_the_camera_offline_fixture_on_a_fail_safe_rule(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, freezer: FrozenDateTimeFactory
) -> None:
    """Frigate 0.17's own sequence: stream lost, detection off by hand, camera disabled."""
    freezer.move_to(START)
    entry = await setup_entry(
        hass,
        make_entry(rules=[rule_subentry("Back", subentry_id="b", on_unavailable="treat_as_match")]),
    )
    entity_id = rule_sensor_id(hass, entry, "b")
    timeline: list[tuple[float, str]] = []

    def watch(elapsed: float, line: dict[str, Any]) -> None:
        reason = attributes(hass, entity_id)["reason"]
        if not timeline or timeline[-1][1] != reason:
            timeline.append((round(elapsed, 1), reason))

    await replay(hass, "m_camera_offline_v017.jsonl", freezer, watch)
    reasons = [reason for _, reason in timeline]
    assert reasons == [
        "no_detections",
        "camera_unavailable",  # status/detect offline (stream lost)
        "no_detections",
        "camera_unavailable",  # detect/state OFF
        "no_detections",
        "camera_unavailable",  # disabled
        "no_detections",
    ], timeline
