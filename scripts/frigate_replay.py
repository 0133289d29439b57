"""Replay recorded Frigate MQTT traffic (JSON Lines fixtures) into a broker.

Each line of a fixture is one publish: `{"topic", "payload", "retain", "delay_ms"}`, where
`delay_ms` is the pause after the previous line and `payload` is either the exact string
on the wire or a JSON object (sent as compact JSON). Messages go out at QoS 1 and every
publish is waited for, so when the replay returns, the broker has acknowledged them all;
a test can assert right after it without guessing how long delivery takes.

`scripts/replay` runs this module with a venv's Python (paho-mqtt is in both venvs); the
tests import its functions.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, Protocol

DEFAULT_PREFIX = "frigate"
PUBLISH_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class ReplayLine:
    """One fixture line, ready to publish."""

    topic: str
    payload: bytes
    retain: bool
    delay_ms: float


class FixtureError(ValueError):
    """A fixture line that cannot be replayed (names file and line)."""


def encode_payload(payload: Any) -> bytes:
    """Wire bytes of a fixture payload: strings as is, anything else as compact JSON."""
    if isinstance(payload, str):
        return payload.encode()
    return json.dumps(payload, separators=(",", ":")).encode()


def rewrite_topic(topic: str, prefix: str) -> str:
    """Move a topic from Frigate's default `frigate/` prefix to `prefix`."""
    if topic == DEFAULT_PREFIX:
        return prefix
    if topic.startswith(DEFAULT_PREFIX + "/"):
        return prefix + topic[len(DEFAULT_PREFIX) :]
    return topic


def parse_line(raw: str, prefix: str = DEFAULT_PREFIX, where: str = "") -> ReplayLine:
    """Turn one JSONL line into a ReplayLine; FixtureError says what is wrong."""
    try:
        item = json.loads(raw)
    except json.JSONDecodeError as err:
        raise FixtureError(f"{where}: not JSON: {err}") from err
    if not isinstance(item, dict):
        raise FixtureError(f"{where}: expected a JSON object")
    topic = item.get("topic")
    if not isinstance(topic, str) or not topic:
        raise FixtureError(f"{where}: missing or empty 'topic'")
    if "payload" not in item:
        raise FixtureError(f"{where}: missing 'payload'")
    delay = item.get("delay_ms", 0)
    if isinstance(delay, bool) or not isinstance(delay, int | float) or delay < 0:
        raise FixtureError(f"{where}: 'delay_ms' must be a number >= 0")
    return ReplayLine(
        topic=rewrite_topic(topic, prefix),
        payload=encode_payload(item["payload"]),
        retain=bool(item.get("retain", False)),
        delay_ms=float(delay),
    )


def load_lines(path: Path, prefix: str = DEFAULT_PREFIX) -> list[ReplayLine]:
    """All replayable lines of one fixture file (blank lines skipped)."""
    lines: list[ReplayLine] = []
    with path.open(encoding="utf-8") as handle:
        for number, raw in enumerate(handle, start=1):
            if raw.strip():
                lines.append(parse_line(raw, prefix, where=f"{path}:{number}"))
    return lines


class Publisher(Protocol):
    """What `replay` needs from an MQTT client: a publish that returns once acknowledged."""

    def __call__(self, topic: str, payload: bytes, retain: bool) -> None:
        """Publish and return only after the broker acknowledged it."""


def schedule(lines: Sequence[ReplayLine], speed: float) -> list[float]:
    """Seconds from the start at which each line is due (all 0 when speed is 0)."""
    if speed < 0:
        raise ValueError("speed must be >= 0")
    due: list[float] = []
    elapsed = 0.0
    for line in lines:
        if speed > 0:
            elapsed += line.delay_ms / 1000.0 / speed
        due.append(elapsed)
    return due


def replay(
    lines: Sequence[ReplayLine],
    publish: Publisher,
    speed: float = 1.0,
    counts: Counter[str] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Counter[str]:
    """Publish `lines` in order with their timing; counts what went to each topic.

    `counts` (updated in place, also returned) keeps its tally when a replay is
    interrupted. Due times are measured from the start, so slow publishes do not add
    up to drift.
    """
    counts = Counter() if counts is None else counts
    start = clock()
    for line, due in zip(lines, schedule(lines, speed), strict=True):
        wait = start + due - clock()
        if wait > 0:
            sleep(wait)
        publish(line.topic, line.payload, line.retain)
        counts[line.topic] += 1
    return counts


class MqttPublisher:
    """A paho-mqtt client whose publish blocks until the broker acknowledged it (QoS 1)."""

    def __init__(
        self,
        host: str,
        port: int,
        username: str | None = None,
        password: str | None = None,
        qos: int = 1,
        timeout: float = PUBLISH_TIMEOUT,
    ) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self._qos = qos
        self._timeout = timeout
        self._connack = threading.Event()
        self._refused: str | None = None
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"frigate-replay-{uuid.uuid4().hex[:8]}"
        )
        self._client.on_connect = self._on_connect
        if username is not None:
            self._client.username_pw_set(username, password)
        self._client.connect(host, port, keepalive=30)
        self._client.loop_start()
        if not self._connack.wait(timeout) or self._refused is not None:
            self.close()
            reason = self._refused or f"no CONNACK within {timeout} s"
            raise ConnectionError(f"{host}:{port} refused the connection: {reason}")

    def _on_connect(self, _client: Any, _data: Any, _flags: Any, reason: Any, _props: Any) -> None:
        """Record the CONNACK (runs on paho's thread; only sets fields, cannot raise)."""
        if reason.is_failure:
            self._refused = str(reason)
        self._connack.set()

    def __call__(self, topic: str, payload: bytes, retain: bool) -> None:
        """Publish and block until the broker's PUBACK (ConnectionError otherwise)."""
        info = self._client.publish(topic, payload, qos=self._qos, retain=retain)
        try:
            info.wait_for_publish(timeout=self._timeout)
        except (RuntimeError, ValueError) as err:
            raise ConnectionError(f"publish to {topic} failed: {err}") from err
        if not info.is_published():
            raise ConnectionError(f"publish to {topic} not acknowledged (rc={info.rc})")

    def close(self) -> None:
        """Disconnect cleanly and stop paho's network thread."""
        self._client.disconnect()
        self._client.loop_stop()


def format_counts(counts: Counter[str]) -> str:
    """The end-of-run summary: one line per topic, then the total."""
    width = max((len(topic) for topic in counts), default=5)
    rows = [f"{count:6d}  {topic:<{width}}" for topic, count in sorted(counts.items())]
    rows.append(f"{sum(counts.values()):6d}  total")
    return "\n".join(rows)


def parse_args(argv: Iterable[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/replay",
        description="Publish Frigate fixture lines (JSONL) to an MQTT broker with their timing.",
    )
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1883)
    parser.add_argument("--username")
    parser.add_argument("--password")
    parser.add_argument(
        "--speed", type=float, default=1.0, help="2 = twice as fast, 0 = no delays (default 1)"
    )
    parser.add_argument("--loop", action="store_true", help="repeat until interrupted")
    parser.add_argument(
        "--prefix", default=DEFAULT_PREFIX, help="topic prefix to publish under (default frigate)"
    )
    args = parser.parse_args(list(argv))
    if args.speed < 0:
        parser.error("--speed must be >= 0")
    return args


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    """Load, connect, replay (repeatedly with --loop); the exit code."""
    try:
        lines = [line for path in args.files for line in load_lines(path, args.prefix)]
    except (OSError, FixtureError) as err:
        print(f"replay: {err}", file=sys.stderr)
        return 2
    try:
        publisher = MqttPublisher(args.host, args.port, args.username, args.password)
    except OSError as err:
        print(f"replay: cannot connect to {args.host}:{args.port}: {err}", file=sys.stderr)
        return 1
    counts: Counter[str] = Counter()
    try:
        while True:
            replay(lines, publisher, args.speed, counts)
            if not args.loop:
                break
    except KeyboardInterrupt:
        pass
    except OSError as err:
        print(f"replay: {err}", file=sys.stderr)
        return 1
    finally:
        publisher.close()
        print(format_counts(counts))
    return 0


def main(argv: Iterable[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if threading.current_thread() is not threading.main_thread():
        return run(args)
    # Stop cleanly (and print the counts) on Ctrl-C or SIGTERM, even when started in
    # the background, where SIGINT arrives ignored. Restored after, for in-process use.
    previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return run(args)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


if __name__ == "__main__":
    sys.exit(main())
