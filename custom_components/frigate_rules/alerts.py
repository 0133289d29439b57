"""Alerts: per-camera cooldowns, the bus event and the alarm trigger.

An alert fires when a camera of a rule goes from not matching to matching and that
camera's cooldown has passed, and once per outage (camera None) when a fail-safe
rule turns on because Frigate became unavailable. Cooldowns only hold back alerts,
never the sensor state. Cooldowns and alerted outages outlive entry reloads (kept per
entry in hass.data), so a reload neither re-alerts nor forgets a cooldown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

from homeassistant.core import (
    CALLBACK_TYPE,
    Context,
    Event,
    EventStateChangedData,
    HomeAssistant,
    callback,
)
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.util.hass_dict import HassKey

from .const import DOMAIN, EVENT_ALERT, LOGGER
from .core.model import Action, ChainLink, Condition, Evaluation, Reason, Rule, Sequence
from .entity import rule_unique_id

ALARM_DOMAIN = "alarm_control_panel"
SERVICE_ALARM_TRIGGER = "alarm_trigger"

# The fail-safe reasons: a `treat_as_match` rule alerts once per such outage.
_OUTAGES = frozenset({Reason.FRIGATE_UNAVAILABLE, Reason.CAMERA_UNAVAILABLE})

# (rule_id, camera) -> time of the last alert; one dict per entry id.
type Cooldowns = dict[tuple[str, str | None], float]


@dataclass
class AlertMemory:
    """What must outlive an entry reload: cooldowns and outages already alerted."""

    cooldowns: Cooldowns = field(default_factory=dict)
    outage_alerted: set[str] = field(default_factory=set)


DATA_ALERT_MEMORY: HassKey[dict[str, AlertMemory]] = HassKey(f"{DOMAIN}_alert_memory")


def chain_link(link: ChainLink) -> dict[str, Any]:
    """One link of a sequence's chain, as the `chain` attribute and alert field show it."""
    return {
        "camera": link.camera,
        "zones": list(link.zones),
        "event_id": link.event_id,
        "observed_at": datetime.fromtimestamp(link.observed_at, UTC).isoformat(),
        "confidence_pct": round(link.confidence_pct, 1),
    }


def _matching_cameras(rule: Condition, evaluation: Evaluation) -> frozenset[str]:
    """Cameras now matching: a rule's per camera, a sequence's last step's camera."""
    if isinstance(rule, Rule):
        return evaluation.matching_cameras
    if evaluation.matched and evaluation.camera is not None:
        return frozenset({evaluation.camera})
    return frozenset()


def alarm_state(hass: HomeAssistant, entity_id: str | None) -> str | None:
    """The state of a rule's alarm panel now (None without one, or while it is missing)."""
    if entity_id is None:
        return None
    state = hass.states.get(entity_id)
    return None if state is None else state.state


class AlarmWatch:
    """Tells which alarm panel changed state, for the rules gated on it."""

    def __init__(self, hass: HomeAssistant, on_change: Callable[[str], None]) -> None:
        self._hass = hass
        self._on_change = on_change
        self._unsub: CALLBACK_TYPE | None = None

    @callback
    def track(self, entity_ids: Iterable[str]) -> None:
        """Watch exactly these panels (the rules' `alarm_entity`s)."""
        self.stop()
        entities = sorted(set(entity_ids))
        if entities:
            self._unsub = async_track_state_change_event(self._hass, entities, self._changed)

    @callback
    def stop(self) -> None:
        """Watch nothing."""
        if self._unsub is not None:
            self._unsub()
            self._unsub = None

    @callback
    def _changed(self, event: Event[EventStateChangedData]) -> None:
        self._on_change(event.data["entity_id"])


class _RuleFields(NamedTuple):
    """What every alert of one rule says, worked out once: it is read on the alert path."""

    rule: Condition
    entity_id: str | None
    action: str
    aggregation: str | None


def forget_entry(hass: HomeAssistant, entry_id: str) -> None:
    """The entry was deleted: drop what its alerts remembered."""
    hass.data.get(DATA_ALERT_MEMORY, {}).pop(entry_id, None)


class AlertManager:
    """Turns rule evaluations into alerts for one config entry."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry_id: str,
        frigate_url: str | None,
    ) -> None:
        self.hass = hass
        self.entry_id = entry_id
        self.frigate_url = frigate_url
        memory = hass.data.setdefault(DATA_ALERT_MEMORY, {}).setdefault(entry_id, AlertMemory())
        self.cooldowns = memory.cooldowns
        self._outage_alerted = memory.outage_alerted
        self.alerts_fired = 0
        self._matching: dict[str, frozenset[str]] = {}
        self._fields: dict[str, _RuleFields] = {}
        self._next_context: Context | None = Context()

    def on_evaluation(
        self, rule: Condition, previous: Evaluation | None, evaluation: Evaluation, now: float
    ) -> list[dict[str, Any]]:
        """Fire the alerts this evaluation earns; their event data (often none)."""
        rule_id = rule.rule_id
        fired: list[dict[str, Any]] = []
        if evaluation.reason in _OUTAGES:
            self._matching[rule_id] = frozenset()
            if evaluation.matched and rule_id not in self._outage_alerted:
                self._outage_alerted.add(rule_id)
                fired.append(self._fire(rule, evaluation, None, now))
            return fired
        if previous is not None:
            # The first evaluation after a (re)load runs before Frigate's retained
            # `available` arrives; it proves nothing about an outage being over.
            self._outage_alerted.discard(rule_id)
        matching = _matching_cameras(rule, evaluation)
        newly = matching - self._matching.get(rule_id, frozenset())
        self._matching[rule_id] = matching
        for camera in sorted(newly):
            last = self.cooldowns.get((rule_id, camera))
            if last is not None and now - last < rule.cooldown_seconds:
                LOGGER.debug("Alert of %s on %s held back by its cooldown", rule.name, camera)
                continue
            self.cooldowns[(rule_id, camera)] = now
            fired.append(self._fire(rule, evaluation, camera, now))
        return fired

    @callback
    def entity_ids_changed(self, _event: Event[er.EventEntityRegistryUpdatedData]) -> None:
        """The entity registry changed: a rule's sensor may have another entity id now."""
        self._fields.clear()

    def forget_rule(self, rule_id: str) -> None:
        """A rule was removed: drop its transition state and cooldowns."""
        self._matching.pop(rule_id, None)
        self._fields.pop(rule_id, None)
        self._outage_alerted.discard(rule_id)
        for key in [key for key in self.cooldowns if key[0] == rule_id]:
            del self.cooldowns[key]

    def reset_cooldown(self, rule_id: str, camera: str | None = None) -> None:
        """Let the next activation alert at once (one camera, or all of the rule's)."""
        for key in [k for k in self.cooldowns if k[0] == rule_id and camera in (None, k[1])]:
            del self.cooldowns[key]

    def _fire(
        self, rule: Condition, evaluation: Evaluation, camera: str | None, now: float
    ) -> dict[str, Any]:
        data = self.alert_data(rule, evaluation, camera, now)
        self.alerts_fired += 1
        # The context that links the alarm panel's change to this alert, made ahead.
        context = self._next_context or Context()
        self._next_context = None
        self.hass.bus.async_fire(EVENT_ALERT, data, context=context)
        if rule.action is Action.ALARM_TRIGGER and rule.alarm_entity:
            self.hass.async_create_background_task(
                self._trigger_alarm(rule, context), f"{DOMAIN} alarm_trigger {rule.name}"
            )
        return data

    def prepare_next_alert(self) -> None:
        """Make the next alert's context now, after the last one reached the websocket.

        A new context draws a ULID: about 20 us on a cold cache where `ulid_transform`
        runs its pure-Python fallback (no compiled wheel for Python 3.14 yet). Made here,
        it is off the alert's way; HA's scripts also fire events with a context made
        before (their run's).
        """
        if self._next_context is None:
            self._next_context = Context()

    async def _trigger_alarm(self, rule: Condition, context: Context) -> None:
        try:
            await self.hass.services.async_call(
                ALARM_DOMAIN,
                SERVICE_ALARM_TRIGGER,
                {"entity_id": rule.alarm_entity},
                blocking=True,
                context=context,
            )
        except Exception as err:
            LOGGER.warning("Rule '%s' could not trigger %s: %s", rule.name, rule.alarm_entity, err)

    def alert_data(
        self, rule: Condition, evaluation: Evaluation, camera: str | None, now: float
    ) -> dict[str, Any]:
        """The `frigate_rules_alert` event data (DESIGN 4.5)."""
        aggregate = evaluation.per_camera.get(camera) if camera is not None else None
        observation = aggregate.observation if aggregate is not None else None
        confidence = aggregate.confidence_pct if aggregate is not None else None
        if isinstance(rule, Sequence) and camera is not None:
            # A sequence alerts for its chain: the last link stands for it.
            observation, confidence = evaluation.observation, evaluation.confidence_pct
        event_id = observation.event_id if observation else None
        fields = self._rule_fields(rule)
        return {
            "rule_id": rule.rule_id,
            "rule_name": rule.name,
            "entity_id": fields.entity_id,
            "action": fields.action,
            "camera": camera,
            "zones": list(observation.zones) if observation else [],
            "label": observation.label if observation else None,
            "event_id": event_id,
            "sub_label": (evaluation.sub_label if camera == evaluation.camera else None)
            or (observation.sub_label if observation else None),
            "confidence_pct": round(confidence, 1) if confidence is not None else None,
            "aggregation": fields.aggregation,
            "within_seconds": rule.within_seconds,
            "reason": evaluation.reason.value,
            "alarm_entity": rule.alarm_entity,
            "alarm_state": alarm_state(self.hass, rule.alarm_entity),
            "observed_at": datetime.fromtimestamp(
                observation.observed_at if observation else now, UTC
            ).isoformat(),
            "thumbnail_url": self._media_url(event_id, "thumbnail.jpg"),
            "snapshot_url": self._media_url(event_id, "snapshot.jpg"),
            # Sequences (DESIGN 4.9) add the chain that matched, step by step.
            **(
                {"chain": [chain_link(link) for link in evaluation.chain]}
                if isinstance(rule, Sequence)
                else {}
            ),
        }

    def _media_url(self, event_id: str | None, name: str) -> str | None:
        if not self.frigate_url or not event_id:
            return None
        return f"{self.frigate_url}/api/events/{event_id}/{name}"

    def _rule_fields(self, rule: Condition) -> _RuleFields:
        fields = self._fields.get(rule.rule_id)
        if fields is None or fields.rule is not rule:
            entity_id = er.async_get(self.hass).async_get_entity_id(
                "binary_sensor", DOMAIN, rule_unique_id(self.entry_id, rule.rule_id)
            )
            aggregation = rule.aggregation.value if isinstance(rule, Rule) else None
            fields = _RuleFields(rule, entity_id, rule.action.value, aggregation)
            self._fields[rule.rule_id] = fields
        return fields
