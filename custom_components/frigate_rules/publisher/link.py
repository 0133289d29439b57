"""One paho client, one connection attempt, driven by Home Assistant's event loop.

As HA's own MQTT client does it: the blocking connect runs in the executor; from then
on the socket is watched by the loop (`add_reader` -> `loop_read`, `add_writer` ->
`loop_write` while paho has bytes to send, a one-second timer -> `loop_misc` for the
keepalive). paho's callbacks therefore run on the event loop: no thread of ours, no
locks. The link reports what happened to its owner (the publisher) and nothing else;
a link is never reused, so nothing paho remembers survives a reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from functools import partial
from typing import Any, Final, Literal, Protocol, cast

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from .settings import BrokerSettings

_LOGGER = logging.getLogger(__name__)

MISC_INTERVAL: Final = 1.0
MAX_PACKETS_TO_READ: Final = 500


class LinkOwner(Protocol):
    """What a link tells the publisher."""

    def link_connected(self, link: Link) -> None:
        """CONNACK with success."""

    def link_ended(self, link: Link, why: str, *, silent: bool) -> None:
        """The attempt or connection is over; `silent`: TCP stood but no CONNACK came."""

    def link_acked(self, link: Link, mid: int, reason: ReasonCode) -> None:
        """The broker acknowledged (or refused) a QoS > 0 publish."""

    def callback_failed(self, name: str) -> None:
        """One of our callbacks raised (logged and counted, never propagated)."""


def make_client(
    settings: BrokerSettings,
    ssl_context: Any,
    client_id: str,
    protocol: MQTTProtocolVersion,
) -> mqtt.Client:
    """A paho client for one attempt (no network yet)."""
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=protocol,
        transport=cast(Literal["tcp", "websockets"], settings.transport),
        reconnect_on_failure=False,
    )
    if settings.username:
        client.username_pw_set(settings.username, settings.password)
    if ssl_context is not None:
        client.tls_set_context(ssl_context)
        client.tls_insecure_set(settings.tls_insecure)
    if settings.transport == "websockets":
        client.ws_set_options(path=settings.ws_path, headers=dict(settings.ws_headers) or None)
    client.enable_logger(_LOGGER.getChild("paho"))
    client.suppress_exceptions = True  # ours are contained and counted instead
    return client


class Link:
    """A paho client connecting once; its socket watched by the event loop."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        owner: LinkOwner,
        client: mqtt.Client,
        connack_timeout: float,
    ) -> None:
        self._loop = loop
        self._owner = owner
        self.client = client
        self._connack_timeout = connack_timeout
        self._open = True  # False once ended or closed: callbacks are ignored then
        self.socket_open = False
        self.refusal: ReasonCode | None = None
        self.connected = False
        self._misc_handle: asyncio.TimerHandle | None = None
        self._connack_handle: asyncio.TimerHandle | None = None
        client.on_connect = self._guard(self._on_connect)
        client.on_disconnect = self._guard(self._on_disconnect)
        client.on_publish = self._guard(self._on_publish)
        client.on_socket_close = self._guard(self._on_socket_close)
        client.on_socket_unregister_write = self._guard(self._on_unregister_write)

    async def async_connect(self, host: str, port: int, keepalive: int, **kwargs: Any) -> None:
        """The blocking connect in the executor; its socket callbacks hop to the loop.

        Ends the link (reported to the owner) when the broker cannot be reached.
        """
        client = self.client
        loop = self._loop
        on_open = self._guard(self._on_socket_open)
        on_register = self._guard(self._on_register_write)

        def open_from_executor(*args: Any) -> None:
            loop.call_soon_threadsafe(on_open, *args)

        def register_from_executor(*args: Any) -> None:
            loop.call_soon_threadsafe(on_register, *args)

        client.on_socket_open = open_from_executor
        client.on_socket_register_write = register_from_executor
        try:
            await self._loop.run_in_executor(
                None, partial(client.connect, host, port, keepalive, **kwargs)
            )
        except (OSError, mqtt.WebsocketConnectionError, ValueError) as err:
            self._end(f"connection failed: {err}", silent=False)
            return
        if not self._open:  # closed while connecting: leave no socket behind
            self._close_socket()
            return
        # From here on paho calls these on the event loop, from loop_read/loop_write.
        client.on_socket_open = on_open
        client.on_socket_register_write = on_register

    def publish(
        self,
        topic: str,
        payload: bytes | str,
        qos: int,
        *,
        retain: bool,
        properties: Properties | None = None,
    ) -> mqtt.MQTTMessageInfo:
        """Hand a message to paho; it goes out when the socket is writable."""
        return self.client.publish(topic, payload, qos, retain=retain, properties=properties)

    def disconnect(self) -> None:
        """A clean DISCONNECT (so the broker sends no will), then close; no report."""
        self._open = False
        with contextlib.suppress(Exception):
            self.client.disconnect()
            self.client.loop_write()  # DISCONNECT is small: out now, or never
        self.close()

    def close(self) -> None:
        """Stop watching the socket and close it; later callbacks are ignored."""
        self._open = False
        for handle in (self._misc_handle, self._connack_handle):
            if handle is not None:
                handle.cancel()
        self._misc_handle = self._connack_handle = None
        self._close_socket()

    # -- internals ---------------------------------------------------------------------

    def _guard(self, callback: Callable[..., None]) -> Callable[..., None]:
        """No exception may escape a paho callback: log it and count it instead."""

        def guarded(*args: Any) -> None:
            try:
                callback(*args)
            except Exception:
                _LOGGER.warning(
                    "Unexpected error in MQTT callback %s", callback.__name__, exc_info=True
                )
                self._owner.callback_failed(callback.__name__)

        return guarded

    def _end(self, why: str, *, silent: bool) -> None:
        if self._open:
            self.close()
            self._owner.link_ended(self, why, silent=silent)

    def _close_socket(self) -> None:
        sock = self.client.socket()
        if sock is None:
            return
        with contextlib.suppress(ValueError, OSError):
            self._loop.remove_reader(sock)
            self._loop.remove_writer(sock)
        with contextlib.suppress(OSError):
            sock.close()

    def _on_socket_open(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        if not self._open:
            return
        self.socket_open = True
        self._loop.add_reader(sock, self._guard(self._read))
        self._misc_handle = self._loop.call_later(MISC_INTERVAL, self._misc)
        self._connack_handle = self._loop.call_later(self._connack_timeout, self._no_connack)

    def _on_socket_close(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        with contextlib.suppress(ValueError, OSError):
            self._loop.remove_reader(sock)
            self._loop.remove_writer(sock)
        if self._misc_handle is not None:
            self._misc_handle.cancel()
            self._misc_handle = None

    def _on_register_write(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        if self._open and sock.fileno() > -1:
            self._loop.add_writer(sock, self._guard(self._write))

    def _on_unregister_write(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        with contextlib.suppress(ValueError, OSError):
            self._loop.remove_writer(sock)

    def _read(self) -> None:
        self.client.loop_read(MAX_PACKETS_TO_READ)

    def _write(self) -> None:
        self.client.loop_write()

    def _misc(self) -> None:
        """Keepalive: paho pings, and notices a broker that stopped answering."""
        self._misc_handle = None
        if self._open and self.client.loop_misc() == MQTTErrorCode.MQTT_ERR_SUCCESS:
            self._misc_handle = self._loop.call_later(MISC_INTERVAL, self._misc)

    def _no_connack(self) -> None:
        self._connack_handle = None
        if not self.connected:
            self._end(f"no CONNACK within {self._connack_timeout:g} s", silent=True)

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if not self._open:
            return
        if reason.is_failure:
            self.refusal = reason  # the broker closes the connection next; reported then
            return
        if self._connack_handle is not None:
            self._connack_handle.cancel()
            self._connack_handle = None
        self.connected = True
        self._owner.link_connected(self)

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        silent = self.socket_open and self.refusal is None and not self.connected
        why = f"refused: {self.refusal}" if self.refusal is not None else str(reason)
        self._end(why, silent=silent)

    def _on_publish(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self._owner.link_acked(self, mid, reason)
