"""Diagnostics: redacted configuration, buffer and counters, recent input."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import async_fire_mqtt_message
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.frigate_rules.diagnostics import async_get_config_entry_diagnostics
from scripts.devstack import count_subscribed

from .conftest import FIXTURES, fixture_lines, make_entry, rule_subentry, setup_entry, wire_payload


async def test_diagnostics_content_and_redaction(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    entry = await setup_entry(
        hass,
        make_entry(
            frigate_url="http://admin:secret@frigate:5000",
            options={"broker_password": "hunter2", "retention_seconds": 900},
            rules=[rule_subentry("Patio", subentry_id="patio", zones=["patio"])],
        ),
    )
    for line in fixture_lines("a_person_backyard_v017.jsonl"):
        async_fire_mqtt_message(hass, line["topic"], wire_payload(line))
    for index in range(25):
        async_fire_mqtt_message(hass, "frigate/events", f"garbage {index}")
    await hass.async_block_till_done()

    diag = await async_get_config_entry_diagnostics(hass, entry)

    text = repr(diag)
    assert "hunter2" not in text
    assert "secret" not in text
    assert diag["entry"]["data"]["frigate_url"] == "**REDACTED**"
    assert diag["entry"]["options"]["retention_seconds"] == 900
    subscribed = count_subscribed(FIXTURES / "a_person_backyard_v017.jsonl")
    assert subscribed == 21
    assert diag["counters"]["messages_received"] == subscribed + 25
    assert diag["counters"]["parse_errors"] == 25
    assert diag["buffer"]["size_by_camera"] == {"backyard": 12}
    assert len(diag["parse_failures"]) == 20
    assert diag["parse_failures"][-1]["payload_head"] == "garbage 24"
    assert diag["parse_failures"][-1]["reason"] == "not_json"
    assert len(diag["observations"]) == 12
    assert diag["observations"][-1]["kind"] == "end"
    assert diag["availability"]["available"] is True
    assert diag["availability"]["ingest_path"] == "mqtt"
    assert diag["availability"]["unavailable_cameras"] == []
    assert diag["rest_fallback"]["polling"] is False
    assert diag["publisher"] == {"state": "disabled"}
    patio = diag["rules"]["patio"]
    assert patio["name"] == "Patio"
    assert patio["config"]["zones"] == ["patio"]
    assert patio["evaluation"]["matched"] is True
    assert patio["evaluation"]["camera"] == "backyard"
    assert patio["evaluation"]["reason"] == "matched"
    assert diag["alerts"] == {"fired": 1, "cooldowns": 1}  # the patio rule alerted once
