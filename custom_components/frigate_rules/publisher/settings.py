"""What the publisher connects to and what it publishes, from the entry's options.

All of the broker override lives here: the option keys, their validation for the
options form, and the mapping of Home Assistant's own MQTT entry to paho settings.
Pure except for `resolve_certificate_files`, which touches the disk and so runs in
the executor.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Final

from ..const import (
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
    PUBLISHER_DEFAULTS,
)
from ..core import topics

_LOGGER = logging.getLogger(__name__)

DEFAULT_MQTT_PORT: Final = 1883
REDACTED: Final = "**REDACTED**"
# Where HA's MQTT integration writes the certificates of its entry (its own option
# names); `resolve_certificate_files` asks HA for their paths.
HA_CERT_OPTIONS: Final = ("certificate", "client_cert", "client_key")


@dataclass(frozen=True, slots=True)
class BrokerSettings:
    """Where and how to connect; mirrors what HA's MQTT entry offers that paho supports."""

    host: str
    port: int = DEFAULT_MQTT_PORT
    username: str | None = None
    password: str | None = None
    tls: bool = False
    tls_insecure: bool = False
    ca_certs: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    transport: str = "tcp"
    ws_path: str = "/"
    ws_headers: tuple[tuple[str, str], ...] = ()
    # Certificates of HA's MQTT entry still to be located on disk (see
    # `resolve_certificate_files`), as HA's option names.
    ha_certificates: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.host:
            raise ValueError("broker host is empty")
        if not 0 < self.port < 65536:
            raise ValueError(f"broker port {self.port} out of range")
        if self.transport not in ("tcp", "websockets"):
            raise ValueError(f"unsupported transport {self.transport!r}")

    def __repr__(self) -> str:
        """Like the dataclass repr, with the password redacted."""
        password = None if self.password is None else REDACTED
        return (
            f"BrokerSettings(host={self.host!r}, port={self.port}, username={self.username!r}, "
            f"password={password!r}, tls={self.tls}, tls_insecure={self.tls_insecure}, "
            f"ca_certs={self.ca_certs!r}, client_cert={self.client_cert!r}, "
            f"client_key={self.client_key!r}, transport={self.transport!r}, "
            f"ws_path={self.ws_path!r})"
        )

    @property
    def address(self) -> str:
        """host:port for log lines."""
        return f"{self.host}:{self.port}"

    def diagnostics(self) -> dict[str, Any]:
        """For the diagnostics download: never the credentials."""
        return {
            "host": self.host,
            "port": self.port,
            "username": None if self.username is None else REDACTED,
            "password": None if self.password is None else REDACTED,
            "tls": self.tls,
            "tls_insecure": self.tls_insecure,
            "transport": self.transport,
        }


@dataclass(frozen=True, slots=True)
class PublisherOptions:
    """What to publish and how; validated so that a bad value fails at setup, not later."""

    client_id: str
    base_topic: str = topics.DEFAULT_BASE_TOPIC
    qos: int = 1
    message_expiry_seconds: int = 300
    birth_payload: str = "online"
    will_payload: str = "offline"
    keepalive: int = 30
    # Seconds to wait for CONNACK once the TCP (and TLS) connection stands.
    connack_timeout: float = 10.0
    # A connection that stayed up this long resets the reconnect backoff.
    stable_after: float = 60.0

    def __post_init__(self) -> None:
        if not self.client_id:
            raise ValueError("client_id is empty")
        if not topics.is_valid_topic_base(self.base_topic):
            raise ValueError(f"invalid base topic {self.base_topic!r}")
        if self.qos not in (0, 1, 2):
            raise ValueError(f"invalid qos {self.qos}")
        if self.message_expiry_seconds < 1:
            raise ValueError("message_expiry_seconds must be >= 1")
        if self.keepalive < 1:
            raise ValueError("keepalive must be >= 1")

    def diagnostics(self) -> dict[str, Any]:
        """For the diagnostics download."""
        return {
            "client_id": self.client_id,
            "base_topic": self.base_topic,
            "qos": self.qos,
            "message_expiry_seconds": self.message_expiry_seconds,
            "keepalive": self.keepalive,
        }


def publishing_enabled(options: Mapping[str, Any]) -> bool:
    """Whether the entry's options ask for a publisher at all."""
    return bool({**PUBLISHER_DEFAULTS, **options}[CONF_PUBLISH_ENABLED])


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


def broker_settings(
    options: Mapping[str, Any], mqtt_entry_data: Mapping[str, Any] | None
) -> BrokerSettings | None:
    """The broker to publish to: the options' own, else HA's MQTT broker (or None)."""
    if options.get(CONF_BROKER_HOST):
        return BrokerSettings(
            host=str(options[CONF_BROKER_HOST]),
            port=int(options.get(CONF_BROKER_PORT) or DEFAULT_MQTT_PORT),
            username=options.get(CONF_BROKER_USERNAME) or None,
            password=options.get(CONF_BROKER_PASSWORD) or None,
            tls=bool(options.get(CONF_BROKER_TLS, False)),
            tls_insecure=bool(options.get(CONF_BROKER_TLS_INSECURE, False)),
        )
    if not mqtt_entry_data or not mqtt_entry_data.get("broker"):
        return None
    return settings_from_mqtt_entry(mqtt_entry_data)


def settings_from_mqtt_entry(data: Mapping[str, Any]) -> BrokerSettings:
    """Map HA's MQTT entry to paho settings, as far as paho supports them."""
    certificate = data.get("certificate")
    wanted: list[str] = []
    if certificate and certificate != "auto":
        wanted.append("certificate")
    if data.get("client_cert") and data.get("client_key"):
        wanted += ["client_cert", "client_key"]
    headers = data.get("ws_headers") or {}
    return BrokerSettings(
        host=str(data["broker"]),
        port=int(data.get("port", DEFAULT_MQTT_PORT)),
        username=data.get("username") or None,
        password=data.get("password") or None,
        tls=bool(certificate),
        tls_insecure=bool(data.get("tls_insecure", False)),
        transport=str(data.get("transport", "tcp")),
        ws_path=str(data.get("ws_path", "/")),
        ws_headers=tuple((str(k), str(v)) for k, v in dict(headers).items()),
        ha_certificates=tuple(wanted),
    )


def resolve_certificate_files(
    settings: BrokerSettings, locate: Callable[[str], str | None]
) -> BrokerSettings:
    """Settings with HA's MQTT certificate files located (disk access: executor only).

    `locate` is HA's `mqtt.util.get_file_path`; a certificate it cannot find is left
    out, and paho then verifies against the system's CAs (or has no client cert).
    """
    if not settings.ha_certificates:
        return settings
    found = {option: locate(option) for option in settings.ha_certificates}
    client_cert = found.get("client_cert")
    return replace(
        settings,
        ca_certs=found.get("certificate"),
        client_cert=client_cert,
        client_key=found.get("client_key") if client_cert else None,
        ha_certificates=(),
    )


def build_ssl_context(settings: BrokerSettings) -> ssl.SSLContext | None:
    """The TLS context for `settings` (reads certificate files: run it in an executor)."""
    if not settings.tls:
        return None
    context = ssl.create_default_context(cafile=settings.ca_certs)
    if settings.client_cert:
        context.load_cert_chain(settings.client_cert, settings.client_key)
    return context
