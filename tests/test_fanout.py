"""The order of what one evaluation changes: alert now, then sensor, then MQTT (DESIGN 3)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

from homeassistant.const import STATE_OFF, STATE_ON
from homeassistant.core import Event, HomeAssistant, callback
from pytest_homeassistant_custom_component.common import async_fire_mqtt_message
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.frigate_rules.const import EVENT_ALERT
from custom_components.frigate_rules.core.model import Evaluation, Reason, Rule
from custom_components.frigate_rules.fanout import RuleOutputs

from .conftest import make_entry, rule_sensor_id, rule_subentry, setup_entry

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


def outputs(hass: HomeAssistant, recorder: Recorder) -> RuleOutputs:
    return RuleOutputs(hass, recorder, recorder, recorder)  # type: ignore[arg-type]


async def test_a_burst_reaches_sensor_and_publisher_in_order_in_the_next_pass(
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
    await asyncio.sleep(0)
    assert recorder.calls[2:] == [
        ("sensor", "r1"),
        ("state", True),
        ("mqtt_alert", 1.0),
        ("sensor", "r1"),
        ("state", False),
        ("sensor", "r1"),
        ("state", True),
        ("mqtt_alert", 3.0),
        ("removed", "r1"),
    ]


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
    after = {
        "id": "1.0-abc",
        "camera": "backyard",
        "label": "person",
        "score": 0.95,
        "current_zones": [],
        "entered_zones": [],
        "stationary": False,
        "frame_time": 1.0,
    }
    payload = json.dumps({"type": "new", "before": {}, "after": after})
    async_fire_mqtt_message(hass, "frigate/events", payload)
    assert seen == [STATE_OFF], "the alert was on the bus in the message's own pass"
    await hass.async_block_till_done()
    state = hass.states.get(entity_id)
    assert state is not None
    assert state.state == STATE_ON
