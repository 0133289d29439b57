"""A new user's path in the browser: set up the integration, add a rule, watch it.

The tests follow the order a person would go in (module order): the config flow in
the UI, a rule through its form, a dashboard from docs/dashboard.yaml, the automation
editor's device trigger. Each one still stands alone: what an earlier step made in
the UI is made over REST when missing, so any test can run by itself.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from playwright.async_api import Page, expect

from custom_components.frigate_rules.entity import rule_unique_id
from scripts.devstack import HassClient, run_replay, save_dashboard
from tests.e2e.conftest import E2EStack, fixture_path

from .conftest import Shots
from .ha_ui import open_integration, pick, settled, submit, type_into

pytestmark = [pytest.mark.ui, pytest.mark.usefixtures("socket_enabled")]

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "dashboard.yaml"
PERSON_BACKYARD = fixture_path("a_person_backyard_v017.jsonl")
PERSON_FRONT_DOOR = fixture_path("d_person_front_door_v012.jsonl")
# What test_add_rule_through_the_form enters, as a person types it.
BACKYARD_RULE: dict[str, Any] = {
    "name": "Backyard person",
    "cameras": ["backyard"],
    "zones": ["patio"],
    "min_confidence_pct": 90,
    # Long enough that the sensor is still on when the page is looked at.
    "within_seconds": 60,
    "cooldown_seconds": 60,
}
FRONT_DOOR_RULE: dict[str, Any] = {
    "name": "Front door person",
    "cameras": ["front_door"],
    "min_confidence_pct": 75,
    "aggregation": "percentile",
    "percentile": 50,
    "within_seconds": 60,
}


async def frigate_entry(client: HassClient) -> str:
    """The entry on prefix `frigate`: the one the first test made in the UI, or a new one."""
    for entry in await client.config_entries("frigate_rules"):
        if entry["title"] == "Frigate":  # the title of prefix `frigate`
            return str(entry["entry_id"])
    return await client.create_frigate_rules_entry(prefix="frigate")


async def rule_entity(client: HassClient, entry_id: str, rule: dict[str, Any]) -> str:
    """The sensor of `rule` (added through the subentry flow if it is not there yet)."""
    async with client.websocket() as ws:
        listed = await ws.command("config_entries/subentries/list", entry_id=entry_id)
    ids = {item["title"]: item["subentry_id"] for item in listed}
    if rule["name"] not in ids:
        await client.create_subentry(entry_id, "rule", [rule])
        return await rule_entity(client, entry_id, rule)
    unique_id = rule_unique_id(entry_id, ids[rule["name"]])
    return (await client.wait_for_entities(entry_id, [unique_id]))[unique_id]


async def test_add_integration_in_the_ui(page: Page, hass_api: HassClient, shot: Shots) -> None:
    for entry in await hass_api.config_entries("frigate_rules"):
        await hass_api.rest_delete(f"/api/config/config_entries/entry/{entry['entry_id']}")
    await page.get_by_role("link", name="Settings").click()
    await page.get_by_role("link", name="Devices & services").click()
    await page.get_by_role("button", name="Add integration").click()
    await page.get_by_placeholder("Search for a brand name").fill("Frigate Rules")
    await page.get_by_text("Frigate Rules", exact=True).last.click()

    prefix = page.get_by_role("textbox", name="Topic prefix")
    await expect(prefix).to_have_value("frigate")
    await page.get_by_role("textbox", name="Frigate URL").fill("http://frigate:5000")
    await shot(page, "config-flow")
    await submit(page)
    await expect(page.get_by_text("Name and assign")).to_be_visible()
    await shot(page, "created")
    await page.get_by_role("button", name="Skip and finish").click()

    (entry,) = await hass_api.config_entries("frigate_rules")
    assert entry["title"] == "Frigate"
    assert entry["state"] == "loaded"
    await open_integration(page, "Frigate Rules")
    await expect(page.get_by_role("button", name="Add Frigate instance")).to_be_visible()
    await expect(page.get_by_role("button", name="Add rule")).to_be_visible()
    await shot(page, "integration-page")


async def test_add_rule_through_the_form(
    page: Page, hass_api: HassClient, ui_stack: E2EStack, shot: Shots
) -> None:
    entry_id = await frigate_entry(hass_api)
    # Frigate has reported the backyard and its zones: the form offers them.
    run_replay([PERSON_BACKYARD], ui_stack.broker.port, speed=0)
    await open_integration(page, "Frigate Rules")
    await page.get_by_role("button", name="Add rule").click()
    await expect(page.get_by_role("button", name="What to look for")).to_be_visible()
    await expect(page.get_by_role("button", name="Advanced")).to_have_attribute(
        "aria-expanded", "false"
    )

    await page.get_by_role("textbox", name="Name").fill(BACKYARD_RULE["name"])
    await pick(page, "Cameras", "backyard", offered_as="backyard")
    await pick(page, "Zones", "patio", offered_as="patio (backyard)")
    await page.get_by_role("spinbutton", name="Minimum confidence").fill("90")
    await page.get_by_role("spinbutton", name="Time window").fill("60")
    # Tall enough to show the whole form, "advanced" still folded (docs/images/).
    await page.set_viewport_size({"width": 900, "height": 1900})
    await page.get_by_role("button", name="What to look for").scroll_into_view_if_needed()
    await shot(page, "rule-form")
    await page.set_viewport_size({"width": 1280, "height": 900})
    await page.get_by_role("button", name="Advanced").click()
    await settled(page)  # unfolded
    cooldown = page.get_by_role("spinbutton", name="Alert cooldown per camera")
    await cooldown.fill("60")
    await cooldown.scroll_into_view_if_needed()
    await shot(page, "rule-form-advanced")
    await submit(page)
    await expect(page.get_by_text("Created configuration for Backyard person.")).to_be_visible()
    await shot(page, "rule-created")
    await page.get_by_role("button", name="Finish").click()

    entity_id = await rule_entity(hass_api, entry_id, BACKYARD_RULE)
    assert entity_id == "binary_sensor.backyard_person"
    async with hass_api.websocket() as ws:
        (subentry,) = [
            item
            for item in await ws.command("config_entries/subentries/list", entry_id=entry_id)
            if item["title"] == BACKYARD_RULE["name"]
        ]
    # The rule's device, under the rule on the integration page, and its sensor.
    await page.get_by_role("button", name=re.compile(r"^Backyard person Rule")).click()
    await expect(page.get_by_text("Rule by Frigate Rules")).to_be_visible()
    await expect(page.get_by_role("link", name="Frigate", exact=True)).to_be_visible()
    # Its sensor is on already: the person Frigate reported is on the patio at 93 %.
    await expect(page.locator("body")).to_match_aria_snapshot(
        '- heading "Sensors"\n- list: Backyard person On'
    )
    await shot(page, "rule-device")
    state = await hass_api.get_state(entity_id)
    assert state is not None
    assert state["state"] == "on"
    assert state["attributes"]["rule_id"] == subentry["subentry_id"]
    assert state["attributes"]["zones"] == ["patio"]


async def test_dashboard_shows_the_rule_turning_on(
    page: Page, hass_api: HassClient, ui_stack: E2EStack, shot: Shots, tmp_path: Path
) -> None:
    entry_id = await frigate_entry(hass_api)
    backyard = await rule_entity(hass_api, entry_id, BACKYARD_RULE)
    front_door = await rule_entity(hass_api, entry_id, FRONT_DOOR_RULE)
    assert (backyard, front_door) == (
        "binary_sensor.backyard_person",
        "binary_sensor.front_door_person",
    ), "the entity ids docs/dashboard.yaml names"
    await hass_api.wait_for_state(front_door, lambda s: s["state"] == "off")
    await save_dashboard(hass_api, "frigate-rules", yaml.safe_load(DASHBOARD.read_text()))

    await page.get_by_role("link", name="Frigate Rules").click()
    await expect(page.get_by_role("heading", name="Rules")).to_be_visible()
    await expect(page.locator("body")).to_match_aria_snapshot(
        '- heading "Rules"\n- text: /Front door person .*? Off Best camera Unknown/'
    )
    # Frigate goes offline: the conditional card says so; back online, it goes away.
    unavailable = page.get_by_role("heading", name="Frigate is unavailable")
    run_replay([_available(tmp_path, "offline")], ui_stack.broker.port, speed=0)
    await expect(unavailable).to_be_visible()
    await shot(page, "frigate-unavailable")
    run_replay([_available(tmp_path, "online")], ui_stack.broker.port, speed=0)
    await expect(unavailable).to_be_hidden()

    run_replay([PERSON_FRONT_DOOR, PERSON_BACKYARD], ui_stack.broker.port, speed=0)
    on = await hass_api.wait_for_state(front_door, lambda s: s["state"] == "on")
    await hass_api.wait_for_state(backyard, lambda s: s["state"] == "on")
    confidence = on["attributes"]["confidence_pct"]
    await expect(page.locator("body")).to_match_aria_snapshot(
        '- heading "Rules"\n'
        f"- text: /Front door person .*? On Best camera front_door Confidence {confidence} %/"
    )
    # The alert, in the logbook card.
    alert = page.get_by_text(re.compile(r"alerted: person on front_door at \d+ %"))
    await expect(alert.first).to_be_visible()
    await settled(page)
    await shot(page, "dashboard")


def _available(where: Path, payload: str) -> Path:
    """A one-line fixture putting `payload` on frigate/available (retained)."""
    path = where / f"available_{payload}.jsonl"
    line = {"topic": "frigate/available", "payload": payload, "retain": True, "delay_ms": 0}
    path.write_text(json.dumps(line) + "\n")
    return path


async def test_automation_editor_offers_the_alert_trigger(
    page: Page, hass_api: HassClient, shot: Shots
) -> None:
    entry_id = await frigate_entry(hass_api)
    await rule_entity(hass_api, entry_id, BACKYARD_RULE)
    await page.get_by_role("link", name="Settings").click()
    await page.get_by_role("link", name="Automations & scenes").click()
    await page.get_by_role("button", name="Create automation").click()
    await page.get_by_text("Create new automation").click()
    await page.get_by_role("button", name="Add trigger").click()
    await page.get_by_role("button", name="By type").click()
    await page.get_by_role("button", name="Device", exact=True).click()
    await page.get_by_role("button", name=re.compile(r"^Device Triggers when")).click()
    await page.get_by_text("Select a device").click()
    await page.get_by_role("dialog", name="Device").get_by_placeholder("Search").fill("Backyard")
    await page.get_by_text("Backyard person", exact=True).click()
    trigger_field = page.get_by_label("Trigger", exact=True)
    await expect(trigger_field).to_contain_text("Backyard person")  # its triggers loaded
    await trigger_field.click()
    await expect(page.get_by_role("dialog", name="Trigger")).to_match_aria_snapshot(
        "- dialog:\n  - listitem: Backyard person alerted"
    )
    await page.get_by_role("dialog", name="Trigger").get_by_text("Backyard person alerted").click()
    await type_into(page.get_by_role("textbox", name="Camera"), "backyard")
    await shot(page, "device-trigger")
    await page.get_by_role("button", name="Save").click()
    await page.get_by_role("textbox", name="Name").fill("Backyard alert")
    await page.get_by_role("button", name="Save").last.click()  # the dialog's, not the page's
    await expect(page).to_have_url(re.compile(r"/config/automation/edit/\d+"))

    # Saved as a device trigger of the rule's device, with the camera filter.
    await hass_api.wait_for_state("automation.backyard_alert", lambda s: s["state"] == "on")
    async with hass_api.websocket() as ws:
        saved = await ws.command("automation/config", entity_id="automation.backyard_alert")
        devices = await ws.command("config/device_registry/list")
    (device,) = [d for d in devices if d["name"] == "Backyard person"]
    (trigger,) = saved["config"]["triggers"]
    assert {k: trigger[k] for k in ("domain", "device_id", "type", "camera")} == {
        "domain": "frigate_rules",
        "device_id": device["id"],
        "type": "alert",
        "camera": "backyard",
    }


async def test_rule_form_in_german(page: Page, hass_api: HassClient, shot: Shots) -> None:
    entry_id = await frigate_entry(hass_api)
    await rule_entity(hass_api, entry_id, BACKYARD_RULE)
    # The language a user picks in their profile, kept by the frontend.
    await page.evaluate("localStorage.setItem('selectedLanguage', JSON.stringify('de'))")
    await page.reload()
    await page.get_by_role("link", name="Einstellungen").click()
    await page.get_by_role("link", name="Geräte & Dienste").click()
    await page.get_by_role("heading", name="Frigate Rules", exact=True).click()
    await expect(page.get_by_role("button", name="Frigate-Instanz hinzufügen")).to_be_visible()
    await page.get_by_role("button", name="Regel hinzufügen").click()
    await expect(page.get_by_text("Eine Regel hinzufügen")).to_be_visible()
    for section in ("Worauf achten", "Alarm", "Erweitert"):
        await expect(page.get_by_role("button", name=section, exact=True)).to_be_visible()
    await expect(page.get_by_role("spinbutton", name="Mindestkonfidenz")).to_have_value("80")
    await expect(page.get_by_role("button", name="Kameras", exact=True)).to_be_visible()
    await shot(page, "rule-form-de")
