"""Logbook lines for alerts: "Backyard person alerted: person on backyard (patio) at 93 %"."""

from __future__ import annotations

from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.logbook.models import async_event_to_row
from homeassistant.components.logbook.processor import EventProcessor
from homeassistant.core import Event, HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import (
    MockModule,
    async_capture_events,
    mock_integration,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.frigate_rules.const import DOMAIN, EVENT_ALERT
from custom_components.frigate_rules.logbook import describe_alert

from .conftest import make_entry, rule_sensor_id, rule_subentry, setup_entry
from .test_alerts import START, frigate_available, sighting

CAMERA_ALERT: dict[str, Any] = {
    "rule_name": "Backyard person",
    "entity_id": "binary_sensor.backyard_person",
    "camera": "backyard",
    "zones": ["patio"],
    "label": "person",
    "sub_label": None,
    "confidence_pct": 93.4,
    "reason": "matched",
}


def test_camera_alert_with_zones() -> None:
    assert describe_alert(CAMERA_ALERT) == "alerted: person on backyard (patio) at 93 %"


def test_several_zones_and_rounding() -> None:
    data = CAMERA_ALERT | {"zones": ["patio", "lawn"], "confidence_pct": 92.6}
    assert describe_alert(data) == "alerted: person on backyard (patio, lawn) at 93 %"


def test_sub_label_names_who_was_seen() -> None:
    data = CAMERA_ALERT | {"sub_label": "Bob"}
    assert describe_alert(data) == "alerted: person (Bob) on backyard (patio) at 93 %"


def test_without_zones() -> None:
    data = CAMERA_ALERT | {"zones": [], "label": "car", "confidence_pct": 81.0}
    assert describe_alert(data) == "alerted: car on backyard at 81 %"


def test_without_confidence() -> None:
    data = CAMERA_ALERT | {"confidence_pct": None}
    assert describe_alert(data) == "alerted: person on backyard (patio)"


def test_unavailability_alert() -> None:
    data = CAMERA_ALERT | {
        "camera": None,
        "zones": [],
        "label": None,
        "confidence_pct": None,
        "reason": "frigate_unavailable",
    }
    assert describe_alert(data) == "alerted: Frigate is unavailable (fail-safe)"


async def setup_logbook(hass: HomeAssistant) -> None:
    """The real logbook; stand-ins for its frontend panel and its database.

    Live logbook entries (what `humanify` turns events into) never touch the
    database, and the recorder fixture cannot be used here: it must be set up
    before `hass`, which the autouse fixtures of conftest request first.
    """
    mock_integration(hass, MockModule("frontend"))
    mock_integration(hass, MockModule("recorder"))
    assert await async_setup_component(hass, "logbook", {})
    await hass.async_block_till_done()


def humanify(hass: HomeAssistant, events: list[Event]) -> list[dict[str, Any]]:
    """What the logbook's live stream shows for these events."""
    processor = EventProcessor(hass, (EVENT_ALERT,))
    return processor.humanify([async_event_to_row(event) for event in events])


async def test_logbook_shows_real_alerts(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    freezer: FrozenDateTimeFactory,
) -> None:
    freezer.move_to(START)
    await setup_logbook(hass)
    entry = await setup_entry(
        hass,
        make_entry(
            rules=[
                rule_subentry(
                    "Backyard person",
                    subentry_id="r",
                    zones=["patio"],
                    on_unavailable="treat_as_match",
                )
            ]
        ),
    )
    entity_id = rule_sensor_id(hass, entry, "r")
    events = async_capture_events(hass, EVENT_ALERT)
    await sighting(hass, score=0.934, sub_label="Bob")
    await frigate_available(hass, "offline")
    assert len(events) == 2

    entries = humanify(hass, events)
    assert [
        (item["name"], item["message"], item["entity_id"], item["domain"]) for item in entries
    ] == [
        (
            "Backyard person",
            "alerted: person (Bob) on backyard (patio) at 93 %",
            entity_id,
            DOMAIN,
        ),
        ("Backyard person", "alerted: Frigate is unavailable (fail-safe)", entity_id, DOMAIN),
    ]
    assert all(item["when"] for item in entries)


async def test_logbook_without_entity_id(hass: HomeAssistant) -> None:
    """An alert whose sensor is gone (e.g. from the recorder's history) still reads well."""
    await setup_logbook(hass)
    assert await async_setup_component(hass, DOMAIN, {})
    event = Event(EVENT_ALERT, CAMERA_ALERT | {"entity_id": None, "rule_name": None})
    [item] = humanify(hass, [event])
    assert item["name"] == "Frigate rule"
    assert item["message"] == "alerted: person on backyard (patio) at 93 %"
    assert "entity_id" not in item
