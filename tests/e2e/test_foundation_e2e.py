"""Foundation, end to end: Frigate traffic through Mosquitto into a real hass.

Everything goes the way a user's setup goes: the entry is made through the REST config
flow, messages come from scripts/replay through the broker and HA's MQTT integration,
and every assertion reads entity states through the REST API.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from scripts.devstack import SUBSCRIBED_SUFFIXES, HassClient, count_subscribed, run_replay
from tests.e2e.conftest import E2EStack, fixture_path

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("socket_enabled")]

FIXTURE = fixture_path("a_person_backyard_v017.jsonl")
# A prefix of its own, so retained messages of other e2e tests cannot reach this entry.
PREFIX = "e2e_foundation"
KEYS = (
    "availability",
    "messages_received",
    "parse_errors",
    "observations_dropped",
    "ingest_path",
    "publisher_state",
)
GARBAGE_COUNT = 100


def garbage_payloads(count: int) -> list[str]:
    """Payloads no Frigate version sends on `events`; each must count as a parse error."""
    shapes = [
        "not json at all",
        '{"type": "new", "after": {',  # truncated
        "[]",
        "42",
        '"a string"',
        "null",
        "true",
        '{"after": {"id": "x", "camera": "backyard"}}',  # no type
        '{"type": "teleported", "after": {}}',  # unknown type
        '{"type": "update", "before": {}}',  # no after
        '{"type": "update", "after": "not an object"}',
        "",
    ]
    return [shapes[i % len(shapes)] + " " * (i // len(shapes)) for i in range(count)]


def valid_event() -> dict[str, Any]:
    """The fixture's first `new` event under a fresh id (a new tracked object)."""
    with FIXTURE.open() as handle:
        lines = [json.loads(line) for line in handle if line.strip()]
    first_new = next(
        line["payload"]
        for line in lines
        if line["topic"] == "frigate/events" and line["payload"]["type"] == "new"
    )
    event: dict[str, Any] = json.loads(json.dumps(first_new))
    for side in ("before", "after"):
        event[side]["id"] = "1718039999.000000-e2e001"
    return event


def write_jsonl(path: Path, topic: str, payloads: list[Any]) -> Path:
    """A replay file publishing `payloads` to `topic` without delays."""
    path.write_text(
        "".join(
            json.dumps({"topic": topic, "payload": p, "retain": False, "delay_ms": 0}) + "\n"
            for p in payloads
        )
    )
    return path


async def last_observation_at(client: HassClient, entry_id: str) -> float:
    """When the entry last took in a detection, from its diagnostics."""
    diagnostics = await client.rest_get(f"/api/diagnostics/config_entry/{entry_id}")
    at = diagnostics["data"]["counters"]["last_observation_at"]
    assert at is not None, "no detection taken in"
    return float(at)


def as_int(state: dict[str, Any]) -> int:
    """A counter sensor's state as an int (fails loudly on unknown/unavailable)."""
    return int(float(state["state"]))


async def test_replay_reaches_sensors_and_garbage_is_counted(
    e2e_stack: E2EStack, hass_api: HassClient, tmp_path: Path
) -> None:
    entry_id = await hass_api.create_frigate_rules_entry(prefix=PREFIX)
    by_uid = await hass_api.wait_for_entities(entry_id, (f"{entry_id}_{key}" for key in KEYS))
    ids = {key: by_uid[f"{entry_id}_{key}"] for key in KEYS}
    assert ids["availability"].startswith("binary_sensor.")
    assert all(ids[key].startswith("sensor.") for key in KEYS if key != "availability")

    messages = await hass_api.wait_for_state(ids["messages_received"], lambda s: True)
    assert as_int(messages) == 0, "nothing was published under this prefix yet"

    run_replay([FIXTURE], e2e_stack.broker.port, speed=0, prefix=PREFIX)
    expected = count_subscribed(FIXTURE)
    assert expected > 0

    messages = await hass_api.wait_for_state(
        ids["messages_received"], lambda s: s["state"].isdigit() and int(s["state"]) >= expected
    )
    assert as_int(messages) == expected
    available = await hass_api.wait_for_state(ids["availability"], lambda s: s["state"] == "on")
    assert available["attributes"].get("device_class") == "connectivity"
    # The last observation's sensor is registered, disabled until a user wants it; the
    # time it would show is in the diagnostics.
    last_observation = f"{entry_id}_last_observation"
    async with hass_api.websocket() as ws:
        registered = await ws.command("config/entity_registry/list")
    (entry,) = [item for item in registered if item["unique_id"] == last_observation]
    assert entry["disabled_by"] == "integration"
    observed_at = await last_observation_at(hass_api, entry_id)
    assert abs(time.time() - observed_at) < 300
    errors_before = as_int(await hass_api.wait_for_state(ids["parse_errors"], lambda s: True))
    assert errors_before == 0, "every line of the fixture is a valid Frigate message"
    dropped = await hass_api.wait_for_state(ids["observations_dropped"], lambda s: True)
    assert as_int(dropped) == 0

    # 100 payloads no parser can use, then one good event, on the events topic.
    garbage = write_jsonl(
        tmp_path / "garbage.jsonl",
        f"{PREFIX}/events",
        [*garbage_payloads(GARBAGE_COUNT), valid_event()],
    )
    run_replay([garbage], e2e_stack.broker.port, speed=0, prefix=PREFIX)

    target = expected + GARBAGE_COUNT + 1
    messages = await hass_api.wait_for_state(
        ids["messages_received"], lambda s: s["state"].isdigit() and int(s["state"]) >= target
    )
    errors = await hass_api.wait_for_state(
        ids["parse_errors"],
        lambda s: s["state"].isdigit() and int(s["state"]) >= errors_before + GARBAGE_COUNT,
    )
    assert as_int(errors) == errors_before + GARBAGE_COUNT
    assert as_int(messages) == target
    # 101 messages, exactly 100 errors: the valid event was parsed, not rejected.
    assert await last_observation_at(hass_api, entry_id) > observed_at
    assert e2e_stack.hass.setup_failures({"frigate_rules", "mqtt"}) == []
    assert e2e_stack.hass.errors_mentioning("frigate_rules") == [], "nothing may escape"


async def test_entry_and_subscriptions_survive_a_hass_restart(
    e2e_stack: E2EStack, hass_api: HassClient, tmp_path: Path
) -> None:
    prefix = "e2e_restart"
    entry_id = await hass_api.create_frigate_rules_entry(prefix=prefix)
    uid = f"{entry_id}_availability"
    before = await hass_api.wait_for_entities(entry_id, [uid])

    mark = await e2e_stack.restart_hass()

    entries = {e["entry_id"]: e for e in await hass_api.config_entries("frigate_rules")}
    assert entries[entry_id]["state"] == "loaded"
    assert await hass_api.wait_for_entities(entry_id, [uid]) == before
    await hass_api.wait_for_subscriptions(
        [f"{prefix}/{suffix}" for suffix in SUBSCRIBED_SUFFIXES], since=mark
    )
    online = write_jsonl(tmp_path / "online.jsonl", f"{prefix}/available", ["online"])
    run_replay([online], e2e_stack.broker.port, speed=0, prefix=prefix)
    await hass_api.wait_for_state(before[uid], lambda s: s["state"] == "on")
    assert e2e_stack.hass.errors_mentioning("frigate_rules") == []
