"""Binary sensors: Frigate availability per entry, and one sensor per rule."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from homeassistant.components.binary_sensor import (  # type: ignore[attr-defined]
    BinarySensorDeviceClass,  # const.py since HA 2026.x, re-exported implicitly
    BinarySensorEntity,
)
from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .alerts import chain_link
from .const import SUBENTRY_RULE, SUBENTRY_SEQUENCE
from .core.model import Rule, Sequence
from .engine import Engine
from .entity import (
    NotifiedEntity,
    entry_device,
    rule_device,
    rule_unique_id,
    signal_rule_added,
)
from .notifier import STATS_KEY

if TYPE_CHECKING:
    from .data import FrigateRulesConfigEntry

PARALLEL_UPDATES = 0
# Subentry types with a binary_sensor each.
RULE_TYPES = (SUBENTRY_RULE, SUBENTRY_SEQUENCE)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: FrigateRulesConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Availability now; rule sensors now and whenever a rule is added later."""
    engine = entry.runtime_data.engine
    async_add_entities([FrigateAvailabilitySensor(entry)])

    @callback
    def add_rule(subentry: ConfigSubentry) -> None:
        async_add_entities(
            [RuleBinarySensor(entry, subentry)],
            config_subentry_id=subentry.subentry_id,
        )

    entry.async_on_unload(
        async_dispatcher_connect(hass, signal_rule_added(entry.entry_id), add_rule)
    )
    for subentry in entry.subentries.values():
        if subentry.subentry_type in RULE_TYPES and subentry.subentry_id in engine.rules:
            add_rule(subentry)


class FrigateAvailabilitySensor(NotifiedEntity, BinarySensorEntity):
    """Whether Frigate is reachable: MQTT link, `available` topic, recent messages."""

    _attr_device_class = BinarySensorDeviceClass.CONNECTIVITY
    _attr_entity_category = EntityCategory.DIAGNOSTIC
    _attr_translation_key = "frigate_availability"

    def __init__(self, entry: FrigateRulesConfigEntry) -> None:
        super().__init__(entry.runtime_data.notifier, STATS_KEY)
        self.engine: Engine = entry.runtime_data.engine
        self._attr_unique_id = f"{entry.entry_id}_availability"
        self._attr_device_info = entry_device(entry)

    @property
    def is_on(self) -> bool:
        """On while Frigate is considered available."""
        return self.engine.frigate_available


class RuleBinarySensor(NotifiedEntity, BinarySensorEntity):
    """On while the rule holds; its attributes say why (DESIGN 4.4)."""

    _attr_name = None
    _attr_translation_key = "rule"

    def __init__(
        self,
        entry: FrigateRulesConfigEntry,
        subentry: ConfigSubentry,
    ) -> None:
        super().__init__(entry.runtime_data.notifier, subentry.subentry_id)
        self.engine: Engine = entry.runtime_data.engine
        self.rule_id = subentry.subentry_id
        self._attr_unique_id = rule_unique_id(entry.entry_id, subentry.subentry_id)
        self._attr_device_info = rule_device(
            entry,
            subentry.subentry_id,
            subentry.title,
            "Sequence" if subentry.subentry_type == SUBENTRY_SEQUENCE else "Rule",
        )

    async def async_added_to_hass(self) -> None:
        """Listen to the engine, showing the rule's current evaluation at once."""
        self._attr_is_on, self._attr_extra_state_attributes = self._current()
        await super().async_added_to_hass()

    def _current(self) -> tuple[bool, dict[str, Any]]:
        """State and attributes from the rule's latest evaluation, built once."""
        evaluation = self.engine.evaluations.get(self.rule_id)
        return evaluation is not None and evaluation.matched, self._attributes()

    def _attributes(self) -> dict[str, Any]:
        """Why the rule is in its state."""
        rule = self.engine.rules.get(self.rule_id)
        evaluation = self.engine.evaluations.get(self.rule_id)
        last = self.engine.last_matched.get(self.rule_id)
        observation = evaluation.observation if evaluation else None
        return {
            "rule_id": self.rule_id,
            "cameras": list(rule.cameras) if rule else [],
            "camera": evaluation.camera if evaluation else None,
            "confidence_pct": _round(evaluation.confidence_pct) if evaluation else None,
            "aggregation": str(rule.aggregation) if isinstance(rule, Rule) else None,
            "event_id": observation.event_id if observation else None,
            "label": observation.label if observation else None,
            "zones": list(observation.zones) if observation else [],
            "detections": evaluation.candidates if evaluation else 0,
            "reason": str(evaluation.reason) if evaluation else None,
            "unavailable_cameras": list(evaluation.unavailable_cameras) if evaluation else [],
            "sub_label": evaluation.sub_label if evaluation else None,
            "awaiting_until": _iso(evaluation.awaiting_until) if evaluation else None,
            "last_matched": datetime.fromtimestamp(last, UTC).isoformat() if last else None,
            **(
                {"chain": [chain_link(link) for link in evaluation.chain] if evaluation else []}
                if isinstance(rule, Sequence)
                else {}
            ),
        }

    @callback
    def _refresh(self) -> None:
        """Write only when something a user can see changed.

        Woken by the fan-out's flush, once per rule however many evaluations came
        before, and after the alert has left: writing here holds no event back.
        """
        current = self._current()
        if current == (self._attr_is_on, self._attr_extra_state_attributes):
            return
        self._attr_is_on, self._attr_extra_state_attributes = current
        self.async_write_ha_state()


def _iso(timestamp: float | None) -> str | None:
    return None if timestamp is None else datetime.fromtimestamp(timestamp, UTC).isoformat()


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
