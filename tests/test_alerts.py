"""Alert events: per-camera cooldowns, the event data, outages, the alarm_trigger action."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_OFF, STATE_ON
from homeassistant.core import Context, Event, HomeAssistant, ServiceCall, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_mqtt_message,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.frigate_rules.const import EVENT_ALERT

from .conftest import (
    advance,
    fixture_lines,
    make_entry,
    replay,
    rule_sensor_id,
    rule_subentry,
    setup_entry,
)
from .helpers import EVENT_KEYS

FRIGATE_URL = "http://frigate.local:5000"
ALARM = "alarm_control_panel.house"
START = datetime(2026, 3, 1, 12, 0, 0, 250000, tzinfo=UTC)


# -- helpers shared by the alert test modules ---------------------------------------


def state_of(hass: HomeAssistant, entity_id: str) -> str:
    current = hass.states.get(entity_id)
    assert current is not None, entity_id
    return current.state


def reason_of(hass: HomeAssistant, entity_id: str) -> str:
    current = hass.states.get(entity_id)
    assert current is not None, entity_id
    return str(current.attributes["reason"])


async def sighting(
    hass: HomeAssistant,
    camera: str = "backyard",
    score: float = 0.95,
    event_id: str | None = None,
    zones: list[str] | None = None,
    **after: Any,
) -> None:
    """One live Frigate `update` event on `frigate/events` (retain=False, as a broker sends it)."""
    zones = ["patio"] if zones is None else zones
    payload = {
        "type": "update",
        "before": {},
        "after": {
            "id": event_id or f"1.0-{camera}",
            "camera": camera,
            "label": "person",
            "score": score,
            "top_score": score,
            "current_zones": zones,
            "entered_zones": zones,
            "stationary": False,
            "frame_time": 1.0,
            **after,
        },
    }
    async_fire_mqtt_message(hass, "frigate/events", json.dumps(payload))
    await hass.async_block_till_done(wait_background_tasks=True)


async def yard_rule(hass: HomeAssistant, **rule: Any) -> tuple[MockConfigEntry, list[Event]]:
    """The rule "Yard" (id `r`, camera backyard) set up, and the alerts it fires from now on."""
    entry = await setup_entry(
        hass, make_entry(rules=[rule_subentry("Yard", subentry_id="r", **rule)])
    )
    return entry, async_capture_events(hass, EVENT_ALERT)


async def frigate_available(hass: HomeAssistant, payload: str) -> None:
    async_fire_mqtt_message(hass, "frigate/available", payload)
    await hass.async_block_till_done(wait_background_tasks=True)


# -- cooldown -----------------------------------------------------------------------


async def test_cooldown_is_per_camera_and_never_holds_the_sensor(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(START)
    entry = await setup_entry(
        hass,
        make_entry(
            rules=[
                rule_subentry(
                    "Yard", subentry_id="r", cameras=["backyard", "front"], cooldown_seconds=60
                )
            ]
        ),
    )
    entity_id = rule_sensor_id(hass, entry, "r")
    events = async_capture_events(hass, EVENT_ALERT)

    await sighting(hass, "backyard")
    assert state_of(hass, entity_id) == STATE_ON
    assert [e.data["camera"] for e in events] == ["backyard"]
    # More sightings while the camera keeps matching are no new activation.
    await sighting(hass, "backyard", score=0.97)
    assert len(events) == 1

    await advance(hass, freezer, 10.1)
    assert state_of(hass, entity_id) == STATE_OFF

    # Same camera, 10.1 s after its alert: the sensor turns on, the alert is held back.
    await sighting(hass, "backyard")
    assert state_of(hass, entity_id) == STATE_ON
    assert len(events) == 1

    # Another camera of the same rule has its own cooldown.
    await sighting(hass, "front")
    assert [e.data["camera"] for e in events] == ["backyard", "front"]

    # 59.9 s after the backyard alert: still inside its cooldown.
    await advance(hass, freezer, 10.1)
    assert state_of(hass, entity_id) == STATE_OFF
    await advance(hass, freezer, 39.7)
    await sighting(hass, "backyard")
    assert state_of(hass, entity_id) == STATE_ON
    assert len(events) == 2

    # Once the cooldown has passed, the next activation alerts again.
    await advance(hass, freezer, 10.1)
    assert state_of(hass, entity_id) == STATE_OFF
    await sighting(hass, "backyard")
    assert [e.data["camera"] for e in events] == ["backyard", "front", "backyard"]
    assert entry.runtime_data.alerts.alerts_fired == 3


async def test_cooldown_zero_alerts_on_every_activation(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(START)
    entry, events = await yard_rule(hass, cooldown_seconds=0)
    entity_id = rule_sensor_id(hass, entry, "r")
    for activation in range(1, 4):
        await sighting(hass, event_id=f"1.{activation}-x")
        await sighting(hass, event_id=f"1.{activation}-x", score=0.96)
        assert state_of(hass, entity_id) == STATE_ON
        assert len(events) == activation
        await advance(hass, freezer, 10.1)
        assert state_of(hass, entity_id) == STATE_OFF
    assert [e.data["event_id"] for e in events] == ["1.1-x", "1.2-x", "1.3-x"]
    # Each alert is a cause of its own (the logbook links what it triggers to it).
    assert len({e.context.id for e in events}) == 3
    assert all(e.context.origin_event is e for e in events)


async def test_an_alert_takes_a_context_made_before_its_message(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No ULID is drawn between the message and the alert: the next one is made after."""
    freezer.move_to(START)
    made: list[Context] = []

    def counted(*args: Any, **kwargs: Any) -> Context:
        made.append(Context(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr("custom_components.frigate_rules.alerts.Context", counted)
    _entry, events = await yard_rule(hass, cooldown_seconds=0)
    made_when_alerted: list[int] = []

    @callback
    def alerted(_event: Event) -> None:
        made_when_alerted.append(len(made))

    hass.bus.async_listen(EVENT_ALERT, alerted)
    for activation in range(1, 3):
        before = len(made)
        await sighting(hass, event_id=f"1.{activation}-x")
        assert made_when_alerted[-1] == before
        assert events[-1].context is made[before - 1]
        assert len(made) == before + 1
        await advance(hass, freezer, 10.1)
    assert len(events) == 2


async def test_below_threshold_is_no_activation(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    _, events = await yard_rule(hass)
    await sighting(hass, score=0.79)
    assert events == []
    await sighting(hass, score=0.80)
    assert len(events) == 1


async def test_cooldown_survives_an_entry_reload(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(START)
    entry, events = await yard_rule(hass, cooldown_seconds=60)
    await sighting(hass)
    assert len(events) == 1

    await advance(hass, freezer, 5)
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    entity_id = rule_sensor_id(hass, entry, "r")
    assert state_of(hass, entity_id) == STATE_OFF  # a reload starts from an empty buffer

    # The camera matches again 5 s after its alert, in a new engine: no alert.
    await sighting(hass)
    assert state_of(hass, entity_id) == STATE_ON
    assert len(events) == 1

    # The kept cooldown still ends on time.
    await advance(hass, freezer, 55.1)
    assert state_of(hass, entity_id) == STATE_OFF
    await sighting(hass)
    assert len(events) == 2


# -- event data ---------------------------------------------------------------------


async def test_event_data_is_the_contract(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(START)
    hass.states.async_set(ALARM, "disarmed")
    entry = await setup_entry(
        hass,
        make_entry(
            frigate_url=FRIGATE_URL,
            rules=[
                rule_subentry(
                    "Backyard person",
                    subentry_id="r",
                    zones=["patio"],
                    min_confidence_pct=90,
                    within_seconds=15,
                    alarm_entity=ALARM,
                    alarm_states=["armed_away", "armed_night"],
                )
            ],
        ),
    )
    events = async_capture_events(hass, EVENT_ALERT)
    await sighting(hass, score=0.85, event_id="1718031234.1-abc")
    assert events == []
    await advance(hass, freezer, 1.5)
    await sighting(
        hass,
        score=0.93,
        event_id="1718031234.1-abc",
        zones=["patio", "lawn"],
        sub_label=["Bob", 0.88],
    )
    # Held off by the alarm gate; arming 2 s later lets the sighting alert.
    assert events == []
    await advance(hass, freezer, 2)
    hass.states.async_set(ALARM, "armed_away")
    await hass.async_block_till_done()
    assert len(events) == 1
    data = events[0].data
    assert set(data) == EVENT_KEYS
    assert data == {
        "rule_id": "r",
        "rule_name": "Backyard person",
        "entity_id": "binary_sensor.backyard_person",
        "action": "notify",
        "camera": "backyard",
        "zones": ["patio", "lawn"],
        "label": "person",
        "event_id": "1718031234.1-abc",
        "sub_label": "Bob",
        "confidence_pct": 93.0,
        "aggregation": "max",
        "within_seconds": 15,
        "reason": "matched",
        "alarm_entity": ALARM,
        "alarm_state": "armed_away",
        "observed_at": "2026-03-01T12:00:01.750000+00:00",
        "thumbnail_url": f"{FRIGATE_URL}/api/events/1718031234.1-abc/thumbnail.jpg",
        "snapshot_url": f"{FRIGATE_URL}/api/events/1718031234.1-abc/snapshot.jpg",
    }
    assert data["entity_id"] == rule_sensor_id(hass, entry, "r")
    observed = datetime.fromisoformat(data["observed_at"])
    assert observed.utcoffset() == timedelta(0)
    # The time of the sighting, not of the alert.
    assert observed == START + timedelta(seconds=1.5)
    # Bus events go to websocket clients and the publisher as JSON.
    assert json.loads(json.dumps(data)) == data


async def test_event_data_without_frigate_url_or_alarm(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(START)
    await setup_entry(
        hass,
        make_entry(
            rules=[
                rule_subentry(
                    "Porch",
                    subentry_id="p",
                    cameras=["porch"],
                    aggregation="latest",
                    min_confidence_pct=70,
                )
            ]
        ),
    )
    events = async_capture_events(hass, EVENT_ALERT)
    await sighting(hass, "porch", score=0.725, event_id="2.0-porch", zones=[])
    assert len(events) == 1
    data = events[0].data
    assert set(data) == EVENT_KEYS
    assert data["camera"] == "porch"
    assert data["zones"] == []
    assert data["sub_label"] is None
    assert data["confidence_pct"] == 72.5
    assert data["aggregation"] == "latest"
    assert data["within_seconds"] == 10
    assert data["alarm_entity"] is None
    assert data["alarm_state"] is None
    assert data["thumbnail_url"] is None
    assert data["snapshot_url"] is None
    assert data["observed_at"] == START.isoformat()


async def test_event_names_the_sensor_by_its_entity_id_now(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, freezer: FrozenDateTimeFactory
) -> None:
    """A user who renames the rule's sensor sees the new entity id in the next alert."""
    freezer.move_to(START)
    entry, events = await yard_rule(hass, cooldown_seconds=0)
    await sighting(hass, event_id="1.1-x")
    await advance(hass, freezer, 10.1)
    er.async_get(hass).async_update_entity(
        rule_sensor_id(hass, entry, "r"), new_entity_id="binary_sensor.garden_intruder"
    )
    await hass.async_block_till_done()
    await sighting(hass, event_id="1.2-x")
    assert [e.data["entity_id"] for e in events] == [
        "binary_sensor.yard",
        "binary_sensor.garden_intruder",
    ]


# -- unavailability -----------------------------------------------------------------


async def test_unavailability_alerts_once_per_outage(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(START)
    entry = await setup_entry(
        hass,
        make_entry(
            frigate_url=FRIGATE_URL,
            rules=[
                rule_subentry(
                    "Front door",
                    subentry_id="fd",
                    cameras=["front_door"],
                    on_unavailable="treat_as_match",
                    cooldown_seconds=0,
                ),
                rule_subentry("Ordinary", subentry_id="o", cameras=["front_door"]),
            ],
        ),
    )
    entity_id = rule_sensor_id(hass, entry, "fd")
    events = async_capture_events(hass, EVENT_ALERT)

    await frigate_available(hass, "offline")
    assert state_of(hass, entity_id) == STATE_ON
    assert len(events) == 1
    data = events[0].data
    assert set(data) == EVENT_KEYS
    assert data["rule_id"] == "fd"
    assert data["entity_id"] == entity_id
    assert data["camera"] is None
    assert data["reason"] == "frigate_unavailable"
    assert data["label"] is None
    assert data["event_id"] is None
    assert data["confidence_pct"] is None
    assert data["zones"] == []
    assert data["thumbnail_url"] is None
    assert data["snapshot_url"] is None
    assert data["observed_at"] == START.isoformat()

    # Messages during the outage re-evaluate the rule but raise no new alert.
    for index in range(5):
        await advance(hass, freezer, 1)
        await sighting(hass, "front_door", event_id=f"3.{index}-fd", zones=[])
        await frigate_available(hass, "offline")
    assert state_of(hass, entity_id) == STATE_ON
    assert len(events) == 1

    # Back online: the fail-safe alert is over (the sightings are real, they alert).
    await frigate_available(hass, "online")
    assert {(e.data["rule_id"], e.data["camera"]) for e in events[1:]} == {
        ("fd", "front_door"),
        ("o", "front_door"),
    }
    await advance(hass, freezer, 10.1)
    assert state_of(hass, entity_id) == STATE_OFF
    before = len(events)

    # A second outage alerts once more.
    await frigate_available(hass, "offline")
    await frigate_available(hass, "offline")
    outage = events[before:]
    assert [(e.data["rule_id"], e.data["camera"], e.data["reason"]) for e in outage] == [
        ("fd", None, "frigate_unavailable")
    ]


async def test_reload_during_an_outage_does_not_alert_again(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    entry = await setup_entry(
        hass,
        make_entry(
            rules=[
                rule_subentry(
                    "Front door",
                    subentry_id="fd",
                    cameras=["front_door"],
                    on_unavailable="treat_as_match",
                    cooldown_seconds=0,
                )
            ]
        ),
    )
    events = async_capture_events(hass, EVENT_ALERT)
    await frigate_available(hass, "offline")
    assert len(events) == 1
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    await frigate_available(hass, "offline")  # the retained will, delivered again
    assert state_of(hass, rule_sensor_id(hass, entry, "fd")) == STATE_ON
    assert len(events) == 1


async def test_removing_the_entry_forgets_its_alert_memory(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    from custom_components.frigate_rules.alerts import DATA_ALERT_MEMORY

    entry = await setup_entry(
        hass, make_entry(rules=[rule_subentry("Yard", subentry_id="y", cooldown_seconds=600)])
    )
    await sighting(hass, "backyard")
    assert hass.data[DATA_ALERT_MEMORY][entry.entry_id].cooldowns
    assert await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.entry_id not in hass.data[DATA_ALERT_MEMORY]


# -- alarm_trigger with HA's manual alarm panel -------------------------------------


async def setup_panel(hass: HomeAssistant) -> None:
    """HA core's `manual` alarm panel: no delays, 60 s triggered.

    `code_arm_required: false` because the panel asks for a code to arm by default,
    even when none is configured.
    """
    assert await async_setup_component(
        hass,
        "alarm_control_panel",
        {
            "alarm_control_panel": [
                {
                    "platform": "manual",
                    "name": "House",
                    "arming_time": 0,
                    "delay_time": 0,
                    "trigger_time": 60,
                    "code_arm_required": False,
                }
            ]
        },
    )
    await hass.async_block_till_done()
    assert state_of(hass, ALARM) == "disarmed"


def alarm_rule(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "zones": ["patio"],
        "min_confidence_pct": 90,
        "alarm_entity": ALARM,
        "alarm_states": ["armed_away"],
        "action": "alarm_trigger",
    }
    return rule_subentry("Backyard intruder", subentry_id="alarm", **(fields | overrides))


async def test_armed_away_replay_triggers_the_manual_panel(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(START)
    await setup_panel(hass)
    entry = await setup_entry(hass, make_entry(frigate_url=FRIGATE_URL, rules=[alarm_rule()]))
    entity_id = rule_sensor_id(hass, entry, "alarm")
    await hass.services.async_call(
        "alarm_control_panel", "alarm_arm_away", {"entity_id": ALARM}, blocking=True
    )
    await hass.async_block_till_done()
    assert state_of(hass, ALARM) == "armed_away"
    events = async_capture_events(hass, EVENT_ALERT)
    panel_when_alerted: list[str] = []

    def watch(_elapsed: float, line: dict[str, Any]) -> None:
        if len(events) == 1 and not panel_when_alerted:
            panel_when_alerted.append(state_of(hass, ALARM))

    await replay(hass, "a_person_backyard_v017.jsonl", freezer, watch)

    assert panel_when_alerted == ["triggered"]
    assert state_of(hass, ALARM) == "triggered"
    assert len(events) == 1
    # The panel's change is linked to the alert that caused it.
    panel = hass.states.get(ALARM)
    assert panel is not None
    assert panel.context.id == events[0].context.id
    data = events[0].data
    first = next(
        line["payload"]["after"]
        for line in fixture_lines("a_person_backyard_v017.jsonl")
        if line["topic"] == "frigate/events"
        and "patio" in line["payload"]["after"]["current_zones"]
        and line["payload"]["after"]["score"] >= 0.9
    )
    assert data["action"] == "alarm_trigger"
    assert data["alarm_entity"] == ALARM
    assert data["alarm_state"] == "armed_away"
    assert data["event_id"] == first["id"]
    assert data["confidence_pct"] == round(first["score"] * 100, 1)
    assert data["snapshot_url"] == f"{FRIGATE_URL}/api/events/{first['id']}/snapshot.jpg"
    # Triggered is not armed_away: the gate now holds the rule off.
    assert state_of(hass, entity_id) == STATE_OFF
    assert reason_of(hass, entity_id) == "alarm_state"

    # After trigger_time the panel goes back to armed_away.
    await advance(hass, freezer, 61)
    assert state_of(hass, ALARM) == "armed_away"


async def test_disarmed_panel_is_neither_triggered_nor_alerted(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(START)
    await setup_panel(hass)
    entry = await setup_entry(hass, make_entry(rules=[alarm_rule()]))
    entity_id = rule_sensor_id(hass, entry, "alarm")
    events = async_capture_events(hass, EVENT_ALERT)
    panel_states: set[str] = set()
    reasons: set[str] = set()

    def watch(_elapsed: float, line: dict[str, Any]) -> None:
        panel_states.add(state_of(hass, ALARM))
        reasons.add(reason_of(hass, entity_id))

    await replay(hass, "a_person_backyard_v017.jsonl", freezer, watch)
    assert events == []
    assert panel_states == {"disarmed"}
    assert reasons == {"alarm_state"}
    assert entry.runtime_data.alerts.alerts_fired == 0

    # Arming while the person is still in the window alerts and triggers at once.
    await hass.services.async_call(
        "alarm_control_panel", "alarm_arm_away", {"entity_id": ALARM}, blocking=True
    )
    await sighting(hass, score=0.95)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert len(events) == 1
    assert state_of(hass, ALARM) == "triggered"
    await advance(hass, freezer, 61)


async def test_notify_action_never_calls_the_panel(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(START)
    await setup_panel(hass)
    await hass.services.async_call(
        "alarm_control_panel", "alarm_arm_away", {"entity_id": ALARM}, blocking=True
    )
    await setup_entry(hass, make_entry(rules=[alarm_rule(action="notify")]))
    events = async_capture_events(hass, EVENT_ALERT)
    await sighting(hass, score=0.95)
    assert len(events) == 1
    assert events[0].data["action"] == "notify"
    assert state_of(hass, ALARM) == "armed_away"


@pytest.mark.parametrize("service_exists", [True, False])
async def test_failing_alarm_call_is_a_warning_and_later_messages_flow(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
    service_exists: bool,
) -> None:
    freezer.move_to(START)
    # A panel state without the alarm_control_panel integration behind it.
    hass.states.async_set(ALARM, "armed_away")
    calls: list[ServiceCall] = []
    if service_exists:

        async def refuse(call: ServiceCall) -> None:
            calls.append(call)
            raise HomeAssistantError("panel is offline")

        hass.services.async_register("alarm_control_panel", "alarm_trigger", refuse)
    entry = await setup_entry(
        hass,
        make_entry(rules=[alarm_rule(cameras=["backyard", "front"], cooldown_seconds=0)]),
    )
    entity_id = rule_sensor_id(hass, entry, "alarm")
    events = async_capture_events(hass, EVENT_ALERT)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        await sighting(hass, "backyard", score=0.95)
    assert len(events) == 1
    assert state_of(hass, entity_id) == STATE_ON
    warnings = [
        r
        for r in caplog.records
        if r.name.startswith("custom_components.frigate_rules") and r.levelno == logging.WARNING
    ]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert "Backyard intruder" in message
    assert ALARM in message
    if service_exists:
        assert "panel is offline" in message
        assert [call.data["entity_id"] for call in calls] == [ALARM]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]

    # The failure stayed in its task: the next messages are handled as usual.
    await sighting(hass, "front", score=0.95)
    assert [e.data["camera"] for e in events] == ["backyard", "front"]
    await advance(hass, freezer, 10.1)
    assert state_of(hass, entity_id) == STATE_OFF
    await sighting(hass, "backyard", score=0.95)
    assert len(events) == 3
    assert state_of(hass, entity_id) == STATE_ON
    assert entry.runtime_data.engine.parse_errors == 0
