"""What is still to be published, and what may no longer be: pure, with an injected clock.

The connection asks the outbox what to send and tells it what the broker acknowledged.
Retained rule states keep only their latest value per topic (a state that could not go
out is simply sent on the next connection); alerts queue up to a bound and are dropped,
never sent late, once older than their expiry. An alert sent but not acknowledged when
the connection drops goes back to the queue with its original age.
"""

from __future__ import annotations

import json
import logging
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

_LOGGER = logging.getLogger(__name__)

ALERT_SCHEMA: Final = "frigate_rules.alert/1"
MAX_QUEUED_ALERTS: Final = 100


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def encode_alert(payload: Mapping[str, Any]) -> bytes:
    """The alert payload as published: the event data plus the schema marker."""
    body = {**payload, "schema": ALERT_SCHEMA}
    return json.dumps(body, default=_json_default, allow_nan=False).encode()


@dataclass(slots=True)
class Alert:
    """One alert message; its age counts from when the rule alerted.

    The payload stays the event data until it is first sent: encoding it is work the
    alert's own message should not wait for.
    """

    topic: str
    payload: bytes | Mapping[str, Any]
    created: float

    def encoded(self) -> bytes:
        """The wire payload (encoded once; raises TypeError/ValueError on junk)."""
        if not isinstance(self.payload, bytes):
            self.payload = encode_alert(self.payload)
        return self.payload


@dataclass(slots=True)
class Sent:
    """A QoS > 0 message handed to paho and not yet acknowledged."""

    topic: str
    payload: bytes
    alert: Alert | None


class Outbox:
    """Alerts and retained states waiting for (or on their way to) the broker."""

    def __init__(
        self,
        clock: Callable[[], float],
        expiry_seconds: float,
        max_alerts: int = MAX_QUEUED_ALERTS,
    ) -> None:
        self._clock = clock
        self._expiry = float(expiry_seconds)
        self._max_alerts = max_alerts
        self._alerts: deque[Alert] = deque()
        self._states: dict[str, bytes] = {}  # latest retained payload per topic, b"" clears
        self._dirty_states: dict[str, None] = {}  # topics whose latest is not sent yet
        self._inflight: dict[int, Sent] = {}
        self.dropped_alerts = 0
        self.dropped_stale = 0

    # -- what comes in ---------------------------------------------------------------

    def add_alert(self, topic: str, payload: bytes | Mapping[str, Any]) -> None:
        """Queue an alert, stamped now; the oldest goes when the queue is full."""
        self._alerts.append(Alert(topic, payload, self._clock()))
        self._trim()

    def set_state(self, topic: str, payload: bytes) -> None:
        """The latest retained state of a topic (an empty payload clears it)."""
        self._states[topic] = payload
        self._dirty_states[topic] = None

    # -- what goes out ---------------------------------------------------------------

    @property
    def has_pending(self) -> bool:
        """Whether anything is waiting to be handed to paho."""
        return bool(self._alerts or self._dirty_states)

    def take_states(self) -> Iterator[tuple[str, bytes]]:
        """Each state not sent since it last changed (once each, oldest change first)."""
        while self._dirty_states:
            topic = next(iter(self._dirty_states))
            del self._dirty_states[topic]
            yield topic, self._states[topic]

    def take_alerts(self) -> Iterator[tuple[Alert, float]]:
        """Each queued alert with its remaining lifetime; stale ones are dropped, counted."""
        while self._alerts:
            alert = self._alerts.popleft()
            remaining = self._expiry - (self._clock() - alert.created)
            if remaining <= 0:
                self.dropped_alerts += 1
                self.dropped_stale += 1
                _LOGGER.debug("Dropped an alert on %s older than its expiry", alert.topic)
                continue
            yield alert, remaining

    def put_back(self, alert: Alert) -> None:
        """An alert taken but not handed over (no connection): first in line again."""
        self._alerts.appendleft(alert)
        self._trim()

    def state_unsent(self, topic: str) -> None:
        """A state taken but not handed over: send it again next time."""
        self._dirty_states[topic] = None

    # -- what the broker says ----------------------------------------------------------

    def handed_over(self, mid: int, topic: str, payload: bytes, alert: Alert | None) -> None:
        """Paho took a QoS > 0 message with this message id."""
        self._inflight[mid] = Sent(topic, payload, alert)

    def acknowledged(self, mid: int) -> Sent | None:
        """The broker acknowledged `mid`; what it was, if we were waiting for it."""
        sent = self._inflight.pop(mid, None)
        if sent is not None and sent.payload == b"" and self._states.get(sent.topic) == b"":
            # A clear only needs to reach the broker once; ON/OFF are kept to restore
            # them after a broker restart that lost its retained messages.
            del self._states[sent.topic]
        return sent

    def forget_cleared(self, topic: str) -> None:
        """A QoS 0 clear went out: nothing will acknowledge it, and nothing to restore."""
        if self._states.get(topic) == b"":
            del self._states[topic]

    def connection_lost(self) -> None:
        """Unacknowledged alerts go back to the queue in age order; states are resent."""
        alerts = sorted(
            (sent.alert for sent in self._inflight.values() if sent.alert is not None),
            key=lambda alert: alert.created,
        )
        self._inflight.clear()
        self._alerts.extendleft(reversed(alerts))
        self._trim()

    def connected(self) -> None:
        """A new connection: every retained state is published again."""
        for topic in self._states:
            self._dirty_states[topic] = None

    def discard(self) -> None:
        """Stopping: queued alerts are never delivered (counted)."""
        self.dropped_alerts += len(self._alerts)
        self._alerts.clear()
        self._inflight.clear()
        self._dirty_states.clear()

    # -- numbers ---------------------------------------------------------------------

    @property
    def queued(self) -> int:
        """Alerts waiting for a connection."""
        return len(self._alerts)

    @property
    def inflight(self) -> int:
        """Messages handed to paho and not yet acknowledged."""
        return len(self._inflight)

    @property
    def pending_states(self) -> int:
        """Retained states remembered for the next connection."""
        return len(self._states)

    def diagnostics(self) -> dict[str, Any]:
        """What is waiting and what was lost, for the diagnostics download."""
        return {
            "dropped_alerts": self.dropped_alerts,
            "dropped_stale": self.dropped_stale,
            "queued": self.queued,
            "oldest_queued_age": self.oldest_age(),
            "pending_states": self.pending_states,
            "inflight": self.inflight,
        }

    def oldest_age(self) -> float | None:
        """Age of the oldest queued alert (seconds), None when none is queued."""
        return self._clock() - self._alerts[0].created if self._alerts else None

    def _trim(self) -> None:
        while len(self._alerts) > self._max_alerts:
            dropped = self._alerts.popleft()
            self.dropped_alerts += 1
            _LOGGER.debug("Alert queue full; dropped the oldest alert on %s", dropped.topic)
