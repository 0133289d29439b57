"""HA glue for the publisher: broker settings, rule states and alerts to MQTT.

The publisher keeps its own paho connection (its own last will, MQTT 5 expiry); this
module decides what it connects to and feeds it from the engine and the alerts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from homeassistant.core import HomeAssistant, callback

from .alerts import AlertManager
from .const import (
    CONF_BASE_TOPIC,
    CONF_BIRTH_PAYLOAD,
    CONF_BROKER_HOST,
    CONF_BROKER_PASSWORD,
    CONF_BROKER_PORT,
    CONF_BROKER_TLS,
    CONF_BROKER_TLS_INSECURE,
    CONF_BROKER_USERNAME,
    CONF_MESSAGE_EXPIRY_SECONDS,
    CONF_PUBLISH_ENABLED,
    CONF_QOS,
    CONF_WILL_PAYLOAD,
    DOMAIN,
    LOGGER,
    PUBLISHER_DEFAULTS,
)
from .core.model import Evaluation, Rule
from .engine import Engine
from .publisher import BrokerSettings, Publisher, PublisherOptions

MQTT_DOMAIN = "mqtt"
DEFAULT_MQTT_PORT = 1883


def publisher_options(entry_id: str, options: Mapping[str, Any]) -> PublisherOptions:
    """Publisher options from the entry options (defaults per DESIGN 4.1)."""
    merged = {**PUBLISHER_DEFAULTS, **options}
    return PublisherOptions(
        # The tail, not the head: entry ids are ULIDs whose first characters are the
        # creation time, so entries made within a second would share a client id and
        # knock each other off the broker. 22 characters fit MQTT 3.1.1's 23.
        client_id=f"{DOMAIN}-{entry_id[-8:]}",
        base_topic=str(merged[CONF_BASE_TOPIC]),
        qos=int(merged[CONF_QOS]),
        message_expiry_seconds=int(merged[CONF_MESSAGE_EXPIRY_SECONDS]),
        birth_payload=str(merged[CONF_BIRTH_PAYLOAD]),
        will_payload=str(merged[CONF_WILL_PAYLOAD]),
    )


def broker_settings(hass: HomeAssistant, options: Mapping[str, Any]) -> BrokerSettings | None:
    """The broker to publish to: the options' own, else HA's MQTT broker."""
    if options.get(CONF_BROKER_HOST):
        return BrokerSettings(
            host=str(options[CONF_BROKER_HOST]),
            port=int(options.get(CONF_BROKER_PORT) or DEFAULT_MQTT_PORT),
            username=options.get(CONF_BROKER_USERNAME) or None,
            password=options.get(CONF_BROKER_PASSWORD) or None,
            tls=bool(options.get(CONF_BROKER_TLS, False)),
            tls_insecure=bool(options.get(CONF_BROKER_TLS_INSECURE, False)),
        )
    entries = hass.config_entries.async_entries(MQTT_DOMAIN)
    if not entries or not entries[0].data.get("broker"):
        return None
    return settings_from_mqtt_entry(entries[0].data)


def settings_from_mqtt_entry(data: Mapping[str, Any]) -> BrokerSettings:
    """Map HA's MQTT entry to paho settings, as far as paho supports them."""
    certificate = data.get("certificate")
    ca_certs = _mqtt_cert_file("certificate") if certificate and certificate != "auto" else None
    client_cert = _mqtt_cert_file("client_cert") if data.get("client_cert") else None
    client_key = _mqtt_cert_file("client_key") if data.get("client_key") else None
    headers = data.get("ws_headers") or {}
    return BrokerSettings(
        host=str(data["broker"]),
        port=int(data.get("port", DEFAULT_MQTT_PORT)),
        username=data.get("username") or None,
        password=data.get("password") or None,
        tls=bool(certificate),
        tls_insecure=bool(data.get("tls_insecure", False)),
        ca_certs=ca_certs,
        client_cert=client_cert,
        client_key=client_key if client_cert else None,
        transport=str(data.get("transport", "tcp")),
        ws_path=str(data.get("ws_path", "/")),
        ws_headers=tuple((str(k), str(v)) for k, v in dict(headers).items()),
    )


def _mqtt_cert_file(option: str) -> str | None:
    """Where HA's MQTT integration wrote a certificate from its entry, if it did."""
    try:
        from homeassistant.components.mqtt.util import get_file_path
    except ImportError:  # pragma: no cover - moved in some future HA
        return None
    return get_file_path(option)


class Outbound:
    """Feeds one entry's publisher: rule states, alerts, removals."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry_id: str,
        options: Mapping[str, Any],
        engine: Engine,
        alerts: AlertManager,
    ) -> None:
        self.hass = hass
        self.engine = engine
        self.publisher: Publisher | None = None
        self._published: dict[str, bool] = {}
        if not {**PUBLISHER_DEFAULTS, **options}[CONF_PUBLISH_ENABLED]:
            return
        settings = broker_settings(hass, options)
        if settings is None:
            LOGGER.warning("No broker to publish to: HA's MQTT entry has no broker")
            return
        self.publisher = Publisher(
            hass.loop, settings, publisher_options(entry_id, options), self._on_change
        )
        engine.rule_hooks.append(self._on_evaluation)
        alerts.sinks.append(self._on_alert)

    async def async_start(self) -> None:
        """Connect (returns at once; paho connects on its own thread)."""
        if self.publisher is None:
            return
        try:
            await self.publisher.async_start()
        except Exception as err:
            LOGGER.warning("Publishing to MQTT is off: the publisher could not start (%s)", err)
            self.publisher = None
        self._on_change()

    async def async_stop(self) -> None:
        """`offline` then a clean disconnect."""
        if self.publisher is not None:
            await self.publisher.async_stop()

    @property
    def state(self) -> str:
        """`connected`, `disconnected`, or `disabled` (publishing off)."""
        return "disabled" if self.publisher is None else str(self.publisher.state)

    @callback
    def _on_change(self) -> None:
        # Coalesced: the publisher reports a change for every message it sends, and
        # nine diagnostic entities redrawn per alert would slow the alert path down.
        self.engine.stats_changed()

    def _on_evaluation(
        self, rule: Rule, previous: Evaluation | None, evaluation: Evaluation, now: float
    ) -> None:
        if self.publisher is None or self._published.get(rule.rule_id) == evaluation.matched:
            return
        self._published[rule.rule_id] = evaluation.matched
        self._later(self.publisher.publish_state, rule.name, evaluation.matched)

    def _on_alert(self, rule: Rule, data: dict[str, Any]) -> None:
        if self.publisher is not None:
            self._later(self.publisher.publish_alert, rule.name, data)

    def rule_removed(self, rule: Rule) -> None:
        """Clear a removed (or renamed) rule's retained state topic."""
        self._published.pop(rule.rule_id, None)
        if self.publisher is not None:
            self._later(self.publisher.clear_state, rule.name)

    def _later(self, publish: Callable[..., None], *args: Any) -> None:
        """Publish in the loop's next pass, after this message's own work.

        Encoding and handing a message to paho costs a few tenths of a millisecond;
        done inline it would delay the bus event's delivery (automations, websocket
        clients) that the same MQTT message just produced. call_soon keeps the order.
        """
        self.hass.loop.call_soon(publish, *args)
