"""Own MQTT connection that publishes availability, rule states and expiring alerts.

Why a connection of its own: the availability of this integration needs its own last
will, and alerts need the MQTT 5 `MessageExpiryInterval`, which Home Assistant's MQTT
publish API does not offer on the versions we support.

Threading model: every connection attempt gets a fresh paho client whose network
thread (`loop_start`) calls back into this module; those callbacks only hand their
facts to the event loop with `call_soon_threadsafe`. All state, counters, queues and
every `publish` call live on the event loop. A fresh client per attempt means paho
never re-sends a message on its own after a reconnect, so this module decides what
is still worth sending (an alert older than its expiry is dropped, never sent late).

No Home Assistant import here: the glue hands in `hass.loop` and plain settings.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import math
import random
import secrets
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum, StrEnum
from typing import Any, Concatenate, Literal, cast

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from .core import topics

_LOGGER = logging.getLogger(__name__)

ALERT_SCHEMA = "frigate_rules.alert/1"
MAX_QUEUED_ALERTS = 100
BACKOFF_STEPS: tuple[float, ...] = (1, 2, 4, 8, 16, 32, 60)
BACKOFF_JITTER = 0.2
STATUS_QOS = 1
STOP_ACK_TIMEOUT = 3.0
WATCHDOG_INTERVAL = 5.0
# Consecutive attempts that got a TCP connection but no CONNACK before the protocol
# is switched: a 3.1.1-only broker may just close or hang on an MQTT 5 CONNECT
# (amqtt hangs), but one such attempt can also be a broker that is restarting.
SILENT_FAILURES_BEFORE_SWITCH = 2
PROTOCOL_NAMES = {MQTTProtocolVersion.MQTTv5: "5", MQTTProtocolVersion.MQTTv311: "3.1.1"}
_UNSUPPORTED_PROTOCOL = 0x84
_AUTH_FAILURES = frozenset({0x86, 0x87, 0x8C})  # bad credentials, not authorized, bad method
_REDACTED = "**REDACTED**"


class PublisherError(Exception):
    """Base of the errors raised to the options flow."""


class CannotConnect(PublisherError):
    """The broker could not be reached or did not accept the connection."""


class InvalidAuth(PublisherError):
    """The broker refused the credentials."""


class PublisherState(StrEnum):
    """What the publisher state sensor shows."""

    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    DISABLED = "disabled"


@dataclass(frozen=True, slots=True)
class BrokerSettings:
    """Where and how to connect; mirrors what HA's MQTT entry offers that paho supports."""

    host: str
    port: int = 1883
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

    def __post_init__(self) -> None:
        if not self.host:
            raise ValueError("broker host is empty")
        if not 0 < self.port < 65536:
            raise ValueError(f"broker port {self.port} out of range")
        if self.transport not in ("tcp", "websockets"):
            raise ValueError(f"unsupported transport {self.transport!r}")

    def __repr__(self) -> str:
        """Like the dataclass repr, with the password redacted."""
        password = None if self.password is None else _REDACTED
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


def backoff_delay(failures: int, rng: random.Random | None = None) -> float:
    """Seconds before the next attempt after `failures` consecutive failed attempts.

    1, 2, 4, 8, 16, 32, 60 s with +-20 % jitter (so that many clients do not
    reconnect in lockstep after a broker restart), never above 60 s.
    """
    base = BACKOFF_STEPS[min(max(failures, 0), len(BACKOFF_STEPS) - 1)]
    jitter = (rng or random).uniform(1 - BACKOFF_JITTER, 1 + BACKOFF_JITTER)
    return min(base * jitter, BACKOFF_STEPS[-1])


def build_ssl_context(settings: BrokerSettings) -> ssl.SSLContext | None:
    """The TLS context for `settings` (reads certificate files: run it in an executor)."""
    if not settings.tls:
        return None
    context = ssl.create_default_context(cafile=settings.ca_certs)
    if settings.client_cert:
        context.load_cert_chain(settings.client_cert, settings.client_key)
    return context


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


def _make_client(
    settings: BrokerSettings,
    ssl_context: ssl.SSLContext | None,
    client_id: str,
    protocol: MQTTProtocolVersion,
    userdata: Any = None,
) -> mqtt.Client:
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=protocol,
        transport=cast(Literal["tcp", "websockets"], settings.transport),
        userdata=userdata,
        reconnect_on_failure=False,
    )
    if settings.username:
        client.username_pw_set(settings.username, settings.password)
    if ssl_context is not None:
        client.tls_set_context(ssl_context)
        client.tls_insecure_set(settings.tls_insecure)
    if settings.transport == "websockets":
        client.ws_set_options(path=settings.ws_path, headers=dict(settings.ws_headers) or None)
    return client


@dataclass(slots=True)
class _Alert:
    topic: str
    payload: bytes
    created: float  # event-loop time


@dataclass(slots=True)
class _Inflight:
    topic: str
    payload: bytes
    alert: _Alert | None


class _Sent(Enum):
    OK = "ok"
    FAILED = "failed"  # counted as a publish error, not retried
    NO_CONNECTION = "no_connection"  # the client already lost its connection: retry later


def _guarded[**P](
    func: Callable[Concatenate[Publisher, P], None],
) -> Callable[Concatenate[Publisher, P], None]:
    """No exception may escape a paho callback: log it and count it instead."""

    @functools.wraps(func)
    def wrapper(self: Publisher, /, *args: P.args, **kwargs: P.kwargs) -> None:
        try:
            func(self, *args, **kwargs)
        except Exception:
            _LOGGER.warning("Unexpected error in MQTT callback %s", func.__name__, exc_info=True)
            self._post(self._count_callback_error)

    return wrapper


class Publisher:
    """Publishes birth/will, rule states and expiring alerts over its own connection."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        settings: BrokerSettings,
        options: PublisherOptions,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self._loop = loop
        self._settings = settings
        self._options = options
        self._on_change = on_change
        self._status_topic = topics.status_topic(options.base_topic)
        self._ssl_context: ssl.SSLContext | None = None
        self._running = False
        self._state = PublisherState.DISABLED
        self._protocol = MQTTProtocolVersion.MQTTv5
        self._protocol_pinned = False
        self._fallback_logged = False
        self._silent_failures = 0
        self._failures = 0
        # Current attempt; `_gen` tags callbacks so that late ones from an old client
        # are ignored.
        self._client: mqtt.Client | None = None
        self._gen = 0
        self._attempt_active = False
        self._socket_open = False
        self._refusal: ReasonCode | None = None
        self._connected_at: float | None = None
        self._retry_at: float | None = None
        self._last_retry_delay: float | None = None
        self._retry_handle: asyncio.TimerHandle | None = None
        self._connack_handle: asyncio.TimerHandle | None = None
        self._watchdog_handle: asyncio.TimerHandle | None = None
        self._disposals: set[asyncio.Future[None]] = set()
        self._quiet_failures = False  # log only the first failure of a streak at WARNING
        # What to publish.
        self._queue: deque[_Alert] = deque()
        self._states: dict[str, bytes] = {}  # retained state per topic, b"" = clear
        self._inflight: dict[int, _Inflight] = {}
        # Counters for the diagnostic sensors.
        self._attempts = 0
        self.publish_errors = 0
        self.dropped_alerts = 0
        self.dropped_stale = 0
        self.callback_errors = 0
        self.last_error: str | None = None

    # ----------------------------------------------------------------- properties

    @property
    def state(self) -> PublisherState:
        """Connected, disconnected, or disabled (not started or stopped)."""
        return self._state

    @property
    def protocol(self) -> str:
        """MQTT protocol of the current (or next) connection: "5" or "3.1.1"."""
        return PROTOCOL_NAMES[self._protocol]

    @property
    def reconnect_attempts(self) -> int:
        """Connection attempts after the first one since `async_start`."""
        return max(self._attempts - 1, 0)

    @property
    def queued(self) -> int:
        """Alerts waiting for a connection."""
        return len(self._queue)

    def diagnostics(self) -> dict[str, Any]:
        """Everything useful for a bug report; never the password."""
        now = self._loop.time()
        settings = self._settings
        return {
            "state": self._state.value,
            "protocol": self.protocol,
            "broker": {
                "host": settings.host,
                "port": settings.port,
                "username": None if settings.username is None else _REDACTED,
                "password": None if settings.password is None else _REDACTED,
                "tls": settings.tls,
                "tls_insecure": settings.tls_insecure,
                "transport": settings.transport,
            },
            "client_id": self._options.client_id,
            "base_topic": self._options.base_topic,
            "qos": self._options.qos,
            "message_expiry_seconds": self._options.message_expiry_seconds,
            "keepalive": self._options.keepalive,
            "reconnect_attempts": self.reconnect_attempts,
            "consecutive_failures": self._failures,
            "publish_errors": self.publish_errors,
            "dropped_alerts": self.dropped_alerts,
            "dropped_stale": self.dropped_stale,
            "callback_errors": self.callback_errors,
            "queued": self.queued,
            "oldest_queued_age": now - self._queue[0].created if self._queue else None,
            "pending_states": len(self._states),
            "inflight": len(self._inflight),
            "connected_for": None if self._connected_at is None else now - self._connected_at,
            "next_retry_in": None if self._retry_at is None else max(self._retry_at - now, 0.0),
            "last_retry_delay": self._last_retry_delay,
            "last_error": self.last_error,
        }

    # ----------------------------------------------------------------- lifecycle

    async def async_start(self) -> None:
        """Start connecting in the background; returns without waiting for the broker.

        Raises OSError / ssl.SSLError when the TLS files cannot be loaded.
        """
        if self._running:
            return
        if self._settings.tls:
            self._ssl_context = await self._loop.run_in_executor(
                None, build_ssl_context, self._settings
            )
        self._running = True
        self._state = PublisherState.DISCONNECTED
        self._attempts = 0
        self._failures = 0
        self._protocol = MQTTProtocolVersion.MQTTv5  # every start probes MQTT 5 again
        self._protocol_pinned = False
        self._silent_failures = 0
        self._watchdog_handle = self._loop.call_later(WATCHDOG_INTERVAL, self._watchdog)
        try:
            self._start_attempt()
        except BaseException:
            # Leave nothing behind (timer, half-made client) when the first attempt
            # cannot even start, e.g. no socket can be created.
            self._running = False
            self._watchdog_handle.cancel()
            self._watchdog_handle = None
            self._client = None
            self._state = PublisherState.DISABLED
            raise
        self._notify()

    async def async_stop(self) -> None:
        """Publish the will payload (acknowledged, bounded wait), disconnect cleanly."""
        if not self._running:
            return
        self._running = False
        for handle in (self._retry_handle, self._connack_handle, self._watchdog_handle):
            if handle is not None:
                handle.cancel()
        self._retry_handle = self._connack_handle = self._watchdog_handle = None
        self._retry_at = None
        client, was_connected = self._client, self._state is PublisherState.CONNECTED
        self._client = None
        self._gen += 1  # whatever the old client still reports is ignored from now on
        self._attempt_active = False
        info: mqtt.MQTTMessageInfo | None = None
        if client is not None and was_connected:
            with contextlib.suppress(ValueError):
                info = client.publish(
                    self._status_topic, self._options.will_payload, STATUS_QOS, retain=True
                )
        if client is not None:
            self._dispose(client, info)
        if self._disposals:
            await asyncio.gather(*self._disposals, return_exceptions=True)
        self._state = PublisherState.DISABLED
        self._connected_at = None
        self.dropped_alerts += len(self._queue)  # never delivered
        self._queue.clear()
        self._inflight.clear()
        _LOGGER.info("Stopped publishing to MQTT broker %s", self._settings.address)
        self._notify()

    # ----------------------------------------------------------------- publishing

    def publish_alert(self, rule_name: str, payload: Mapping[str, Any]) -> None:
        """Send an alert now, or queue it (bounded) until the connection is back."""
        if not self._running:
            _LOGGER.debug("Publishing disabled; alert of %s not sent", rule_name)
            return
        topic = topics.rule_alert_topic(self._options.base_topic, rule_name)
        try:
            data = encode_alert(payload)
        except (TypeError, ValueError) as err:
            self._publish_error(topic, f"alert payload not serializable: {err}")
            return
        alert = _Alert(topic, data, self._loop.time())
        if self._state is PublisherState.CONNECTED:
            result = self._send_alert(alert)
            if result is _Sent.NO_CONNECTION:
                self._enqueue(alert)
        else:
            self._enqueue(alert)
        self._notify()

    def publish_state(self, rule_name: str, on: bool) -> None:
        """Retained ON/OFF for a rule; while disconnected only the latest is kept."""
        topic = topics.rule_state_topic(self._options.base_topic, rule_name)
        self._set_state(topic, b"ON" if on else b"OFF")

    def clear_state(self, rule_name: str) -> None:
        """Remove a deleted rule's retained state (empty retained payload)."""
        topic = topics.rule_state_topic(self._options.base_topic, rule_name)
        self._set_state(topic, b"")

    def _set_state(self, topic: str, payload: bytes) -> None:
        if not self._running:
            return
        self._states[topic] = payload
        if self._state is PublisherState.CONNECTED:
            self._send_state(topic)

    def _enqueue(self, alert: _Alert) -> None:
        self._queue.append(alert)
        self._trim_queue()

    def _trim_queue(self) -> None:
        while len(self._queue) > MAX_QUEUED_ALERTS:
            dropped = self._queue.popleft()
            self.dropped_alerts += 1
            _LOGGER.debug("Alert queue full; dropped the oldest alert on %s", dropped.topic)

    def _remaining_expiry(self, alert: _Alert) -> float:
        age = self._loop.time() - alert.created
        return self._options.message_expiry_seconds - age

    def _send_alert(self, alert: _Alert) -> _Sent:
        remaining = self._remaining_expiry(alert)
        if remaining <= 0:
            self.dropped_alerts += 1
            self.dropped_stale += 1
            _LOGGER.debug("Dropped an alert on %s older than its expiry", alert.topic)
            return _Sent.FAILED
        properties: Properties | None = None
        if self._protocol == MQTTProtocolVersion.MQTTv5:
            properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
            properties.MessageExpiryInterval = math.ceil(remaining)
        return self._publish(
            alert.topic,
            alert.payload,
            self._options.qos,
            retain=False,
            properties=properties,
            alert=alert,
        )

    def _send_state(self, topic: str) -> _Sent:
        payload = self._states[topic]
        result = self._publish(topic, payload, self._options.qos, retain=True)
        if result is _Sent.OK and self._options.qos == 0:
            self._state_delivered(topic, payload)
        return result

    def _state_delivered(self, topic: str, payload: bytes) -> None:
        # A clear only needs to reach the broker once; ON/OFF are kept to restore them
        # after a broker restart that lost its retained messages.
        if payload == b"" and self._states.get(topic) == b"":
            del self._states[topic]

    def _publish(
        self,
        topic: str,
        payload: bytes | str,
        qos: int,
        *,
        retain: bool,
        properties: Properties | None = None,
        alert: _Alert | None = None,
    ) -> _Sent:
        client = self._client
        if client is None:  # pragma: no cover - callers check the state first
            return _Sent.NO_CONNECTION
        try:
            info = client.publish(topic, payload, qos, retain=retain, properties=properties)
        except ValueError as err:  # pragma: no cover - topics are sanitized, payloads small
            self._publish_error(topic, str(err))
            return _Sent.FAILED
        if info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS:
            if qos > 0:
                data = payload.encode() if isinstance(payload, str) else payload
                self._inflight[info.mid] = _Inflight(topic, data, alert)
            return _Sent.OK
        if info.rc == MQTTErrorCode.MQTT_ERR_NO_CONN:
            return _Sent.NO_CONNECTION
        # Only MQTT_ERR_QUEUE_SIZE is left, which needs a paho queue limit we never set.
        self._publish_error(topic, mqtt.error_string(info.rc))  # pragma: no cover
        return _Sent.FAILED  # pragma: no cover

    def _publish_error(self, topic: str, why: str) -> None:
        self.publish_errors += 1
        self.last_error = f"publish to {topic}: {why}"
        _LOGGER.warning("Could not publish to %s: %s", topic, why)
        self._notify()

    def _flush(self) -> None:
        """After (re)connecting: birth, every retained state, then the queued alerts.

        A state that does not go out stays in `_states` for the next connection anyway.
        """
        self._publish(self._status_topic, self._options.birth_payload, STATUS_QOS, retain=True)
        for topic in list(self._states):
            self._send_state(topic)
        while self._queue:
            alert = self._queue.popleft()
            if self._send_alert(alert) is _Sent.NO_CONNECTION:  # pragma: no cover - race
                self._queue.appendleft(alert)
                return

    # ----------------------------------------------------------------- connection

    def _start_attempt(self) -> None:
        self._retry_handle = None
        self._retry_at = None
        if not self._running:  # pragma: no cover - the handle is cancelled on stop
            return
        self._gen += 1
        self._attempts += 1
        self._attempt_active = True
        self._socket_open = False
        self._refusal = None
        self._connected_at = None
        client = _make_client(
            self._settings, self._ssl_context, self._options.client_id, self._protocol, self._gen
        )
        client.enable_logger(_LOGGER.getChild("paho"))
        client.will_set(self._status_topic, self._options.will_payload, STATUS_QOS, retain=True)
        client.on_socket_open = self._on_socket_open
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        if self._protocol == MQTTProtocolVersion.MQTTv5:
            client.connect_async(
                self._settings.host,
                self._settings.port,
                self._options.keepalive,
                clean_start=True,
            )
        else:
            client.connect_async(self._settings.host, self._settings.port, self._options.keepalive)
        self._client = client
        client.loop_start()
        _LOGGER.debug(
            "Connecting to MQTT broker %s (attempt %d, MQTT %s)",
            self._settings.address,
            self._attempts,
            self.protocol,
        )

    def _dispose(self, client: mqtt.Client, info: mqtt.MQTTMessageInfo | None = None) -> None:
        """Close a client and join its thread off the event loop."""
        future = self._loop.run_in_executor(None, _close_client, client, info)
        self._disposals.add(future)
        future.add_done_callback(self._disposals.discard)

    def _end_attempt(self, why: str, *, silent: bool = False) -> None:
        """The current attempt or connection is over: decide how and when to retry."""
        if not self._attempt_active:
            return
        self._attempt_active = False
        if self._connack_handle is not None:
            self._connack_handle.cancel()
            self._connack_handle = None
        client, self._client = self._client, None
        self._gen += 1
        if client is not None:
            self._dispose(client)
        was_connected = self._connected_at is not None
        if was_connected:
            assert self._connected_at is not None
            if self._loop.time() - self._connected_at >= self._options.stable_after:
                self._failures = 0
        self._connected_at = None
        self._requeue_inflight()
        self._state = PublisherState.DISCONNECTED
        self._choose_protocol(was_connected=was_connected, silent=silent)
        delay = backoff_delay(self._failures)
        self._failures += 1
        self._last_retry_delay = delay
        self._retry_at = self._loop.time() + delay
        self._retry_handle = self._loop.call_later(delay, self._start_attempt)
        self.last_error = why
        if was_connected:
            _LOGGER.info(
                "Disconnected from MQTT broker %s (%s); reconnecting in %.1f s",
                self._settings.address,
                why,
                delay,
            )
        elif not self._quiet_failures:
            self._quiet_failures = True
            _LOGGER.warning(
                "Cannot connect to MQTT broker %s (%s); retrying in %.1f s, with backoff",
                self._settings.address,
                why,
                delay,
            )
        else:
            _LOGGER.debug("Still cannot connect (%s); retrying in %.1f s", why, delay)
        self._notify()

    def _choose_protocol(self, *, was_connected: bool, silent: bool) -> None:
        """Fall back to 3.1.1 for brokers that refuse or ignore an MQTT 5 CONNECT."""
        if was_connected or self._protocol_pinned:
            return
        refusal = self._refusal
        if refusal is not None and refusal.value == _UNSUPPORTED_PROTOCOL:
            if self._protocol == MQTTProtocolVersion.MQTTv5:
                self._protocol = MQTTProtocolVersion.MQTTv311
            self._protocol_pinned = True
            return
        if not silent:
            self._silent_failures = 0
            return
        self._silent_failures += 1
        if self._silent_failures >= SILENT_FAILURES_BEFORE_SWITCH:
            # Unproven either way: alternate until one protocol gets a CONNACK.
            self._silent_failures = 0
            self._protocol = (
                MQTTProtocolVersion.MQTTv311
                if self._protocol == MQTTProtocolVersion.MQTTv5
                else MQTTProtocolVersion.MQTTv5
            )
            _LOGGER.debug("No CONNACK twice; trying MQTT %s next", self.protocol)

    def _requeue_inflight(self) -> None:
        """Unacknowledged alerts go back to the queue; their age still counts."""
        alerts = sorted(
            (item.alert for item in self._inflight.values() if item.alert is not None),
            key=lambda alert: alert.created,
        )
        self._inflight.clear()
        self._queue.extendleft(reversed(alerts))
        self._trim_queue()

    def _watchdog(self) -> None:
        """Catch a paho network thread that ended without telling us.

        paho's loop can end without a callback (e.g. its socket closed under it, or
        an exception inside paho); its client then sets `_thread` to None (private,
        but the only liveness signal paho offers) or drops out of the connected state.
        """
        self._watchdog_handle = self._loop.call_later(WATCHDOG_INTERVAL, self._watchdog)
        client = self._client
        if client is None or not self._attempt_active:
            return
        thread: threading.Thread | None = getattr(client, "_thread", None)
        lost = self._state is PublisherState.CONNECTED and not client.is_connected()
        if thread is None or not thread.is_alive() or lost:
            self._ended(self._gen, "network loop ended")

    # ------------------------------------------------ event-loop side of callbacks

    def _socket_opened(self, gen: int) -> None:
        if gen != self._gen or not self._attempt_active:
            return
        self._socket_open = True
        self._connack_handle = self._loop.call_later(
            self._options.connack_timeout, self._connack_timed_out, gen
        )

    def _connack_timed_out(self, gen: int) -> None:
        self._connack_handle = None
        if gen != self._gen or self._connected_at is not None:  # pragma: no cover - cancelled
            return
        self._end_attempt(f"no CONNACK within {self._options.connack_timeout:g} s", silent=True)

    def _connected(self, gen: int) -> None:
        if gen != self._gen or not self._attempt_active:
            return
        if self._connack_handle is not None:
            self._connack_handle.cancel()
            self._connack_handle = None
        self._connected_at = self._loop.time()
        self._state = PublisherState.CONNECTED
        self._protocol_pinned = True
        self._silent_failures = 0
        self._quiet_failures = False
        _LOGGER.info(
            "Connected to MQTT broker %s (MQTT %s) as %s",
            self._settings.address,
            self.protocol,
            self._options.client_id,
        )
        if self._protocol != MQTTProtocolVersion.MQTTv5 and not self._fallback_logged:
            self._fallback_logged = True
            _LOGGER.warning(
                "MQTT broker %s does not accept MQTT 5; publishing over MQTT 3.1.1, "
                "so alerts carry no message expiry",
                self._settings.address,
            )
        self._flush()
        self._notify()

    def _refused(self, gen: int, reason: ReasonCode) -> None:
        if gen != self._gen or not self._attempt_active:
            return
        self._refusal = reason  # logged when the attempt ends

    def _ended(self, gen: int, why: str) -> None:
        if gen != self._gen:
            return
        silent = self._socket_open and self._refusal is None and self._connected_at is None
        if self._refusal is not None:
            why = f"refused: {self._refusal}"
        self._end_attempt(why, silent=silent)

    def _acked(self, gen: int, mid: int, reason: ReasonCode) -> None:
        if gen != self._gen:
            return
        item = self._inflight.pop(mid, None)
        if item is None:
            return
        if reason.is_failure:
            self._publish_error(item.topic, f"refused by the broker: {reason}")
            return
        self._state_delivered(item.topic, item.payload)

    def _count_callback_error(self) -> None:
        self.callback_errors += 1
        self._notify()

    def _notify(self) -> None:
        if self._on_change is None:
            return
        try:
            self._on_change()
        except Exception:
            _LOGGER.exception("Error in publisher change listener")

    # ------------------------------------------ paho callbacks (paho's own thread)

    def _post(self, callback: Callable[..., None], *args: Any) -> None:
        try:
            self._loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # the event loop is closed (shutdown)
            _LOGGER.debug("Event loop closed; dropped %s", getattr(callback, "__name__", ""))

    @_guarded
    def _on_socket_open(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        self._post(self._socket_opened, userdata)

    @_guarded
    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason.is_failure:
            self._post(self._refused, userdata, reason)
        else:
            self._post(self._connected, userdata)

    @_guarded
    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        # Stop paho's own retry of the first connection: we schedule retries ourselves.
        client.disconnect()
        self._post(self._ended, userdata, "connection failed")

    @_guarded
    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self._post(self._ended, userdata, str(reason))

    @_guarded
    def _on_publish(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self._post(self._acked, userdata, mid, reason)


def _close_client(client: mqtt.Client, info: mqtt.MQTTMessageInfo | None) -> None:
    """Blocking: wait (bounded) for `info` to be acknowledged, disconnect, join the thread.

    Never raises: it runs as a fire-and-forget executor job.
    """
    if info is not None:
        try:
            info.wait_for_publish(STOP_ACK_TIMEOUT)
        except (ValueError, RuntimeError) as err:
            _LOGGER.warning("Could not publish the offline status: %s", err)
        else:
            if not info.is_published():
                _LOGGER.warning("Offline status not acknowledged within %.0f s", STOP_ACK_TIMEOUT)
    try:
        client.disconnect()
    except Exception:  # pragma: no cover - a socket closed under paho; nothing to save
        _LOGGER.debug("Error while disconnecting an ended MQTT client", exc_info=True)
    client.loop_stop()


# --------------------------------------------------------------------- test-before-configure


async def async_test_connection(
    loop: asyncio.AbstractEventLoop,
    settings: BrokerSettings,
    timeout: float = 5.0,  # noqa: ASYNC109 - bounds the blocking probe in the executor
) -> str:
    """Connect, wait for CONNACK, disconnect; return the protocol that worked ("5"/"3.1.1").

    Raises InvalidAuth when the broker refuses the credentials and CannotConnect for
    anything else (unreachable, TLS failure, no CONNACK within `timeout`). Runs the
    blocking paho client in the executor, never on the event loop.
    """
    return await loop.run_in_executor(None, _test_connection, settings, timeout)


def _test_connection(settings: BrokerSettings, timeout: float) -> str:
    try:
        ssl_context = build_ssl_context(settings)
    except (OSError, ValueError) as err:
        raise CannotConnect(f"TLS setup failed: {err}") from err
    reason = _probe(settings, ssl_context, MQTTProtocolVersion.MQTTv5, timeout)
    protocol = MQTTProtocolVersion.MQTTv5
    if reason is None or reason.value == _UNSUPPORTED_PROTOCOL:
        protocol = MQTTProtocolVersion.MQTTv311
        reason = _probe(settings, ssl_context, protocol, timeout)
    if reason is None:
        raise CannotConnect(f"no CONNACK from {settings.address} within {timeout:g} s")
    if reason.value in _AUTH_FAILURES:
        raise InvalidAuth(str(reason))
    if reason.is_failure:
        raise CannotConnect(str(reason))
    return PROTOCOL_NAMES[protocol]


def _probe(
    settings: BrokerSettings,
    ssl_context: ssl.SSLContext | None,
    protocol: MQTTProtocolVersion,
    timeout: float,
) -> ReasonCode | None:
    """One blocking connect; the CONNACK reason, or None when none came."""
    client = _make_client(
        settings, ssl_context, f"frigate_rules-probe-{secrets.token_hex(4)}", protocol
    )
    client.enable_logger(_LOGGER.getChild("paho"))
    client.connect_timeout = timeout
    reasons: list[ReasonCode] = []
    done = threading.Event()

    def on_connect(*args: Any) -> None:
        reasons.append(args[3])
        done.set()

    client.on_connect = on_connect
    deadline = time.monotonic() + timeout
    try:
        client.connect(settings.host, settings.port, keepalive=max(math.ceil(timeout), 5))
    except OSError as err:
        raise CannotConnect(f"cannot reach {settings.address}: {err}") from err
    try:
        while not done.is_set() and time.monotonic() < deadline:
            if client.loop(timeout=0.05) != MQTTErrorCode.MQTT_ERR_SUCCESS:
                break
    finally:
        client.disconnect()
    return reasons[0] if reasons else None
