"""Who and where, end to end (DESIGN 4.8, 4.9): real hass, real Mosquitto, replays.

Rules and a sequence are made through the REST subentry flows, Frigate 0.17 traffic
comes from scripts/replay at SPEED times real time, and what a user sees is read over
the websocket: state changes and alerts, stamped by hass's own clock. Durations in a
rule are real seconds, so a dwell is chosen against the replay's compressed time.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime
from typing import Any

import pytest

from custom_components.frigate_rules.entity import rule_unique_id
from scripts.devstack import HassClient, run_replay
from tests.e2e.conftest import E2EStack, fixture_path
from tests.helpers import Subscriber

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("socket_enabled")]

SPEED = 4.0
WAIT = 3.0
DWELL = 6.0
# Two cores, three processes: how late hass may act after the moment it should.
LATE = 1.0


def fired(event: dict[str, Any]) -> float:
    return datetime.fromisoformat(event["time_fired"]).timestamp()


async def make(
    client: HassClient, entry_id: str, kind: str, name: str, **fields: Any
) -> tuple[str, str]:
    """A rule or sequence made through its flow: (subentry id, entity id)."""
    await client.create_subentry(entry_id, kind, [{"name": name, **fields}])
    async with client.websocket() as ws:
        listed = await ws.command("config_entries/subentries/list", entry_id=entry_id)
    subentry_id = next(str(item["subentry_id"]) for item in listed if item["title"] == name)
    unique_id = rule_unique_id(entry_id, subentry_id)
    return subentry_id, (await client.wait_for_entities(entry_id, [unique_id]))[unique_id]


async def replay(stack: E2EStack, prefix: str, *names: str) -> None:
    files = [fixture_path(name) for name in names]
    await asyncio.get_running_loop().run_in_executor(
        None,
        lambda: run_replay(files, stack.broker.port, speed=SPEED, prefix=prefix),
    )


async def test_family_never_alerts_a_stranger_does_after_the_wait(
    e2e_stack: E2EStack, hass_api: HassClient
) -> None:
    prefix = "e2e_who"
    entry_id = await hass_api.create_frigate_rules_entry(prefix=prefix)
    rule_id, sensor = await make(
        hass_api,
        entry_id,
        "rule",
        "E2E stranger at the door",
        cameras=["front_door"],
        zones=["porch"],
        sub_label_mode="unknown_only",
        known_sub_labels=["alice"],
        recognition_wait_seconds=WAIT,
        within_seconds=10,
        cooldown_seconds=0,
    )
    async with hass_api.websocket() as ws:
        alerts = await ws.subscribe_events("frigate_rules_alert")
        changes = await ws.subscribe_events("state_changed")

        def reasons() -> list[tuple[float, str, str]]:
            return [
                (fired(e), e["data"]["new_state"]["state"], e["data"]["new_state"]["attributes"])
                for e in ws.events[changes]
                if e["data"]["entity_id"] == sensor and e["data"]["new_state"]
            ]

        await replay(e2e_stack, prefix, "g_known_face_v017.jsonl")
        # Alice was a possible stranger for a moment, then recognized: never on.
        await hass_api.wait_for_state(
            sensor, lambda s: s["attributes"]["reason"] != "awaiting_recognition"
        )
        await ws.command("ping")
        seen = reasons()
        assert "awaiting_recognition" in {attrs["reason"] for _, _, attrs in seen}
        assert {state for _, state, _ in seen} == {"off"}
        assert [e for e in ws.events[alerts] if e["data"]["rule_id"] == rule_id] == []
        trail = " -> ".join(f"{state}/{attrs['reason']}" for _, state, attrs in seen)
        print(f"\nknown face alice: {trail}; alerts: 0")

        mark = len(ws.events[changes])
        await replay(e2e_stack, prefix, "h_unknown_person_v017.jsonl")
        alert = await ws.wait_for_event(
            alerts, lambda e: e["data"]["rule_id"] == rule_id, timeout=30
        )
        waiting = next(
            fired(e)
            for e in ws.events[changes][mark:]
            if e["data"]["entity_id"] == sensor
            and e["data"]["new_state"]["attributes"]["reason"] == "awaiting_recognition"
        )
        took = fired(alert) - waiting
        print(f"\nunknown person: awaiting recognition -> alert in {took:.2f} s (wait {WAIT} s)")
        assert WAIT - 0.25 <= took <= WAIT + LATE
        assert alert["data"]["camera"] == "front_door"
        assert alert["data"]["sub_label"] is None


async def test_someone_lingering_on_the_porch_alerts_after_the_dwell(
    e2e_stack: E2EStack, hass_api: HassClient
) -> None:
    prefix = "e2e_loiter"
    entry_id = await hass_api.create_frigate_rules_entry(prefix=prefix)
    rule_id, _sensor = await make(
        hass_api,
        entry_id,
        "rule",
        "E2E lingering at the door",
        cameras=["front_door"],
        zones=["porch"],
        min_dwell_seconds=DWELL,
        within_seconds=10,
        cooldown_seconds=0,
    )
    # When the person steps on the porch is when Frigate's message passes the broker.
    frigate = Subscriber(e2e_stack.broker.host, e2e_stack.broker.port)
    await frigate.connect()
    await frigate.subscribe(f"{prefix}/events")
    try:
        async with hass_api.websocket() as ws:
            alerts = await ws.subscribe_events("frigate_rules_alert")
            replaying = asyncio.ensure_future(
                replay(e2e_stack, prefix, "j_loiter_front_door_v017.jsonl")
            )
            await frigate.expect(
                lambda m: "porch" in json.loads(m.payload)["after"]["current_zones"], 60
            )
            on_porch = time.time()
            alert = await ws.wait_for_event(
                alerts, lambda e: e["data"]["rule_id"] == rule_id, timeout=30
            )
            await replaying
            await ws.command("ping")
            ours = [e for e in ws.events[alerts] if e["data"]["rule_id"] == rule_id]
    finally:
        await frigate.close()
    after = fired(alert) - on_porch
    print(f"\nloitering: on the porch -> alert after {after:.2f} s (dwell {DWELL} s)")
    assert DWELL - 0.25 <= after <= DWELL + LATE
    assert len(ours) == 1, "one stay, one alert"
    assert alert["data"]["zones"] == ["porch"]


async def test_driveway_then_back_door_alerts_with_the_chain(
    e2e_stack: E2EStack, hass_api: HassClient
) -> None:
    prefix = "e2e_sequence"
    entry_id = await hass_api.create_frigate_rules_entry(prefix=prefix)
    sequence_id, sensor = await make(
        hass_api,
        entry_id,
        "sequence",
        "E2E driveway then back door",
        step_1_cameras=["driveway"],
        step_1_zones=["drive"],
        step_2_cameras=["backdoor"],
        step_2_zones=["steps"],
        within_seconds=10,
        min_confidence_pct=70,
        cooldown_seconds=0,
    )
    async with hass_api.websocket() as ws:
        alerts = await ws.subscribe_events("frigate_rules_alert")
        changes = await ws.subscribe_events("state_changed")
        await replay(e2e_stack, prefix, "l_backdoor_to_driveway_v017.jsonl")
        await ws.command("ping")
        assert [
            e for e in ws.events[alerts] if e["data"]["rule_id"] == sequence_id
        ] == [], "the other direction is no sequence"
        await replay(e2e_stack, prefix, "k_driveway_to_backdoor_v017.jsonl")
        alert = await ws.wait_for_event(
            alerts, lambda e: e["data"]["rule_id"] == sequence_id, timeout=30
        )
        turned_on = await ws.wait_for_event(
            changes,
            lambda e: e["data"]["entity_id"] == sensor and e["data"]["new_state"]["state"] == "on",
        )
    chain = alert["data"]["chain"]
    print(f"\nsequence alert: {json.dumps(alert['data'], default=str)}")
    assert [(link["camera"], link["zones"]) for link in chain] == [
        ("driveway", ["drive"]),
        ("backdoor", ["steps"]),
    ]
    assert chain[0]["observed_at"] < chain[1]["observed_at"]
    assert alert["data"]["camera"] == "backdoor"
    # The sensor said the same while it was on (the window has passed by now).
    assert turned_on["data"]["new_state"]["attributes"]["chain"] == chain
