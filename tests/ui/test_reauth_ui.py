"""Frigate refuses the saved login: the user sees it in the UI and gives the new one.

The entry polls Frigate's API (the fake, with auth on) because its prefix is silent;
the saved password is wrong, so HA starts its reauth flow, which the integrations
dashboard shows as a card to reconfigure.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from playwright.async_api import Page, expect

from scripts.devstack import HassClient
from tests.fake_frigate_fixtures import ThreadedFakeFrigate
from tests.fake_frigate_fixtures import fake_frigate_thread as _fake_frigate_thread

from .conftest import Shots
from .ha_ui import settled, submit

pytestmark = [pytest.mark.ui, pytest.mark.usefixtures("socket_enabled")]

FIXTURES = (_fake_frigate_thread,)
fake_frigate_thread = _fake_frigate_thread
PREFIX = "quiet_reauth"  # nothing publishes here: silent after 1 s, so the API is polled


async def reauth_flows(client: HassClient, entry_id: str) -> list[dict[str, object]]:
    async with client.websocket() as ws:
        flows = await ws.command("config_entries/flow/progress")
    return [
        flow
        for flow in flows
        if flow["context"].get("source") == "reauth" and flow["context"].get("entry_id") == entry_id
    ]


async def test_a_refused_login_is_asked_for_again_in_the_ui(
    page: Page, hass_api: HassClient, fake_frigate_thread: ThreadedFakeFrigate, shot: Shots
) -> None:
    frigate = fake_frigate_thread.frigate
    frigate.auth = True
    entry = await hass_api.create_flow_entry(
        "frigate_rules",
        [
            {
                "topic_prefix": PREFIX,
                "frigate_url": fake_frigate_thread.url,
                "login": {"frigate_username": frigate.user, "frigate_password": "old-password"},
            }
        ],
    )
    entry_id = str(entry["entry_id"])
    try:
        result = await hass_api.run_flow(
            "/api/config/config_entries/options/flow",
            {"handler": entry_id},
            [{"availability_grace_seconds": 1, "fallback_poll_seconds": 2}],
        )
        assert result["type"] == "create_entry", result
        deadline = time.monotonic() + 30
        while not await reauth_flows(hass_api, entry_id):
            assert time.monotonic() < deadline, "no reauth flow after Frigate refused the login"
            await asyncio.sleep(0.2)

        await page.get_by_role("link", name="Settings").click()
        await page.get_by_role("link", name="Devices & services").click()
        # HA lists an entry that needs its login again as a card to reconfigure.
        await expect(page.get_by_text(f"Frigate ({PREFIX})", exact=True)).to_be_visible()
        reconfigure = page.get_by_role("button", name="Reconfigure")
        await expect(reconfigure).to_have_count(1)
        await settled(page)
        await shot(page, "integrations-dashboard")
        await reconfigure.click()
        await expect(page.get_by_text("Log in to Frigate again")).to_be_visible()
        await page.get_by_role("textbox", name="Password").fill(frigate.password)
        await settled(page)
        await shot(page, "reauth-form")
        await submit(page)
        await expect(page.get_by_text("Frigate accepted the new login.")).to_be_visible()
        await shot(page, "reauth-done")

        entries = {e["entry_id"]: e for e in await hass_api.config_entries("frigate_rules")}
        assert entries[entry_id]["state"] == "loaded"
        assert await reauth_flows(hass_api, entry_id) == []
        # The reloaded entry polls with the new login: the API path carries it.
        path_id = f"{entry_id}_ingest_path"
        path_sensor = (await hass_api.wait_for_entities(entry_id, [path_id]))[path_id]
        await hass_api.wait_for_state(path_sensor, lambda s: s["state"] == "rest", 30)
    finally:
        await hass_api.rest_delete(f"/api/config/config_entries/entry/{entry_id}")
