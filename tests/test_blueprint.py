"""The notify_on_alert blueprint, loaded and run by Home Assistant's own blueprint code."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components import automation
from homeassistant.components.automation.helpers import async_get_blueprints
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import STATE_ON
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import (
    async_capture_events,
    async_mock_service,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.frigate_rules.const import EVENT_ALERT

from .conftest import advance, make_entry, rule_sensor_id, rule_subentry, setup_entry
from .test_alerts import START, frigate_available, sighting, state_of

BLUEPRINT = (
    Path(__file__).parent.parent
    / "blueprints"
    / "automation"
    / "frigate_rules"
    / "notify_on_alert.yaml"
)
BLUEPRINT_PATH = "frigate_rules/notify_on_alert.yaml"
FRIGATE_URL = "http://frigate.local:5000"
NOTIFY = "notify.mobile_app_phone"


@pytest.fixture
def config_dir(hass: HomeAssistant, tmp_path: Path) -> Path:
    """A config dir of our own holding the blueprint where a user imports it to."""
    hass.config.config_dir = str(tmp_path)
    target = Path(hass.config.path("blueprints", "automation", "frigate_rules"))
    target.mkdir(parents=True)
    shutil.copy(BLUEPRINT, target / BLUEPRINT.name)
    return tmp_path


async def test_blueprint_loads_with_the_documented_inputs(
    hass: HomeAssistant, config_dir: Path
) -> None:
    blueprint = await async_get_blueprints(hass).async_get_blueprint(BLUEPRINT_PATH)
    assert blueprint.domain == "automation"
    assert blueprint.name == "Frigate Rules - notify on alert"
    assert blueprint.metadata["description"]
    inputs = blueprint.inputs
    assert set(inputs) == {"rule", "notify_target", "only_when", "title", "message"}
    # HA normalizes selectors (domain becomes a list, defaults are filled in).
    rule_selector = inputs["rule"]["selector"]["entity"]
    assert rule_selector["filter"] == [
        {"integration": "frigate_rules", "domain": ["binary_sensor"]}
    ]
    assert rule_selector["multiple"] is False
    assert "text" in inputs["notify_target"]["selector"]
    assert "condition" in inputs["only_when"]["selector"]
    assert inputs["only_when"]["default"] == []
    # Only the rule and the notify action have to be given.
    assert {name for name, spec in inputs.items() if "default" not in spec} == {
        "rule",
        "notify_target",
    }
    assert blueprint.metadata["homeassistant"]["min_version"] == "2025.4.0"


async def setup_rules(hass: HomeAssistant, frigate_url: str | None = FRIGATE_URL) -> ConfigEntry:
    return await setup_entry(
        hass,
        make_entry(
            frigate_url=frigate_url,
            rules=[
                rule_subentry(
                    "Backyard person",
                    subentry_id="r",
                    zones=["patio"],
                    min_confidence_pct=90,
                    on_unavailable="treat_as_match",
                ),
                rule_subentry("Front door", subentry_id="f", cameras=["front_door"]),
            ],
        ),
    )


async def setup_blueprint_automation(
    hass: HomeAssistant, rule_entity_id: str, **inputs: Any
) -> list[ServiceCall]:
    calls = async_mock_service(hass, "notify", "mobile_app_phone")
    assert await async_setup_component(
        hass,
        automation.DOMAIN,
        {
            automation.DOMAIN: {
                "id": "notify_backyard",
                "alias": "Notify backyard",
                "use_blueprint": {
                    "path": BLUEPRINT_PATH,
                    "input": {"rule": rule_entity_id, "notify_target": NOTIFY, **inputs},
                },
            }
        },
    )
    await hass.async_block_till_done()
    # A blueprint that fails validation leaves the automation unavailable.
    assert state_of(hass, "automation.notify_backyard") == STATE_ON
    return calls


async def test_notifies_with_title_message_and_snapshot(
    hass: HomeAssistant,
    config_dir: Path,
    mqtt_mock: MqttMockHAClient,
    freezer: FrozenDateTimeFactory,
) -> None:
    freezer.move_to(START)
    entry = await setup_rules(hass)
    calls = await setup_blueprint_automation(hass, rule_sensor_id(hass, entry, "r"))
    alerts = async_capture_events(hass, EVENT_ALERT)

    # Another rule's alert does not concern this automation.
    await sighting(hass, "front_door", event_id="9.0-front", zones=[])
    await hass.async_block_till_done()
    assert [a.data["rule_id"] for a in alerts] == ["f"]
    assert calls == []

    await sighting(hass, "backyard", score=0.934, event_id="1.5-abc", sub_label=["Bob", 0.9])
    await hass.async_block_till_done()
    assert len(alerts) == 2
    assert [(call.domain, call.service) for call in calls] == [("notify", "mobile_app_phone")]
    assert calls[0].data == {
        "title": "Backyard person",
        "message": "person (Bob) on backyard (patio) at 93 %",
        "data": {"image": f"{FRIGATE_URL}/api/events/1.5-abc/snapshot.jpg"},
    }
    assert calls[0].data["data"]["image"] == alerts[1].data["snapshot_url"]

    # The fail-safe alert of an outage has no camera and no snapshot.
    await frigate_available(hass, "offline")
    await hass.async_block_till_done()
    assert len(calls) == 2
    assert calls[1].data == {
        "title": "Backyard person",
        "message": "Frigate is unavailable, the rule fails safe",
        "data": {},
    }


async def test_without_frigate_url_there_is_no_image(
    hass: HomeAssistant, config_dir: Path, mqtt_mock: MqttMockHAClient
) -> None:
    entry = await setup_rules(hass, frigate_url=None)
    calls = await setup_blueprint_automation(hass, rule_sensor_id(hass, entry, "r"))
    await sighting(hass, "backyard", score=0.91, zones=["patio", "lawn"])
    await hass.async_block_till_done()
    assert [call.data for call in calls] == [
        {
            "title": "Backyard person",
            "message": "person on backyard (patio, lawn) at 91 %",
            "data": {},
        }
    ]


async def test_only_when_condition_and_own_texts(
    hass: HomeAssistant,
    config_dir: Path,
    mqtt_mock: MqttMockHAClient,
    freezer: FrozenDateTimeFactory,
) -> None:
    freezer.move_to(START)
    hass.states.async_set("input_boolean.away", "off")
    entry = await setup_rules(hass)
    calls = await setup_blueprint_automation(
        hass,
        rule_sensor_id(hass, entry, "r"),
        only_when=[{"condition": "state", "entity_id": "input_boolean.away", "state": "on"}],
        title="Intruder: {{ alert.camera }}",
        message="{{ alert.event_id }} {{ alert.action }}",
    )
    await sighting(hass, "backyard", event_id="1.0-first")
    await hass.async_block_till_done()
    assert calls == []

    hass.states.async_set("input_boolean.away", "on")
    await hass.services.async_call(
        "frigate_rules",
        "reset_cooldown",
        {"entity_id": rule_sensor_id(hass, entry, "r")},
        blocking=True,
    )
    await advance(hass, freezer, 10.1)
    await sighting(hass, "backyard", event_id="1.0-second")
    await hass.async_block_till_done()
    assert [call.data for call in calls] == [
        {
            "title": "Intruder: backyard",
            "message": "1.0-second notify",
            "data": {"image": f"{FRIGATE_URL}/api/events/1.0-second/snapshot.jpg"},
        }
    ]


DOCS = Path(__file__).parent.parent / "docs" / "alerts.md"


def documented_automations() -> list[dict[str, Any]]:
    """The YAML automation examples of docs/alerts.md, as written there."""
    blocks = re.findall(r"```yaml\n(.*?)```", DOCS.read_text(), re.DOTALL)
    return [yaml.safe_load(block) for block in blocks]


async def test_documented_examples_work(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(START)
    examples = documented_automations()
    assert [example["alias"] for example in examples] == [
        "Backyard person - notify",
        "Siren on Frigate alarm rules",
    ]
    hass.states.async_set("alarm_control_panel.house", "armed_away")
    panel_calls = async_mock_service(hass, "alarm_control_panel", "alarm_trigger")
    notify_calls = async_mock_service(hass, "notify", "mobile_app_my_phone")
    siren_calls = async_mock_service(hass, "siren", "turn_on")
    await setup_entry(
        hass,
        make_entry(
            frigate_url=FRIGATE_URL,
            rules=[
                rule_subentry("Backyard person", subentry_id="r", zones=["patio"]),
                rule_subentry(
                    "Front intruder",
                    subentry_id="i",
                    cameras=["front_door"],
                    alarm_entity="alarm_control_panel.house",
                    alarm_states=["armed_away"],
                    action="alarm_trigger",
                ),
            ],
        ),
    )
    assert await async_setup_component(hass, automation.DOMAIN, {automation.DOMAIN: examples})
    await hass.async_block_till_done()
    assert state_of(hass, "automation.backyard_person_notify") == STATE_ON
    assert state_of(hass, "automation.siren_on_frigate_alarm_rules") == STATE_ON

    await sighting(hass, "backyard", score=0.926, event_id="1.0-yard")
    await hass.async_block_till_done()
    assert [call.data for call in notify_calls] == [
        {
            "title": "Backyard person",
            "message": "person on backyard at 93 %",
            "data": {"image": f"{FRIGATE_URL}/api/events/1.0-yard/snapshot.jpg"},
        }
    ]
    assert siren_calls == []

    await sighting(hass, "front_door", score=0.9, event_id="2.0-door", zones=[])
    await hass.async_block_till_done()
    assert [call.data["entity_id"] for call in panel_calls] == ["alarm_control_panel.house"]
    assert [call.data["entity_id"] for call in siren_calls] == [["siren.garden"]]
    assert notify_calls[1].data == {
        "title": "ALARM: Front intruder",
        "message": "alarm_control_panel.house triggered: person on front_door",
    }
    assert len(notify_calls) == 2
