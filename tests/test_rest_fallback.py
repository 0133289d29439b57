"""Never deaf (DESIGN 4.10): Frigate's HTTP API while MQTT is down or silent, and catch-up.

HA's MQTT is mocked (`mqtt_mock`, its link dropped with the dispatcher signal HA's client
sends); Frigate's API is a real HTTP server on loopback (tests/fake_frigate.py) that the
integration reaches with HA's own aiohttp session. Poll timers are HA timers, moved by
`freezer`.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.mqtt.const import MQTT_CONNECTION_STATE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.dispatcher import async_dispatcher_send
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_mqtt_message,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.frigate_rules.const import DOMAIN, EVENT_ALERT
from tests.fake_frigate_fixtures import FakeFrigateServer

from .conftest import ENTRY_ID, advance, make_entry, rule_sensor_id, rule_subentry

POLL = 2.0
START = "2026-12-01 10:00:00+00:00"


def rule(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {"within_seconds": 10, "min_confidence_pct": 80, "cooldown_seconds": 0}
    return rule_subentry("Backyard person", subentry_id="r", **(fields | overrides))


async def entry_on(hass: HomeAssistant, server: FakeFrigateServer, **data: Any) -> MockConfigEntry:
    entry = make_entry(
        frigate_url=server.url,
        options={"fallback_poll_seconds": POLL, "availability_grace_seconds": 60},
        rules=[rule()],
    )
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(entry, data={**entry.data, **data})
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def settle(hass: HomeAssistant) -> None:
    """Let polls (background tasks on a real socket) finish."""
    await hass.async_block_till_done(wait_background_tasks=True)


async def mqtt_link(hass: HomeAssistant, up: bool) -> None:
    async_dispatcher_send(hass, MQTT_CONNECTION_STATE, up)
    await settle(hass)


def ingest_path(hass: HomeAssistant) -> str:
    entity_id = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"{ENTRY_ID}_ingest_path")
    assert entity_id is not None
    state = hass.states.get(entity_id)
    assert state is not None
    return state.state


def api_calls(server: FakeFrigateServer, path: str = "/api/events") -> list[dict[str, str]]:
    return [r.query for r in server.frigate.requests if r.path == path]


async def test_mqtt_down_frigate_api_keeps_a_person_rule_on_and_alerts_once(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    fake_frigate: FakeFrigateServer,
    freezer: FrozenDateTimeFactory,
) -> None:
    freezer.move_to(START)
    entry = await entry_on(hass, fake_frigate)
    entity_id = rule_sensor_id(hass, entry, "r")
    alerts = async_capture_events(hass, EVENT_ALERT)
    assert api_calls(fake_frigate) == [], "no polling while MQTT is heard"
    assert ingest_path(hass) == "mqtt"

    await mqtt_link(hass, False)
    assert ingest_path(hass) == "rest", "the first poll answered"
    assert hass.states.get("binary_sensor.frigate_availability").state == "on"  # type: ignore[union-attr]
    assert hass.states.get(entity_id).state == "off"  # type: ignore[union-attr]

    fake_frigate.frigate.add_event("backyard", score=0.93, zones=["yard"])
    await advance(hass, freezer, POLL + 0.01)
    await settle(hass)
    state = hass.states.get(entity_id)
    assert state is not None
    assert (state.state, state.attributes["reason"]) == ("on", "matched")
    assert state.attributes["confidence_pct"] == 93.0
    assert len(alerts) == 1
    assert alerts[0].data["camera"] == "backyard"

    # Frigate still tracks the person: every poll is a fresh sighting, long after the
    # 10 s window of the first one, and nothing alerts twice.
    for _ in range(8):
        await advance(hass, freezer, POLL + 0.01)
        await settle(hass)
        assert hass.states.get(entity_id).state == "on"  # type: ignore[union-attr]
    assert len(alerts) == 1
    in_progress = [q for q in api_calls(fake_frigate) if q.get("in_progress") == "1"]
    assert len(in_progress) == 10


async def test_back_on_mqtt_stops_polling_and_catches_up_once(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    fake_frigate: FakeFrigateServer,
    freezer: FrozenDateTimeFactory,
) -> None:
    freezer.move_to(START)
    entry = await entry_on(hass, fake_frigate)
    entity_id = rule_sensor_id(hass, entry, "r")
    alerts = async_capture_events(hass, EVENT_ALERT)
    await mqtt_link(hass, False)
    frigate = fake_frigate.frigate
    person = frigate.add_event("backyard", score=0.91)
    await advance(hass, freezer, POLL + 0.01)
    await settle(hass)
    assert len(alerts) == 1

    # Between the last poll and MQTT's return, the person leaves: the catch-up finds the
    # ended event, which counts once (no second alert: the rule is on already).
    await advance(hass, freezer, 1.0)
    frigate.end_event(person)
    polls_before = len(api_calls(fake_frigate))
    await mqtt_link(hass, True)
    assert ingest_path(hass) == "mqtt"
    catch_up = api_calls(fake_frigate)[polls_before:]
    assert len(catch_up) == 1
    assert "in_progress" not in catch_up[0]
    diag = entry.runtime_data.engine.rest.diagnostics()  # type: ignore[union-attr]
    assert diag["polling"] is False
    assert len(alerts) == 1
    assert hass.states.get(entity_id).state == "on"  # type: ignore[union-attr]

    # Polling stopped: time passes, no request; the window closes on time.
    await advance(hass, freezer, 3 * POLL)
    await settle(hass)
    assert len(api_calls(fake_frigate)) == polls_before + 1
    await advance(hass, freezer, 10)
    assert hass.states.get(entity_id).state == "off"  # type: ignore[union-attr]


async def test_silence_alone_starts_polling(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    fake_frigate: FakeFrigateServer,
    freezer: FrozenDateTimeFactory,
) -> None:
    freezer.move_to(START)
    await entry_on(hass, fake_frigate)
    async_fire_mqtt_message(hass, "frigate/stats", "{}")
    await settle(hass)
    await advance(hass, freezer, 59)
    await settle(hass)
    assert api_calls(fake_frigate) == []
    await advance(hass, freezer, 1.1)  # 60 s grace, no message: MQTT is not heard
    await settle(hass)
    assert ingest_path(hass) == "rest"
    assert len(api_calls(fake_frigate)) == 2  # in progress, and ended since
    async_fire_mqtt_message(hass, "frigate/stats", "{}")  # heard again
    await settle(hass)
    assert ingest_path(hass) == "mqtt"


async def test_both_paths_down_applies_the_unavailability_policy(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    fake_frigate: FakeFrigateServer,
    freezer: FrozenDateTimeFactory,
) -> None:
    freezer.move_to(START)
    entry = await entry_on(hass, fake_frigate)
    entity_id = rule_sensor_id(hass, entry, "r")
    fake_frigate.frigate.fail("error", status=500)
    await mqtt_link(hass, False)
    assert ingest_path(hass) == "none"
    assert hass.states.get("binary_sensor.frigate_availability").state == "off"  # type: ignore[union-attr]
    state = hass.states.get(entity_id)
    assert state is not None
    assert state.attributes["reason"] == "frigate_unavailable"

    # Errors back off: the next try 4 s after the first failure, then 8 s after that.
    def tries() -> int:
        return len(api_calls(fake_frigate))

    assert tries() == 1
    for wait, expected in ((3.9, 1), (0.2, 2), (7.9, 2), (0.2, 3)):
        await advance(hass, freezer, wait)
        await settle(hass)
        assert tries() == expected, (wait, expected)

    fake_frigate.frigate.recover()
    await advance(hass, freezer, 16.01)
    await settle(hass)
    assert ingest_path(hass) == "rest"
    assert hass.states.get("binary_sensor.frigate_availability").state == "on"  # type: ignore[union-attr]


async def test_authenticated_port_logs_in_and_again_after_expiry(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    fake_frigate: FakeFrigateServer,
    freezer: FrozenDateTimeFactory,
) -> None:
    freezer.move_to(START)
    frigate = fake_frigate.frigate
    frigate.auth = True
    await entry_on(
        hass, fake_frigate, frigate_username=frigate.user, frigate_password=frigate.password
    )
    await mqtt_link(hass, False)
    assert ingest_path(hass) == "rest"
    paths = [r.path for r in frigate.requests]
    assert paths[:3] == ["/api/events", "/api/login", "/api/events"]
    assert all(r.authorized for r in frigate.requests if r.status == 200 and r.path != "/api/login")
    frigate.expire_tokens()
    await advance(hass, freezer, POLL + 0.01)
    await settle(hass)
    assert [r.path for r in frigate.requests].count("/api/login") == 2
    assert ingest_path(hass) == "rest"


async def test_wrong_credentials_leave_the_api_path_down(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    fake_frigate: FakeFrigateServer,
    freezer: FrozenDateTimeFactory,
) -> None:
    freezer.move_to(START)
    fake_frigate.frigate.auth = True
    entry = await entry_on(hass, fake_frigate, frigate_username="admin", frigate_password="nope")
    await mqtt_link(hass, False)
    assert ingest_path(hass) == "none"
    rest = entry.runtime_data.engine.rest
    assert rest is not None
    assert "login refused" in (rest.last_error or "")
    assert "nope" not in repr(rest.diagnostics())


@pytest.mark.parametrize("skew", [0.0, 30.0, -12.5])
async def test_ended_events_are_placed_on_home_assistants_clock(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    fake_frigate: FakeFrigateServer,
    freezer: FrozenDateTimeFactory,
    skew: float,
) -> None:
    """Frigate's clock runs `skew` s ahead; MQTT messages before the outage measure it."""
    freezer.move_to(START)
    frigate = fake_frigate.frigate
    frigate.skew = skew
    entry = await entry_on(hass, fake_frigate)
    engine = entry.runtime_data.engine
    for n in range(3):
        payload = {
            "type": "update",
            "before": {},
            "after": {
                "id": f"{frigate.now():.6f}-mqtt0{n}",
                "camera": "porch",
                "label": "cat",
                "score": 0.5,
                "frame_time": frigate.now(),
                "current_zones": [],
                "entered_zones": [],
                "stationary": False,
            },
        }
        async_fire_mqtt_message(hass, "frigate/events", json.dumps(payload))
        await advance(hass, freezer, 0.5)
    assert engine.skew.seconds == pytest.approx(skew, abs=0.01)
    await mqtt_link(hass, False)
    started = frigate.now() - 1
    person = frigate.add_event("backyard", score=0.95, start_time=started)
    frigate.end_event(person, end_time=frigate.now())
    ended_at_frigate = frigate.event(person)["end_time"]
    await advance(hass, freezer, POLL + 0.01)
    await settle(hass)
    got = [o for o in engine.buffer.window("backyard") if o.event_id == person]
    assert len(got) == 1, "an ended event counts once"
    assert got[0].observed_at == pytest.approx(ended_at_frigate - skew, abs=0.01)
    assert got[0].source.value == "rest"
