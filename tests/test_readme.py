"""Every YAML and JSON example in README.md works as the README says it does.

Each fenced example is taken from the README and handed to Home Assistant the way a
user would use it: actions are called, automations set up and fired by a real alert,
the template sensor set up, the logger configuration validated, the alert payload
compared with the event's keys. A block this file does not know fails the test.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from homeassistant.components import logger
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
    async_mock_service,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.frigate_rules.const import DOMAIN, EVENT_ALERT

from .conftest import fixture_lines, make_entry, rule_subentry, setup_entry, wire_payload
from .helpers import EVENT_KEYS
from .test_sequence_rules import sequence

README = (Path(__file__).parent.parent / "README.md").read_text()
BLOCKS = re.findall(r"^```(yaml|json)\n(.*?)^```", README, re.MULTILINE | re.DOTALL)
FRIGATE_URL = "http://frigate:5000"


def examples(kind: str) -> list[Any]:
    """The README's YAML examples of one kind (see `kind_of`), parsed."""
    return [
        yaml.safe_load(text)
        for lang, text in BLOCKS
        if lang == "yaml" and kind_of(yaml.safe_load(text)) == kind
    ]


def kind_of(example: Any) -> str:
    if "triggers" in example:
        return "automation"
    if str(example.get("action", "")).startswith(f"{DOMAIN}."):
        return "action"
    if "template" in example:
        return "template"
    if "logger" in example:
        return "logger"
    return "unknown"


def test_the_readme_has_the_examples_it_promises() -> None:
    kinds = [kind_of(yaml.safe_load(text)) for lang, text in BLOCKS if lang == "yaml"]
    assert "unknown" not in kinds
    assert sorted(kinds) == sorted(["action"] * 4 + ["automation"] * 2 + ["template", "logger"])
    assert [lang for lang, _ in BLOCKS].count("json") == 1


def test_the_alert_payload_example_has_the_published_keys() -> None:
    (text,) = [text for lang, text in BLOCKS if lang == "json"]
    payload = json.loads(text)
    assert set(payload) == EVENT_KEYS | {"schema"}
    assert payload["schema"] == "frigate_rules.alert/1"
    assert payload["snapshot_url"] == f"{FRIGATE_URL}/api/events/{payload['event_id']}/snapshot.jpg"


@pytest.fixture
async def backyard(hass: HomeAssistant, mqtt_mock: MqttMockHAClient) -> MockConfigEntry:
    """The README's rule "Backyard person" (backyard, patio, 90 %), with a Frigate URL."""
    return await setup_entry(
        hass,
        make_entry(
            frigate_url=FRIGATE_URL,
            rules=[
                rule_subentry(
                    "Backyard person", cameras=["backyard"], zones=["patio"], min_confidence_pct=90
                )
            ],
        ),
    )


async def person_on_the_patio(hass: HomeAssistant) -> None:
    for line in fixture_lines("a_person_backyard_v017.jsonl"):
        async_fire_mqtt_message(hass, line["topic"], wire_payload(line))
    await hass.async_block_till_done()


SEQUENCE_SENSOR = "binary_sensor.driveway_then_back_door"


def rule_examples() -> list[Any]:
    return [e for e in examples("action") if e["data"].get("entity_id") != SEQUENCE_SENSOR]


async def test_the_action_examples_run(hass: HomeAssistant, backyard: MockConfigEntry) -> None:
    by_entity, inline, reset = rule_examples()
    domain, service = by_entity["action"].split(".")
    response: Any = await hass.services.async_call(
        domain, service, by_entity["data"], blocking=True, return_response=True
    )
    assert response["matched"] is True
    assert response["camera"] == "backyard"
    domain, service = inline["action"].split(".")
    response = await hass.services.async_call(
        domain, service, inline["data"], blocking=True, return_response=True
    )
    assert response["matched"] is True
    assert response["confidence_pct"] == 84
    domain, service = reset["action"].split(".")
    assert (domain, service) == (DOMAIN, "reset_cooldown")
    await hass.services.async_call(domain, service, reset["data"], blocking=True)


async def test_the_sequence_example_explains_its_chain(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    """The README's sequence, as its table sets it up, asked with the README's call."""
    await setup_entry(
        hass,
        make_entry(
            rules=[
                sequence(
                    "Driveway then back door",
                    "seq",
                    step_1_cameras=["driveway"],
                    step_1_zones=["drive"],
                    step_2_cameras=["backdoor"],
                    step_2_zones=["steps"],
                )
            ]
        ),
    )
    (example,) = [e for e in examples("action") if e["data"].get("entity_id") == SEQUENCE_SENSOR]
    domain, service = example["action"].split(".")
    response: Any = await hass.services.async_call(
        domain, service, example["data"], blocking=True, return_response=True
    )
    assert response["matched"] is True
    assert [link["camera"] for link in response["chain"]] == ["driveway", "backdoor"]
    assert [clause["clause"] for clause in response["trace"]][-2:] == ["step_1", "step_2"]


async def test_the_automation_examples_notify_and_sound_the_siren(
    hass: HomeAssistant, backyard: MockConfigEntry
) -> None:
    notify = async_mock_service(hass, "notify", "mobile_app_my_phone")
    siren = async_mock_service(hass, "siren", "turn_on")
    notify_example, siren_example = examples("automation")
    assert await async_setup_component(
        hass, "automation", {"automation": [notify_example, siren_example]}
    )
    await hass.async_block_till_done()
    for name in ("automation.backyard_person_notify", "automation.siren_on_frigate_alarm_rules"):
        state = hass.states.get(name)
        assert state is not None
        assert state.state == "on", f"{name} did not load"

    # A real alert of the rule: the notification carries the snapshot.
    await person_on_the_patio(hass)
    assert len(notify) == 1
    data = notify[0].data
    assert data["title"] == "Backyard person"
    assert re.fullmatch(r"person on backyard at 9\d %", data["message"])
    assert data["data"]["image"].startswith(f"{FRIGATE_URL}/api/events/")
    assert siren == [], "a notify rule does not sound the siren"

    # An alarm_trigger rule's alert sounds the siren; the outage alert says so.
    hass.bus.async_fire(
        EVENT_ALERT,
        {
            "rule_name": "Intruder",
            "action": "alarm_trigger",
            "camera": None,
            "label": None,
            "alarm_entity": "alarm_control_panel.house",
        },
    )
    await hass.async_block_till_done()
    assert [call.data["entity_id"] for call in siren] == [["siren.garden"]]
    assert notify[-1].data["title"] == "ALARM: Intruder"
    assert notify[-1].data["message"] == (
        "alarm_control_panel.house triggered: Frigate is unavailable"
    )


async def test_the_alarmo_template_sensor_follows_the_rule(
    hass: HomeAssistant, backyard: MockConfigEntry
) -> None:
    (example,) = examples("template")
    assert await async_setup_component(hass, "template", example)
    await hass.async_block_till_done()
    sensor = "binary_sensor.backyard_intruder"
    state = hass.states.get(sensor)
    assert state is not None
    assert (state.state, state.attributes["device_class"]) == ("off", "motion")
    await person_on_the_patio(hass)
    state = hass.states.get(sensor)
    assert state is not None
    assert state.state == "on"


def test_the_logger_example_is_valid() -> None:
    (example,) = examples("logger")
    config = logger.CONFIG_SCHEMA(example)
    assert config["logger"]["logs"] == {"custom_components.frigate_rules": logging.DEBUG}
