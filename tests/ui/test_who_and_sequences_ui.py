"""Who and where in the browser: the rule form's "who" panel and the sequence form.

Frigate's replays come first, so the forms offer what it reported: alice, whom it
recognized at the front door, and the driveway and back door cameras with their zones.
"""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from custom_components.frigate_rules.entity import rule_unique_id
from scripts.devstack import HassClient, run_replay
from tests.e2e.conftest import E2EStack, fixture_path

from .conftest import Shots
from .ha_ui import open_integration, pick, settled, submit
from .test_user_path_ui import frigate_entry

pytestmark = [pytest.mark.ui, pytest.mark.usefixtures("socket_enabled")]

KNOWN_FACE = fixture_path("g_known_face_v017.jsonl")
DRIVEWAY_TO_BACKDOOR = fixture_path("k_driveway_to_backdoor_v017.jsonl")
SEQUENCE_NAME = "Driveway then back door"


async def test_who_panel_offers_the_faces_frigate_recognized(
    page: Page, hass_api: HassClient, ui_stack: E2EStack, shot: Shots
) -> None:
    entry_id = await frigate_entry(hass_api)
    run_replay([KNOWN_FACE], ui_stack.broker.port, speed=0)
    await open_integration(page, "Frigate Rules")
    await page.get_by_role("button", name="Add rule").click()
    who = page.get_by_role("button", name="Who and how long")
    await expect(who).to_have_attribute("aria-expanded", "false")
    await page.get_by_role("textbox", name="Name").fill("Stranger at the front door")
    await pick(page, "Cameras", "front_door", offered_as="front_door")
    await who.click()
    await settled(page)
    await page.get_by_text("Recognized objects", exact=True).click()
    await page.get_by_role("menuitem", name="Unknown only").click()
    await pick(page, "Known names", "alice", offered_as="alice")
    wait = page.get_by_role("spinbutton", name="Wait for recognition")
    await wait.fill("3")
    await wait.scroll_into_view_if_needed()
    await shot(page, "who-panel")
    await submit(page)
    await expect(
        page.get_by_text("Created configuration for Stranger at the front door.")
    ).to_be_visible()

    async with hass_api.websocket() as ws:
        listed = await ws.command("config_entries/subentries/list", entry_id=entry_id)
    (rule,) = [item for item in listed if item["title"] == "Stranger at the front door"]
    unique_id = rule_unique_id(entry_id, rule["subentry_id"])
    entity_id = (await hass_api.wait_for_entities(entry_id, [unique_id]))[unique_id]
    # Alice was recognized: she is not a stranger, so the sensor stays off.
    state = await hass_api.get_state(entity_id)
    assert state is not None
    assert state["state"] == "off"
    assert state["attributes"]["reason"] == "no_detections"


async def test_add_a_sequence_through_its_form(
    page: Page, hass_api: HassClient, ui_stack: E2EStack, shot: Shots
) -> None:
    entry_id = await frigate_entry(hass_api)
    run_replay([DRIVEWAY_TO_BACKDOOR], ui_stack.broker.port, speed=0)
    await open_integration(page, "Frigate Rules")
    await page.get_by_role("button", name="Add sequence").click()
    await expect(page.get_by_text("Add a sequence")).to_be_visible()
    await page.get_by_role("textbox", name="Name").fill(SEQUENCE_NAME)
    await pick(page, "Step 1: cameras", "driveway", offered_as="driveway")
    await pick(page, "Step 1: zones", "drive", offered_as="drive (driveway)")
    await pick(page, "Step 2: cameras", "backdoor", offered_as="backdoor")
    await page.set_viewport_size({"width": 900, "height": 1900})
    await shot(page, "sequence-form")
    await page.set_viewport_size({"width": 1280, "height": 900})
    await submit(page)
    await expect(page.get_by_text(f"Created configuration for {SEQUENCE_NAME}.")).to_be_visible()
    await page.get_by_role("button", name="Finish").click()

    # Its device, listed as a sequence, with its sensor on: the replay went driveway
    # then back door a moment ago.
    await page.get_by_role("button", name=re.compile(rf"^{SEQUENCE_NAME} Sequence")).click()
    await expect(page.get_by_text("Sequence by Frigate Rules")).to_be_visible()
    await expect(page.locator("body")).to_match_aria_snapshot(
        f'- heading "Sensors"\n- list: {SEQUENCE_NAME} On'
    )
    await shot(page, "sequence-device")
    async with hass_api.websocket() as ws:
        listed = await ws.command("config_entries/subentries/list", entry_id=entry_id)
    (sequence,) = [item for item in listed if item["title"] == SEQUENCE_NAME]
    unique_id = f"{entry_id}_{sequence['subentry_id']}"
    entity_id = (await hass_api.wait_for_entities(entry_id, [unique_id]))[unique_id]
    state = await hass_api.get_state(entity_id)
    assert state is not None
    assert [link["camera"] for link in state["attributes"]["chain"]] == ["driveway", "backdoor"]
