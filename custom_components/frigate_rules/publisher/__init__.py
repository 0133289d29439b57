"""The publisher: our own MQTT connection for availability, rule states and alerts.

Split by job: `settings` (what to connect to and publish, from the options), `outbox`
(what is still to be sent, pure), `connection` (paho driven by HA's event loop) and
`probe` (test-before-configure for the options flow).
"""

from __future__ import annotations

from .connection import Publisher, PublisherState
from .outbox import ALERT_SCHEMA, encode_alert
from .probe import CannotConnect, InvalidAuth, PublisherError, async_test_connection
from .reconnect import backoff_delay
from .settings import (
    BrokerSettings,
    PublisherOptions,
    broker_settings,
    publisher_options,
    publishing_enabled,
    resolve_certificate_files,
)

__all__ = [
    "ALERT_SCHEMA",
    "BrokerSettings",
    "CannotConnect",
    "InvalidAuth",
    "Publisher",
    "PublisherError",
    "PublisherOptions",
    "PublisherState",
    "async_test_connection",
    "backoff_delay",
    "broker_settings",
    "encode_alert",
    "publisher_options",
    "publishing_enabled",
    "resolve_certificate_files",
]
