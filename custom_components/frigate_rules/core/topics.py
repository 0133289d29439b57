"""Every MQTT topic the integration reads or writes is built here."""

from __future__ import annotations

import re

DEFAULT_TOPIC_PREFIX = "frigate"
DEFAULT_BASE_TOPIC = "frigate_rules"
OUTPUT_VERSION = "v1"

# Frigate topics we subscribe to (relative to the prefix). Binary snapshot topics and
# per-camera counters are left alone: events carry everything a rule needs.
EVENTS = "events"
REVIEWS = "reviews"
AVAILABLE = "available"
STATS = "stats"
TRACKED_OBJECT_UPDATE = "tracked_object_update"
# Per camera (DESIGN 4.11): `+` is the camera name.
DETECT_STATUS = "+/status/detect"
DETECT_STATE = "+/detect/state"
SUBSCRIBED = (
    EVENTS,
    REVIEWS,
    AVAILABLE,
    STATS,
    TRACKED_OBJECT_UPDATE,
    DETECT_STATUS,
    DETECT_STATE,
)

_UNSAFE_SEGMENT = re.compile(r"[^\w-]+")
_WILDCARDS_OR_NUL = re.compile(r"[+#\x00]")


def sanitize_segment(name: str) -> str:
    """One safe topic level from a user-chosen name (no `+ # /` or NUL).

    Lower-cased with runs of anything but letters, digits, `_` and `-` folded into `_`,
    so that a rule called "Back yard / night" publishes under `back_yard_night`.
    """
    slug = _UNSAFE_SEGMENT.sub("_", name.strip().lower()).strip("_")
    return slug or "unnamed"


def is_valid_topic_base(topic: str) -> bool:
    """True for a publishable topic prefix: non-empty, no wildcards, NUL or empty level."""
    if not topic or len(topic.encode()) > 65535 or _WILDCARDS_OR_NUL.search(topic):
        return False
    return all(topic.split("/"))


def input_topic(prefix: str, name: str) -> str:
    """A Frigate topic under the configured prefix."""
    return f"{prefix}/{name}"


def camera_of(prefix: str, topic: str) -> str | None:
    """The camera in `<prefix>/<camera>/status/detect` or `<prefix>/<camera>/detect/state`."""
    rest = topic.removeprefix(f"{prefix}/")
    camera, _, _ = rest.partition("/")
    return camera or None


def subscribed_topics(prefix: str) -> list[str]:
    """The Frigate topics one entry subscribes to."""
    return [input_topic(prefix, name) for name in SUBSCRIBED]


def status_topic(base: str) -> str:
    """Retained availability of this integration (birth/will)."""
    return f"{base}/status"


RULES = "rules"
SEQUENCES = "sequences"


def rule_alert_topic(base: str, rule_name: str, kind: str = RULES) -> str:
    """Where a rule's (or, with `kind` SEQUENCES, a sequence's) expiring alerts go."""
    return f"{base}/{OUTPUT_VERSION}/{kind}/{sanitize_segment(rule_name)}/alert"


def rule_state_topic(base: str, rule_name: str, kind: str = RULES) -> str:
    """Where a rule's (or a sequence's) retained ON/OFF state goes."""
    return f"{base}/{OUTPUT_VERSION}/{kind}/{sanitize_segment(rule_name)}/state"
