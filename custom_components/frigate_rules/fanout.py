"""What a rule's new evaluation changes, in the order people and programs see it.

This is the one place that order is written (DESIGN 3): first the alert (the bus event
and the alarm action), inline with the MQTT message, so automations react to it in the
same pass of the loop; then the rule's sensor; then the MQTT consumers (the rule's
retained state before its alert, so a consumer that sees the alert also has the state).

The sensor and the publisher wait for the websocket. HA's websocket API queues the
alert, releases its writer in the loop's next pass (it coalesces) and the writer sends
it in the pass after; work done before then would hold the alert back from dashboards
and websocket clients. Work done right after it holds the alert back too, when a
client on the same host was woken on hass's CPU (Linux places a woken reader where its
writer runs): the client waits until hass is idle. So the flush waits `OUTPUT_DELAY`
(1 ms), long after the writer, and hass is idle meanwhile. One queue keeps the outputs
in the order the evaluations happened, whatever the burst. The publisher then waits
`DRAIN_DELAY` (2 ms) more before it hands the packets to paho, so that the broker's
work does not compete with those clients either. Last, the alert manager makes the
context of the next alert, which is thus not made on that alert's way.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any, Final

from homeassistant.core import HomeAssistant

from .alerts import AlertManager
from .core.model import Condition, Evaluation
from .notifier import Notifier
from .outbound import Outbound

# How long the sensor, the MQTT output and the next alert's context wait after an alert.
OUTPUT_DELAY: Final = 0.001

type _Tail = tuple[Condition, bool | None, Sequence[Mapping[str, Any]]]
"""A rule, its state to publish (None: it was removed), its alerts to publish."""


class RuleOutputs:
    """Fans one evaluation out to the alert now, the entity and the publisher next."""

    def __init__(
        self, hass: HomeAssistant, alerts: AlertManager, notifier: Notifier, outbound: Outbound
    ) -> None:
        self._hass = hass
        self.alerts = alerts
        self.notifier = notifier
        self.outbound = outbound
        self._tails: deque[_Tail] = deque()
        self._flush: asyncio.Task[None] | None = None

    def apply(
        self, rule: Condition, previous: Evaluation | None, evaluation: Evaluation, now: float
    ) -> None:
        """Alert now; sensor, then publisher, once the websocket has sent the alert."""
        fired = self.alerts.on_evaluation(rule, previous, evaluation, now)
        self._queue((rule, evaluation.matched, fired))

    def removed(self, rule: Condition) -> None:
        """A rule is gone (or renamed): clear its retained state after what came before."""
        self._queue((rule, None, []))

    def async_stop(self) -> None:
        """The entry is unloading: what is still queued has nobody left to show it."""
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
        self._tails.clear()

    def _queue(self, tail: _Tail) -> None:
        self._tails.append(tail)
        if self._flush is None:
            # A task, not a bare call_soon, so that hass.async_block_till_done and
            # shutdown wait for it; not eager, so that it runs in the next pass.
            self._flush = self._hass.async_create_task(
                self._async_flush(), "frigate_rules outputs", eager_start=False
            )

    async def _async_flush(self) -> None:
        # Started in the pass in which the websocket API releases its writer; the writer
        # sends in the next, and its clients read while hass idles.
        await asyncio.sleep(OUTPUT_DELAY)
        self._flush = None
        tails = self._tails
        # Each sensor shows its rule's latest evaluation: one write per rule, first.
        for rule_id in {rule.rule_id: None for rule, matched, _ in tails if matched is not None}:
            self.notifier.rule_changed(rule_id)
        while tails:
            rule, matched, fired = tails.popleft()
            if matched is None:
                self.outbound.rule_removed(rule)
                continue
            self.outbound.rule_state(rule, matched)
            for data in fired:
                self.outbound.rule_alert(rule, data)
        self.alerts.prepare_next_alert()
