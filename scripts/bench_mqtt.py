"""The bench's own MQTT side: a publisher standing in for Frigate, a timing echo, payloads.

Both clients are paho (the one in the venv) on their own network threads. The echo
is a plain subscriber of the same broker: publish -> echo is what the broker alone
costs, measured on the very messages hass gets.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import functools
import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from bench_config import TOPIC_EVENTS
from paho.mqtt.enums import CallbackAPIVersion

FIXTURES_DIR = Path(__file__).resolve().parents[1] / "tests" / "fixtures"
TEMPLATE_FIXTURE = FIXTURES_DIR / "a_person_backyard_v017.jsonl"
CONNECT_TIMEOUT = 10.0


class BenchClient:
    """A connected paho client; `stop` disconnects.

    `threaded=False` (the publisher): no network thread, so `publish` writes to the
    socket right away, in the caller, just after the caller's timestamp. A long
    keepalive, since nothing reads the socket to answer pings.
    """

    def __init__(self, host: str, port: int, client_id: str, threaded: bool = True) -> None:
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2, client_id=client_id
        )
        self.threaded = threaded
        self._connected = threading.Event()
        self._subscribed = threading.Event()
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.connect(host, port, keepalive=60 if threaded else 3600)
        if threaded:
            self.client.loop_start()
            connected = self._connected.wait(CONNECT_TIMEOUT)
        else:
            deadline = time.monotonic() + CONNECT_TIMEOUT
            while not self._connected.is_set() and time.monotonic() < deadline:
                self.client.loop(timeout=0.05)
            connected = self._connected.is_set()
        if not connected:
            self.stop()
            raise TimeoutError(f"MQTT client {client_id} did not connect to {host}:{port}")

    def _on_connect(self, *_args: Any) -> None:
        self._connected.set()

    def _on_subscribe(self, *_args: Any) -> None:
        self._subscribed.set()

    def subscribe(self, topic: str) -> None:
        """Subscribe and wait for the broker's SUBACK (threaded clients only)."""
        self._subscribed.clear()
        self.client.subscribe(topic, qos=0)
        if not self._subscribed.wait(CONNECT_TIMEOUT):
            raise TimeoutError(f"no SUBACK for {topic}")

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        """QoS 0, as Frigate's event messages reach Home Assistant."""
        self.client.publish(topic, payload, qos=0, retain=retain)

    def stop(self) -> None:
        """Disconnect (and stop the network thread)."""
        self.client.disconnect()
        if self.threaded:
            self.client.loop_stop()


class Echo:
    """A subscriber of `frigate/events` in a process of its own, stamping each event id.

    Its own process, so that its stamps never wait for this process's GIL (they would,
    behind the websocket reader). `time.perf_counter` is CLOCK_MONOTONIC on Linux, one
    clock for every process, so its stamps compare with the publish stamps here.
    """

    def __init__(self, host: str, port: int, loop: asyncio.AbstractEventLoop) -> None:
        self.arrivals: dict[str, float] = {}
        self.arrived = asyncio.Event()  # set (in `loop`) on every arrival
        self._loop = loop
        self.process = subprocess.Popen(
            [sys.executable, __file__, "echo", host, str(port)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        if self.process.stdout.readline().strip() != "subscribed":
            self.stop()
            raise RuntimeError("the echo subscriber did not start")
        self._reader = threading.Thread(target=self._read, name="bench-echo", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            event_id, _, stamp = line.rstrip("\n").rpartition(" ")
            # The first arrival counts (the reset message reuses the id).
            self.arrivals.setdefault(event_id, float(stamp))
            self._loop.call_soon_threadsafe(self.arrived.set)

    async def wait_for(self, event_id: str, timeout: float) -> None:  # noqa: ASYNC109
        """Until `event_id` has arrived, or the timeout."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while event_id not in self.arrivals:
                    self.arrived.clear()
                    await self.arrived.wait()

    def stop(self) -> None:
        """End the subscriber process."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _echo_main(host: str, port: int) -> None:
    """The echo process: one line `<event id> <perf_counter>` per message."""
    client = BenchClient(host, port, f"bench-echo-{time.time_ns()}")

    def on_message(_client: Any, _userdata: Any, msg: mqtt.MQTTMessage) -> None:
        stamp = time.perf_counter()
        try:
            event_id = json.loads(msg.payload)["after"]["id"]
        except (ValueError, KeyError, TypeError):
            return
        print(f"{event_id} {stamp:.9f}", flush=True)

    client.client.on_message = on_message
    client.subscribe(TOPIC_EVENTS)
    print("subscribed", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while True:
            time.sleep(3600)
    finally:
        client.stop()


def _fixture_events(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        lines = [json.loads(line) for line in handle if line.strip()]
    return [line["payload"] for line in lines if line["topic"] == TOPIC_EVENTS]


@functools.cache
def _template_after() -> dict[str, Any]:
    """The `after` object of the fixture's first `update`: every field Frigate 0.17 sends."""
    after: dict[str, Any] = _fixture_events(TEMPLATE_FIXTURE)[1]["after"]
    return after


def event_payload(
    event_id: str,
    camera: str,
    score: float,
    kind: str,
    label: str = "person",
    zones: tuple[str, ...] = (),
) -> bytes:
    """A Frigate 0.17 `events` message (every field of the fixture) for one object."""
    after = copy.deepcopy(_template_after())
    now = time.time()
    after.update(
        id=event_id,
        camera=camera,
        label=label,
        score=score,
        top_score=score,
        frame_time=now,
        start_time=now,
        current_zones=list(zones),
        entered_zones=list(zones),
        stationary=False,
    )
    return json.dumps({"type": kind, "before": after, "after": after}).encode()


def fixture_burst(count: int) -> Iterator[bytes]:
    """`count` Frigate `events` messages: every fixture's events, looped.

    Each pass gets fresh event ids (new tracked objects), as a live Frigate would send.
    """
    events = [
        event for path in sorted(FIXTURES_DIR.glob("*.jsonl")) for event in _fixture_events(path)
    ]
    sent = 0
    loop = 0
    while True:
        for event in events:
            if sent == count:
                return
            message = copy.deepcopy(event)
            for side in ("before", "after"):
                if isinstance(message.get(side), dict):
                    message[side]["id"] = f"{message[side]['id']}-p{loop}"
            yield json.dumps(message).encode()
            sent += 1
        loop += 1


if __name__ == "__main__":
    if sys.argv[1:2] == ["echo"] and len(sys.argv) == 4:
        _echo_main(sys.argv[2], int(sys.argv[3]))
