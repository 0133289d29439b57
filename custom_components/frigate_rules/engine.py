"""HA glue around the pure core: MQTT message -> buffer -> affected rules -> outputs.

Everything here runs on Home Assistant's event loop. The hot path (one Frigate event)
parses, buffers, re-evaluates only the rules that watch that camera and label, and
hands each new evaluation to `RuleOutputs.apply` (fanout.py), the one place that says
in which order alerts, entities and the publisher hear of it. Time-driven changes (a
window closing, Frigate going silent) are handled by one timer per rule and one grace
timer.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from homeassistant.components import mqtt
from homeassistant.components.mqtt.models import ReceiveMessage
from homeassistant.core import CALLBACK_TYPE, Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers.event import (
    async_call_later,
    async_track_state_change_event,
    async_track_time_interval,
)

from .alerts import alarm_state
from .const import (
    CONF_AVAILABILITY_GRACE_SECONDS,
    CONF_MAX_OBSERVATIONS,
    CONF_RETENTION_SECONDS,
    DIAG_PARSE_FAILURES,
    LOGGER,
    OPTION_DEFAULTS,
)
from .core import topics
from .core.availability import Availability
from .core.buffer import DetectionBuffer
from .core.clock import MonotonicWallClock
from .core.frigate import Rejected, parse_available, parse_event, parse_review
from .core.model import Context, Evaluation, Observation, Rule
from .core.rules import evaluate
from .fanout import RuleOutputs
from .notifier import Notifier

# A window edge is inclusive, so a rule is re-evaluated this long after the moment
# its oldest candidate reaches the edge (well inside the 250 ms promise).
WINDOW_TICK = 0.005
PRUNE_INTERVAL_SECONDS = 60
PAYLOAD_HEAD_CHARS = 200


@dataclass(slots=True, frozen=True)
class ParseFailure:
    """A rejected message, kept for diagnostics."""

    at: float
    topic: str
    reason: str
    payload_head: str


def _payload_head(payload: str | bytes | bytearray) -> str:
    if isinstance(payload, str):
        return payload[:PAYLOAD_HEAD_CHARS]
    return bytes(payload[:PAYLOAD_HEAD_CHARS]).decode("utf-8", "replace")


class Engine:
    """One config entry's live state: buffer, availability, rules, counters."""

    def __init__(
        self,
        hass: HomeAssistant,
        prefix: str,
        options: Mapping[str, Any],
        outputs: RuleOutputs,
        notifier: Notifier,
    ) -> None:
        self.hass = hass
        self.prefix = prefix
        # Receive times and `now` never go backwards, whatever NTP does to the wall
        # clock (the lambdas read the time module at call time, as tests freeze it).
        self.clock = MonotonicWallClock(lambda: time.time(), lambda: time.monotonic())
        self.outputs = outputs
        self.notifier = notifier
        merged = {**OPTION_DEFAULTS, **options}
        self.retention_seconds = float(merged[CONF_RETENTION_SECONDS])
        self.buffer = DetectionBuffer(self.retention_seconds, int(merged[CONF_MAX_OBSERVATIONS]))
        self.availability = Availability(
            grace_seconds=float(merged[CONF_AVAILABILITY_GRACE_SECONDS]),
            started_at=self.clock(),
        )
        self.messages_received = 0
        self.parse_errors = 0
        self.last_observation_at: float | None = None
        self.parse_failures: deque[ParseFailure] = deque(maxlen=DIAG_PARSE_FAILURES)
        self.rules: dict[str, Rule] = {}
        self.evaluations: dict[str, Evaluation] = {}
        self.last_matched: dict[str, float] = {}
        self._rules_by_camera: dict[str, tuple[Rule, ...]] = {}
        self._rule_timers: dict[str, tuple[float, CALLBACK_TYPE]] = {}
        self._unsubs: list[CALLBACK_TYPE] = []
        self._alarm_unsub: CALLBACK_TYPE | None = None
        self._grace_unsub: CALLBACK_TYPE | None = None
        self._available = True
        self._started = False

    # -- lifecycle ---------------------------------------------------------------

    async def async_start(self) -> None:
        """Subscribe to Frigate through HA's MQTT client and arm the timers."""
        handlers: dict[str, Callable[[ReceiveMessage], None]] = {
            topics.EVENTS: self._on_event_message,
            topics.REVIEWS: self._on_review_message,
            topics.AVAILABLE: self._on_available_message,
            topics.STATS: self._on_other_message,
            topics.TRACKED_OBJECT_UPDATE: self._on_other_message,
        }
        for name, handler in handlers.items():
            self._unsubs.append(
                await mqtt.async_subscribe(
                    self.hass, topics.input_topic(self.prefix, name), handler, 0, None
                )
            )
        self._unsubs.append(
            mqtt.async_subscribe_connection_status(self.hass, self._on_mqtt_connection)
        )
        self.availability.started_at = self.clock()
        self.availability.mqtt_connected = mqtt.is_connected(self.hass)
        self._unsubs.append(
            async_track_time_interval(
                self.hass,
                self._prune,
                timedelta(seconds=PRUNE_INTERVAL_SECONDS),
                cancel_on_shutdown=True,
            )
        )
        self._started = True
        self._available = self.availability.is_available(self.clock())
        self._arm_grace_timer()
        self._reevaluate_all()

    @callback
    def async_stop(self) -> None:
        """Drop every subscription, listener and timer this engine created."""
        self._started = False
        for unsub in self._unsubs:
            unsub()
        self._unsubs.clear()
        for _, cancel in self._rule_timers.values():
            cancel()
        self._rule_timers.clear()
        for attr in ("_alarm_unsub", "_grace_unsub"):
            cancel = getattr(self, attr)
            if cancel is not None:
                cancel()
                setattr(self, attr, None)

    # -- rules -------------------------------------------------------------------

    @callback
    def async_set_rules(self, rules: Iterable[Rule]) -> None:
        """Replace the rule set in place (subentry added, edited or removed)."""
        new = {rule.rule_id: rule for rule in rules}
        for rule_id in self.rules.keys() - new.keys():
            self._cancel_rule_timer(rule_id)
            self.evaluations.pop(rule_id, None)
            self.last_matched.pop(rule_id, None)
        changed = [rule for rule_id, rule in new.items() if self.rules.get(rule_id) != rule]
        self.rules = new
        by_camera: dict[str, list[Rule]] = {}
        for rule in new.values():
            for camera in rule.cameras:
                by_camera.setdefault(camera, []).append(rule)
        self._rules_by_camera = {camera: tuple(items) for camera, items in by_camera.items()}
        longest = max((rule.within_seconds for rule in new.values()), default=0.0)
        self.buffer.retention_seconds = max(self.retention_seconds, longest)
        self._track_alarm_entities()
        if self._started:
            now = self.clock()
            for rule in changed:
                self._cancel_rule_timer(rule.rule_id)
                self._evaluate(rule, now)

    def context_for(self, rule: Rule) -> Context:
        """Availability and alarm state as the rule sees them now."""
        # The availability the entities show: kept current by every message, the
        # grace timer and the MQTT link, so it is not worked out again per rule.
        return Context(
            frigate_available=self._available,
            alarm_state=alarm_state(self.hass, rule.alarm_entity),
        )

    @property
    def frigate_available(self) -> bool:
        """The availability the entities currently show."""
        return self._available

    # -- MQTT handlers (must never raise) ----------------------------------------

    @callback
    def _on_event_message(self, msg: ReceiveMessage) -> None:
        try:
            now = self._note_message()
            result = parse_event(msg.payload, now)
            if isinstance(result, Rejected):
                self._record_failure(msg, result.reason, now)
            else:
                self._ingest(result, now)
        except Exception:
            self._record_crash(msg)

    @callback
    def _on_review_message(self, msg: ReceiveMessage) -> None:
        try:
            now = self._note_message()
            result = parse_review(msg.payload, now)
            if isinstance(result, Rejected):
                self._record_failure(msg, result.reason, now)
            else:
                for observation in result:
                    self._ingest(observation, now)
        except Exception:
            self._record_crash(msg)

    @callback
    def _on_available_message(self, msg: ReceiveMessage) -> None:
        try:
            now = self._note_message()
            result = parse_available(msg.payload)
            if isinstance(result, Rejected):
                self._record_failure(msg, result.reason, now)
                return
            self.availability.frigate_online = result
            self._check_availability(now)
        except Exception:
            self._record_crash(msg)

    @callback
    def _on_other_message(self, msg: ReceiveMessage) -> None:
        """Stats and tracked-object updates only prove that Frigate is alive."""
        try:
            self._note_message()
        except Exception:
            self._record_crash(msg)

    @callback
    def _on_mqtt_connection(self, connected: bool) -> None:
        self.availability.mqtt_connected = connected
        now = self.clock()
        if connected:
            # Silence while HA was disconnected says nothing about Frigate.
            self.availability.note_message(now)
            self._arm_grace_timer()
        self._check_availability(now)

    # -- internals ---------------------------------------------------------------

    def _note_message(self) -> float:
        now = self.clock()
        self.messages_received += 1
        was_silent = not self.availability.is_available(now)
        self.availability.note_message(now)
        if was_silent:
            self._arm_grace_timer()
            self._check_availability(now)
        self.notifier.counters_changed()
        return now

    def _record_failure(self, msg: ReceiveMessage, reason: str, now: float) -> None:
        self.parse_errors += 1
        self.parse_failures.append(ParseFailure(now, msg.topic, reason, _payload_head(msg.payload)))
        LOGGER.debug("Ignored message on %s: %s", msg.topic, reason)

    def _record_crash(self, msg: ReceiveMessage) -> None:
        self.parse_errors += 1
        self.parse_failures.append(
            ParseFailure(self.clock(), msg.topic, "internal_error", _payload_head(msg.payload))
        )
        LOGGER.exception("Unexpected error handling a message on %s", msg.topic)
        self.notifier.counters_changed()

    def _ingest(self, observation: Observation, now: float) -> None:
        self.buffer.add(observation)
        self.last_observation_at = now
        for rule in self._rules_by_camera.get(observation.camera, ()):
            if observation.label in rule.labels:
                self._evaluate(rule, now)

    def _evaluate(self, rule: Rule, now: float) -> None:
        evaluation = evaluate(rule, self.buffer, now, self.context_for(rule))
        previous = self.evaluations.get(rule.rule_id)
        self.evaluations[rule.rule_id] = evaluation
        if evaluation.matched:
            self.last_matched[rule.rule_id] = now
        self._schedule_rule_timer(rule.rule_id, evaluation.next_change_at)
        try:
            self.outputs.apply(rule, previous, evaluation, now)
        except Exception:
            LOGGER.exception("Error handing on the evaluation of rule %s", rule.name)

    def _reevaluate_all(self) -> None:
        now = self.clock()
        for rule in self.rules.values():
            self._evaluate(rule, now)

    def _schedule_rule_timer(self, rule_id: str, at: float | None) -> None:
        current = self._rule_timers.get(rule_id)
        if current is not None:
            if current[0] == at:
                return
            current[1]()
            del self._rule_timers[rule_id]
        if at is None or not self._started:
            return
        target = at + WINDOW_TICK

        @callback
        def fire(_now: Any) -> None:
            self._rule_timers.pop(rule_id, None)
            rule = self.rules.get(rule_id)
            if rule is not None:
                # Never evaluate before the edge: a timer firing a hair early would
                # otherwise find the same candidate and re-arm itself in a loop.
                self._evaluate(rule, max(self.clock(), target))

        self._rule_timers[rule_id] = (
            at,
            async_call_later(self.hass, max(0.0, target - self.clock()), fire),
        )

    def _cancel_rule_timer(self, rule_id: str) -> None:
        current = self._rule_timers.pop(rule_id, None)
        if current is not None:
            current[1]()

    def _check_availability(self, now: float) -> None:
        available = self.availability.is_available(now)
        if available == self._available:
            return
        self._available = available
        if available:
            LOGGER.info("Frigate on prefix '%s' is available again", self.prefix)
        else:
            LOGGER.warning(
                "Frigate on prefix '%s' is unavailable (%s)",
                self.prefix,
                self.availability.reason(now),
            )
        self.notifier.stats_changed_now()
        self._reevaluate_all()

    def _arm_grace_timer(self) -> None:
        if self._grace_unsub is not None:
            self._grace_unsub()
            self._grace_unsub = None
        deadline = self.availability.silence_deadline()
        if deadline is None or not self._started:
            return
        # One small extra so that `now > deadline` holds when the timer runs.
        delay = max(0.0, deadline - self.clock()) + WINDOW_TICK
        self._grace_unsub = async_call_later(self.hass, delay, self._on_grace_timer)

    @callback
    def _on_grace_timer(self, _now: Any) -> None:
        self._grace_unsub = None
        now = self.clock()
        deadline = self.availability.silence_deadline()
        if deadline is not None and now <= deadline:
            self._arm_grace_timer()
            return
        # Silent now: nothing to time until the next message re-arms the timer.
        self._check_availability(now)

    def _track_alarm_entities(self) -> None:
        if self._alarm_unsub is not None:
            self._alarm_unsub()
            self._alarm_unsub = None
        entities = sorted({r.alarm_entity for r in self.rules.values() if r.alarm_entity})
        if entities:
            self._alarm_unsub = async_track_state_change_event(
                self.hass, entities, self._on_alarm_state
            )

    @callback
    def _on_alarm_state(self, event: Event[EventStateChangedData]) -> None:
        entity_id = event.data["entity_id"]
        now = self.clock()
        for rule in tuple(self.rules.values()):
            if rule.alarm_entity == entity_id:
                self._evaluate(rule, now)

    @callback
    def _prune(self, _now: Any) -> None:
        self.buffer.prune(self.clock())
        self.notifier.counters_changed()
