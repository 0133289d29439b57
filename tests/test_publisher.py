"""The outbound publisher against real brokers (Mosquitto for MQTT 5, amqtt for 3.1.1).

Every observation goes through a real paho subscriber written here, so what is
asserted is what a downstream consumer would see on the wire.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, cast

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from custom_components.frigate_rules.publisher import (
    ALERT_SCHEMA,
    BrokerSettings,
    CannotConnect,
    InvalidAuth,
    Publisher,
    PublisherOptions,
    PublisherState,
    async_test_connection,
    backoff_delay,
)
from custom_components.frigate_rules.publisher import connection as pubmod
from custom_components.frigate_rules.publisher import outbox as outmod
from custom_components.frigate_rules.publisher.link import Link, make_client
from scripts.devstack import MOSQUITTO, Mosquitto, free_port, running_mosquitto, wait_for_port
from tests.helpers import DEADLINE, Subscriber, is_msg

pytestmark = pytest.mark.usefixtures("socket_enabled")

BASE = "fr"
EXPIRY = 300
ALERT = {"rule_name": "Back yard / night", "camera": "backyard", "confidence_pct": 93}


# --------------------------------------------------------------------------- helpers


async def wait_until(predicate: Callable[[], bool], within: float = DEADLINE) -> None:
    """Poll `predicate` until it holds; fail after `within` seconds.

    Polling, because most conditions here are moved by paho's or the broker's threads.
    """
    async with asyncio.timeout(within):
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.02)


def live_socket(pub: Publisher) -> socket.socket:
    """The socket of the publisher's current connection (to break it like a network)."""
    link = pub._link
    assert link is not None
    sock = link.client.socket()
    assert sock is not None
    return cast(socket.socket, sock)


def state_of(pub: Publisher) -> PublisherState:
    """The publisher's state now (a call, so type checkers do not narrow it across awaits)."""
    return pub.state


def options(**overrides: Any) -> PublisherOptions:
    values: dict[str, Any] = {
        "client_id": "frigate_rules-test0001",
        "base_topic": BASE,
        "message_expiry_seconds": EXPIRY,
    }
    values.update(overrides)
    return PublisherOptions(**values)


class Changes:
    """on_change listener that records what the diagnostics said at each change."""

    def __init__(self) -> None:
        self.publisher: Publisher | None = None
        self.calls = 0
        self.retry_delays: list[float] = []

    def __call__(self) -> None:
        self.calls += 1
        assert self.publisher is not None
        delay = self.publisher.diagnostics()["last_retry_delay"]
        if delay is not None and (not self.retry_delays or self.retry_delays[-1] != delay):
            self.retry_delays.append(delay)


@pytest.fixture
async def publishers() -> AsyncIterator[Callable[..., Publisher]]:
    """Factory for publishers that are always stopped at teardown."""
    made: list[Publisher] = []

    def make(settings: BrokerSettings, opts: PublisherOptions | None = None) -> Publisher:
        changes = Changes()
        pub = Publisher(asyncio.get_running_loop(), settings, opts or options(), changes)
        changes.publisher = pub
        made.append(pub)
        return pub

    yield make
    for pub in made:
        await pub.async_stop()


@pytest.fixture
async def subscribers() -> AsyncIterator[Callable[..., Any]]:
    """Factory for connected subscribers that are always closed at teardown."""
    made: list[Subscriber] = []

    async def make(broker: Any, *topics: str, **kwargs: Any) -> Subscriber:
        sub = Subscriber(broker.host, broker.port, **kwargs)
        made.append(sub)
        await sub.connect()
        for topic in topics:
            await sub.subscribe(topic)
        return sub

    yield make
    for sub in made:
        await sub.close()


def settings_for(broker: Any, **overrides: Any) -> BrokerSettings:
    return BrokerSettings(host=broker.host, port=broker.port, **overrides)


async def in_executor(func: Callable[[], Any]) -> Any:
    return await asyncio.get_running_loop().run_in_executor(None, func)


async def wait_connected(pub: Publisher) -> None:
    await wait_until(lambda: state_of(pub) is PublisherState.CONNECTED)


async def wait_for_retry_window(pub: Publisher, min_seconds: float = 1.5) -> None:
    """Until the publisher's next attempt is at least `min_seconds` away.

    Lets a test bring a broker and a subscriber up before the publisher reconnects,
    without racing it.
    """

    def far_enough() -> bool:
        next_in = pub.diagnostics()["next_retry_in"]
        return next_in is not None and next_in >= min_seconds

    await wait_until(far_enough)


def expiry_of(msg: mqtt.MQTTMessage) -> int | None:
    props = getattr(msg, "properties", None)
    return getattr(props, "MessageExpiryInterval", None) if props is not None else None


# --------------------------------------------------------------------------- units


def test_backoff_sequence_with_jitter_and_cap() -> None:
    rng = random.Random(7)
    for failures, base in enumerate((1, 2, 4, 8, 16, 32, 60, 60, 60)):
        delays = [backoff_delay(failures, rng) for _ in range(200)]
        assert min(delays) >= base * 0.8
        assert max(delays) <= min(base * 1.2, 60)
        assert max(delays) - min(delays) > base * 0.1  # jittered, not constant


def test_settings_repr_and_validation_hide_the_password() -> None:
    settings = BrokerSettings(host="h", username="u", password="hunter2-secret")
    assert "hunter2-secret" not in repr(settings)
    assert "REDACTED" in repr(settings)
    assert "password=None" in repr(BrokerSettings(host="h"))
    with pytest.raises(ValueError, match="host"):
        BrokerSettings(host="")
    with pytest.raises(ValueError, match="port"):
        BrokerSettings(host="h", port=0)
    with pytest.raises(ValueError, match="transport"):
        BrokerSettings(host="h", transport="unix")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("client_id", ""),
        ("base_topic", "a/#"),
        ("qos", 3),
        ("message_expiry_seconds", 0),
        ("keepalive", 0),
    ],
)
def test_options_reject_bad_values(field: str, value: Any) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each field has its own message
        options(**{field: value})


def test_alert_encoding_adds_schema_and_refuses_junk() -> None:
    from datetime import UTC, datetime

    data = json.loads(
        outmod.encode_alert(
            {
                "at": datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
                "zones": {"yard", "deck"},
                "state": PublisherState.CONNECTED,
                "schema": "spoofed",
            }
        )
    )
    assert data == {
        "at": "2025-01-02T03:04:05+00:00",
        "zones": ["deck", "yard"],
        "state": "connected",
        "schema": ALERT_SCHEMA,
    }
    with pytest.raises(TypeError):
        outmod.encode_alert({"x": object()})
    with pytest.raises(ValueError, match="JSON"):
        outmod.encode_alert({"x": float("nan")})


async def test_callback_errors_are_contained(caplog: pytest.LogCaptureFixture) -> None:
    loop = asyncio.get_running_loop()
    settings = BrokerSettings(host="127.0.0.1")
    pub = Publisher(loop, settings, options())
    client = make_client(settings, None, "frigate_rules-t", mqtt.MQTTv5)
    Link(loop, pub, client, 10.0)
    # A paho callback fed garbage must neither raise into paho nor go unseen.
    assert client.on_connect is not None
    client.on_connect(client, None, None, None, None)  # type: ignore[arg-type]
    assert pub.callback_errors == 1
    assert "Unexpected error in MQTT callback _on_connect" in caplog.text


async def test_change_listener_errors_are_logged(
    broker: Mosquitto, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> None:
        raise RuntimeError("listener bug")

    pub = Publisher(asyncio.get_running_loop(), settings_for(broker), options(), broken)
    try:
        await pub.async_start()
        await wait_connected(pub)
    finally:
        await pub.async_stop()
    assert "Error in publisher change listener" in caplog.text
    assert state_of(pub) is PublisherState.DISABLED


# --------------------------------------------------------------------------- Mosquitto (MQTT 5)


async def test_birth_alert_state_clear_and_stop(
    broker: Mosquitto, publishers: Any, subscribers: Any
) -> None:
    live = await subscribers(broker, f"{BASE}/#")
    pub = publishers(settings_for(broker))
    assert state_of(pub) is PublisherState.DISABLED
    pub.publish_alert("ignored", ALERT)  # not started: publishing is off
    await pub.async_start()
    await pub.async_start()  # idempotent
    assert state_of(pub) is PublisherState.DISCONNECTED
    await live.expect(is_msg(f"{BASE}/status", b"online"))
    assert state_of(pub) is PublisherState.CONNECTED
    assert pub.protocol == "5"
    assert pub.reconnect_attempts == 0

    # Birth is retained: a late subscriber still gets it.
    late = await subscribers(broker, f"{BASE}/status")
    retained = await late.next()
    assert (retained.payload, retained.retain) == (b"online", True)

    pub.publish_alert("Back yard / night", ALERT)
    msg = await live.expect(is_msg(f"{BASE}/v1/rules/back_yard_night/alert"))
    assert json.loads(msg.payload) == {**ALERT, "schema": ALERT_SCHEMA}
    assert msg.qos == 1
    assert not msg.retain
    # Mosquitto forwards the remaining expiry in whole seconds of its own clock, so a
    # second boundary between receiving and forwarding shows as one less.
    assert expiry_of(msg) in (EXPIRY, EXPIRY - 1)

    state_topic = f"{BASE}/v1/rules/back_yard_night/state"
    pub.publish_state("Back yard / night", True)
    assert (await live.expect(is_msg(state_topic))).payload == b"ON"
    pub.publish_state("Back yard / night", False)
    assert (await live.expect(is_msg(state_topic))).payload == b"OFF"
    fresh = await subscribers(broker, state_topic)
    retained = await fresh.next()
    assert (retained.payload, retained.retain) == (b"OFF", True)

    pub.clear_state("Back yard / night")
    assert (await live.expect(is_msg(state_topic))).payload == b""
    await wait_until(lambda: pub.diagnostics()["pending_states"] == 0)
    # No retained state any more: subscribing to the state topic first and the status
    # topic second, a retained state would arrive before the retained status.
    after_clear = await subscribers(broker, state_topic, f"{BASE}/status")
    first = await after_clear.next()
    assert (first.topic, first.payload) == (f"{BASE}/status", b"online")

    diag = pub.diagnostics()
    assert diag["state"] == "connected"
    assert diag["publish_errors"] == 0
    assert diag["connected_for"] >= 0

    await pub.async_stop()
    assert state_of(pub) is PublisherState.DISABLED
    await live.expect(is_msg(f"{BASE}/status", b"offline"))
    after_stop = await subscribers(broker, f"{BASE}/status")
    retained = await after_stop.next()
    assert (retained.payload, retained.retain) == (b"offline", True)
    pub.publish_state("Back yard / night", True)  # stopped: ignored
    pub.publish_alert("Back yard / night", ALERT)
    assert pub.queued == 0
    await pub.async_stop()  # idempotent


async def test_a_burst_goes_to_paho_together_drain_delay_after_its_first_alert(
    broker: Mosquitto, publishers: Any, subscribers: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HA's own clients get the CPU first: nothing reaches paho in the alert's passes."""
    live = await subscribers(broker, f"{BASE}/#")
    pub = publishers(settings_for(broker))
    await pub.async_start()
    await live.expect(is_msg(f"{BASE}/status", b"online"))
    loop = asyncio.get_running_loop()
    drains: list[float] = []
    handed: list[tuple[str, int]] = []  # topic, number of the drain that handed it
    link = pub._link
    assert link is not None
    publish, drain = link.publish, pub._drain

    def recording_publish(topic: str, *args: Any, **kwargs: Any) -> mqtt.MQTTMessageInfo:
        handed.append((topic, len(drains)))
        return publish(topic, *args, **kwargs)

    def recording_drain() -> None:
        drains.append(loop.time())
        drain()

    monkeypatch.setattr(link, "publish", recording_publish)
    monkeypatch.setattr(pub, "_drain", recording_drain)
    first_at = loop.time()
    pub.publish_state("Yard", True)
    pub.publish_alert("Yard", ALERT)
    pub.publish_alert("Yard", {**ALERT, "camera": "driveway"})
    handle = pub._drain_handle
    assert isinstance(handle, asyncio.TimerHandle)  # not in the next pass: a timer
    assert handle.when() >= first_at + pubmod.DRAIN_DELAY
    assert handed == []
    msg = await live.expect(is_msg(f"{BASE}/v1/rules/yard/alert"))
    assert json.loads(msg.payload)["camera"] == "backyard"
    assert handed == [
        (f"{BASE}/v1/rules/yard/state", 1),
        (f"{BASE}/v1/rules/yard/alert", 1),
        (f"{BASE}/v1/rules/yard/alert", 1),
    ]
    assert drains[0] - first_at >= pubmod.DRAIN_DELAY


async def test_will_on_abrupt_socket_loss_then_reconnect(
    broker: Mosquitto, publishers: Any, subscribers: Any
) -> None:
    sub = await subscribers(broker, f"{BASE}/status")
    pub = publishers(settings_for(broker))
    await pub.async_start()
    await sub.expect(is_msg(f"{BASE}/status", b"online"))
    await wait_connected(pub)

    # No DISCONNECT goes out: to the broker this is a crashed client.
    live_socket(pub).shutdown(socket.SHUT_RDWR)
    await sub.expect(is_msg(f"{BASE}/status", b"offline"))
    # And it comes back on its own, announcing itself again.
    await sub.expect(is_msg(f"{BASE}/status", b"online"))
    await wait_connected(pub)
    assert pub.reconnect_attempts == 1


async def test_message_expiry_is_enforced_by_the_broker(
    broker: Mosquitto, subscribers: Any
) -> None:
    """What the expiry buys: a stale message is not delivered to a returning consumer."""
    topic = "expiry/test"
    consumer = await subscribers(
        broker, topic, client_id="persistent-consumer", clean_start=False, session_expiry=300
    )
    await consumer.close()  # the session (and its QoS 1 subscription) stays at the broker

    producer = await subscribers(broker)
    for payload, expiry in ((b"short", 1), (b"long", 60)):
        props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        props.MessageExpiryInterval = expiry
        producer.client.publish(topic, payload, qos=1, properties=props).wait_for_publish(5)
    sent_at = time.monotonic()
    # Expiry is time-based: let more than the short expiry pass at the broker.
    await wait_until(lambda: time.monotonic() - sent_at > 2.1, within=5)

    back = await subscribers(
        broker, client_id="persistent-consumer", clean_start=False, session_expiry=300
    )
    first = await back.next()
    # Queued QoS 1 messages arrive in order, so "short" would have come first.
    assert first.payload == b"long"
    assert expiry_of(first) is not None
    assert 55 <= expiry_of(first) <= 58  # type: ignore[operator]


async def test_reconnects_with_backoff_after_broker_restart(
    broker: Mosquitto, publishers: Any, subscribers: Any
) -> None:
    pub = publishers(settings_for(broker))
    await pub.async_start()
    await wait_connected(pub)
    pub.publish_state("Porch", True)

    await in_executor(broker.stop)
    await wait_until(lambda: state_of(pub) is PublisherState.DISCONNECTED)
    pub.publish_alert("Porch", {"n": 1})  # queued while the broker is away
    pub.publish_state("Porch", False)  # only the latest state is kept
    pub.publish_state("Porch", True)
    assert pub.queued == 1
    assert pub.diagnostics()["pending_states"] == 1

    await wait_until(lambda: pub.reconnect_attempts >= 2, within=20)
    await wait_for_retry_window(pub)
    await in_executor(broker.start)  # same port; persistence is off, so nothing retained
    sub = await subscribers(broker, f"{BASE}/#")

    # Birth re-published (the restarted broker has no retained messages of its own).
    await sub.expect(is_msg(f"{BASE}/status", b"online"))
    state = await sub.expect(is_msg(f"{BASE}/v1/rules/porch/state"))
    assert state.payload == b"ON"
    alert = await sub.expect(is_msg(f"{BASE}/v1/rules/porch/alert"))
    assert json.loads(alert.payload)["n"] == 1
    # Sent with what is left of its expiry, not the full interval again.
    assert expiry_of(alert) is not None
    assert expiry_of(alert) < EXPIRY  # type: ignore[operator]
    assert pub.queued == 0
    assert pub.dropped_alerts == 0
    assert state_of(pub) is PublisherState.CONNECTED

    delays = pub._on_change.retry_delays
    assert len(delays) >= 3
    for delay, base in zip(delays, (1, 2, 4), strict=False):
        assert base * 0.8 <= delay <= base * 1.2
    assert pub.reconnect_attempts >= 3


async def test_stale_queued_alert_is_dropped_and_counted(
    tmp_path: Path, publishers: Any, subscribers: Any
) -> None:
    broker = Mosquitto(workdir=tmp_path / "late")  # not started yet
    pub = publishers(settings_for(broker), options(message_expiry_seconds=1))
    await pub.async_start()
    pub.publish_alert("Gate", {"n": "stale"})
    assert pub.queued == 1
    # Expiry is time-based: the queued alert must outlive its 1 s expiry.
    await wait_until(lambda: (pub.diagnostics()["oldest_queued_age"] or 0) > 1.1, within=10)
    await wait_for_retry_window(pub)
    await in_executor(broker.start)
    try:
        sub = await subscribers(broker, f"{BASE}/v1/rules/#")
        await wait_connected(pub)
        assert pub.queued == 0
        assert pub.dropped_alerts == 1
        assert pub.diagnostics()["dropped_stale"] == 1
        pub.publish_alert("Gate", {"n": "fresh"})
        first = await sub.next()
        assert json.loads(first.payload)["n"] == "fresh"
        assert expiry_of(first) == 1
    finally:
        await in_executor(broker.stop)


async def test_queue_keeps_the_newest_100_alerts(
    tmp_path: Path, publishers: Any, subscribers: Any
) -> None:
    broker = Mosquitto(workdir=tmp_path / "late")
    pub = publishers(settings_for(broker))
    await pub.async_start()
    for n in range(105):
        pub.publish_alert("Drive", {"n": n})
    assert pub.queued == 100
    assert pub.dropped_alerts == 5
    await wait_for_retry_window(pub, 0.5)
    await in_executor(broker.start)
    try:
        sub = await subscribers(broker, f"{BASE}/v1/rules/#")
        received = [json.loads((await sub.next()).payload)["n"] for _ in range(100)]
        assert received == list(range(5, 105))
    finally:
        await in_executor(broker.stop)


@pytest.mark.parametrize(("stable_after", "second_base"), [(0.0, 1), (3600.0, 2)])
async def test_backoff_resets_only_after_a_stable_connection(
    broker: Mosquitto,
    publishers: Any,
    subscribers: Any,
    stable_after: float,
    second_base: int,
) -> None:
    sub = await subscribers(broker, f"{BASE}/status")
    pub = publishers(settings_for(broker), options(stable_after=stable_after))
    await pub.async_start()
    delays = []
    for _ in range(2):
        await sub.expect(is_msg(f"{BASE}/status", b"online"))
        await wait_connected(pub)
        live_socket(pub).shutdown(socket.SHUT_RDWR)
        await wait_until(lambda: state_of(pub) is PublisherState.DISCONNECTED)
        delays.append(pub.diagnostics()["last_retry_delay"])
    assert 0.8 <= delays[0] <= 1.2
    assert second_base * 0.8 <= delays[1] <= second_base * 1.2


async def test_publish_errors_are_counted(
    broker: Mosquitto, publishers: Any, subscribers: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # Mosquitto refuses client publishes under $SYS with PUBACK "Not authorized".
    pub = publishers(settings_for(broker), options(base_topic="$SYS/fr"))
    await pub.async_start()
    await wait_connected(pub)
    await wait_until(lambda: pub.publish_errors == 1)  # the birth
    pub.publish_alert("Yard", ALERT)
    await wait_until(lambda: pub.publish_errors == 2)
    pub.publish_state("Yard", True)
    await wait_until(lambda: pub.publish_errors == 3)
    assert "Not authorized" in (pub.last_error or "")

    ok = publishers(settings_for(broker), options(client_id="frigate_rules-ok"))
    await ok.async_start()
    await wait_connected(ok)
    ok.publish_alert("Yard", {"bad": object()})
    await wait_until(lambda: ok.publish_errors == 1)  # encoded when handed to paho
    assert "not serializable" in (ok.last_error or "")
    assert "Could not publish" in caplog.text


async def test_qos0_state_clear_is_forgotten_once_sent(
    broker: Mosquitto, publishers: Any, subscribers: Any
) -> None:
    sub = await subscribers(broker, f"{BASE}/v1/rules/#")
    pub = publishers(settings_for(broker), options(qos=0))
    await pub.async_start()
    await wait_connected(pub)
    pub.publish_state("Shed", True)
    pub.clear_state("Old shed")
    assert (await sub.next()).payload == b"ON"
    assert (await sub.next()).payload == b""
    assert pub.diagnostics()["pending_states"] == 1  # ON is kept to restore; clear is gone
    pub.publish_alert("Shed", ALERT)
    msg = await sub.next()
    assert msg.qos == 0
    assert expiry_of(msg) in (EXPIRY, EXPIRY - 1)


async def test_stop_while_disconnected(tmp_path: Path, publishers: Any) -> None:
    pub = publishers(BrokerSettings(host="127.0.0.1", port=free_port()))
    await pub.async_start()
    await wait_until(lambda: pub.reconnect_attempts >= 1)
    assert state_of(pub) is PublisherState.DISCONNECTED
    pub.publish_alert("x", ALERT)
    assert pub.queued == 1
    await pub.async_stop()
    assert state_of(pub) is PublisherState.DISABLED
    assert pub.queued == 0
    assert pub.dropped_alerts == 1  # never delivered, so counted


# --------------------------------------------------------------------------- credentials


async def test_password_is_never_logged(
    tmp_path: Path, publishers: Any, caplog: pytest.LogCaptureFixture
) -> None:
    password = "s3cr3t-Never-Log-Me"
    caplog.set_level(logging.DEBUG)
    with running_mosquitto(tmp_path / "auth", users={"u": "right"}) as broker:
        settings = settings_for(broker, username="u", password=password)
        pub = publishers(settings)
        await pub.async_start()
        await wait_until(lambda: pub.reconnect_attempts >= 1)
        # Mosquitto 2.0 answers a wrong password with "Not authorized" over MQTT 5.
        assert "refused" in (pub.last_error or "")
        assert state_of(pub) is PublisherState.DISCONNECTED
        with pytest.raises(InvalidAuth) as err:
            await async_test_connection(asyncio.get_running_loop(), settings, timeout=5)
        await pub.async_stop()
    assert password not in str(err.value)
    assert password not in repr(settings)
    assert password not in json.dumps(pub.diagnostics())
    assert "Cannot connect to MQTT broker" in caplog.text
    assert caplog.records
    for record in caplog.records:
        assert password not in record.getMessage()
        assert password not in repr(record.args)


async def test_async_test_connection(tmp_path: Path) -> None:
    loop = asyncio.get_running_loop()
    with pytest.raises(CannotConnect):
        await async_test_connection(loop, BrokerSettings(host="127.0.0.1", port=free_port()))
    with running_mosquitto(tmp_path / "auth", users={"u": "right"}) as broker:
        with pytest.raises(InvalidAuth):
            await async_test_connection(
                loop, settings_for(broker, username="u", password="wrong"), timeout=5
            )
        with pytest.raises(InvalidAuth):  # anonymous is not allowed either
            await async_test_connection(loop, settings_for(broker), timeout=5)
        assert (
            await async_test_connection(
                loop, settings_for(broker, username="u", password="right"), timeout=5
            )
            == "5"
        )
        # TLS towards a plain listener fails the handshake.
        with pytest.raises(CannotConnect):
            await async_test_connection(
                loop, settings_for(broker, tls=True, username="u", password="right"), timeout=3
            )
    with pytest.raises(CannotConnect, match="TLS setup failed"):
        await async_test_connection(
            loop, BrokerSettings(host="127.0.0.1", tls=True, ca_certs=str(tmp_path / "none.pem"))
        )


async def test_connection_refused_for_other_reasons_is_cannot_connect(
    tmp_path: Path,
) -> None:
    """A listener that accepts TCP but never answers CONNECT: no CONNACK in time."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        with pytest.raises(CannotConnect, match="no CONNACK"):
            await async_test_connection(
                asyncio.get_running_loop(), BrokerSettings(host="127.0.0.1", port=port), 0.5
            )


# ------------------------------------------------------------------- amqtt (MQTT 3.1.1 only)


class Amqtt:
    """The pure-Python amqtt broker, which speaks MQTT 3.1.1 only, in a subprocess."""

    def __init__(self, workdir: Path) -> None:
        self.host = "127.0.0.1"
        self.port = free_port()
        workdir.mkdir(parents=True, exist_ok=True)
        self.conf = workdir / "amqtt.yaml"
        self.conf.write_text(
            "listeners:\n"
            "  default:\n"
            "    type: tcp\n"
            f"    bind: {self.host}:{self.port}\n"
            "plugins:\n"
            "  amqtt.plugins.authentication.AnonymousAuthPlugin:\n"
            "    allow_anonymous: true\n"
        )
        self.log = workdir / "amqtt.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        code = (
            "import sys; from amqtt.scripts.broker_script import main; "
            f"sys.argv = ['amqtt', '-c', {str(self.conf)!r}]; sys.exit(main())"
        )
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-c", code], stdout=log, stderr=subprocess.STDOUT
            )
        try:
            wait_for_port(self.host, self.port, timeout=30, process=self.process)
        except OSError as err:
            raise RuntimeError(
                "amqtt did not start (is it installed? see requirements_common.txt):\n"
                + self.log.read_text(errors="replace")
            ) from err

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


@pytest.fixture
def amqtt_broker(tmp_path: Path) -> Iterator[Amqtt]:
    broker = Amqtt(tmp_path / "amqtt")
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


async def test_falls_back_to_mqtt_311_on_a_311_only_broker(
    amqtt_broker: Amqtt,
    publishers: Any,
    subscribers: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sub = await subscribers(amqtt_broker, f"{BASE}/#", protocol=mqtt.MQTTv311)
    pub = publishers(settings_for(amqtt_broker), options(connack_timeout=1.0))
    await pub.async_start()
    assert pub.protocol == "5"
    await sub.expect(is_msg(f"{BASE}/status", b"online"))
    await wait_connected(pub)
    assert pub.protocol == "3.1.1"
    assert pub.diagnostics()["protocol"] == "3.1.1"

    pub.publish_alert("Back yard / night", ALERT)
    msg = await sub.expect(is_msg(f"{BASE}/v1/rules/back_yard_night/alert"))
    assert json.loads(msg.payload)["schema"] == ALERT_SCHEMA
    assert expiry_of(msg) is None
    pub.publish_state("Back yard / night", True)
    assert (await sub.expect(is_msg(f"{BASE}/v1/rules/back_yard_night/state"))).payload == b"ON"

    # A later reconnect stays on 3.1.1 and does not warn again.
    live_socket(pub).shutdown(socket.SHUT_RDWR)
    await sub.expect(is_msg(f"{BASE}/status", b"offline"))
    await sub.expect(is_msg(f"{BASE}/status", b"online"))
    await wait_connected(pub)
    assert pub.protocol == "3.1.1"
    warnings = [r for r in caplog.records if "does not accept MQTT 5" in r.getMessage()]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING

    await pub.async_stop()
    await sub.expect(is_msg(f"{BASE}/status", b"offline"))


async def test_test_connection_reports_311_on_amqtt(amqtt_broker: Amqtt) -> None:
    protocol = await async_test_connection(
        asyncio.get_running_loop(), settings_for(amqtt_broker), timeout=1.0
    )
    assert protocol == "3.1.1"


# --------------------------------------------------------------------------- races and faults


async def test_alert_published_as_the_connection_drops_is_sent_after_reconnect(
    broker: Mosquitto, publishers: Any, subscribers: Any, caplog: pytest.LogCaptureFixture
) -> None:
    sub = await subscribers(broker, f"{BASE}/v1/rules/#")
    pub = publishers(settings_for(broker))
    await pub.async_start()
    await wait_connected(pub)
    live_socket(pub).shutdown(socket.SHUT_RDWR)
    assert state_of(pub) is PublisherState.CONNECTED  # the loop has not read the EOF yet
    pub.publish_alert("Deck", {"n": 1})  # kept by the outbox until it can go out
    assert pub.queued == 1
    msg = await sub.expect(is_msg(f"{BASE}/v1/rules/deck/alert"))
    assert json.loads(msg.payload) == {"n": 1, "schema": ALERT_SCHEMA}
    assert pub.queued == 0

    # Stopping in the same window: the offline status cannot go out, and says so.
    await wait_connected(pub)
    live_socket(pub).shutdown(socket.SHUT_RDWR)
    await pub.async_stop()
    assert "Could not publish the offline status" in caplog.text
    assert state_of(pub) is PublisherState.DISABLED


async def test_unacknowledged_alert_is_requeued_not_lost(
    broker: Mosquitto, publishers: Any, subscribers: Any
) -> None:
    sub = await subscribers(broker, f"{BASE}/v1/rules/#")
    pub = publishers(settings_for(broker))
    await pub.async_start()
    await wait_connected(pub)
    assert broker.process is not None
    os.kill(broker.process.pid, signal.SIGSTOP)  # a hung broker: no PUBACK comes
    try:
        pub.publish_alert("Deck", {"n": 2})
        await wait_until(lambda: pub.diagnostics()["inflight"] >= 1)
        live_socket(pub).shutdown(socket.SHUT_RDWR)
        await wait_until(lambda: state_of(pub) is PublisherState.DISCONNECTED)
        assert pub.queued == 1  # back in the queue, not lost with the old client
    finally:
        os.kill(broker.process.pid, signal.SIGCONT)
    msgs = [await sub.expect(is_msg(f"{BASE}/v1/rules/deck/alert"))]
    assert json.loads(msgs[0].payload)["n"] == 2
    await wait_until(lambda: pub.queued == 0 and state_of(pub) is PublisherState.CONNECTED)


async def test_stop_waits_bounded_for_the_offline_ack(
    broker: Mosquitto, publishers: Any, caplog: pytest.LogCaptureFixture
) -> None:
    pub = publishers(settings_for(broker))
    await pub.async_start()
    await wait_connected(pub)
    assert broker.process is not None
    os.kill(broker.process.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        await pub.async_stop()
        waited = time.monotonic() - started
    finally:
        os.kill(broker.process.pid, signal.SIGCONT)
    assert "Offline status not acknowledged" in caplog.text
    assert pubmod.STOP_ACK_TIMEOUT <= waited < pubmod.STOP_ACK_TIMEOUT + 5


async def test_a_broker_that_stops_answering_is_noticed_by_the_keepalive(
    broker: Mosquitto, publishers: Any, subscribers: Any
) -> None:
    """No thread watches paho: its keepalive runs from the event loop (loop_misc)."""
    sub = await subscribers(broker, f"{BASE}/status")
    pub = publishers(settings_for(broker), options(keepalive=1))
    await pub.async_start()
    await sub.expect(is_msg(f"{BASE}/status", b"online"))
    assert broker.process is not None
    os.kill(broker.process.pid, signal.SIGSTOP)  # TCP stays up, nothing answers
    try:
        await wait_until(lambda: state_of(pub) is PublisherState.DISCONNECTED, within=10)
    finally:
        os.kill(broker.process.pid, signal.SIGCONT)
    await wait_connected(pub)
    assert pub.reconnect_attempts >= 1


async def test_late_callbacks_of_an_old_link_are_ignored(
    broker: Mosquitto, publishers: Any
) -> None:
    from paho.mqtt.reasoncodes import ReasonCode

    pub = publishers(settings_for(broker))
    await pub.async_start()
    await wait_connected(pub)
    old = pub._link
    assert old is not None
    live_socket(pub).shutdown(socket.SHUT_RDWR)
    await wait_until(lambda: pub._link is not None and pub._link is not old)
    await wait_connected(pub)
    before = pub.diagnostics()
    pub.link_connected(old)
    pub.link_ended(old, "old link", silent=False)
    pub.link_acked(old, 1, ReasonCode(PacketTypes.PUBACK, "Not authorized"))
    current = pub._link
    assert current is not None
    pub.link_acked(current, 65000, ReasonCode(PacketTypes.PUBACK, "Success"))  # unknown mid
    after = pub.diagnostics()
    assert state_of(pub) is PublisherState.CONNECTED
    for key in ("reconnect_attempts", "publish_errors", "last_error", "inflight"):
        assert after[key] == before[key]


# --------------------------------------------------------------------------- old brokers (fake)


class OldBroker:
    """Speaks just enough MQTT to answer like a broker that predates MQTT 5.

    Real old brokers (e.g. Mosquitto before 1.6) answer an MQTT 5 CONNECT with the
    3.1.1 CONNACK "unacceptable protocol version"; amqtt hangs instead (tested above).
    """

    def __init__(self, replies: dict[int, bytes]) -> None:
        self.replies = replies  # CONNACK per protocol level of the CONNECT
        self.levels: list[int] = []
        self.host = "127.0.0.1"
        self.port = 0
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> OldBroker:
        self.server = await asyncio.start_server(self._handle, self.host, 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        self.server.close_clients()
        await self.server.wait_closed()

    @staticmethod
    async def _packet(reader: asyncio.StreamReader) -> tuple[int, bytes]:
        kind = (await reader.readexactly(1))[0]
        length, shift = 0, 0
        while True:
            byte = (await reader.readexactly(1))[0]
            length += (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return kind, await reader.readexactly(length)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            _, body = await self._packet(reader)
            level = body[6]
            self.levels.append(level)
            writer.write(self.replies[level])
            while True:
                kind, body = await self._packet(reader)
                if kind >> 4 == 3 and (kind >> 1) & 3 == 1:  # PUBLISH QoS 1: PUBACK
                    topic_len = int.from_bytes(body[:2])
                    writer.write(b"\x40\x02" + body[2 + topic_len : 4 + topic_len])
                elif kind >> 4 == 14:  # DISCONNECT
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


REFUSE_V5 = {5: b"\x20\x02\x00\x01", 4: b"\x20\x02\x00\x00"}


async def test_falls_back_when_the_broker_refuses_mqtt_5(
    publishers: Any, caplog: pytest.LogCaptureFixture
) -> None:
    async with OldBroker(REFUSE_V5) as old:
        pub = publishers(settings_for(old))
        await pub.async_start()
        await wait_connected(pub)
        assert pub.protocol == "3.1.1"
        assert old.levels == [5, 4]
        assert "refused: Unsupported protocol version" in caplog.text
        assert "does not accept MQTT 5" in caplog.text
        await pub.async_stop()
        assert "Offline status not acknowledged" not in caplog.text
        loop = asyncio.get_running_loop()
        assert await async_test_connection(loop, settings_for(old), timeout=5) == "3.1.1"


async def test_test_connection_other_refusal_is_cannot_connect() -> None:
    unavailable = {5: b"\x20\x03\x00\x88\x00"}  # MQTT 5 CONNACK "Server unavailable"
    async with OldBroker(unavailable) as broker:
        with pytest.raises(CannotConnect, match="Server unavailable"):
            await async_test_connection(asyncio.get_running_loop(), settings_for(broker), 5)


# --------------------------------------------------------------------------- TLS


def write_certs(directory: Path) -> dict[str, Path]:
    """A CA, two server certificates (for 127.0.0.1 / for another name) and a client one."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    paths: dict[str, Path] = {}

    def issue(
        name: str,
        key: ec.EllipticCurvePrivateKey,
        issuer: x509.Name | None,
        issuer_key: ec.EllipticCurvePrivateKey | None,
        san: list[x509.GeneralName] | None = None,
    ) -> x509.Certificate:
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer or subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), True)
        )
        # Python 3.13 verifies strictly (VERIFY_X509_STRICT): key identifiers are required.
        signer = issuer_key or key
        builder = builder.add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False
        ).add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), False
        )
        if issuer is None:
            builder = builder.add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                True,
            )
        if san:
            builder = builder.add_extension(x509.SubjectAlternativeName(san), False)
        return builder.sign(signer, hashes.SHA256())

    def save(name: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
        paths[name] = directory / f"{name}.pem"
        paths[name].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        paths[f"{name}_key"] = directory / f"{name}.key"
        paths[f"{name}_key"].write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )

    directory.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = issue("test ca", ca_key, None, None)
    save("ca", ca, ca_key)
    leaves: list[tuple[str, list[x509.GeneralName] | None]] = [
        ("server", [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
        ("elsewhere", [x509.DNSName("elsewhere.invalid")]),
        ("client", None),
    ]
    for name, san in leaves:
        key = ec.generate_private_key(ec.SECP256R1())
        save(name, issue(name, key, ca.subject, ca_key, san), key)
    return paths


@contextlib.contextmanager
def tls_mosquitto(workdir: Path, certs: dict[str, Path], server: str) -> Iterator[Mosquitto]:
    """Mosquitto with one TLS listener that requires a client certificate."""
    broker = Mosquitto(workdir=workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    conf = workdir / "tls.conf"
    conf.write_text(
        "\n".join(
            [
                *(["user root"] if os.geteuid() == 0 else []),
                f"listener {broker.port} {broker.host}",
                f"cafile {certs['ca']}",
                f"certfile {certs[server]}",
                f"keyfile {certs[server + '_key']}",
                "require_certificate true",
                "allow_anonymous true",
                "persistence false",
                "",
            ]
        )
    )
    with (workdir / "mosquitto.log").open("ab") as log:
        process = subprocess.Popen(
            [MOSQUITTO, "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT
        )
    try:
        wait_for_port(broker.host, broker.port, process=process)
        yield broker
    finally:
        process.terminate()
        process.wait(timeout=10)


async def test_tls_with_client_certificate(tmp_path: Path, publishers: Any) -> None:
    certs = write_certs(tmp_path / "certs")
    loop = asyncio.get_running_loop()
    tls = {
        "tls": True,
        "ca_certs": str(certs["ca"]),
        "client_cert": str(certs["client"]),
        "client_key": str(certs["client_key"]),
    }
    with tls_mosquitto(tmp_path / "good", certs, "server") as broker:
        assert await async_test_connection(loop, settings_for(broker, **tls)) == "5"
        with pytest.raises(CannotConnect):  # no client certificate
            await async_test_connection(
                loop, settings_for(broker, tls=True, ca_certs=str(certs["ca"])), timeout=3
            )
        pub = publishers(settings_for(broker, **tls))
        await pub.async_start()
        await wait_connected(pub)
        await pub.async_stop()
    with tls_mosquitto(tmp_path / "elsewhere", certs, "elsewhere") as broker:
        with pytest.raises(CannotConnect):  # certificate for another host name
            await async_test_connection(loop, settings_for(broker, **tls), timeout=3)
        insecure = settings_for(broker, tls_insecure=True, **tls)
        assert await async_test_connection(loop, insecure) == "5"
