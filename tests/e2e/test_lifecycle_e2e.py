"""A user's whole configuration life cycle on a real hass, with HA's deprecation reports read.

HA logs "Detected that custom integration 'frigate_rules' ..." for every call it is
about to remove (DESIGN 2); the test walks through everything a user does with the
integration in the UI's REST calls and fails on any such line, on every HA version the
e2e tests run on.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from scripts.devstack import HassClient
from tests.e2e.conftest import E2EStack

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("socket_enabled")]

PREFIX = "e2e_lifecycle"
RULE = {"name": "Lifecycle person", "cameras": ["backyard"], "within_seconds": 10}


async def entry_state(client: HassClient, entry_id: str) -> str:
    """The entry's state as the integrations page shows it."""
    entries = await client.config_entries("frigate_rules")
    states = [entry["state"] for entry in entries if entry["entry_id"] == entry_id]
    assert states, f"entry {entry_id} is gone"
    return str(states[0])


async def rule_ids(client: HassClient, entry_id: str) -> dict[str, str]:
    """`{title: subentry id}` of the entry's rules."""
    async with client.websocket() as ws:
        listed: list[dict[str, Any]] = await ws.command(
            "config_entries/subentries/list", entry_id=entry_id
        )
    return {item["title"]: item["subentry_id"] for item in listed}


async def wait_loaded(client: HassClient, entry_id: str, timeout: float = 30.0) -> None:  # noqa: ASYNC109
    """Until a reload (scheduled by the update listener) has finished."""
    deadline = time.monotonic() + timeout
    while (state := await entry_state(client, entry_id)) != "loaded":
        assert time.monotonic() < deadline, f"entry {entry_id} still {state}"
        await asyncio.sleep(0.05)


async def test_setup_options_reconfigure_rules_and_unload_report_nothing_deprecated(
    e2e_stack: E2EStack, hass_api: HassClient
) -> None:
    hass = e2e_stack.hass
    mark = hass.log_size()
    entry_id = await hass_api.create_frigate_rules_entry(prefix=PREFIX)
    assert await entry_state(hass_api, entry_id) == "loaded"

    # Options: one page (publishing folded in a section), through the REST options flow.
    result = await hass_api.run_flow(
        "/api/config/config_entries/options/flow",
        {"handler": entry_id},
        [{"retention_seconds": 900, "publish_enabled": True, "base_topic": "e2e_lifecycle"}],
    )
    assert result["type"] == "create_entry", result
    await wait_loaded(hass_api, entry_id)

    # Entry reconfigure: a new Frigate URL; the update listener reloads the entry once.
    result = await hass_api.run_flow(
        "/api/config/config_entries/flow",
        {"handler": "frigate_rules", "entry_id": entry_id},
        [{"topic_prefix": PREFIX, "frigate_url": "http://frigate.local:5000"}],
    )
    assert result.get("reason") == "reconfigure_successful", result
    await wait_loaded(hass_api, entry_id)
    entries = await hass_api.config_entries("frigate_rules")
    assert [e["title"] for e in entries if e["entry_id"] == entry_id] == [f"Frigate ({PREFIX})"]

    # A rule: added, renamed (its device follows), deleted.
    await hass_api.create_subentry(entry_id, "rule", [RULE])
    rule_id = (await rule_ids(hass_api, entry_id))[RULE["name"]]
    unique_id = f"{entry_id}_{rule_id}"
    await hass_api.wait_for_entities(entry_id, [unique_id])
    result = await hass_api.run_flow(
        "/api/config/config_entries/subentries/flow",
        {"handler": [entry_id, "rule"], "subentry_id": rule_id},
        [{**RULE, "name": "Lifecycle renamed"}],
    )
    assert result.get("reason") == "reconfigure_successful", result
    async with hass_api.websocket() as ws:
        devices = await ws.command("config/device_registry/list")
        renamed = [d for d in devices if ["frigate_rules", unique_id] in d["identifiers"]]
        assert [d["name"] for d in renamed] == ["Lifecycle renamed"]
        parent = [d for d in devices if ["frigate_rules", entry_id] in d["identifiers"]]
        assert len(parent) == 1
        assert renamed[0]["via_device_id"] == parent[0]["id"], "a rule hangs under its Frigate"
        # What the automation editor asks for a rule device (device_trigger.py).
        triggers = await ws.command("device_automation/trigger/list", device_id=renamed[0]["id"])
        assert [(t["domain"], t["type"]) for t in triggers if t["domain"] == "frigate_rules"] == [
            ("frigate_rules", "alert")
        ]
        await ws.command("config_entries/subentries/delete", entry_id=entry_id, subentry_id=rule_id)
    assert await rule_ids(hass_api, entry_id) == {}

    # Reload, then unload and remove.
    await hass_api.rest_post(f"/api/config/config_entries/entry/{entry_id}/reload")
    await wait_loaded(hass_api, entry_id)
    await hass_api.rest_delete(f"/api/config/config_entries/entry/{entry_id}")
    assert entry_id not in {e["entry_id"] for e in await hass_api.config_entries("frigate_rules")}

    assert hass.deprecation_reports(since=mark) == []
    assert hass.errors_mentioning("frigate_rules", since=mark) == []
