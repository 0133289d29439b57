"""The order of what one evaluation changes: alert now, then sensor, then MQTT (DESIGN 3)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

import pytest
from aiohttp.http_websocket import WebSocketWriter
from homeassistant.const import STATE_OFF, STATE_ON
from homeassistant.core import Event, HomeAssistant, callback
from pytest_homeassistant_custom_component.common import async_fire_mqtt_message
from pytest_homeassistant_custom_component.typing import MqttMockHAClient, WebSocketGenerator

from custom_components.frigate_rules.const import EVENT_ALERT
from custom_components.frigate_rules.core.model import Evaluation, Reason, Rule
from custom_components.frigate_rules.fanout import OUTPUT_DELAY, RuleOutputs

from .conftest import make_entry, rule_sensor_id, rule_subentry, setup_entry

BACKYARD_PERSON = {
    "id": "1.0-abc",
    "camera": "backyard",
    "label": "person",
    "score": 0.95,
    "current_zones": [],
    "entered_zones": [],
    "stationary": False,
    "frame_time": 1.0,
}
RULE = Rule(rule_id="r1", name="Backyard person", cameras=("backyard",))
ON = Evaluation(matched=True, reason=Reason.MATCHED, camera="backyard")
OFF = Evaluation(matched=False, reason=Reason.NO_DETECTIONS)


class Recorder:
    """Stands in for the alert manager, the notifier and the publisher's front."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def on_evaluation(
        self, rule: Rule, previous: Evaluation | None, evaluation: Evaluation, now: float
    ) -> list[Mapping[str, Any]]:
        if evaluation.matched and not (previous and previous.matched):
            self.calls.append(("alert", now))
            return [{"at": now}]
        return []

    def rule_changed(self, rule_id: str) -> None:
        self.calls.append(("sensor", rule_id))

    def rule_state(self, rule: Rule, matched: bool) -> None:
        self.calls.append(("state", matched))

    def rule_alert(self, rule: Rule, data: Mapping[str, Any]) -> None:
        self.calls.append(("mqtt_alert", data["at"]))

    def rule_removed(self, rule: Rule) -> None:
        self.calls.append(("removed", rule.rule_id))

    def prepare_next_alert(self) -> None:
        self.calls.append(("next_context", None))


def outputs(hass: HomeAssistant, recorder: Recorder) -> RuleOutputs:
    return RuleOutputs(hass, recorder, recorder, recorder)  # type: ignore[arg-type]


async def test_a_burst_reaches_sensor_and_publisher_in_order_two_passes_later(
    hass: HomeAssistant,
) -> None:
    recorder = Recorder()
    fanout = outputs(hass, recorder)
    fanout.apply(RULE, None, ON, 1.0)
    fanout.apply(RULE, ON, OFF, 2.0)
    fanout.apply(RULE, OFF, ON, 3.0)
    fanout.removed(RULE)
    # The alerts went out at once; nothing else has moved yet.
    assert recorder.calls == [("alert", 1.0), ("alert", 3.0)]
    # The pass in which HA's websocket API releases its writer: still nothing.
    await asyncio.sleep(0)
    assert recorder.calls == [("alert", 1.0), ("alert", 3.0)]
    # The writer's pass: the writer was woken first, then the outputs follow: the
    # sensor once (it shows the latest evaluation), the MQTT messages one by one.
    await asyncio.sleep(0)
    assert recorder.calls[2:] == [
        ("sensor", "r1"),
        ("state", True),
        ("mqtt_alert", 1.0),
        ("state", False),
        ("state", True),
        ("mqtt_alert", 3.0),
        ("removed", "r1"),
        ("next_context", None),
    ]


@pytest.mark.real_output_delay
async def test_outside_tests_the_outputs_wait_output_delay_after_the_alert(
    hass: HomeAssistant,
) -> None:
    """Long after the websocket writer's pass, so that its clients read first."""
    recorder = Recorder()
    fanout = outputs(hass, recorder)
    loop = asyncio.get_running_loop()
    written_at: list[float] = []
    recorder.rule_changed = lambda _rule_id: written_at.append(loop.time())  # type: ignore[method-assign]
    alerted_at = loop.time()
    fanout.apply(RULE, None, ON, 1.0)
    for _ in range(3):  # the writer's passes, and one more: nothing yet
        await asyncio.sleep(0)
    assert recorder.calls == [("alert", 1.0)]
    await hass.async_block_till_done()
    assert len(written_at) == 1
    assert written_at[0] - alerted_at >= OUTPUT_DELAY
    assert recorder.calls[1:] == [("state", True), ("mqtt_alert", 1.0), ("next_context", None)]


async def test_stopping_drops_what_is_still_queued(hass: HomeAssistant) -> None:
    recorder = Recorder()
    fanout = outputs(hass, recorder)
    fanout.apply(RULE, None, ON, 1.0)
    fanout.async_stop()
    await asyncio.sleep(0)
    assert recorder.calls == [("alert", 1.0)]


async def test_automations_get_the_alert_before_the_sensor_turns_on(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    entry = await setup_entry(hass, make_entry(rules=[rule_subentry("Backyard person")]))
    entity_id = rule_sensor_id(hass, entry, next(iter(entry.subentries)))
    seen: list[str] = []

    @callback
    def on_alert(_event: Event) -> None:
        state = hass.states.get(entity_id)
        assert state is not None
        seen.append(state.state)

    hass.bus.async_listen(EVENT_ALERT, on_alert)
    payload = json.dumps({"type": "new", "before": {}, "after": BACKYARD_PERSON})
    async_fire_mqtt_message(hass, "frigate/events", payload)
    assert seen == [STATE_OFF], "the alert was on the bus in the message's own pass"
    await hass.async_block_till_done()
    state = hass.states.get(entity_id)
    assert state is not None
    assert state.state == STATE_ON


async def test_websocket_clients_get_the_alert_before_mqtt_output_and_sensor_write(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    hass_ws_client: WebSocketGenerator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The order in which HA's websocket writer, the publisher and the sensor act."""
    entry = await setup_entry(hass, make_entry(rules=[rule_subentry("Backyard person")]))
    entity_id = rule_sensor_id(hass, entry, next(iter(entry.subentries)))
    order: list[str] = []
    send_frame = WebSocketWriter.send_frame

    async def recording_send_frame(
        self: WebSocketWriter, message: bytes, *args: Any, **kwargs: Any
    ) -> None:
        # The client's own frames go through the same class; HA's events are these.
        if b'"type":"event"' in message and EVENT_ALERT.encode() in message:
            order.append("websocket: alert")
        await send_frame(self, message, *args, **kwargs)

    monkeypatch.setattr(WebSocketWriter, "send_frame", recording_send_frame)
    outbound = entry.runtime_data.outbound
    rule_state = outbound.rule_state

    def recording_rule_state(rule: Rule, matched: bool) -> None:
        order.append(f"mqtt: state {matched}")
        rule_state(rule, matched)

    monkeypatch.setattr(outbound, "rule_state", recording_rule_state)

    @callback
    def on_state(event: Event) -> None:
        if event.data["entity_id"] == entity_id:
            order.append(f"sensor: {event.data['new_state'].state}")

    hass.bus.async_listen("state_changed", on_state)
    client = await hass_ws_client(hass)
    await client.send_json({"id": 1, "type": "subscribe_events", "event_type": EVENT_ALERT})
    assert (await client.receive_json())["success"]

    payload = json.dumps({"type": "new", "before": {}, "after": BACKYARD_PERSON})
    async_fire_mqtt_message(hass, "frigate/events", payload)
    event = await client.receive_json()
    assert event["event"]["event_type"] == EVENT_ALERT
    await hass.async_block_till_done()
    # DESIGN 3's order: the alert, the entity state, then the publisher's outbox.
    assert order == ["websocket: alert", f"sensor: {STATE_ON}", "mqtt: state True"]
