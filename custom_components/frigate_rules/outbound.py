"""HA glue for the publisher: which broker, and what rules hand to it.

The publisher keeps its own paho connection (its own last will, MQTT 5 expiry); this
module decides what it connects to (the options' broker, else HA's MQTT broker, with
HA's certificate files located in the executor) and turns rule changes into messages.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from homeassistant.core import HomeAssistant

from .const import LOGGER
from .core import topics
from .core.model import Condition, Sequence
from .publisher import (
    BrokerSettings,
    Publisher,
    broker_settings,
    publisher_options,
    publishing_enabled,
    resolve_certificate_files,
)

MQTT_DOMAIN = "mqtt"


def mqtt_entry_data(hass: HomeAssistant) -> Mapping[str, Any] | None:
    """The data of Home Assistant's own MQTT entry, if there is one."""
    entries = hass.config_entries.async_entries(MQTT_DOMAIN)
    return entries[0].data if entries else None


def configured_broker(hass: HomeAssistant, options: Mapping[str, Any]) -> BrokerSettings | None:
    """The broker the options point at: their own, else HA's MQTT broker."""
    return broker_settings(options, mqtt_entry_data(hass))


async def async_locate_certificates(
    hass: HomeAssistant, settings: BrokerSettings
) -> BrokerSettings:
    """HA's MQTT certificate files on disk (executor: the loop never touches files)."""
    if not settings.ha_certificates:
        return settings
    try:
        from homeassistant.components.mqtt.util import get_file_path
    except ImportError:  # pragma: no cover - moved in some future HA
        return settings
    return await hass.async_add_executor_job(resolve_certificate_files, settings, get_file_path)


class Outbound:
    """One entry's publisher, or none when publishing is off."""

    def __init__(self, hass: HomeAssistant) -> None:
        self.hass = hass
        self.publisher: Publisher | None = None
        self._published: dict[str, bool] = {}

    async def async_start(
        self, entry_id: str, options: Mapping[str, Any], on_change: Callable[[], None]
    ) -> None:
        """Connect in the background (returns without waiting for the broker)."""
        if not publishing_enabled(options):
            return
        settings = configured_broker(self.hass, options)
        if settings is None:
            LOGGER.warning("No broker to publish to: HA's MQTT entry has no broker")
            return
        try:
            settings = await async_locate_certificates(self.hass, settings)
            publisher = Publisher(
                self.hass.loop, settings, publisher_options(entry_id, options), on_change
            )
            await publisher.async_start()
        except Exception as err:
            LOGGER.warning("Publishing to MQTT is off: the publisher could not start (%s)", err)
            return
        self.publisher = publisher

    async def async_stop(self) -> None:
        """`offline` then a clean disconnect."""
        if self.publisher is not None:
            await self.publisher.async_stop()

    @property
    def state(self) -> str:
        """`connected`, `disconnected`, or `disabled` (publishing off)."""
        return "disabled" if self.publisher is None else str(self.publisher.state)

    def rule_state(self, rule: Condition, matched: bool) -> None:
        """A rule's (or sequence's) retained ON/OFF, when it changed."""
        if self.publisher is None or self._published.get(rule.rule_id) == matched:
            return
        self._published[rule.rule_id] = matched
        self.publisher.publish_state(rule.name, matched, _kind(rule))

    def rule_alert(self, rule: Condition, data: Mapping[str, Any]) -> None:
        """A rule's (or sequence's) alert, with message expiry."""
        if self.publisher is not None:
            self.publisher.publish_alert(rule.name, data, _kind(rule))

    def rule_removed(self, rule: Condition) -> None:
        """Clear a removed (or renamed) rule's retained state topic."""
        self._published.pop(rule.rule_id, None)
        if self.publisher is not None:
            self.publisher.clear_state(rule.name, _kind(rule))


def _kind(rule: Condition) -> str:
    """Rules publish under `<base>/v1/rules/...`, sequences under `.../sequences/...`."""
    return topics.SEQUENCES if isinstance(rule, Sequence) else topics.RULES
