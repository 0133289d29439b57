"""HA glue around the pure core: observation -> buffer -> affected rules -> outputs.

Everything here runs on Home Assistant's event loop. Observations come from Frigate's
MQTT topics (inputs.py) or, while those cannot be heard, from its HTTP API (rest.py).
The hot path buffers one observation, re-evaluates only the rules that watch its
camera and label, and hands each new evaluation to `RuleOutputs.apply` (fanout.py),
the one place that says in which order alerts, entities and the publisher hear of
it. Time-driven changes (a window closing, Frigate going silent) are handled by one
timer per rule and one grace timer.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from homeassistant.components import mqtt
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_call_later, async_track_time_interval

from .alerts import AlarmWatch, alarm_state
from .const import (
    CONF_AVAILABILITY_GRACE_SECONDS,
    CONF_MAX_OBSERVATIONS,
    CONF_MIN_RECOGNITION_PCT,
    CONF_RETENTION_SECONDS,
    DIAG_PARSE_FAILURES,
    LOGGER,
    OPTION_DEFAULTS,
)
from .core.availability import Availability, CameraAvailability
from .core.buffer import DetectionBuffer
from .core.clock import MonotonicWallClock
from .core.frigate_api import ClockSkew
from .core.incremental import CandidateCache
from .core.model import Condition, Context, Evaluation, Observation, Rule, Sequence, SubLabelMode
from .core.objects import ObjectMemory
from .core.recognition import Recognition
from .core.rules import evaluate
from .core.sequences import evaluate_sequence
from .fanout import RuleOutputs
from .inputs import MqttInput, ParseFailure
from .notifier import Notifier
from .rest import RestFallback
from .timers import WINDOW_TICK, RuleTimers

PRUNE_INTERVAL_SECONDS = 60


class Engine:
    """One config entry's live state: buffer, availability, rules, counters."""

    def __init__(
        self,
        hass: HomeAssistant,
        prefix: str,
        options: Mapping[str, Any],
        outputs: RuleOutputs,
        notifier: Notifier,
        rest: RestFallback | None = None,
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
        # Per camera (DESIGN 4.11), and Frigate's clock against ours (for the fallback).
        self.cameras = CameraAvailability()
        # Who each object is and where it stays (DESIGN 4.8).
        self.objects = ObjectMemory(float(merged[CONF_MIN_RECOGNITION_PCT]))
        self.updates_ignored = 0
        self.skew = ClockSkew()
        self.rest = rest
        self.ingest_path = "mqtt"
        self.last_mqtt_observation_at: float | None = None
        self.messages_received = 0
        self.parse_errors = 0
        self.last_observation_at: float | None = None
        self.parse_failures: deque[ParseFailure] = deque(maxlen=DIAG_PARSE_FAILURES)
        self.rules: dict[str, Condition] = {}
        self.evaluations: dict[str, Evaluation] = {}
        self.last_matched: dict[str, float] = {}
        self._rules_by_camera: dict[str, tuple[Condition, ...]] = {}
        self._candidates = CandidateCache()
        self._timers = RuleTimers(hass, self.clock, self._on_timer)
        self._input = MqttInput(hass, self)
        self._unsubs: list[CALLBACK_TYPE] = []
        self._alarm = AlarmWatch(hass, self._on_alarm_state)
        self._grace_unsub: CALLBACK_TYPE | None = None
        self._available = True
        self._started = False

    # -- lifecycle ---------------------------------------------------------------

    async def async_start(self) -> None:
        """Subscribe to Frigate through HA's MQTT client and arm the timers."""
        self._unsubs.append(self._input.async_unsubscribe)
        await self._input.async_subscribe()
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
        now = self.clock()
        self._available = self.availability.is_available(now)
        self._arm_grace_timer()
        self._update_paths(now)
        self._reevaluate_all()

    @callback
    def async_stop(self) -> None:
        """Drop every subscription, listener and timer this engine created."""
        self._started = False
        for unsub in self._unsubs:
            unsub()
        self._unsubs.clear()
        self._timers.cancel_all()
        self._alarm.stop()
        if self._grace_unsub is not None:
            self._grace_unsub()
            self._grace_unsub = None

    # -- rules -------------------------------------------------------------------

    @callback
    def async_set_rules(self, rules: Iterable[Condition]) -> None:
        """Replace the rules and sequences in place (subentry added, edited or removed)."""
        new = {rule.rule_id: rule for rule in rules}
        for rule_id in self.rules.keys() - new.keys():
            self._timers.cancel(rule_id)
            self.evaluations.pop(rule_id, None)
            self.last_matched.pop(rule_id, None)
        changed = [rule for rule_id, rule in new.items() if self.rules.get(rule_id) != rule]
        self.rules = new
        self._candidates.clear()
        by_camera: dict[str, list[Condition]] = {}
        for rule in new.values():
            for camera in rule.cameras:
                by_camera.setdefault(camera, []).append(rule)
        self._rules_by_camera = {camera: tuple(items) for camera, items in by_camera.items()}
        longest = max((rule.within_seconds for rule in new.values()), default=0.0)
        self.buffer.retention_seconds = max(self.retention_seconds, longest)
        self._alarm.track(r.alarm_entity for r in new.values() if r.alarm_entity)
        if self._started:
            now = self.clock()
            for rule in changed:
                self._timers.cancel(rule.rule_id)
                self._evaluate(rule, now)

    def context_for(self, rule: Condition) -> Context:
        """Availability (as kept current by messages and timers), alarm state, objects."""
        return Context(
            frigate_available=self._available,
            alarm_state=alarm_state(self.hass, rule.alarm_entity),
            unavailable_cameras=self.cameras.unavailable,
            objects=self.objects,
        )

    def sub_label_of(self, observation: Observation) -> str | None:
        """The name an observation's object is recognized as (the first, if several)."""
        names = self.objects.names(observation.event_id)
        return min(names) if names else observation.sub_label

    @property
    def frigate_available(self) -> bool:
        """The availability the entities currently show."""
        return self._available

    # -- what inputs hand in -------------------------------------------------------

    def note_message(self) -> float:
        """A message on a subscribed Frigate topic: Frigate is alive. Returns `now`."""
        now = self.clock()
        self.messages_received += 1
        was_unheard = not self.availability.mqtt_heard(now)
        self.availability.note_message(now)
        if was_unheard:
            self._arm_grace_timer()
            self._check_availability(now)
        self.notifier.counters_changed()
        return now

    def record_failure(self, topic: str, reason: str, head: str, now: float) -> None:
        """A message that could not be used: counted, kept for diagnostics."""
        self.parse_errors += 1
        self.parse_failures.append(ParseFailure(now, topic, reason, head))
        LOGGER.debug("Ignored message on %s: %s", topic, reason)

    def record_crash(self, topic: str, head: str) -> None:
        """A bug of ours while handling a message: logged and counted, never raised."""
        self.parse_errors += 1
        self.parse_failures.append(ParseFailure(self.clock(), topic, "internal_error", head))
        LOGGER.exception("Unexpected error handling a message on %s", topic)
        self.notifier.counters_changed()

    def ingest(self, observation: Observation, now: float) -> None:
        """Buffer one MQTT observation and re-evaluate the rules it can change."""
        self.last_mqtt_observation_at = now
        self._ingest(observation, now)

    def ingest_rest(self, observations: list[Observation]) -> None:
        """Observations from Frigate's API (fallback or catch-up), each rule once."""
        now = self.clock()
        affected: dict[str, Condition] = {}
        for observation in observations:
            self.buffer.add(observation)
            self.objects.observe(observation)
            for rule in self._rules_by_camera.get(observation.camera, ()):
                if observation.label in rule.labels:
                    affected[rule.rule_id] = rule
        if observations:
            self.last_observation_at = now
        for rule in affected.values():
            self._evaluate(rule, now)
        self.notifier.counters_changed()

    def recognition(self, recognition: Recognition, now: float) -> None:
        """Frigate named an object: rules on who it is are evaluated again."""
        self.objects.recognition(recognition.event_id, recognition.name, recognition.score_pct)
        cameras = (recognition.camera,) if recognition.camera else tuple(self._rules_by_camera)
        affected = {
            rule.rule_id: rule
            for camera in cameras
            for rule in self._rules_by_camera.get(camera, ())
            if isinstance(rule, Rule) and rule.sub_label_mode is not SubLabelMode.ANY
        }
        for rule in affected.values():
            self._evaluate(rule, now)

    def set_frigate_online(self, online: bool, now: float) -> None:
        """Frigate's own `available` topic."""
        self.availability.frigate_online = online
        self._check_availability(now)

    def camera_availability_changed(self, camera: str, now: float) -> None:
        """A camera's detection went down or came back: re-evaluate its rules."""
        LOGGER.info(
            "Camera '%s' is %s",
            camera,
            "unavailable" if camera in self.cameras.unavailable else "available again",
        )
        for rule in self._rules_by_camera.get(camera, ()):
            self._evaluate(rule, now)
        self.notifier.stats_changed_now()

    def rest_reachable(self, _reachable: bool) -> None:
        """The REST fallback reached (or lost) Frigate's API."""
        self._check_availability(self.clock())

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

    def _ingest(self, observation: Observation, now: float) -> None:
        self.buffer.add(observation)
        self.objects.observe(observation)
        self.last_observation_at = now
        for rule in self._rules_by_camera.get(observation.camera, ()):
            if observation.label in rule.labels:
                self._evaluate(rule, now)

    def _evaluate(self, rule: Condition, now: float) -> None:
        context = self.context_for(rule)
        if isinstance(rule, Sequence):
            evaluation = evaluate_sequence(rule, self.buffer, now, context)
        else:
            evaluation = evaluate(rule, self.buffer, now, context, cache=self._candidates)
        if evaluation.observation is not None and evaluation.sub_label is None:
            evaluation.sub_label = self.sub_label_of(evaluation.observation)
        previous = self.evaluations.get(rule.rule_id)
        self.evaluations[rule.rule_id] = evaluation
        if evaluation.matched:
            self.last_matched[rule.rule_id] = now
        try:
            self.outputs.apply(rule, previous, evaluation, now)
        except Exception:
            LOGGER.exception("Error handing on the evaluation of rule %s", rule.name)
        # After the alert: when the rule next changes is seconds away, the alert is not.
        if self._started:
            self._timers.schedule(rule.rule_id, evaluation.next_change_at)

    def _reevaluate_all(self) -> None:
        now = self.clock()
        for rule in self.rules.values():
            self._evaluate(rule, now)

    def _on_timer(self, rule_id: str, now: float) -> None:
        rule = self.rules.get(rule_id)
        if rule is not None:
            self._evaluate(rule, now)

    def _check_availability(self, now: float) -> None:
        self._update_paths(now)
        available = self.availability.is_available(now) or bool(
            self.rest is not None and self.rest.polling and self.rest.reachable
        )
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

    def _update_paths(self, now: float) -> None:
        """Poll Frigate's API while MQTT cannot hear it; catch up once it can again."""
        heard = self.availability.mqtt_heard(now)
        rest = self.rest
        if rest is not None and self._started:
            if not heard and not rest.polling:
                since = self.last_mqtt_observation_at or now
                rest.start(since)
            elif heard and rest.polling:
                since = self.last_mqtt_observation_at or now
                self.hass.async_create_background_task(
                    self._async_back_on_mqtt(rest, since), "frigate_rules catch-up"
                )
        polling = rest is not None and rest.polling
        path = "mqtt" if heard else "rest" if polling and rest and rest.reachable else "none"
        if path != self.ingest_path:
            LOGGER.info("Frigate on prefix '%s' is now heard through: %s", self.prefix, path)
            self.ingest_path = path
            self.notifier.stats_changed_now()

    async def _async_back_on_mqtt(self, rest: RestFallback, since: float) -> None:
        await rest.async_stop()
        added = await rest.async_catch_up(since)
        LOGGER.debug("Catch-up after the MQTT outage added %d observations", added)
        self._check_availability(self.clock())

    def _arm_grace_timer(self) -> None:
        if self._grace_unsub is not None:
            self._grace_unsub()
            self._grace_unsub = None
        deadline = self.availability.silence_deadline()
        if deadline is None or not self._started:
            return
        delay = max(0.0, deadline - self.clock()) + WINDOW_TICK  # so `now > deadline`
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

    @callback
    def _on_alarm_state(self, entity_id: str) -> None:
        now = self.clock()
        for rule in tuple(self.rules.values()):
            if rule.alarm_entity == entity_id:
                self._evaluate(rule, now)

    @callback
    def _prune(self, _now: Any) -> None:
        now = self.clock()
        self.buffer.prune(now)
        self.objects.prune(now - self.buffer.retention_seconds)
        self.notifier.counters_changed()
