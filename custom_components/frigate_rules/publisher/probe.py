"""Test-before-configure: whether this broker takes these credentials.

Used by the options flow before a changed broker is saved. Runs like the publisher:
the blocking connect in the executor, the CONNACK read on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import secrets
from typing import Any, Final

from paho.mqtt.enums import MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from .link import make_client
from .reconnect import PROTOCOL_NAMES, UNSUPPORTED_PROTOCOL
from .settings import BrokerSettings, build_ssl_context

# bad credentials, not authorized, bad authentication method
AUTH_FAILURES: Final = frozenset({0x86, 0x87, 0x8C})


class PublisherError(Exception):
    """Base of the errors raised to the options flow."""


class CannotConnect(PublisherError):
    """The broker could not be reached or did not accept the connection."""


class InvalidAuth(PublisherError):
    """The broker refused the credentials."""


async def async_test_connection(
    loop: asyncio.AbstractEventLoop,
    settings: BrokerSettings,
    timeout: float = 5.0,  # noqa: ASYNC109 - bounds each attempt
) -> str:
    """Connect, wait for CONNACK, disconnect; return the protocol that worked ("5"/"3.1.1").

    Raises InvalidAuth when the broker refuses the credentials and CannotConnect for
    anything else (unreachable, TLS failure, no CONNACK within `timeout`).
    """
    try:
        ssl_context = await loop.run_in_executor(None, build_ssl_context, settings)
    except (OSError, ValueError) as err:
        raise CannotConnect(f"TLS setup failed: {err}") from err
    protocol = MQTTProtocolVersion.MQTTv5
    reason = await _probe(loop, settings, ssl_context, protocol, timeout)
    if reason is None or reason.value == UNSUPPORTED_PROTOCOL:
        protocol = MQTTProtocolVersion.MQTTv311
        reason = await _probe(loop, settings, ssl_context, protocol, timeout)
    if reason is None:
        raise CannotConnect(f"no CONNACK from {settings.address} within {timeout:g} s")
    if reason.value in AUTH_FAILURES:
        raise InvalidAuth(str(reason))
    if reason.is_failure:
        raise CannotConnect(str(reason))
    return PROTOCOL_NAMES[protocol]


async def _probe(
    loop: asyncio.AbstractEventLoop,
    settings: BrokerSettings,
    ssl_context: Any,
    protocol: MQTTProtocolVersion,
    timeout: float,  # noqa: ASYNC109 - bounds the wait for CONNACK
) -> ReasonCode | None:
    """One connect; the CONNACK reason, or None when none came in time."""
    client = make_client(
        settings, ssl_context, f"frigate_rules-probe-{secrets.token_hex(4)}", protocol
    )
    client.connect_timeout = timeout
    answer: asyncio.Future[ReasonCode | None] = loop.create_future()

    def settle(reason: ReasonCode | None) -> None:
        if not answer.done():
            answer.set_result(reason)

    client.on_connect = lambda _c, _u, _f, reason, _p: settle(reason)
    client.on_disconnect = lambda *_args: settle(None)
    try:
        # No socket callbacks are set, so paho writes CONNECT itself, in the executor.
        await loop.run_in_executor(
            None, client.connect, settings.host, settings.port, max(math.ceil(timeout), 5)
        )
    except (OSError, ValueError) as err:
        raise CannotConnect(f"cannot reach {settings.address}: {err}") from err
    sock = client.socket()
    if sock is None:  # pragma: no cover - connect returned without a socket
        return None
    loop.add_reader(sock, client.loop_read)
    try:
        return await asyncio.wait_for(answer, timeout)
    except TimeoutError:
        return None
    finally:
        with contextlib.suppress(ValueError, OSError):
            loop.remove_reader(sock)
        with contextlib.suppress(Exception):
            client.disconnect()  # writes DISCONNECT at once: no socket callbacks are set
        with contextlib.suppress(OSError):
            sock.close()
