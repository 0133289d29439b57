"""Never deaf, never blind, end to end (DESIGN 4.10, 4.11): real hass, real Mosquitto.

The broker is stopped under a running hass; a fake Frigate HTTP API (in this process,
on loopback) reports a person, and the rule turns on and alerts once through the REST
fallback. When the broker is back, the path returns to MQTT and nothing alerts twice.
A camera whose detection goes offline makes a fail-safe rule on it turn on.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import paho.mqtt.publish as mqtt_publish
import pytest

from scripts.devstack import HassClient
from tests.e2e.conftest import E2EStack
from tests.fake_frigate_fixtures import ThreadedFakeFrigate
from tests.fake_frigate_fixtures import fake_frigate_thread as _fake_frigate_thread

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("socket_enabled")]

# The fixture is found by the name this module holds; keep it from looking unused.
FIXTURES = (_fake_frigate_thread,)
fake_frigate_thread = _fake_frigate_thread

PREFIX = "e2e_never_deaf"
RULE = "E2E deaf-proof backyard"
SAFE_RULE = "E2E fail-safe porch"


async def make_rule(client: HassClient, entry_id: str, name: str, **fields: Any) -> str:
    await client.create_subentry(entry_id, "rule", [{"name": name, **fields}])
    async with client.websocket() as ws:
        listed = await ws.command("config_entries/subentries/list", entry_id=entry_id)
    return next(str(item["subentry_id"]) for item in listed if item["title"] == name)


async def diagnostics(client: HassClient, entry_id: str) -> dict[str, Any]:
    result = await client.rest_get(f"/api/diagnostics/config_entry/{entry_id}")
    return dict(result["data"])


async def state_of(client: HassClient, unique_id: str, entry_id: str) -> str:
    return (await client.wait_for_entities(entry_id, [unique_id]))[unique_id]


async def test_broker_down_the_api_carries_the_rule_and_it_comes_back_to_mqtt(
    e2e_stack: E2EStack,
    hass_api: HassClient,
    fake_frigate_thread: ThreadedFakeFrigate,
) -> None:
    frigate = fake_frigate_thread.frigate
    entry_id = await hass_api.create_frigate_rules_entry(
        prefix=PREFIX, frigate_url=fake_frigate_thread.url
    )
    rule_id = await make_rule(
        hass_api,
        entry_id,
        RULE,
        cameras=["backyard"],
        within_seconds=10,
        min_confidence_pct=80,
        cooldown_seconds=0,
    )
    sensor = await state_of(hass_api, f"{entry_id}_{rule_id}", entry_id)
    path_sensor = await state_of(hass_api, f"{entry_id}_ingest_path", entry_id)
    assert (await hass_api.get_state(path_sensor))["state"] == "mqtt"  # type: ignore[index]

    async with hass_api.websocket() as ws:
        alerts = await ws.subscribe_events("frigate_rules_alert")
        broker = e2e_stack.broker
        await asyncio.get_running_loop().run_in_executor(None, broker.stop)
        try:
            await hass_api.wait_for_state(path_sensor, lambda s: s["state"] == "rest", 30)
            appeared = time.monotonic()
            frigate.add_event("backyard", score=0.93, zones=["yard"])
            alert = await ws.wait_for_event(
                alerts, lambda e: e["data"]["rule_id"] == rule_id, timeout=30
            )
            took = time.monotonic() - appeared
            print(f"\nREST-only: person appeared -> alert in {took:.2f} s (poll every 5 s)")
            assert took < 5 + 5 + 1, "within one poll interval and one request"
            assert alert["data"]["camera"] == "backyard"
            assert alert["data"]["confidence_pct"] == 93.0
            on = await hass_api.wait_for_state(sensor, lambda s: s["state"] == "on")
            assert on["attributes"]["reason"] == "matched"
            available = await state_of(hass_api, f"{entry_id}_availability", entry_id)
            assert (await hass_api.get_state(available))["state"] == "on"  # type: ignore[index]
        finally:
            await asyncio.get_running_loop().run_in_executor(None, broker.start)
        # HA's MQTT client reconnects on its own (every 10 s): back to MQTT, and one
        # catch-up request. The person is still tracked: no second alert from either.
        await hass_api.wait_for_state(path_sensor, lambda s: s["state"] == "mqtt", 60)
        deadline = time.monotonic() + 30
        while (await diagnostics(hass_api, entry_id))["rest_fallback"]["catch_ups"] < 1:
            assert time.monotonic() < deadline, "no catch-up after MQTT came back"
            await asyncio.sleep(0.1)
        await ws.command("ping")  # every event sent before it has arrived after it
        ours = [e for e in ws.events[alerts] if e["data"]["rule_id"] == rule_id]
        assert len(ours) == 1, ours
        diag = await diagnostics(hass_api, entry_id)
        assert diag["rest_fallback"]["polling"] is False
        assert diag["availability"]["ingest_path"] == "mqtt"


async def test_a_camera_going_offline_turns_a_fail_safe_rule_on(
    e2e_stack: E2EStack, hass_api: HassClient
) -> None:
    entry_id = await hass_api.create_frigate_rules_entry(prefix=f"{PREFIX}_cam")
    rule_id = await make_rule(
        hass_api, entry_id, SAFE_RULE, cameras=["porch"], on_unavailable="treat_as_match"
    )
    sensor = await state_of(hass_api, f"{entry_id}_{rule_id}", entry_id)
    off = await hass_api.wait_for_state(sensor, lambda s: s["state"] == "off")
    assert off["attributes"]["reason"] == "no_detections"
    broker = e2e_stack.broker

    def publish(payload: str) -> None:
        mqtt_publish.single(
            f"{PREFIX}_cam/porch/status/detect",
            payload,
            hostname=broker.host,
            port=broker.port,
        )

    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, publish, "offline")
    on = await hass_api.wait_for_state(sensor, lambda s: s["state"] == "on")
    assert on["attributes"]["reason"] == "camera_unavailable"
    assert on["attributes"]["unavailable_cameras"] == ["porch"]
    await loop.run_in_executor(None, publish, "online")
    back = await hass_api.wait_for_state(sensor, lambda s: s["state"] == "off")
    assert back["attributes"]["unavailable_cameras"] == []
