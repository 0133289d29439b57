"""Names and defaults from the product contract (DESIGN 4.1, 4.2)."""

from __future__ import annotations

import logging
from typing import Final

DOMAIN: Final = "frigate_rules"
LOGGER = logging.getLogger(__package__)

SUBENTRY_RULE: Final = "rule"
SUBENTRY_SEQUENCE: Final = "sequence"
EVENT_ALERT: Final = "frigate_rules_alert"

# Entry data
CONF_TOPIC_PREFIX: Final = "topic_prefix"
CONF_FRIGATE_URL: Final = "frigate_url"
# Frigate's authenticated port (8971) needs a login for its API (DESIGN 4.10).
CONF_FRIGATE_USERNAME: Final = "frigate_username"
CONF_FRIGATE_PASSWORD: Final = "frigate_password"

# Entry options
CONF_RETENTION_SECONDS: Final = "retention_seconds"
CONF_MAX_OBSERVATIONS: Final = "max_observations"
CONF_AVAILABILITY_GRACE_SECONDS: Final = "availability_grace_seconds"
CONF_FALLBACK_POLL_SECONDS: Final = "fallback_poll_seconds"
CONF_MIN_RECOGNITION_PCT: Final = "min_recognition_pct"

DEFAULT_RETENTION_SECONDS: Final = 600
DEFAULT_MAX_OBSERVATIONS: Final = 50_000
DEFAULT_AVAILABILITY_GRACE_SECONDS: Final = 180
DEFAULT_FALLBACK_POLL_SECONDS: Final = 5
DEFAULT_MIN_RECOGNITION_PCT: Final = 90

# (min, max) per numeric option; checked in the flow so errors are translated.
OPTION_RANGES: Final[dict[str, tuple[int, int]]] = {
    CONF_RETENTION_SECONDS: (10, 86_400),
    CONF_MAX_OBSERVATIONS: (1_000, 1_000_000),
    CONF_AVAILABILITY_GRACE_SECONDS: (0, 3_600),
    CONF_FALLBACK_POLL_SECONDS: (2, 60),
    CONF_MIN_RECOGNITION_PCT: (50, 100),
}
OPTION_DEFAULTS: Final[dict[str, int]] = {
    CONF_RETENTION_SECONDS: DEFAULT_RETENTION_SECONDS,
    CONF_MAX_OBSERVATIONS: DEFAULT_MAX_OBSERVATIONS,
    CONF_AVAILABILITY_GRACE_SECONDS: DEFAULT_AVAILABILITY_GRACE_SECONDS,
    CONF_FALLBACK_POLL_SECONDS: DEFAULT_FALLBACK_POLL_SECONDS,
    CONF_MIN_RECOGNITION_PCT: DEFAULT_MIN_RECOGNITION_PCT,
}

# Diagnostics keep this many recent items.
DIAG_PARSE_FAILURES: Final = 20
DIAG_OBSERVATIONS: Final = 50

# Diagnostic counter entities are written at most this often (seconds): they change
# on every message and must not flood the state machine and the recorder.
STATS_WRITE_INTERVAL: Final = 1.0

# Publisher options (DESIGN 4.1)
CONF_PUBLISH_ENABLED: Final = "publish_enabled"
CONF_BASE_TOPIC: Final = "base_topic"
CONF_MESSAGE_EXPIRY_SECONDS: Final = "message_expiry_seconds"
CONF_QOS: Final = "qos"
CONF_BIRTH_PAYLOAD: Final = "birth_payload"
CONF_WILL_PAYLOAD: Final = "will_payload"
CONF_BROKER_HOST: Final = "broker_host"
CONF_BROKER_PORT: Final = "broker_port"
CONF_BROKER_USERNAME: Final = "broker_username"
CONF_BROKER_PASSWORD: Final = "broker_password"
CONF_BROKER_TLS: Final = "broker_tls"
CONF_BROKER_TLS_INSECURE: Final = "broker_tls_insecure"

PUBLISHER_DEFAULTS: Final[dict[str, object]] = {
    CONF_PUBLISH_ENABLED: True,
    CONF_BASE_TOPIC: "frigate_rules",
    CONF_MESSAGE_EXPIRY_SECONDS: 300,
    CONF_QOS: 1,
    CONF_BIRTH_PAYLOAD: "online",
    CONF_WILL_PAYLOAD: "offline",
}
PUBLISHER_RANGES: Final[dict[str, tuple[int, int]]] = {
    CONF_MESSAGE_EXPIRY_SECONDS: (60, 3_600),
    CONF_QOS: (0, 2),
    CONF_BROKER_PORT: (1, 65_535),
}
BROKER_KEYS: Final = (
    CONF_BROKER_HOST,
    CONF_BROKER_PORT,
    CONF_BROKER_USERNAME,
    CONF_BROKER_PASSWORD,
    CONF_BROKER_TLS,
    CONF_BROKER_TLS_INSECURE,
)
