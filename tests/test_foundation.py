"""Ingestion, counters, availability and lifecycle of one Frigate entry."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.mqtt.const import MQTT_CONNECTION_STATE
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_OFF, STATE_ON
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.frigate_rules.const import DOMAIN
from custom_components.frigate_rules.core.topics import SUBSCRIBED
from scripts.devstack import count_subscribed

from .conftest import FIXTURES, make_entry, replay, setup_entry, wire_payload

SUBSCRIBED_TOPICS = {f"frigate/{name}" for name in SUBSCRIBED}


def entity_ids(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, str]:
    """Unique id suffix -> entity id for the entry's entities."""
    registry = er.async_get(hass)
    return {
        e.unique_id.removeprefix(f"{entry.entry_id}_"): e.entity_id
        for e in er.async_entries_for_config_entry(registry, entry.entry_id)
    }


def state(hass: HomeAssistant, entity_id: str) -> str:
    current = hass.states.get(entity_id)
    assert current is not None, entity_id
    return current.state


async def flush_stats(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    """Let the coalesced counter write happen."""
    freezer.tick(timedelta(seconds=1.1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()


VALID_EVENT = {
    "type": "new",
    "before": {},
    "after": {
        "id": "1.0-valid1",
        "camera": "porch",
        "label": "person",
        "score": 0.91,
        "top_score": 0.91,
        "current_zones": ["steps"],
        "entered_zones": ["steps"],
        "stationary": False,
        "frame_time": 1.0,
    },
}


async def test_setup_creates_entities(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, entry: MockConfigEntry
) -> None:
    await setup_entry(hass, entry)
    assert entry.state is ConfigEntryState.LOADED
    ids = entity_ids(hass, entry)
    assert set(ids) == {
        "availability",
        "last_observation",
        "messages_received",
        "parse_errors",
        "observations_dropped",
        "ingest_path",
        "publisher_state",
        "publisher_reconnect_attempts",
        "publisher_errors",
    }
    registry = er.async_get(hass)
    for disabled in ("last_observation", "publisher_reconnect_attempts", "publisher_errors"):
        assert registry.async_get(ids[disabled]).disabled_by is er.RegistryEntryDisabler.INTEGRATION  # type: ignore[union-attr]
        assert hass.states.get(ids[disabled]) is None
    assert state(hass, ids["publisher_state"]) == "disabled"
    assert state(hass, ids["ingest_path"]) == "mqtt"
    assert state(hass, ids["availability"]) == STATE_ON
    assert state(hass, ids["messages_received"]) == "0"
    assert state(hass, ids["parse_errors"]) == "0"
    assert registry.async_get(ids["parse_errors"]).entity_category == "diagnostic"  # type: ignore[union-attr]
    subscribed = {call.args[0] for call in mqtt_mock.async_subscribe.call_args_list}
    assert subscribed >= SUBSCRIBED_TOPICS
    assert not any("snapshot" in topic for topic in subscribed)


async def test_replay_counts_messages_and_observations(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    # A user who wants the last observation's time turns its sensor on.
    entry.add_to_hass(hass)
    er.async_get(hass).async_get_or_create(
        "sensor", DOMAIN, f"{entry.entry_id}_last_observation", config_entry=entry
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    ids = entity_ids(hass, entry)
    assert state(hass, ids["last_observation"]) == "unknown"
    await replay(hass, "a_person_backyard_v017.jsonl")
    expected = count_subscribed(FIXTURES / "a_person_backyard_v017.jsonl")
    await flush_stats(hass, freezer)
    assert expected == 21  # 13 on events/reviews/available, 8 camera status lines
    assert state(hass, ids["messages_received"]) == str(expected)
    assert state(hass, ids["parse_errors"]) == "0"
    last = dt_util.parse_datetime(state(hass, ids["last_observation"]))
    assert last is not None
    engine = entry.runtime_data.engine
    assert engine.buffer.size_by_camera() == {"backyard": 12}
    assert engine.buffer.cameras == ["backyard"]
    assert engine.buffer.zones_seen["backyard"] >= {"yard", "patio"}


async def test_garbage_is_counted_and_next_message_works(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    await setup_entry(hass, entry)
    ids = entity_ids(hass, entry)
    garbage: list[str | bytes] = ["", "not json", "[]", "{}", '{"type": "new"}', b"\xff\xfe"]
    for index in range(100):
        async_fire_mqtt_message(hass, "frigate/events", garbage[index % len(garbage)])
    async_fire_mqtt_message(hass, "frigate/events", wire_payload({"payload": VALID_EVENT}))
    async_fire_mqtt_message(hass, "frigate/available", "maybe")
    await flush_stats(hass, freezer)
    assert state(hass, ids["parse_errors"]) == "101"
    assert state(hass, ids["messages_received"]) == "102"
    engine = entry.runtime_data.engine
    assert engine.buffer.size_by_camera() == {"porch": 1}
    assert len(engine.parse_failures) == 20
    assert engine.parse_failures[-1].topic == "frigate/available"


async def test_internal_error_never_escapes_the_callback(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
    freezer: FrozenDateTimeFactory,
) -> None:
    await setup_entry(hass, entry)
    engine = entry.runtime_data.engine
    calls = {"n": 0}
    real_add = engine.buffer.add

    def flaky_add(observation: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("boom")
        real_add(observation)

    monkeypatch.setattr(engine.buffer, "add", flaky_add)
    payload = wire_payload({"payload": VALID_EVENT})
    async_fire_mqtt_message(hass, "frigate/events", payload)
    async_fire_mqtt_message(hass, "frigate/events", payload)
    await hass.async_block_till_done()
    assert engine.parse_errors == 1
    assert engine.parse_failures[-1].reason == "internal_error"
    assert len(engine.buffer) == 1


@pytest.mark.parametrize(
    ("payload", "expected"),
    [("offline", STATE_OFF), ("stopped", STATE_OFF), ("online", STATE_ON)],
)
async def test_available_topic(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    entry: MockConfigEntry,
    payload: str,
    expected: str,
) -> None:
    await setup_entry(hass, entry)
    availability = entity_ids(hass, entry)["availability"]
    async_fire_mqtt_message(hass, "frigate/available", "offline")
    await hass.async_block_till_done()
    assert state(hass, availability) == STATE_OFF
    async_fire_mqtt_message(hass, "frigate/available", payload)
    await hass.async_block_till_done()
    assert state(hass, availability) == expected


async def test_mqtt_disconnect_makes_frigate_unavailable(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await setup_entry(hass, entry)
    availability = entity_ids(hass, entry)["availability"]
    async_dispatcher_send(hass, MQTT_CONNECTION_STATE, False)
    await hass.async_block_till_done()
    assert state(hass, availability) == STATE_OFF
    async_dispatcher_send(hass, MQTT_CONNECTION_STATE, False)
    await hass.async_block_till_done()
    assert caplog.text.count("is unavailable (mqtt_disconnected)") == 1
    async_dispatcher_send(hass, MQTT_CONNECTION_STATE, True)
    await hass.async_block_till_done()
    assert state(hass, availability) == STATE_ON
    assert caplog.text.count("is available again") == 1


async def test_grace_expiry_and_recovery(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    freezer: FrozenDateTimeFactory,
) -> None:
    entry = await setup_entry(hass, make_entry(options={"availability_grace_seconds": 120}))
    availability = entity_ids(hass, entry)["availability"]
    freezer.tick(timedelta(seconds=100))
    async_fire_mqtt_message(hass, "frigate/stats", '{"service": {}}')
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    # 119 s after that message Frigate is still within its grace...
    freezer.tick(timedelta(seconds=119))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert state(hass, availability) == STATE_ON
    # ...and just past it, it is not.
    freezer.tick(timedelta(seconds=1.1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert state(hass, availability) == STATE_OFF
    async_fire_mqtt_message(hass, "frigate/tracked_object_update", "{}")
    await hass.async_block_till_done()
    assert state(hass, availability) == STATE_ON
    # The grace timer is armed again after recovery.
    freezer.tick(timedelta(seconds=121))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert state(hass, availability) == STATE_OFF


async def test_grace_zero_never_times_out(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    freezer: FrozenDateTimeFactory,
) -> None:
    entry = await setup_entry(hass, make_entry(options={"availability_grace_seconds": 0}))
    availability = entity_ids(hass, entry)["availability"]
    freezer.tick(timedelta(hours=5))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert state(hass, availability) == STATE_ON


async def test_unload_removes_subscriptions_and_timers(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    entry: MockConfigEntry,
) -> None:
    await setup_entry(hass, entry)
    engine = entry.runtime_data.engine
    notifier = entry.runtime_data.notifier
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.NOT_LOADED
    async_fire_mqtt_message(hass, "frigate/events", wire_payload({"payload": VALID_EVENT}))
    await hass.async_block_till_done()
    assert engine.messages_received == 0
    assert len(engine._timers) == 0
    assert engine._grace_unsub is None
    assert notifier._stats_unsub is None


async def test_reload_keeps_configuration(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
) -> None:
    entry = await setup_entry(
        hass, make_entry(options={"retention_seconds": 900}, frigate_url="http://frigate:5000")
    )
    before = entity_ids(hass, entry)
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert entry.options == {"retention_seconds": 900, "publish_enabled": False}
    assert entry.data["frigate_url"] == "http://frigate:5000"
    assert entity_ids(hass, entry) == before
    assert entry.runtime_data.engine.buffer.retention_seconds == 900


async def test_options_change_reloads_entry(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    entry: MockConfigEntry,
) -> None:
    await setup_entry(hass, entry)
    first_engine = entry.runtime_data.engine
    hass.config_entries.async_update_entry(
        entry, options={"publish_enabled": False, "max_observations": 2000}
    )
    await hass.async_block_till_done()
    assert entry.runtime_data.engine is not first_engine
    assert entry.runtime_data.engine.buffer.max_observations == 2000


async def test_not_ready_without_mqtt_client(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_RETRY
