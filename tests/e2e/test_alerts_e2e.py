"""Alerts, end to end: a replay makes an armed rule alert and trigger a real alarm panel.

The `manual` alarm panel `alarm_control_panel.house` comes from the configuration.yaml
the harness writes (arming and delay time 0). It is armed through REST, the rule is
made through the REST subentry flow, the `frigate_rules_alert` event is received on a
websocket subscription, and the panel's state is read through REST.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from scripts.devstack import HassClient, run_replay
from tests.e2e.conftest import E2EStack, fixture_path
from tests.helpers import EVENT_KEYS as ALERT_KEYS  # DESIGN 4.5, exactly

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("socket_enabled")]

FIXTURE = fixture_path("a_person_backyard_v017.jsonl")
# A prefix of its own, so retained messages of other e2e tests cannot reach this entry.
PREFIX = "e2e_alerts"
FRIGATE_URL = "http://frigate.invalid:5000"
PANEL = "alarm_control_panel.house"
ANY_CODE = "0000"
CAMERA = "backyard"
ZONE = "patio"
THRESHOLD = 90
WITHIN = 5
RULE_NAME = "E2E alarm backyard"


def first_activation(path: Path) -> dict[str, Any]:
    """The sighting at which a `patio >= 90, max` rule first matches, and the aggregate.

    Messages arrive in file order and each one is evaluated on arrival, so the alert
    carries the running maximum of the patio sightings at the first that reaches 90.
    """
    best = 0.0
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            item = json.loads(line)
            if item["topic"] != "frigate/events" or item["payload"]["type"] == "end":
                continue
            after = item["payload"]["after"]
            if after["camera"] != CAMERA or ZONE not in after["current_zones"]:
                continue
            best = max(best, after["score"] * 100)
            if best >= THRESHOLD:
                return {"after": after, "confidence_pct": round(best, 1)}
    raise AssertionError("the fixture never reaches the threshold in the zone")


async def call_service(client: HassClient, domain: str, service: str, **data: Any) -> None:
    """A service call through REST."""
    await client.rest_post(f"/api/services/{domain}/{service}", data)


async def test_alert_event_and_alarm_trigger_on_a_replay(
    e2e_stack: E2EStack, hass_api: HassClient
) -> None:
    # The panel is shared by the whole e2e session; start from `disarmed` whatever ran before.
    await call_service(hass_api, "alarm_control_panel", "alarm_disarm", entity_id=PANEL)
    await hass_api.wait_for_state(PANEL, lambda s: s["state"] == "disarmed")
    entry_id = await hass_api.create_frigate_rules_entry(prefix=PREFIX, frigate_url=FRIGATE_URL)
    try:
        # The harness's panel has no code but `code_arm_required` at its default (true):
        # any code is accepted, none is refused, as with a keypad.
        await call_service(
            hass_api, "alarm_control_panel", "alarm_arm_away", entity_id=PANEL, code=ANY_CODE
        )
        await hass_api.wait_for_state(PANEL, lambda s: s["state"] == "armed_away")

        await hass_api.create_subentry(
            entry_id,
            "rule",
            [
                {
                    "name": RULE_NAME,
                    "cameras": [CAMERA],
                    "labels": ["person"],
                    "zones": [ZONE],
                    "within_seconds": WITHIN,
                    "min_confidence_pct": THRESHOLD,
                    "aggregation": "max",
                    "alarm_entity": PANEL,
                    "alarm_states": ["armed_away"],
                    "cooldown_seconds": 300,
                    "action": "alarm_trigger",
                }
            ],
        )
        async with hass_api.websocket() as ws:
            listed = await ws.command("config_entries/subentries/list", entry_id=entry_id)
        rule_ids = [s["subentry_id"] for s in listed if s["title"] == RULE_NAME]
        assert len(rule_ids) == 1
        rule_id = rule_ids[0]
        unique_id = f"{entry_id}_{rule_id}"
        entity_id = (await hass_api.wait_for_entities(entry_id, [unique_id]))[unique_id]
        armed = await hass_api.wait_for_state(entity_id, lambda s: True)
        assert armed["state"] == "off"
        assert armed["attributes"]["reason"] == "no_detections", "the alarm gate passes"

        async with hass_api.websocket() as ws:
            subscription = await ws.subscribe_events("frigate_rules_alert")
            sent_from = time.time()
            run_replay([FIXTURE], e2e_stack.broker.port, speed=0, prefix=PREFIX)
            sent_until = time.time()
            event = await ws.wait_for_event(
                subscription, lambda e: e["data"].get("rule_id") == rule_id
            )
            triggered = await hass_api.wait_for_state(PANEL, lambda s: s["state"] == "triggered")
            # The panel left `armed_away`, so the rule's alarm gate now holds it off.
            gated = await hass_api.wait_for_state(
                entity_id, lambda s: s["attributes"]["reason"] == "alarm_state"
            )
            ours = [e for e in ws.events[subscription] if e["data"].get("rule_id") == rule_id]
        print("frigate_rules_alert event:", json.dumps(event, indent=2))

        assert event["event_type"] == "frigate_rules_alert"
        data = event["data"]
        assert set(data) == ALERT_KEYS
        expected = first_activation(FIXTURE)
        event_id = expected["after"]["id"]
        assert {key: data[key] for key in ALERT_KEYS - {"observed_at"}} == {
            "rule_id": rule_id,
            "rule_name": RULE_NAME,
            "entity_id": entity_id,
            "action": "alarm_trigger",
            "camera": CAMERA,
            "zones": expected["after"]["current_zones"],
            "label": "person",
            "event_id": event_id,
            "sub_label": None,
            "confidence_pct": expected["confidence_pct"],
            "aggregation": "max",
            "within_seconds": WITHIN,
            "reason": "matched",
            "alarm_entity": PANEL,
            "alarm_state": "armed_away",
            "thumbnail_url": f"{FRIGATE_URL}/api/events/{event_id}/thumbnail.jpg",
            "snapshot_url": f"{FRIGATE_URL}/api/events/{event_id}/snapshot.jpg",
        }
        observed_at = datetime.fromisoformat(data["observed_at"])
        assert observed_at.utcoffset() == timedelta(0), data["observed_at"]
        # HA's receive time of the detection: during the replay (same machine clock).
        assert sent_from - 0.5 <= observed_at.timestamp() <= sent_until + 0.5

        assert triggered["state"] == "triggered"
        assert gated["state"] == "off"
        assert len(ours) == 1, f"one activation, one alert: {ours}"
    finally:
        await call_service(hass_api, "alarm_control_panel", "alarm_disarm", entity_id=PANEL)
        await hass_api.wait_for_state(PANEL, lambda s: s["state"] == "disarmed")
