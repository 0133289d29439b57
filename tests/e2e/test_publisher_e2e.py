"""Publisher, end to end: what a downstream MQTT 5 consumer sees from a real hass.

The entry's own publisher connects to HA's MQTT broker (the stack's Mosquitto); its
base topic is set through the REST options flow. A paho MQTT 5 subscriber in the test
records every message under that base, the way
`mosquitto_sub -V mqttv5 -t '<base>/#' -v -F '%t %p (expiry %E)'` would print them.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from custom_components.frigate_rules.core.topics import sanitize_segment
from scripts.devstack import HassClient, run_replay, with_form_defaults
from tests.e2e.conftest import E2EStack, fixture_path
from tests.helpers import Subscriber

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("socket_enabled")]

FIXTURE = fixture_path("a_person_backyard_v017.jsonl")
# A Frigate prefix and an output base of their own: no other e2e test's retained
# messages (and no other entry's publisher) can reach what this module observes.
PREFIX = "e2e_publisher"
BASE = "e2e_pub_out"
EXPIRY = 120
RULE_NAME = "E2E Pub Backyard"
WITHIN = 3
ALERT_SCHEMA = "frigate_rules.alert/1"
DEADLINE = 20.0


def expiry_of(msg: mqtt.MQTTMessage) -> int | None:
    """The message's MQTT 5 MessageExpiryInterval, None without one."""
    props = getattr(msg, "properties", None)
    return getattr(props, "MessageExpiryInterval", None) if props is not None else None


def line(msg: mqtt.MQTTMessage) -> str:
    """One message as `mosquitto_sub -v -F '%t %p (expiry %E)'` prints it."""
    expiry = expiry_of(msg)
    payload = msg.payload.decode(errors="replace")
    return f"{msg.topic} {payload} (expiry {'' if expiry is None else expiry})"


def is_msg(topic: str, payload: bytes | None = None) -> Callable[[mqtt.MQTTMessage], bool]:
    return lambda m: m.topic == topic and (payload is None or m.payload == payload)


@pytest.fixture
async def subscriber(e2e_stack: E2EStack) -> AsyncIterator[Subscriber]:
    """An MQTT 5 subscriber on `<base>/#`, before anything is published there."""
    sub = Subscriber(e2e_stack.broker.host, e2e_stack.broker.port)
    await sub.connect()
    await sub.subscribe(f"{BASE}/#")
    try:
        yield sub
    finally:
        await sub.close()
        print(f"--- {BASE}/# as a live MQTT 5 subscriber saw it ---")
        for msg in sub.seen:
            print(line(msg))


async def retained(e2e_stack: E2EStack) -> dict[str, mqtt.MQTTMessage]:
    """What the broker holds retained under `<base>/#`, as a newly connecting client sees it.

    A marker published after subscribing is the barrier: the broker queues a new
    subscription's retained messages before anything published later.
    """
    sub = Subscriber(e2e_stack.broker.host, e2e_stack.broker.port)
    await sub.connect()
    try:
        await sub.subscribe(f"{BASE}/#")
        marker = f"{BASE}/zz_test_marker"
        sub.client.publish(marker, b"barrier", qos=1)
        await sub.expect(is_msg(marker), within=DEADLINE)
        return {msg.topic: msg for msg in sub.seen if msg.retain}
    finally:
        await sub.close()


async def set_publisher_options(client: HassClient, entry_id: str, **publisher: Any) -> None:
    """The options flow through REST: its one page, the buffer fields at their values.

    Publishing and broker fields go into their (folded) sections, as a user fills them.
    """
    path = "/api/config/config_entries/options/flow"
    first = await client.rest_post(path, {"handler": entry_id, "show_advanced_options": False})
    assert (first["type"], first["step_id"]) == ("form", "init"), first
    values: dict[str, Any] = {
        "publish_enabled": True,
        "base_topic": "frigate_rules",
        "message_expiry_seconds": 300,
        "qos": "1",
        "birth_payload": "online",
        "will_payload": "offline",
        "broker": {},
    }
    values.update(publisher)
    done = await client.rest_post(
        f"{path}/{first['flow_id']}", with_form_defaults(first["data_schema"], values)
    )
    assert done["type"] == "create_entry", done


async def publisher_sensor(client: HassClient, entry_id: str) -> str:
    """The entity id of the entry's publisher state sensor."""
    uid = f"{entry_id}_publisher_state"
    return (await client.wait_for_entities(entry_id, [uid]))[uid]


async def test_status_rule_states_alerts_and_removal_on_the_wire(
    e2e_stack: E2EStack, hass_api: HassClient, subscriber: Subscriber
) -> None:
    status = f"{BASE}/status"
    slug = sanitize_segment(RULE_NAME)
    assert slug == "e2e_pub_backyard"
    state_topic = f"{BASE}/v1/rules/{slug}/state"
    alert_topic = f"{BASE}/v1/rules/{slug}/alert"

    entry_id = await hass_api.create_frigate_rules_entry(prefix=PREFIX)
    await set_publisher_options(hass_api, entry_id, base_topic=BASE, message_expiry_seconds=EXPIRY)
    # Birth on the new base after the reload the options change causes.
    await subscriber.expect(is_msg(status, b"online"))
    publisher = await hass_api.wait_for_state(
        await publisher_sensor(hass_api, entry_id), lambda s: s["state"] == "connected"
    )
    assert str(publisher["attributes"].get("protocol")) == "5"
    held = await retained(e2e_stack)
    assert held[status].payload == b"online", "birth is retained"

    # A rule: its state topic starts OFF, follows the sensor ON, then OFF on its own.
    await hass_api.create_subentry(
        entry_id,
        "rule",
        [
            {
                "name": RULE_NAME,
                "cameras": ["backyard"],
                "zones": ["patio"],
                "within_seconds": WITHIN,
                "min_confidence_pct": 90,
                "aggregation": "max",
            }
        ],
    )
    async with hass_api.websocket() as ws:
        listed = await ws.command("config_entries/subentries/list", entry_id=entry_id)
    rule_id = next(s["subentry_id"] for s in listed if s["title"] == RULE_NAME)
    uid = f"{entry_id}_{rule_id}"
    entity_id = (await hass_api.wait_for_entities(entry_id, [uid]))[uid]
    await subscriber.expect(is_msg(state_topic, b"OFF"))

    run_replay([FIXTURE], e2e_stack.broker.port, speed=0, prefix=PREFIX)
    on = await subscriber.expect(is_msg(state_topic))
    assert on.payload == b"ON", "the first change after OFF is ON"
    sensor_on = await hass_api.wait_for_state(entity_id, lambda s: s["state"] == "on")
    alert = await subscriber.expect(is_msg(alert_topic))
    assert expiry_of(alert) == EXPIRY
    body = json.loads(alert.payload)
    assert body["schema"] == ALERT_SCHEMA
    assert body["rule_id"] == rule_id
    assert body["rule_name"] == RULE_NAME
    assert body["entity_id"] == entity_id
    assert body["camera"] == "backyard"
    assert body["reason"] == "matched"
    assert body["confidence_pct"] >= 90
    assert not alert.retain
    off = await subscriber.expect(is_msg(state_topic), within=WITHIN + DEADLINE)
    assert off.payload == b"OFF", "the next change after ON is OFF"
    sensor_off = await hass_api.wait_for_state(entity_id, lambda s: s["state"] == "off")
    assert sensor_off["last_changed"] > sensor_on["last_changed"]
    held = await retained(e2e_stack)
    assert held[state_topic].payload == b"OFF"
    assert alert_topic not in held, "alerts are never retained"

    # Deleting the rule clears its retained state (an empty retained payload).
    async with hass_api.websocket() as ws:
        await ws.command("config_entries/subentries/delete", entry_id=entry_id, subentry_id=rule_id)
    cleared = await subscriber.expect(is_msg(state_topic))
    assert cleared.payload == b""
    held = await retained(e2e_stack)
    assert state_topic not in held
    assert held[status].payload == b"online", "deleting a rule does not reload the entry"

    # A reload says `offline` before it goes and `online` when it is back.
    await hass_api.rest_post(f"/api/config/config_entries/entry/{entry_id}/reload")
    await subscriber.expect(is_msg(status, b"offline"))
    await subscriber.expect(is_msg(status, b"online"))

    # Removing the entry unloads it: `offline`, retained.
    await hass_api.rest_delete(f"/api/config/config_entries/entry/{entry_id}")
    await subscriber.expect(is_msg(status, b"offline"))
    held = await retained(e2e_stack)
    assert held[status].payload == b"offline"
    assert set(held) == {status}, sorted(held)
